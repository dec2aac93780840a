#pragma once
// Internal to the broker (mqtt_broker*.cpp): a session and a connection.
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "mqtt/mqtt_broker.hpp"

namespace sluice::mqtt {

// A message waiting for, or in, a session's QoS 1 in-flight window.
struct PendingDelivery {
  MessagePtr message;
  std::uint8_t qos = 1;
  bool retain = false;
  std::vector<std::uint32_t> identifiers;
};

// The session state MQTT keeps across connections (MQTT 5.0 section 4.1), by client id.
struct Broker::Session {
  std::string client_id;
  ClientInfo client;                 // of its latest connection
  Connection* connection = nullptr;  // null while the client is away
  std::map<std::string, SubscriptionOptions, std::less<>> subscriptions;  // by full filter
  bool read_checks = false;                           // a subscription needs may_read() per message
  std::map<std::uint16_t, PendingDelivery> inflight;  // QoS 1 sent, awaiting PUBACK
  std::deque<PendingDelivery> queue;                  // QoS 1 beyond the window, or while away
  std::size_t queued_bytes = 0;
  std::set<std::uint16_t> awaiting_pubrel;  // QoS 2 packet ids received, PUBREL not yet
  std::uint16_t next_packet_id = 1;
  std::uint16_t send_window = 64;      // min(the client's Receive Maximum, max_inflight)
  std::uint32_t expiry_interval = 0;   // seconds the session outlives its connection
  std::optional<MonoTime> expires_at;  // while away
  std::optional<Will> will;            // of the current (or last) connection
  std::optional<MonoTime> will_at;     // a delayed will, while away
};

struct Broker::Connection {
  Connection(ConnectionId i, std::string a, ConnectionSink& s, std::size_t max_packet, MonoTime t)
      : id(i), address(std::move(a)), sink(&s), reader(max_packet), opened(t), last_packet(t) {}

  enum class State { awaiting_connect, authenticating, connected };
  ConnectionId id;
  std::string address;
  ConnectionSink* sink;
  MqttReader reader;
  State state = State::awaiting_connect;
  Session* session = nullptr;
  std::optional<Connect> connect;  // while authenticating
  bool assigned_id = false;        // the broker chose the client id
  std::string parked;              // bytes that arrived while authenticating
  bool receiving = false;          // inside receive(): authenticated() waits for it
  std::optional<AuthResult> auth;  // an answer that arrived inside receive()
  MonoTime opened;
  MonoTime last_packet;
  std::uint16_t keep_alive = 0;
  int version = kMqtt5;
  std::size_t client_max_packet = 0;  // v5 Maximum Packet Size; 0: none
};

}  // namespace sluice::mqtt
