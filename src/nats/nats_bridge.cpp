// NatsBus: what crosses between NATS and the local hub — registry events and heartbeats in,
// local responders mirrored out, global relay channels both ways.
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/json/object.hpp>

#include <algorithm>

#include "core/json_text.hpp"
#include "hub/subject.hpp"
#include "nats/bus_internal.hpp"
#include "nats/gate.hpp"

namespace sluice::nats {

// Forwards local publications on a global channel to NATS, except those that came from NATS.
class NatsBus::GlobalForwarder final : public hub::Subscriber {
 public:
  GlobalForwarder(NatsBus& bus, std::shared_ptr<Gate> gate) : bus_(bus), gate_(std::move(gate)) {}

  void deliver(const hub::MessagePtr& m) override {
    if (GateGuard guard(*gate_); guard) bus_.send(m->subject, m->data);
  }
  bool deliver_view(const hub::MessageView& m) override {
    if (m.origin == kNatsOrigin) return false;
    GateGuard guard(*gate_);
    if (!guard) return false;
    bus_.send(m.subject, m.data);
    return true;
  }

 private:
  NatsBus& bus_;
  std::shared_ptr<Gate> gate_;
};

const std::vector<std::string>& NatsBus::event_subjects() {
  // Never "maestra.>": covering maestra.stream.request.* would make every request look answered.
  static const std::vector<std::string> subjects{
      "maestra.stream.advertise",       "maestra.stream.advertise.>",
      "maestra.stream.withdraw.>",      "maestra.stream.session.started",
      "maestra.stream.session.stopped", "maestra.stream.subscriber.joined",
      "maestra.stream.subscriber.left", "maestra.to_mqtt.>",
  };
  return subjects;
}

const std::vector<std::string>& NatsBus::heartbeat_subjects() {
  static const std::vector<std::string> subjects{
      "maestra.stream.heartbeat.*",
      "maestra.stream.session.heartbeat.*",
      "maestra.stream.subscriber.heartbeat.*",
  };
  return subjects;
}

void NatsBus::subscribe_bridges() {
  auto add = [this](const std::string& subject, const std::string& queue, MessageHandler handler) {
    auto sub = nats_->subscribe(subject, queue, std::move(handler));
    if (sub) {
      nats_subscriptions_.push_back(std::move(*sub));
    } else {
      spdlog::error("bus: cannot subscribe to '{}' on NATS: {}", subject, sub.error());
    }
  };
  for (const auto& subject : event_subjects())
    add(subject, "", [this](const IncomingMessage& m) { inject_later(m); });
  for (const auto& subject : heartbeat_subjects())
    add(subject, kHeartbeatQueue, [this](const IncomingMessage& m) { inject_later(m); });
  for (const auto& pattern : options_.global_channels) {
    // Channel data goes straight into the hub (its subscribers never block).
    add(pattern, "", [this](const IncomingMessage& m) { inject(m.subject, m.data); });
    auto observer = hub_.subscribe(pattern, std::make_shared<GlobalForwarder>(*this, gate_),
                                   hub::Interest::kObserver);
    if (observer) global_observers_.push_back(std::move(*observer));
  }
}

void NatsBus::inject(std::string_view subject, std::string_view data) {
  if (!hub::is_valid_subject(subject)) return;
  counters_->received++;
  hub::Route route;
  hub_.refresh(subject, route);
  if (route.subscribers.empty()) return;
  // The route form keeps the origin, which the global-channel observers check.
  hub_.publish(route, hub::MessageView{subject, {}, data, kNatsOrigin});
}

void NatsBus::inject_later(const IncomingMessage& m) {
  if (counters_->backlog.fetch_add(1) >= kMaxBacklog) {
    counters_->backlog.fetch_sub(1);
    counters_->backlog_dropped++;
    return;
  }
  boost::asio::post(timers_->strand,
                    [this, gate = gate_, counters = counters_, subject = std::string(m.subject),
                     data = std::string(m.data)] {
                      counters->backlog.fetch_sub(1);
                      GateGuard guard(*gate);
                      if (guard) inject(subject, data);
                    });
}

void NatsBus::forward_request(const IncomingMessage& m) {
  if (m.reply.empty()) return;  // a plain publication on a request subject: nobody to answer
  counters_->requests_forwarded++;
  local_.request(
      m.subject, std::string(m.data), options_.forward_timeout,
      [this, gate = gate_,
       reply = std::string(m.reply)](std::expected<hub::MessagePtr, hub::BusFailure> result) {
        // No local responder any more, or no answer: stay silent, another node may
        // answer.
        if (!result) return;
        GateGuard guard(*gate);
        if (!guard) return;
        const hub::Message& answer = **result;
        if (!answer.error) return send(reply, answer.data);
        // A refusal, the way a Maestra requester reads one.
        send(reply,
             to_json_text(boost::json::object{{"accepted", false}, {"reason", answer.data}}));
      });
}

void NatsBus::resync_responders() {
  const bool wanted = resync_wanted_.exchange(false);
  const std::uint64_t generation = hub_.generation();
  if (!wanted && generation == mirrored_generation_) return;
  const auto patterns = hub_.responder_patterns(kRequestPrefix);
  for (auto it = mirrored_.begin(); it != mirrored_.end();) {
    if (std::binary_search(patterns.begin(), patterns.end(), it->first)) {
      ++it;
    } else {
      it = mirrored_.erase(it);
    }
  }
  bool failed = false;
  for (const auto& pattern : patterns) {
    if (mirrored_.contains(pattern)) continue;
    auto sub =
        nats_->subscribe(pattern, "", [this](const IncomingMessage& m) { forward_request(m); });
    if (sub) {
      mirrored_.emplace(pattern, std::move(*sub));
    } else {
      failed = true;
    }
  }
  mirrored_generation_ = generation;
  if (failed) resync_wanted_ = true;  // try again on the next tick
  counters_->mirrored = mirrored_.size();
}

bool NatsBus::is_global(std::string_view subject) const {
  return std::any_of(options_.global_channels.begin(), options_.global_channels.end(),
                     [&](const std::string& p) { return hub::subject_matches(p, subject); });
}

void NatsBus::send(std::string_view subject, std::string_view data) {
  if (nats_->publish(subject, data)) {
    counters_->published++;
  } else {
    counters_->dropped++;
  }
}

}  // namespace sluice::nats
