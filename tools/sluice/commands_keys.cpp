// sluice keys create | list | revoke | rotate — stream keys for RTMP publishing (issue 4).
// The daemon answers /keys to loopback clients, or to anyone with its admin-token
// (--admin-token, $SLUICE_ADMIN_TOKEN; "@PATH" reads it from a file).

#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>

#include "commands.hpp"
#include "core/json_text.hpp"
#include "table.hpp"

namespace sluice::cli {
namespace json = boost::json;
using client::url_encode;

namespace {

struct KeyFlags {
  std::string admin_token;
  std::string stream;
  std::optional<std::int64_t> expires_in;
  std::vector<std::string> allow;
  std::string alias;
  std::string note;
  bool read = false;
  std::string id;
};

std::string text_of(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return "-";
  if (it->value().is_string()) return std::string(it->value().as_string());
  return compact(it->value());
}

std::string ips_of(const json::object& o) {
  auto it = o.find("allowed_ips");
  if (it == o.end() || !it->value().is_array() || it->value().as_array().empty()) return "any";
  std::string out;
  for (const auto& ip : it->value().as_array()) {
    if (!out.empty()) out += ",";
    out += ip.is_string() ? std::string(ip.as_string()) : compact(ip);
  }
  return out;
}

// Applies --admin-token (or "@PATH"); returns false after printing why when the file is unreadable.
bool use_token(CliContext& ctx, const std::string& flag) {
  if (flag.empty()) return true;
  std::string token = flag;
  if (flag.starts_with("@")) {
    std::ifstream in(flag.substr(1));
    if (!in) {
      std::cerr << "error: cannot read the admin token file " << flag.substr(1) << "\n";
      return false;
    }
    token.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back())))
      token.pop_back();
  }
  ctx.client().set_bearer_token(token);
  return true;
}

// The RTMP application URL of the daemon, from the answer's `rtmp_url` (its real RTMP port);
// nullopt when the daemon's RTMP is off. A daemon too old to send it: the --server host and the
// default port 1935.
std::optional<std::string> rtmp_base(const CliContext& ctx, const json::object& created) {
  if (const auto* url = created.if_contains("rtmp_url")) {
    if (url->is_string()) return std::string(url->as_string());
    return std::nullopt;
  }
  auto base = client::parse_base_url(ctx.server);
  std::string host = !base ? "HOST" : base->host;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return "rtmp://" + host + ":1935/live";
}

// create and rotate: the key, prominently, then what to type into OBS.
void render_created(const CliContext& ctx, const json::value& v) {
  if (!v.is_object()) return;
  const auto& o = v.as_object();
  const std::string key = text_of(o, "key");
  const std::string stream = text_of(o, "stream");
  std::cout << "\n  " << key << "\n\n"
            << "This key is shown once; sluiced keeps only its hash. Store it now.\n\n";
  KeyValues kv;
  kv.add("id", text_of(o, "id"));
  kv.add("stream", stream);
  kv.add("kind", text_of(o, "kind"));
  kv.add("alias", text_of(o, "alias"));
  kv.add("expires", text_of(o, "expires_at"));
  kv.add("allowed ips", ips_of(o));
  const auto rtmp = rtmp_base(ctx, o);
  if (!rtmp) {
    kv.add("rtmp", "off on this daemon (sluiced --rtmp)");
  } else if (text_of(o, "kind") == "publish") {
    kv.add("OBS server", *rtmp);
    kv.add("OBS stream key", key);
    kv.add("playback", *rtmp + "/" + stream);
  } else {
    kv.add("playback", *rtmp + "/" + stream + "?key=" + key);
  }
  kv.print(std::cout);
}

void render_key(const json::value& v) {
  if (!v.is_object()) return;
  const auto& o = v.as_object();
  KeyValues kv;
  for (auto field : {"id", "stream", "kind", "state", "alias", "note", "created_at", "expires_at",
                     "revoked_at", "last_used_at", "uses"}) {
    kv.add(field, text_of(o, field));
  }
  kv.add("allowed_ips", ips_of(o));
  kv.print(std::cout);
}

void render_keys(const json::value& v) {
  Table table({"ID", "STREAM", "KIND", "STATE", "ALIAS", "EXPIRES", "ALLOWED IPS", "USES",
               "LAST USED", "NOTE"});
  if (v.is_array()) {
    for (const auto& item : v.as_array()) {
      if (!item.is_object()) continue;
      const auto& o = item.as_object();
      table.add_row({text_of(o, "id"), text_of(o, "stream"), text_of(o, "kind"),
                     text_of(o, "state"), text_of(o, "alias"), text_of(o, "expires_at"), ips_of(o),
                     text_of(o, "uses"), text_of(o, "last_used_at"), text_of(o, "note")});
    }
  }
  table.print(std::cout);
}

}  // namespace

void add_key_commands(CLI::App& app, CliContext& ctx) {
  auto flags = std::make_shared<KeyFlags>();
  auto* keys = app.add_subcommand("keys", "Stream keys for RTMP publishing and private playback");
  keys->require_subcommand(1);
  keys->add_option("--admin-token", flags->admin_token,
                   "sluiced's admin-token (or @PATH of a file holding it)")
      ->envname("SLUICE_ADMIN_TOKEN");

  auto* create = keys->add_subcommand("create", "Create a key for stream NAME (shown once)");
  create->add_option("name", flags->stream, "Stream name: 1-128 of A-Z a-z 0-9 . _ -")->required();
  create->add_option("--expires-in", flags->expires_in, "Seconds until the key expires");
  create->add_option("--allow", flags->allow, "Allowed peer address or CIDR (repeatable)");
  create->add_option("--alias", flags->alias, "Unique alias to revoke/rotate the key by");
  create->add_option("--note", flags->note, "Free text (at most 1024 characters)");
  create->add_flag("--read", flags->read, "A read key (private playback) instead of a publish key");
  create->callback([&ctx, flags] {
    ctx.action = [&ctx, flags]() -> int {
      if (!use_token(ctx, flags->admin_token)) return kExitUsage;
      json::object body{{"stream", flags->stream}, {"kind", flags->read ? "read" : "publish"}};
      if (flags->expires_in) body["expires_in"] = *flags->expires_in;
      if (!flags->allow.empty()) {
        json::array ips;
        for (const auto& ip : flags->allow)
          ips.emplace_back(ip);
        body["allowed_ips"] = std::move(ips);
      }
      if (!flags->alias.empty()) body["alias"] = flags->alias;
      if (!flags->note.empty()) body["note"] = flags->note;
      return fetch_and_show(ctx, "POST", "/keys", to_json_text(body),
                            [&ctx](const json::value& v) { render_created(ctx, v); });
    };
  });

  auto* list = keys->add_subcommand("list", "List keys (never their secrets)");
  list->callback([&ctx, flags] {
    ctx.action = [&ctx, flags]() -> int {
      if (!use_token(ctx, flags->admin_token)) return kExitUsage;
      return fetch_and_show(ctx, "GET", "/keys", "", render_keys);
    };
  });

  auto* show = keys->add_subcommand("show", "Show one key by id or alias");
  show->add_option("id", flags->id, "Key id or alias")->required();
  show->callback([&ctx, flags] {
    ctx.action = [&ctx, flags]() -> int {
      if (!use_token(ctx, flags->admin_token)) return kExitUsage;
      return fetch_and_show(ctx, "GET", "/keys/" + url_encode(flags->id), "", render_key);
    };
  });

  auto* revoke = keys->add_subcommand("revoke", "Revoke a key by id or alias (at once)");
  revoke->add_option("id", flags->id, "Key id or alias")->required();
  revoke->callback([&ctx, flags] {
    ctx.action = [&ctx, flags]() -> int {
      if (!use_token(ctx, flags->admin_token)) return kExitUsage;
      return fetch_and_show(ctx, "DELETE", "/keys/" + url_encode(flags->id), "", render_key);
    };
  });

  auto* rotate = keys->add_subcommand(
      "rotate", "Give a key a new secret (same id and settings); the old one stops working");
  rotate->add_option("id", flags->id, "Key id or alias")->required();
  rotate->callback([&ctx, flags] {
    ctx.action = [&ctx, flags]() -> int {
      if (!use_token(ctx, flags->admin_token)) return kExitUsage;
      return fetch_and_show(ctx, "POST", "/keys/" + url_encode(flags->id) + "/rotate", "",
                            [&ctx](const json::value& v) { render_created(ctx, v); });
    };
  });
}

}  // namespace sluice::cli
