#include "registry/registry.hpp"

#include <spdlog/spdlog.h>
#include <boost/json/parse.hpp>

#include <algorithm>

#include "core/ids.hpp"
#include "core/json_text.hpp"
#include "core/refusals.hpp"
#include "registry/builtin_types.hpp"
#include "registry/config_schema.hpp"
#include "registry/events.hpp"

namespace sluice::registry {
namespace json = boost::json;
namespace {

std::size_t idx(Kind k) {
  return static_cast<std::size_t>(k);
}

// Copies what a type definition body may set (everything but identity and timestamps).
void apply_spec(StreamTypeRecord& t, const StreamTypeSpec& spec, std::vector<ConfigField> fields) {
  t.display_name = spec.display_name;
  t.description = spec.description;
  t.icon = spec.icon;
  t.default_config = spec.default_config;
  t.metadata = spec.metadata;
  t.config_schema = spec.config_schema;
  t.schema_fields = std::move(fields);
}

}  // namespace

Registry::Registry(RegistryOptions options, RegistryStore& store, History& history, hub::Bus& bus,
                   const Clock& clock)
    : ttl_s_(options.ttl.count()),
      timeout_ms_(options.request_timeout.count()),
      max_config_bytes_(options.max_config_bytes),
      max_custom_types_(options.max_custom_types),
      max_streams_(options.max_streams),
      auto_offer_(options.auto_offer),
      refusals_(options.refusals),
      store_(store),
      history_(history),
      bus_(bus),
      clock_(clock) {}

void Registry::publish(const std::string& subject, const json::object& payload) {
  bus_.publish(subject, to_json_text(payload));
}

Status Registry::seed_builtin_types() {
  for (auto& t : builtin_types(clock_.wall_now())) {
    auto existing = store_.get_type(t.name);
    if (!existing) return fail(existing.error());
    if (*existing) t.created_at = (*existing)->created_at;
    if (auto ok = store_.replace_type(t); !ok) return ok;
  }
  return {};
}

Status Registry::ensure_builtin_types() {
  auto types = builtin_types(clock_.wall_now());
  auto last = store_.get_type(types.back().name);  // seeding writes them in order
  if (!last) return fail(last.error());
  if (*last) return {};
  spdlog::info("registry: the store holds no built-in types (new or restarted); seeding them");
  return seed_builtin_types();
}

// ---- types -----------------------------------------------------------------------------------

Result<std::vector<StreamTypeRecord>> Registry::list_types() const {
  return store_.list_types();
}

Status Registry::check_size(const json::object& value, std::vector<std::string> loc,
                            const std::string& who) const {
  if (value.empty()) return {};
  const std::size_t size = to_json_text(value).size();
  const std::size_t limit = max_config_bytes_.load();
  if (size <= limit) return {};
  const std::string what = loc.back();
  const std::string msg = what + " is " + std::to_string(size) + " bytes as JSON; the limit is " +
                          std::to_string(limit) + " bytes (max-stream-config)";
  if (refusals_) refusals_->count(Refusal::kStreamConfigSize, who + ": " + msg);
  return fail(Error::invalid_field(std::move(loc), msg, "too_large"));
}

Status Registry::check_type_room() const {
  auto types = store_.list_types();
  if (!types) return fail(types.error());
  const auto custom = std::count_if(types->begin(), types->end(),
                                    [](const StreamTypeRecord& t) { return !t.builtin; });
  if (static_cast<std::size_t>(custom) < max_custom_types_.load()) return {};
  const std::string msg = "too many stream types: " + std::to_string(custom) +
                          " custom types exist, the limit (max-stream-types); delete unused ones";
  if (refusals_) refusals_->count(Refusal::kStreamTypes, msg);
  return fail(Error{507, msg, {}});
}

Result<StreamTypeRecord> Registry::create_type(const StreamTypeSpec& spec, const Actor& actor) {
  const std::string who = "stream type '" + spec.name + "'";
  for (auto [value, field] :
       {std::pair{&spec.default_config, "default_config"}, std::pair{&spec.metadata, "metadata"},
        std::pair{&spec.config_schema, "config_schema"}}) {
    if (auto ok = check_size(*value, {"body", field}, who); !ok) return fail(ok.error());
  }
  if (auto room = check_type_room(); !room) return fail(room.error());
  auto fields = parse_config_schema(spec.config_schema);
  if (!fields) return fail(fields.error());
  StreamTypeRecord t;
  t.id = new_uuid4();
  t.name = spec.name;
  apply_spec(t, spec, std::move(*fields));
  t.created_at = t.updated_at = clock_.wall_now();
  t.owner = actor.owner;
  if (auto ok = store_.insert_type(t); !ok) return fail(ok.error());
  return t;
}

Result<StreamTypeRecord> Registry::update_type(const std::string& name, const StreamTypeSpec& spec,
                                               const Actor& actor) {
  auto existing = store_.get_type(name);
  if (!existing) return fail(existing.error());
  if (!*existing) return fail(Error::not_found("Stream type '" + name + "' not found"));
  if ((*existing)->builtin) {
    return fail(Error::forbidden("Stream type '" + name + "' is built in and cannot be changed"));
  }
  if (auto ok = check_owner(actor, {(*existing)->owner}, "Stream type '" + name + "'"); !ok) {
    return fail(ok.error());
  }
  for (auto [value, field] :
       {std::pair{&spec.default_config, "default_config"}, std::pair{&spec.metadata, "metadata"},
        std::pair{&spec.config_schema, "config_schema"}}) {
    if (auto ok = check_size(*value, {"body", field}, "stream type '" + name + "'"); !ok) {
      return fail(ok.error());
    }
  }
  auto fields = parse_config_schema(spec.config_schema);
  if (!fields) return fail(fields.error());
  StreamTypeRecord t = **existing;
  apply_spec(t, spec, std::move(*fields));
  t.updated_at = clock_.wall_now();
  if (auto ok = store_.replace_type(t); !ok) return fail(ok.error());
  return t;
}

Status Registry::delete_type(const std::string& name, const Actor& actor) {
  auto existing = store_.get_type(name);
  if (!existing) return fail(existing.error());
  if (!*existing) return fail(Error::not_found("Stream type '" + name + "' not found"));
  if ((*existing)->builtin) {
    return fail(Error::forbidden("Stream type '" + name + "' is built in and cannot be deleted"));
  }
  if (auto ok = check_owner(actor, {(*existing)->owner}, "Stream type '" + name + "'"); !ok) {
    return ok;
  }
  return store_.remove_type(name);
}

// ---- streams ---------------------------------------------------------------------------------

Result<StreamView> Registry::advertise(const AdvertiseRequest& request, const Actor& actor) {
  const std::string who = "advertise of '" + request.name.substr(0, 128) + "' by '" +
                          request.publisher_id.substr(0, 128) + "'";
  if (auto ok = check_size(request.metadata, {"body", "metadata"}, who); !ok) {
    return fail(ok.error());
  }
  auto found_type = store_.get_type(request.stream_type);
  if (!found_type) return fail(found_type.error());
  const auto& type = *found_type;
  if (!type) {
    auto types = store_.list_types();
    if (!types) return fail(types.error());
    std::string known;
    for (const auto& t : *types)
      known += (known.empty() ? "" : ", ") + t.name;
    return fail(Error::invalid_field({"body", "stream_type"},
                                     "Unknown stream type '" + request.stream_type +
                                         "'. Known types: " + known +
                                         ". Create new ones with POST /streams/types.",
                                     "enum"));
  }
  json::object config = merge_config(type->default_config, request.config);
  if (auto ok = check_size(config, {"body", "config"}, who); !ok) return fail(ok.error());
  if (auto ok = validate_config(type->schema_fields, config, {"body", "config"}); !ok) {
    return fail(ok.error());
  }

  WallTime now = clock_.wall_now();
  StreamRecord s;
  s.id = uuid5(kSluiceNamespace, "stream:" + request.publisher_id + "\n" + request.name);
  s.name = request.name;
  s.stream_type = request.stream_type;
  s.publisher_id = request.publisher_id;
  s.protocol = request.protocol;
  s.address = request.address;
  s.port = request.port;
  s.entity_id = request.entity_id;
  s.device_id = request.device_id;
  s.config = std::move(config);
  s.metadata = request.metadata;
  s.multicast_group = request.multicast_group;
  s.multicast_port = request.multicast_port;
  s.last_heartbeat = now;
  auto existing = store_.get_stream(s.id);
  if (!existing) return fail(existing.error());
  // Another client's stream: saying again exactly what its owner said changes nothing (answer
  // it, refresh nothing); anything else is refused.
  auto foreign = [&]() -> Result<StreamView> {
    const auto& old = *existing;
    if (old && old->stream.address == s.address && old->stream.port == s.port &&
        old->stream.protocol == s.protocol && old->stream.stream_type == s.stream_type) {
      return *old;
    }
    return fail(
        Error::forbidden("Stream '" + s.name + "' of publisher '" + s.publisher_id +
                         "' belongs to another client: only its owner may re-advertise it"));
  };
  auto current = store_.get_owner(s.id);
  if (!current) return fail(current.error());
  if (*current && **current != actor.owner && !actor.manages_all) return foreign();
  if (!*existing) {  // a new stream: is there room? (approximate under concurrent advertises)
    auto n = store_.stream_count();
    if (!n) return fail(n.error());
    if (*n >= max_streams_.load()) {
      const std::string msg = "too many streams: the registry holds " + std::to_string(*n) +
                              ", the limit (max-streams)";
      if (refusals_) refusals_->count(Refusal::kStreams, who + ": " + msg);
      return fail(Error{507, msg, {}});
    }
  }
  // A new stream counts against its owner's cap before anything is bound or stored.
  if (!*existing && !actor.manages_all && max_per_owner_.load() > 0) {
    auto owned = store_.count_owned_streams(actor.owner);
    if (!owned) return fail(owned.error());
    if (*owned >= max_per_owner_.load()) {
      return fail(Error{429,
                        "Too many streams for one client (" + std::to_string(*owned) +
                            "; setting max_streams_per_owner): withdraw some first",
                        {}});
    }
  }
  auto bound = store_.bind_owner(s.id, actor.owner);
  if (!bound) return fail(bound.error());
  if (*bound != actor.owner && !actor.manages_all) return foreign();  // lost a race
  s.owner = *bound;
  s.advertised_at = *existing ? (*existing)->stream.advertised_at : now;
  if (auto ok = store_.put_stream(s, deadline()); !ok) return fail(ok.error());
  stats_.advertisements.fetch_add(1, std::memory_order_relaxed);

  auto event = events::stream_advertised(s, now);
  publish(events::kAdvertise, event);
  publish(events::advertise_typed_subject(s.stream_type), event);
  if (auto subject = events::mqtt_advert_subject(s.stream_type); bus_.has_subscribers(subject)) {
    publish(subject, events::mqtt_advert(s, true));
  }
  auto view = store_.get_stream(s.id);
  if (!view) return fail(view.error());
  if (!*view) return fail(Error::not_found(kStreamGone));  // withdrawn concurrently
  return **view;
}

Result<std::vector<StreamView>> Registry::list_streams(
    const std::optional<std::string>& type) const {
  return store_.list_streams(type);
}

Result<StreamJsonPage> Registry::list_stream_json(const std::optional<std::string>& type,
                                                  std::size_t offset,
                                                  std::optional<std::size_t> limit) const {
  return store_.list_stream_json(type, offset, limit);
}

Result<StreamView> Registry::get_stream(const std::string& id) const {
  auto v = store_.get_stream(id);
  if (!v) return fail(v.error());
  if (!*v) return fail(Error::not_found(kStreamGone));
  return **v;
}

Status Registry::withdraw(const std::string& id, const Actor& actor) {
  if (auto ok = check_stream_owner(id, actor, "withdraw"); !ok) return ok;
  auto removed = store_.remove_stream(id);
  if (!removed) return fail(removed.error());
  if (!*removed) {
    (void)store_.release_owner(id);  // gone already (expired): withdrawing still frees its name
    return fail(Error::not_found(kStreamGone));
  }
  stats_.withdrawals.fetch_add(1, std::memory_order_relaxed);
  if (auto released = store_.release_owner(id); !released) {
    spdlog::warn("stream {}: owner binding not released: {}", id, released.error().detail);
  }
  announce_stream_removed(**removed, "withdrawn", "stream_withdrawn", "stopped");
  return {};
}

Status Registry::heartbeat_stream(const std::string& id, const Actor& actor) {
  if (auto ok = check_stream_owner(id, actor, "heartbeat"); !ok) return ok;
  auto touched = store_.touch_stream(id, clock_.wall_now(), deadline());
  if (!touched) return fail(touched.error());
  auto& found = *touched;
  if (!found) {
    stats_.heartbeat_misses[idx(Kind::kStream)].fetch_add(1, std::memory_order_relaxed);
    return fail(Error::not_found(kStreamGone));
  }
  stats_.heartbeats[idx(Kind::kStream)].fetch_add(1, std::memory_order_relaxed);
  // Maestra re-broadcasts the advert to MQTT devices on every heartbeat; only build it if heard
  // (with NATS, always: the MQTT bridge listens there), from the record the heartbeat returned
  // when the store had it.
  if (auto subject = events::mqtt_advert_subject(found->stream_type);
      bus_.has_subscribers(subject)) {
    if (!found->record) {
      if (auto v = store_.get_stream(id); v && *v) found->record = std::move((*v)->stream);
    }
    if (found->record) publish(subject, events::mqtt_advert(*found->record, false));
  }
  return {};
}

bool Registry::keep_alive(const std::string& id) {
  auto beat = heartbeat_stream(id);
  return beat || beat.error().status != 404;
}

void Registry::announce_stream_removed(const RemovedStream& removed, const std::string& reason,
                                       const std::string& child_reason,
                                       const std::string& history_status) {
  for (const auto& s : removed.sessions)
    announce_session_ended(s, child_reason, history_status);
  for (const auto& s : removed.subscribers) {
    announce_subscriber_left(s, child_reason,
                             history_status == "stopped" ? "left" : history_status);
  }
  publish(events::withdraw_subject(removed.stream.id),
          events::stream_withdrawn(removed.stream.id, clock_.wall_now(), reason));
}

void Registry::announce_session_ended(const SessionRecord& s, const std::string& reason,
                                      const std::string& history_status) {
  WallTime now = clock_.wall_now();
  history_.session_ended(s, history_status, now);
  publish(events::kSessionStopped, events::session_stopped(s, now, reason));
}

void Registry::announce_subscriber_left(const SubscriberRecord& s, const std::string& reason,
                                        const std::string& history_status) {
  WallTime now = clock_.wall_now();
  history_.subscriber_left(s, history_status, now);
  publish(events::kSubscriberLeft, events::subscriber_left(s, now, reason));
}

// ---- sessions --------------------------------------------------------------------------------

Result<std::vector<SessionRecord>> Registry::list_sessions(
    const std::optional<std::string>& stream_id) const {
  return store_.list_sessions(stream_id);
}

Status Registry::stop_session(const std::string& id, const Actor& actor) {
  if (!actor.manages_all) {
    auto found = store_.get_session(id);
    if (!found) return fail(found.error());
    if (!*found) return fail(Error::not_found("Session not found or expired"));
    if (auto ok = check_child_owner((*found)->stream_id, (*found)->owner, actor, "Session " + id);
        !ok) {
      return ok;
    }
  }
  auto removed = store_.remove_session(id);
  if (!removed) return fail(removed.error());
  if (!*removed) return fail(Error::not_found("Session not found or expired"));
  announce_session_ended(**removed, "stopped", "stopped");
  return {};
}

Status Registry::heartbeat_session(const std::string& id, std::optional<std::int64_t> bytes,
                                   const Actor& actor) {
  if (!actor.manages_all) {
    auto found = store_.get_session(id);
    if (!found) return fail(found.error());
    if (*found) {
      if (auto ok = check_child_owner((*found)->stream_id, (*found)->owner, actor, "Session " + id);
          !ok) {
        return ok;
      }
    }
  }
  auto touched = store_.touch_session(id, clock_.wall_now(), deadline(), bytes);
  if (!touched) return fail(touched.error());
  if (!*touched) {
    stats_.heartbeat_misses[idx(Kind::kSession)].fetch_add(1, std::memory_order_relaxed);
    return fail(Error::not_found("Session not found or expired"));
  }
  stats_.heartbeats[idx(Kind::kSession)].fetch_add(1, std::memory_order_relaxed);
  if (bytes) history_.session_bytes(id, *bytes);
  return {};
}

Result<std::vector<SessionHistoryRow>> Registry::session_history(const HistoryQuery& query) const {
  return history_.query_sessions(query);
}

// ---- multicast subscribers -------------------------------------------------------------------

Result<JoinResult> Registry::join(const std::string& stream_id, const JoinRequest& request,
                                  const Actor& actor) {
  auto view = store_.get_stream(stream_id);
  if (!view) return fail(view.error());
  if (!*view) return fail(Error::bad_request(kStreamGone));
  const auto& stream = (*view)->stream;
  if (!stream.is_multicast()) {
    return fail(
        Error::bad_request("Stream is not a multicast stream. Use /request for unicast streams."));
  }
  SubscriberRecord s;
  s.subscriber_id = new_uuid4();
  s.stream_id = stream.id;
  s.stream_name = stream.name;
  s.stream_type = stream.stream_type;
  s.publisher_id = stream.publisher_id;
  s.consumer_id = request.consumer_id;
  s.consumer_address = request.consumer_address;
  s.multicast_group = *stream.multicast_group;
  s.multicast_port = stream.multicast_port.value_or(0);
  s.metadata = request.metadata;
  s.owner = actor.owner;
  s.joined_at = s.last_heartbeat = clock_.wall_now();
  if (auto ok = store_.put_subscriber(s, deadline()); !ok) return fail(ok.error());
  history_.subscriber_joined(s);
  publish(events::kSubscriberJoined, events::subscriber_joined(s, s.joined_at));
  return JoinResult{s.subscriber_id, s.stream_id,       s.stream_name,    s.stream_type,
                    stream.protocol, s.multicast_group, s.multicast_port, stream.config};
}

Status Registry::leave(const std::string& stream_id, const std::string& subscriber_id,
                       const Actor& actor) {
  if (!actor.manages_all) {
    auto found = store_.get_subscriber(subscriber_id);
    if (!found) return fail(found.error());
    if (!*found) return fail(Error::not_found("Subscriber not found or expired"));
    if (auto ok = check_child_owner((*found)->stream_id, (*found)->owner, actor,
                                    "Subscriber " + subscriber_id);
        !ok) {
      return ok;
    }
  }
  auto removed = store_.remove_subscriber(subscriber_id);
  if (!removed) return fail(removed.error());
  if (!*removed) return fail(Error::not_found("Subscriber not found or expired"));
  announce_subscriber_left(**removed, "left", "left");
  return {};
}

Status Registry::heartbeat_subscriber(const std::string& id, const Actor& actor) {
  if (!actor.manages_all) {
    auto found = store_.get_subscriber(id);
    if (!found) return fail(found.error());
    if (*found) {
      if (auto ok =
              check_child_owner((*found)->stream_id, (*found)->owner, actor, "Subscriber " + id);
          !ok) {
        return ok;
      }
    }
  }
  auto touched = store_.touch_subscriber(id, clock_.wall_now(), deadline());
  if (!touched) return fail(touched.error());
  if (!*touched) {
    stats_.heartbeat_misses[idx(Kind::kSubscriber)].fetch_add(1, std::memory_order_relaxed);
    return fail(Error::not_found("Subscriber not found or expired"));
  }
  stats_.heartbeats[idx(Kind::kSubscriber)].fetch_add(1, std::memory_order_relaxed);
  return {};
}

Result<std::vector<SubscriberRecord>> Registry::list_subscribers(
    const std::optional<std::string>& stream_id) const {
  return store_.list_subscribers(stream_id);
}

Result<RegistrySnapshot> Registry::snapshot() const {
  auto streams = store_.list_streams(std::nullopt);
  if (!streams) return fail(streams.error());
  auto sessions = store_.list_sessions(std::nullopt);
  if (!sessions) return fail(sessions.error());
  auto types = store_.list_types();
  if (!types) return fail(types.error());
  auto subscribers = store_.list_subscribers(std::nullopt);
  if (!subscribers) return fail(subscribers.error());
  return RegistrySnapshot{std::move(*streams), std::move(*sessions), std::move(*types),
                          std::move(*subscribers)};
}

Result<std::size_t> Registry::expire_due() {
  auto taken = store_.take_expired(clock_.mono_now());
  if (!taken) return fail(taken.error());
  const ExpiredBatch& batch = *taken;
  std::size_t n = 0;
  for (const auto& removed : batch.streams) {
    spdlog::info("stream {} ({}) expired: no heartbeat for {}s", removed.stream.id,
                 removed.stream.name, ttl_s_.load());
    announce_stream_removed(removed, "expired", "stream_expired", "expired");
    stats_.expiries[idx(Kind::kStream)].fetch_add(1);
    stats_.expiries[idx(Kind::kSession)].fetch_add(removed.sessions.size());
    stats_.expiries[idx(Kind::kSubscriber)].fetch_add(removed.subscribers.size());
    n += 1 + removed.sessions.size() + removed.subscribers.size();
  }
  for (const auto& s : batch.sessions) {
    announce_session_ended(s, "expired", "expired");
    stats_.expiries[idx(Kind::kSession)].fetch_add(1);
    ++n;
  }
  for (const auto& s : batch.subscribers) {
    announce_subscriber_left(s, "expired", "expired");
    stats_.expiries[idx(Kind::kSubscriber)].fetch_add(1);
    ++n;
  }
  return n;
}

}  // namespace sluice::registry
