#pragma once
// hub::Bus over NATS, for several sluiced nodes acting as one (docs/operations.md, "Several
// nodes"). Every node keeps its in-process Hub; NatsBus joins the hubs through NATS with the
// subjects Maestra uses (reference §5):
//
//  - publish(): to the local hub and to NATS (no echo: a node never hears itself back).
//  - registry events of other nodes (maestra.stream.advertise[.>], withdraw.>, session.started|
//    stopped, subscriber.joined|left) are published into the local hub, once each.
//  - heartbeats arriving over NATS (maestra.stream.heartbeat.*, session.heartbeat.*,
//    subscriber.heartbeat.*) go to the local hub of one node (queue group "sluice-registry").
//  - request(): a local responder answers locally (LocalBus); otherwise a NATS request.
//  - local responders on maestra.stream.request.* are mirrored as NATS subscriptions, so other
//    nodes and plain NATS clients reach publishers attached to this node.
//  - global relay channels (patterns) are forwarded both ways; messages that came from NATS
//    carry origin "nats" and are not sent back.
//
// NATS being down never blocks or throws: the bus starts anyway, reconnects forever (250 ms
// doubling to 2 s), drops (and counts) what it cannot publish and reports it in problem().
//
// Threads: every method may be called from any thread. Request callbacks run on an io thread
// (or at once on the caller's thread for an immediate failure; local requests as LocalBus).
// Destruction stops every callback of the bus first; requests still pending are dropped.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "hub/bus.hpp"
#include "nats/nats_connection.hpp"
#include "server/local_bus.hpp"

namespace sluice::nats {

class Gate;

struct NatsBusOptions {
  std::string url;                           // "nats://host:port[,nats://host:port...]"
  std::vector<std::string> global_channels;  // hub patterns bridged both ways
  // How long a NATS request forwarded to a local responder may wait for its answer.
  std::chrono::milliseconds forward_timeout{5000};
  std::chrono::milliseconds resync_interval{100};  // how often local responders are mirrored
};

struct NatsBusStats {
  bool connected = false;
  std::uint64_t published = 0;           // messages handed to NATS
  std::uint64_t dropped_while_down = 0;  // publications NATS could not take
  std::uint64_t received = 0;            // messages from NATS put into the local hub
  std::uint64_t requests_local = 0;      // requests answered through the local hub
  std::uint64_t requests_ok = 0;         // NATS requests answered
  std::uint64_t requests_no_responders = 0;
  std::uint64_t requests_timeout = 0;
  std::uint64_t requests_unavailable = 0;  // not sent (or lost) because NATS was down
  std::uint64_t requests_forwarded = 0;    // NATS requests handed to local responders
  std::uint64_t mirrored_responders = 0;   // local responder patterns subscribed on NATS now
  std::uint64_t backlog_dropped = 0;       // events/heartbeats refused: kMaxBacklog waiting
};

class NatsBus final : public hub::Bus {
 public:
  // `hub` and `io` must outlive the bus. Throws std::runtime_error for a malformed URL or global
  // channel pattern; an unreachable server is not an error.
  NatsBus(hub::Hub& hub, boost::asio::io_context& io, NatsBusOptions options);
  ~NatsBus() override;
  NatsBus(const NatsBus&) = delete;
  NatsBus& operator=(const NatsBus&) = delete;

  void publish(std::string_view subject, std::string data) override;
  // Closes the connection and the bus's gate: no libnats callback, io handler or hub delivery
  // enters the bus afterwards; pending requests are dropped. publish() stays local.
  void quiesce() override;
  // True while connected (remote interest cannot be known) or when the local hub has one.
  bool has_subscribers(std::string_view subject) const override;
  void request(std::string_view subject, std::string data, std::chrono::milliseconds timeout,
               hub::RequestCallback done) override;
  std::string describe() const override { return display_url_; }
  // "" when connected, else "NATS nats://host:4222 unreachable: <reason>".
  std::string problem() const override;

  bool connected() const { return nats_->connected(); }
  NatsBusStats stats() const;

  // The subjects bridged from NATS into the local hub (events and heartbeats).
  static const std::vector<std::string>& event_subjects();
  static const std::vector<std::string>& heartbeat_subjects();
  static constexpr const char* kRequestPrefix = "maestra.stream.request.";
  static constexpr const char* kHeartbeatQueue = "sluice-registry";
  static constexpr const char* kNatsOrigin = "nats";  // MessageView::origin of injected messages

  struct Counters;
  struct Call;

 private:
  class GlobalForwarder;
  struct Timers;

  // nats_bridge.cpp: what crosses between NATS and the local hub.
  void subscribe_bridges();
  void inject(std::string_view subject, std::string_view data);  // NATS -> local hub, origin nats
  // Same, on the io strand (a heartbeat may wait for the store). At most kMaxBacklog wait;
  // beyond that new ones are dropped and counted (overflow policy: drop-newest), so a stalled
  // store cannot make the backlog grow without bound or replay stale heartbeats for minutes.
  void inject_later(const IncomingMessage& m);
  static constexpr std::size_t kMaxBacklog = 10'000;
  void forward_request(const IncomingMessage& m);  // NATS request -> local responder
  void resync_responders();                        // mirror local responder patterns
  bool is_global(std::string_view subject) const;
  void send(std::string_view subject, std::string_view data);  // to NATS, counted

  // nats_bus.cpp: requests over NATS.
  void on_reply(const IncomingMessage& m);
  std::shared_ptr<Call> take(std::uint64_t id);  // the call, if still waiting
  // Counts the outcome and runs the callback on an io thread (now, if already on one).
  void complete(std::shared_ptr<Call> call, std::expected<hub::MessagePtr, hub::BusFailure> result,
                bool on_io_thread);
  void fail_pending(const std::string& why);
  void arm_tick();

  hub::Hub& hub_;
  boost::asio::io_context& io_;
  NatsBusOptions options_;
  std::string display_url_;
  std::shared_ptr<Gate> gate_;  // guards callbacks that reach the bus from io/hub threads
  std::shared_ptr<Counters> counters_;
  server::LocalBus local_;
  std::unique_ptr<Timers> timers_;
  std::unique_ptr<NatsConnection> nats_;

  std::string inbox_prefix_;  // "_INBOX.<nuid>."; replies land on inbox_prefix_ + call id
  std::atomic<std::uint64_t> next_call_{1};
  std::mutex calls_mutex_;
  std::unordered_map<std::uint64_t, std::shared_ptr<Call>> calls_;

  std::vector<NatsConnection::Subscription> nats_subscriptions_;  // replies, events, channels
  std::vector<hub::Hub::Subscription> global_observers_;

  // Owned by the tick (one handler at a time on the io_context).
  std::map<std::string, NatsConnection::Subscription> mirrored_;
  std::uint64_t mirrored_generation_ = ~std::uint64_t{0};
  std::atomic<bool> resync_wanted_{true};
  std::atomic<bool> constructed_{false};  // libnats may call back before nats_ is set
};

}  // namespace sluice::nats
