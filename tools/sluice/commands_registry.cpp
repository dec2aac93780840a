// sluice streams | stream | types | type create|update|delete | withdraw | health

#include <cstdio>
#include <iostream>

#include "commands.hpp"
#include "core/json_text.hpp"
#include "core/time_format.hpp"
#include "registry/model.hpp"
#include "table.hpp"

namespace sluice::cli {
namespace json = boost::json;
using client::url_encode;

namespace {

std::string endpoint_of(const registry::StreamRecord& s) {
  if (s.is_multicast()) {
    return *s.multicast_group + ":" + std::to_string(s.multicast_port.value_or(0)) + " (mcast)";
  }
  return s.address + ":" + std::to_string(s.port);
}

std::string or_dash(const std::optional<std::string>& s) {
  return s && !s->empty() ? *s : "-";
}

void render_streams(const json::value& v) {
  Table table(
      {"ID", "NAME", "TYPE", "PROTOCOL", "ENDPOINT", "PUBLISHER", "SESSIONS", "SUBS", "HEARTBEAT"});
  if (v.is_array()) {
    for (const auto& item : v.as_array()) {
      if (!item.is_object()) continue;
      auto view = registry::stream_from_json(item.as_object());
      const auto& s = view.stream;
      table.add_row({s.id, s.name, s.stream_type, s.protocol, endpoint_of(s), s.publisher_id,
                     std::to_string(view.active_sessions), std::to_string(view.active_subscribers),
                     age(s.last_heartbeat)});
    }
  }
  table.print(std::cout);
}

void render_stream(const json::value& v) {
  if (!v.is_object()) return;
  auto view = registry::stream_from_json(v.as_object());
  const auto& s = view.stream;
  KeyValues kv;
  kv.add("id", s.id);
  kv.add("name", s.name);
  kv.add("type", s.stream_type);
  kv.add("protocol", s.protocol);
  kv.add("delivery", s.delivery_mode());
  kv.add("address", s.address + ":" + std::to_string(s.port));
  if (s.is_multicast()) {
    kv.add("multicast", *s.multicast_group + ":" + std::to_string(s.multicast_port.value_or(0)));
  }
  kv.add("publisher", s.publisher_id);
  kv.add("entity", or_dash(s.entity_id));
  kv.add("device", or_dash(s.device_id));
  kv.add("advertised", format_timestamp(s.advertised_at) + " (" + age(s.advertised_at) + ")");
  kv.add("heartbeat", format_timestamp(s.last_heartbeat) + " (" + age(s.last_heartbeat) + ")");
  kv.add("sessions", std::to_string(view.active_sessions));
  kv.add("subscribers", std::to_string(view.active_subscribers));
  kv.add("config", compact(s.config));
  kv.add("metadata", compact(s.metadata));
  kv.print(std::cout);
}

void render_types(const json::value& v) {
  Table table({"NAME", "DISPLAY NAME", "BUILTIN", "DEFAULT CONFIG", "DESCRIPTION"});
  if (v.is_array()) {
    for (const auto& item : v.as_array()) {
      if (!item.is_object()) continue;
      auto t = registry::type_from_json(item.as_object());
      table.add_row({t.name, t.display_name, t.builtin ? "yes" : "no", compact(t.default_config),
                     t.description.value_or("")});
    }
  }
  table.print(std::cout);
}

// Scalars as people write them: strings bare, numbers without exponent noise.
std::string scalar_text(const json::value& v) {
  if (v.is_string()) return std::string(v.as_string());
  if (v.is_double()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", v.as_double());
    return buf;
  }
  return compact(v);
}

// A component {"status": "ok", "store": "memory"} as "ok (store=memory)".
std::string component_text(const json::value& v) {
  if (!v.is_object()) return scalar_text(v);
  std::string status, rest;
  for (const auto& [key, value] : v.as_object()) {
    if (key == "status") {
      status = scalar_text(value);
    } else {
      rest += (rest.empty() ? "" : ", ") + std::string(key) + "=" + scalar_text(value);
    }
  }
  if (rest.empty()) return status;
  return status.empty() ? rest : status + " (" + rest + ")";
}

void render_health(const json::value& v) {
  if (!v.is_object()) return;
  const auto& o = v.as_object();
  KeyValues kv;
  for (const auto& [key, value] : o) {
    if (key == "components" && value.is_object()) continue;
    kv.add(std::string(key), scalar_text(value));
  }
  if (auto it = o.find("components"); it != o.end() && it->value().is_object()) {
    for (const auto& [name, value] : it->value().as_object()) {
      kv.add(std::string(name), component_text(value));
    }
  }
  kv.print(std::cout);
}

struct TypeOptions {
  std::string name, display_name, description, icon, default_config, config_schema, metadata;
};

std::string type_body(CLI::App* cmd, const TypeOptions& o) {
  registry::StreamTypeSpec spec;
  spec.name = o.name;
  spec.display_name = o.display_name;
  if (cmd->count("--description")) spec.description = o.description;
  if (cmd->count("--icon")) spec.icon = o.icon;
  spec.default_config = parse_object(o.default_config);
  spec.config_schema = parse_object(o.config_schema);
  spec.metadata = parse_object(o.metadata);
  return to_json_text(registry::to_json(spec));
}

void add_type_spec_options(CLI::App* cmd, TypeOptions& o, bool display_name_required) {
  cmd->add_option("NAME", o.name, "Type name")->required();
  auto* display = cmd->add_option("--display-name", o.display_name, "Name shown to people");
  if (display_name_required) display->required();
  cmd->add_option("--description", o.description, "Description");
  cmd->add_option("--icon", o.icon, "Icon name");
  cmd->add_option("--default-config", o.default_config, "Default config (JSON object)")
      ->check(json_object_validator());
  cmd->add_option("--config-schema", o.config_schema, "Config schema (JSON object)")
      ->check(json_object_validator());
  cmd->add_option("--metadata", o.metadata, "Metadata (JSON object)")
      ->check(json_object_validator());
}

}  // namespace

void add_registry_commands(CLI::App& app, CliContext& ctx) {
  {
    auto type = std::make_shared<std::string>();
    auto* cmd = app.add_subcommand("streams", "List live streams");
    cmd->add_option("--type", *type, "Only streams of this type");
    cmd->callback([&ctx, cmd, type] {
      ctx.action = [&ctx, cmd, type] {
        std::string target = "/streams";
        if (cmd->count("--type")) target += "?stream_type=" + url_encode(*type);
        return fetch_and_show(ctx, "GET", target, "", render_streams);
      };
    });
  }
  {
    auto id = std::make_shared<std::string>();
    auto* cmd = app.add_subcommand("stream", "Show one stream");
    cmd->add_option("ID", *id, "Stream id")->required();
    cmd->callback([&ctx, id] {
      ctx.action = [&ctx, id] {
        return fetch_and_show(ctx, "GET", "/streams/" + url_encode(*id), "", render_stream);
      };
    });
  }
  {
    auto* cmd = app.add_subcommand("types", "List stream types");
    cmd->callback([&ctx] {
      ctx.action = [&ctx] {
        return fetch_and_show(ctx, "GET", "/streams/types", "", render_types);
      };
    });
  }
  {
    auto* type = app.add_subcommand("type", "Create, update or delete a stream type");
    type->require_subcommand(1);

    auto create = std::make_shared<TypeOptions>();
    auto* cmd = type->add_subcommand("create", "Create a custom stream type");
    add_type_spec_options(cmd, *create, true);
    cmd->callback([&ctx, cmd, create] {
      ctx.action = [&ctx, cmd, create] {
        return fetch_and_show(
            ctx, "POST", "/streams/types", type_body(cmd, *create),
            [create](const json::value&) { std::cout << "created type " << create->name << '\n'; });
      };
    });

    auto update = std::make_shared<TypeOptions>();
    auto* upd = type->add_subcommand("update", "Replace a custom stream type's definition");
    add_type_spec_options(upd, *update, true);
    upd->callback([&ctx, upd, update] {
      ctx.action = [&ctx, upd, update] {
        return fetch_and_show(
            ctx, "PUT", "/streams/types/" + url_encode(update->name), type_body(upd, *update),
            [update](const json::value&) { std::cout << "updated type " << update->name << '\n'; });
      };
    });

    auto name = std::make_shared<std::string>();
    auto* del = type->add_subcommand("delete", "Delete a custom stream type");
    del->add_option("NAME", *name, "Type name")->required();
    del->callback([&ctx, name] {
      ctx.action = [&ctx, name] {
        return fetch_and_show(
            ctx, "DELETE", "/streams/types/" + url_encode(*name), "",
            [name](const json::value&) { std::cout << "deleted type " << *name << '\n'; });
      };
    });
  }
  {
    auto id = std::make_shared<std::string>();
    auto* cmd = app.add_subcommand("withdraw", "Withdraw a stream");
    cmd->add_option("ID", *id, "Stream id")->required();
    cmd->callback([&ctx, id] {
      ctx.action = [&ctx, id] {
        return fetch_and_show(
            ctx, "DELETE", "/streams/" + url_encode(*id), "",
            [id](const json::value&) { std::cout << "withdrawn " << *id << '\n'; });
      };
    });
  }
  {
    auto* cmd = app.add_subcommand("health", "Show the daemon's health");
    cmd->callback([&ctx] {
      ctx.action = [&ctx] { return fetch_and_show(ctx, "GET", "/health", "", render_health); };
    });
  }
}

}  // namespace sluice::cli
