#pragma once
// One wire client of the relay: its wire::Session and what each of its streams is bound to.
//   publish   — messages go to the hub through a cached route (no trie walk per message);
//   subscribe — a WireSubscriber in the hub feeds the stream's bounded send queue;
//   request   — each message becomes a hub request; the reply (or an error) comes back on the
//               same stream with the client's token.
// Relay thread only. Owned by Relay; the transport keeps a raw pointer until Relay::remove().
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "relay/relay.hpp"

namespace sluice::relay {

class WireSubscriber;

// Outlives its connection so late callbacks (hub replies on other threads) can tell it is gone.
struct ConnectionHandle {
  RelayConnection* connection = nullptr;  // relay thread reads/writes only
};

class RelayConnection final : public wire::SessionEvents {
 public:
  RelayConnection(Relay& relay, Transport& transport, std::string id);
  ~RelayConnection() override;

  wire::Session& session() { return session_; }
  const std::string& id() const { return id_; }
  Transport& transport() { return transport_; }
  // Session deadlines, request timeouts, publisher stalls.
  void tick(MonoTime now);
  bool has_stalls() const { return !stalls_.empty(); }
  void release_stalls(MonoTime now);
  // Asks the transport to write once per loop turn.
  void wake();
  void write_done() { write_requested_ = false; }

  // From WireSubscriber (relay thread). Returns whether the message was taken.
  bool enqueue(std::uint32_t stream, const hub::MessageView& message, bool wildcard,
               bool responder);
  void notify(std::uint32_t stream, std::string_view json);
  // The patterns of this session's subscriptions.
  template <class Fn>
  void for_each_pattern(Fn&& fn) const {
    for (const auto& [stream, sub] : subscriptions_)
      fn(std::string_view(sub.pattern));
  }
  // Tells every subscription matching `channel` that it closed (EVENT).
  void channel_closed(std::string_view channel, std::string_view json);

  // wire::SessionEvents
  wire::HandshakeStep on_hello(const wire::Hello& hello) override;
  wire::HandshakeStep on_auth(std::string_view data) override;
  void on_open(std::uint32_t stream, wire::OpenRequest request) override;
  void on_message(const wire::InboundMessage& message) override;
  void on_finished(std::uint32_t stream) override;
  void on_reset(std::uint32_t stream, wire::ErrorCode code, std::string_view reason,
                bool by_peer) override;
  void on_drained(std::uint32_t stream) override;
  void on_closed(wire::ErrorCode code, std::string_view reason, bool by_peer) override;

 private:
  struct Publisher {
    std::string channel;
    ChannelEntry* entry = nullptr;
    hub::Route route;
    std::vector<std::shared_ptr<WireSubscriber>> blockers;  // block-policy subscribers
  };
  struct Subscription {
    std::string pattern;
    std::shared_ptr<WireSubscriber> subscriber;
    hub::Hub::Subscription handle;
  };
  struct Requester {
    std::string channel;
    std::uint32_t timeout_ms = 5000;
  };
  struct PendingRequest {
    std::uint32_t stream = 0;
    std::uint64_t client_token = 0;
    hub::Hub::PendingRequest hub_request;
    MonoTime deadline;
  };
  // A publisher stream whose credit is withheld because block-policy subscribers are full.
  struct Stall {
    std::uint32_t stream = 0;
    std::uint32_t credit = 0;
    MonoTime deadline;
    std::vector<std::weak_ptr<WireSubscriber>> blockers;
  };

  void open_publisher(std::uint32_t stream, const wire::OpenRequest& request);
  void open_subscriber(std::uint32_t stream, const wire::OpenRequest& request);
  void publish(std::uint32_t stream, Publisher& p, const wire::InboundMessage& m);
  void request(std::uint32_t stream, const wire::InboundMessage& m);
  void reply(const wire::InboundMessage& m);
  void complete_request(std::uint64_t token, std::string_view data, bool error);
  void close_stream(std::uint32_t stream);
  void refresh_route(Publisher& p);

  Relay& relay_;
  Transport& transport_;
  std::string id_;
  wire::Session session_;
  std::shared_ptr<ConnectionHandle> handle_;
  std::unique_ptr<wire::scram::ServerExchange> scram_;
  // Who the session authenticated as, and what it may do on the hub (null: everything).
  std::string principal_kind_ = "anonymous";
  std::string principal_name_;
  std::shared_ptr<hub::ClientPolicy> access_;
  bool access_made_ = false;
  hub::ClientPolicy* access();
  // Refuses an OPEN the access policy forbids; true when refused.
  bool refuse(std::uint32_t stream, const Status& verdict);
  bool write_requested_ = false;

  std::unordered_map<std::uint32_t, Publisher> publishers_;
  std::unordered_map<std::uint32_t, Subscription> subscriptions_;
  std::unordered_map<std::uint32_t, Requester> requesters_;
  std::unordered_map<std::uint64_t, PendingRequest> pending_;  // our requests, by server token
  struct ReplyInbox {
    std::string inbox;
    std::uint32_t stream = 0;
    MonoTime expires;
  };
  std::unordered_map<std::uint64_t, ReplyInbox> reply_inboxes_;  // requests we must answer
  std::vector<Stall> stalls_;
};

// The hub side of a wire subscription.
class WireSubscriber final : public hub::Subscriber,
                             public std::enable_shared_from_this<WireSubscriber> {
 public:
  // `filter` (may be null) drops messages the session may not read, for patterns that span
  // subjects of several permission classes (`>`, `maestra.stream.>`).
  WireSubscriber(Relay& relay, RelayConnection* connection, std::uint32_t stream, bool wildcard,
                 bool responder, const wire::QueueLimits& limits,
                 std::shared_ptr<hub::ClientPolicy> filter = nullptr)
      : relay_(relay),
        filter_(std::move(filter)),
        connection_(connection),
        stream_(stream),
        wildcard_(wildcard),
        responder_(responder),
        policy_(limits.policy),
        max_stall_(limits.max_stall) {}

  void deliver(const hub::MessagePtr& message) override;
  bool deliver_view(const hub::MessageView& message) override;

  // Relay thread.
  void detach() { connection_ = nullptr; }
  RelayConnection* connection() const { return connection_; }
  std::uint32_t stream() const { return stream_; }
  wire::OverflowPolicy policy() const { return policy_; }
  std::chrono::milliseconds max_stall() const { return max_stall_; }
  bool over_limit() const;
  // Drops oldest down to the limits, counted in the relay stats (and the channel `subject`'s,
  // when given).
  void trim(std::string_view subject = {});

 private:
  Relay& relay_;
  std::shared_ptr<hub::ClientPolicy> filter_;
  RelayConnection* connection_;
  std::uint32_t stream_;
  bool wildcard_;
  bool responder_;
  wire::OverflowPolicy policy_;
  std::chrono::milliseconds max_stall_;
};

}  // namespace sluice::relay
