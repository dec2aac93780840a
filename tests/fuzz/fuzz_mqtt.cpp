// MQTT from the network (what a broker's TCP or WebSocket connection delivers): the first byte
// picks how the rest reaches an MqttReader — as is, after a synthetic 3.1.1 or 5.0 CONNECT, or
// to a client's reader — whether it comes whole or in small pieces, and whether the packet limit
// is the default or tiny. The reader never holds more than its limit, an error is final, and
// every packet it yields encodes and decodes back equal. The input is also cut in two and run
// through the topic functions, whose answers must agree with each other. Last, the broker: three
// connections (a synthetic CONNECT of each version first, then the input split among them, with
// ticks and a dropped connection on the way) — no crash, no hang, counters that add up, and every
// byte it writes is a packet a client's reader accepts.
#include <cstdint>
#include <string>
#include <string_view>

#include "mqtt/mqtt_broker.hpp"
#include "mqtt/mqtt_packet.hpp"
#include "mqtt/mqtt_reader.hpp"
#include "mqtt/mqtt_topic.hpp"
#include "mqtt/mqtt_utf8.hpp"

namespace {

using namespace sluice::mqtt;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

// Decodes one whole encoded packet (as encode() writes it).
MqttResult<Packet> decode_whole(std::string_view wire, int version) {
  std::size_t at = 1, remaining = 0;
  for (int shift = 0;; shift += 7) {
    check(at < wire.size());
    const auto byte = static_cast<std::uint8_t>(wire[at++]);
    remaining |= static_cast<std::size_t>(byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) break;
  }
  check(wire.size() == at + remaining);
  return decode_packet(static_cast<std::uint8_t>(wire[0]), wire.substr(at), version);
}

void read_stream(std::uint8_t mode, std::string_view input) {
  const std::size_t limit = (mode & 0x10) ? 64 : kDefaultMaxPacketSize;
  const int client_version = (mode & 0x04) ? kMqtt5 : kMqtt311;
  MqttReader reader =
      (mode & 0x03) == 3 ? MqttReader::for_client(client_version, limit) : MqttReader(limit);
  std::string stream;
  if ((mode & 0x03) == 1 || (mode & 0x03) == 2) {
    Connect connect;
    connect.protocol_version = (mode & 0x03) == 1 ? kMqtt311 : kMqtt5;
    connect.client_id = "fuzz";
    stream = *encode(connect, connect.protocol_version);
  }
  stream += input;
  const std::size_t piece = (mode & 0x08) ? 1 + (mode >> 5) : stream.size();
  bool failed = false;
  for (std::string_view rest = stream; !rest.empty();) {
    const std::size_t taken = reader.feed(rest.substr(0, piece));
    check(taken <= piece && reader.buffered() <= reader.max_packet_size());
    rest.remove_prefix(taken);
    for (auto r = reader.next(); !r.needs_more(); r = reader.next()) {
      if (r.has_error()) {
        check(is_failure(r.error().reason) && !r.error().detail.empty());
        check(reader.failed() && reader.next().has_error());
        failed = true;
        break;
      }
      check(!failed);
      const Packet& packet = r.packet();
      const int version = reader.protocol_version();
      check(version == kMqtt311 || version == kMqtt5);
      auto wire = encode(packet, version);
      check(wire.has_value());
      auto again = decode_whole(*wire, version);
      check(again.has_value() && *again == packet);
    }
    if (failed) break;
  }
}

void check_topics(std::string_view input) {
  const std::size_t cut = input.find('\n');
  const std::string_view filter = input.substr(0, cut);
  const std::string_view topic = cut == std::string_view::npos ? "" : input.substr(cut + 1);
  const bool filter_ok = check_topic_filter(filter).has_value();
  const bool topic_ok = check_topic_name(topic).has_value();
  auto shared = parse_shared_subscription(filter);
  if (shared && *shared) {
    // (Its inner filter follows the plain rules: "$share/g/$share/x" is valid.)
    check(filter_ok && !(*shared)->share_name.empty() && !(*shared)->filter.empty());
    check(filter.ends_with((*shared)->filter));
  }
  if (topic_ok) {
    check(is_mqtt_string(topic) && !topic.empty());
    check(matches(topic, topic));  // a topic name is a filter that matches itself
    check(matches("#", topic) == (topic.front() != '$'));
    check(check_topic_filter(topic).has_value() || topic.starts_with("$share/"));
  }
  if (filter_ok && topic_ok) (void)matches(filter, topic);
  (void)matches(filter, filter);
  (void)is_well_formed_utf8(input);
}

struct FuzzSink : ConnectionSink {
  explicit FuzzSink(int version) : reader(MqttReader::for_client(version)) {}
  MqttReader reader;
  bool closed = false;
  void send(std::string_view bytes) override {
    check(!closed);
    for (std::string_view rest = bytes; !rest.empty();) {
      rest.remove_prefix(reader.feed(rest));
      for (auto r = reader.next(); !r.needs_more(); r = reader.next())
        check(r.has_packet());  // the broker writes only well-formed packets
    }
  }
  std::size_t backlog() const override { return 0; }
  void close() override { closed = true; }
};

struct FuzzHooks : BrokerHooks {
  Broker* broker = nullptr;
  void authenticate(const AuthRequest& r) override {
    AuthResult result;
    if (r.username && *r.username == "no") result.reason = ReasonCode::not_authorized;
    broker->authenticated(r.connection, result, {});
  }
  bool may_publish(const ClientInfo&, std::string_view topic) override {
    return !topic.starts_with("deny");
  }
  SubscribeVerdict may_subscribe(const ClientInfo&, std::string_view filter) override {
    return filter.starts_with("deny") ? SubscribeVerdict::refused : SubscribeVerdict::per_message;
  }
  bool may_read(const ClientInfo&, std::string_view topic) override {
    return !topic.starts_with("hidden");
  }
  bool on_publish(const ClientInfo&, const MessagePtr& m) override {
    return !m->topic.starts_with("maestra");
  }
};

void drive_broker(std::string_view input) {
  FuzzHooks hooks;
  BrokerOptions options;
  options.max_queued_messages = 8;
  options.max_inflight = 2;
  Broker broker(hooks, options);
  hooks.broker = &broker;
  sluice::MonoTime now{};
  FuzzSink sinks[3] = {FuzzSink(kMqtt311), FuzzSink(kMqtt5), FuzzSink(kMqtt5)};
  ConnectionId ids[3];
  for (int i = 0; i < 3; ++i) {
    ids[i] = broker.open("10.0.0." + std::to_string(i), sinks[i], now);
    Connect connect;
    connect.protocol_version = i == 0 ? kMqtt311 : kMqtt5;
    connect.client_id = i == 2 ? "c0" : "c" + std::to_string(i);  // the third takes c0 over
    connect.clean_start = i != 1;
    broker.receive(ids[i], *encode(connect, connect.protocol_version), now);
  }
  // Pieces of the input go to the connections in turn; a 0xFF byte ticks the clock on.
  std::size_t at = 0;
  for (int turn = 0; at < input.size() && turn < 64; ++turn) {
    const std::size_t n = std::min<std::size_t>(input.size() - at, 1 + (turn * 7) % 97);
    const int who = turn % 3;
    if (static_cast<std::uint8_t>(input[at]) == 0xFF) {
      now += std::chrono::seconds(1 + (turn % 40));
      broker.tick(now);
    }
    broker.receive(ids[who], input.substr(at, n), now);
    at += n;
    if (turn == 20) broker.closed(ids[1], now);
  }
  const BrokerStats stats = broker.stats();
  check(stats.connections <= 3 && stats.sessions <= 3);
  broker.shutdown(now);
  check(broker.stats().connections == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  if (size == 0) return 0;
  // The whole input as a session (the seeds are sessions starting with CONNECT), then the rest
  // of it in the mode its first byte picks.
  read_stream(0, input);
  read_stream(static_cast<std::uint8_t>(data[0]), input.substr(1));
  check_topics(input);
  drive_broker(input);
  return 0;
}
