// sluice bench pubsub | reqrep | priority — load generator for the relay, modelled on
// `nats bench`.
// Same flags and the same JSON keys as bench/nats_peer, so bench/relay_bench.sh can put the
// two side by side. Each subscriber and the publisher use their own connection.

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <iostream>
#include <mutex>
#include <thread>
#include <vector>

#include "client/wire_session.hpp"
#include "commands.hpp"
#include "core/json_text.hpp"

namespace sluice::cli {
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

struct BenchFlags {
  WireFlags wire;
  std::size_t msgs = 100'000;
  std::size_t size = 128;
  std::size_t subs = 1;
  double rate = 0;  // messages per second; 0 = as fast as possible
  std::string policy = "block";
  bool json = false;
};

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

// Latency samples in microseconds; percentiles by sorting once at the end.
struct Samples {
  std::vector<double> us;
  json::value percentiles() {
    if (us.empty()) return nullptr;
    std::sort(us.begin(), us.end());
    auto at = [&](double q) { return us[std::min(us.size() - 1, std::size_t(q * us.size()))]; };
    return json::object{{"p50", at(0.50)},
                        {"p90", at(0.90)},
                        {"p99", at(0.99)},
                        {"p999", at(0.999)},
                        {"max", us.back()}};
  }
};

struct Subscriber {
  std::shared_ptr<client::Session> session;
  client::Stream stream;
  std::atomic<std::size_t> received{0};
  std::atomic<std::uint64_t> gaps{0};
  std::atomic<std::int64_t> last_ns{0};
  Samples samples;
  std::size_t sample_every = 1;
};

void report(const BenchFlags& f, std::string_view mode, double elapsed, double published_per_s,
            std::size_t delivered, std::uint64_t dropped, Samples& samples) {
  double rate = elapsed > 0 ? delivered / elapsed : 0;
  json::object o{{"tool", "sluice"},
                 {"mode", mode},
                 {"msgs", f.msgs},
                 {"size", f.size},
                 {"subs", mode == "reqrep" ? 0 : f.subs},
                 {"rate", f.rate},
                 {"elapsed_s", elapsed},
                 {"published_msgs_per_sec", published_per_s},
                 {"delivered_msgs", delivered},
                 {"delivered_msgs_per_sec", rate},
                 {"delivered_bytes_per_sec", rate * f.size},
                 {"dropped", dropped},
                 {"latency_us", samples.percentiles()}};
  if (f.json) {
    std::cout << to_json_text(o) << std::endl;
    return;
  }
  std::cout << mode << ": " << delivered << " msgs of " << f.size << " B in " << elapsed
            << " s = " << std::uint64_t(rate) << " msgs/s, " << rate * f.size / 1e6
            << " MB/s delivered, " << dropped
            << " dropped\n  latency (us): " << to_json_text(o["latency_us"]) << "\n";
}

int run_pubsub(const BenchFlags& f) {
  auto policy = wire::parse_overflow_policy(f.policy);
  if (!policy) {
    std::cerr << "error: --overflow must be drop-oldest, drop-newest, disconnect or block\n";
    return kExitUsage;
  }
  const std::string channel = "bench.pubsub";
  std::vector<std::unique_ptr<Subscriber>> subs;
  for (std::size_t i = 0; i < f.subs; ++i) {
    auto s = std::make_unique<Subscriber>();
    auto session = connect_wire(f.wire);
    if (!session) return report_error(session.error());
    s->session = *session;
    s->sample_every = std::max<std::size_t>(1, f.msgs / 1'000'000);
    s->samples.us.reserve(f.msgs / s->sample_every + 1);
    client::SubscribeOptions so;
    so.buffer.policy = *policy;
    so.buffer.max_messages = 1'000'000;
    so.buffer.max_bytes = 64 * 1024 * 1024;
    so.buffer.max_stall = std::chrono::milliseconds(60'000);
    Subscriber* raw = s.get();
    auto stream = s->session->subscribe(
        channel,
        [raw, &f](const client::Message& m) {
          std::size_t n = raw->received.fetch_add(1, std::memory_order_relaxed) + 1;
          raw->gaps.fetch_add(m.gap, std::memory_order_relaxed);
          std::int64_t now = now_ns();
          if (m.data.size() >= 8 && n % raw->sample_every == 0) {
            std::int64_t sent;
            std::memcpy(&sent, m.data.data(), 8);
            raw->samples.us.push_back(double(now - sent) / 1000.0);
          }
          raw->last_ns.store(now, std::memory_order_relaxed);
        },
        so);
    if (!stream) return report_error(stream.error());
    s->stream = *stream;
    subs.push_back(std::move(s));
  }
  auto pub_session = connect_wire(f.wire);
  if (!pub_session) return report_error(pub_session.error());
  client::PublishOptions po;
  po.advertise = false;
  auto pub = (*pub_session)->publish(channel, po);
  if (!pub) return report_error(pub.error());
  // Subscriptions are registered once the server answered something after them.
  for (auto& s : subs)
    (void)s->session->request("_bench.sync", "", std::chrono::milliseconds(200));

  std::string payload(f.size, 'x');
  const auto start = Clock::now();
  const std::int64_t start_ns = now_ns();
  for (std::size_t i = 0; i < f.msgs; ++i) {
    if (f.rate > 0) {
      auto due = start + std::chrono::nanoseconds(std::int64_t(i * 1e9 / f.rate));
      while (Clock::now() < due) {
      }
    }
    if (f.size >= 8) {
      std::int64_t t = now_ns();
      std::memcpy(payload.data(), &t, 8);
    }
    if (auto ok = pub->send(payload); !ok) return report_error(ok.error());
  }
  const double published_s = std::chrono::duration<double>(Clock::now() - start).count();

  // Wait until every subscriber has everything (or nothing arrives for 10 s).
  auto deadline_quiet = std::chrono::seconds(10);
  auto last_progress = Clock::now();
  std::size_t last_total = 0;
  for (;;) {
    std::size_t total = 0, done = 0;
    for (auto& s : subs) {
      auto r = s->received.load() + s->gaps.load();
      total += r;
      done += r >= f.msgs ? 1 : 0;
    }
    if (done == subs.size()) break;
    if (total != last_total) last_total = total, last_progress = Clock::now();
    if (Clock::now() - last_progress > deadline_quiet) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::int64_t end_ns = start_ns;
  std::size_t delivered = 0;
  std::uint64_t dropped = 0;
  Samples all;
  for (auto& s : subs) {
    end_ns = std::max(end_ns, s->last_ns.load());
    delivered += s->received;
    dropped += s->gaps;
  }
  pub->close();
  (*pub_session)->close();
  for (auto& s : subs) {
    s->session->close();  // joins the I/O thread: samples are ours now
    all.us.insert(all.us.end(), s->samples.us.begin(), s->samples.us.end());
  }
  double elapsed = double(end_ns - start_ns) / 1e9;
  report(f, "pubsub", elapsed, published_s > 0 ? f.msgs / published_s : 0, delivered, dropped, all);
  return delivered + dropped >= f.msgs * f.subs ? int(kExitOk) : 3;
}

int run_reqrep(const BenchFlags& f) {
  auto responder = connect_wire(f.wire);
  if (!responder) return report_error(responder.error());
  auto echo = (*responder)->respond("bench.req", [](const client::Message& m) { return m.data; });
  if (!echo) return report_error(echo.error());
  auto requester = connect_wire(f.wire);
  if (!requester) return report_error(requester.error());
  std::string payload(f.size, 'x');
  (void)(*requester)->request("bench.req", payload);  // warm-up, untimed
  Samples samples;
  samples.us.reserve(f.msgs);
  const auto start = Clock::now();
  std::size_t done = 0;
  for (std::size_t i = 0; i < f.msgs; ++i) {
    auto t0 = Clock::now();
    auto reply = (*requester)->request("bench.req", payload);
    if (!reply) return report_error(reply.error());
    samples.us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    ++done;
  }
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  (*requester)->close();
  (*responder)->close();
  report(f, "reqrep", elapsed, elapsed > 0 ? done / elapsed : 0, done, 0, samples);
  return kExitOk;
}

void add_common(CLI::App& cmd, BenchFlags& f) {
  add_wire_options(cmd, f.wire);
  cmd.add_option("--msgs", f.msgs, "Messages to publish (default 100000)");
  cmd.add_option("--size", f.size, "Message size in bytes, 16 B to 1 MiB (default 128)")
      ->check(CLI::Range(std::size_t{0}, std::size_t{1} << 20));
  cmd.add_flag("--json", f.json, "Print one JSON object");
}

}  // namespace

// bench_priority.cpp
void add_bench_priority_command(CLI::App& bench, CliContext& ctx);

void add_bench_commands(CLI::App& app, CliContext& ctx) {
  auto* bench = app.add_subcommand("bench", "Measure the relay (like `nats bench`)");
  bench->require_subcommand(1);
  {
    auto f = std::make_shared<BenchFlags>();
    auto* cmd = bench->add_subcommand("pubsub", "One publisher, N subscribers (fan-out)");
    add_common(*cmd, *f);
    cmd->add_option("--subs", f->subs, "Subscribers, each on its own connection (default 1)");
    cmd->add_option("--rate", f->rate, "Offered rate in messages/s (default: as fast as possible)");
    cmd->add_option("--overflow", f->policy,
                    "Subscriber overflow policy (default block: no message is lost)");
    cmd->callback([f, &ctx] { ctx.action = [f] { return run_pubsub(*f); }; });
  }
  {
    auto f = std::make_shared<BenchFlags>();
    auto* cmd = bench->add_subcommand("reqrep", "Sequential request/reply round trips");
    add_common(*cmd, *f);
    cmd->callback([f, &ctx] { ctx.action = [f] { return run_reqrep(*f); }; });
  }
  add_bench_priority_command(*bench, ctx);
}

}  // namespace sluice::cli
