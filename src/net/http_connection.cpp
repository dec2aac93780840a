// One HTTP/1.1 client connection: reads requests one at a time, routes them, writes responses,
// and turns into a server-sent-event stream or a WebSocket when a route asks for it.
// Everything runs on the connection's strand; producers on other threads only post to it.
// Deadlines (docs/operations.md, "Limits"): a request's headers within header_timeout of its
// first byte (of the connection, for the first request), the next request of a keep-alive
// connection within idle_timeout, and every write accepted within write_timeout.
#include <spdlog/spdlog.h>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <optional>

#include "core/json.hpp"
#include "http/gate.hpp"
#include "http/metrics.hpp"
#include "http/request_target.hpp"
#include "http/router.hpp"
#include "net/outbox.hpp"
#include "net/server_impl.hpp"

namespace sluice::net {
namespace {

constexpr std::size_t kHeaderLimit = 16 * 1024;
constexpr std::size_t kFirstRead = 4096;
constexpr std::size_t kLingerBytes = 8 << 20;  // of a refused body read and dropped, at most
constexpr auto kLingerTime =
    std::chrono::seconds(2);  // the first read of a keep-alive connection's request

// `/wire`, optionally with a query string: the relay's WebSocket endpoint.
bool is_wire_target(std::string_view target) {
  return target == "/wire" || target.starts_with("/wire?");
}

// `/mqtt`, optionally with a query string: MQTT over WebSockets.
bool is_mqtt_target(std::string_view target) {
  return target == "/mqtt" || target.starts_with("/mqtt?");
}

// `/live/NAME.flv`, optionally with a query string: an HTTP-FLV player for the media thread.
bool is_flv_target(std::string_view target) {
  const std::string_view path = target.substr(0, target.find('?'));
  return path.starts_with("/live/") && path.ends_with(".flv") && path.size() > 10;
}

class HttpConnection;

// The SseSink handed to event sources; forwards to the connection without keeping it alive.
class SseSinkImpl final : public http::SseSink {
 public:
  explicit SseSinkImpl(std::weak_ptr<HttpConnection> conn) : conn_(std::move(conn)) {}
  bool send(std::string_view event, std::string_view data) override;
  bool send_frame(std::shared_ptr<const std::string> frame) override;
  void close() override;

 private:
  std::weak_ptr<HttpConnection> conn_;
};

class HttpConnection final : public Closable, public std::enable_shared_from_this<HttpConnection> {
 public:
  // `peer`: the client's address when the socket cannot tell it (a connection adopted from the
  // HTTPS front door, whose slot is under that address); empty: a plain TCP client.
  HttpConnection(std::shared_ptr<HttpServer::Impl> server, tcp::socket socket, ConnectionSlot slot,
                 const std::string& peer)
      : server_(std::move(server)),
        stream_(std::move(socket)),
        slot_(std::move(slot)),
        remote_address_(slot_.address()),
        secure_(!peer.empty()),
        keepalive_timer_(stream_.get_executor()) {}

  ~HttpConnection() override {
    server_->stats.connections_open.fetch_sub(1, std::memory_order_relaxed);
    if (outbox_) {
      server_->stats.event_streams_open.fetch_sub(1, std::memory_order_relaxed);
      server_->close_event_client();
    }
    release_reply();
  }

  void start() {
    server_->stats.connections_open.fetch_add(1, std::memory_order_relaxed);
    server_->track(shared_from_this());
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read(); });
  }

  void close() override {
    asio::post(stream_.get_executor(), [self = shared_from_this()] { self->shutdown(); });
  }

  // ---- SSE producer side (any thread) ----
  bool sse_send(std::string_view event, std::string_view data) {
    if (!outbox_ || outbox_->closed()) return false;
    return sse_send_frame(std::make_shared<const std::string>(http::sse_frame(event, data)));
  }
  bool sse_send_frame(Outbox::Frame frame) {
    if (!outbox_ || outbox_->closed()) return false;
    auto pushed = outbox_->push(std::move(frame));
    if (pushed.over_budget) refused_by_event_budget();
    if (pushed.start_writer) {
      asio::post(stream_.get_executor(), [self = shared_from_this()] { self->sse_write(); });
    }
    return true;
  }

 private:
  // The next request. The first one's headers must arrive within header_timeout of the
  // connection; later ones may be waited for idle_timeout, then have header_timeout from their
  // first byte.
  void read() {
    parser_.emplace();
    parser_->body_limit(server_->options.max_body_bytes);
    parser_->header_limit(kHeaderLimit);
    if (requests_ == 0 || buffer_.size() > 0) return read_header();
    stream_.expires_after(server_->limits.idle_timeout.load());
    stream_.async_read_some(buffer_.prepare(kFirstRead), [self = shared_from_this()](
                                                             beast::error_code ec, std::size_t n) {
      if (ec) return self->shutdown();  // idle timeout or the client left: a quiet close
      self->buffer_.commit(n);
      self->read_header();
    });
  }

  void read_header() {
    stream_.expires_after(server_->limits.header_timeout.load());
    bhttp::async_read_header(
        stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
          if (ec == beast::error::timeout) {
            self->server_->count(Refusal::kHttpHeaderTimeout,
                                 "connection from " + self->remote_address_ +
                                     ": no complete request headers within the header timeout "
                                     "(http-header-timeout)");
            return self->shutdown();
          }
          if (ec || self->parser_->is_done()) return self->on_read(ec);
          self->stream_.expires_after(self->server_->limits.idle_timeout.load());
          bhttp::async_read(self->stream_, self->buffer_, *self->parser_,
                            [self](beast::error_code ec, std::size_t) { self->on_read(ec); });
        });
  }

  void on_read(beast::error_code ec) {
    if (ec == bhttp::error::end_of_stream || ec == asio::error::operation_aborted ||
        ec == beast::error::timeout || ec == asio::error::eof ||
        ec == asio::error::connection_reset) {
      return shutdown();
    }
    if (ec == bhttp::error::body_limit) {
      server_->stats.rejected_bodies.fetch_add(1, std::memory_order_relaxed);
      linger_ = true;  // the client is still sending the body: let it, so it reads the 413
      return respond(
          http::error_response(Error{413,
                                     "Request body too large: the limit is " +
                                         std::to_string(server_->options.max_body_bytes) + " bytes",
                                     {}}),
          false, -1, "?", Clock::now());
    }
    if (ec) {
      return respond(
          http::error_response(Error::bad_request("Malformed HTTP request: " + ec.message())),
          false, -1, "?", Clock::now());
    }
    auto req = parser_->release();
    origin_ = std::string(req[bhttp::field::origin]);
    console_ = req["X-Sluice-Console"] == "1";
    const bool origin_ok =
        http::origin_allowed(origin_, req[bhttp::field::host],
                             server_->options.cors_origins ? *server_->options.cors_origins->get()
                                                           : std::vector<std::string>{});
    if (is_wire_target(req.target())) {
      if (boost::beast::websocket::is_upgrade(req) && !origin_ok) {
        return refuse_origin(req.keep_alive(), std::string(req.method_string()));
      }
      if (boost::beast::websocket::is_upgrade(req)) return hand_to_relay(std::move(req));
      return respond(http::error_response(Error{426,
                                                "/wire is the relay's WebSocket endpoint: "
                                                "connect with a WebSocket client",
                                                {}}),
                     req.keep_alive(), -1, std::string(req.method_string()), Clock::now());
    }
    if (is_mqtt_target(req.target())) {
      if (boost::beast::websocket::is_upgrade(req) && !origin_ok) {
        return refuse_origin(req.keep_alive(), std::string(req.method_string()));
      }
      if (boost::beast::websocket::is_upgrade(req)) return hand_to_mqtt(std::move(req));
      return respond(http::error_response(Error{426,
                                                "/mqtt is MQTT over WebSockets: connect with an "
                                                "MQTT client (subprotocol \"mqtt\")",
                                                {}}),
                     req.keep_alive(), -1, std::string(req.method_string()), Clock::now());
    }
    const bool get_or_head = req.method() == bhttp::verb::get || req.method() == bhttp::verb::head;
    if (get_or_head && is_flv_target(req.target())) return hand_to_media(std::move(req));
    if (boost::beast::websocket::is_upgrade(req) && req.target().starts_with("/ws")) {
      if (!origin_ok) return refuse_origin(req.keep_alive(), std::string(req.method_string()));
      std::shared_ptr<hub::ClientPolicy> policy;
      if (server_->options.ws_policy) {
        http::HttpRequest hreq = request_of(req);
        if (!http::parse_request_target(req.target(), hreq)) hreq.path = "/ws";
        if (auto refused = server_->router.admit(hreq, -1)) {
          return respond(std::move(*refused), false, -1, "GET", Clock::now());
        }
        policy = server_->options.ws_policy(hreq);
        if (!policy) {
          return respond(http::refusal_response(Error{401,
                                                      "/ws needs credentials in this auth mode "
                                                      "(Authorization header or ?token=)",
                                                      {}}),
                         false, -1, "GET", Clock::now());
        }
      }
      if (!server_->open_event_client()) {
        return refuse_event_client(std::string(req.method_string()), "/ws");
      }
      server_->untrack(this);
      stream_.expires_never();
      return start_websocket(server_, std::move(stream_), std::move(req), std::move(policy),
                             std::move(slot_));
    }
    ++requests_;
    dispatch(std::move(req));
  }

  using Clock = std::chrono::steady_clock;

  // The socket leaves this connection (and the HTTP server) for the relay thread, which answers
  // the WebSocket handshake. Without a running relay the client gets a 503.
  void hand_to_relay(bhttp::request<bhttp::string_body> req) {
    WireUpgradeHandler handler;
    {
      std::lock_guard lock(server_->mutex);
      handler = server_->wire_upgrade;
    }
    hand_off(std::move(req), handler,
             "the relay is not running: /wire WebSocket connections are unavailable");
  }

  // MQTT over WebSockets: the socket moves to the MQTT server's thread, which answers the
  // handshake (credentials are MQTT's own, in the CONNECT). Without a running MQTT server: 503.
  void hand_to_mqtt(bhttp::request<bhttp::string_body> req) {
    WireUpgradeHandler handler;
    {
      std::lock_guard lock(server_->mutex);
      handler = server_->mqtt_upgrade;
    }
    hand_off(std::move(req), handler,
             "MQTT is off (--mqtt off): /mqtt WebSocket connections are unavailable");
  }

  // An HTTP-FLV player: the socket moves to the media thread, which answers the request and
  // reports its status for the metrics (route kFlvRoute).
  void hand_to_media(bhttp::request<bhttp::string_body> req) {
    WireUpgradeHandler handler;
    {
      std::lock_guard lock(server_->mutex);
      handler = server_->media_handoff;
    }
    auto count = [server = server_, method = std::string(req.method_string()),
                  started = Clock::now()](int status) {
      server->metrics.observe(server->flv_route, method, status,
                              std::chrono::duration<double>(Clock::now() - started).count());
    };
    hand_off(std::move(req), handler, "the media server is not running", std::move(count),
             server_->flv_route);
  }

  // `on_status` goes with the socket (WireUpgrade::on_status); `route` labels a refusal here.
  void hand_off(bhttp::request<bhttp::string_body> req, const WireUpgradeHandler& handler,
                const char* unavailable, std::function<void(int)> on_status = {}, int route = -1) {
    std::string method(req.method_string());
    if (!handler) return refuse_handoff(method, unavailable, route);
    stream_.expires_never();
    auto& socket = stream_.socket();
    boost::system::error_code ec;
    // A connection from the HTTPS front door is a local socket pair: any protocol value will do.
    auto protocol = secure_ ? tcp::v4() : socket.local_endpoint(ec).protocol();
    auto fd = ec ? tcp::socket::native_handle_type(-1) : socket.release(ec);
    if (ec) {
      spdlog::warn("cannot hand {} over: {}", remote_address_, ec.message());
      return shutdown();
    }
    auto upgrade = std::make_unique<WireUpgrade>(protocol, fd, std::move(req));
    upgrade->on_status = std::move(on_status);
    if (secure_) {
      upgrade->peer = remote_address_;
      upgrade->secure = true;
    }
    if (handler(upgrade)) {
      closed_ = true;  // the socket belongs to another thread now: nothing may touch stream_
      server_->untrack(this);
      return;
    }
    // Refused: take the socket back and say why.
    socket.assign(upgrade->protocol, upgrade->fd, ec);
    if (ec) return shutdown();  // `upgrade` still owns the descriptor and closes it
    upgrade->release();
    refuse_handoff(method, unavailable, route);
  }

  void refuse_origin(bool keep_alive, const std::string& method) {
    respond(http::error_response(Error::forbidden(
                "WebSocket connections from the web page at " + origin_ +
                " are not allowed: add its origin to the cors_origins setting to allow it")),
            keep_alive, -1, method, Clock::now());
  }

  // The transport-free request for the gate and the router (body moved in by the caller).
  http::HttpRequest request_of(const bhttp::request<bhttp::string_body>& req) const {
    http::HttpRequest hreq;
    hreq.method = std::string(req.method_string());
    hreq.remote_address = remote_address_;
    hreq.authorization = std::string(req[bhttp::field::authorization]);
    hreq.origin = origin_;
    hreq.host = std::string(req[bhttp::field::host]);
    hreq.forwarded_for = std::string(req["X-Forwarded-For"]);
    hreq.accept_encoding = std::string(req[bhttp::field::accept_encoding]);
    return hreq;
  }

  void refuse_handoff(const std::string& method, const char* why, int route) {
    respond(http::error_response(Error::unavailable(why)), false, route, method, Clock::now(),
            method == "HEAD");
  }

  void dispatch(bhttp::request<bhttp::string_body> req) {
    auto started = Clock::now();
    bool keep_alive = req.keep_alive();
    std::string method(req.method_string());
    const bool head = req.method() == bhttp::verb::head;  // routed as GET, answered bodiless
    if (req.method() == bhttp::verb::options) {
      // A CORS preflight: granted (by the Access-Control-Allow-Origin respond() adds) only to
      // the listed origins; the browser refuses the rest.
      http::HttpResponse pre{204, "text/plain", "", {}};
      pre.headers = {
          {"Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS"},
          {"Access-Control-Allow-Headers", "Content-Type, Authorization, X-Sluice-Console"},
          {"Access-Control-Max-Age", "86400"}};
      return respond(std::move(pre), keep_alive, -1, method, started);
    }
    http::HttpRequest hreq = request_of(req);
    if (head) hreq.method = "GET";
    if (!http::parse_request_target(req.target(), hreq)) {
      return respond(http::error_response(Error::bad_request("Malformed request target")),
                     keep_alive, -1, method, started, head);
    }
    hreq.body = std::move(req.body());
    hreq.reply_budget = &server_->handler_reply_budget;

    auto match = server_->router.route(hreq.method, hreq.path);
    if (!match.handler) {
      auto res = http::error_response(match.status == 405 ? Error{405, "Method Not Allowed", {}}
                                                          : Error::not_found("Not Found"));
      if (match.status == 405) res.headers.emplace_back("Allow", match.allow);
      return respond(std::move(res), keep_alive, -1, method, started, head);
    }
    if (auto refused = server_->router.admit(hreq, match.route_index)) {
      server_->router.report(hreq, match.route_index, refused->status);
      return respond(std::move(*refused), keep_alive, match.route_index, method, started, head);
    }
    http::Reply reply;
    try {
      reply = (*match.handler)(hreq, match.params);
    } catch (const std::exception& e) {
      spdlog::error("{} {} failed: {}", hreq.method, hreq.path, e.what());
      reply = http::error_response(Error::internal("Internal error"));
    }
    int route = match.route_index;
    if (auto* res = std::get_if<http::HttpResponse>(&reply)) {
      server_->router.report(hreq, route, res->status);
      return respond(std::move(*res), keep_alive, route, method, started, head);
    }
    if (auto* deferred = std::get_if<http::Deferred>(&reply)) {
      // The responder holds the connection until the answer comes; Deferred handlers promise
      // one (the bus bounds negotiation by --request-timeout).
      hreq.body.clear();
      deferred->start([self = shared_from_this(), keep_alive, route, method, started, head,
                       audit_req = std::move(hreq)](http::HttpResponse res) {
        self->server_->router.report(audit_req, route, res.status);
        asio::post(self->stream_.get_executor(), [self, res = std::move(res), keep_alive, route,
                                                  method, started, head]() mutable {
          if (!self->closed_)
            self->respond(std::move(res), keep_alive, route, method, started, head);
        });
      });
      return;
    }
    if (head) {  // the head of an event stream; nothing is subscribed
      http::HttpResponse res{200, "text/event-stream", "", {{"Cache-Control", "no-cache"}}};
      return respond(std::move(res), keep_alive, route, method, started, head);
    }
    start_event_stream(std::move(std::get<http::EventStream>(reply)), route, method, started);
  }

  // max_event_streams SSE and /ws clients are open: 503.
  void refuse_event_client(const std::string& method, const char* what) {
    const std::string why = std::to_string(server_->limits.max_event_streams.load()) +
                            " event streams (SSE and /ws) are open, the limit "
                            "(max-event-streams)";
    server_->count(Refusal::kEventStreams,
                   std::string(what) + " client from " + remote_address_ + ": " + why);
    auto res = http::error_response(Error::unavailable("Too many event streams: " + why));
    res.headers.emplace_back("Retry-After", "5");
    respond(std::move(res), false, -1, method, Clock::now());
  }

  // `head`: the answer to a HEAD request — the headers (Content-Length included) of `r`, no body.
  void respond(http::HttpResponse r, bool keep_alive, int route, const std::string& method,
               Clock::time_point started, bool head = false) {
    // A large reply is written only while the bytes of large replies being written (to slow
    // readers, say) stay within reply_budget; one larger than the whole budget only alone. A
    // handler that took its bytes before building the body (HttpRequest::reply_budget) has them.
    if (r.reserved > 0) {
      reply_reserved_ = r.reserved;
    } else if (r.body.size() >= http::kLargeReplyBytes) {
      if (server_->reply_budget.try_take_or_alone(r.body.size())) {
        reply_reserved_ = r.body.size();
      } else {
        server_->count(Refusal::kHttpReplyBudget,
                       method + " reply of " + std::to_string(r.body.size()) + " bytes to " +
                           remote_address_ +
                           ": large replies being written already hold the "
                           "reply budget (http-reply-budget)");
        r = http::reply_budget_exhausted();
      }
    }
    if (console_) http::quiet_challenge(r);
    res_.emplace(static_cast<bhttp::status>(r.status), 11);
    res_->set(bhttp::field::server, "sluice");
    res_->set(bhttp::field::content_type, r.content_type);
    if (cors_listed()) {
      res_->set(bhttp::field::access_control_allow_origin, origin_);
      res_->set(bhttp::field::vary, "Origin");
    }
    for (auto& [k, v] : r.headers)
      res_->set(k, v);
    res_->body() = std::move(r.body);
    res_->keep_alive(keep_alive);
    res_->prepare_payload();
    if (head) res_->body().clear();  // Content-Length stays the one of the GET answer
    server_->metrics.observe(route, method, r.status,
                             std::chrono::duration<double>(Clock::now() - started).count());
    serializer_.emplace(*res_);
    write_some(keep_alive);
  }

  // Writes the response a piece at a time: each piece must be taken within write_timeout, so a
  // reader that stops reading is dropped however large the reply.
  void write_some(bool keep_alive) {
    stream_.expires_after(server_->limits.write_timeout.load());
    bhttp::async_write_some(
        stream_, *serializer_,
        [self = shared_from_this(), keep_alive](beast::error_code ec, std::size_t) {
          if (!ec && !self->serializer_->is_done()) return self->write_some(keep_alive);
          self->serializer_.reset();
          self->res_.reset();
          self->release_reply();
          if (ec == beast::error::timeout) self->count_write_timeout("reply");
          if (!ec && !keep_alive && self->linger_) return self->linger_close();
          if (ec || !keep_alive) return self->shutdown();
          self->read();
        });
  }

  // A "lingering close" after a reply that refused a request mid-body: closing with unread input
  // would make the kernel reset the connection, and a client still writing its body would see
  // a broken pipe instead of the answer. So: no more sending, and the rest of the body is read
  // and dropped — at most kLingerBytes for at most kLingerTime — before the close.
  void linger_close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return shutdown();
    linger_left_ = kLingerBytes;
    stream_.expires_after(kLingerTime);
    drain();
  }
  void drain() {
    drain_buffer_.resize(64 * 1024);
    stream_.async_read_some(asio::buffer(drain_buffer_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              if (ec || n >= self->linger_left_) return self->shutdown();
                              self->linger_left_ -= n;
                              self->drain();
                            });
  }

  void release_reply() {
    if (reply_reserved_ > 0) server_->reply_budget.give(std::exchange(reply_reserved_, 0));
  }

  void count_write_timeout(const char* what) {
    server_->count(Refusal::kHttpWriteTimeout,
                   std::string(what) + " reader " + remote_address_ +
                       " took no data within the write timeout (http-write-timeout); "
                       "disconnected");
  }

  void refused_by_event_budget() {
    server_->count(Refusal::kEventStreamBudget,
                   "events for " + remote_address_ +
                       " were dropped: the SSE and /ws clients' queues hold the event stream "
                       "budget (event-stream-budget)");
  }

  // ---- server-sent events ----
  void start_event_stream(http::EventStream es, int route, const std::string& method,
                          Clock::time_point started) {
    if (!server_->open_event_client()) return refuse_event_client(method, "SSE");
    server_->metrics.observe(route, method, 200,
                             std::chrono::duration<double>(Clock::now() - started).count());
    server_->stats.event_streams_open.fetch_add(1, std::memory_order_relaxed);
    outbox_.emplace(server_->options.outbox_messages, server_->options.outbox_bytes,
                    &server_->event_budget);
    stream_.expires_never();
    keepalive_ = es.keepalive;
    keepalive_event_ = std::move(es.keepalive_event);
    notices_ = es.content_type == "text/event-stream";  // SSE comments are SSE's alone
    // The header goes first through the outbox, so it precedes every event.
    outbox_->push(
        "HTTP/1.1 200 OK\r\nServer: sluice\r\nContent-Type: " + es.content_type +
            "\r\nCache-Control: no-cache\r\nConnection: close\r\n" +
            (cors_listed() ? "Access-Control-Allow-Origin: " + origin_ + "\r\nVary: Origin\r\n"
                           : std::string()) +
            "X-Accel-Buffering: no\r\n\r\n",
        /*essential=*/true);
    sse_write();
    source_ = es.start(std::make_shared<SseSinkImpl>(weak_from_this()));
    watch_for_disconnect();
    arm_keepalive();
  }

  void sse_write() {
    if (writing_) return;
    notice_.clear();
    if (auto dropped = outbox_->take_dropped(); dropped > 0) {
      server_->stats.dropped_frames.fetch_add(dropped, std::memory_order_relaxed);
      if (notices_)
        notice_ = ": dropped " + std::to_string(dropped) + " events (client too slow)\n\n";
    }
    current_ = outbox_->pop();
    if (!current_ && notice_.empty()) return;
    writing_ = true;
    const std::array<asio::const_buffer, 2> buffers{
        asio::buffer(notice_), current_ ? asio::buffer(*current_) : asio::const_buffer()};
    // The disconnect watch's read is pending without a deadline: this sets the write's only.
    stream_.expires_after(server_->limits.write_timeout.load());
    asio::async_write(stream_, buffers,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        self->writing_ = false;
                        self->current_.reset();
                        if (ec == beast::error::timeout) self->count_write_timeout("SSE");
                        if (ec) return self->shutdown();
                        self->sse_write();
                      });
  }

  // An SSE client sends nothing more; any read completion means it went away. The read has no
  // deadline (a write pending meanwhile keeps its own).
  void watch_for_disconnect() {
    stream_.expires_never();
    stream_.async_read_some(asio::buffer(sink_byte_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (ec) return self->shutdown();
                              self->watch_for_disconnect();
                            });
  }

  void arm_keepalive() {
    if (keepalive_.count() <= 0) return;
    keepalive_timer_.expires_after(keepalive_);
    keepalive_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || self->closed_) return;
      if (self->keepalive_event_) {
        auto [name, data] = self->keepalive_event_();
        self->sse_send(name, data);
      } else if (self->outbox_->push(": keepalive\n\n").start_writer) {
        self->sse_write();
      }
      self->arm_keepalive();
    });
  }

  void shutdown() {
    if (closed_) return;
    closed_ = true;
    server_->untrack(this);
    if (outbox_) outbox_->close();
    source_.reset();
    keepalive_timer_.cancel();
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

  std::shared_ptr<HttpServer::Impl> server_;
  beast::tcp_stream stream_;
  ConnectionSlot slot_;  // moves to the /ws connection on upgrade
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::optional<bhttp::response<bhttp::string_body>> res_;
  std::optional<bhttp::response_serializer<bhttp::string_body>> serializer_;
  std::size_t reply_reserved_ = 0;  // taken from the server's reply budget for res_
  std::uint64_t requests_ = 0;
  bool closed_ = false;
  bool linger_ = false;  // close with linger_close() after the reply
  std::size_t linger_left_ = 0;
  std::string drain_buffer_;
  std::string remote_address_;  // read once: a syscall per request would show in the profile
  const bool secure_;           // came through the HTTPS front door
  std::string origin_;          // the current request's Origin header
  bool console_ = false;        // the current request is the web console's (X-Sluice-Console: 1)

  // Whether the current request's origin is one CORS grants to (listed in cors_origins).
  bool cors_listed() const {
    return !origin_.empty() && server_->options.cors_origins &&
           server_->options.cors_origins->lists(origin_);
  }

  std::optional<Outbox> outbox_;
  std::shared_ptr<void> source_;
  asio::steady_timer keepalive_timer_;
  std::chrono::milliseconds keepalive_{15000};
  std::function<std::pair<std::string, std::string>()> keepalive_event_;
  bool notices_ = true;  // SSE: drop notices as comments
  bool writing_ = false;
  std::string notice_;     // ": dropped N events", written before current_
  Outbox::Frame current_;  // the frame being written
  char sink_byte_[64];
};

bool SseSinkImpl::send(std::string_view event, std::string_view data) {
  auto conn = conn_.lock();
  return conn && conn->sse_send(event, data);
}

bool SseSinkImpl::send_frame(std::shared_ptr<const std::string> frame) {
  auto conn = conn_.lock();
  return conn && conn->sse_send_frame(std::move(frame));
}

void SseSinkImpl::close() {
  if (auto conn = conn_.lock()) conn->close();
}

}  // namespace

void start_http_connection(std::shared_ptr<HttpServer::Impl> server, tcp::socket socket,
                           ConnectionSlot slot, std::string peer) {
  std::make_shared<HttpConnection>(std::move(server), std::move(socket), std::move(slot), peer)
      ->start();
}

}  // namespace sluice::net
