#pragma once
// One remote hub client speaking the JSON ops protocol of /ws (docs/api.md, "WebSocket /ws").
// Sans-I/O: the transport feeds each text frame to on_frame() and ships what `send` is given.
// on_frame() and close() are called by the transport's strand only; `send` is called from any
// thread (hub deliveries) and must be thread-safe and non-blocking — the transport bounds it.
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "hub/hub.hpp"

namespace sluice::hub {

// What one client may do on the hub (the trust rules of issue 12), decided by the server.
// `subscribe` and `publish` run on the client's strand; `deliver` on publishers' threads (it
// must be thread-safe and quick).
class ClientPolicy {
 public:
  virtual ~ClientPolicy() = default;
  // Before a subscription is made; an error's detail is sent to the client.
  virtual Status subscribe(std::string_view pattern) = 0;
  // For each message matching one of the client's subscriptions: false drops it unseen.
  virtual bool deliver(std::string_view subject) = 0;
  // Before a publish (replies to requests the client was sent are not asked about).
  virtual Status publish(std::string_view subject) = 0;
};

class ClientSession {
 public:
  using Send = std::function<void(std::string frame)>;
  static constexpr std::size_t kMaxSubscriptions = 1024;

  // `policy` may be null: the client may do everything (tests, in-process use).
  ClientSession(Hub& hub, Send send, std::shared_ptr<ClientPolicy> policy = nullptr);
  ~ClientSession();

  // The greeting frame to send first.
  std::string hello() const;
  // Handles one client frame; answers (ok, err, pong) go through `send`.
  void on_frame(std::string_view text);
  // Drops every subscription; later deliveries are ignored.
  void close();

 private:
  void subscribe(const std::string& sid, const std::string& pattern);
  void error(std::string_view sid, std::string detail);

  Hub& hub_;
  std::shared_ptr<Send> send_;  // shared with the per-subscription forwarders
  std::shared_ptr<ClientPolicy> policy_;
  // Reply subjects of requests this client was sent: the only `_INBOX.` subjects it may publish
  // to (so nobody answers a request meant for someone else). Shared with the forwarders.
  struct ReplyTargets {
    static constexpr std::size_t kMax = 1024;
    std::mutex mutex;
    std::set<std::string, std::less<>> subjects;
    std::vector<std::string> order;  // oldest first, for eviction
    void add(const std::string& s);
    bool take(std::string_view s);
  };
  std::shared_ptr<ReplyTargets> replies_ = std::make_shared<ReplyTargets>();
  std::map<std::string, Hub::Subscription, std::less<>> subscriptions_;
};

}  // namespace sluice::hub
