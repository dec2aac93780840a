#include "redis/redis_store.hpp"

#include <algorithm>
#include <tuple>

#include "core/time_format.hpp"
#include "redis/record_codec.hpp"
#include "redis/redis_store_detail.hpp"
#include "redis/store_scripts.hpp"

namespace sluice::redis {

using namespace registry;
using detail::append_pairs;
using detail::hash_of;

RedisStore::RedisStore(const Endpoint& endpoint, const Clock& clock, RedisStoreOptions options)
    : endpoint_(endpoint), clock_(clock), options_(options) {
  for (std::size_t i = 0; i < std::max<std::size_t>(1, options_.connections); ++i) {
    clients_.push_back(std::make_unique<RedisClient>(endpoint_, options_.client));
  }
}

RedisClient& RedisStore::client() const {
  return *clients_[next_client_.fetch_add(1, std::memory_order_relaxed) % clients_.size()];
}

Error RedisStore::broken(const std::string& what) const {
  return Error{502, "Redis " + endpoint_.to_string() + ": " + what, {}};
}

Result<Reply> RedisStore::run(const Script& script, std::vector<std::string> keys,
                              std::vector<std::string> args) const {
  auto reply = note(client().eval(script, keys, args));
  if (!reply) return reply;
  if (reply->error()) return fail(broken("script failed: " + reply->str));
  return reply;
}

Result<Reply> RedisStore::call(std::vector<std::string> args) const {
  auto reply = note(client().command(args));
  if (!reply) return reply;
  if (reply->error()) return fail(broken(args.front() + " failed: " + reply->str));
  return reply;
}

std::string RedisStore::ttl_ms(MonoTime deadline) const {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_.mono_now());
  return std::to_string(std::max<long long>(0, left.count()));
}

std::string RedisStore::problem() const {
  for (const auto& c : clients_) {
    if (!c->healthy() && !c->last_error().empty()) {
      return "Redis " + endpoint_.to_string() + " unreachable: " + c->last_error();
    }
  }
  return {};
}

// ---- streams ---------------------------------------------------------------------------------

namespace {

// {hash, sessions, subscribers} from get_stream/list_streams.
Result<StreamView> view_of(const Reply& r) {
  if (r.elements.size() != 3) return fail(Error{502, "unexpected stream reply", {}});
  auto stream = stream_from_hash(hash_of(r.elements[0]));
  if (!stream) return fail(stream.error());
  return StreamView{std::move(*stream), static_cast<std::size_t>(r.elements[1].integer),
                    static_cast<std::size_t>(r.elements[2].integer)};
}

// {hash, {session hashes}, {subscriber hashes}} from remove_stream/take_expired.
Result<RemovedStream> removed_of(const Reply& r) {
  if (r.elements.size() != 3) return fail(Error{502, "unexpected removal reply", {}});
  RemovedStream out;
  auto stream = stream_from_hash(hash_of(r.elements[0]));
  if (!stream) return fail(stream.error());
  out.stream = std::move(*stream);
  // A child that no longer parses is still gone; it is left out of the announcement.
  for (const auto& h : r.elements[1].elements) {
    if (auto s = session_from_hash(hash_of(h))) out.sessions.push_back(std::move(*s));
  }
  for (const auto& h : r.elements[2].elements) {
    if (auto s = subscriber_from_hash(hash_of(h))) out.subscribers.push_back(std::move(*s));
  }
  return out;
}

template <class T, class Parse>
Result<std::vector<T>> parse_all(const Reply& r, Parse parse) {
  std::vector<T> out;
  out.reserve(r.elements.size());
  for (const auto& h : r.elements) {
    auto item = parse(hash_of(h));
    if (!item) return fail(item.error());
    out.push_back(std::move(*item));
  }
  return out;
}

}  // namespace

Status RedisStore::put_stream(const StreamRecord& stream, MonoTime deadline) {
  std::vector<std::string> args{stream.id, stream.stream_type, ttl_ms(deadline),
                                std::to_string(options_.grace.count())};
  append_pairs(args, to_hash(stream));
  auto r = run(scripts::put_stream(), {stream_key(stream.id)}, std::move(args));
  if (!r) return fail(r.error());
  return {};
}

Result<std::optional<StreamView>> RedisStore::get_stream(const std::string& id) const {
  auto r = run(scripts::get_stream(), {}, {id});
  if (!r) return fail(r.error());
  if (r->elements.empty() || r->elements[0].elements.empty()) return std::nullopt;
  auto view = view_of(*r);
  if (!view) return fail(broken(view.error().detail));
  return std::optional<StreamView>(std::move(*view));
}

Result<std::vector<StreamView>> RedisStore::list_streams(
    const std::optional<std::string>& type) const {
  auto r = run(scripts::list_streams(), {},
               {type ? streams_by_type_key(*type) : std::string(kAllStreams)});
  if (!r) return fail(r.error());
  std::vector<StreamView> out;
  out.reserve(r->elements.size());
  for (const auto& e : r->elements) {
    auto view = view_of(e);
    if (!view) return fail(broken(view.error().detail));
    out.push_back(std::move(*view));
  }
  sort_for_listing(out);
  return out;
}

Result<std::optional<TouchedStream>> RedisStore::touch_stream(const std::string& id, WallTime now,
                                                              MonoTime deadline) {
  auto r = run(scripts::touch_stream(), {stream_key(id)},
               {ttl_ms(deadline), std::to_string(options_.grace.count()), format_timestamp(now)});
  if (!r) return fail(r.error());
  if (r->nil()) return std::nullopt;
  auto stream = stream_from_hash(hash_of(*r));
  if (!stream) return fail(broken(stream.error().detail));
  std::string type = stream->stream_type;
  return std::optional<TouchedStream>(TouchedStream{std::move(type), std::move(*stream)});
}

Result<std::optional<RemovedStream>> RedisStore::remove_stream(const std::string& id) {
  auto r = run(scripts::remove_stream(), {}, {id});
  if (!r) return fail(r.error());
  if (r->nil()) return std::nullopt;
  auto removed = removed_of(*r);
  if (!removed) return fail(broken(removed.error().detail));
  return std::optional<RemovedStream>(std::move(*removed));
}

// ---- sessions and subscribers ----------------------------------------------------------------

Status RedisStore::put_session(const SessionRecord& session, MonoTime deadline) {
  std::vector<std::string> args{"session", session.session_id, session.stream_id, ttl_ms(deadline),
                                std::to_string(options_.grace.count())};
  append_pairs(args, to_hash(session));
  auto r = run(scripts::put_child(), {session_key(session.session_id)}, std::move(args));
  if (!r) return fail(r.error());
  if (r->integer == 0) return fail(Error::not_found("Stream not found or expired"));
  return {};
}

Result<std::optional<SessionRecord>> RedisStore::get_session(const std::string& id) const {
  auto r = call({"HGETALL", session_key(id)});
  if (!r) return fail(r.error());
  if (r->elements.empty()) return std::nullopt;
  auto s = session_from_hash(hash_of(*r));
  if (!s) return fail(broken(s.error().detail));
  return std::optional<SessionRecord>(std::move(*s));
}

Result<std::vector<SessionRecord>> RedisStore::list_sessions(
    const std::optional<std::string>& stream_id) const {
  auto r =
      run(scripts::list_hashes(), {},
          {stream_id ? sessions_by_stream_key(*stream_id) : std::string(kAllSessions), "session:"});
  if (!r) return fail(r.error());
  auto out = parse_all<SessionRecord>(*r, session_from_hash);
  if (!out) return fail(broken(out.error().detail));
  sort_for_listing(*out);
  return out;
}

Result<std::optional<SessionRecord>> RedisStore::touch_session(const std::string& id, WallTime now,
                                                               MonoTime deadline,
                                                               std::optional<std::int64_t> bytes) {
  auto r = run(scripts::touch_session(), {session_key(id)},
               {ttl_ms(deadline), std::to_string(options_.grace.count()), format_timestamp(now),
                bytes ? std::to_string(*bytes) : std::string()});
  if (!r) return fail(r.error());
  if (r->nil()) return std::nullopt;
  auto s = session_from_hash(hash_of(*r));
  if (!s) return fail(broken(s.error().detail));
  return std::optional<SessionRecord>(std::move(*s));
}

Result<std::optional<SessionRecord>> RedisStore::remove_session(const std::string& id) {
  auto r = run(scripts::remove_child(), {}, {"session", id});
  if (!r) return fail(r.error());
  if (r->nil()) return std::nullopt;
  auto s = session_from_hash(hash_of(*r));
  if (!s) return fail(broken(s.error().detail));
  return std::optional<SessionRecord>(std::move(*s));
}

Status RedisStore::put_subscriber(const SubscriberRecord& subscriber, MonoTime deadline) {
  std::vector<std::string> args{"subscriber", subscriber.subscriber_id, subscriber.stream_id,
                                ttl_ms(deadline), std::to_string(options_.grace.count())};
  append_pairs(args, to_hash(subscriber));
  auto r = run(scripts::put_child(), {subscriber_key(subscriber.subscriber_id)}, std::move(args));
  if (!r) return fail(r.error());
  if (r->integer == 0) return fail(Error::bad_request("Stream not found or expired"));
  return {};
}

Result<std::vector<SubscriberRecord>> RedisStore::list_subscribers(
    const std::optional<std::string>& stream_id) const {
  auto r = run(scripts::list_hashes(), {},
               {stream_id ? subscribers_by_stream_key(*stream_id) : std::string(kAllSubscribers),
                "subscriber:"});
  if (!r) return fail(r.error());
  auto out = parse_all<SubscriberRecord>(*r, subscriber_from_hash);
  if (!out) return fail(broken(out.error().detail));
  sort_for_listing(*out);
  return out;
}

Result<bool> RedisStore::touch_subscriber(const std::string& id, WallTime now, MonoTime deadline) {
  auto r = run(scripts::touch_subscriber(), {subscriber_key(id)},
               {ttl_ms(deadline), std::to_string(options_.grace.count()), format_timestamp(now)});
  if (!r) return fail(r.error());
  return r->integer == 1;
}

Result<std::optional<SubscriberRecord>> RedisStore::remove_subscriber(const std::string& id) {
  auto r = run(scripts::remove_child(), {}, {"subscriber", id});
  if (!r) return fail(r.error());
  if (r->nil()) return std::nullopt;
  auto s = subscriber_from_hash(hash_of(*r));
  if (!s) return fail(broken(s.error().detail));
  return std::optional<SubscriberRecord>(std::move(*s));
}

Result<std::optional<SubscriberRecord>> RedisStore::get_subscriber(const std::string& id) const {
  auto r = call({"HGETALL", subscriber_key(id)});
  if (!r) return fail(r.error());
  if (r->elements.empty()) return std::nullopt;
  auto s = subscriber_from_hash(hash_of(*r));
  if (!s) return fail(broken(s.error().detail));
  return std::optional<SubscriberRecord>(std::move(*s));
}

// ---- owner bindings --------------------------------------------------------------------------

Result<std::string> RedisStore::bind_owner(const std::string& stream_id, const std::string& owner) {
  auto set = call({"HSETNX", std::string(kOwners), stream_id, owner});
  if (!set) return fail(set.error());
  if (set->integer == 1) return owner;
  auto bound = get_owner(stream_id);
  if (!bound) return fail(bound.error());
  return bound->value_or(owner);
}

Result<std::optional<std::string>> RedisStore::get_owner(const std::string& stream_id) const {
  auto r = call({"HGET", std::string(kOwners), stream_id});
  if (!r) return fail(r.error());
  if (r->nil()) return std::nullopt;
  return std::optional<std::string>(r->str);
}

Result<std::size_t> RedisStore::count_owned_streams(const std::string& owner) const {
  auto r = run(scripts::count_owned_streams(), {}, {owner});
  if (!r) return fail(r.error());
  return static_cast<std::size_t>(std::max<long long>(r->integer, 0));
}

Status RedisStore::release_owner(const std::string& stream_id) {
  auto r = call({"HDEL", std::string(kOwners), stream_id});
  if (!r) return fail(r.error());
  return {};
}

// ---- expiry and counts -----------------------------------------------------------------------

Result<ExpiredBatch> RedisStore::take_expired(MonoTime) {
  ExpiredBatch batch;
  // Several rounds when many records fall due together; bounded so one sweep stays short.
  for (int round = 0; round < 10; ++round) {
    auto r = run(scripts::take_expired(), {}, {std::to_string(options_.expiry_batch)});
    if (!r) {
      if (!batch.empty()) break;  // hand over what was taken: it is gone from Redis already
      return fail(r.error());
    }
    for (const auto& item : r->elements) {
      if (item.elements.size() != 2) continue;
      const std::string& kind = item.elements[0].str;
      const Reply& body = item.elements[1];
      if (kind == "stream") {
        if (auto removed = removed_of(body)) batch.streams.push_back(std::move(*removed));
      } else if (kind == "session") {
        if (auto s = session_from_hash(hash_of(body))) batch.sessions.push_back(std::move(*s));
      } else if (kind == "subscriber") {
        if (auto s = subscriber_from_hash(hash_of(body))) {
          batch.subscribers.push_back(std::move(*s));
        }
      }
    }
    if (r->elements.size() < options_.expiry_batch) break;
  }
  return batch;
}

Result<TypeCounts> RedisStore::counts() const {
  auto r = run(scripts::counts(), {}, {});
  if (!r) return fail(r.error());
  TypeCounts c;
  for (const auto& item : r->elements) {
    if (item.elements.size() != 3) continue;
    const std::string& kind = item.elements[0].str;
    auto& target = kind == "stream" ? c.streams : kind == "session" ? c.sessions : c.subscribers;
    target[item.elements[1].str] = static_cast<std::size_t>(item.elements[2].integer);
  }
  return c;
}

// ---- types -----------------------------------------------------------------------------------

Result<std::vector<StreamTypeRecord>> RedisStore::list_types() const {
  auto r = run(scripts::list_hashes(), {}, {std::string(kAllTypes), "sluice:type:"});
  if (!r) return fail(r.error());
  auto out = parse_all<StreamTypeRecord>(*r, type_from_hash);
  if (!out) return fail(broken(out.error().detail));
  sort_for_listing(*out);
  return out;
}

Result<std::optional<StreamTypeRecord>> RedisStore::get_type(const std::string& name) const {
  auto r = call({"HGETALL", type_key(name)});
  if (!r) return fail(r.error());
  if (r->elements.empty()) return std::nullopt;
  auto t = type_from_hash(hash_of(*r));
  if (!t) return fail(broken(t.error().detail));
  return std::optional<StreamTypeRecord>(std::move(*t));
}

Status RedisStore::insert_type(const StreamTypeRecord& type) {
  std::vector<std::string> args{type.name, "insert"};
  append_pairs(args, to_hash(type));
  auto r = run(scripts::put_type(), {type_key(type.name)}, std::move(args));
  if (!r) return fail(r.error());
  if (r->integer == 0) {
    return fail(Error::conflict("Stream type '" + type.name + "' already exists"));
  }
  return {};
}

Status RedisStore::replace_type(const StreamTypeRecord& type) {
  std::vector<std::string> args{type.name, "replace"};
  append_pairs(args, to_hash(type));
  auto r = run(scripts::put_type(), {type_key(type.name)}, std::move(args));
  if (!r) return fail(r.error());
  return {};
}

Status RedisStore::remove_type(const std::string& name) {
  auto r = run(scripts::remove_type(), {type_key(name)}, {name});
  if (!r) return fail(r.error());
  if (r->integer < 0) return fail(Error::not_found("Stream type '" + name + "' not found"));
  if (r->integer > 0) {
    return fail(Error::conflict("Stream type '" + name + "' is used by " +
                                std::to_string(r->integer) + " live stream(s)"));
  }
  return {};
}

}  // namespace sluice::redis
