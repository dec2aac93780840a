#include "client/client.hpp"

#include "core/crypto.hpp"

#include <boost/json/parse.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <cctype>

#include "client/http_transport.hpp"
#include "core/json_text.hpp"
#include "core/time_format.hpp"

namespace sluice::client {
namespace json = boost::json;

namespace {

constexpr std::size_t kMaxDetailFromRawBody = 300;

std::string trim(std::string_view s) {
  auto is_space = [](unsigned char c) { return std::isspace(c) != 0; };
  while (!s.empty() && is_space(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && is_space(s.back()))
    s.remove_suffix(1);
  return std::string(s);
}

// Builds "path?k=v&k2=v2" from the set parameters.
class Query {
 public:
  explicit Query(std::string path) : target_(std::move(path)) {}
  Query& add(std::string_view key, const std::optional<std::string>& value) {
    if (value) append(key, *value);
    return *this;
  }
  Query& add(std::string_view key, const std::optional<int>& value) {
    if (value) append(key, std::to_string(*value));
    return *this;
  }
  Query& add(std::string_view key, const std::optional<WallTime>& value) {
    if (value) append(key, format_timestamp(*value));
    return *this;
  }
  const std::string& str() const { return target_; }

 private:
  void append(std::string_view key, std::string_view value) {
    target_ += first_ ? '?' : '&';
    first_ = false;
    target_ += url_encode(key);
    target_ += '=';
    target_ += url_encode(value);
  }
  std::string target_;
  bool first_ = true;
};

std::string stream_path(std::string_view id) {
  return "/streams/" + url_encode(id);
}

template <class T, class F>
Result<std::vector<T>> map_array(Result<json::array> array, F from_json) {
  if (!array) return fail(array.error());
  std::vector<T> out;
  out.reserve(array->size());
  for (const auto& item : *array) {
    if (item.is_object()) out.push_back(from_json(item.as_object()));
  }
  return out;
}

template <class T>
std::vector<T> objects_of(const json::object& o, std::string_view key,
                          T (*from_json)(const json::object&)) {
  std::vector<T> out;
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_array()) return out;
  for (const auto& item : it->value().as_array()) {
    if (item.is_object()) out.push_back(from_json(item.as_object()));
  }
  return out;
}

Status as_status(const Result<json::object>& r) {
  if (!r) return fail(r.error());
  return {};
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Free helpers

Result<BaseUrl> parse_base_url(std::string_view url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) {
    return fail(
        Error{0, "invalid server URL '" + std::string(url) + "': expected http://host:port", {}});
  }
  const auto& u = *parsed;
  if (u.scheme() != "http") {
    return fail(Error{
        0,
        "unsupported URL scheme '" + std::string(u.scheme()) + "' (only http:// is supported)",
        {}});
  }
  BaseUrl out;
  out.host = u.host_address();
  if (out.host.empty())
    return fail(Error{0, "server URL '" + std::string(url) + "' has no host", {}});
  out.port = u.has_port() ? std::string(u.port()) : "80";
  out.path_prefix = std::string(u.encoded_path());
  while (!out.path_prefix.empty() && out.path_prefix.back() == '/')
    out.path_prefix.pop_back();
  return out;
}

std::string url_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

std::string error_detail_from_body(std::string_view body, std::string_view fallback) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (!ec && v.is_object()) {
    const auto& o = v.as_object();
    if (auto it = o.find("detail"); it != o.end()) {
      const json::value& d = it->value();
      if (d.is_string()) return std::string(d.as_string());
      if (d.is_array() && !d.as_array().empty()) {
        const json::value& first = d.as_array().front();
        if (first.is_object()) {
          auto msg = first.as_object().find("msg");
          if (msg != first.as_object().end() && msg->value().is_string()) {
            return std::string(msg->value().as_string());
          }
        }
        return to_json_text(first);
      }
      if (!d.is_null()) return to_json_text(d);
    }
  }
  std::string raw = trim(body);
  if (raw.empty()) return std::string(fallback);
  if (raw.size() > kMaxDetailFromRawBody) raw = raw.substr(0, kMaxDetailFromRawBody) + "...";
  return raw;
}

std::chrono::milliseconds default_heartbeat_interval(Client& client,
                                                     std::chrono::milliseconds fallback) {
  auto health = client.health();
  if (!health) return fallback;
  auto it = health->find("stream_ttl_seconds");
  if (it == health->end() || !it->value().is_number()) return fallback;
  const double ttl = it->value().to_number<double>();
  if (!(ttl > 0)) return fallback;
  return std::chrono::milliseconds(static_cast<std::int64_t>(ttl * 1000.0 / 3.0));
}

// ---------------------------------------------------------------------------------------------
// Client: transport

Client::Client(std::string base_url)
    : base_url_(std::move(base_url)), transport_(std::make_unique<HttpTransport>(base_url_)) {}

Client::~Client() = default;

void Client::set_timeout(std::chrono::milliseconds timeout) {
  transport_->set_timeout(timeout);
}
std::chrono::milliseconds Client::timeout() const {
  return transport_->timeout();
}
void Client::set_bearer_token(std::string token) {
  transport_->set_bearer_token(std::move(token));
}

void Client::set_basic_auth(const std::string& user, const std::string& password) {
  transport_->set_authorization("Basic " + crypto::base64_encode(user + ":" + password));
}

Result<HttpResponse> Client::request(std::string_view method, std::string_view target,
                                     std::string_view body) {
  auto raw = transport_->send(method, target, body, "application/json");
  if (!raw) return fail(raw.error());
  if (raw->status < 200 || raw->status > 299) {
    const std::string fallback =
        raw->reason.empty() ? "HTTP " + std::to_string(raw->status) : raw->reason;
    return fail(Error{raw->status, error_detail_from_body(raw->body, fallback), {}});
  }
  return HttpResponse{raw->status, std::move(raw->content_type), std::move(raw->body)};
}

Result<json::value> Client::request_json(std::string_view method, std::string_view target,
                                         const std::optional<json::value>& body) {
  const std::string text = body ? to_json_text(*body) : std::string();
  auto res = request(method, target, text);
  if (!res) return fail(res.error());
  if (res->body.empty()) return json::value(nullptr);
  boost::system::error_code ec;
  json::value v = json::parse(res->body, ec);
  if (ec) {
    return fail(Error{res->status, "invalid JSON from sluiced: " + ec.message(), {}});
  }
  return v;
}

Result<json::object> Client::request_object(std::string_view method, std::string_view target,
                                            const std::optional<json::value>& body) {
  auto v = request_json(method, target, body);
  if (!v) return fail(v.error());
  if (!v->is_object()) return fail(Error{200, "expected a JSON object from sluiced", {}});
  return std::move(v->as_object());
}

Result<json::array> Client::request_array(std::string_view method, std::string_view target) {
  auto v = request_json(method, target);
  if (!v) return fail(v.error());
  if (!v->is_array()) return fail(Error{200, "expected a JSON array from sluiced", {}});
  return std::move(v->as_array());
}

// ---------------------------------------------------------------------------------------------
// Client: registry

Result<RegistryState> Client::get_state() {
  auto o = request_object("GET", "/streams/state");
  if (!o) return fail(o.error());
  RegistryState state;
  state.streams = objects_of(*o, "streams", &registry::stream_from_json);
  state.sessions = objects_of(*o, "sessions", &registry::session_from_json);
  state.stream_types = objects_of(*o, "stream_types", &registry::type_from_json);
  state.subscribers = objects_of(*o, "subscribers", &registry::subscriber_from_json);
  return state;
}

Result<std::vector<StreamTypeRecord>> Client::list_types() {
  return map_array<StreamTypeRecord>(request_array("GET", "/streams/types"),
                                     registry::type_from_json);
}

Result<StreamTypeRecord> Client::create_type(const StreamTypeSpec& spec) {
  auto o = request_object("POST", "/streams/types", json::value(registry::to_json(spec)));
  if (!o) return fail(o.error());
  return registry::type_from_json(*o);
}

Result<StreamTypeRecord> Client::update_type(std::string_view name, const StreamTypeSpec& spec) {
  auto o = request_object("PUT", "/streams/types/" + url_encode(name),
                          json::value(registry::to_json(spec)));
  if (!o) return fail(o.error());
  return registry::type_from_json(*o);
}

Status Client::delete_type(std::string_view name) {
  return as_status(request_object("DELETE", "/streams/types/" + url_encode(name)));
}

// ---------------------------------------------------------------------------------------------
// Client: streams

Result<std::vector<StreamView>> Client::list_streams(std::optional<std::string> stream_type) {
  return map_array<StreamView>(
      request_array("GET", Query("/streams").add("stream_type", stream_type).str()),
      registry::stream_from_json);
}

Result<StreamView> Client::get_stream(std::string_view stream_id) {
  auto o = request_object("GET", stream_path(stream_id));
  if (!o) return fail(o.error());
  return registry::stream_from_json(*o);
}

Result<StreamView> Client::advertise(const AdvertiseRequest& request) {
  auto o = request_object("POST", "/streams/advertise", json::value(registry::to_json(request)));
  if (!o) return fail(o.error());
  return registry::stream_from_json(*o);
}

Status Client::withdraw(std::string_view stream_id) {
  return as_status(request_object("DELETE", stream_path(stream_id)));
}

Status Client::heartbeat(std::string_view stream_id) {
  return as_status(request_object("POST", stream_path(stream_id) + "/heartbeat"));
}

// ---------------------------------------------------------------------------------------------
// Client: unicast sessions

Result<StreamOffer> Client::request_stream(std::string_view stream_id,
                                           const StreamRequest& request) {
  auto o = request_object("POST", stream_path(stream_id) + "/request",
                          json::value(registry::to_json(request)));
  if (!o) return fail(o.error());
  return registry::offer_from_json(*o);
}

Result<std::vector<SessionRecord>> Client::list_sessions(std::optional<std::string> stream_id) {
  return map_array<SessionRecord>(
      request_array("GET", Query("/streams/sessions").add("stream_id", stream_id).str()),
      registry::session_from_json);
}

Result<std::vector<SessionHistoryRow>> Client::session_history(const HistoryFilter& filter) {
  Query q("/streams/sessions/history");
  q.add("stream_id", filter.stream_id)
      .add("publisher_id", filter.publisher_id)
      .add("consumer_id", filter.consumer_id)
      .add("since", filter.since)
      .add("until", filter.until)
      .add("offset", filter.offset)
      .add("limit", filter.limit);
  return map_array<SessionHistoryRow>(request_array("GET", q.str()), registry::history_from_json);
}

Status Client::stop_session(std::string_view session_id) {
  return as_status(request_object("DELETE", "/streams/sessions/" + url_encode(session_id)));
}

Status Client::session_heartbeat(std::string_view session_id,
                                 std::optional<std::int64_t> bytes_transferred) {
  std::optional<json::value> body;
  if (bytes_transferred) body = json::object{{"bytes_transferred", *bytes_transferred}};
  return as_status(
      request_object("POST", "/streams/sessions/" + url_encode(session_id) + "/heartbeat", body));
}

// ---------------------------------------------------------------------------------------------
// Client: multicast subscribers

Result<JoinResult> Client::join(std::string_view stream_id, const JoinRequest& request) {
  auto o = request_object("POST", stream_path(stream_id) + "/join",
                          json::value(registry::to_json(request)));
  if (!o) return fail(o.error());
  return registry::join_from_json(*o);
}

Status Client::leave(std::string_view stream_id, std::string_view subscriber_id) {
  return as_status(
      request_object("DELETE", stream_path(stream_id) + "/leave/" + url_encode(subscriber_id)));
}

Status Client::subscriber_heartbeat(std::string_view subscriber_id) {
  return as_status(
      request_object("POST", "/streams/subscribers/" + url_encode(subscriber_id) + "/heartbeat"));
}

Result<std::vector<SubscriberRecord>> Client::list_subscribers(
    std::optional<std::string> stream_id) {
  return map_array<SubscriberRecord>(
      request_array("GET", Query("/streams/subscribers").add("stream_id", stream_id).str()),
      registry::subscriber_from_json);
}

Result<std::vector<SubscriberRecord>> Client::stream_subscribers(std::string_view stream_id) {
  return map_array<SubscriberRecord>(request_array("GET", stream_path(stream_id) + "/subscribers"),
                                     registry::subscriber_from_json);
}

// ---------------------------------------------------------------------------------------------
// Client: operations

Result<json::object> Client::health() {
  return request_object("GET", "/health");
}

}  // namespace sluice::client
