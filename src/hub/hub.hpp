#pragma once
// The in-process hub of subjects: publish/subscribe with NATS-style wildcards, and
// request/reply through one-shot inboxes. Registry events, /ws clients and SSE watchers all meet
// here. Thread-safe: any thread may call any method. Delivery happens on the publisher's thread
// with no hub lock held, so a Subscriber must never block (sinks with queues bound themselves).
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/error.hpp"

namespace sluice::hub {

struct Message {
  std::string subject;
  std::string reply;   // empty unless the sender expects an answer on this subject
  std::string data;    // JSON text
  bool error = false;  // a reply reporting that the request failed; `data` says why
};
using MessagePtr = std::shared_ptr<const Message>;

// A message on its way through the hub without having been copied yet. Relay publishers
// deliver views so that subscribers that copy small payloads into their own queues never
// cause an allocation; shared() builds the shared Message once for those that keep it.
struct MessageView {
  MessageView(std::string_view subject_, std::string_view reply_, std::string_view data_,
              std::string_view origin_ = {})
      : subject(subject_), reply(reply_), data(data_), origin(origin_) {}

  std::string_view subject;
  std::string_view reply;
  std::string_view data;
  std::string_view origin;  // who published, when known (a relay session id); may be empty
  // The publisher honours block-policy stalls (a relay wire publisher, whose credit the relay
  // withholds). Other publishers cannot wait, so block-policy subscribers treat their messages
  // as drop-oldest once full.
  bool can_wait = false;

  const MessagePtr& shared() const {
    if (!cached_) {
      cached_ = std::make_shared<const Message>(
          Message{std::string(subject), std::string(reply), std::string(data)});
    }
    return cached_;
  }

 private:
  mutable MessagePtr cached_;
};

class Subscriber {
 public:
  virtual ~Subscriber() = default;
  // Called on the publishing thread. Must not block and must tolerate calls racing with
  // its own unsubscription.
  virtual void deliver(const MessagePtr& message) = 0;
  // Same contract. Returns whether the subscriber took the message (false: its overflow
  // policy refused it). The default keeps the shared Message.
  virtual bool deliver_view(const MessageView& message) {
    deliver(message.shared());
    return true;
  }
};

// A publisher's cached resolution of one subject: valid while Hub::generation() is unchanged.
struct Route {
  std::uint64_t generation = ~std::uint64_t{0};
  std::vector<std::shared_ptr<Subscriber>> subscribers;
  bool has_responder = false;
};

// Responders may answer requests and so count for "is anyone listening?". Observers (SSE
// watchers, metrics taps) see the same messages but never make a request look answered.
enum class Interest { kResponder, kObserver };

struct HubStats {
  std::uint64_t published = 0;
  std::uint64_t delivered = 0;
  std::uint64_t subscriptions = 0;
  std::uint64_t pending_requests = 0;
};

class Hub {
 public:
  Hub();
  ~Hub();
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;

  // Removes its subscription when destroyed or reset. Must not outlive the Hub.
  class Subscription {
   public:
    Subscription() = default;
    Subscription(Subscription&& other) noexcept;
    Subscription& operator=(Subscription&& other) noexcept;
    ~Subscription();
    void reset();
    explicit operator bool() const { return hub_ != nullptr; }

   private:
    friend class Hub;
    Subscription(Hub* hub, std::uint64_t id) : hub_(hub), id_(id) {}
    Hub* hub_ = nullptr;
    std::uint64_t id_ = 0;
  };

  // 422-style error for an invalid pattern.
  Result<Subscription> subscribe(std::string_view pattern, std::shared_ptr<Subscriber> subscriber,
                                 Interest interest = Interest::kResponder);

  // Delivers to every matching subscription; returns how many received it. `subject` must be
  // valid (callers validate untrusted input with is_valid_subject first).
  std::size_t publish(std::string_view subject, std::string data, std::string reply = {});
  // Answers a request on its reply subject. `error` marks a failure answer (`data` is the
  // reason), which requesters report as an error rather than as a result. Returns how many
  // received it (0 when the requester stopped waiting).
  std::size_t reply(std::string_view reply_subject, std::string data, bool error = false);

  // Changes whenever any subscription is added or removed; Routes compare against it.
  std::uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  // Fills `route` for `subject` (valid subject) if it is stale.
  void refresh(std::string_view subject, Route& route) const;
  // Delivers a view to a resolved route; returns how many subscribers took it. Replies to
  // `_INBOX.` subjects must use publish() instead.
  std::size_t publish(const Route& route, const MessageView& message);

  // Cheap check that lets publishers skip building payloads nobody will read.
  bool has_subscribers(std::string_view subject) const;
  bool has_responders(std::string_view subject) const;
  // The distinct patterns of responder subscriptions (observers excluded) that start with
  // `prefix` (plain string prefix, e.g. "maestra.stream.request."), sorted. Walks only the part
  // of the trie under `prefix`, so a bridge can mirror local responders whenever generation()
  // changes.
  std::vector<std::string> responder_patterns(std::string_view prefix) const;

  // A request in flight. Destroying or cancel()ing it drops a late reply.
  class PendingRequest {
   public:
    PendingRequest() = default;
    PendingRequest(PendingRequest&& other) noexcept;
    PendingRequest& operator=(PendingRequest&& other) noexcept;
    ~PendingRequest();
    void cancel();
    const std::string& inbox() const { return inbox_; }

   private:
    friend class Hub;
    PendingRequest(Hub* hub, std::string inbox) : hub_(hub), inbox_(std::move(inbox)) {}
    Hub* hub_ = nullptr;
    std::string inbox_;
  };

  using ReplyHandler = std::function<void(const MessagePtr&)>;
  // Publishes `data` on `subject` with a fresh inbox as reply subject. The first reply reaches
  // `on_reply` once, on the replier's thread. Fails at once with 504 when no responder matches.
  Result<PendingRequest> request(std::string_view subject, std::string data, ReplyHandler on_reply);

  HubStats stats() const;

 private:
  struct Node;
  struct Entry;
  void unsubscribe(std::uint64_t id);
  void cancel_inbox(const std::string& inbox);
  bool deliver_to_inbox(const MessagePtr& message);
  std::size_t publish_message(const MessagePtr& message);

  mutable std::shared_mutex mutex_;
  std::unique_ptr<Node> root_;
  std::unordered_map<std::uint64_t, std::string> patterns_by_id_;
  std::uint64_t next_id_ = 1;

  mutable std::mutex inbox_mutex_;
  std::unordered_map<std::string, ReplyHandler> inboxes_;
  std::string inbox_prefix_;
  std::atomic<std::uint64_t> next_inbox_{1};

  std::atomic<std::uint64_t> generation_{0};
  std::atomic<std::uint64_t> published_{0};
  std::atomic<std::uint64_t> delivered_{0};
};

}  // namespace sluice::hub
