#include "redis/record_codec.hpp"

#include <boost/json/parse.hpp>

#include <charconv>
#include <cmath>
#include <map>

#include "core/ids.hpp"
#include "core/json.hpp"
#include "core/json_text.hpp"
#include "core/time_format.hpp"
#include "registry/config_schema.hpp"

namespace sluice::redis {

namespace {

// The fields of one hash by name, with typed readers that remember the first problem.
class Fields {
 public:
  Fields(const Hash& h, std::string_view what) : what_(what) {
    for (const auto& [k, v] : h)
      map_.emplace(k, v);
  }

  std::string text(const std::string& name, bool required = true) {
    auto it = map_.find(name);
    if (it == map_.end()) {
      if (required) problem(name, "is missing");
      return {};
    }
    return it->second;
  }
  std::optional<std::string> optional_text(const std::string& name) {
    auto v = text(name, false);
    return v.empty() ? std::nullopt : std::optional<std::string>(v);
  }
  std::optional<long long> optional_integer(const std::string& name, long long min, long long max) {
    auto v = text(name, false);
    if (v.empty()) return std::nullopt;
    long long n = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc{} || p != v.data() + v.size() || n < min || n > max) {
      problem(name, "is not an integer in " + std::to_string(min) + ".." + std::to_string(max));
      return std::nullopt;
    }
    return n;
  }
  int port(const std::string& name, bool required = true) {
    if (required && text(name, true).empty()) return 0;
    return static_cast<int>(optional_integer(name, 0, 65535).value_or(0));
  }
  boost::json::object object(const std::string& name) {
    auto v = text(name, false);
    if (v.empty()) return {};
    boost::system::error_code ec;
    auto parsed = boost::json::parse(v, ec);
    if (ec || !parsed.is_object()) {
      problem(name, "is not a JSON object");
      return {};
    }
    if (!all_numbers_finite(parsed)) {
      problem(name, "holds a number out of range");
      return {};
    }
    return std::move(parsed.as_object());
  }
  WallTime time(const std::string& name, bool required = true) {
    auto v = text(name, required);
    if (v.empty()) return WallTime{};
    auto t = parse_timestamp(v);
    if (!t) {
      problem(name, "is not an ISO-8601 timestamp");
      return WallTime{};
    }
    return *t;
  }

  std::optional<WallTime> optional_time(const std::string& name) {
    if (text(name, false).empty()) return std::nullopt;
    return time(name);
  }
  std::vector<std::string> string_array(const std::string& name) {
    auto v = text(name, false);
    std::vector<std::string> out;
    if (v.empty()) return out;
    boost::system::error_code ec;
    auto parsed = boost::json::parse(v, ec);
    if (ec || !parsed.is_array()) {
      problem(name, "is not a JSON array");
      return out;
    }
    for (const auto& item : parsed.as_array()) {
      if (!item.is_string()) {
        problem(name, "holds a non-string");
        return {};
      }
      out.emplace_back(item.as_string());
    }
    return out;
  }
  void check(bool ok, const std::string& name, const std::string& what) {
    if (!ok) problem(name, what);
  }

  Status result() const {
    if (error_.empty()) return {};
    return fail(
        Error{502, "the store holds an unusable " + std::string(what_) + ": " + error_, {}});
  }

 private:
  void problem(const std::string& name, const std::string& what) {
    if (error_.empty()) error_ = "field '" + name + "' " + what;
  }
  std::string_view what_;
  std::map<std::string, std::string, std::less<>> map_;
  std::string error_;
};

std::string json_text(const boost::json::object& o) {
  return to_json_text(o, DoubleStyle::kKeepKind);
}

}  // namespace

std::string stream_key(std::string_view id) {
  return "stream:" + std::string(id);
}
std::string session_key(std::string_view id) {
  return "session:" + std::string(id);
}
std::string subscriber_key(std::string_view id) {
  return "subscriber:" + std::string(id);
}
std::string streams_by_type_key(std::string_view type) {
  return "streams:by_type:" + std::string(type);
}
std::string sessions_by_stream_key(std::string_view stream) {
  return "sessions:by_stream:" + std::string(stream);
}
std::string subscribers_by_stream_key(std::string_view stream) {
  return "subscribers:by_stream:" + std::string(stream);
}

Hash to_hash(const registry::StreamRecord& r) {
  return {{"id", r.id},
          {"name", r.name},
          {"stream_type", r.stream_type},
          {"publisher_id", r.publisher_id},
          {"protocol", r.protocol},
          {"address", r.address},
          {"port", std::to_string(r.port)},
          {"entity_id", r.entity_id.value_or("")},
          {"device_id", r.device_id.value_or("")},
          {"config", json_text(r.config)},
          {"metadata", json_text(r.metadata)},
          {"multicast_group", r.multicast_group.value_or("")},
          {"multicast_port", r.multicast_port ? std::to_string(*r.multicast_port) : ""},
          {"delivery_mode", r.delivery_mode()},
          {"advertised_at", format_timestamp(r.advertised_at)},
          {"last_heartbeat", format_timestamp(r.last_heartbeat)},
          {"owner", r.owner}};
}

Hash to_hash(const registry::SessionRecord& r) {
  return {{"session_id", r.session_id},
          {"stream_id", r.stream_id},
          {"stream_name", r.stream_name},
          {"stream_type", r.stream_type},
          {"publisher_id", r.publisher_id},
          {"publisher_address", r.publisher_address},
          {"publisher_port", std::to_string(r.publisher_port)},
          {"consumer_id", r.consumer_id},
          {"consumer_address", r.consumer_address},
          {"consumer_port", r.consumer_port ? std::to_string(*r.consumer_port) : ""},
          {"protocol", r.protocol},
          {"transport_config", json_text(r.transport_config)},
          {"started_at", format_timestamp(r.started_at)},
          {"last_heartbeat", format_timestamp(r.last_heartbeat)},
          {"status", r.status},
          {"bytes_transferred", std::to_string(r.bytes_transferred)},
          {"owner", r.owner},
          {"auto_offer", r.auto_offered ? "1" : ""}};
}

Hash to_hash(const registry::SubscriberRecord& r) {
  return {{"subscriber_id", r.subscriber_id},
          {"stream_id", r.stream_id},
          {"stream_name", r.stream_name},
          {"stream_type", r.stream_type},
          {"publisher_id", r.publisher_id},
          {"consumer_id", r.consumer_id},
          {"consumer_address", r.consumer_address},
          {"multicast_group", r.multicast_group},
          {"multicast_port", std::to_string(r.multicast_port)},
          {"joined_at", format_timestamp(r.joined_at)},
          {"last_heartbeat", format_timestamp(r.last_heartbeat)},
          {"metadata", json_text(r.metadata)},
          {"owner", r.owner}};
}

Result<registry::StreamRecord> stream_from_hash(const Hash& h) {
  Fields f(h, "stream");
  registry::StreamRecord r;
  r.id = f.text("id");
  r.name = f.text("name");
  r.stream_type = f.text("stream_type");
  r.publisher_id = f.text("publisher_id");
  r.protocol = f.text("protocol");
  r.address = f.text("address");
  r.port = f.port("port");
  r.entity_id = f.optional_text("entity_id");
  r.device_id = f.optional_text("device_id");
  r.config = f.object("config");
  r.metadata = f.object("metadata");
  r.multicast_group = f.optional_text("multicast_group");
  if (auto p = f.optional_integer("multicast_port", 0, 65535))
    r.multicast_port = static_cast<int>(*p);
  r.advertised_at = f.time("advertised_at");
  r.last_heartbeat = f.time("last_heartbeat", false);
  if (r.last_heartbeat == WallTime{}) r.last_heartbeat = r.advertised_at;
  r.owner = f.text("owner", false);
  if (auto st = f.result(); !st) return fail(st.error());
  return r;
}

Result<registry::SessionRecord> session_from_hash(const Hash& h) {
  Fields f(h, "session");
  registry::SessionRecord r;
  r.session_id = f.text("session_id");
  r.stream_id = f.text("stream_id");
  r.stream_name = f.text("stream_name");
  r.stream_type = f.text("stream_type");
  r.publisher_id = f.text("publisher_id");
  r.publisher_address = f.text("publisher_address");
  r.publisher_port = f.port("publisher_port");
  r.consumer_id = f.text("consumer_id");
  r.consumer_address = f.text("consumer_address");
  if (auto p = f.optional_integer("consumer_port", 0, 65535))
    r.consumer_port = static_cast<int>(*p);
  r.protocol = f.text("protocol");
  r.transport_config = f.object("transport_config");
  r.started_at = f.time("started_at");
  r.last_heartbeat = f.time("last_heartbeat", false);
  if (r.last_heartbeat == WallTime{}) r.last_heartbeat = r.started_at;
  r.status = f.text("status", false);
  if (r.status.empty()) r.status = "active";
  r.bytes_transferred = f.optional_integer("bytes_transferred", 0, INT64_MAX).value_or(0);
  r.owner = f.text("owner", false);
  r.auto_offered = f.text("auto_offer", false) == "1";
  if (auto st = f.result(); !st) return fail(st.error());
  return r;
}

Result<registry::SubscriberRecord> subscriber_from_hash(const Hash& h) {
  Fields f(h, "subscriber");
  registry::SubscriberRecord r;
  r.subscriber_id = f.text("subscriber_id");
  r.stream_id = f.text("stream_id");
  r.stream_name = f.text("stream_name");
  r.stream_type = f.text("stream_type");
  r.publisher_id = f.text("publisher_id");
  r.consumer_id = f.text("consumer_id");
  r.consumer_address = f.text("consumer_address");
  r.multicast_group = f.text("multicast_group");
  r.multicast_port = f.port("multicast_port");
  r.joined_at = f.time("joined_at");
  r.last_heartbeat = f.time("last_heartbeat", false);
  if (r.last_heartbeat == WallTime{}) r.last_heartbeat = r.joined_at;
  r.metadata = f.object("metadata");
  r.owner = f.text("owner", false);
  if (auto st = f.result(); !st) return fail(st.error());
  return r;
}

std::string type_key(std::string_view name) {
  return "sluice:type:" + std::string(name);
}

Hash to_hash(const registry::StreamTypeRecord& r) {
  return {{"id", r.id},
          {"name", r.name},
          {"display_name", r.display_name},
          {"description", r.description.value_or("")},
          {"icon", r.icon.value_or("")},
          {"default_config", json_text(r.default_config)},
          {"metadata", json_text(r.metadata)},
          {"config_schema", json_text(r.config_schema)},
          {"builtin", r.builtin ? "1" : "0"},
          {"created_at", format_timestamp(r.created_at)},
          {"updated_at", format_timestamp(r.updated_at)},
          {"owner", r.owner}};
}

Result<registry::StreamTypeRecord> type_from_hash(const Hash& h) {
  Fields f(h, "stream type");
  registry::StreamTypeRecord r;
  r.id = f.text("id");
  r.name = f.text("name");
  r.display_name = f.text("display_name");
  r.description = f.optional_text("description");
  r.icon = f.optional_text("icon");
  r.default_config = f.object("default_config");
  r.metadata = f.object("metadata");
  r.config_schema = f.object("config_schema");
  const std::string builtin = f.text("builtin", false);
  f.check(builtin.empty() || builtin == "0" || builtin == "1", "builtin", "is not 0 or 1");
  r.builtin = builtin == "1";
  r.created_at = f.time("created_at");
  r.updated_at = f.time("updated_at", false);
  if (r.updated_at == WallTime{}) r.updated_at = r.created_at;
  r.owner = f.text("owner", false);
  if (auto st = f.result(); !st) return fail(st.error());
  auto fields = registry::parse_config_schema(r.config_schema);
  if (!fields) {
    return fail(
        Error{502,
              "the store holds an unusable stream type: field 'config_schema' is invalid: " +
                  fields.error().detail,
              {}});
  }
  r.schema_fields = std::move(*fields);
  return r;
}

std::string stream_key_record_key(std::string_view id) {
  return "sluice:key:" + std::string(id);
}
std::string key_alias_key(std::string_view alias) {
  return "sluice:key_alias:" + std::string(alias);
}

namespace {

std::optional<std::string> from_hex(std::string_view hex) {
  if (hex.size() % 2) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int hi = nibble(hex[i]);
    const int lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

std::string optional_time_text(const std::optional<WallTime>& t) {
  return t ? format_timestamp(*t) : std::string();
}

}  // namespace

Hash to_hash(const registry::KeyRecord& r) {
  boost::json::array ips;
  for (const auto& ip : r.allowed_ips)
    ips.emplace_back(ip);
  return {{"id", r.id},
          {"stream", r.stream},
          {"kind", r.kind == registry::KeyKind::kRead ? "read" : "publish"},
          {"hmac", to_hex(r.hmac)},
          {"created_at", format_timestamp(r.created_at)},
          {"expires_at", optional_time_text(r.expires_at)},
          {"allowed_ips", to_json_text(ips)},
          {"alias", r.alias.value_or("")},
          {"note", r.note},
          {"revoked_at", optional_time_text(r.revoked_at)},
          {"last_used_at", optional_time_text(r.last_used_at)},
          {"uses", std::to_string(r.uses)}};
}

Result<registry::KeyRecord> key_from_hash(const Hash& h) {
  Fields f(h, "stream key");
  registry::KeyRecord r;
  r.id = f.text("id");
  r.stream = f.text("stream");
  const std::string kind = f.text("kind");
  f.check(kind == "publish" || kind == "read" || kind.empty(), "kind", "is not publish or read");
  r.kind = kind == "read" ? registry::KeyKind::kRead : registry::KeyKind::kPublish;
  const auto hmac = from_hex(f.text("hmac"));
  f.check(hmac && hmac->size() == 32, "hmac", "is not 64 hex digits");
  if (hmac) r.hmac = *hmac;
  r.created_at = f.time("created_at");
  r.expires_at = f.optional_time("expires_at");
  r.allowed_ips = f.string_array("allowed_ips");
  r.alias = f.optional_text("alias");
  r.note = f.text("note", false);
  r.revoked_at = f.optional_time("revoked_at");
  r.last_used_at = f.optional_time("last_used_at");
  r.uses = static_cast<std::uint64_t>(f.optional_integer("uses", 0, INT64_MAX).value_or(0));
  if (auto st = f.result(); !st) return fail(st.error());
  return r;
}

}  // namespace sluice::redis
