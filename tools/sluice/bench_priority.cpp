// sluice bench priority — what a stream's priority buys during a bulk transfer on the same
// session (docs/protocol.md, "Priorities and scheduling").
//
// One publishing Session carries two publish streams: `bulk` (low priority) sends --bulk-bytes
// in messages of --bulk-size as fast as it can, and `probe` sends small timestamped messages at a
// fixed --probe-rate for the whole transfer. One subscribing Session receives both, with the same
// priorities on its two subscriptions (the server schedules its writes to the subscriber by
// them). Both subscriptions use the block policy, so nothing is dropped unless a stall outlasts
// its max_stall (then the drops are reported). Publisher and subscriber share this process, so
// the probe's latency is publish→receive on one steady clock.
//
// A run first sends probes on the idle session (the latency floor), then the bulk transfer with
// the probes. Unless --no-baseline, a second run on fresh sessions gives the probe the bulk's
// priority, so the report shows what the priority changes.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <iostream>
#include <optional>
#include <thread>
#include <vector>

#include "client/wire_session.hpp"
#include "commands.hpp"
#include "core/json_text.hpp"

namespace sluice::cli {
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

struct PriorityFlags {
  WireFlags wire;
  std::uint64_t bulk_bytes = std::uint64_t{1} << 30;
  std::uint64_t bulk_size = 64 * 1024;
  std::uint16_t bulk_priority = 1;
  std::uint16_t probe_priority = 1000;
  double probe_rate = 1000;
  std::size_t probe_size = 64;
  std::size_t idle_probes = 500;
  bool no_baseline = false;
  bool json = false;
};

// Probe payload: send time (ns, steady clock) and sequence number, then padding.
constexpr std::size_t kProbeHeader = 16;

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

json::value percentiles(std::vector<double> us) {
  if (us.empty()) return nullptr;
  std::sort(us.begin(), us.end());
  auto at = [&](double q) { return us[std::min(us.size() - 1, std::size_t(q * us.size()))]; };
  return json::object{{"p50", at(0.50)},   {"p90", at(0.90)},  {"p99", at(0.99)},
                      {"p999", at(0.999)}, {"max", us.back()}, {"samples", us.size()}};
}

// What the subscribing session's I/O thread records; read by the main thread only through the
// atomics until the session is closed (which joins that thread).
struct Receiver {
  std::atomic<std::uint64_t> bulk_bytes{0};
  std::atomic<std::uint64_t> bulk_msgs{0};
  std::atomic<std::uint64_t> bulk_gaps{0};
  std::atomic<std::int64_t> bulk_last_ns{0};
  std::atomic<std::uint64_t> probes{0};
  std::atomic<std::uint64_t> probe_gaps{0};  // announced by the server (GAP)
  std::size_t idle_probes = 0;
  std::vector<double> idle_us, bulk_us;
};

struct RunResult {
  std::uint16_t probe_priority = 0;
  std::uint16_t bulk_priority = 0;
  bool complete = false;
  double elapsed_s = 0;    // first bulk send to last bulk byte received
  double published_s = 0;  // first to last bulk send() returned
  std::uint64_t bulk_msgs = 0, bulk_bytes = 0, bulk_dropped = 0;
  std::uint64_t probes_sent = 0, probes_received = 0, probe_dropped = 0;
  std::vector<double> idle_us, bulk_us;

  json::object to_json() const {
    const double rate = elapsed_s > 0 ? bulk_bytes / elapsed_s : 0;
    return json::object{{"bulk_priority", bulk_priority},
                        {"probe_priority", probe_priority},
                        {"complete", complete},
                        {"elapsed_s", elapsed_s},
                        {"bulk_published_s", published_s},
                        {"bulk_delivered_msgs", bulk_msgs},
                        {"bulk_delivered_bytes", bulk_bytes},
                        {"bulk_bytes_per_sec", rate},
                        {"bulk_dropped", bulk_dropped},
                        {"probes_sent", probes_sent},
                        {"probes_received", probes_received},
                        {"probe_dropped", probe_dropped},
                        {"idle_latency_us", percentiles(idle_us)},
                        {"latency_us", percentiles(bulk_us)}};
  }
};

// Sleeps until `due`, then moves it one period on (skipping slots missed while this thread was
// not running, so a late wake-up does not turn into a burst).
void pace(Clock::time_point& due, Clock::duration period) {
  std::this_thread::sleep_until(due);
  due += period;
  if (auto now = Clock::now(); due < now) due = now;
}

Result<RunResult> run_once(const PriorityFlags& f, std::uint16_t probe_priority, int run) {
  RunResult out;
  out.bulk_priority = f.bulk_priority;
  out.probe_priority = probe_priority;
  const std::string prefix =
      "bench.priority." + std::to_string(::getpid()) + "." + std::to_string(run);
  const std::string bulk_channel = prefix + ".bulk", probe_channel = prefix + ".probe";
  const std::uint64_t bulk_count = (f.bulk_bytes + f.bulk_size - 1) / f.bulk_size;
  const std::uint64_t bulk_total = bulk_count * f.bulk_size;

  auto rx = std::make_shared<Receiver>();
  rx->idle_probes = f.idle_probes;
  rx->idle_us.reserve(f.idle_probes);
  rx->bulk_us.reserve(std::size_t(f.probe_rate * 60));
  auto sub = connect_wire(f.wire);
  if (!sub) return fail(sub.error());
  client::SubscribeOptions bulk_so;
  bulk_so.priority = f.bulk_priority;
  bulk_so.buffer.policy = wire::OverflowPolicy::kBlock;
  bulk_so.buffer.max_messages = 1'000'000;
  bulk_so.buffer.max_bytes = 64 * 1024 * 1024;
  bulk_so.buffer.max_stall = std::chrono::milliseconds(60'000);
  auto bulk_sub = (*sub)->subscribe(
      bulk_channel,
      [rx](const client::Message& m) {
        rx->bulk_bytes.fetch_add(m.data.size(), std::memory_order_relaxed);
        rx->bulk_msgs.fetch_add(1, std::memory_order_relaxed);
        rx->bulk_gaps.fetch_add(m.gap, std::memory_order_relaxed);
        rx->bulk_last_ns.store(now_ns(), std::memory_order_relaxed);
      },
      bulk_so);
  if (!bulk_sub) return fail(bulk_sub.error());
  client::SubscribeOptions probe_so = bulk_so;
  probe_so.priority = probe_priority;
  auto probe_sub = (*sub)->subscribe(
      probe_channel,
      [rx](const client::Message& m) {
        const std::int64_t now = now_ns();
        if (m.data.size() < kProbeHeader) return;
        std::int64_t sent;
        std::uint64_t seq;
        std::memcpy(&sent, m.data.data(), 8);
        std::memcpy(&seq, m.data.data() + 8, 8);
        (seq < rx->idle_probes ? rx->idle_us : rx->bulk_us).push_back(double(now - sent) / 1e3);
        rx->probe_gaps.fetch_add(m.gap, std::memory_order_relaxed);
        rx->probes.fetch_add(1, std::memory_order_release);
      },
      probe_so);
  if (!probe_sub) return fail(probe_sub.error());
  // Subscriptions are in place once the server answered something sent after them.
  (void)(*sub)->request("_bench.sync", "", std::chrono::milliseconds(200));

  auto pub = connect_wire(f.wire);
  if (!pub) return fail(pub.error());
  client::PublishOptions bulk_po;
  bulk_po.advertise = false;
  bulk_po.priority = f.bulk_priority;
  auto bulk = (*pub)->publish(bulk_channel, bulk_po);
  if (!bulk) return fail(bulk.error());
  client::PublishOptions probe_po = bulk_po;
  probe_po.priority = probe_priority;
  auto probe = (*pub)->publish(probe_channel, probe_po);
  if (!probe) return fail(probe.error());

  const auto period = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(1.0 / f.probe_rate));
  std::string probe_payload(f.probe_size, 'p');
  std::uint64_t seq = 0;
  auto send_probe = [&]() -> Status {
    std::int64_t t = now_ns();
    std::memcpy(probe_payload.data(), &t, 8);
    std::memcpy(probe_payload.data() + 8, &seq, 8);
    ++seq;
    return probe->send(probe_payload);
  };
  // Waits until every probe sent so far arrived, for at most `limit`.
  auto await_probes = [&](std::chrono::milliseconds limit) {
    const auto until = Clock::now() + limit;
    while (rx->probes.load(std::memory_order_acquire) + rx->probe_gaps < seq &&
           Clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  };

  // 1. Probes alone: the latency floor of this machine and build.
  auto due = Clock::now();
  for (std::size_t i = 0; i < f.idle_probes; ++i) {
    pace(due, period);
    if (auto ok = send_probe(); !ok) return fail(ok.error());
  }
  await_probes(std::chrono::seconds(2));

  // 2. The bulk transfer, with the probes going on until its last byte arrived.
  std::atomic<bool> bulk_failed{false};
  std::atomic<std::int64_t> published_ns{0};
  const std::int64_t start_ns = now_ns();
  std::thread sender([&] {
    std::string payload(f.bulk_size, 'b');
    for (std::uint64_t i = 0; i < bulk_count; ++i) {
      std::memcpy(payload.data(), &i, std::min<std::size_t>(8, payload.size()));
      if (!bulk->send(payload)) {
        bulk_failed = true;
        break;
      }
    }
    published_ns = now_ns();
  });
  const auto quiet_limit = std::chrono::seconds(10);
  auto last_progress = Clock::now();
  std::uint64_t last_bytes = 0;
  due = Clock::now();
  while (!bulk_failed) {
    const std::uint64_t got = rx->bulk_bytes + rx->bulk_gaps * f.bulk_size;
    if (got >= bulk_total) break;
    if (got != last_bytes) last_bytes = got, last_progress = Clock::now();
    if (Clock::now() - last_progress > quiet_limit) break;
    pace(due, period);
    if (auto ok = send_probe(); !ok) {
      bulk_failed = true;
      break;
    }
  }
  await_probes(std::chrono::seconds(2));
  if (bulk_failed) (*pub)->close();  // wakes a send() blocked on a dead session
  sender.join();

  probe->close();
  bulk->close();
  (*pub)->close();
  (*sub)->close();  // joins the subscriber's I/O thread: rx is ours now
  out.bulk_msgs = rx->bulk_msgs;
  out.bulk_bytes = rx->bulk_bytes;
  out.bulk_dropped = rx->bulk_gaps;
  out.probes_sent = seq;
  out.probes_received = rx->probes;
  out.probe_dropped = seq - std::min<std::uint64_t>(seq, rx->probes);
  out.elapsed_s = double(rx->bulk_last_ns - start_ns) / 1e9;
  out.published_s = published_ns > 0 ? double(published_ns - start_ns) / 1e9 : 0;
  out.idle_us = std::move(rx->idle_us);
  out.bulk_us = std::move(rx->bulk_us);
  out.complete = !bulk_failed && out.bulk_bytes == bulk_total && out.probe_dropped == 0;
  return out;
}

void print_run(std::string_view name, const RunResult& r) {
  auto j = r.to_json();
  std::cout << name << " (probe priority " << r.probe_priority << ", bulk priority "
            << r.bulk_priority << "):\n  bulk: " << r.bulk_bytes << " B in " << r.elapsed_s
            << " s = " << (r.elapsed_s > 0 ? r.bulk_bytes / r.elapsed_s / 1e6 : 0) << " MB/s, "
            << r.bulk_dropped << " dropped\n  probes: " << r.probes_received << " of "
            << r.probes_sent << " received, " << r.probe_dropped
            << " dropped\n  probe latency during the transfer (us): "
            << to_json_text(j["latency_us"])
            << "\n  probe latency, idle session (us): " << to_json_text(j["idle_latency_us"])
            << "\n";
}

int run_priority(const PriorityFlags& f) {
  if (f.probe_size < kProbeHeader) {
    std::cerr << "error: --probe-size must be at least " << kProbeHeader << " bytes\n";
    return kExitUsage;
  }
  if (f.bulk_size == 0 || f.bulk_bytes == 0 || !(f.probe_rate > 0)) {
    std::cerr << "error: --bulk-bytes, --bulk-size and --probe-rate must be positive\n";
    return kExitUsage;
  }
  auto prioritized = run_once(f, f.probe_priority, 1);
  if (!prioritized) return report_error(prioritized.error());
  std::optional<RunResult> baseline;
  if (!f.no_baseline) {
    auto b = run_once(f, f.bulk_priority, 2);
    if (!b) return report_error(b.error());
    baseline = std::move(*b);
  }
  if (f.json) {
    json::object o{{"tool", "sluice"},
                   {"mode", "priority"},
                   {"bulk_bytes", f.bulk_bytes},
                   {"bulk_size", f.bulk_size},
                   {"probe_rate", f.probe_rate},
                   {"probe_size", f.probe_size},
                   {"prioritized", prioritized->to_json()},
                   {"baseline", baseline ? json::value(baseline->to_json()) : nullptr}};
    std::cout << to_json_text(o) << std::endl;
  } else {
    print_run("prioritized", *prioritized);
    if (baseline) print_run("baseline", *baseline);
  }
  const bool complete = prioritized->complete && (!baseline || baseline->complete);
  return complete ? int(kExitOk) : 3;
}

}  // namespace

void add_bench_priority_command(CLI::App& bench, CliContext& ctx) {
  auto f = std::make_shared<PriorityFlags>();
  auto* cmd = bench.add_subcommand(
      "priority", "Latency of a high-priority stream during a bulk transfer on the same session");
  add_wire_options(*cmd, f->wire);
  cmd->add_option("--bulk-bytes", f->bulk_bytes, "Bytes of the bulk transfer (default 1 GiB)")
      ->transform(CLI::AsSizeValue(false));
  cmd->add_option("--bulk-size", f->bulk_size, "Bulk message size (default 64 KiB)")
      ->transform(CLI::AsSizeValue(false))
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{64} << 20));
  cmd->add_option("--bulk-priority", f->bulk_priority, "Priority of the bulk stream (default 1)")
      ->check(CLI::Range(0, 1000));
  cmd->add_option("--probe-priority", f->probe_priority,
                  "Priority of the probe stream (default 1000)")
      ->check(CLI::Range(0, 1000));
  cmd->add_option("--probe-rate", f->probe_rate, "Probe messages per second (default 1000)");
  cmd->add_option("--probe-size", f->probe_size, "Probe message size, >= 16 (default 64)");
  cmd->add_option("--idle-probes", f->idle_probes,
                  "Probes sent before the transfer, for the idle latency (default 500)");
  cmd->add_flag("--no-baseline", f->no_baseline,
                "Skip the second run where the probe has the bulk's priority");
  cmd->add_flag("--json", f->json, "Print one JSON object");
  cmd->callback([f, &ctx] { ctx.action = [f] { return run_priority(*f); }; });
}

}  // namespace sluice::cli
