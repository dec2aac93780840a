// The MQTT bridge's rules (server/mqtt_topics): topics and filters as hub subjects and patterns,
// the hub subscriptions a filter needs, and what each kind of hub message becomes on MQTT.
#include <gtest/gtest.h>

#include "server/mqtt_topics.hpp"

namespace sluice::server {
namespace {

TEST(MqttTopics, TopicsAndFiltersMapLevelByLevel) {
  EXPECT_EQ(subject_of_topic("sensors/kitchen/temp"), "sensors.kitchen.temp");
  EXPECT_EQ(subject_of_topic("a//b"), std::nullopt);  // an empty level
  EXPECT_EQ(subject_of_topic("/a"), std::nullopt);
  EXPECT_EQ(subject_of_topic("temp.c/x"), std::nullopt);   // '.' inside a level
  EXPECT_EQ(subject_of_topic("$SYS/load"), std::nullopt);  // the broker's own
  EXPECT_EQ(pattern_of_filter("sensors/+/temp"), "sensors.*.temp");
  EXPECT_EQ(pattern_of_filter("sensors/#"), "sensors.>");
  EXPECT_EQ(pattern_of_filter("#"), ">");
  EXPECT_EQ(topic_of_subject("lights.stage.1"), "lights/stage/1");
}

TEST(MqttTopics, FiltersGetTheHubSubscriptionsOfWhatTheyCanMatch) {
  EXPECT_EQ(bridge_patterns("lights/#"),
            (std::vector<BridgePattern>{{BridgeKind::channel, "lights.>"}}));
  EXPECT_EQ(bridge_patterns("maestra/stream/advertise/+"),
            (std::vector<BridgePattern>{
                {BridgeKind::to_mqtt, "maestra.to_mqtt.maestra.stream.advertise.*"}}));
  EXPECT_EQ(bridge_patterns("maestra/stream/advertise"),
            (std::vector<BridgePattern>{
                {BridgeKind::to_mqtt, "maestra.to_mqtt.maestra.stream.advertise"},
                {BridgeKind::untyped, "maestra.to_mqtt.maestra.stream.advertise.*"}}));
  EXPECT_EQ(bridge_patterns("maestra/stream/withdraw/#"),
            (std::vector<BridgePattern>{
                {BridgeKind::to_mqtt, "maestra.to_mqtt.maestra.stream.withdraw.>"},
                {BridgeKind::withdraw, "maestra.stream.withdraw.*"}}));
  const auto everything = bridge_patterns("#");
  EXPECT_EQ(everything.size(), 4u);  // to_mqtt, untyped, withdraw and every channel
  EXPECT_TRUE(bridge_patterns("sluice/x").empty());
}

TEST(MqttTopics, HubMessagesBecomeTopicsOfTheirKindOnly) {
  EXPECT_EQ(bridged_topic(BridgeKind::channel, "lights.stage.1"), "lights/stage/1");
  EXPECT_EQ(bridged_topic(BridgeKind::channel, "maestra.stream.advertise"), std::nullopt);
  EXPECT_EQ(bridged_topic(BridgeKind::channel, "sluice.audit"), std::nullopt);
  EXPECT_EQ(bridged_topic(BridgeKind::to_mqtt, "maestra.to_mqtt.maestra.stream.advertise.video"),
            "maestra/stream/advertise/video");
  EXPECT_EQ(bridged_topic(BridgeKind::untyped, "maestra.to_mqtt.maestra.stream.advertise.video"),
            "maestra/stream/advertise");
  EXPECT_EQ(bridged_topic(BridgeKind::withdraw, "maestra.stream.withdraw.abc"),
            "maestra/stream/withdraw/abc");
  EXPECT_EQ(bridged_topic(BridgeKind::nodes, "sluice.mqtt.sensors.x"), "sensors/x");
}

}  // namespace
}  // namespace sluice::server
