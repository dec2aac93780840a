#include "mqtt/mqtt_retained.hpp"

#include "mqtt/mqtt_topic.hpp"

namespace sluice::mqtt {

bool RetainedStore::store(const MessagePtr& message) {
  auto it = messages_.find(message->topic);
  const std::size_t old_cost = it == messages_.end() ? 0 : cost(*it->second);
  if (message->payload.empty()) {
    if (it != messages_.end()) {
      bytes_ -= old_cost;
      messages_.erase(it);
    }
    return true;
  }
  const std::size_t new_cost = cost(*message);
  const bool fits = bytes_ - old_cost + new_cost <= limits_.max_bytes &&
                    (it != messages_.end() || messages_.size() < limits_.max_messages);
  if (!fits) {
    ++refused_;
    return false;
  }
  bytes_ = bytes_ - old_cost + new_cost;
  if (it == messages_.end()) {
    messages_.emplace(message->topic, message);
  } else {
    it->second = message;
  }
  return true;
}

std::vector<MessagePtr> RetainedStore::matching(std::string_view filter, MonoTime now) {
  std::vector<MessagePtr> out;
  for (auto it = messages_.begin(); it != messages_.end();) {
    const auto& m = *it->second;
    if (auto left = m.expiry_left(now); left && *left == 0) {
      bytes_ -= cost(m);
      it = messages_.erase(it);
      continue;
    }
    if (matches(filter, m.topic)) out.push_back(it->second);
    ++it;
  }
  return out;
}

}  // namespace sluice::mqtt
