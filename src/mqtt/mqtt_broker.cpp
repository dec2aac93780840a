// The broker's connections and sessions: CONNECT and its authentication, takeover, DISCONNECT,
// keep-alive, wills, session expiry. Publishing and subscribing are in mqtt_broker_routing.cpp.
#include <algorithm>

#include "mqtt/mqtt_broker.hpp"
#include "mqtt/mqtt_broker_state.hpp"

namespace sluice::mqtt {
namespace {

constexpr std::size_t kAssignedIdLength = 23;  // what every 3.1.1 server must accept

std::chrono::seconds seconds(std::uint32_t s) {
  return std::chrono::seconds(s);
}

}  // namespace

Broker::Broker(BrokerHooks& hooks, BrokerOptions options)
    : hooks_(hooks), options_(options), retained_(options.retained) {}

Broker::~Broker() = default;

Broker::Connection* Broker::find(ConnectionId id) {
  auto it = connections_.find(id);
  return it == connections_.end() ? nullptr : it->second.get();
}

ConnectionId Broker::open(std::string address, ConnectionSink& sink, MonoTime now) {
  const ConnectionId id = next_id_++;
  connections_.emplace(id, std::make_unique<Connection>(id, std::move(address), sink,
                                                        options_.max_packet_size, now));
  return id;
}

void Broker::forget(Connection& c) {
  auto* sink = c.sink;
  connections_.erase(c.id);  // `c` is gone
  sink->close();
}

void Broker::send(Connection& c, const Packet& packet) {
  scratch_.clear();
  if (encode_to(scratch_, packet, c.version)) c.sink->send(scratch_);
}

void Broker::receive(ConnectionId id, std::string_view bytes, MonoTime now) {
  Connection* c = find(id);
  if (!c) return;
  if (c->state == Connection::State::authenticating) {
    c->parked.append(bytes);
    if (c->parked.size() > 2 * options_.max_packet_size) {
      end_connection(*c, now, false, ReasonCode::receive_maximum_exceeded,
                     "too much sent before the CONNACK", false);
    }
    return;
  }
  // Packets the reader already holds first (those that came with the CONNECT), then the bytes.
  for (;;) {
    c->receiving = true;
    process(*c, now);
    c = find(id);
    if (!c) return;
    c->receiving = false;
    if (c->auth) {  // answered from inside authenticate(): finish the CONNECT now
      auto result = std::move(*c->auth);
      c->auth.reset();
      c->parked.append(bytes);
      return authenticated(id, std::move(result), now);
    }
    if (c->state == Connection::State::authenticating) {
      c->parked.append(bytes);
      return;
    }
    if (bytes.empty()) return;
    bytes.remove_prefix(c->reader.feed(bytes));
  }
}

void Broker::process(Connection& c, MonoTime now) {
  const ConnectionId id = c.id;
  for (auto r = c.reader.next(); !r.needs_more(); r = c.reader.next()) {
    if (r.has_error()) return protocol_error(c, r.error(), now);
    c.last_packet = now;
    handle(c, r.packet(), now);
    Connection* still = find(id);
    if (!still || still->state == Connection::State::authenticating) return;
  }
}

void Broker::handle(Connection& c, Packet& packet, MonoTime now) {
  if (auto* connect = std::get_if<Connect>(&packet)) return on_connect(c, *connect, now);
  if (c.state != Connection::State::connected) {
    return protocol_error(c, {ReasonCode::protocol_error, "a packet before the CONNACK"}, now);
  }
  if (auto* p = std::get_if<Publish>(&packet)) return on_publish(c, *p, now);
  if (auto* p = std::get_if<Puback>(&packet)) return on_puback(c, *p, now);
  if (auto* p = std::get_if<Pubrel>(&packet)) {
    const bool known = c.session->awaiting_pubrel.erase(p->packet_id) > 0;
    return send(c, Pubcomp{p->packet_id,
                           known ? ReasonCode::success : ReasonCode::packet_identifier_not_found,
                           {}});
  }
  if (auto* p = std::get_if<Subscribe>(&packet)) return on_subscribe(c, *p, now);
  if (auto* p = std::get_if<Unsubscribe>(&packet)) return on_unsubscribe(c, *p);
  if (std::holds_alternative<Pingreq>(packet)) return send(c, Pingresp{});
  if (auto* d = std::get_if<Disconnect>(&packet)) {
    if (d->properties.session_expiry_interval && c.session->expiry_interval != 0) {
      c.session->expiry_interval =
          std::min(*d->properties.session_expiry_interval, options_.max_session_expiry);
    }
    const bool will = d->reason_code == ReasonCode::disconnect_with_will_message;
    return end_connection(c, now, will, ReasonCode::normal_disconnection, {}, false);
  }
  if (std::holds_alternative<Pubrec>(packet) || std::holds_alternative<Pubcomp>(packet)) {
    return;  // the broker sends no QoS 2: nothing of its own to acknowledge
  }
  return protocol_error(c,
                        {ReasonCode::protocol_error,
                         std::string(packet_type_name(packet_type(packet))) + " is not supported"},
                        now);
}

void Broker::on_connect(Connection& c, Connect& connect, MonoTime now) {
  c.version = connect.protocol_version;
  if (connect.properties.authentication_method) {
    return refuse_connect(c, ReasonCode::bad_authentication_method,
                          "enhanced authentication is not supported");
  }
  if (connect.client_id.empty()) {
    if (!connect.clean_start && c.version == kMqtt311) {
      return refuse_connect(c, ReasonCode::client_identifier_not_valid,
                            "an empty client id needs a clean session");
    }
    std::string id = "sluice-" + std::to_string(++assigned_ids_) + "-" + std::to_string(c.id);
    connect.client_id = id.substr(0, kAssignedIdLength);
    c.assigned_id = true;
  }
  c.keep_alive = connect.keep_alive;
  if (connect.properties.maximum_packet_size) {
    c.client_max_packet = *connect.properties.maximum_packet_size;
  }
  AuthRequest request{c.id, c.address, connect.client_id, connect.username, connect.password};
  c.connect = std::move(connect);
  c.state = Connection::State::authenticating;
  hooks_.authenticate(request);
}

void Broker::authenticated(ConnectionId id, AuthResult result, MonoTime now) {
  Connection* c = find(id);
  if (!c || c->state != Connection::State::authenticating) return;
  if (c->receiving) {  // called from inside authenticate(): receive() finishes it
    c->auth = std::move(result);
    return;
  }
  if (is_failure(result.reason)) {
    return refuse_connect(*c, result.reason, "the credentials were refused");
  }
  ClientInfo client{c->connect->client_id, c->address, c->version, std::move(result.principal)};
  if (c->connect->will && !hooks_.may_publish(client, c->connect->will->topic)) {
    return refuse_connect(*c, ReasonCode::not_authorized,
                          "the will's topic may not be published by this client");
  }
  auto existing = sessions_.find(client.client_id);
  if (existing == sessions_.end() && sessions_.size() >= options_.max_sessions) {
    return refuse_connect(*c, ReasonCode::server_busy, "too many sessions");
  }
  if (existing != sessions_.end()) {
    Session& old = *existing->second;
    if (old.connection) {
      end_connection(*old.connection, now, true, ReasonCode::session_taken_over,
                     "another connection took the session over", true);
    }
    existing = sessions_.find(client.client_id);  // ending it may have dropped the session
  }
  const Connect connect = std::move(*c->connect);
  c->connect.reset();
  bool present = false;
  if (existing != sessions_.end() && connect.clean_start) {
    drop_session(*existing->second, now);
    existing = sessions_.end();
  }
  Session* s = nullptr;
  if (existing == sessions_.end()) {
    auto made = std::make_unique<Session>();
    made->client_id = client.client_id;
    s = made.get();
    sessions_.emplace(client.client_id, std::move(made));
  } else {
    s = existing->second.get();
    present = true;
    if (s->will_at) {  // came back before its delayed will was due: no will
      s->will.reset();
      s->will_at.reset();
    }
  }
  s->client = std::move(client);
  s->connection = c;
  s->expires_at.reset();
  s->will = connect.will;
  if (c->version == kMqtt5) {
    s->expiry_interval = std::min(connect.properties.session_expiry_interval.value_or(0),
                                  options_.max_session_expiry);
  } else {
    s->expiry_interval = connect.clean_start ? 0 : options_.max_session_expiry;
  }
  s->send_window = std::min<std::uint16_t>(connect.properties.receive_maximum.value_or(65535),
                                           options_.max_inflight);
  c->session = s;
  c->state = Connection::State::connected;
  c->last_packet = now;

  Connack ack;
  ack.session_present = present;
  if (c->version == kMqtt5) {
    if (c->assigned_id) ack.properties.assigned_client_identifier = s->client_id;
    ack.properties.maximum_packet_size = static_cast<std::uint32_t>(options_.max_packet_size);
    ack.properties.retain_available = true;
    ack.properties.wildcard_subscription_available = true;
    ack.properties.subscription_identifier_available = true;
    ack.properties.shared_subscription_available = true;
    if (s->expiry_interval != connect.properties.session_expiry_interval.value_or(0)) {
      ack.properties.session_expiry_interval = s->expiry_interval;
    }
  }
  send(*c, ack);
  ++stats_.connections;
  // A resumed session: what was in flight again (DUP), then what waited.
  for (auto& [packet_id, pending] : s->inflight) {
    send_publish(*s, *c, pending.message, pending.qos, pending.retain, pending.identifiers,
                 packet_id, true, now);
  }
  drain(*s, now);
  std::string parked = std::move(c->parked);
  c->parked.clear();
  receive(id, parked, now);  // also what the reader holds beyond the CONNECT
}

void Broker::refuse_connect(Connection& c, ReasonCode reason, std::string why) {
  ++stats_.refused_connects;
  Connack ack;
  ack.reason_code = reason;
  if (c.version == kMqtt5) ack.properties.reason_string = std::move(why);
  send(c, ack);
  forget(c);
}

void Broker::protocol_error(Connection& c, const ProtocolError& error, MonoTime now) {
  ++stats_.protocol_errors;
  if (c.state != Connection::State::connected) {
    // Before a session: a v5 CONNACK with the reason (3.1.1 has none for a broken packet).
    if (c.version == kMqtt5 || c.reader.protocol_version() == kMqtt5) {
      c.version = kMqtt5;
      return refuse_connect(c, error.reason, error.detail);
    }
    return forget(c);
  }
  end_connection(c, now, true, error.reason, error.detail, true);
}

void Broker::end_connection(Connection& c, MonoTime now, bool publish_will, ReasonCode reason,
                            std::string why, bool tell_client) {
  if (tell_client && c.version == kMqtt5 && c.state == Connection::State::connected) {
    Disconnect d;
    d.reason_code = reason;
    if (!why.empty()) d.properties.reason_string = std::move(why);
    send(c, d);
  }
  const bool counted = c.state == Connection::State::connected;
  Session* s = c.session;
  auto* sink = c.sink;
  auto owned = std::move(connections_[c.id]);
  connections_.erase(c.id);
  if (counted) --stats_.connections;
  if (s) detach(*s, now, publish_will);
  sink->close();
}

void Broker::closed(ConnectionId id, MonoTime now) {
  Connection* c = find(id);
  if (!c) return;
  Session* s = c->session;
  const bool counted = c->state == Connection::State::connected;
  connections_.erase(id);
  if (counted) --stats_.connections;
  if (s) detach(*s, now, true);
}

void Broker::detach(Session& s, MonoTime now, bool publish_will) {
  s.connection = nullptr;
  if (!publish_will) s.will.reset();
  if (s.will) {
    const std::uint32_t delay = s.will->properties.will_delay_interval.value_or(0);
    if (delay == 0 || s.expiry_interval == 0) {
      publish_will_now(s, now);
    } else {
      s.will_at = now + seconds(std::min(delay, s.expiry_interval));
    }
  }
  if (s.expiry_interval == 0) return drop_session(s, now);
  s.expires_at = now + seconds(s.expiry_interval);
}

void Broker::drop_session(Session& s, MonoTime now) {
  if (s.will_at) publish_will_now(s, now);
  unsubscribe_all(s);
  const std::string id = s.client_id;
  sessions_.erase(id);
}

void Broker::tick(MonoTime now) {
  std::vector<ConnectionId> late;
  std::vector<std::pair<ConnectionId, bool>> timed_out;  // id, connected
  for (auto& [id, c] : connections_) {
    if (c->state != Connection::State::connected) {
      if (now - c->opened > options_.connect_timeout) late.push_back(id);
    } else if (c->keep_alive > 0 && now - c->last_packet > seconds(c->keep_alive) * 3 / 2) {
      timed_out.emplace_back(id, true);
    }
  }
  for (auto id : late) {
    if (Connection* c = find(id)) {
      forget(*c);
    }
  }
  for (auto [id, connected] : timed_out) {
    if (Connection* c = find(id)) {
      ++stats_.keep_alive_timeouts;
      end_connection(*c, now, true, ReasonCode::keep_alive_timeout,
                     "nothing heard within 1.5 times the keep-alive", true);
    }
  }
  std::vector<std::string> wills, expired;
  for (auto& [id, s] : sessions_) {
    if (s->connection) continue;
    if (s->will_at && *s->will_at <= now) wills.push_back(id);
    if (s->expires_at && *s->expires_at <= now) expired.push_back(id);
  }
  for (const auto& id : wills) {
    if (auto it = sessions_.find(id); it != sessions_.end()) publish_will_now(*it->second, now);
  }
  for (const auto& id : expired) {
    if (auto it = sessions_.find(id); it != sessions_.end()) drop_session(*it->second, now);
  }
}

void Broker::shutdown(MonoTime now) {
  std::vector<ConnectionId> ids;
  for (auto& [id, c] : connections_)
    ids.push_back(id);
  for (auto id : ids) {
    Connection* c = find(id);
    if (!c) continue;
    if (c->state != Connection::State::connected) {
      forget(*c);
      continue;
    }
    end_connection(*c, now, true, ReasonCode::server_shutting_down, "sluiced is stopping", true);
  }
}

BrokerStats Broker::stats() const {
  BrokerStats s = stats_;
  s.sessions = sessions_.size();
  s.subscriptions = tree_.size();
  s.retained = retained_.size();
  return s;
}

std::vector<std::string> Broker::connected_clients() const {
  std::vector<std::string> out;
  for (const auto& [id, s] : sessions_) {
    if (s->connection) out.push_back(id);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace sluice::mqtt
