#include "server/osc_wiring.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <set>

#include "auth/access_policy.hpp"
#include "core/event_loop.hpp"
#include "core/log_limiter.hpp"
#include "core/logging.hpp"
#include "http/metrics.hpp"
#include "hub/hub.hpp"
#include "hub/subject.hpp"
#include "osc/osc_mapping.hpp"
#include "osc/osc_server.hpp"
#include "registry/registry.hpp"
#include "relay/relay.hpp"

namespace sluice::server {
namespace {

constexpr std::size_t kMaxChannels = 1024;  // relay channels made from OSC addresses
constexpr std::size_t kMaxTargets = 32;

// "10.0.0.7:9000" → "10.0.0.7" (IPv4, or "[v6]:port").
std::string host_of(const std::string& sender) {
  if (sender.starts_with("[")) return sender.substr(1, sender.find(']') - 1);
  return sender.substr(0, sender.rfind(':'));
}

}  // namespace

struct OscWiring::Impl : std::enable_shared_from_this<OscWiring::Impl> {
  Impl(const Config& c, registry::Registry& r, relay::Relay& re, EventLoop& l, hub::Hub& h,
       const auth::AccessPolicy& p)
      : config(c), registry(r), relay(re), relay_loop(l), hub(h), policy(p) {}

  // A target of osc_targets: the channels matching `pattern` go to `to`.
  struct Target {
    std::string pattern;
    osc::OscTarget to;
    hub::Hub::Subscription subscription;
  };
  // Sends what hub subscribers see on a target's channels out as OSC.
  struct Forwarder final : hub::Subscriber {
    std::weak_ptr<Impl> impl;
    osc::OscTarget to;
    void deliver(const hub::MessagePtr& m) override {
      auto self = impl.lock();
      if (!self || !self->server) return;
      osc::PayloadForm form;
      {
        std::lock_guard lock(self->mutex);
        form = self->payload;
      }
      auto datagram = osc::datagram_for(m->subject, m->data, form);
      if (!datagram) {
        ++self->unsendable;
        return;
      }
      (void)self->server->send(to, *datagram);
    }
  };

  void on_message(const osc::OscPacketInfo& from, std::vector<osc::OscMessage> messages,
                  std::span<const std::uint8_t> raw) {
    osc::PayloadForm form;
    {
      std::lock_guard lock(mutex);
      form = payload;
    }
    const auth::Identity who = auth::Identity::anonymous(host_of(from.sender));
    for (auto& message : messages) {
      Result<osc::ChannelMessage> mapped = osc::to_channel_message(message, form);
      if (mapped && form == osc::PayloadForm::raw && messages.size() == 1) {
        mapped->payload.assign(reinterpret_cast<const char*>(raw.data()), raw.size());
      }
      if (!mapped) {
        ++refused;
        static LogLimiter limiter;
        log_limited(limiter, false, "osc: from " + from.sender + ": " + mapped.error().detail);
        continue;
      }
      if (auto ok = policy.authorize(
              who, auth::Need{auth::Resource::kChannels, auth::Access::kWrite, mapped->channel});
          !ok) {
        ++refused;
        static LogLimiter limiter;
        log_limited(
            limiter, true,
            "osc: " + from.sender + " may not write " + mapped->channel + ": " + ok.error().detail);
        continue;
      }
      relay_loop.post([self = shared_from_this(), m = std::move(*mapped)] { self->push(m); });
    }
  }

  // Relay thread.
  void push(const osc::ChannelMessage& m) {
    if (!channels.contains(m.channel)) {
      if (channels.size() >= kMaxChannels) {
        ++channels_full;
        return;
      }
      relay::ChannelOptions options;
      options.keep_last_value = true;
      options.advertise = false;  // the sender's `osc` stream stands for its channels
      options.stream_type = "osc";
      options.metadata = {{"source", "osc"}};
      if (auto ok = relay.create_channel(m.channel, options); !ok) {
        ++refused;
        return;
      }
      channels.insert(m.channel);
    }
    relay.push(m.channel, m.payload);
    ++forwarded;
  }

  void source_appeared(const osc::OscSource& source) {
    registry::AdvertiseRequest ad;
    ad.name = "OSC from " + source.sender;
    ad.stream_type = "osc";
    ad.publisher_id = "osc:" + source.sender;
    ad.protocol = "osc";
    ad.address = host_of(source.sender);
    const auto colon = source.sender.rfind(':');
    ad.port = colon == std::string::npos ? 0 : std::atoi(source.sender.c_str() + colon + 1);
    ad.config = {{"channel_prefix", "osc"}, {"gateway_port", bound_port}};
    auto made = registry.advertise(ad, registry::Actor{"addr:" + ad.address, false});
    if (!made) {
      spdlog::warn("osc: {} not advertised: {}", source.sender, made.error().detail);
      return;
    }
    std::lock_guard lock(mutex);
    streams[source.sender] = made->stream.id;
  }

  void source_gone(const osc::OscSource& source) {
    std::string id;
    {
      std::lock_guard lock(mutex);
      auto it = streams.find(source.sender);
      if (it == streams.end()) return;
      id = it->second;
      streams.erase(it);
    }
    (void)registry.withdraw(id);
  }

  const Config& config;
  registry::Registry& registry;
  relay::Relay& relay;
  EventLoop& relay_loop;
  hub::Hub& hub;
  const auth::AccessPolicy& policy;
  std::unique_ptr<osc::OscServer> server;
  std::uint16_t bound_port = 0;
  std::set<std::string> channels;                          // relay thread: channels made
  std::chrono::steady_clock::time_point last_heartbeat{};  // tick()'s caller's thread
  mutable std::mutex mutex;                                // guards what follows
  osc::PayloadForm payload = osc::PayloadForm::json;
  std::map<std::string, std::string> streams;  // sender → registry stream id
  std::vector<std::unique_ptr<Target>> targets;
  std::vector<std::string> pending_targets;  // osc_targets set before start()
  std::atomic<std::uint64_t> forwarded{0}, refused{0}, channels_full{0}, unsendable{0};
};

OscWiring::OscWiring(const Config& config, registry::Registry& registry, relay::Relay& relay,
                     EventLoop& relay_loop, hub::Hub& hub, const auth::AccessPolicy& policy)
    : impl_(std::make_shared<Impl>(config, registry, relay, relay_loop, hub, policy)) {}

OscWiring::~OscWiring() {
  stop();
}

std::uint16_t OscWiring::start() {
  osc::OscOptions options;
  options.listen = impl_->config.osc.host + ":" + std::to_string(impl_->config.osc.port);
  std::weak_ptr<Impl> weak = impl_;
  options.on_message = [weak](const osc::OscPacketInfo& from, std::vector<osc::OscMessage> m,
                              std::span<const std::uint8_t> raw) {
    if (auto self = weak.lock()) self->on_message(from, std::move(m), raw);
  };
  options.on_source_appeared = [weak](const osc::OscSource& s) {
    if (auto self = weak.lock()) self->source_appeared(s);
  };
  options.on_source_gone = [weak](const osc::OscSource& s) {
    if (auto self = weak.lock()) self->source_gone(s);
  };
  auto server = std::make_unique<osc::OscServer>(std::move(options));
  try {
    server->start();
  } catch (const std::exception& e) {
    throw ConfigError(std::string("osc: ") + e.what());
  }
  impl_->bound_port = server->port();
  impl_->server = std::move(server);
  std::vector<std::string> pending;
  {
    std::lock_guard lock(impl_->mutex);
    pending.swap(impl_->pending_targets);
  }
  if (auto ok = set_targets(pending); !ok) {
    spdlog::warn("osc: osc_targets not applied: {}", ok.error().detail);
  }
  spdlog::info("osc: listening on UDP {}:{}", impl_->config.osc.host, impl_->bound_port);
  return impl_->bound_port;
}

void OscWiring::stop() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->targets.clear();
  }
  if (impl_->server) impl_->server->stop();  // reports every source gone
}

Status OscWiring::set_payload(const std::string& form) {
  auto parsed = osc::parse_payload_form(form);
  if (!parsed) return fail(Error::invalid_field({"body", "value"}, "osc_payload: json or raw"));
  std::lock_guard lock(impl_->mutex);
  impl_->payload = *parsed;
  return {};
}

Status OscWiring::set_targets(const std::vector<std::string>& entries) {
  if (entries.size() > kMaxTargets) {
    return fail(Error::invalid_field({"body", "value"}, "osc_targets: at most 32 targets"));
  }
  std::vector<std::unique_ptr<Impl::Target>> made;
  for (const auto& entry : entries) {
    const auto eq = entry.find('=');
    const std::string pattern = entry.substr(0, eq);
    auto bad = [&](const std::string& why) {
      return fail(Error::invalid_field({"body", "value"},
                                       "osc_targets: '" + entry + "': " + why +
                                           " (PATTERN=HOST:PORT, e.g. osc.stage.>=10.0.0.5:9000)"));
    };
    if (eq == std::string::npos) return bad("no '='");
    if (!hub::is_valid_pattern(pattern)) return bad("not a channel pattern");
    if (!impl_->server) {  // before start() (a restored value) or with --osc off: kept for it
      std::lock_guard lock(impl_->mutex);
      impl_->pending_targets = entries;
      return {};
    }
    auto to = impl_->server->resolve(entry.substr(eq + 1));
    if (!to) return bad(to.error().detail);
    auto target = std::make_unique<Impl::Target>();
    target->pattern = pattern;
    target->to = *to;
    made.push_back(std::move(target));
  }
  for (auto& target : made) {
    auto forwarder = std::make_shared<Impl::Forwarder>();
    forwarder->impl = impl_;
    forwarder->to = target->to;
    auto sub = impl_->hub.subscribe(target->pattern, forwarder, hub::Interest::kObserver);
    if (!sub) return fail(sub.error());
    target->subscription = std::move(*sub);
  }
  std::lock_guard lock(impl_->mutex);
  impl_->targets = std::move(made);
  return {};
}

void OscWiring::tick() {
  const auto now = std::chrono::steady_clock::now();
  if (now - impl_->last_heartbeat < std::chrono::seconds(10)) return;
  impl_->last_heartbeat = now;
  std::vector<std::string> ids;
  {
    std::lock_guard lock(impl_->mutex);
    for (const auto& [sender, id] : impl_->streams)
      ids.push_back(id);
  }
  for (const auto& id : ids)
    (void)impl_->registry.keep_alive(id);
}

void OscWiring::render_metrics(http::PrometheusWriter& w) const {
  if (!impl_->server) return;
  const auto& c = impl_->server->counters();
  w.header("sluice_osc_total", "counter", "OSC datagrams and messages by event");
  for (const auto& [event, value] :
       {std::pair<const char*, std::uint64_t>{"received", c.received.load()},
        {"malformed", c.malformed.load()},
        {"rate_limited", c.rate_limited.load()},
        {"forwarded", impl_->forwarded.load()},
        {"refused", impl_->refused.load()},
        {"channels_full", impl_->channels_full.load()},
        {"sent", c.sent.load()},
        {"send_failed", c.send_failed.load()},
        {"unsendable", impl_->unsendable.load()}}) {
    w.sample("sluice_osc_total", {{"event", event}}, static_cast<double>(value));
  }
}

}  // namespace sluice::server
