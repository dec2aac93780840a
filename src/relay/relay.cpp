#include "relay/relay.hpp"

#include <spdlog/spdlog.h>

#include "core/json_text.hpp"
#include "hub/subject.hpp"
#include "relay/relay_connection.hpp"

namespace sluice::relay {

namespace {

// Server-side handlers are ordinary hub subscribers; deliveries from other threads are posted
// to the relay loop so handlers always run there.
class HandlerSubscriber final : public hub::Subscriber,
                                public std::enable_shared_from_this<HandlerSubscriber> {
 public:
  using Fn = std::function<void(const hub::MessageView&)>;
  HandlerSubscriber(EventLoop& loop, Fn fn) : loop_(loop), fn_(std::move(fn)) {}
  void deliver(const hub::MessagePtr& m) override {
    auto run = [self = shared_from_this(), m] {
      self->fn_(hub::MessageView{m->subject, m->reply, m->data, {}});
    };
    if (loop_.in_loop()) return run();
    loop_.post(std::move(run));
  }
  bool deliver_view(const hub::MessageView& m) override {
    if (!loop_.in_loop()) {
      deliver(m.shared());
      return true;
    }
    fn_(m);
    return true;
  }

 private:
  EventLoop& loop_;
  Fn fn_;
};

}  // namespace

Relay::Relay(hub::Hub& hub, EventLoop& loop, const Clock& clock, RelayConfig config,
             ChannelAdvertiser* advertiser)
    : hub_(hub),
      loop_(loop),
      clock_(clock),
      config_(std::move(config)),
      advertiser_(advertiser),
      buffer_budget_(config_.buffer_budget),
      partial_budget_(config_.partial_budget),
      last_heartbeat_(clock.mono_now()) {
  // The server side never lets a slow application hold credit; publishers are paced by
  // block-policy subscribers only (see RelayConnection::publish).
  config_.session.manual_credit = true;
  config_.session.send_budget = &buffer_budget_;
  config_.session.reassembly_budget = &partial_budget_;
}

void Relay::set_limits(const Limits& limits) {
  loop_.post([this, buffer_max = limits.relay_buffer_max_bytes,
              buffers = limits.relay_buffer_budget, partial = limits.relay_partial_budget,
              connections = limits.relay_max_connections,
              per_address = limits.relay_max_connections_per_address] {
    config_.max_connections = connections;
    config_.max_connections_per_address = per_address;
    config_.max_subscriber_buffer = buffer_max;
    buffer_budget_.set_limit(buffers);
    partial_budget_.set_limit(partial);
  });
}

void Relay::count_refusal(Refusal kind, const std::string& what) {
  if (config_.refusals) config_.refusals->count(kind, what);
}

Relay::~Relay() {
  // Destructors call back into the relay (publisher_closed → close_entry iterates
  // connections_), so the map must be empty and stable while they run.
  auto doomed = std::move(connections_);
  connections_.clear();
  doomed.clear();
  directory_.for_each([&](ChannelEntry& e) {
    if (advertiser_ && !e.info.registry_id.empty()) advertiser_->withdraw(e.info.registry_id);
  });
}

namespace {

// "ADDRESS:PORT" (a transport's remote_address()) without the port.
std::string address_of(const std::string& remote) {
  const auto colon = remote.rfind(':');
  return colon == std::string::npos ? remote : remote.substr(0, colon);
}

}  // namespace

RelayConnection* Relay::accept(Transport& transport) {
  const std::string remote = transport.remote_address();
  if (connections_.size() >= config_.max_connections) {
    count_refusal(Refusal::kRelayConnections,
                  "relay connection from " + remote + ": " + std::to_string(connections_.size()) +
                      " wire sessions are open, the limit (relay-max-connections)");
    return nullptr;
  }
  std::size_t& from_address = per_address_[address_of(remote)];
  if (from_address >= config_.max_connections_per_address) {
    count_refusal(Refusal::kRelayConnectionsPerAddress,
                  "relay connection from " + remote + ": " + std::to_string(from_address) +
                      " wire sessions from this address are open, the limit per address "
                      "(relay-max-connections-per-address)");
    return nullptr;
  }
  ++from_address;
  std::string id = "s" + std::to_string(next_session_++);
  auto connection = std::make_unique<RelayConnection>(*this, transport, id);
  auto* raw = connection.get();
  connections_.emplace(raw, std::move(connection));
  stats_.connections_total++;
  return raw;
}

void Relay::remove(RelayConnection* connection) {
  // Extract first: the destructor calls back into the relay, which may walk connections_.
  auto node = connections_.extract(connection);
  if (node.empty()) return;
  const std::string address = address_of(connection->transport().remote_address());
  if (auto it = per_address_.find(address); it != per_address_.end() && --it->second == 0) {
    per_address_.erase(it);
  }
}

void Relay::tick() {
  MonoTime now = clock_.mono_now();
  for (auto& [raw, connection] : connections_)
    connection->tick(now);
  if (advertiser_ && now - last_heartbeat_ >= config_.registry_heartbeat) {
    last_heartbeat_ = now;
    directory_.for_each([&](ChannelEntry& e) {
      if (!e.options.advertise || !e.info.active) return;
      if (!e.info.registry_id.empty() && advertiser_->heartbeat(e.info.registry_id)) return;
      // Expired (e.g. the daemon was stalled past the TTL), or never advertised because the
      // registry was unreachable then: advertise it (again); a failure retries next time.
      auto id = advertiser_->advertise(e.info, e.options.stream_type, e.options.metadata);
      e.info.registry_id = id.value_or("");
    });
  }
  report_budget_refusals();
  std::lock_guard lock(published_mutex_);
  published_ = stats();
}

void Relay::release_all_stalls() {
  MonoTime now = clock_.mono_now();
  for (auto& [raw, connection] : connections_) {
    if (connection->has_stalls()) connection->release_stalls(now);
  }
}

void Relay::shutdown() {
  for (auto& [raw, connection] : connections_) {
    connection->session().goaway(wire::ErrorCode::kGoingAway, "the server is shutting down");
    connection->wake();
  }
}

// Sessions and queues count what their budgets refused (per message: too often to log each);
// the tick hands the counts to Refusals, which logs at most once a second per kind.
void Relay::report_budget_refusals() {
  if (!config_.refusals) return;
  if (auto n = buffer_budget_.refused() - buffer_refusals_reported_; n > 0) {
    buffer_refusals_reported_ += n;
    config_.refusals->count(
        Refusal::kRelayBufferBudget,
        [&] {
          return std::to_string(n) +
                 " message(s) not queued for relay subscribers: their "
                 "buffers hold the relay buffer budget (relay-buffer-budget, " +
                 std::to_string(buffer_budget_.limit()) + " bytes); each is a gap";
        },
        n);
  }
  if (auto n = partial_budget_.refused() - partial_refusals_reported_; n > 0) {
    partial_refusals_reported_ += n;
    config_.refusals->count(
        Refusal::kRelayPartialBudget,
        [&] {
          return std::to_string(n) +
                 " relay stream(s) reset: partial messages hold the "
                 "partial-message budget (relay-partial-budget, " +
                 std::to_string(partial_budget_.limit()) + " bytes)";
        },
        n);
  }
}

RelayStats Relay::stats() const {
  RelayStats s = stats_;
  s.connections_active = connections_.size();
  s.channels = directory_.size();
  s.buffered_bytes = buffer_budget_.used();
  s.partial_bytes = partial_budget_.used();
  return s;
}

RelayStats Relay::published_stats() const {
  std::lock_guard lock(published_mutex_);
  return published_;
}

// ---------------------------------------------------------------------------- channels

ChannelEntry* Relay::publisher_opened(const std::string& channel, const std::string& owner,
                                      const wire::OpenRequest& request) {
  bool created = false;
  auto* entry = directory_.get_or_create(channel, created);
  if (!entry) return nullptr;
  entry->info.publishers++;
  if (created) {
    entry->info.owner = owner;
    entry->info.created_at = clock_.wall_now();
    entry->options.keep_last_value = request.keep_last_value;
    entry->options.advertise = request.advertise;
    entry->options.stream_type = request.stream_type;
    entry->options.metadata = request.metadata;
    if (request.advertise && advertiser_) {
      if (auto id = advertiser_->advertise(entry->info, request.stream_type, request.metadata)) {
        entry->info.registry_id = *id;
      }
    }
  }
  entry->info.active = true;
  return entry;
}

void Relay::publisher_closed(ChannelEntry* entry, const std::string& owner) {
  if (!entry) return;
  if (entry->info.publishers > 0) entry->info.publishers--;
  if (entry->info.publishers == 0 && !entry->server_owned) close_entry(*entry);
}

void Relay::close_entry(ChannelEntry& entry) {
  if (advertiser_ && !entry.info.registry_id.empty()) advertiser_->withdraw(entry.info.registry_id);
  entry.info.registry_id.clear();
  entry.info.active = false;
  // Subscriptions are patterns and stay; their owners learn the channel closed.
  auto json = to_json_text(boost::json::object{{"event", "closed"}, {"channel", entry.info.name}});
  for (auto& [raw, connection] : connections_)
    connection->channel_closed(entry.info.name, json);
  std::string name = entry.info.name;
  if (entry.info.publishers == 0) directory_.erase(name);
}

Status Relay::create_channel(const std::string& name, ChannelOptions options) {
  if (!hub::is_valid_subject(name)) {
    return fail(Error::invalid_field({"channel"}, "invalid channel name '" + name + "'"));
  }
  bool created = false;
  auto* entry = directory_.get_or_create(name, created);
  if (!entry) return fail(Error{429, "too many channels", {}});
  entry->server_owned = true;
  entry->info.owner = "server";
  entry->info.active = true;
  if (created) entry->info.created_at = clock_.wall_now();
  entry->options = std::move(options);
  if (entry->options.advertise && advertiser_ && entry->info.registry_id.empty()) {
    if (auto id = advertiser_->advertise(entry->info, entry->options.stream_type,
                                         entry->options.metadata)) {
      entry->info.registry_id = *id;
    }
  }
  return {};
}

std::size_t Relay::push(std::string_view channel, std::string_view data) {
  hub::Route route;
  hub_.refresh(channel, route);
  hub::MessageView view{channel, {}, data, "server"};
  std::size_t took = hub_.publish(route, view);
  if (auto* e = directory_.find(channel)) {
    e->info.message_count++;
    e->info.bytes += data.size();
    if (e->options.keep_last_value) e->last_value = std::make_shared<const std::string>(data);
  }
  return took;
}

Status Relay::close_channel(std::string_view name) {
  auto* entry = directory_.find(name);
  if (!entry) return fail(Error::not_found("no channel named '" + std::string(name) + "'"));
  entry->server_owned = false;
  close_entry(*entry);
  return {};
}

namespace {
std::string subscription_event(std::string_view pattern, std::string_view subscriber,
                               bool subscribed) {
  return to_json_text(boost::json::object{{"event", subscribed ? "subscribe" : "unsubscribe"},
                                          {"pattern", pattern},
                                          {"subscriber", subscriber}});
}
}  // namespace

void Relay::for_each_subscription(
    std::string_view channel,
    const std::function<void(std::string_view pattern, std::string_view subscriber)>& fn) const {
  for (const auto& [raw, connection] : connections_) {
    connection->for_each_pattern([&](std::string_view pattern) {
      if (hub::subject_matches(pattern, channel)) fn(pattern, connection->id());
    });
  }
}

void Relay::on_subscription(const std::string& channel, SubscriptionHandler handler) {
  // The handler learns about subscriptions that already exist first. From a snapshot: the
  // handler may push, close channels or register handlers, which changes what is iterated.
  std::vector<std::string> existing;
  for_each_subscription(
      channel, [&](std::string_view, std::string_view who) { existing.emplace_back(who); });
  subscription_handlers_.emplace(channel, handler);
  for (const auto& who : existing)
    handler(who, true);
}

void Relay::announce_subscribers(RelayConnection& owner, std::uint32_t stream,
                                 std::string_view channel) {
  for_each_subscription(channel, [&](std::string_view pattern, std::string_view who) {
    owner.notify(stream, subscription_event(pattern, who, true));
  });
}

void Relay::subscription_changed(std::string_view pattern, std::string_view subscriber,
                                 bool subscribed) {
  auto json = subscription_event(pattern, subscriber, subscribed);
  directory_.for_each([&](ChannelEntry& e) {
    if (e.owner_connection && hub::subject_matches(pattern, e.info.name)) {
      e.owner_connection->notify(e.owner_stream, json);  // only queues a frame
    }
  });
  // Server handlers, whether or not their channel exists, from a snapshot: a handler may
  // close channels, push or register handlers, which changes what is iterated here.
  std::vector<SubscriptionHandler> matching;
  for (const auto& [channel, handler] : subscription_handlers_) {
    if (hub::subject_matches(pattern, channel)) matching.push_back(handler);
  }
  const std::string who(subscriber);
  for (const auto& handler : matching)
    handler(who, subscribed);
}

Result<hub::Hub::Subscription> Relay::on_client_stream(std::string_view pattern,
                                                       ClientStreamHandler handler) {
  auto sub = std::make_shared<HandlerSubscriber>(
      loop_, [handler = std::move(handler)](const hub::MessageView& m) {
        handler(ClientMessage{m.origin, m.subject, m.data});
      });
  return hub_.subscribe(pattern, std::move(sub), hub::Interest::kObserver);
}

const boost::json::object* Relay::channel_metadata(std::string_view name) const {
  const ChannelEntry* entry = directory_.find(name);
  return entry ? &entry->options.metadata : nullptr;
}

Result<hub::Hub::Subscription> Relay::handle_requests(std::string_view channel,
                                                      RequestHandler handler) {
  hub::Hub* hub = &hub_;
  auto sub = std::make_shared<HandlerSubscriber>(
      loop_, [hub, handler = std::move(handler)](const hub::MessageView& m) {
        if (m.reply.empty()) return;
        auto answer = handler(ClientMessage{m.origin, m.subject, m.data});
        if (answer) {
          hub->reply(m.reply, std::move(*answer));
        } else {
          hub->reply(m.reply, wire::error_reply_body(answer.error().status, answer.error().detail),
                     true);
        }
      });
  return hub_.subscribe(channel, std::move(sub), hub::Interest::kResponder);
}

std::vector<ChannelInfo> Relay::channels() const {
  std::vector<ChannelInfo> out;
  directory_.for_each([&](const ChannelEntry& e) {
    ChannelInfo info = e.info;
    hub::Route route;
    hub_.refresh(info.name, route);
    info.subscribers = route.subscribers.size();
    out.push_back(std::move(info));
  });
  return out;
}

std::optional<ChannelInfo> Relay::channel(std::string_view name) const {
  const auto* e = directory_.find(name);
  if (!e) return std::nullopt;
  ChannelInfo info = e->info;
  hub::Route route;
  hub_.refresh(info.name, route);
  info.subscribers = route.subscribers.size();
  return info;
}

}  // namespace sluice::relay
