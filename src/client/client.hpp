#pragma once
// sluice::client::Client — a blocking C++ client for the sluice / Maestra Streams HTTP API.
//
// Every endpoint is a typed method returning Result<T> (std::expected<T, sluice::Error>); nothing
// throws across this API. On failure Error.status is the HTTP status the daemon answered, or 0
// when no answer was received (cannot connect, connection lost, timeout, bad base URL); detail is
// the server's `{"detail": ...}` text (for validation lists, the first item's msg) or a sentence
// describing the transport failure.
//
// Transport: HTTP/1.1 over one kept-alive TCP connection, opened lazily and re-opened
// transparently when the server closed it between calls. Each call has a deadline (default 10 s,
// see set_timeout) covering connect, write and read.
//
// Threads: all methods may be called from any thread; calls on one Client are serialised by an
// internal mutex (one request in flight per Client). The Client must outlive the helpers
// (StreamPublisher, StreamConsumer, MulticastConsumer) that borrow it.
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "registry/model.hpp"

namespace sluice::client {

using registry::AdvertiseRequest;
using registry::JoinRequest;
using registry::JoinResult;
using registry::SessionHistoryRow;
using registry::SessionRecord;
using registry::StreamOffer;
using registry::StreamRequest;
using registry::StreamTypeRecord;
using registry::StreamTypeSpec;
using registry::StreamView;
using registry::SubscriberRecord;

inline constexpr std::string_view kDefaultBaseUrl = "http://127.0.0.1:8080";
inline constexpr std::chrono::milliseconds kDefaultTimeout{10'000};

// GET /streams/state.
struct RegistryState {
  std::vector<StreamView> streams;
  std::vector<SessionRecord> sessions;
  std::vector<StreamTypeRecord> stream_types;
  std::vector<SubscriberRecord> subscribers;
};

// Query of GET /streams/sessions/history; unset fields are not sent.
struct HistoryFilter {
  std::optional<std::string> stream_id;
  std::optional<std::string> publisher_id;
  std::optional<std::string> consumer_id;
  std::optional<WallTime> since;
  std::optional<WallTime> until;
  std::optional<int> offset;
  std::optional<int> limit;
};

// A raw 2xx answer of Client::request.
struct HttpResponse {
  int status = 0;
  std::string content_type;
  std::string body;
};

// The (scheme-less) parts of a base URL such as "http://host:8080/prefix".
struct BaseUrl {
  std::string host;
  std::string port;         // decimal text, "80" when the URL has none
  std::string path_prefix;  // "" or "/prefix" (no trailing slash)
};

// Parses an "http://host[:port][/prefix]" base URL. https is not supported (status-0 error).
Result<BaseUrl> parse_base_url(std::string_view url);

// Percent-encodes one path segment or query value (everything but RFC 3986 unreserved chars).
std::string url_encode(std::string_view text);

// "detail" of an error body: the string, or the first list item's "msg"; falls back to the raw
// body text (trimmed, truncated) or `fallback` when the body is empty.
std::string error_detail_from_body(std::string_view body, std::string_view fallback);

class HttpTransport;

class Client {
 public:
  explicit Client(std::string base_url = std::string(kDefaultBaseUrl));
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const std::string& base_url() const { return base_url_; }

  // Deadline of each later call (connect + write + read). Thread-safe.
  void set_timeout(std::chrono::milliseconds timeout);
  std::chrono::milliseconds timeout() const;
  // Sends "Authorization: Bearer <token>" with every later call (e.g. sluiced's admin-token for
  // /keys); empty removes it. Thread-safe.
  void set_bearer_token(std::string token);
  // Sends "Authorization: Basic …" (a sluiced user) with every later call. Thread-safe.
  void set_basic_auth(const std::string& user, const std::string& password);

  // --- Registry ---
  Result<RegistryState> get_state();
  Result<std::vector<StreamTypeRecord>> list_types();
  Result<StreamTypeRecord> create_type(const StreamTypeSpec& spec);
  Result<StreamTypeRecord> update_type(std::string_view name, const StreamTypeSpec& spec);
  Status delete_type(std::string_view name);

  // --- Streams ---
  Result<std::vector<StreamView>> list_streams(std::optional<std::string> stream_type = {});
  Result<StreamView> get_stream(std::string_view stream_id);
  Result<StreamView> advertise(const AdvertiseRequest& request);
  Status withdraw(std::string_view stream_id);
  Status heartbeat(std::string_view stream_id);

  // --- Unicast sessions ---
  // 200 offer; 404 = stream unknown or publisher rejected (detail = reason); 504 = no publisher
  // answered; 400 = multicast stream.
  Result<StreamOffer> request_stream(std::string_view stream_id, const StreamRequest& request);
  Result<std::vector<SessionRecord>> list_sessions(std::optional<std::string> stream_id = {});
  Result<std::vector<SessionHistoryRow>> session_history(const HistoryFilter& filter = {});
  Status stop_session(std::string_view session_id);
  Status session_heartbeat(std::string_view session_id,
                           std::optional<std::int64_t> bytes_transferred = {});

  // --- Multicast subscribers ---
  Result<JoinResult> join(std::string_view stream_id, const JoinRequest& request);
  Status leave(std::string_view stream_id, std::string_view subscriber_id);
  Status subscriber_heartbeat(std::string_view subscriber_id);
  Result<std::vector<SubscriberRecord>> list_subscribers(std::optional<std::string> stream_id = {});
  Result<std::vector<SubscriberRecord>> stream_subscribers(std::string_view stream_id);

  // --- Operations ---
  Result<boost::json::object> health();

  // Raw call for anything else. `target` is the path with query (e.g. "/metrics"); a non-empty
  // body is sent as application/json. Non-2xx answers are errors.
  Result<HttpResponse> request(std::string_view method, std::string_view target,
                               std::string_view body = {});
  // Same, with JSON in and out (body omitted when nullopt).
  Result<boost::json::value> request_json(std::string_view method, std::string_view target,
                                          const std::optional<boost::json::value>& body = {});

 private:
  Result<boost::json::object> request_object(std::string_view method, std::string_view target,
                                             const std::optional<boost::json::value>& body = {});
  Result<boost::json::array> request_array(std::string_view method, std::string_view target);

  std::string base_url_;
  std::unique_ptr<HttpTransport> transport_;
};

// Helper: the stream TTL advertised by GET /health (`stream_ttl_seconds`), divided by 3, or
// `fallback` when the daemon does not say. Used as the default heartbeat interval of helpers.
std::chrono::milliseconds default_heartbeat_interval(
    Client& client, std::chrono::milliseconds fallback = std::chrono::seconds(10));

}  // namespace sluice::client
