#pragma once
// The MQTT broker, sans I/O: MQTT 3.1.1 and 5.0 sessions, QoS 0 and 1 (and QoS 2 from
// publishers, delivered onward at QoS 1 at most), retained messages, wills (with the v5 will
// delay), keep-alive, session expiry and shared subscriptions. The I/O layer (net/mqtt_server)
// opens a connection with a ConnectionSink, feeds it the bytes it reads and calls tick() about
// once a second; the broker answers by writing packets into the sinks. What MQTT means to the
// rest of sluiced — who the client is, what it may touch, the registry's topics, the hub bridge —
// is asked of BrokerHooks.
//
// Bounded (BrokerOptions): sessions, subscriptions per session, the messages a session holds
// (QoS 1 waiting for its in-flight window, or for its client to come back: overflow policy
// drop-newest, counted), what a connection's sink may hold before QoS 0 messages to it are
// dropped (drop-newest, counted), retained messages (RetainedStore), the packet size
// (MqttReader). Sessions live in memory: a restart forgets them and the retained messages.
//
// Single-threaded: every call on the broker's thread. Sinks are called from inside those calls.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/clock.hpp"
#include "mqtt/mqtt_message.hpp"
#include "mqtt/mqtt_packet.hpp"
#include "mqtt/mqtt_reader.hpp"
#include "mqtt/mqtt_retained.hpp"
#include "mqtt/mqtt_subscriptions.hpp"

namespace sluice::mqtt {

struct PendingDelivery;
using ConnectionId = std::uint64_t;

// Where the broker writes one connection's packets. Implemented by the I/O layer.
class ConnectionSink {
 public:
  virtual ~ConnectionSink() = default;
  // Queues bytes for the socket (written after the current call returns, in one write).
  virtual void send(std::string_view bytes) = 0;
  // Bytes queued and not yet written.
  virtual std::size_t backlog() const = 0;
  // Closes the connection once what is queued is written. The broker forgets the connection
  // first: a later Broker::closed() for it does nothing.
  virtual void close() = 0;
};

// Who a connected client is, as the hooks decided at CONNECT.
struct ClientInfo {
  std::string client_id;
  std::string address;  // the peer's IP address
  int protocol_version = kMqtt5;
  // The hooks' own record of the client (an identity), opaque to the broker.
  std::shared_ptr<const void> principal;
};

// A CONNECT to authenticate.
struct AuthRequest {
  ConnectionId connection = 0;
  std::string address;
  std::string client_id;
  std::optional<std::string> username;
  std::optional<std::string> password;
};
struct AuthResult {
  // success, or why not: bad_user_name_or_password, not_authorized, server_unavailable, …
  ReasonCode reason = ReasonCode::success;
  std::shared_ptr<const void> principal;
};

enum class SubscribeVerdict {
  refused,      // not_authorized
  allowed,      // every message the filter matches may be delivered
  per_message,  // ask may_read() for each topic (a filter spanning namespaces, like "#")
};

class BrokerHooks {
 public:
  virtual ~BrokerHooks() = default;
  // A CONNECT's credentials; answer with Broker::authenticated(), at once or later.
  virtual void authenticate(const AuthRequest& request) = 0;
  virtual bool may_publish(const ClientInfo& client, std::string_view topic) = 0;
  virtual SubscribeVerdict may_subscribe(const ClientInfo& client, std::string_view filter) = 0;
  virtual bool may_read(const ClientInfo& client, std::string_view topic) = 0;
  // A message a client published (or its will), allowed. False: the hooks consumed it and MQTT
  // subscribers do not get it.
  virtual bool on_publish(const ClientInfo& client, const MessagePtr& message) = 0;
  // A subscription to `filter` (a shared one by its filter part) was added or removed; the hub
  // bridge counts them. Replacing a subscription's options calls neither.
  virtual void on_filter(std::string_view filter, bool added) {}
};

struct BrokerOptions {
  std::size_t max_packet_size = kDefaultMaxPacketSize;
  std::size_t max_sessions = 10'000;  // connected and kept; beyond: CONNACK server_busy
  std::size_t max_subscriptions_per_session = 1'000;
  std::size_t max_queued_messages = 1'000;  // per session, QoS 1 beyond the in-flight window
  std::size_t max_queued_bytes = 16 << 20;  // per session
  std::size_t max_sink_backlog = 8 << 20;   // per connection; QoS 0 beyond is dropped
  std::uint16_t max_inflight = 64;          // QoS 1 sent and not yet acknowledged, per session
  std::uint32_t max_session_expiry = 7 * 24 * 3600;  // seconds; also 3.1.1's persistent sessions
  std::chrono::seconds connect_timeout{10};          // from open() to a CONNECT
  RetainedLimits retained;
};

struct BrokerStats {
  std::uint64_t connections = 0;  // open now
  std::uint64_t sessions = 0;     // kept now, connected or not
  std::uint64_t subscriptions = 0;
  std::uint64_t retained = 0;
  std::uint64_t received = 0;         // PUBLISH from clients
  std::uint64_t delivered = 0;        // PUBLISH to clients
  std::uint64_t injected = 0;         // messages from the hub bridge
  std::uint64_t dropped_backlog = 0;  // QoS 0 to a connection whose sink was full
  std::uint64_t dropped_queue = 0;    // QoS 1 to a session whose queue was full
  std::uint64_t dropped_expired = 0;  // messages whose expiry interval passed while queued
  std::uint64_t refused_connects = 0;
  std::uint64_t refused_publishes = 0;   // not allowed
  std::uint64_t refused_subscribes = 0;  // not allowed or invalid
  std::uint64_t protocol_errors = 0;     // connections closed for breaking the protocol
  std::uint64_t keep_alive_timeouts = 0;
  std::uint64_t wills_published = 0;
};

class Broker {
 public:
  Broker(BrokerHooks& hooks, BrokerOptions options = {});
  ~Broker();
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  // A new network connection from `address` (an IP); `sink` must outlive it (until closed() or
  // the sink's close()).
  ConnectionId open(std::string address, ConnectionSink& sink, MonoTime now);
  // Bytes read from the connection.
  void receive(ConnectionId id, std::string_view bytes, MonoTime now);
  // The socket is gone (the peer closed it, an error, a timeout of the I/O layer). The will is
  // published unless the client said DISCONNECT without one.
  void closed(ConnectionId id, MonoTime now);
  // The answer to BrokerHooks::authenticate().
  void authenticated(ConnectionId id, AuthResult result, MonoTime now);
  // A message from outside MQTT (the hub bridge) for the subscribers of its topic; not retained,
  // never given to on_publish().
  void inject(const MessagePtr& message, MonoTime now);
  // Keep-alive deadlines, CONNECT deadlines, delayed wills, expired sessions. About once a second.
  void tick(MonoTime now);
  // v5 clients get DISCONNECT server_shutting_down; every connection is closed; wills of
  // connected clients are published (the spec's "server closes the connection").
  void shutdown(MonoTime now);

  BrokerStats stats() const;
  // Connected client ids (for tests and the console).
  std::vector<std::string> connected_clients() const;

  struct Session;
  struct Connection;

 private:
  // mqtt_broker.cpp: connections and sessions
  void handle(Connection& c, Packet& packet, MonoTime now);
  void on_connect(Connection& c, Connect& connect, MonoTime now);
  void accept_session(Connection& c, MonoTime now);
  void refuse_connect(Connection& c, ReasonCode reason, std::string why);
  void end_connection(Connection& c, MonoTime now, bool publish_will, ReasonCode reason,
                      std::string why, bool tell_client);
  void protocol_error(Connection& c, const ProtocolError& error, MonoTime now);
  void detach(Session& s, MonoTime now, bool publish_will);
  void drop_session(Session& s, MonoTime now);  // a delayed will still due is published
  void process(Connection& c, MonoTime now);
  Connection* find(ConnectionId id);
  void forget(Connection& c);  // a connection that never had a session: dropped and closed
  void send(Connection& c, const Packet& packet);

  // mqtt_broker_routing.cpp: publishes, subscriptions, deliveries
  void on_publish(Connection& c, Publish& publish, MonoTime now);
  void on_subscribe(Connection& c, Subscribe& subscribe, MonoTime now);
  void on_unsubscribe(Connection& c, Unsubscribe& unsubscribe);
  void on_puback(Connection& c, const Puback& ack, MonoTime now);
  void route(const MessagePtr& message, const Session* publisher, MonoTime now);
  void deliver(Session& s, const MessagePtr& message, std::uint8_t qos, bool retain,
               std::vector<std::uint32_t> identifiers, MonoTime now);
  void send_publish(Session& s, Connection& c, const MessagePtr& message, std::uint8_t qos,
                    bool retain, const std::vector<std::uint32_t>& identifiers,
                    std::uint16_t packet_id, bool dup, MonoTime now);
  void drain(Session& s, MonoTime now);  // queued QoS 1 into the in-flight window
  void send_inflight(Session& s, PendingDelivery pending, MonoTime now);
  void publish_will_now(Session& s, MonoTime now);
  // A message from `s`'s client (a PUBLISH or its will), allowed: to the hooks, then retained
  // and routed unless they consumed it.
  void publish_from(Session& s, std::string topic, std::string payload, std::uint8_t qos,
                    bool retain, Properties properties, MonoTime now);
  void unsubscribe_all(Session& s);

  BrokerHooks& hooks_;
  BrokerOptions options_;
  SubscriptionTree tree_;
  RetainedStore retained_;
  std::unordered_map<ConnectionId, std::unique_ptr<Connection>> connections_;
  std::unordered_map<std::string, std::unique_ptr<Session>> sessions_;  // by client id
  ConnectionId next_id_ = 1;
  std::uint64_t assigned_ids_ = 0;
  BrokerStats stats_;
  std::vector<SubscriptionMatch> matches_;  // reused by route()
  std::string scratch_;                     // reused packet encoding
  std::string props_scratch_;               // reused v5 property encoding
};

}  // namespace sluice::mqtt
