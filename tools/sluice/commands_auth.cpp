// sluice users … | tokens … | roles | whoami — identities on sluiced (issue 12). They need a
// caller with users_rw: the admin token, an admin user, or loopback with --loopback-admin.
// Credentials come from the global --token / --user options (or $SLUICE_TOKEN, $SLUICE_USER,
// $SLUICE_PASSWORD).

#include <iostream>

#include "commands.hpp"
#include "core/json_text.hpp"
#include "table.hpp"

namespace sluice::cli {
namespace json = boost::json;
using client::url_encode;

namespace {

struct AuthFlags {
  std::string name;
  std::string role;
  std::string password;
  std::optional<std::int64_t> expires;
};

std::string field(const json::value& v, std::string_view key) {
  if (!v.is_object()) return "-";
  auto* f = v.as_object().if_contains(key);
  if (!f || f->is_null()) return "-";
  return f->is_string() ? std::string(f->as_string()) : compact(*f);
}

// The password from --password, else the first line of standard input (so it stays out of the
// shell history and the process list).
std::optional<std::string> password_of(const AuthFlags& f) {
  if (!f.password.empty()) return f.password;
  std::string line;
  if (!std::getline(std::cin, line) || line.empty()) {
    std::cerr << "error: give the password with --password or on standard input\n";
    return std::nullopt;
  }
  return line;
}

void render_users(const json::value& v) {
  Table t({"NAME", "ROLE", "CREATED"});
  if (v.is_array()) {
    for (const auto& u : v.as_array())
      t.add_row({field(u, "name"), field(u, "role"), field(u, "created_at")});
  }
  t.print(std::cout);
}

void render_tokens(const json::value& v) {
  Table t({"ID", "NAME", "ROLE", "CREATED", "EXPIRES"});
  if (v.is_array()) {
    for (const auto& k : v.as_array()) {
      t.add_row({field(k, "id"), field(k, "name"), field(k, "role"), field(k, "created_at"),
                 field(k, "expires_at")});
    }
  }
  t.print(std::cout);
}

void render_roles(const json::value& v) {
  Table t({"ROLE", "SCOPE", "PERMISSIONS", "DESCRIPTION"});
  const json::value* roles = v.is_object() ? v.as_object().if_contains("roles") : nullptr;
  if (roles && roles->is_array()) {
    for (const auto& r : roles->as_array()) {
      std::string perms;
      if (auto* p = r.as_object().if_contains("permissions"); p && p->is_array()) {
        for (const auto& x : p->as_array())
          perms += (perms.empty() ? "" : " ") + std::string(x.as_string());
      }
      t.add_row({field(r, "name"), field(r, "scope"), perms, field(r, "description")});
    }
  }
  t.print(std::cout);
}

void render_one(const json::value& v) {
  KeyValues kv;
  if (v.is_object()) {
    for (const auto& [k, val] : v.as_object())
      kv.add(std::string(k), val.is_string() ? std::string(val.as_string()) : compact(val));
  }
  kv.print(std::cout);
}

void add_user_commands(CLI::App& app, CliContext& ctx) {
  auto flags = std::make_shared<AuthFlags>();
  auto* users = app.add_subcommand("users", "Users of sluiced (passwords stored as argon2id)");
  users->require_subcommand(1);
  users->add_subcommand("list", "List users")->callback([&ctx] {
    ctx.action = [&ctx] { return fetch_and_show(ctx, "GET", "/auth/users", "", render_users); };
  });
  auto* add = users->add_subcommand("add", "Create a user (password from --password or stdin)");
  add->add_option("name", flags->name, "User name")->required();
  add->add_option("--role", flags->role, "Role: admin, operator, publisher, viewer or custom")
      ->required();
  add->add_option("--password", flags->password, "Password (default: read from stdin)");
  add->callback([&ctx, flags] {
    ctx.action = [&ctx, flags]() -> int {
      auto password = password_of(*flags);
      if (!password) return kExitUsage;
      json::object body{{"name", flags->name}, {"password", *password}, {"role", flags->role}};
      return fetch_and_show(ctx, "POST", "/auth/users", to_json_text(body), render_one);
    };
  });
  auto* set = users->add_subcommand("set", "Change a user's role and/or password");
  set->add_option("name", flags->name, "User name")->required();
  set->add_option("--role", flags->role, "New role");
  set->add_option("--password", flags->password, "New password");
  set->callback([&ctx, flags] {
    ctx.action = [&ctx, flags]() -> int {
      json::object body;
      if (!flags->role.empty()) body["role"] = flags->role;
      if (!flags->password.empty()) body["password"] = flags->password;
      return fetch_and_show(ctx, "PATCH", "/auth/users/" + url_encode(flags->name),
                            to_json_text(body), render_one);
    };
  });
  auto* remove = users->add_subcommand("remove", "Delete a user");
  remove->add_option("name", flags->name, "User name")->required();
  remove->callback([&ctx, flags] {
    ctx.action = [&ctx, flags] {
      return fetch_and_show(ctx, "DELETE", "/auth/users/" + url_encode(flags->name), "",
                            render_one);
    };
  });
}

void add_token_commands(CLI::App& app, CliContext& ctx) {
  auto flags = std::make_shared<AuthFlags>();
  auto* tokens = app.add_subcommand("tokens", "API tokens (random, shown once, stored hashed)");
  tokens->require_subcommand(1);
  auto* create = tokens->add_subcommand("create", "Create a token bound to a role; prints it once");
  create->add_option("name", flags->name, "Token name (the device or service using it)")
      ->required();
  create->add_option("--role", flags->role, "Role the token acts with")->required();
  create->add_option("--expires", flags->expires, "Seconds until the token expires");
  create->callback([&ctx, flags] {
    ctx.action = [&ctx, flags]() -> int {
      json::object body{{"name", flags->name}, {"role", flags->role}};
      if (flags->expires) body["expires_in"] = *flags->expires;
      return fetch_and_show(ctx, "POST", "/auth/tokens", to_json_text(body),
                            [](const json::value& v) {
                              std::cout << field(v, "token") << "\n\n"
                                        << "This token is shown once; sluiced keeps only its "
                                           "hash. Use it as 'Authorization: Bearer <token>'.\n";
                            });
    };
  });
  tokens->add_subcommand("list", "List tokens (never their secrets)")->callback([&ctx] {
    ctx.action = [&ctx] { return fetch_and_show(ctx, "GET", "/auth/tokens", "", render_tokens); };
  });
  auto* revoke = tokens->add_subcommand("revoke", "Delete a token by id or name (at once)");
  revoke->add_option("id", flags->name, "Token id or name")->required();
  revoke->callback([&ctx, flags] {
    ctx.action = [&ctx, flags] {
      return fetch_and_show(ctx, "DELETE", "/auth/tokens/" + url_encode(flags->name), "",
                            render_one);
    };
  });
}

}  // namespace

void add_auth_commands(CLI::App& app, CliContext& ctx) {
  add_user_commands(app, ctx);
  add_token_commands(app, ctx);
  app.add_subcommand("roles", "List roles and their permissions")->callback([&ctx] {
    ctx.action = [&ctx] { return fetch_and_show(ctx, "GET", "/auth/roles", "", render_roles); };
  });
  app.add_subcommand("whoami", "Show who sluiced takes you for, and what you may do")
      ->callback([&ctx] {
        ctx.action = [&ctx] { return fetch_and_show(ctx, "GET", "/auth/whoami", "", render_one); };
      });
}

}  // namespace sluice::cli
