#include "mqtt/mqtt_subscriptions.hpp"

#include <algorithm>

#include "mqtt/mqtt_topic.hpp"

namespace sluice::mqtt {
namespace {

using Entry = std::pair<SubscriberRef, SubscriptionOptions>;

// Cuts the first level off `rest`: the level, and whether another follows.
std::string_view next_level(std::string_view& rest, bool& more) {
  const auto slash = rest.find('/');
  if (slash == std::string_view::npos) {
    auto level = rest;
    rest = {};
    more = false;
    return level;
  }
  auto level = rest.substr(0, slash);
  rest.remove_prefix(slash + 1);
  more = true;
  return level;
}

bool upsert(std::vector<Entry>& entries, SubscriberRef who, const SubscriptionOptions& o) {
  for (auto& e : entries) {
    if (e.first == who) {
      e.second = o;
      return false;
    }
  }
  entries.emplace_back(who, o);
  return true;
}

bool erase(std::vector<Entry>& entries, SubscriberRef who) {
  auto it = std::find_if(entries.begin(), entries.end(),
                         [who](const Entry& e) { return e.first == who; });
  if (it == entries.end()) return false;
  entries.erase(it);
  return true;
}

}  // namespace

struct SubscriptionTree::Group {
  std::vector<Entry> members;
  std::size_t next = 0;  // whose turn it is
};

struct SubscriptionTree::Node {
  std::map<std::string, std::unique_ptr<Node>, std::less<>> children;  // "+" and "#" included
  std::vector<Entry> subscribers;                                      // filters ending here
  std::map<std::string, Group, std::less<>> groups;                    // shared, ending here
  bool empty() const { return children.empty() && subscribers.empty() && groups.empty(); }
};

SubscriptionTree::SubscriptionTree() : root_(std::make_unique<Node>()) {}
SubscriptionTree::~SubscriptionTree() = default;

SubscriptionTree::Node* SubscriptionTree::find_node(std::string_view levels, bool create) {
  Node* node = root_.get();
  bool more = true;
  while (more) {
    auto level = next_level(levels, more);
    auto it = node->children.find(level);
    if (it == node->children.end()) {
      if (!create) return nullptr;
      it = node->children.emplace(std::string(level), std::make_unique<Node>()).first;
    }
    node = it->second.get();
  }
  return node;
}

// Drops the empty nodes along `levels`, deepest first.
void SubscriptionTree::prune(std::string_view levels) {
  std::vector<std::pair<Node*, std::string_view>> path;  // parent, child's level
  Node* node = root_.get();
  bool more = true;
  while (more) {
    auto level = next_level(levels, more);
    auto it = node->children.find(level);
    if (it == node->children.end()) return;
    path.emplace_back(node, level);
    node = it->second.get();
  }
  for (auto it = path.rbegin(); it != path.rend(); ++it) {
    auto child = it->first->children.find(it->second);
    if (!child->second->empty()) return;
    it->first->children.erase(child);
  }
}

bool SubscriptionTree::add(std::string_view filter, SubscriberRef subscriber,
                           const SubscriptionOptions& options) {
  auto shared = parse_shared_subscription(filter);
  const bool is_shared = shared && *shared;
  Node* node = find_node(is_shared ? (*shared)->filter : filter, true);
  bool added = false;
  if (is_shared) {
    auto group = node->groups.find((*shared)->share_name);
    if (group == node->groups.end()) {
      group = node->groups.emplace(std::string((*shared)->share_name), Group{}).first;
    }
    added = upsert(group->second.members, subscriber, options);
  } else {
    added = upsert(node->subscribers, subscriber, options);
  }
  if (added) ++count_;
  return added;
}

bool SubscriptionTree::remove(std::string_view filter, SubscriberRef subscriber) {
  auto shared = parse_shared_subscription(filter);
  const bool is_shared = shared && *shared;
  const std::string_view levels = is_shared ? (*shared)->filter : filter;
  Node* node = find_node(levels, false);
  if (!node) return false;
  bool removed = false;
  if (is_shared) {
    auto group = node->groups.find((*shared)->share_name);
    if (group == node->groups.end()) return false;
    removed = erase(group->second.members, subscriber);
    if (group->second.members.empty()) node->groups.erase(group);
  } else {
    removed = erase(node->subscribers, subscriber);
  }
  if (!removed) return false;
  --count_;
  if (node->empty()) prune(levels);
  return true;
}

void SubscriptionTree::add_match(SubscriberRef who, const SubscriptionOptions& o,
                                 std::vector<SubscriptionMatch>& out) {
  std::size_t at = out.size();
  if (out.size() < 32) {
    for (std::size_t i = 0; i < out.size(); ++i) {
      if (out[i].subscriber == who) {
        at = i;
        break;
      }
    }
  } else {
    if (seen_.empty()) {
      for (std::size_t i = 0; i < out.size(); ++i)
        seen_.emplace(out[i].subscriber, i);
    }
    auto [it, inserted] = seen_.emplace(who, out.size());
    at = it->second;
  }
  if (at == out.size()) {
    out.push_back(SubscriptionMatch{who, o.qos, o.retain_as_published, {}});
  } else {
    out[at].qos = std::max(out[at].qos, o.qos);
    out[at].retain_as_published = out[at].retain_as_published || o.retain_as_published;
  }
  if (o.identifier != 0) out[at].identifiers.push_back(o.identifier);
}

void SubscriptionTree::collect(const Node& node, SubscriberRef publisher,
                               std::vector<SubscriptionMatch>& out) {
  for (const auto& [who, o] : node.subscribers) {
    if (o.no_local && who == publisher) continue;
    add_match(who, o, out);
  }
  for (const auto& [name, group] : node.groups) {
    if (group.members.empty()) continue;
    auto& g = const_cast<Group&>(group);  // the turn moves on; nothing else changes
    const auto& [who, o] = g.members[g.next % g.members.size()];
    g.next = (g.next + 1) % g.members.size();
    add_match(who, o, out);
  }
}

void SubscriptionTree::walk(const Node& node, std::string_view rest, bool more, bool first_level,
                            bool dollar_topic, SubscriberRef publisher,
                            std::vector<SubscriptionMatch>& out) {
  const bool wildcards = !(first_level && dollar_topic);
  if (auto hash = node.children.find("#"); hash != node.children.end() && wildcards) {
    collect(*hash->second, publisher, out);  // "a/#" matches "a" and everything below it
  }
  if (!more) {
    collect(node, publisher, out);
    return;
  }
  bool next_more = false;
  const auto level = next_level(rest, next_more);
  if (auto plus = node.children.find("+"); plus != node.children.end() && wildcards) {
    walk(*plus->second, rest, next_more, false, dollar_topic, publisher, out);
  }
  if (level != "+" && level != "#") {
    if (auto exact = node.children.find(level); exact != node.children.end()) {
      walk(*exact->second, rest, next_more, false, dollar_topic, publisher, out);
    }
  }
}

void SubscriptionTree::match(std::string_view topic, SubscriberRef publisher,
                             std::vector<SubscriptionMatch>& out) {
  out.clear();
  seen_.clear();
  walk(*root_, topic, true, true, topic.starts_with('$'), publisher, out);
  seen_.clear();
}

}  // namespace sluice::mqtt
