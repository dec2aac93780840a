#include "wire/control.hpp"

#include <boost/json/parse.hpp>

#include "core/json.hpp"
#include "core/json_text.hpp"
#include "hub/subject.hpp"

namespace sluice::wire {

namespace json = boost::json;

std::string_view to_string(Role role) {
  switch (role) {
    case Role::kPublish:
      return "publish";
    case Role::kSubscribe:
      return "subscribe";
    case Role::kRequest:
      return "request";
  }
  return "subscribe";
}

namespace {

json::object settings_json(const Settings& s) {
  return {{"stream_window", s.stream_window},
          {"connection_window", s.connection_window},
          {"max_frame", s.max_frame},
          {"max_message", s.max_message},
          {"lease_ms", s.lease_ms}};
}

// Missing fields keep their defaults; present ones must be in range.
void read_settings(FieldReader& r, Settings& s) {
  constexpr std::int64_t kMaxWindow = 0x7fffffff;
  if (auto v = r.integer("stream_window", false, 1024, kMaxWindow)) s.stream_window = *v;
  if (auto v = r.integer("connection_window", false, 1024, kMaxWindow)) s.connection_window = *v;
  if (auto v = r.integer("max_frame", false, 1024, 16 * 1024 * 1024)) s.max_frame = *v;
  if (auto v = r.integer("max_message", false, 1024, std::int64_t(1) << 40)) s.max_message = *v;
  if (auto v = r.integer("lease_ms", false, 1000, 3'600'000)) s.lease_ms = *v;
}

template <class T>
Result<T> finish(FieldReader& r, T value) {
  if (!r.ok()) return fail(Error::invalid(r.take_errors()));
  return value;
}

}  // namespace

std::string encode(const Hello& h) {
  json::object o{{"version", h.version}, {"client", h.client}};
  if (!h.mechanism.empty()) o["mechanism"] = h.mechanism;
  if (!h.user.empty()) o["user"] = h.user;
  if (!h.token.empty()) o["token"] = h.token;
  if (!h.auth_data.empty()) o["auth"] = h.auth_data;
  auto s = settings_json(h.settings);
  for (auto& kv : s)
    o[kv.key()] = kv.value();
  return to_json_text(o);
}

Result<Hello> decode_hello(std::string_view text) {
  auto parsed = parse_json_object(text);
  if (!parsed) return fail(parsed.error());
  FieldReader r(*parsed, {"hello"});
  Hello h;
  if (auto v = r.integer("version", true, 0, 255)) h.version = *v;
  if (auto v = r.string("client", false, 0, 256)) h.client = *v;
  if (auto v = r.string("mechanism", false, 0, 64)) h.mechanism = *v;
  if (auto v = r.string("user", false, 0, 256)) h.user = *v;
  if (auto v = r.string("token", false, 0, 4096)) h.token = *v;
  if (auto v = r.string("auth", false, 0, 4096)) h.auth_data = *v;
  read_settings(r, h.settings);
  return finish(r, std::move(h));
}

std::string encode(const Welcome& w) {
  json::object o{{"session", w.session}, {"server", w.server}};
  if (!w.auth_data.empty()) o["auth"] = w.auth_data;
  auto s = settings_json(w.settings);
  for (auto& kv : s)
    o[kv.key()] = kv.value();
  return to_json_text(o);
}

Result<Welcome> decode_welcome(std::string_view text) {
  auto parsed = parse_json_object(text);
  if (!parsed) return fail(parsed.error());
  FieldReader r(*parsed, {"welcome"});
  Welcome w;
  if (auto v = r.string("session", false, 0, 256)) w.session = *v;
  if (auto v = r.string("server", false, 0, 256)) w.server = *v;
  if (auto v = r.string("auth", false, 0, 4096)) w.auth_data = *v;
  read_settings(r, w.settings);
  return finish(r, std::move(w));
}

std::string encode_auth(std::string_view data) {
  return to_json_text(json::object{{"auth", data}});
}

Result<std::string> decode_auth(std::string_view text) {
  auto parsed = parse_json_object(text);
  if (!parsed) return fail(parsed.error());
  FieldReader r(*parsed, {"auth"});
  auto data = r.string("auth", true, 1, 4096);
  if (!r.ok()) return fail(Error::invalid(r.take_errors()));
  return *data;
}

std::string encode(const OpenRequest& o) {
  json::object j{{"channel", o.channel}, {"role", to_string(o.role)}, {"priority", o.priority}};
  switch (o.role) {
    case Role::kSubscribe:
      j["buffer_messages"] = o.buffer.max_messages;
      j["buffer_bytes"] = o.buffer.max_bytes;
      j["overflow"] = to_string(o.buffer.policy);
      j["max_stall_ms"] = o.buffer.max_stall.count();
      if (o.responder) j["responder"] = true;
      if (o.last_value) j["last_value"] = true;
      break;
    case Role::kPublish:
      if (o.keep_last_value) j["keep_last_value"] = true;
      if (!o.advertise) j["advertise"] = false;
      j["type"] = o.stream_type;
      if (!o.metadata.empty()) j["metadata"] = o.metadata;
      break;
    case Role::kRequest:
      j["timeout_ms"] = o.timeout_ms;
      break;
  }
  return to_json_text(j);
}

Result<OpenRequest> decode_open(std::string_view text) {
  auto parsed = parse_json_object(text);
  if (!parsed) return fail(parsed.error());
  FieldReader r(*parsed, {"open"});
  OpenRequest o;
  auto role = r.string("role", true, 1, 16);
  if (role) {
    if (*role == "publish")
      o.role = Role::kPublish;
    else if (*role == "subscribe")
      o.role = Role::kSubscribe;
    else if (*role == "request")
      o.role = Role::kRequest;
    else
      r.add_error("role", "role must be publish, subscribe or request", "enum");
  }
  if (auto v = r.string("channel", true, 1, 1024)) {
    o.channel = *v;
    bool valid = o.role == Role::kSubscribe ? hub::is_valid_pattern(o.channel)
                                            : hub::is_valid_subject(o.channel);
    if (!valid) {
      r.add_error("channel", o.role == Role::kSubscribe
                                 ? "invalid channel pattern: use '.'-separated tokens, '*' for "
                                   "one token and a final '>' for the rest"
                                 : "invalid channel name: use '.'-separated tokens without "
                                   "wildcards or spaces");
    }
  }
  if (auto v = r.integer("priority", false, 0, 1000)) o.priority = static_cast<std::uint16_t>(*v);
  if (auto v = r.integer("buffer_messages", false, 1, 1'000'000)) o.buffer.max_messages = *v;
  if (auto v = r.integer("buffer_bytes", false, 1024, std::int64_t(1) << 32))
    o.buffer.max_bytes = *v;
  if (auto v = r.string("overflow", false, 1, 32)) {
    if (auto p = parse_overflow_policy(*v))
      o.buffer.policy = *p;
    else
      r.add_error("overflow", "overflow must be drop-oldest, drop-newest, disconnect or block",
                  "enum");
  }
  if (auto v = r.integer("max_stall_ms", false, 0, 60'000))
    o.buffer.max_stall = std::chrono::milliseconds(*v);
  if (auto v = r.boolean("responder", false)) o.responder = *v;
  if (auto v = r.boolean("last_value", false)) o.last_value = *v;
  if (auto v = r.boolean("keep_last_value", false)) o.keep_last_value = *v;
  if (auto v = r.boolean("advertise", false)) o.advertise = *v;
  if (auto v = r.string("type", false, 1, 64)) o.stream_type = *v;
  if (auto v = r.object("metadata", false)) o.metadata = std::move(*v);
  if (auto v = r.integer("timeout_ms", false, 1, 600'000))
    o.timeout_ms = static_cast<std::uint32_t>(*v);
  return finish(r, std::move(o));
}

namespace {
std::optional<boost::json::object> parse_event(std::string_view json) {
  boost::system::error_code ec;
  auto v = boost::json::parse(json, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.get_object());
}
}  // namespace

std::optional<std::string> decode_closed_event(std::string_view json) {
  auto o = parse_event(json);
  if (!o) return std::nullopt;
  auto* event = o->if_contains("event");
  auto* channel = o->if_contains("channel");
  if (!event || !event->is_string() || event->get_string() != "closed" || !channel ||
      !channel->is_string()) {
    return std::nullopt;
  }
  return std::string(channel->get_string());
}

std::optional<SubscriptionEvent> decode_subscription_event(std::string_view json) {
  auto parsed = parse_event(json);
  if (!parsed) return std::nullopt;
  const auto& o = *parsed;
  auto text = [&o](const char* key) -> const boost::json::string* {
    auto* f = o.if_contains(key);
    return f && f->is_string() ? &f->get_string() : nullptr;
  };
  auto* event = text("event");
  if (!event || (*event != "subscribe" && *event != "unsubscribe")) return std::nullopt;
  SubscriptionEvent e;
  e.subscribed = *event == "subscribe";
  if (auto* p = text("pattern")) e.pattern = std::string(*p);
  if (auto* s = text("subscriber")) e.subscriber = std::string(*s);
  return e;
}

}  // namespace sluice::wire
