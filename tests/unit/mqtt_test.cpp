// The MQTT codec (sans I/O): every packet type written and read back in 3.1.1 and 5.0, the
// streaming reader (fragments, limits, roles, sticky errors), malformed input refused with the
// reason a broker would answer, v5 properties, UTF-8 rules, and topic names, filters, matching
// and shared subscriptions.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "mqtt/mqtt_packet.hpp"
#include "mqtt/mqtt_reader.hpp"
#include "mqtt/mqtt_topic.hpp"
#include "mqtt/mqtt_utf8.hpp"

namespace sluice::mqtt {
namespace {

using namespace std::string_literals;

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (const int v : values)
    out += static_cast<char>(v);
  return out;
}

std::string encoded(const Packet& packet, int version) {
  auto out = encode(packet, version);
  EXPECT_TRUE(out.has_value()) << out.error().detail;
  return out.value_or("");
}

// Splits one whole encoded packet into its first byte and body and decodes it.
MqttResult<Packet> decoded(std::string_view wire, int version) {
  if (wire.size() < 2) return refuse(ReasonCode::malformed_packet, "test: too short");
  std::size_t at = 1, remaining = 0, shift = 0;
  for (;;) {
    const auto byte = static_cast<std::uint8_t>(wire[at++]);
    remaining |= static_cast<std::size_t>(byte & 0x7F) << shift;
    shift += 7;
    if ((byte & 0x80) == 0) break;
  }
  EXPECT_EQ(wire.size(), at + remaining) << "the Remaining Length covers the body exactly";
  return decode_packet(static_cast<std::uint8_t>(wire[0]), wire.substr(at), version);
}

void expect_round_trip(const Packet& packet, int version) {
  const std::string wire = encoded(packet, version);
  auto back = decoded(wire, version);
  ASSERT_TRUE(back.has_value()) << packet_type_name(packet_type(packet)) << " v" << version << ": "
                                << back.error().detail;
  EXPECT_EQ(*back, packet) << packet_type_name(packet_type(packet)) << " v" << version;
}

void expect_refused(const MqttResult<Packet>& result, ReasonCode reason, std::string_view says) {
  ASSERT_FALSE(result.has_value()) << "accepted; expected: " << says;
  EXPECT_EQ(result.error().reason, reason)
      << reason_name(result.error().reason) << ": " << result.error().detail;
  EXPECT_NE(result.error().detail.find(says), std::string::npos) << result.error().detail;
}

// A server's reader that has already read a CONNECT of `version`.
MqttReader connected_server(int version, std::size_t max = kDefaultMaxPacketSize) {
  MqttReader reader(max);
  Connect c;
  c.protocol_version = version;
  c.client_id = "test";
  const std::string wire = encoded(c, version);
  EXPECT_EQ(reader.feed(wire), wire.size());
  auto r = reader.next();
  EXPECT_TRUE(r.has_packet());
  EXPECT_EQ(reader.protocol_version(), version);
  return reader;
}

// Feeds `wire` to `reader` and returns what next() says then.
ReadResult read_one(MqttReader& reader, std::string_view wire) {
  EXPECT_EQ(reader.feed(wire), wire.size());
  return reader.next();
}

Properties all_publish_properties() {
  Properties p;
  p.payload_format_indicator = 1;
  p.message_expiry_interval = 3600;
  p.content_type = "application/json";
  p.response_topic = "reply/here";
  p.correlation_data = "\x00\x01\xff"s;
  p.subscription_identifiers = {1, 268435455};
  p.topic_alias = 7;
  p.user_properties = {{"k", "v"}, {"k", "v2"}, {"", ""}};
  return p;
}

Properties all_connack_properties() {
  Properties p;
  p.session_expiry_interval = 0xFFFFFFFF;
  p.assigned_client_identifier = "auto-1";
  p.server_keep_alive = 30;
  p.authentication_method = "SCRAM-SHA-256";
  p.authentication_data = "\x00\x10"s;
  p.response_information = "resp/";
  p.server_reference = "other:1883";
  p.reason_string = "welcome";
  p.receive_maximum = 100;
  p.topic_alias_maximum = 10;
  p.maximum_qos = 1;
  p.retain_available = true;
  p.user_properties = {{"node", "sluice"}};
  p.maximum_packet_size = 262144;
  p.wildcard_subscription_available = true;
  p.subscription_identifier_available = false;
  p.shared_subscription_available = false;
  return p;
}

// ---------------------------------------------------------------------------------------------
// Round trips

TEST(MqttCodec, EveryPacketTypeRoundTripsInMqtt5) {
  Connect connect;
  connect.protocol_version = kMqtt5;
  connect.clean_start = false;
  connect.keep_alive = 15;
  connect.client_id = "esp32-1";
  connect.username = "user";
  connect.password = "\x00pw\xff"s;
  connect.properties.session_expiry_interval = 60;
  connect.properties.receive_maximum = 20;
  connect.properties.maximum_packet_size = 1024;
  connect.properties.topic_alias_maximum = 5;
  connect.properties.request_problem_information = false;
  connect.properties.request_response_information = true;
  connect.properties.authentication_method = "PLAIN";
  connect.properties.authentication_data = "abc";
  connect.properties.user_properties = {{"a", "b"}};
  Will will{"w/t", "bye\x00"s, 1, true, {}};
  will.properties.will_delay_interval = 5;
  will.properties.payload_format_indicator = 0;
  will.properties.message_expiry_interval = 10;
  will.properties.content_type = "text/plain";
  will.properties.response_topic = "r";
  will.properties.correlation_data = "c";
  will.properties.user_properties = {{"x", "y"}};
  connect.will = will;

  Publish publish{true, 1, true, "sensors/t1", 42, "21.5", all_publish_properties()};
  Publish aliased{false, 2, false, "", 9, "", {}};
  aliased.properties.topic_alias = 3;
  Subscription sub{"a/+/c", 2, true, true, RetainHandling::do_not_send};
  Subscribe subscribe{
      7, {sub, {"$share/g/x/#", 1, false, false, RetainHandling::send_if_new_subscription}}, {}};
  subscribe.properties.subscription_identifiers = {99};
  subscribe.properties.user_properties = {{"s", "t"}};
  Properties reason;
  reason.reason_string = "why";
  reason.user_properties = {{"u", "v"}};

  const std::vector<Packet> packets = {
      connect,
      Connect{kMqtt5, true, 0, "", std::nullopt, std::nullopt, std::nullopt, {}},
      Connect{kMqtt5, true, 0, "", std::nullopt, std::nullopt, "password-only", {}},
      Connack{true, ReasonCode::success, all_connack_properties()},
      Connack{false, ReasonCode::not_authorized, {}},
      publish,
      aliased,
      Publish{false, 0, false, "a", 0, std::string(70000, 'x'), {}},
      Puback{1, ReasonCode::success, {}},
      Puback{2, ReasonCode::no_matching_subscribers, {}},
      Puback{3, ReasonCode::success, reason},
      Pubrec{65535, ReasonCode::quota_exceeded, reason},
      Pubrel{4, ReasonCode::packet_identifier_not_found, {}},
      Pubcomp{5, ReasonCode::success, {}},
      subscribe,
      Suback{
          7, {ReasonCode::granted_qos_2, ReasonCode::shared_subscriptions_not_supported}, reason},
      Unsubscribe{8, {"a/+/c", "#"}, {}},
      Unsuback{8, {ReasonCode::success, ReasonCode::no_subscription_existed}, reason},
      Pingreq{},
      Pingresp{},
      Disconnect{},
      Disconnect{ReasonCode::disconnect_with_will_message, {}},
      Disconnect{ReasonCode::session_taken_over,
                 [] {
                   Properties p;
                   p.session_expiry_interval = 0;
                   p.server_reference = "elsewhere";
                   p.reason_string = "bye";
                   return p;
                 }()},
      Auth{},
      Auth{ReasonCode::continue_authentication,
           [] {
             Properties p;
             p.authentication_method = "SCRAM-SHA-1";
             p.authentication_data = "client-first";
             return p;
           }()},
  };
  for (const auto& p : packets)
    expect_round_trip(p, kMqtt5);
}

TEST(MqttCodec, EveryPacketTypeRoundTripsInMqtt311) {
  Connect connect{kMqtt311, true,     60, "arduino", Will{"status/arduino", "offline", 2, true, {}},
                  "user",   "secret", {}};
  const std::vector<Packet> packets = {
      connect,
      Connect{kMqtt311, false, 0, "c", std::nullopt, std::nullopt, std::nullopt, {}},
      Connack{true, ReasonCode::success, {}},
      Connack{false, ReasonCode::bad_user_name_or_password, {}},
      Publish{false, 0, true, "a/b", 0, "hello", {}},
      Publish{true, 2, false, "a/b", 77, std::string(300, '\0'), {}},
      Puback{1, ReasonCode::success, {}},
      Pubrec{2, ReasonCode::success, {}},
      Pubrel{3, ReasonCode::success, {}},
      Pubcomp{4, ReasonCode::success, {}},
      Subscribe{5, {{"a/#", 1, false, false, {}}, {"+", 0, false, false, {}}}, {}},
      Suback{5, {ReasonCode::granted_qos_1, ReasonCode::unspecified_error}, {}},
      Unsubscribe{6, {"a/#"}, {}},
      Unsuback{6, {}, {}},
      Pingreq{},
      Pingresp{},
      Disconnect{},
  };
  for (const auto& p : packets)
    expect_round_trip(p, kMqtt311);
}

TEST(MqttCodec, WritesTheSpecsWireForm) {
  EXPECT_EQ(encoded(Pingreq{}, kMqtt311), bytes({0xC0, 0x00}));
  EXPECT_EQ(encoded(Pingresp{}, kMqtt5), bytes({0xD0, 0x00}));
  EXPECT_EQ(encoded(Disconnect{}, kMqtt5), bytes({0xE0, 0x00}));
  EXPECT_EQ(encoded(Puback{0x1234, ReasonCode::success, {}}, kMqtt5),
            bytes({0x40, 0x02, 0x12, 0x34}));
  EXPECT_EQ(encoded(Puback{1, ReasonCode::no_matching_subscribers, {}}, kMqtt5),
            bytes({0x40, 0x03, 0x00, 0x01, 0x10}));
  EXPECT_EQ(encoded(Pubrel{1, ReasonCode::success, {}}, kMqtt311), bytes({0x62, 0x02, 0x00, 0x01}));
  EXPECT_EQ(encoded(Connack{false, ReasonCode::success, {}}, kMqtt5),
            bytes({0x20, 0x03, 0x00, 0x00, 0x00}));
  EXPECT_EQ(encoded(Publish{false, 1, true, "a/b", 10, "hi", {}}, kMqtt311),
            bytes({0x33, 0x09, 0x00, 0x03, 'a', '/', 'b', 0x00, 0x0A, 'h', 'i'}));
  // A 3.1.1 CONNECT as in the spec's figure 3.6 (keep alive 10, clean session).
  EXPECT_EQ(
      encoded(Connect{kMqtt311, true, 10, "c", {}, {}, {}, {}}, kMqtt311),
      bytes({0x10, 0x0D, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x02, 0x00, 0x0A, 0x00, 0x01, 'c'}));
  // 128 bytes of remaining length take two bytes.
  const std::string big = encoded(Publish{false, 0, false, "t", 0, std::string(125, 'x'), {}}, 4);
  EXPECT_EQ(big.substr(0, 3), bytes({0x30, 0x80, 0x01}));
}

TEST(MqttCodec, Mqtt311LeavesOutWhatItCannotCarryAndMapsCodes) {
  Publish p{false, 1, false, "a", 1, "x", all_publish_properties()};
  auto back = decoded(encoded(p, kMqtt311), kMqtt311);
  ASSERT_TRUE(back.has_value());
  EXPECT_TRUE(std::get<Publish>(*back).properties.empty());
  // CONNACK return codes 0..5.
  const std::pair<ReasonCode, int> connack[] = {{ReasonCode::success, 0},
                                                {ReasonCode::unsupported_protocol_version, 1},
                                                {ReasonCode::client_identifier_not_valid, 2},
                                                {ReasonCode::server_busy, 3},
                                                {ReasonCode::bad_user_name_or_password, 4},
                                                {ReasonCode::banned, 5}};
  for (const auto& [code, v311] : connack) {
    EXPECT_EQ(encoded(Connack{false, code, {}}, kMqtt311), bytes({0x20, 0x02, 0x00, v311}));
  }
  // Every SUBACK failure is 0x80; v5 subscription options are not written.
  EXPECT_EQ(encoded(Suback{1, {ReasonCode::granted_qos_1, ReasonCode::not_authorized}, {}}, 4),
            bytes({0x90, 0x04, 0x00, 0x01, 0x01, 0x80}));
  EXPECT_EQ(
      encoded(Subscribe{1, {{"t", 1, true, true, RetainHandling::do_not_send}}, {}}, kMqtt311),
      bytes({0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 't', 0x01}));
  // PUBACK reason codes and DISCONNECT reasons do not exist in 3.1.1.
  EXPECT_EQ(encoded(Puback{1, ReasonCode::quota_exceeded, {}}, kMqtt311),
            bytes({0x40, 0x02, 0x00, 0x01}));
  EXPECT_EQ(encoded(Disconnect{ReasonCode::server_shutting_down, {}}, kMqtt311),
            bytes({0xE0, 0x00}));
}

TEST(MqttCodec, EncodeRefusesWhatDecodeWouldRefuse) {
  auto refused = [](const Packet& p, int version, ReasonCode reason, std::string_view says) {
    auto out = encode(p, version);
    ASSERT_FALSE(out.has_value()) << says;
    EXPECT_EQ(out.error().reason, reason) << out.error().detail;
    EXPECT_NE(out.error().detail.find(says), std::string::npos) << out.error().detail;
  };
  refused(Auth{}, kMqtt311, ReasonCode::malformed_packet, "does not exist in MQTT 3.1.1");
  refused(Pingreq{}, 3, ReasonCode::unsupported_protocol_version, "neither 4");
  refused(Publish{false, 1, false, "a", 0, "", {}}, kMqtt5, ReasonCode::protocol_error,
          "packet identifier 0");
  refused(Publish{false, 3, false, "a", 1, "", {}}, kMqtt5, ReasonCode::malformed_packet, "QoS 3");
  refused(Publish{true, 0, false, "a", 0, "", {}}, kMqtt5, ReasonCode::malformed_packet, "DUP");
  refused(Publish{false, 0, false, "a/+", 0, "", {}}, kMqtt5, ReasonCode::topic_name_invalid,
          "wildcard");
  refused(Publish{false, 0, false, "", 0, "", {}}, kMqtt311, ReasonCode::topic_name_invalid,
          "empty");
  refused(Publish{false, 0, false, std::string(65536, 'a'), 0, "", {}}, kMqtt5,
          ReasonCode::topic_name_invalid, "65535");
  refused(Connect{kMqtt5, true, 0, "", {}, {}, {}, {}}, kMqtt311,
          ReasonCode::unsupported_protocol_version, "protocol_version 5");
  refused(Connect{kMqtt311, true, 0, "", {}, {}, "pw", {}}, kMqtt311, ReasonCode::malformed_packet,
          "password without a user name");
  refused(Connect{kMqtt5, true, 0, "", Will{"w/#", "", 0, false, {}}, {}, {}, {}}, kMqtt5,
          ReasonCode::topic_name_invalid, "will topic name");
  refused(Subscribe{1, {}, {}}, kMqtt5, ReasonCode::protocol_error, "no topic filters");
  refused(Subscribe{1, {{"$share/g/t", 0, true, false, {}}}, {}}, kMqtt5,
          ReasonCode::protocol_error, "no local on shared");
  refused(Suback{1, {ReasonCode::no_matching_subscribers}, {}}, kMqtt5, ReasonCode::protocol_error,
          "0x10 is not defined for SUBACK");
  refused(Unsuback{1, {}, {}}, kMqtt5, ReasonCode::protocol_error, "no reason codes");
  refused(Connack{true, ReasonCode::not_authorized, {}}, kMqtt5, ReasonCode::protocol_error,
          "session present");
  Properties alias;
  alias.topic_alias = 1;
  refused(Connack{false, ReasonCode::success, alias}, kMqtt5, ReasonCode::malformed_packet,
          "CONNACK: property topic_alias is not allowed here");
}

// ---------------------------------------------------------------------------------------------
// The reader

TEST(MqttReader, ReadsPacketsFedOneByteAtATime) {
  Publish publish{false, 1, false, "a/b", 2, std::string(1000, 'z'), all_publish_properties()};
  publish.properties.subscription_identifiers.clear();  // servers send those, not clients
  const std::vector<Packet> from_client = {
      Connect{kMqtt5, true, 30, "frag", Will{"w", "x", 1, false, {}}, "u", "p", {}},
      Subscribe{1, {{"a/#", 1, false, false, {}}}, {}},
      publish,
      Pingreq{},
      Disconnect{ReasonCode::normal_disconnection, {}},
  };
  std::string stream;
  for (const auto& p : from_client)
    stream += encoded(p, kMqtt5);
  MqttReader reader;
  std::vector<Packet> got;
  for (const char c : stream) {
    ASSERT_EQ(reader.feed(std::string_view(&c, 1)), 1u);
    for (auto r = reader.next(); !r.needs_more(); r = reader.next()) {
      ASSERT_FALSE(r.has_error()) << r.error().detail;
      got.push_back(r.packet());
    }
  }
  EXPECT_EQ(got, from_client);
  EXPECT_EQ(reader.buffered(), 0u);
  EXPECT_EQ(reader.protocol_version(), kMqtt5);
}

TEST(MqttReader, ReadsManyPacketsFromOneFeed) {
  MqttReader reader = connected_server(kMqtt311);
  std::string stream;
  for (int i = 1; i <= 100; ++i) {
    stream += encoded(
        Publish{false, 1, false, "t/" + std::to_string(i), static_cast<std::uint16_t>(i), "p", {}},
        4);
  }
  ASSERT_EQ(reader.feed(stream), stream.size());
  int n = 0;
  for (auto r = reader.next(); !r.needs_more(); r = reader.next()) {
    ASSERT_TRUE(r.has_packet()) << r.error().detail;
    EXPECT_EQ(std::get<Publish>(r.packet()).packet_id, ++n);
  }
  EXPECT_EQ(n, 100);
}

TEST(MqttReader, RefusesAnOversizePacketFromItsHeader) {
  MqttReader reader = connected_server(kMqtt5, 64);
  const std::string wire = encoded(Publish{false, 0, false, "t", 0, std::string(100, 'x'), {}}, 5);
  ASSERT_EQ(reader.feed(wire.substr(0, 2)), 2u);  // the fixed header alone
  auto r = reader.next();
  ASSERT_TRUE(r.has_error());
  EXPECT_EQ(r.error().reason, ReasonCode::packet_too_large);
  EXPECT_NE(r.error().detail.find("maximum packet size of 64"), std::string::npos);
  // The error is final; later bytes are dropped.
  EXPECT_EQ(reader.feed(wire.substr(2)), wire.size() - 2);
  EXPECT_EQ(reader.buffered(), 0u);
  EXPECT_TRUE(reader.next().has_error());
  EXPECT_TRUE(reader.failed());
  // A 64-byte packet is the largest that fits.
  MqttReader exact = connected_server(kMqtt5, 64);
  const std::string fits =
      encoded(Publish{false, 0, false, "t", 0, std::string(64 - 2 - 3 - 1, 'x'), {}}, 5);
  ASSERT_EQ(fits.size(), 64u);
  EXPECT_TRUE(read_one(exact, fits).has_packet());
}

TEST(MqttReader, HoldsAtMostOneMaximumPacketOfBytes) {
  MqttReader reader = connected_server(kMqtt311, 100);
  std::string stream;
  for (int i = 0; i < 100; ++i)
    stream += encoded(Pingreq{}, kMqtt311);  // 200 bytes of whole packets
  EXPECT_EQ(reader.feed(stream), 100u);
  EXPECT_EQ(reader.space(), 0u);
  EXPECT_EQ(reader.feed(std::string_view(stream).substr(100)), 0u);
  int read = 0;
  std::string_view rest = std::string_view(stream).substr(100);
  for (;;) {
    auto r = reader.next();
    if (r.needs_more()) {
      if (rest.empty()) break;
      rest.remove_prefix(reader.feed(rest));
      continue;
    }
    ASSERT_TRUE(r.has_packet());
    ++read;
    EXPECT_LE(reader.buffered(), 100u);
  }
  EXPECT_EQ(read, 100);
}

TEST(MqttReader, RefusesMalformedRemainingLengths) {
  {
    MqttReader reader = connected_server(kMqtt5);
    auto r = read_one(reader, bytes({0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}));
    ASSERT_TRUE(r.has_error());
    EXPECT_EQ(r.error().reason, ReasonCode::malformed_packet);
    EXPECT_NE(r.error().detail.find("Remaining Length"), std::string::npos);
  }
  {
    MqttReader reader = connected_server(kMqtt5);  // 0 written in two bytes
    auto r = read_one(reader, bytes({0xC0, 0x80, 0x00}));
    ASSERT_TRUE(r.has_error());
    EXPECT_EQ(r.error().reason, ReasonCode::malformed_packet);
  }
  {
    MqttReader reader = connected_server(kMqtt5, kMaxPacketSize);  // incomplete: wait
    EXPECT_TRUE(read_one(reader, bytes({0x30, 0xFF, 0xFF, 0xFF})).needs_more());
    EXPECT_TRUE(read_one(reader, bytes({0x7F})).needs_more());  // 268435455 bytes to come
  }
}

TEST(MqttReader, AServerReaderWantsCONNECTFirstAndOnlyOnce) {
  {
    MqttReader reader;
    auto r = read_one(reader, bytes({0xC0}));  // PINGREQ's first byte is enough to refuse
    ASSERT_TRUE(r.has_error());
    EXPECT_EQ(r.error().reason, ReasonCode::protocol_error);
    EXPECT_NE(r.error().detail.find("not CONNECT"), std::string::npos);
  }
  {
    MqttReader reader = connected_server(kMqtt311);
    auto r = read_one(reader, encoded(Connect{kMqtt311, true, 0, "again", {}, {}, {}, {}}, 4));
    ASSERT_TRUE(r.has_error());
    EXPECT_NE(r.error().detail.find("second CONNECT"), std::string::npos);
  }
  {
    MqttReader reader = connected_server(kMqtt5);
    auto r = read_one(reader, encoded(Connack{}, kMqtt5));
    ASSERT_TRUE(r.has_error());
    EXPECT_NE(r.error().detail.find("sent by servers"), std::string::npos);
  }
  {
    MqttReader reader = connected_server(kMqtt5);
    Publish p{false, 0, false, "t", 0, "", {}};
    p.properties.subscription_identifiers = {1};
    auto r = read_one(reader, encoded(p, kMqtt5));
    ASSERT_TRUE(r.has_error());
    EXPECT_NE(r.error().detail.find("MQTT-3.3.4-6"), std::string::npos);
  }
  {
    MqttReader reader = connected_server(kMqtt311);  // AUTH is a reserved type in 3.1.1
    auto r = read_one(reader, bytes({0xF0, 0x00}));
    ASSERT_TRUE(r.has_error());
    EXPECT_EQ(r.error().reason, ReasonCode::malformed_packet);
  }
}

TEST(MqttReader, RefusesProtocolVersionsOtherThan311And5) {
  // mosquitto_pub -V mqttv31: "MQIsdp", level 3.
  const std::string v31 = bytes({0x10, 0x0F, 0x00, 0x06, 'M', 'Q', 'I', 's', 'd', 'p', 0x03, 0x02,
                                 0x00, 0x3C, 0x00, 0x01, 'c'});
  MqttReader reader;
  auto r = read_one(reader, v31);
  ASSERT_TRUE(r.has_error());
  EXPECT_EQ(r.error().reason, ReasonCode::unsupported_protocol_version);
  EXPECT_NE(r.error().detail.find("MQIsdp"), std::string::npos);
  EXPECT_EQ(reader.protocol_version(), 0);  // answer with a 3.1.1 CONNACK, return code 1
  EXPECT_EQ(connack_return_code_v311(r.error().reason), 1);

  MqttReader level6;
  auto r6 = read_one(level6, bytes({0x10, 0x0A, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x06, 0x02, 0x00,
                                    0x3C, 0x00, 0x00}));
  ASSERT_TRUE(r6.has_error());
  EXPECT_EQ(r6.error().reason, ReasonCode::unsupported_protocol_version);
}

TEST(MqttReader, ARefusedConnectStillTellsItsVersion) {
  // A v5 CONNECT with the reserved flag bit set: answer with a v5 CONNACK 0x81.
  MqttReader reader;
  auto r = read_one(reader, bytes({0x10, 0x0D, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x05, 0x03, 0x00,
                                   0x3C, 0x00, 0x00, 0x00}));
  ASSERT_TRUE(r.has_error());
  EXPECT_EQ(r.error().reason, ReasonCode::malformed_packet);
  EXPECT_EQ(reader.protocol_version(), kMqtt5);
}

TEST(MqttReader, AClientReaderReadsWhatServersSend) {
  MqttReader reader = MqttReader::for_client(kMqtt5);
  EXPECT_TRUE(
      read_one(reader, encoded(Connack{false, ReasonCode::success, all_connack_properties()}, 5))
          .has_packet());
  Publish p{false, 1, false, "a", 1, "x", {}};
  p.properties.subscription_identifiers = {3, 4};  // fine from a server
  auto r = read_one(reader, encoded(p, kMqtt5));
  ASSERT_TRUE(r.has_packet());
  EXPECT_EQ(r.packet(), Packet(p));
  auto ping = read_one(reader, encoded(Pingreq{}, kMqtt5));
  ASSERT_TRUE(ping.has_error());
  EXPECT_NE(ping.error().detail.find("sent by clients"), std::string::npos);
  EXPECT_TRUE(MqttReader::for_client(3).next().has_error());
}

// ---------------------------------------------------------------------------------------------
// Malformed packets

TEST(MqttDecode, RefusesReservedTypesAndFlags) {
  expect_refused(decode_packet(0x00, "", 5), ReasonCode::malformed_packet, "type 0 is reserved");
  expect_refused(decode_packet(0x60, bytes({0, 1}), 5), ReasonCode::malformed_packet,
                 "PUBREL: reserved fixed header flags");
  expect_refused(decode_packet(0x80, bytes({0, 1, 0, 0, 1, 'a', 0}), 4),
                 ReasonCode::malformed_packet, "SUBSCRIBE: reserved");
  expect_refused(decode_packet(0xC1, "", 4), ReasonCode::malformed_packet, "PINGREQ: reserved");
  expect_refused(decode_packet(0x36, bytes({0, 1, 'a', 0, 1}), 4), ReasonCode::malformed_packet,
                 "QoS 3");
  expect_refused(decode_packet(0x38, bytes({0, 1, 'a'}), 4), ReasonCode::malformed_packet,
                 "DUP set on a QoS 0");
  expect_refused(decode_packet(0x32, bytes({0, 1, 'a', 0, 0}), 4), ReasonCode::protocol_error,
                 "packet identifier 0");
  expect_refused(decode_packet(0xC0, bytes({0}), 4), ReasonCode::malformed_packet,
                 "1 bytes after the end");
  expect_refused(decode_packet(0x40, bytes({0, 1, 0}), 4), ReasonCode::malformed_packet,
                 "after the end");
  expect_refused(decode_packet(0x40, bytes({0}), 5), ReasonCode::malformed_packet, "ends early");
  expect_refused(decode_packet(0x20, bytes({0x02, 0x00}), 4), ReasonCode::malformed_packet,
                 "acknowledge flag");
  expect_refused(decode_packet(0x20, bytes({0x00, 0x06}), 4), ReasonCode::protocol_error,
                 "return code 6 is reserved");
  expect_refused(decode_packet(0x40, bytes({0, 1, 0x92}), 5), ReasonCode::protocol_error,
                 "0x92 is not defined for PUBACK");
}

TEST(MqttDecode, RefusesBadConnectFlags) {
  auto connect = [](int flags) {
    return bytes({0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, flags, 0x00, 0x3C, 0x00, 0x01, 'c'});
  };
  expect_refused(decode_packet(0x10, connect(0x03), 0), ReasonCode::malformed_packet,
                 "reserved flag bit");
  expect_refused(decode_packet(0x10, connect(0x0A), 0), ReasonCode::malformed_packet,
                 "without a will");
  expect_refused(decode_packet(0x10, connect(0x22), 0), ReasonCode::malformed_packet,
                 "without a will");
  expect_refused(decode_packet(0x10, connect(0x1E), 0), ReasonCode::malformed_packet,
                 "will QoS is 3");
  expect_refused(decode_packet(0x10, connect(0x80), 0), ReasonCode::malformed_packet,
                 "ends early");  // a user name flag with no user name
  auto ok = decode_packet(0x10, connect(0x02), 0);
  ASSERT_TRUE(ok.has_value()) << ok.error().detail;
  EXPECT_EQ(std::get<Connect>(*ok).keep_alive, 60);
  EXPECT_EQ(std::get<Connect>(*ok).client_id, "c");
}

TEST(MqttDecode, RefusesBadSubscriptionOptions) {
  auto subscribe = [](int options, int version) {
    std::string body = bytes({0x00, 0x01});
    if (version == 5) body += '\0';
    body += bytes({0x00, 0x01, 'a', options});
    return decode_packet(0x82, body, version);
  };
  expect_refused(subscribe(0x04, 4), ReasonCode::malformed_packet, "reserved subscription option");
  expect_refused(subscribe(0x03, 4), ReasonCode::malformed_packet, "QoS 3");
  expect_refused(subscribe(0x40, 5), ReasonCode::malformed_packet, "reserved subscription option");
  expect_refused(subscribe(0x30, 5), ReasonCode::protocol_error, "retain handling 3");
  auto ok = subscribe(0x2E, 5);
  ASSERT_TRUE(ok.has_value()) << ok.error().detail;
  const Subscription& s = std::get<Subscribe>(*ok).subscriptions.at(0);
  EXPECT_EQ(s.qos, 2);
  EXPECT_TRUE(s.no_local);
  EXPECT_TRUE(s.retain_as_published);
  EXPECT_EQ(s.retain_handling, RetainHandling::do_not_send);
  expect_refused(decode_packet(0x82, bytes({0x00, 0x01, 0x00}), 5), ReasonCode::protocol_error,
                 "no topic filters");
  expect_refused(decode_packet(0xA2, bytes({0x00, 0x01}), 4), ReasonCode::protocol_error,
                 "no topic filters");
}

TEST(MqttDecode, RefusesStringsThatAreNotMqttUtf8) {
  auto publish_to = [](std::string topic) {
    std::string body = bytes({0x00, static_cast<int>(topic.size())}) + topic;
    return decode_packet(0x30, body, 4);
  };
  expect_refused(publish_to("a\xC0\x80"), ReasonCode::topic_name_invalid, "not an MQTT UTF-8");
  expect_refused(publish_to("a"s + '\0'), ReasonCode::topic_name_invalid, "not an MQTT UTF-8");
  expect_refused(publish_to("\xED\xA0\x80"), ReasonCode::topic_name_invalid, "UTF-8");
  expect_refused(publish_to("a/#"), ReasonCode::topic_name_invalid, "wildcard");
  EXPECT_TRUE(publish_to("caf\xC3\xA9/\xF0\x9F\x98\x80").has_value());
  const std::string bad_client_id =
      bytes({0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x02, 0x00, 0x3C, 0x00, 0x02, 0xFF, 'x'});
  expect_refused(decode_packet(0x10, bad_client_id, 0), ReasonCode::malformed_packet,
                 "client id is not an MQTT string");
  const std::string bad_filter = bytes({0x00, 0x01, 0x00, 0x02, 0xC3, 0x28});
  expect_refused(decode_packet(0xA2, bad_filter, 4), ReasonCode::malformed_packet, "not UTF-8");
}

TEST(MqttUtf8, FollowsRfc3629) {
  EXPECT_TRUE(is_well_formed_utf8(""));
  EXPECT_TRUE(is_well_formed_utf8("plain ascii"));
  EXPECT_TRUE(is_well_formed_utf8("\xC2\x80\xDF\xBF\xE0\xA0\x80\xEF\xBF\xBF"));
  EXPECT_TRUE(is_well_formed_utf8("\xF0\x90\x80\x80\xF4\x8F\xBF\xBF"));
  EXPECT_TRUE(is_well_formed_utf8("a\0b"s));
  EXPECT_FALSE(is_mqtt_string("a\0b"s));
  for (const char* bad : {"\x80", "\xC0\x80", "\xC1\xBF", "\xE0\x9F\xBF", "\xED\xA0\x80",
                          "\xED\xBF\xBF", "\xF0\x8F\xBF\xBF", "\xF4\x90\x80\x80",
                          "\xF5\x80\x80\x80", "\xFF", "\xC3", "\xE2\x82", "\xE2\x28\xA1"}) {
    EXPECT_FALSE(is_well_formed_utf8(bad)) << testing::PrintToString(std::string(bad));
  }
  EXPECT_TRUE(is_mqtt_string(std::string(65535, 'a')));
  EXPECT_FALSE(is_mqtt_string(std::string(65536, 'a')));
}

// ---------------------------------------------------------------------------------------------
// v5 properties

// A v5 PUBACK for packet 1 with reason 0 and the given property bytes.
MqttResult<Packet> puback_with(const std::string& properties) {
  std::string body = bytes({0x00, 0x01, 0x00, static_cast<int>(properties.size())}) + properties;
  return decode_packet(0x40, body, 5);
}
MqttResult<Packet> publish_with(const std::string& properties) {
  std::string body =
      bytes({0x00, 0x01, 't', static_cast<int>(properties.size())}) + properties + "payload";
  return decode_packet(0x30, body, 5);
}

TEST(MqttProperties, ReadsKnownOnes) {
  auto p = publish_with(
      bytes({0x01, 0x01, 0x02, 0x00, 0x00, 0x00, 0x3C, 0x23, 0x00, 0x05, 0x26, 0x00, 0x01,
             'k',  0x00, 0x01, 'v',  0x26, 0x00, 0x01, 'k',  0x00, 0x00, 0x0B, 0x80, 0x01}));
  ASSERT_TRUE(p.has_value()) << p.error().detail;
  const Publish& publish = std::get<Publish>(*p);
  EXPECT_EQ(publish.payload, "payload");
  EXPECT_EQ(publish.properties.payload_format_indicator, 1);
  EXPECT_EQ(publish.properties.message_expiry_interval, 60u);
  EXPECT_EQ(publish.properties.topic_alias, 5);
  EXPECT_EQ(publish.properties.subscription_identifiers, std::vector<std::uint32_t>{128});
  EXPECT_EQ(publish.properties.user_properties, (std::vector<UserProperty>{{"k", "v"}, {"k", ""}}));
}

TEST(MqttProperties, RefusesUnknownDuplicateMisplacedAndOutOfRangeOnes) {
  expect_refused(puback_with(bytes({0x05, 0x00})), ReasonCode::malformed_packet,
                 "unknown property id 5");
  expect_refused(puback_with(bytes({0x7F})), ReasonCode::malformed_packet, "unknown property id");
  expect_refused(publish_with(bytes({0x23, 0x00, 0x01, 0x23, 0x00, 0x02})),
                 ReasonCode::protocol_error, "topic_alias appears more than once");
  expect_refused(puback_with(bytes({0x1F, 0x00, 0x00, 0x1F, 0x00, 0x00})),
                 ReasonCode::protocol_error, "reason_string appears more than once");
  expect_refused(puback_with(bytes({0x23, 0x00, 0x01})), ReasonCode::malformed_packet,
                 "PUBACK: property topic_alias is not allowed here");
  expect_refused(publish_with(bytes({0x23, 0x00, 0x00})), ReasonCode::protocol_error,
                 "topic_alias is 0");
  expect_refused(publish_with(bytes({0x01, 0x02})), ReasonCode::protocol_error,
                 "payload_format_indicator is neither 0 nor 1");
  expect_refused(publish_with(bytes({0x0B, 0x00})), ReasonCode::protocol_error,
                 "subscription_identifier is out of range");
  expect_refused(publish_with(bytes({0x08, 0x00, 0x01, '#'})), ReasonCode::protocol_error,
                 "response_topic");
  expect_refused(publish_with(bytes({0x03, 0x00, 0x05, 'a'})), ReasonCode::malformed_packet,
                 "runs past the properties");
  expect_refused(publish_with(bytes({0x26, 0x00, 0x01, 0xFF, 0x00, 0x00})),
                 ReasonCode::malformed_packet, "user_property is not a pair of MQTT UTF-8");
  // A property length longer than the packet.
  expect_refused(decode_packet(0x40, bytes({0x00, 0x01, 0x00, 0x09, 0x1F}), 5),
                 ReasonCode::malformed_packet, "properties run past the packet");
  // A CONNECT's receive maximum of 0, and authentication data without a method.
  Connect c{kMqtt5, true, 0, "c", {}, {}, {}, {}};
  std::string wire = encoded(c, 5);
  std::string body = wire.substr(2);
  const std::size_t props = body.find('\x00', 10);  // the property length byte
  ASSERT_EQ(props, 10u);
  expect_refused(
      decode_packet(0x10, body.substr(0, 10) + bytes({0x03, 0x21, 0x00, 0x00}) + body.substr(11),
                    0),
      ReasonCode::protocol_error, "receive_maximum is 0");
  expect_refused(
      decode_packet(0x10, body.substr(0, 10) + bytes({0x03, 0x16, 0x00, 0x00}) + body.substr(11),
                    0),
      ReasonCode::protocol_error, "authentication data without an authentication method");
  // Two subscription identifiers in a SUBSCRIBE.
  expect_refused(
      decode_packet(0x82, bytes({0x00, 0x01, 0x04, 0x0B, 0x01, 0x0B, 0x02, 0x00, 0x01, 'a', 0x00}),
                    5),
      ReasonCode::protocol_error, "more than one subscription identifier");
}

TEST(MqttProperties, EveryPropertyRoundTripsWhereItIsAllowed) {
  expect_round_trip(Connack{false, ReasonCode::success, all_connack_properties()}, kMqtt5);
  expect_round_trip(Publish{false, 0, false, "t", 0, "", all_publish_properties()}, kMqtt5);
  EXPECT_TRUE(Properties{}.empty());
  EXPECT_FALSE(all_publish_properties().empty());
  EXPECT_EQ(property_name(PropertyId::topic_alias), "topic_alias");
  EXPECT_EQ(reason_name(ReasonCode::packet_too_large), "packet_too_large");
  EXPECT_EQ(reason_name(static_cast<ReasonCode>(0x7E)), "undefined");
}

// ---------------------------------------------------------------------------------------------
// Topics

TEST(MqttTopic, ValidatesTopicNames) {
  for (const char* ok :
       {"a", "/", "a/b", "/finance", "sport/tennis/player1", "a//b", "$SYS/x", "caf\xC3\xA9"}) {
    EXPECT_TRUE(check_topic_name(ok).has_value()) << ok;
  }
  for (const std::string& bad :
       {""s, "a/+"s, "#"s, "a+b"s, "a\0b"s, "\xFF"s, std::string(65536, 'a')}) {
    auto r = check_topic_name(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().reason, ReasonCode::topic_name_invalid);
  }
}

TEST(MqttTopic, ValidatesTopicFilters) {
  for (const char* ok :
       {"#", "+", "+/+", "/+", "sport/#", "sport/tennis/#", "+/tennis/#", "sport/+/player1", "a//b",
        "$SYS/#", "$share/group/a/#", "$share/g/#", "$sharex/+", "$share"}) {
    EXPECT_TRUE(check_topic_filter(ok).has_value()) << ok;
  }
  for (const char* bad :
       {"", "sport/tennis#", "sport/tennis/#/ranking", "sport+", "a/b+/c", "##", "$share/",
        "$share/group", "$share//a", "$share/g+/a", "$share/#/a", "$share/g/", "$share/g/a/#/b"}) {
    auto r = check_topic_filter(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().reason, ReasonCode::topic_filter_invalid) << bad;
  }
}

TEST(MqttTopic, MatchesTheSpecsExamples) {
  // MQTT 5.0 section 4.7.1.2: the multi-level wildcard.
  for (const char* topic : {"sport/tennis/player1", "sport/tennis/player1/ranking",
                            "sport/tennis/player1/score/wimbledon"}) {
    EXPECT_TRUE(matches("sport/tennis/player1/#", topic)) << topic;
  }
  EXPECT_TRUE(matches("sport/#", "sport"));
  EXPECT_TRUE(matches("#", "sport/tennis"));
  EXPECT_TRUE(matches("#", "/"));
  EXPECT_FALSE(matches("sport/tennis/#", "sport/tennisX"));
  // Section 4.7.1.3: the single-level wildcard.
  EXPECT_TRUE(matches("sport/tennis/+", "sport/tennis/player1"));
  EXPECT_TRUE(matches("sport/tennis/+", "sport/tennis/player2"));
  EXPECT_FALSE(matches("sport/tennis/+", "sport/tennis/player1/ranking"));
  EXPECT_FALSE(matches("sport/+", "sport"));
  EXPECT_TRUE(matches("sport/+", "sport/"));
  EXPECT_TRUE(matches("+/+", "/finance"));
  EXPECT_TRUE(matches("/+", "/finance"));
  EXPECT_FALSE(matches("+", "/finance"));
  EXPECT_TRUE(matches("+/tennis/#", "sport/tennis/player1"));
  // Section 4.7.2: topics beginning with $.
  EXPECT_FALSE(matches("#", "$SYS/monitor/Clients"));
  EXPECT_FALSE(matches("+/monitor/Clients", "$SYS/monitor/Clients"));
  EXPECT_TRUE(matches("$SYS/#", "$SYS/monitor/Clients"));
  EXPECT_TRUE(matches("$SYS/monitor/+", "$SYS/monitor/Clients"));
  // Exact levels, case-sensitive, empty levels are levels.
  EXPECT_TRUE(matches("a/b", "a/b"));
  EXPECT_FALSE(matches("a/b", "A/b"));
  EXPECT_FALSE(matches("a/b", "a/b/"));
  EXPECT_TRUE(matches("a/+/b", "a//b"));
  EXPECT_FALSE(matches("a/b/c", "a/b"));
  EXPECT_FALSE(matches("", "a"));
}

TEST(MqttTopic, ParsesSharedSubscriptions) {
  auto shared = parse_shared_subscription("$share/consumers/sport/tennis/+");
  ASSERT_TRUE(shared.has_value());
  ASSERT_TRUE(shared->has_value());
  EXPECT_EQ((*shared)->share_name, "consumers");
  EXPECT_EQ((*shared)->filter, "sport/tennis/+");
  EXPECT_TRUE(matches((*shared)->filter, "sport/tennis/player1"));
  auto plain = parse_shared_subscription("sport/#");
  ASSERT_TRUE(plain.has_value());
  EXPECT_FALSE(plain->has_value());
  auto bad = parse_shared_subscription("$share/a+b/x");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().detail.find("wildcard in its share name"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Captured sessions: the seeds tests/fuzz/corpus/mqtt_*.bin are what mosquitto_pub and
// mosquitto_sub (2.0.11) sent to a server built on this codec.

std::vector<Packet> read_session(const std::string& file, int& version) {
  std::ifstream in(std::string(SLUICE_FUZZ_CORPUS) + "/" + file, std::ios::binary);
  const std::string stream{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  EXPECT_FALSE(stream.empty()) << file;
  MqttReader reader;
  EXPECT_EQ(reader.feed(stream), stream.size());
  std::vector<Packet> packets;
  for (auto r = reader.next(); !r.needs_more(); r = reader.next()) {
    if (r.has_error()) {
      ADD_FAILURE() << file << ": " << r.error().detail;
      break;
    }
    packets.push_back(r.packet());
  }
  EXPECT_EQ(reader.buffered(), 0u) << file;
  version = reader.protocol_version();
  return packets;
}

TEST(MqttReader, ReadsCapturedMosquittoSessions) {
  for (const char* file :
       {"mqtt_v311_publish.bin", "mqtt_v5_publish.bin", "mqtt_v5_subscribe.bin"}) {
    int version = 0;
    const auto packets = read_session(file, version);
    EXPECT_GE(packets.size(), 3u) << file;
    for (const auto& p : packets)
      expect_round_trip(p, version);
  }
}

TEST(MqttReader, ReadsWhatMosquittoPubSendsInMqtt5) {
  // mosquitto_pub -V mqttv5 -i esp32-kitchen -u sensor -P secret -q 1 -r
  //   -D connect session-expiry-interval 60 (and receive-maximum, maximum-packet-size,
  //   topic-alias-maximum, a user property), a will with a delay, and a PUBLISH with every
  //   application property. (The CONNACK said retain_available 0, so -r was dropped.)
  int version = 0;
  const auto packets = read_session("mqtt_v5_publish.bin", version);
  EXPECT_EQ(version, kMqtt5);
  ASSERT_EQ(packets.size(), 3u);
  const auto& connect = std::get<Connect>(packets[0]);
  EXPECT_EQ(connect.client_id, "esp32-kitchen");
  EXPECT_EQ(connect.username, "sensor");
  EXPECT_EQ(connect.password, "secret");
  EXPECT_EQ(connect.properties.session_expiry_interval, 60u);
  EXPECT_EQ(connect.properties.receive_maximum, 10);
  EXPECT_EQ(connect.properties.maximum_packet_size, 65536u);
  EXPECT_EQ(connect.properties.topic_alias_maximum, 4);
  EXPECT_EQ(connect.properties.user_properties, (std::vector<UserProperty>{{"site", "lab"}}));
  ASSERT_TRUE(connect.will.has_value());
  EXPECT_EQ(connect.will->topic, "status/esp32-kitchen");
  EXPECT_EQ(connect.will->payload, "offline");
  EXPECT_EQ(connect.will->qos, 1);
  EXPECT_TRUE(connect.will->retain);
  EXPECT_EQ(connect.will->properties.will_delay_interval, 5u);
  const auto& publish = std::get<Publish>(packets[1]);
  EXPECT_EQ(publish.topic, "sensors/kitchen/temp");
  EXPECT_EQ(publish.payload, "21.5");
  EXPECT_EQ(publish.qos, 1);
  EXPECT_EQ(publish.packet_id, 1);
  EXPECT_EQ(publish.properties.user_properties, (std::vector<UserProperty>{{"k", "v"}}));
  EXPECT_EQ(publish.properties.message_expiry_interval, 30u);
  EXPECT_EQ(publish.properties.content_type, "text/plain");
  EXPECT_EQ(publish.properties.payload_format_indicator, 1);
  EXPECT_EQ(publish.properties.response_topic, "sensors/kitchen/reply");
  EXPECT_EQ(publish.properties.correlation_data, "abc");
  EXPECT_EQ(packets[2], Packet(Disconnect{}));
}

}  // namespace
}  // namespace sluice::mqtt
