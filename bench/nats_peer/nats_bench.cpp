// sluice_nats_bench — the NATS side of bench/relay_bench.sh: drives a nats-server through
// Debian's libnats (C API) so the sluice relay can be compared with it on the same machine.
//
//   sluice_nats_bench pubsub --url nats://127.0.0.1:PORT --msgs N --size S --subs K [--rate R]
//                            [--send-asap] [--json]
//   sluice_nats_bench reqrep --url nats://127.0.0.1:PORT --msgs N --size S [--json]
//
// pubsub: K subscriber connections (one async subscription each, on "bench.pubsub", pending
//   limits unlimited) and one publisher connection that publishes N messages of S bytes, as fast
//   as possible or paced to R msgs/s, then flushes. Elapsed runs from the first publish to the
//   last delivery (the last subscriber's N-th message, or the last one seen before the timeout).
// reqrep: one responder (replies with the request's payload on "bench.req") and one requester
//   doing N sequential requests (5 s timeout each) after one untimed warm-up request.
//
// Latency: when S >= 8 the first 8 bytes of a payload carry the publisher's steady_clock time in
//   ns, so a subscriber on the same host gets one-way latency. Unpaced, the publisher outruns the
//   subscribers, so latency then includes queueing (in the server and in libnats); that is
//   expected. libnats buffers publishes and its flusher thread waits up to 1 ms to coalesce them,
//   so paced runs also see that delay unless --send-asap is given (one write per message).
//   reqrep latency is the round trip as seen by the requester.
//
// Output: a human summary, or with --json exactly one JSON object on one line of stdout; its keys
// are shared with `sluice bench` so a script can compare the two. Exit codes: 0 complete,
// 1 setup failure (no JSON), 2 usage error, 3 incomplete (timeout or failed request; JSON shows
// what was delivered).
#include <nats/nats.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr const char* kPubSubSubject = "bench.pubsub";
constexpr const char* kReqSubject = "bench.req";
constexpr int64_t kMaxSamples = 2'000'000;  // per subscriber; above it every k-th message
constexpr int64_t kRequestTimeoutMs = 5'000;

// steady_clock in ns; the publisher and subscribers share it (same host).
int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct Options {
  std::string url = "nats://127.0.0.1:4222";
  int64_t msgs = 100'000;
  int size = 16;
  int subs = 1;
  double rate = 0;  // msgs/s; 0 = as fast as possible
  bool send_asap = false;
  bool json = false;
};

struct Result {
  const char* mode = "";
  double elapsed_s = 0;
  double published_per_sec = 0;
  int64_t delivered = 0;
  int64_t dropped = 0;
  std::vector<int64_t> latency_ns;  // unsorted samples
};

// Set before connections are closed on purpose, so their disconnect callbacks stay quiet.
std::atomic<bool> g_closing{false};

void on_disconnected(natsConnection*, void*) {
  if (!g_closing.load()) std::fprintf(stderr, "nats_bench: a connection to the server was lost\n");
}

void on_async_error(natsConnection*, natsSubscription*, natsStatus err, void*) {
  std::fprintf(stderr, "nats_bench: async error: %s\n", natsStatus_GetText(err));
}

// Connects to `url` without reconnects (a lost connection must show, not be papered over).
// Returns nullptr after printing the reason.
natsConnection* connect(const std::string& url, const char* name, bool send_asap) {
  natsOptions* opts = nullptr;
  natsConnection* nc = nullptr;
  natsStatus s = natsOptions_Create(&opts);
  if (s == NATS_OK) s = natsOptions_SetURL(opts, url.c_str());
  if (s == NATS_OK) s = natsOptions_SetName(opts, name);
  if (s == NATS_OK) s = natsOptions_SetAllowReconnect(opts, false);
  if (s == NATS_OK) s = natsOptions_SetSendAsap(opts, send_asap);
  if (s == NATS_OK) s = natsOptions_SetDisconnectedCB(opts, on_disconnected, nullptr);
  if (s == NATS_OK) s = natsOptions_SetErrorHandler(opts, on_async_error, nullptr);
  if (s == NATS_OK) s = natsConnection_Connect(&nc, opts);
  natsOptions_Destroy(opts);
  if (s != NATS_OK) {
    std::fprintf(stderr, "nats_bench: cannot connect %s to %s: %s\n", name, url.c_str(),
                 natsStatus_GetText(s));
    return nullptr;
  }
  return nc;
}

// Counts the pubsub subscribers still short of their N-th message.
struct Completion {
  std::mutex mu;
  std::condition_variable cv;
  int remaining = 0;
};

// One pubsub subscriber. The callback runs only on this subscription's libnats delivery thread
// (callbacks of one subscription never overlap), so it alone writes the fields below; main reads
// the atomics. samples[0, sample_count) is immutable once sample_count is loaded with acquire;
// `samples` is sized up front and never reallocated. Must outlive nats_CloseAndWait().
struct SubState {
  natsConnection* nc = nullptr;
  natsSubscription* sub = nullptr;
  int64_t target = 0;  // N
  int64_t every = 1;   // sample every `every`-th message
  Completion* done = nullptr;
  std::vector<int64_t> samples;
  std::atomic<int64_t> received{0};
  std::atomic<int64_t> last_ns{0};
  std::atomic<size_t> sample_count{0};
};

void on_pubsub_msg(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  auto& st = *static_cast<SubState*>(closure);
  const int64_t t = now_ns();
  const int64_t n = st.received.load(std::memory_order_relaxed);  // only this thread writes it
  if (n % st.every == 0 && natsMsg_GetDataLength(msg) >= 8) {
    const size_t i = st.sample_count.load(std::memory_order_relaxed);
    if (i < st.samples.size()) {
      int64_t sent = 0;
      std::memcpy(&sent, natsMsg_GetData(msg), sizeof sent);
      st.samples[i] = t - sent;
      st.sample_count.store(i + 1, std::memory_order_release);
    }
  }
  natsMsg_Destroy(msg);
  st.last_ns.store(t, std::memory_order_relaxed);
  st.received.store(n + 1, std::memory_order_release);
  if (n + 1 == st.target) {
    std::lock_guard lock(st.done->mu);
    if (--st.done->remaining == 0) st.done->cv.notify_all();
  }
}

// Echoes the request's payload to its reply subject. Runs on the responder's delivery thread.
void on_request(natsConnection* nc, natsSubscription*, natsMsg* msg, void*) {
  if (const char* reply = natsMsg_GetReply(msg); reply != nullptr) {
    natsConnection_Publish(nc, reply, natsMsg_GetData(msg), natsMsg_GetDataLength(msg));
  }
  natsMsg_Destroy(msg);
}

// Waits until `due` (steady ns): sleeps while far ahead, then spins with yields, so the schedule
// is kept from the start time (no per-message sleep drift).
void wait_until(int64_t due) {
  for (int64_t left = due - now_ns(); left > 0; left = due - now_ns()) {
    if (left > 200'000) {
      std::this_thread::sleep_for(std::chrono::nanoseconds(left - 100'000));
    } else {
      std::this_thread::yield();
    }
  }
}

// Runs pubsub; `subs` is filled here and must outlive nats_CloseAndWait(). Returns false on a
// setup failure; `complete` tells whether every subscriber got all N messages.
bool run_pubsub(const Options& o, std::vector<std::unique_ptr<SubState>>& subs, Result& r,
                bool& complete) {
  r.mode = "pubsub";
  Completion done;
  done.remaining = o.subs;
  const int64_t every = o.msgs <= kMaxSamples ? 1 : (o.msgs + kMaxSamples - 1) / kMaxSamples;
  bool ok = true;
  for (int k = 0; k < o.subs && ok; ++k) {
    auto& st = *subs.emplace_back(std::make_unique<SubState>());
    st.target = o.msgs;
    st.every = every;
    st.done = &done;
    if (o.size >= 8) st.samples.resize(static_cast<size_t>((o.msgs + every - 1) / every));
    st.nc = connect(o.url, "bench-sub", false);
    natsStatus s = st.nc ? NATS_OK : NATS_CONNECTION_CLOSED;
    if (s == NATS_OK)
      s = natsConnection_Subscribe(&st.sub, st.nc, kPubSubSubject, on_pubsub_msg, &st);
    if (s == NATS_OK) s = natsSubscription_SetPendingLimits(st.sub, -1, -1);  // never drop
    if (s == NATS_OK) s = natsConnection_Flush(st.nc);  // the server has the SUB
    if (s != NATS_OK && st.nc)
      std::fprintf(stderr, "nats_bench: subscribe: %s\n", natsStatus_GetText(s));
    ok = s == NATS_OK;
  }
  natsConnection* pub = ok ? connect(o.url, "bench-pub", o.send_asap) : nullptr;
  ok = ok && pub != nullptr;

  if (ok) {
    std::vector<char> payload(static_cast<size_t>(o.size), 'x');
    const double period_ns = o.rate > 0 ? 1e9 / o.rate : 0;
    const int64_t start = now_ns();
    natsStatus s = NATS_OK;
    for (int64_t i = 0; i < o.msgs && s == NATS_OK; ++i) {
      if (period_ns > 0)
        wait_until(start + static_cast<int64_t>(static_cast<double>(i) * period_ns));
      if (o.size >= 8) {
        const int64_t t = now_ns();
        std::memcpy(payload.data(), &t, sizeof t);
      }
      s = natsConnection_Publish(pub, kPubSubSubject, payload.data(), o.size);
    }
    if (s == NATS_OK) s = natsConnection_FlushTimeout(pub, 60'000);
    const int64_t pub_end = now_ns();
    if (s != NATS_OK) std::fprintf(stderr, "nats_bench: publish: %s\n", natsStatus_GetText(s));
    r.published_per_sec = static_cast<double>(o.msgs) * 1e9 / static_cast<double>(pub_end - start);

    // Timeout: max(30 s, 3x the paced duration, the payload at 10 MB/s).
    double timeout_s = std::max(30.0, static_cast<double>(o.subs) * static_cast<double>(o.msgs) *
                                          static_cast<double>(o.size) / 10e6);
    if (o.rate > 0) timeout_s = std::max(timeout_s, 3.0 * static_cast<double>(o.msgs) / o.rate);
    {
      std::unique_lock lock(done.mu);
      done.cv.wait_until(lock,
                         std::chrono::steady_clock::time_point(std::chrono::nanoseconds(
                             start + static_cast<int64_t>(timeout_s * 1e9))),
                         [&] { return done.remaining == 0; });
      complete = done.remaining == 0 && s == NATS_OK;
    }
    int64_t last = 0;
    for (auto& st : subs) {
      r.delivered += st->received.load(std::memory_order_acquire);
      last = std::max(last, st->last_ns.load(std::memory_order_relaxed));
      int64_t dropped = 0;
      if (natsSubscription_GetDropped(st->sub, &dropped) == NATS_OK) r.dropped += dropped;
      const size_t n = st->sample_count.load(std::memory_order_acquire);
      r.latency_ns.insert(r.latency_ns.end(), st->samples.begin(), st->samples.begin() + n);
    }
    r.elapsed_s = static_cast<double>((r.delivered > 0 ? last : now_ns()) - start) / 1e9;
    if (!complete) {
      std::fprintf(stderr, "nats_bench: incomplete: %lld of %lld deliveries within %.0f s\n",
                   static_cast<long long>(r.delivered), static_cast<long long>(o.msgs * o.subs),
                   timeout_s);
    }
  }

  g_closing.store(true);
  for (auto& st : subs) {
    if (st->sub) natsSubscription_Unsubscribe(st->sub);
    natsSubscription_Destroy(st->sub);
    natsConnection_Destroy(st->nc);
  }
  natsConnection_Destroy(pub);
  return ok;
}

// Runs reqrep. Both connections send at once: a reply (or request) waiting up to 1 ms in the
// libnats flusher would be measured as latency.
bool run_reqrep(const Options& o, Result& r, bool& complete) {
  r.mode = "reqrep";
  natsConnection* resp = connect(o.url, "bench-responder", true);
  natsConnection* req = resp ? connect(o.url, "bench-requester", true) : nullptr;
  natsSubscription* sub = nullptr;
  natsStatus s = req ? NATS_OK : NATS_CONNECTION_CLOSED;
  if (s == NATS_OK) s = natsConnection_Subscribe(&sub, resp, kReqSubject, on_request, nullptr);
  if (s == NATS_OK) s = natsSubscription_SetPendingLimits(sub, -1, -1);
  if (s == NATS_OK) s = natsConnection_Flush(resp);
  std::vector<char> payload(static_cast<size_t>(o.size), 'x');
  natsMsg* reply = nullptr;
  // Warm-up: the first request also sets up the requester's reply subscription.
  if (s == NATS_OK)
    s = natsConnection_Request(&reply, req, kReqSubject, payload.data(), o.size, kRequestTimeoutMs);
  natsMsg_Destroy(reply);
  const bool ok = s == NATS_OK;
  if (!ok && req) std::fprintf(stderr, "nats_bench: reqrep setup: %s\n", natsStatus_GetText(s));

  if (ok) {
    r.latency_ns.reserve(static_cast<size_t>(o.msgs));
    const int64_t start = now_ns();
    for (int64_t i = 0; i < o.msgs; ++i) {
      const int64_t t0 = now_ns();
      reply = nullptr;
      s = natsConnection_Request(&reply, req, kReqSubject, payload.data(), o.size,
                                 kRequestTimeoutMs);
      const int64_t t1 = now_ns();
      if (s != NATS_OK) {
        std::fprintf(stderr, "nats_bench: request %lld: %s\n", static_cast<long long>(i),
                     natsStatus_GetText(s));
        break;
      }
      natsMsg_Destroy(reply);
      r.latency_ns.push_back(t1 - t0);
      ++r.delivered;
    }
    r.elapsed_s = static_cast<double>(now_ns() - start) / 1e9;
    r.published_per_sec = static_cast<double>(r.delivered) / r.elapsed_s;
    complete = r.delivered == o.msgs;
  }

  g_closing.store(true);
  if (sub) natsSubscription_Unsubscribe(sub);
  natsSubscription_Destroy(sub);
  natsConnection_Destroy(req);
  natsConnection_Destroy(resp);
  return ok;
}

// Nearest-rank percentile of sorted `v` (non-empty), in µs.
double percentile_us(const std::vector<int64_t>& v, double q) {
  const auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  return static_cast<double>(v[std::clamp<size_t>(rank, 1, v.size()) - 1]) / 1e3;
}

void report(const Options& o, Result& r) {
  std::sort(r.latency_ns.begin(), r.latency_ns.end());
  const bool reqrep = std::strcmp(r.mode, "reqrep") == 0;
  const int subs = reqrep ? 0 : o.subs;
  const double el = r.elapsed_s > 0 ? r.elapsed_s : 1e-9;
  const double per_sec = static_cast<double>(r.delivered) / el;
  const double bytes_per_sec = per_sec * o.size;
  const double q[] = {0.5, 0.9, 0.99, 0.999, 1.0};
  const char* names[] = {"p50", "p90", "p99", "p999", "max"};
  if (o.json) {
    char rate[32];
    if (o.rate == std::floor(o.rate) && o.rate < 1e15) {
      std::snprintf(rate, sizeof rate, "%lld", static_cast<long long>(o.rate));
    } else {
      std::snprintf(rate, sizeof rate, "%.6g", o.rate);
    }
    std::printf(
        "{\"tool\":\"nats\",\"mode\":\"%s\",\"msgs\":%lld,\"size\":%d,\"subs\":%d,\"rate\":%s,"
        "\"elapsed_s\":%.6f,\"published_msgs_per_sec\":%.1f,\"delivered_msgs\":%lld,"
        "\"delivered_msgs_per_sec\":%.1f,\"delivered_bytes_per_sec\":%.1f,\"dropped\":%lld,"
        "\"latency_us\":{",
        r.mode, static_cast<long long>(o.msgs), o.size, subs, rate, r.elapsed_s,
        r.published_per_sec, static_cast<long long>(r.delivered), per_sec, bytes_per_sec,
        static_cast<long long>(r.dropped));
    for (int i = 0; i < 5; ++i) {
      std::printf(i ? ",\"%s\":" : "\"%s\":", names[i]);
      if (r.latency_ns.empty()) {
        std::printf("null");
      } else {
        std::printf("%.3f", percentile_us(r.latency_ns, q[i]));
      }
    }
    std::printf("}}\n");
    return;
  }
  std::printf("nats %s: %lld msgs x %d B, %d subscriber(s), rate %s\n", r.mode,
              static_cast<long long>(o.msgs), o.size, subs,
              o.rate > 0 ? std::to_string(o.rate).c_str() : "unlimited");
  std::printf("  elapsed          %.3f s\n", r.elapsed_s);
  std::printf("  published        %.0f msgs/s\n", r.published_per_sec);
  std::printf("  delivered        %lld msgs, %.0f msgs/s, %.2f MB/s\n",
              static_cast<long long>(r.delivered), per_sec, bytes_per_sec / 1e6);
  std::printf("  dropped          %lld\n", static_cast<long long>(r.dropped));
  if (r.latency_ns.empty()) {
    std::printf("  latency          n/a (size < 8)\n");
  } else {
    std::printf("  latency (us)    ");
    for (int i = 0; i < 5; ++i)
      std::printf(" %s=%.1f", names[i], percentile_us(r.latency_ns, q[i]));
    std::printf("  (%zu samples)\n", r.latency_ns.size());
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"sluice_nats_bench — pub/sub and request/reply benchmark against nats-server",
               "sluice_nats_bench"};
  app.require_subcommand(1);
  auto common = [&](CLI::App* c) {
    c->add_option("--url", o.url, "NATS server URL (default nats://127.0.0.1:4222)");
    c->add_option("--msgs", o.msgs, "messages (pubsub) or round trips (reqrep)")
        ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
    c->add_option("--size", o.size, "payload bytes; >= 8 to measure latency")
        ->check(CLI::Range(0, 64 << 20));
    c->add_flag("--json", o.json, "print one JSON object on one line");
  };
  CLI::App* pubsub = app.add_subcommand("pubsub", "1 publisher -> K subscribers");
  common(pubsub);
  pubsub->add_option("--subs", o.subs, "subscriber connections")->check(CLI::Range(1, 1024));
  pubsub->add_option("--rate", o.rate, "offered msgs/s (default: as fast as possible)")
      ->check(CLI::NonNegativeNumber);
  pubsub->add_flag("--send-asap", o.send_asap, "publisher writes each message at once");
  CLI::App* reqrep = app.add_subcommand("reqrep", "sequential request/reply round trips");
  common(reqrep);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }

  Result r;
  bool complete = false;
  std::vector<std::unique_ptr<SubState>> subs;  // outlives the library's delivery threads
  const bool ok = reqrep->parsed() ? run_reqrep(o, r, complete) : run_pubsub(o, subs, r, complete);
  if (ok) report(o, r);
  std::fflush(stdout);
  nats_CloseAndWait(10'000);
  if (!ok) return 1;
  return complete ? 0 : 3;
}
