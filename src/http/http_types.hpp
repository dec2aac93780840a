#pragma once
// Transport-free HTTP types: routes and handlers see these, never Beast, so they compile fast and
// are testable without sockets. The net layer converts to and from the wire.
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "auth/identity.hpp"
#include "core/error.hpp"

namespace sluice::http {

// Replies at least this large are written within the server's reply budget (http-reply-budget,
// docs/operations.md "Limits").
inline constexpr std::size_t kLargeReplyBytes = 64 * 1024;

// The server's reply budget, lent to handlers so that one building a large body can ask for its
// bytes first and answer 503 without building it when they are not there. Thread-safe.
class ReplyBudget {
 public:
  virtual ~ReplyBudget() = default;
  // Takes `bytes` for a reply about to be built (counting and logging a refusal when they are not
  // there); the handler puts them in HttpResponse::reserved, and the server gives them back once
  // the reply is written.
  virtual bool try_take(std::size_t bytes) = 0;
  // Gives back bytes taken and not used.
  virtual void give(std::size_t bytes) = 0;
};

struct HttpRequest {
  std::string method;                                      // upper case, e.g. "GET"
  std::string path;                                        // percent-decoded, without the query
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order
  std::string body;
  std::string remote_address;
  std::string authorization;    // the Authorization header's value, empty when absent
  std::string origin;           // the Origin header's value, empty when absent
  std::string host;             // the Host header's value
  std::string forwarded_for;    // X-Forwarded-For, trusted only from --trusted-proxies
  std::string accept_encoding;  // the Accept-Encoding header's value (the console's gzip copies)

  // Filled by the Router's gate before the handler runs: who is asking, and whether it may act
  // on what others own.
  auth::Identity identity;
  bool manages_all = false;
  ReplyBudget* reply_budget = nullptr;  // null: the server applies the budget when it writes

  // The first value of query parameter `name`.
  std::optional<std::string> param(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::size_t reserved = 0;  // bytes the handler took from HttpRequest::reply_budget for `body`
};

// One server-sent event in the wire format: `event:` (when not empty), a `data:` line per line
// of `data`, a blank line. Sized exactly.
std::string sse_frame(std::string_view event, std::string_view data);

HttpResponse json_response(int status, std::string body);
HttpResponse error_response(const Error& e);
// 503 with Retry-After: the reply budget is held by large replies to other clients.
HttpResponse reply_budget_exhausted();

// The client end of a server-sent-events response, implemented by the connection.
class SseSink {
 public:
  virtual ~SseSink() = default;
  // Queues one event. Thread-safe and non-blocking: when the client reads too slowly the oldest
  // queued events are dropped and counted. Returns false once the client has gone.
  virtual bool send(std::string_view event, std::string_view data) = 0;
  // The same with an event already in the wire format (sse_frame), shared by pointer: one event
  // fanned out to many clients is then built once.
  virtual bool send_frame(std::shared_ptr<const std::string> frame) = 0;
  // Ends the stream from the server side.
  virtual void close() = 0;
};

// A handler's answer when it streams events: `start` is called once with the sink; what it
// returns (e.g. a hub subscription) is kept alive until the client disconnects.
// The same machinery streams other endless bodies whose parts may be dropped when a client falls
// behind (an MJPEG multipart stream): another `content_type` and no keepalive (0 ms) send the
// frames' bytes alone — no comments or drop notices in between.
struct EventStream {
  std::function<std::shared_ptr<void>(std::shared_ptr<SseSink>)> start;
  std::chrono::milliseconds keepalive{15000};  // 0: none
  // Sent every `keepalive`: an event (name, data) or, when name is empty, an SSE comment.
  std::function<std::pair<std::string, std::string>()> keepalive_event;
  std::string content_type = "text/event-stream";
};

// A handler's answer when the response comes later: `start` gets a thread-safe `respond` that
// must be called exactly once.
using Respond = std::function<void(HttpResponse)>;
struct Deferred {
  std::function<void(Respond)> start;
};

using Reply = std::variant<HttpResponse, Deferred, EventStream>;

}  // namespace sluice::http
