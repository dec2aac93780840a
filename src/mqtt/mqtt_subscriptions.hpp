#pragma once
// The broker's subscriptions, sans I/O: topic filters in a trie of levels, so routing a PUBLISH
// costs one walk of its topic's levels whatever the number of filters. A subscriber is an opaque
// pointer (the broker's session); the tree never dereferences it.
//
// match() gives each subscriber once (MQTT 5.0 section 3.3.4: overlapping subscriptions deliver
// one message with the largest QoS and every subscription identifier), leaves out the publisher's
// own no_local subscriptions, and picks one member of each shared subscription group
// ("$share/group/filter") in turn. Topics starting with '$' are matched only by filters whose
// first level is not a wildcard (MQTT-4.7.2-1). Single-threaded: the broker's thread.
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mqtt/mqtt_packet.hpp"

namespace sluice::mqtt {

using SubscriberRef = const void*;

struct SubscriptionOptions {
  std::uint8_t qos = 0;  // the QoS granted
  bool no_local = false;
  bool retain_as_published = false;
  RetainHandling retain_handling = RetainHandling::send_on_subscribe;
  std::uint32_t identifier = 0;  // 0: none
  bool operator==(const SubscriptionOptions&) const = default;
};

// One subscriber's share of a message.
struct SubscriptionMatch {
  SubscriberRef subscriber = nullptr;
  std::uint8_t qos = 0;  // the largest granted QoS among its matching subscriptions
  bool retain_as_published = false;
  std::vector<std::uint32_t> identifiers;  // of its matching subscriptions that have one
};

class SubscriptionTree {
 public:
  SubscriptionTree();
  ~SubscriptionTree();
  SubscriptionTree(const SubscriptionTree&) = delete;
  SubscriptionTree& operator=(const SubscriptionTree&) = delete;

  // Adds or replaces `subscriber`'s subscription to `filter` (valid: check_topic_filter()).
  // Returns true when it is new (false: the options of an existing one were replaced).
  bool add(std::string_view filter, SubscriberRef subscriber, const SubscriptionOptions& options);
  // Removes it; returns whether it existed.
  bool remove(std::string_view filter, SubscriberRef subscriber);

  // The subscribers of `topic` (a valid topic name), each once. `publisher` is the publishing
  // subscriber (its no_local subscriptions are skipped), or null. Replaces `out`'s contents
  // (a vector the caller reuses, so routing allocates nothing once it has grown).
  void match(std::string_view topic, SubscriberRef publisher, std::vector<SubscriptionMatch>& out);

  std::size_t size() const { return count_; }  // subscriptions

 private:
  struct Node;
  struct Group;
  Node* find_node(std::string_view levels, bool create);
  void prune(std::string_view levels);
  void collect(const Node& node, SubscriberRef publisher, std::vector<SubscriptionMatch>& out);
  void walk(const Node& node, std::string_view rest, bool at_end, bool first_level,
            bool dollar_topic, SubscriberRef publisher, std::vector<SubscriptionMatch>& out);
  void add_match(SubscriberRef who, const SubscriptionOptions& o,
                 std::vector<SubscriptionMatch>& out);

  std::unique_ptr<Node> root_;
  std::size_t count_ = 0;
  // Dedup of one match(): where each subscriber already is in `out`.
  std::map<SubscriberRef, std::size_t> seen_;
};

}  // namespace sluice::mqtt
