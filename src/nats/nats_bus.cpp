#include "nats/nats_bus.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <charconv>
#include <stdexcept>

#include "hub/subject.hpp"
#include "nats/bus_internal.hpp"
#include "nats/gate.hpp"

namespace sluice::nats {
namespace {

using hub::BusFailure;
using Kind = hub::BusFailure::Kind;

// One server of the --bus list: what to hand libnats, and how to show it (no credentials).
struct ServerUrl {
  std::string url;
  std::string display;
};

ServerUrl parse_server_url(std::string_view text) {
  auto bad = [&](std::string_view why) {
    std::string shown(text);
    if (auto at = shown.rfind('@'); at != std::string::npos) {
      auto scheme = shown.find("://");
      shown.replace(scheme == std::string::npos ? 0 : scheme + 3,
                    at - (scheme == std::string::npos ? 0 : scheme + 3), "***");
    }
    return std::runtime_error("invalid NATS URL '" + shown + "' in 'bus': " + std::string(why) +
                              " (expected nats://HOST:PORT)");
  };
  constexpr std::string_view kScheme = "nats://";
  if (!text.starts_with(kScheme)) throw bad("it must start with nats://");
  std::string_view rest = text.substr(kScheme.size());
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    if (rest.substr(slash) != "/") throw bad("a path is not allowed");
    rest = rest.substr(0, slash);
  }
  if (auto at = rest.rfind('@'); at != std::string_view::npos) rest = rest.substr(at + 1);
  std::string_view host = rest;
  std::string_view port;
  if (rest.starts_with('[')) {  // [v6]:port
    auto close = rest.find(']');
    if (close == std::string_view::npos) throw bad("unclosed '['");
    host = rest.substr(0, close + 1);
    if (close + 1 < rest.size()) {
      if (rest[close + 1] != ':') throw bad("junk after the address");
      port = rest.substr(close + 2);
    }
  } else if (auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (host.empty() || host == "[]") throw bad("the host is missing");
  if (host.find_first_of(" \t,@") != std::string_view::npos) throw bad("bad host");
  if (!port.empty() || rest.ends_with(':')) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      throw bad("the port must be a number from 1 to 65535");
    }
  }
  return ServerUrl{std::string(text), std::string(kScheme) + std::string(rest)};
}

}  // namespace

NatsBus::NatsBus(hub::Hub& hub, boost::asio::io_context& io, NatsBusOptions options)
    : hub_(hub),
      io_(io),
      options_(std::move(options)),
      gate_(std::make_shared<Gate>()),
      counters_(std::make_shared<Counters>()),
      local_(hub, io),
      timers_(std::make_unique<Timers>(io)) {
  ConnectionOptions co;
  std::string_view list = options_.url;
  while (!list.empty()) {
    auto comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    while (!item.empty() && item.front() == ' ')
      item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ')
      item.remove_suffix(1);
    if (!item.empty()) {
      auto server = parse_server_url(item);
      co.servers.push_back(server.url);
      display_url_ += (display_url_.empty() ? "" : ",") + server.display;
    }
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
  }
  if (co.servers.empty()) throw std::runtime_error("'bus' names no NATS server");
  for (const auto& pattern : options_.global_channels) {
    if (!hub::is_valid_pattern(pattern)) {
      throw std::runtime_error("invalid global channel pattern '" + pattern +
                               "': use '.'-separated tokens, '*' for one token and a final '>'");
    }
  }

  co.on_connected = [this] {
    resync_wanted_ = true;
    spdlog::info("bus: connected to NATS {}", display_url_);
  };
  co.on_disconnected = [this] {
    if (!constructed_.load(std::memory_order_acquire)) return;  // nothing pending yet
    const std::string why = problem();
    spdlog::warn("bus: {}", why.empty() ? "NATS connection lost" : why);
    fail_pending(why.empty() ? "NATS " + display_url_ + " connection lost" : why);
  };
  nats_ = std::make_unique<NatsConnection>(std::move(co));

  inbox_prefix_ = NatsConnection::new_inbox() + ".";
  auto replies =
      nats_->subscribe(inbox_prefix_ + "*", "", [this](const IncomingMessage& m) { on_reply(m); });
  if (replies) {
    nats_subscriptions_.push_back(std::move(*replies));
  } else {
    spdlog::error("bus: cannot subscribe to NATS replies: {}", replies.error());
  }
  subscribe_bridges();
  resync_responders();
  arm_tick();
  constructed_.store(true, std::memory_order_release);
  if (auto p = problem(); !p.empty()) spdlog::warn("bus: {} (retrying in the background)", p);
}

NatsBus::~NatsBus() {
  quiesce();
}

void NatsBus::quiesce() {
  gate_->close();     // io handlers and hub deliveries no longer enter the bus
  nats_->shutdown();  // nor libnats callbacks; the connection is closed
  timers_->tick.cancel();
  std::lock_guard lock(calls_mutex_);
  calls_.clear();  // pending requests are dropped with their timers
}

void NatsBus::publish(std::string_view subject, std::string data) {
  // A global channel reaches NATS through its hub observer; anything else goes out here.
  if (!is_global(subject)) send(subject, data);
  hub_.publish(subject, std::move(data));
}

bool NatsBus::has_subscribers(std::string_view subject) const {
  return nats_->connected() || hub_.has_subscribers(subject);
}

std::string NatsBus::problem() const {
  if (nats_->connected()) return {};
  std::string reason = nats_->last_error();
  return "NATS " + display_url_ + " unreachable: " + (reason.empty() ? "not connected" : reason);
}

void NatsBus::request(std::string_view subject, std::string data, std::chrono::milliseconds timeout,
                      hub::RequestCallback done) {
  if (hub_.has_responders(subject)) {
    counters_->requests_local++;
    return local_.request(subject, std::move(data), timeout, std::move(done));
  }
  if (!nats_->connected()) {
    counters_->requests_unavailable++;
    return done(std::unexpected(BusFailure{Kind::kUnavailable, problem()}));
  }
  const std::uint64_t id = next_call_.fetch_add(1);
  auto call = std::make_shared<Call>(io_, std::move(done), std::string(subject));
  // Armed before the call is registered (and so before the request leaves): a reply, or a
  // disconnect failing every pending call from the libnats thread, may cancel the timer as soon
  // as the call is in calls_, and a steady_timer must not be armed and cancelled concurrently.
  call->timer.expires_after(timeout);
  call->timer.async_wait([this, gate = gate_, id, timeout](boost::system::error_code ec) {
    if (ec) return;
    GateGuard guard(*gate);
    if (!guard) return;
    if (auto c = take(id)) {
      complete(
          std::move(c),
          std::unexpected(BusFailure{Kind::kTimeout, "no reply on NATS within " +
                                                         std::to_string(timeout.count()) + " ms"}),
          /*on_io_thread=*/true);
    }
  });
  {
    std::lock_guard lock(calls_mutex_);
    calls_.emplace(id, call);
  }
  if (!nats_->publish(subject, data, inbox_prefix_ + std::to_string(id))) {
    if (auto c = take(id)) {
      std::string why = problem();
      if (why.empty()) why = "NATS " + display_url_ + " refused the request";
      complete(std::move(c), std::unexpected(BusFailure{Kind::kUnavailable, why}), false);
    }
  }
}

void NatsBus::on_reply(const IncomingMessage& m) {
  std::string_view token = m.subject.substr(std::min(inbox_prefix_.size(), m.subject.size()));
  std::uint64_t id = 0;
  auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), id);
  if (ec != std::errc() || end != token.data() + token.size()) return;
  auto call = take(id);
  if (!call) return;  // already answered or timed out
  if (m.no_responders) {
    std::string why =
        "No responder is listening on '" + call->subject + "' (NATS " + display_url_ + ")";
    return complete(std::move(call), std::unexpected(BusFailure{Kind::kNoResponders, why}), false);
  }
  auto reply = std::make_shared<const hub::Message>(
      hub::Message{std::string(m.subject), std::string(m.reply), std::string(m.data)});
  complete(std::move(call), reply, false);
}

std::shared_ptr<NatsBus::Call> NatsBus::take(std::uint64_t id) {
  std::lock_guard lock(calls_mutex_);
  auto it = calls_.find(id);
  if (it == calls_.end()) return nullptr;
  auto call = std::move(it->second);
  calls_.erase(it);
  return call;
}

void NatsBus::complete(std::shared_ptr<Call> call,
                       std::expected<hub::MessagePtr, hub::BusFailure> result, bool on_io_thread) {
  Counters& c = *counters_;
  if (result) {
    c.requests_ok++;
  } else if (result.error().kind == Kind::kNoResponders) {
    c.requests_no_responders++;
  } else if (result.error().kind == Kind::kTimeout) {
    c.requests_timeout++;
  } else {
    c.requests_unavailable++;
  }
  auto run = [call = std::move(call), result = std::move(result)]() mutable {
    call->timer.cancel();
    call->done(std::move(result));
  };
  if (on_io_thread) return run();
  // The timer belongs to the io_context; the caller's callback may do slow work: both there.
  boost::asio::post(io_, std::move(run));
}

void NatsBus::fail_pending(const std::string& why) {
  std::unordered_map<std::uint64_t, std::shared_ptr<Call>> calls;
  {
    std::lock_guard lock(calls_mutex_);
    calls.swap(calls_);
  }
  for (auto& [id, call] : calls)
    complete(std::move(call), std::unexpected(BusFailure{Kind::kUnavailable, why}), false);
}

void NatsBus::arm_tick() {
  timers_->tick.expires_after(options_.resync_interval);
  timers_->tick.async_wait([this, gate = gate_](boost::system::error_code ec) {
    if (ec) return;
    GateGuard guard(*gate);
    if (!guard) return;
    resync_responders();
    arm_tick();
  });
}

NatsBusStats NatsBus::stats() const {
  const Counters& c = *counters_;
  NatsBusStats s;
  s.connected = nats_->connected();
  s.published = c.published.load();
  s.dropped_while_down = c.dropped.load();
  s.received = c.received.load();
  s.requests_local = c.requests_local.load();
  s.requests_ok = c.requests_ok.load();
  s.requests_no_responders = c.requests_no_responders.load();
  s.requests_timeout = c.requests_timeout.load();
  s.requests_unavailable = c.requests_unavailable.load();
  s.requests_forwarded = c.requests_forwarded.load();
  s.mirrored_responders = c.mirrored.load();
  s.backlog_dropped = c.backlog_dropped.load();
  return s;
}

}  // namespace sluice::nats
