// The broker's messages: PUBLISH from clients (QoS 0, 1 and 2), wills, messages injected by the
// hub bridge, subscriptions and retained messages, and each session's deliveries (QoS 1 in-flight
// window, the queue behind it). Connections and sessions are in mqtt_broker.cpp.
#include <algorithm>

#include "mqtt/mqtt_broker.hpp"
#include "mqtt/mqtt_broker_state.hpp"
#include "mqtt/mqtt_topic.hpp"
#include "mqtt/mqtt_wire.hpp"

namespace sluice::mqtt {
namespace {

// A PUBLISH in its wire form, written straight from the shared message (no Publish value, no
// copy of the payload but into `out`). `properties` null: the message's own (v5).
void append_publish(std::string& out, int version, const Message& m, std::uint8_t qos, bool retain,
                    bool dup, std::uint16_t packet_id, const Properties* properties,
                    std::string& props_scratch) {
  std::size_t props_size = 0;
  if (version == kMqtt5) {
    props_scratch.clear();
    wire::write_properties(props_scratch, properties ? *properties : m.properties);
    props_size = props_scratch.size();
  }
  const std::size_t remaining =
      2 + m.topic.size() + (qos > 0 ? 2 : 0) + props_size + m.payload.size();
  out.reserve(out.size() + 5 + remaining);
  wire::put_u8(out,
               static_cast<std::uint8_t>(0x30 | (dup ? 0x08 : 0) | qos << 1 | (retain ? 0x01 : 0)));
  wire::put_varint(out, static_cast<std::uint32_t>(remaining));
  wire::put_prefixed(out, m.topic);
  if (qos > 0) wire::put_u16(out, packet_id);
  if (version == kMqtt5) out += props_scratch;
  out += m.payload;
}

std::size_t cost(const PendingDelivery& p) {
  return p.message->topic.size() + p.message->payload.size() + 64;
}

}  // namespace

void Broker::on_publish(Connection& c, Publish& p, MonoTime now) {
  Session& s = *c.session;
  ++stats_.received;
  if (p.properties.topic_alias) {
    return end_connection(c, now, true, ReasonCode::topic_alias_invalid,
                          "topic aliases are not accepted (Topic Alias Maximum is 0)", true);
  }
  if (p.qos == 2 && s.awaiting_pubrel.contains(p.packet_id)) {  // a resent QoS 2: once only
    return send(c, Pubrec{p.packet_id, ReasonCode::success, {}});
  }
  const bool allowed = hooks_.may_publish(s.client, p.topic);
  if (!allowed) ++stats_.refused_publishes;
  if (allowed) {
    p.properties.subscription_identifiers.clear();
    publish_from(s, std::move(p.topic), std::move(p.payload), p.qos, p.retain,
                 std::move(p.properties), now);
  }
  const ReasonCode reason = allowed ? ReasonCode::success : ReasonCode::not_authorized;
  if (p.qos == 1) return send(c, Puback{p.packet_id, reason, {}});
  if (p.qos == 2) {
    if (allowed) s.awaiting_pubrel.insert(p.packet_id);
    return send(c, Pubrec{p.packet_id, reason, {}});
  }
}

void Broker::inject(const MessagePtr& message, MonoTime now) {
  ++stats_.injected;
  route(message, nullptr, now);
}

void Broker::publish_will_now(Session& s, MonoTime now) {
  if (!s.will) return;
  Will will = std::move(*s.will);
  s.will.reset();
  s.will_at.reset();
  ++stats_.wills_published;
  will.properties.will_delay_interval.reset();
  publish_from(s, std::move(will.topic), std::move(will.payload), will.qos, will.retain,
               std::move(will.properties), now);
}

void Broker::publish_from(Session& s, std::string topic, std::string payload, std::uint8_t qos,
                          bool retain, Properties properties, MonoTime now) {
  auto m = std::make_shared<Message>();
  m->topic = std::move(topic);
  m->payload = std::move(payload);
  m->qos = qos;
  m->retain = retain;
  m->properties = std::move(properties);
  m->received_at = now;
  MessagePtr message = std::move(m);
  if (!hooks_.on_publish(s.client, message)) return;
  if (message->retain) retained_.store(message);
  route(message, &s, now);
}

void Broker::route(const MessagePtr& message, const Session* publisher, MonoTime now) {
  std::vector<SubscriptionMatch> matches;
  matches.swap(matches_);  // a will published on the way may route again
  tree_.match(message->topic, publisher, matches);
  for (auto& m : matches) {
    auto& s = *const_cast<Session*>(static_cast<const Session*>(m.subscriber));
    if (s.read_checks && !hooks_.may_read(s.client, message->topic)) continue;
    const std::uint8_t qos = std::min<std::uint8_t>({m.qos, message->qos, 1});
    deliver(s, message, qos, m.retain_as_published && message->retain, std::move(m.identifiers),
            now);
  }
  matches.swap(matches_);
}

void Broker::deliver(Session& s, const MessagePtr& message, std::uint8_t qos, bool retain,
                     std::vector<std::uint32_t> identifiers, MonoTime now) {
  if (qos == 0) {
    if (!s.connection) return;  // QoS 0 is not kept for clients that are away
    if (s.connection->sink->backlog() > options_.max_sink_backlog) {
      ++stats_.dropped_backlog;
      return;
    }
    return send_publish(s, *s.connection, message, 0, retain, identifiers, 0, false, now);
  }
  PendingDelivery pending{message, qos, retain, std::move(identifiers)};
  if (s.connection && s.queue.empty() && s.inflight.size() < s.send_window) {
    return send_inflight(s, std::move(pending), now);
  }
  if (s.queue.size() >= options_.max_queued_messages ||
      s.queued_bytes + cost(pending) > options_.max_queued_bytes) {
    ++stats_.dropped_queue;  // overflow policy: drop-newest
    return;
  }
  s.queued_bytes += cost(pending);
  s.queue.push_back(std::move(pending));
}

void Broker::send_inflight(Session& s, PendingDelivery pending, MonoTime now) {
  std::uint16_t id = s.next_packet_id;
  while (s.inflight.contains(id) || id == 0)
    id = static_cast<std::uint16_t>(id + 1);
  s.next_packet_id = static_cast<std::uint16_t>(id + 1);
  auto& sent = s.inflight.emplace(id, std::move(pending)).first->second;
  send_publish(s, *s.connection, sent.message, sent.qos, sent.retain, sent.identifiers, id, false,
               now);
}

void Broker::drain(Session& s, MonoTime now) {
  while (s.connection && !s.queue.empty() && s.inflight.size() < s.send_window) {
    PendingDelivery next = std::move(s.queue.front());
    s.queue.pop_front();
    s.queued_bytes -= cost(next);
    if (auto left = next.message->expiry_left(now); left && *left == 0) {
      ++stats_.dropped_expired;
      continue;
    }
    send_inflight(s, std::move(next), now);
  }
}

void Broker::send_publish(Session& s, Connection& c, const MessagePtr& message, std::uint8_t qos,
                          bool retain, const std::vector<std::uint32_t>& identifiers,
                          std::uint16_t packet_id, bool dup, MonoTime now) {
  const auto left = message->expiry_left(now);
  if (left && *left == 0) {
    ++stats_.dropped_expired;
    if (qos > 0) s.inflight.erase(packet_id);
    return;
  }
  Properties adjusted;
  const Properties* properties = nullptr;
  if (c.version == kMqtt5 && (left || !identifiers.empty())) {
    adjusted = message->properties;
    if (left) adjusted.message_expiry_interval = *left;
    adjusted.subscription_identifiers = identifiers;
    properties = &adjusted;
  }
  scratch_.clear();
  append_publish(scratch_, c.version, *message, qos, retain, dup, packet_id, properties,
                 props_scratch_);
  if (c.client_max_packet != 0 && scratch_.size() > c.client_max_packet) {
    if (qos > 0) s.inflight.erase(packet_id);  // MQTT-3.1.2-25: discarded, as if sent
    return;
  }
  ++stats_.delivered;
  c.sink->send(scratch_);
}

void Broker::on_puback(Connection& c, const Puback& ack, MonoTime now) {
  Session& s = *c.session;
  if (s.inflight.erase(ack.packet_id) > 0) drain(s, now);
}

void Broker::on_subscribe(Connection& c, Subscribe& subscribe, MonoTime now) {
  Session& s = *c.session;
  const std::uint32_t identifier = subscribe.properties.subscription_identifiers.empty()
                                       ? 0
                                       : subscribe.properties.subscription_identifiers.front();
  Suback ack;
  ack.packet_id = subscribe.packet_id;
  struct Retained {
    std::string filter;
    std::uint8_t qos;
    bool per_message;
  };
  std::vector<Retained> to_send;
  for (const auto& sub : subscribe.subscriptions) {
    auto valid = check_topic_filter(sub.filter);
    auto shared = parse_shared_subscription(sub.filter);
    const bool is_shared = shared && *shared;
    if (valid && is_shared && sub.no_local) {
      return protocol_error(
          c, {ReasonCode::protocol_error, "No Local on a shared subscription (MQTT-3.8.3-4)"}, now);
    }
    if (!valid) {
      ++stats_.refused_subscribes;
      ack.reason_codes.push_back(ReasonCode::topic_filter_invalid);
      continue;
    }
    const std::string_view plain = is_shared ? (*shared)->filter : std::string_view(sub.filter);
    const bool existed = s.subscriptions.contains(sub.filter);
    if (!existed && s.subscriptions.size() >= options_.max_subscriptions_per_session) {
      ++stats_.refused_subscribes;
      ack.reason_codes.push_back(ReasonCode::quota_exceeded);
      continue;
    }
    const SubscribeVerdict verdict = hooks_.may_subscribe(s.client, plain);
    if (verdict == SubscribeVerdict::refused) {
      ++stats_.refused_subscribes;
      ack.reason_codes.push_back(ReasonCode::not_authorized);
      continue;
    }
    SubscriptionOptions options{std::min<std::uint8_t>(sub.qos, 1), sub.no_local,
                                sub.retain_as_published, sub.retain_handling, identifier};
    if (verdict == SubscribeVerdict::per_message) s.read_checks = true;
    s.subscriptions[sub.filter] = options;
    if (tree_.add(sub.filter, &s, options)) hooks_.on_filter(plain, true);
    ack.reason_codes.push_back(granted_qos(options.qos));
    const bool wants_retained =
        sub.retain_handling == RetainHandling::send_on_subscribe ||
        (sub.retain_handling == RetainHandling::send_if_new_subscription && !existed);
    if (wants_retained && !is_shared) {
      to_send.push_back({sub.filter, options.qos, verdict == SubscribeVerdict::per_message});
    }
  }
  send(c, ack);
  for (const auto& r : to_send) {
    for (const auto& message : retained_.matching(r.filter, now)) {
      if (r.per_message && !hooks_.may_read(s.client, message->topic)) continue;
      std::vector<std::uint32_t> ids;
      if (identifier != 0) ids.push_back(identifier);
      deliver(s, message, std::min(r.qos, message->qos), true, std::move(ids), now);
    }
  }
}

void Broker::on_unsubscribe(Connection& c, Unsubscribe& unsubscribe) {
  Session& s = *c.session;
  Unsuback ack;
  ack.packet_id = unsubscribe.packet_id;
  for (const auto& filter : unsubscribe.filters) {
    auto it = s.subscriptions.find(filter);
    if (it == s.subscriptions.end()) {
      ack.reason_codes.push_back(ReasonCode::no_subscription_existed);
      continue;
    }
    s.subscriptions.erase(it);
    if (tree_.remove(filter, &s)) {
      auto shared = parse_shared_subscription(filter);
      hooks_.on_filter(shared && *shared ? (*shared)->filter : std::string_view(filter), false);
    }
    ack.reason_codes.push_back(ReasonCode::success);
  }
  send(c, ack);
}

void Broker::unsubscribe_all(Session& s) {
  for (const auto& [filter, options] : s.subscriptions) {
    if (tree_.remove(filter, &s)) {
      auto shared = parse_shared_subscription(filter);
      hooks_.on_filter(shared && *shared ? (*shared)->filter : std::string_view(filter), false);
    }
  }
  s.subscriptions.clear();
}

}  // namespace sluice::mqtt
