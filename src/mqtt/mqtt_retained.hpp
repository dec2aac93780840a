#pragma once
// Retained messages (MQTT 5.0 section 3.3.1.3), sans I/O: the last retained PUBLISH of each
// topic, handed to new subscriptions whose filter matches. Bounded in count and bytes: a new
// topic beyond either bound is refused (counted; the broker still delivers the message, it just
// is not kept), a replacement always fits what it replaces plus the room left. An empty payload
// removes the topic's message. Single-threaded: the broker's thread.
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "mqtt/mqtt_message.hpp"

namespace sluice::mqtt {

struct RetainedLimits {
  std::size_t max_messages = 10'000;
  std::size_t max_bytes = 64 << 20;  // topics + payloads
};

class RetainedStore {
 public:
  explicit RetainedStore(RetainedLimits limits = {}) : limits_(limits) {}

  // Keeps `message` (retain set, valid topic) as its topic's retained message, or removes the
  // topic's message when the payload is empty. False when it did not fit (refused).
  bool store(const MessagePtr& message);
  // The unexpired retained messages whose topic matches `filter` (a plain filter; a shared
  // subscription's filter part). Expired ones are dropped on the way.
  std::vector<MessagePtr> matching(std::string_view filter, MonoTime now);

  std::size_t size() const { return messages_.size(); }
  std::size_t bytes() const { return bytes_; }
  std::uint64_t refused() const { return refused_; }

 private:
  static std::size_t cost(const Message& m) { return m.topic.size() + m.payload.size(); }
  RetainedLimits limits_;
  std::map<std::string, MessagePtr, std::less<>> messages_;
  std::size_t bytes_ = 0;
  std::uint64_t refused_ = 0;
};

}  // namespace sluice::mqtt
