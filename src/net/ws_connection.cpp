// A /ws WebSocket client: JSON text frames in, handled by hub::ClientSession; hub deliveries out
// through a bounded drop-oldest Outbox (within the server's event stream budget) with one write
// in flight, which must complete within the write timeout. Runs on the connection's strand.
#include <spdlog/spdlog.h>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/websocket.hpp>

#include "hub/client_session.hpp"
#include "net/outbox.hpp"
#include "net/server_impl.hpp"

namespace sluice::net {
namespace {

namespace websocket = beast::websocket;
constexpr std::size_t kMaxFrameBytes = 1 << 20;

class WsConnection final : public Closable, public std::enable_shared_from_this<WsConnection> {
 public:
  // The caller took an event client place (HttpServer::Impl::open_event_client) for it.
  WsConnection(std::shared_ptr<HttpServer::Impl> server, beast::tcp_stream stream,
               ConnectionSlot slot)
      : server_(std::move(server)),
        ws_(std::move(stream)),
        slot_(std::move(slot)),
        outbox_(server_->options.outbox_messages, server_->options.outbox_bytes,
                &server_->event_budget),
        write_timer_(ws_.get_executor()) {}

  ~WsConnection() override {
    server_->stats.websockets_open.fetch_sub(1, std::memory_order_relaxed);
    server_->stats.connections_open.fetch_sub(1, std::memory_order_relaxed);
    server_->close_event_client();
  }

  void start(bhttp::request<bhttp::string_body> upgrade,
             std::shared_ptr<hub::ClientPolicy> policy) {
    // The HTTP connection that upgraded is gone; this object now counts as the open connection.
    server_->stats.connections_open.fetch_add(1, std::memory_order_relaxed);
    server_->stats.websockets_open.fetch_add(1, std::memory_order_relaxed);
    server_->track(shared_from_this());
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(bhttp::field::server, "sluice"); }));
    ws_.read_message_max(kMaxFrameBytes);
    std::weak_ptr<WsConnection> weak = shared_from_this();
    session_.emplace(
        server_->hub,
        [weak](std::string frame) {
          if (auto self = weak.lock()) self->send(std::move(frame));
        },
        std::move(policy));
    ws_.async_accept(upgrade, [self = shared_from_this()](beast::error_code ec) {
      if (ec) return self->shutdown();
      self->send(self->session_->hello());
      self->read();
    });
  }

  void close() override {
    asio::post(ws_.get_executor(), [self = shared_from_this()] { self->shutdown(); });
  }

  // Any thread.
  void send(std::string frame) {
    auto pushed = outbox_.push(std::move(frame));
    if (pushed.over_budget) {
      server_->count(Refusal::kEventStreamBudget,
                     "/ws frames for " + slot_.address() +
                         " were dropped: the SSE and /ws clients' queues hold the event stream "
                         "budget (event-stream-budget)");
    }
    if (pushed.start_writer) {
      asio::post(ws_.get_executor(), [self = shared_from_this()] { self->write(); });
    }
  }

 private:
  void read() {
    ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->shutdown();
      if (!self->ws_.got_text()) {
        self->send(
            R"({"op":"err","detail":"binary frames are not supported on /ws; send JSON text"})");
      } else {
        auto data = self->buffer_.data();
        self->session_->on_frame(
            std::string_view(static_cast<const char*>(data.data()), data.size()));
      }
      self->buffer_.consume(self->buffer_.size());
      self->read();
    });
  }

  void write() {
    if (writing_ || closed_) return;
    Outbox::Frame frame;
    if (auto dropped = outbox_.take_dropped(); dropped > 0) {
      server_->stats.dropped_frames.fetch_add(dropped, std::memory_order_relaxed);
      // The writer stays marked active in the outbox, so the queued frames follow this notice.
      frame = std::make_shared<const std::string>(R"({"op":"dropped","count":)" +
                                                  std::to_string(dropped) + "}");
    } else {
      frame = outbox_.pop();
    }
    if (!frame) return;
    writing_ = true;
    current_ = std::move(frame);
    ws_.text(true);
    // The WebSocket's own timeouts watch the peer's pings, not our writes: a reader that takes
    // nothing for write_timeout is dropped by this timer.
    write_timer_.expires_after(server_->limits.write_timeout.load());
    write_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || self->closed_ || !self->writing_) return;
      self->server_->count(Refusal::kHttpWriteTimeout,
                           "/ws reader " + self->slot_.address() +
                               " took no data within the write timeout (http-write-timeout); "
                               "disconnected");
      self->shutdown();
    });
    ws_.async_write(asio::buffer(*current_),
                    [self = shared_from_this()](beast::error_code ec, std::size_t) {
                      self->writing_ = false;
                      self->write_timer_.cancel();
                      if (ec) return self->shutdown();
                      self->write();
                    });
  }

  void shutdown() {
    if (closed_) return;
    closed_ = true;
    server_->untrack(this);
    write_timer_.cancel();
    outbox_.close();
    if (session_) session_->close();
    beast::error_code ec;
    beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ec);
    beast::get_lowest_layer(ws_).close();
  }

  std::shared_ptr<HttpServer::Impl> server_;
  websocket::stream<beast::tcp_stream> ws_;
  ConnectionSlot slot_;
  beast::flat_buffer buffer_;
  Outbox outbox_;
  asio::steady_timer write_timer_;
  std::optional<hub::ClientSession> session_;
  bool writing_ = false;
  bool closed_ = false;
  Outbox::Frame current_;  // the frame being written
};

}  // namespace

void start_websocket(std::shared_ptr<HttpServer::Impl> server, beast::tcp_stream stream,
                     bhttp::request<bhttp::string_body> upgrade,
                     std::shared_ptr<hub::ClientPolicy> policy, ConnectionSlot slot) {
  auto conn = std::make_shared<WsConnection>(std::move(server), std::move(stream), std::move(slot));
  conn->start(std::move(upgrade), std::move(policy));
}

}  // namespace sluice::net
