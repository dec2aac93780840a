#include "state/state_journal.hpp"

#include <boost/json/parse.hpp>

#include <stdexcept>

#include "core/ids.hpp"
#include "core/json_text.hpp"
#include "core/time_format.hpp"
#include "registry/config_schema.hpp"
#include "state/state_db.hpp"

namespace sluice::state {
namespace json = boost::json;
namespace {

constexpr const char* kKey = "key";
constexpr const char* kType = "type";
constexpr const char* kOwner = "owner";

json::value opt_time(const std::optional<WallTime>& t) {
  return t ? json::value(format_timestamp(*t)) : json::value(nullptr);
}
std::optional<WallTime> read_time(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  if (!v || !v->is_string()) return std::nullopt;
  return parse_timestamp(v->as_string());
}
std::string read_str(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::optional<std::string> from_hex(std::string_view hex) {
  if (hex.size() % 2) return std::nullopt;
  std::string out;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    int v = 0;
    for (char c : hex.substr(i, 2)) {
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= c - '0';
      else if (c >= 'a' && c <= 'f')
        v |= c - 'a' + 10;
      else
        return std::nullopt;
    }
    out += static_cast<char>(v);
  }
  return out;
}

json::object parse_object(const std::string& kind, const std::string& id, std::string_view text) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) {
    throw std::runtime_error("state database: " + kind + " '" + id + "' is not a JSON object");
  }
  return std::move(v.as_object());
}

}  // namespace

std::string key_to_json(const registry::KeyRecord& k) {
  json::array ips;
  for (const auto& ip : k.allowed_ips)
    ips.emplace_back(ip);
  json::object o{{"id", k.id},
                 {"stream", k.stream},
                 {"kind", k.kind == registry::KeyKind::kRead ? "read" : "publish"},
                 {"hmac", to_hex(k.hmac)},
                 {"created_at", format_timestamp(k.created_at)},
                 {"expires_at", opt_time(k.expires_at)},
                 {"allowed_ips", std::move(ips)},
                 {"alias", k.alias ? json::value(*k.alias) : json::value(nullptr)},
                 {"note", k.note},
                 {"revoked_at", opt_time(k.revoked_at)},
                 {"last_used_at", opt_time(k.last_used_at)},
                 {"uses", k.uses}};
  return to_json_text(o, DoubleStyle::kKeepKind);
}

Result<registry::KeyRecord> key_from_json(std::string_view text) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) return fail(Error::internal("stored key is not a JSON object"));
  const auto& o = v.as_object();
  registry::KeyRecord k;
  k.id = read_str(o, "id");
  k.stream = read_str(o, "stream");
  k.kind = read_str(o, "kind") == "read" ? registry::KeyKind::kRead : registry::KeyKind::kPublish;
  auto hmac = from_hex(read_str(o, "hmac"));
  auto created = read_time(o, "created_at");
  if (k.id.empty() || k.stream.empty() || !hmac || hmac->size() != 32 || !created) {
    return fail(Error::internal("stored key '" + k.id + "' is incomplete"));
  }
  k.hmac = std::move(*hmac);
  k.created_at = *created;
  k.expires_at = read_time(o, "expires_at");
  if (auto* ips = o.if_contains("allowed_ips"); ips && ips->is_array()) {
    for (const auto& ip : ips->as_array())
      if (ip.is_string()) k.allowed_ips.emplace_back(ip.as_string());
  }
  if (auto* a = o.if_contains("alias"); a && a->is_string()) k.alias = std::string(a->as_string());
  k.note = read_str(o, "note");
  k.revoked_at = read_time(o, "revoked_at");
  k.last_used_at = read_time(o, "last_used_at");
  if (auto* u = o.if_contains("uses"); u && u->is_uint64()) k.uses = u->as_uint64();
  if (auto* u = o.if_contains("uses"); u && u->is_int64() && u->as_int64() > 0) {
    k.uses = static_cast<std::uint64_t>(u->as_int64());
  }
  return k;
}

Status StateJournal::save_key(const registry::KeyRecord& key) {
  return db_.put(kKey, key.id, key_to_json(key));
}
Status StateJournal::drop_key(const std::string& id) {
  return db_.remove(kKey, id);
}
Status StateJournal::save_type(const registry::StreamTypeRecord& type) {
  if (type.builtin) return {};
  json::object o = registry::to_json(type);
  o["owner"] = type.owner;
  return db_.put(kType, type.name, to_json_text(o, DoubleStyle::kKeepKind));
}
Status StateJournal::drop_type(const std::string& name) {
  return db_.remove(kType, name);
}
Status StateJournal::save_owner(const std::string& stream_id, const std::string& owner) {
  return db_.put(kOwner, stream_id,
                 to_json_text(json::object{{"owner", owner}}, DoubleStyle::kKeepKind));
}
Status StateJournal::drop_owner(const std::string& stream_id) {
  return db_.remove(kOwner, stream_id);
}

registry::JournalContents load_journal(const StateDb& db) {
  registry::JournalContents out;
  auto rows = [&db](const char* kind) {
    auto r = db.load(kind);
    if (!r) throw std::runtime_error(r.error().detail);
    return std::move(*r);
  };
  for (const auto& [id, body] : rows(kKey)) {
    auto k = key_from_json(body);
    if (!k) throw std::runtime_error("state database " + db.path() + ": " + k.error().detail);
    out.keys.push_back(std::move(*k));
  }
  for (const auto& [id, body] : rows(kType)) {
    json::object o = parse_object(kType, id, body);
    auto t = registry::type_from_json(o);
    t.owner = read_str(o, "owner");
    if (auto fields = registry::parse_config_schema(t.config_schema)) t.schema_fields = *fields;
    out.types.push_back(std::move(t));
  }
  for (const auto& [id, body] : rows(kOwner))
    out.owners.emplace_back(id, read_str(parse_object(kOwner, id, body), "owner"));
  return out;
}

}  // namespace sluice::state
