#include "hub/hub.hpp"

#include <algorithm>
#include <mutex>
#include <vector>

#include "core/ids.hpp"
#include "hub/subject.hpp"

namespace sluice::hub {

struct Hub::Entry {
  std::uint64_t id;
  std::shared_ptr<Subscriber> subscriber;
  Interest interest;
};

// Subject trie: one level per token; "*" and ">" are ordinary child keys matched specially.
struct Hub::Node {
  std::unordered_map<std::string, std::unique_ptr<Node>> children;
  std::vector<Entry> entries;
  bool empty() const { return children.empty() && entries.empty(); }
};

namespace {

constexpr std::string_view kInboxRoot = "_INBOX.";

template <class Node, class Fn>
void walk(const Node& node, const std::vector<std::string_view>& tokens, std::size_t i, Fn&& fn) {
  if (i == tokens.size()) {
    for (const auto& e : node.entries)
      fn(e);
    return;
  }
  if (auto it = node.children.find(std::string(tokens[i])); it != node.children.end()) {
    walk(*it->second, tokens, i + 1, fn);
  }
  if (auto it = node.children.find("*"); it != node.children.end()) {
    walk(*it->second, tokens, i + 1, fn);
  }
  if (auto it = node.children.find(">"); it != node.children.end()) {
    for (const auto& e : it->second->entries)
      fn(e);
  }
}

// Appends the responder patterns of `node` and everything under it; `path` is node's pattern.
template <class Node>
void collect_responders(const Node& node, std::string& path, std::vector<std::string>& out) {
  for (const auto& e : node.entries) {
    if (e.interest == Interest::kResponder) {
      out.push_back(path);
      break;
    }
  }
  for (const auto& [token, child] : node.children) {
    const std::size_t size = path.size();
    if (!path.empty()) path += '.';
    path += token;
    collect_responders(*child, path, out);
    path.resize(size);
  }
}

}  // namespace

Hub::Hub() : root_(std::make_unique<Node>()) {
  auto id = new_uuid4();
  id.erase(std::remove(id.begin(), id.end(), '-'), id.end());
  inbox_prefix_ = std::string(kInboxRoot) + id.substr(0, 16) + ".";
}

Hub::~Hub() = default;

Result<Hub::Subscription> Hub::subscribe(std::string_view pattern,
                                         std::shared_ptr<Subscriber> subscriber,
                                         Interest interest) {
  if (!is_valid_pattern(pattern)) {
    return fail(Error::invalid_field({"subject"}, "invalid subject pattern '" +
                                                      std::string(pattern) +
                                                      "': use '.'-separated tokens, '*' for one "
                                                      "token and a final '>' for the rest"));
  }
  std::unique_lock lock(mutex_);
  Node* node = root_.get();
  for (auto token : split_tokens(pattern)) {
    auto& child = node->children[std::string(token)];
    if (!child) child = std::make_unique<Node>();
    node = child.get();
  }
  std::uint64_t id = next_id_++;
  node->entries.push_back(Entry{id, std::move(subscriber), interest});
  patterns_by_id_.emplace(id, std::string(pattern));
  generation_.fetch_add(1, std::memory_order_acq_rel);
  return Subscription(this, id);
}

void Hub::unsubscribe(std::uint64_t id) {
  std::unique_lock lock(mutex_);
  auto it = patterns_by_id_.find(id);
  if (it == patterns_by_id_.end()) return;
  auto tokens = split_tokens(it->second);
  std::vector<std::pair<Node*, std::string>> path;
  Node* node = root_.get();
  for (auto token : tokens) {
    auto child = node->children.find(std::string(token));
    if (child == node->children.end()) break;
    path.emplace_back(node, std::string(token));
    node = child->second.get();
  }
  std::erase_if(node->entries, [id](const Entry& e) { return e.id == id; });
  for (auto p = path.rbegin(); p != path.rend(); ++p) {
    auto child = p->first->children.find(p->second);
    if (!child->second->empty()) break;
    p->first->children.erase(child);
  }
  patterns_by_id_.erase(it);
  generation_.fetch_add(1, std::memory_order_acq_rel);
}

void Hub::refresh(std::string_view subject, Route& route) const {
  std::shared_lock lock(mutex_);
  // Read under the lock: a subscription changing right after still bumps the generation.
  std::uint64_t generation = generation_.load(std::memory_order_acquire);
  if (route.generation == generation) return;
  route.subscribers.clear();
  route.has_responder = false;
  walk(*root_, split_tokens(subject), 0, [&](const Entry& e) {
    route.subscribers.push_back(e.subscriber);
    route.has_responder = route.has_responder || e.interest == Interest::kResponder;
  });
  route.generation = generation;
}

std::size_t Hub::publish(const Route& route, const MessageView& message) {
  published_.fetch_add(1, std::memory_order_relaxed);
  std::size_t took = 0;
  for (const auto& s : route.subscribers)
    took += s->deliver_view(message) ? 1 : 0;
  delivered_.fetch_add(took, std::memory_order_relaxed);
  return took;
}

std::size_t Hub::publish(std::string_view subject, std::string data, std::string reply) {
  return publish_message(std::make_shared<const Message>(
      Message{std::string(subject), std::move(reply), std::move(data)}));
}

std::size_t Hub::reply(std::string_view reply_subject, std::string data, bool error) {
  return publish_message(std::make_shared<const Message>(
      Message{std::string(reply_subject), {}, std::move(data), error}));
}

std::size_t Hub::publish_message(const MessagePtr& message) {
  const std::string_view subject = message->subject;
  published_.fetch_add(1, std::memory_order_relaxed);
  if (subject.starts_with(kInboxRoot) && deliver_to_inbox(message)) return 1;

  std::vector<std::shared_ptr<Subscriber>> targets;
  {
    std::shared_lock lock(mutex_);
    walk(*root_, split_tokens(subject), 0,
         [&](const Entry& e) { targets.push_back(e.subscriber); });
  }
  for (const auto& t : targets)
    t->deliver(message);
  delivered_.fetch_add(targets.size(), std::memory_order_relaxed);
  return targets.size();
}

bool Hub::has_subscribers(std::string_view subject) const {
  bool found = false;
  std::shared_lock lock(mutex_);
  walk(*root_, split_tokens(subject), 0, [&](const Entry&) { found = true; });
  return found;
}

bool Hub::has_responders(std::string_view subject) const {
  bool found = false;
  std::shared_lock lock(mutex_);
  walk(*root_, split_tokens(subject), 0,
       [&](const Entry& e) { found = found || e.interest == Interest::kResponder; });
  return found;
}

std::vector<std::string> Hub::responder_patterns(std::string_view prefix) const {
  // "a.b.c" -> complete tokens "a", "b" and the partial last token "c" (empty after a final '.').
  const auto dot = prefix.rfind('.');
  const std::string_view complete = dot == std::string_view::npos ? "" : prefix.substr(0, dot);
  const std::string_view partial = dot == std::string_view::npos ? prefix : prefix.substr(dot + 1);
  std::vector<std::string> out;
  std::shared_lock lock(mutex_);
  const Node* node = root_.get();
  if (!complete.empty()) {
    for (auto token : split_tokens(complete)) {
      auto it = node->children.find(std::string(token));
      if (it == node->children.end()) return out;
      node = it->second.get();
    }
  }
  std::string path(complete);
  for (const auto& [token, child] : node->children) {
    if (!std::string_view(token).starts_with(partial)) continue;
    const std::size_t size = path.size();
    if (!path.empty()) path += '.';
    path += token;
    collect_responders(*child, path, out);
    path.resize(size);
  }
  lock.unlock();
  std::sort(out.begin(), out.end());
  return out;
}

bool Hub::deliver_to_inbox(const MessagePtr& message) {
  ReplyHandler handler;
  {
    std::lock_guard lock(inbox_mutex_);
    auto it = inboxes_.find(message->subject);
    if (it == inboxes_.end()) return false;
    handler = std::move(it->second);
    inboxes_.erase(it);
  }
  handler(message);
  delivered_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

Result<Hub::PendingRequest> Hub::request(std::string_view subject, std::string data,
                                         ReplyHandler on_reply) {
  if (!has_responders(subject)) {
    return fail(Error{504, "No responder is listening on '" + std::string(subject) + "'", {}});
  }
  std::string inbox = inbox_prefix_ + std::to_string(next_inbox_.fetch_add(1));
  {
    std::lock_guard lock(inbox_mutex_);
    inboxes_.emplace(inbox, std::move(on_reply));
  }
  PendingRequest pending(this, inbox);
  publish(subject, std::move(data), inbox);
  return pending;
}

void Hub::cancel_inbox(const std::string& inbox) {
  ReplyHandler dropped;  // destroyed outside the lock
  std::lock_guard lock(inbox_mutex_);
  if (auto it = inboxes_.find(inbox); it != inboxes_.end()) {
    dropped = std::move(it->second);
    inboxes_.erase(it);
  }
}

HubStats Hub::stats() const {
  HubStats s;
  s.published = published_.load();
  s.delivered = delivered_.load();
  {
    std::shared_lock lock(mutex_);
    s.subscriptions = patterns_by_id_.size();
  }
  std::lock_guard lock(inbox_mutex_);
  s.pending_requests = inboxes_.size();
  return s;
}

Hub::Subscription::Subscription(Subscription&& other) noexcept
    : hub_(std::exchange(other.hub_, nullptr)), id_(other.id_) {}

Hub::Subscription& Hub::Subscription::operator=(Subscription&& other) noexcept {
  if (this != &other) {
    reset();
    hub_ = std::exchange(other.hub_, nullptr);
    id_ = other.id_;
  }
  return *this;
}

Hub::Subscription::~Subscription() {
  reset();
}

void Hub::Subscription::reset() {
  if (hub_) std::exchange(hub_, nullptr)->unsubscribe(id_);
}

Hub::PendingRequest::PendingRequest(PendingRequest&& other) noexcept
    : hub_(std::exchange(other.hub_, nullptr)), inbox_(std::move(other.inbox_)) {}

Hub::PendingRequest& Hub::PendingRequest::operator=(PendingRequest&& other) noexcept {
  if (this != &other) {
    cancel();
    hub_ = std::exchange(other.hub_, nullptr);
    inbox_ = std::move(other.inbox_);
  }
  return *this;
}

Hub::PendingRequest::~PendingRequest() {
  cancel();
}

void Hub::PendingRequest::cancel() {
  if (hub_) std::exchange(hub_, nullptr)->cancel_inbox(inbox_);
}

}  // namespace sluice::hub
