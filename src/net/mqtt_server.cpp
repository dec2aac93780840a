#include "net/mqtt_server.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_set>

#include "core/log_limiter.hpp"
#include "core/logging.hpp"
#include "net/accept_backoff.hpp"
#include "net/http_server.hpp"
#include "net/server_impl.hpp"

namespace sluice::net {

namespace websocket = boost::beast::websocket;

namespace {
constexpr auto kTick = std::chrono::seconds(1);
constexpr auto kWsHandshakeTimeout = std::chrono::seconds(10);
constexpr std::size_t kReadChunk = 64 * 1024;
constexpr std::size_t kMaxWsMessage = 4 << 20;  // one WebSocket message (packets, or parts of them)
using WsSocket = websocket::stream<tcp::socket>;

MonoTime now() {
  return std::chrono::steady_clock::now();
}

// "MQTT over WebSockets" (MQTT 5.0 section 6): the client offers the subprotocol "mqtt"
// (3.1.1-era clients may say "mqttv3.1"); the server echoes the one it takes.
std::string chosen_subprotocol(std::string_view offered) {
  for (std::string_view want : {"mqtt", "mqttv3.1"}) {
    std::size_t at = 0;
    while (at < offered.size()) {
      auto comma = offered.find(',', at);
      auto item =
          offered.substr(at, comma == std::string_view::npos ? offered.size() - at : comma - at);
      while (!item.empty() && item.front() == ' ')
        item.remove_prefix(1);
      while (!item.empty() && item.back() == ' ')
        item.remove_suffix(1);
      if (item == want) return std::string(want);
      if (comma == std::string_view::npos) break;
      at = comma + 1;
    }
  }
  return {};
}
}  // namespace

class MqttConnectionBase {
 public:
  virtual ~MqttConnectionBase() = default;
  virtual void shut() = 0;  // closes the socket now
};

struct MqttServer::Impl final : EventLoop {
  Impl(mqtt::BrokerHooks& hooks, mqtt::BrokerOptions broker_options, MqttServerOptions o)
      : options(o),
        broker(hooks, broker_options),
        max_backlog(broker_options.max_sink_backlog),
        backoff(io.get_executor(), nullptr, Refusal::kRelayAcceptFds, "mqtt") {}

  void post(std::function<void()> fn) override { asio::post(io, std::move(fn)); }
  bool in_loop() const override { return std::this_thread::get_id() == thread_id.load(); }

  void accept();
  void adopt(std::unique_ptr<WireUpgrade> upgrade);
  void tick();
  bool admit(const std::string& address) {
    if (connections.size() >= options.max_connections ||
        per_address[address] >= options.max_connections_per_address) {
      ++refused;
      static LogLimiter limiter;
      log_limited(limiter, true,
                  "mqtt: refused a connection from " + address +
                      ": too many connections (in total or from that address)");
      if (per_address[address] == 0) per_address.erase(address);
      return false;
    }
    ++per_address[address];
    return true;
  }
  void release(const std::string& address) {
    auto it = per_address.find(address);
    if (it != per_address.end() && --it->second == 0) per_address.erase(it);
  }
  void publish_stats() {
    std::lock_guard lock(stats_mutex);
    stats = broker.stats();
  }

  MqttServerOptions options;
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  mqtt::Broker broker;
  std::size_t max_backlog;
  AcceptBackoff backoff;
  asio::steady_timer tick_timer{io};
  std::thread thread;
  std::atomic<std::thread::id> thread_id{};
  std::unordered_set<std::shared_ptr<MqttConnectionBase>> connections;
  std::map<std::string, std::size_t> per_address;
  bool stopping = false;
  std::atomic<bool> accepting_upgrades{false};
  std::atomic<std::uint64_t> refused{0};
  mutable std::mutex stats_mutex;
  mqtt::BrokerStats stats;
};

// One client over TCP or WebSocket: reads into the broker, writes what the broker queued.
template <class Socket>
class MqttConnection final : public MqttConnectionBase,
                             public mqtt::ConnectionSink,
                             public std::enable_shared_from_this<MqttConnection<Socket>> {
 public:
  static constexpr bool kWebSocket = std::is_same_v<Socket, WsSocket>;
  using std::enable_shared_from_this<MqttConnection<Socket>>::shared_from_this;

  MqttConnection(MqttServer::Impl& server, Socket socket, std::string address)
      : server_(server), socket_(std::move(socket)), address_(std::move(address)) {
    boost::system::error_code ec;
    lowest().set_option(tcp::no_delay(true), ec);
  }

  void start() { begin(); }

  void start(bhttp::request<bhttp::string_body> upgrade) requires kWebSocket {
    upgrade_ = std::move(upgrade);
    const std::string subprotocol =
        chosen_subprotocol((*upgrade_)[bhttp::field::sec_websocket_protocol]);
    socket_.set_option(websocket::stream_base::timeout{kWsHandshakeTimeout,
                                                       websocket::stream_base::none(), false});
    socket_.set_option(
        websocket::stream_base::decorator([subprotocol](websocket::response_type& res) {
          res.set(bhttp::field::server, "sluice");
          if (!subprotocol.empty()) res.set(bhttp::field::sec_websocket_protocol, subprotocol);
        }));
    socket_.binary(true);
    socket_.read_message_max(kMaxWsMessage);
    socket_.async_accept(*upgrade_, [self = shared_from_this()](boost::system::error_code ec) {
      self->upgrade_.reset();
      if (self->closed_) return;
      if (ec) return self->shut();
      self->begin();
    });
  }

  // ConnectionSink
  void send(std::string_view bytes) override {
    pending_.append(bytes);
    if (flush_posted_ || writing_) return;
    flush_posted_ = true;
    asio::post(server_.io, [self = shared_from_this()] {
      self->flush_posted_ = false;
      self->flush();
    });
  }
  std::size_t backlog() const override { return pending_.size() + in_flight_.size(); }
  void close() override {
    forgotten_ = true;  // the broker has let go of this connection
    closing_ = true;
    if (!writing_ && pending_.empty()) shut();
  }

  void shut() override {
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ec;
    lowest().shutdown(tcp::socket::shutdown_both, ec);
    lowest().close(ec);
    if (!forgotten_ && id_ != 0) server_.broker.closed(id_, now());
    forgotten_ = true;
    server_.release(address_);
    server_.connections.erase(shared_from_this());
  }

 private:
  tcp::socket& lowest() {
    if constexpr (kWebSocket) {
      return socket_.next_layer();
    } else {
      return socket_;
    }
  }

  void begin() {
    id_ = server_.broker.open(address_, *this, now());
    read();
  }

  void read() {
    if (closed_ || closing_ || reading_) return;
    if (backlog() > server_.max_backlog) return;  // resumed by written()
    reading_ = true;
    if constexpr (kWebSocket) {
      socket_.async_read(ws_in_, [self = shared_from_this()](boost::system::error_code ec,
                                                             std::size_t) {
        self->reading_ = false;
        if (self->closed_) return;
        if (ec) return self->shut();
        auto data = self->ws_in_.cdata();
        self->server_.broker.receive(
            self->id_, std::string_view(static_cast<const char*>(data.data()), data.size()), now());
        self->ws_in_.consume(self->ws_in_.size());
        self->read();
      });
    } else {
      in_.resize(kReadChunk);
      socket_.async_read_some(
          asio::buffer(in_.data(), in_.size()),
          [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
            self->reading_ = false;
            if (self->closed_) return;
            if (ec) return self->shut();
            self->server_.broker.receive(self->id_, std::string_view(self->in_.data(), n), now());
            self->read();
          });
    }
  }

  void flush() {
    if (closed_ || writing_) return;
    if (pending_.empty()) {
      if (closing_) finish();
      return;
    }
    in_flight_.swap(pending_);
    pending_.clear();
    writing_ = true;
    auto done = [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
      self->written(ec);
    };
    if constexpr (kWebSocket) {
      socket_.async_write(asio::buffer(in_flight_), std::move(done));
    } else {
      asio::async_write(socket_, asio::buffer(in_flight_), std::move(done));
    }
  }

  void written(boost::system::error_code ec) {
    writing_ = false;
    in_flight_.clear();
    if (closed_) return;
    if (ec) return shut();
    flush();
    read();  // if it was paused for the backlog
  }

  // Everything the broker queued is out: a WebSocket says goodbye with a close frame.
  void finish() {
    if constexpr (kWebSocket) {
      if (ws_closing_) return;
      ws_closing_ = true;
      socket_.async_close(websocket::close_code::normal,
                          [self = shared_from_this()](boost::system::error_code) { self->shut(); });
    } else {
      shut();
    }
  }

  MqttServer::Impl& server_;
  Socket socket_;
  std::string address_;
  mqtt::ConnectionId id_ = 0;
  std::string in_;                   // TCP reads
  boost::beast::flat_buffer ws_in_;  // WebSocket messages
  std::string pending_;              // queued by the broker
  std::string in_flight_;            // being written
  bool writing_ = false;
  bool reading_ = false;
  bool flush_posted_ = false;
  bool closing_ = false;    // close() asked: write what is queued, then close
  bool forgotten_ = false;  // the broker no longer knows this connection
  bool closed_ = false;
  bool ws_closing_ = false;
  std::optional<bhttp::request<bhttp::string_body>> upgrade_;
};

void MqttServer::Impl::accept() {
  acceptor.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
    if (stopping) return;
    if (ec) return backoff.failed(ec, [this] { accept(); });
    backoff.succeeded();
    boost::system::error_code peer_ec;
    auto peer = socket.remote_endpoint(peer_ec);
    std::string address = peer_ec ? "unknown" : peer.address().to_string();
    if (admit(address)) {
      auto c = std::make_shared<MqttConnection<tcp::socket>>(*this, std::move(socket), address);
      connections.insert(c);
      c->start();
    }
    accept();
  });
}

void MqttServer::Impl::adopt(std::unique_ptr<WireUpgrade> upgrade) {
  if (stopping) return;
  tcp::socket socket(io);
  boost::system::error_code ec;
  socket.assign(upgrade->protocol, upgrade->fd, ec);
  if (ec) return;
  upgrade->release();
  std::string address = upgrade->peer;
  if (address.empty()) {
    auto peer = socket.remote_endpoint(ec);
    address = ec ? "unknown" : peer.address().to_string();
  }
  if (!admit(address)) return;  // the socket closes
  auto c = std::make_shared<MqttConnection<WsSocket>>(*this, WsSocket(std::move(socket)), address);
  connections.insert(c);
  c->start(std::move(upgrade->request));
}

void MqttServer::Impl::tick() {
  tick_timer.expires_after(kTick);
  tick_timer.async_wait([this](boost::system::error_code ec) {
    if (ec || stopping) return;
    broker.tick(now());
    publish_stats();
    tick();
  });
}

MqttServer::MqttServer(mqtt::BrokerHooks& hooks, mqtt::BrokerOptions broker,
                       MqttServerOptions options)
    : impl_(std::make_shared<Impl>(hooks, broker, options)) {}

MqttServer::~MqttServer() {
  stop();
}

std::uint16_t MqttServer::listen(const std::string& host, std::uint16_t port) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) throw std::system_error(ec, "mqtt address " + host);
  tcp::endpoint endpoint(address, port);
  auto& a = impl_->acceptor;
  a.open(endpoint.protocol(), ec);
  if (!ec) a.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) a.bind(endpoint, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw std::system_error(ec, "cannot listen for MQTT on " + host + ":" + std::to_string(port));
  }
  return a.local_endpoint().port();
}

void MqttServer::start() {
  impl_->accepting_upgrades = true;
  impl_->thread = std::thread([impl = impl_] {
    impl->thread_id = std::this_thread::get_id();
    if (impl->acceptor.is_open()) impl->accept();
    impl->tick();
    impl->io.run();
  });
  while (impl_->thread_id == std::thread::id{})
    std::this_thread::yield();
}

void MqttServer::stop() {
  impl_->accepting_upgrades = false;
  if (!impl_->thread.joinable()) return;
  asio::post(impl_->io, [impl = impl_] {
    impl->broker.shutdown(now());
    // A moment for the DISCONNECTs to leave, then everything closes.
    auto timer = std::make_shared<asio::steady_timer>(impl->io, std::chrono::milliseconds(50));
    timer->async_wait([impl, timer](boost::system::error_code) {
      impl->stopping = true;
      boost::system::error_code ec;
      impl->acceptor.close(ec);
      impl->backoff.cancel();
      impl->tick_timer.cancel();
      auto open = impl->connections;
      for (auto& c : open)
        c->shut();
      impl->io.stop();
    });
  });
  impl_->thread.join();
}

EventLoop& MqttServer::loop() {
  return *impl_;
}

mqtt::Broker& MqttServer::broker() {
  return impl_->broker;
}

mqtt::BrokerStats MqttServer::stats() const {
  std::lock_guard lock(impl_->stats_mutex);
  return impl_->stats;
}

std::uint64_t MqttServer::refused_connections() const {
  return impl_->refused.load();
}

void connect_mqtt_upgrades(HttpServer& http, MqttServer& mqtt) {
  std::weak_ptr<MqttServer::Impl> weak = mqtt.impl_;
  http.set_mqtt_upgrade([weak](std::unique_ptr<WireUpgrade>& upgrade) {
    auto impl = weak.lock();
    if (!impl || !impl->accepting_upgrades) return false;
    asio::post(impl->io, [weak, upgrade = std::move(upgrade)]() mutable {
      if (auto server = weak.lock()) server->adopt(std::move(upgrade));
    });
    return true;
  });
}

}  // namespace sluice::net
