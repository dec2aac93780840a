// sluice_expiry_probe — expiry-to-event latency of a sluiced cluster (bench/cluster_bench.sh).
//
//   sluice_expiry_probe --nats nats://127.0.0.1:P --node 127.0.0.1:A [--node 127.0.0.1:B ...]
//                       [--streams M] [--rounds R] [--heartbeat other|same|none] [--sse]
//                       [--timeout S] [--grace S] [--prefix NAME] [--json]
//
// Subscribes to maestra.stream.withdraw.> on NATS (and, with --sse, opens
// GET /streams/events?subject=maestra.stream.withdraw.> on every node). Each round then
// advertises M fresh streams spread round-robin over the nodes (stream i on node i mod N, one
// keep-alive HTTP/1.1 connection per node), each followed at once by one heartbeat, by default
// through the *next* node (so it also checks that a node can touch a stream another node
// advertised); and then stops heartbeating. The TTL is read from every node's GET /health (they
// must agree).
//
// Deadline of a stream = the steady-clock time its last advertise/heartbeat request was *sent*
// + TTL: the daemon stamps its deadline a little later (while handling the request), so the
// latency measured is an upper bound; the largest request round trip is reported as the bound on
// that error. Latency = arrival of the stream's withdraw event − deadline. Each stream's event
// must arrive exactly once on NATS (and once on each node's SSE stream): duplicates, misses,
// events for unknown streams and reasons other than "expired" are counted. After the last
// expected event the probe waits --grace seconds more for late duplicates, then checks that
// GET /streams/{id} answers 404 for every stream (on the first node).
//
// Output: a summary on stderr; with --json one JSON object on one line of stdout (keys: tool
// streams rounds nodes ttl_s heartbeat max_request_rtt_ms nats{…} sse[{node …}] still_present
// heartbeat_failures complete; each event block: expected received duplicates missing unknown
// other_reasons latency_ms{samples min p50 p90 p99 max}). Exit codes: 0 every event arrived
// exactly once and every stream is gone, 1 setup failure, 2 usage error, 3 a check failed.
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nats/nats.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

constexpr const char* kWithdrawPattern = "maestra.stream.withdraw.>";
constexpr std::string_view kWithdrawPrefix = "maestra.stream.withdraw.";

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct Options {
  std::string nats_url;
  std::vector<std::string> nodes;
  int streams = 200;
  int rounds = 1;
  std::string heartbeat = "other";
  bool sse = false;
  double timeout_s = 10;  // after the last deadline
  double grace_s = 2;     // after the last expected event, for duplicates
  std::string prefix;
  bool json = false;
};

// ---- a minimal blocking HTTP/1.1 client (loopback benchmarks only) ---------------------------

struct HostPort {
  std::string host;
  std::string port;
  std::string text() const { return host + ":" + port; }
};

std::optional<HostPort> parse_node(std::string s) {
  if (s.rfind("http://", 0) == 0) s = s.substr(7);
  while (!s.empty() && s.back() == '/')
    s.pop_back();
  const auto colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == s.size()) return std::nullopt;
  return HostPort{s.substr(0, colon), s.substr(colon + 1)};
}

int dial(const HostPort& hp, std::string& err) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (int rc = getaddrinfo(hp.host.c_str(), hp.port.c_str(), &hints, &res); rc != 0) {
    err = gai_strerror(rc);
    return -1;
  }
  int fd = -1;
  for (addrinfo* a = res; a; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) break;
    err = std::strerror(errno);
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  return fd;
}

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

std::string lower(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

struct HttpReply {
  int status = 0;
  std::string body;
  int64_t sent_ns = 0;      // when the request's first byte was handed to the kernel
  int64_t received_ns = 0;  // when the whole reply was in
};

class HttpClient {
 public:
  explicit HttpClient(HostPort hp) : hp_(std::move(hp)) {}
  ~HttpClient() { reset(); }
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // One request on the keep-alive connection (reconnecting once if the server closed it).
  std::optional<HttpReply> request(const std::string& method, const std::string& path,
                                   const std::string& body, std::string& err) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (fd_ < 0 && (fd_ = dial(hp_, err)) < 0) return std::nullopt;
      std::string req = method + " " + path + " HTTP/1.1\r\nHost: " + hp_.text() + "\r\n";
      if (!body.empty()) {
        req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
               "\r\n";
      } else if (method == "POST") {
        req += "Content-Length: 0\r\n";
      }
      req += "\r\n" + body;
      HttpReply r;
      r.sent_ns = now_ns();
      if (send_all(fd_, req) && read_reply(r, err)) {
        r.received_ns = now_ns();
        return r;
      }
      reset();
      if (attempt == 0 && err.empty()) err = "connection closed";
    }
    return std::nullopt;
  }

 private:
  bool read_reply(HttpReply& r, std::string& err) {
    size_t header_end;
    while ((header_end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill(err)) return false;
    }
    const std::string head = lower(buf_.substr(0, header_end));
    if (head.rfind("http/1.1 ", 0) != 0 || head.size() < 12) {
      err = "bad status line";
      return false;
    }
    r.status = std::atoi(head.c_str() + 9);
    size_t length = 0;
    if (auto p = head.find("\r\ncontent-length:"); p != std::string::npos) {
      length = std::strtoul(head.c_str() + p + 17, nullptr, 10);
    } else if (head.find("transfer-encoding: chunked") != std::string::npos) {
      err = "chunked replies are not supported";
      return false;
    }
    const bool close_after = head.find("\r\nconnection: close") != std::string::npos;
    while (buf_.size() < header_end + 4 + length) {
      if (!fill(err)) return false;
    }
    r.body = buf_.substr(header_end + 4, length);
    buf_.erase(0, header_end + 4 + length);
    if (close_after) reset();
    return true;
  }

  bool fill(std::string& err) {
    char chunk[16384];
    const ssize_t n = recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) {
      err = n == 0 ? "connection closed" : std::strerror(errno);
      return false;
    }
    buf_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  void reset() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
    buf_.clear();
  }

  HostPort hp_;
  int fd_ = -1;
  std::string buf_;
};

// `"key":"value"` → value (no escapes in the fields read here: ids, reasons).
std::optional<std::string> json_string_field(std::string_view text, std::string_view key) {
  const std::string needle = "\"" + std::string(key) + "\":\"";
  const auto p = text.find(needle);
  if (p == std::string_view::npos) return std::nullopt;
  const auto start = p + needle.size();
  const auto end = text.find('"', start);
  if (end == std::string_view::npos) return std::nullopt;
  return std::string(text.substr(start, end - start));
}

std::optional<double> json_number_field(std::string_view text, std::string_view key) {
  const std::string needle = "\"" + std::string(key) + "\":";
  const auto p = text.find(needle);
  if (p == std::string_view::npos) return std::nullopt;
  char* end = nullptr;
  const std::string rest(text.substr(p + needle.size(), 40));
  const double v = std::strtod(rest.c_str(), &end);
  if (end == rest.c_str()) return std::nullopt;
  return v;
}

// ---- event sinks -----------------------------------------------------------------------------

struct Arrival {
  std::string id;
  std::string reason;
  int64_t t_ns = 0;
};

// Arrivals of one source (NATS, or one node's SSE stream); appended by one reader thread.
struct EventLog {
  std::mutex mu;
  std::vector<Arrival> arrivals;
  void add(Arrival a) {
    std::lock_guard lock(mu);
    arrivals.push_back(std::move(a));
  }
  size_t size() {
    std::lock_guard lock(mu);
    return arrivals.size();
  }
  std::vector<Arrival> take() {
    std::lock_guard lock(mu);
    return std::exchange(arrivals, {});
  }
};

void on_withdraw(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  const int64_t t = now_ns();
  auto& log = *static_cast<EventLog*>(closure);
  std::string_view subject = natsMsg_GetSubject(msg);
  std::string_view data(natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg)));
  Arrival a;
  a.t_ns = t;
  if (subject.rfind(kWithdrawPrefix, 0) == 0) a.id = subject.substr(kWithdrawPrefix.size());
  a.reason = json_string_field(data, "reason").value_or("");
  natsMsg_Destroy(msg);
  log.add(std::move(a));
}

std::atomic<bool> g_closing{false};

void on_disconnected(natsConnection*, void*) {
  if (!g_closing.load()) std::fprintf(stderr, "expiry_probe: the NATS connection was lost\n");
}

// One node's SSE stream of withdraw events, read by its own thread until stop.
class SseReader {
 public:
  SseReader(HostPort hp, EventLog& log) : hp_(std::move(hp)), log_(log) {}
  ~SseReader() { stop(); }

  bool start(std::string& err) {
    fd_ = dial(hp_, err);
    if (fd_ < 0) return false;
    const std::string req =
        "GET /streams/events?subject=maestra.stream.withdraw.%3E HTTP/1.1\r\n"
        "Host: " +
        hp_.text() + "\r\nAccept: text/event-stream\r\n\r\n";
    if (!send_all(fd_, req)) {
      err = "cannot send the SSE request";
      return false;
    }
    // The header, before returning: the subscription exists by then.
    std::string buf;
    char chunk[4096];
    while (buf.find("\r\n\r\n") == std::string::npos) {
      const ssize_t n = recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) {
        err = "no SSE header";
        return false;
      }
      buf.append(chunk, static_cast<size_t>(n));
    }
    if (buf.rfind("HTTP/1.1 200", 0) != 0) {
      err = "SSE answered: " + buf.substr(0, buf.find("\r\n"));
      return false;
    }
    pending_ = buf.substr(buf.find("\r\n\r\n") + 4);
    thread_ = std::thread([this] { run(); });
    return true;
  }

  void stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

  bool failed() const { return failed_.load(); }

 private:
  void run() {
    consume(now_ns());
    char chunk[16384];
    while (!stop_.load()) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      const ssize_t n = recv(fd_, chunk, sizeof chunk, 0);
      const int64_t t = now_ns();
      if (n <= 0) {
        if (!stop_.load()) {
          std::fprintf(stderr, "expiry_probe: SSE stream of %s ended\n", hp_.text().c_str());
          failed_.store(true);
        }
        return;
      }
      pending_.append(chunk, static_cast<size_t>(n));
      consume(t);
    }
  }

  // Complete lines of pending_: `data: {"subject":"maestra.stream.withdraw.ID","data":{…}}`.
  void consume(int64_t t) {
    size_t eol;
    while ((eol = pending_.find('\n')) != std::string::npos) {
      std::string_view line(pending_.data(), eol);
      if (line.rfind("data:", 0) == 0) {
        if (auto subject = json_string_field(line, "subject");
            subject && subject->rfind(kWithdrawPrefix, 0) == 0) {
          log_.add({subject->substr(kWithdrawPrefix.size()),
                    json_string_field(line, "reason").value_or(""), t});
        }
      }
      pending_.erase(0, eol + 1);
    }
  }

  HostPort hp_;
  EventLog& log_;
  int fd_ = -1;
  std::string pending_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> failed_{false};
};

// ---- results ---------------------------------------------------------------------------------

struct Tally {
  std::string source;  // "nats" or the node
  int64_t expected = 0, received = 0, duplicates = 0, missing = 0, unknown = 0, other_reasons = 0;
  std::vector<int64_t> latency_ns;  // first arrival − deadline, per stream
  std::map<std::string, int64_t> reasons;
};

// Folds one round's arrivals into `t`, given the round's deadlines by stream id.
void tally(Tally& t, const std::vector<Arrival>& arrivals,
           const std::unordered_map<std::string, int64_t>& deadline_by_id) {
  std::unordered_map<std::string, int> seen;
  t.expected += static_cast<int64_t>(deadline_by_id.size());
  for (const auto& a : arrivals) {
    ++t.received;
    auto it = deadline_by_id.find(a.id);
    if (it == deadline_by_id.end()) {
      ++t.unknown;
      continue;
    }
    ++t.reasons[a.reason];
    if (a.reason != "expired") ++t.other_reasons;
    if (seen[a.id]++ > 0) {
      ++t.duplicates;
      continue;
    }
    t.latency_ns.push_back(a.t_ns - it->second);
  }
  for (const auto& [id, deadline] : deadline_by_id) {
    if (!seen.count(id)) ++t.missing;
  }
}

double pct_ms(const std::vector<int64_t>& sorted, double q) {
  if (sorted.empty()) return std::nan("");
  const auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return static_cast<double>(sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1]) / 1e6;
}

std::string tally_json(Tally& t) {
  std::sort(t.latency_ns.begin(), t.latency_ns.end());
  char buf[640];
  auto num = [](double v) {
    if (std::isnan(v)) return std::string("null");
    char b[32];
    std::snprintf(b, sizeof b, "%.1f", v);
    return std::string(b);
  };
  std::snprintf(buf, sizeof buf,
                "\"expected\":%lld,\"received\":%lld,\"duplicates\":%lld,\"missing\":%lld,"
                "\"unknown\":%lld,\"other_reasons\":%lld,\"latency_ms\":{\"samples\":%zu,"
                "\"min\":%s,\"p50\":%s,\"p90\":%s,\"p99\":%s,\"max\":%s}",
                static_cast<long long>(t.expected), static_cast<long long>(t.received),
                static_cast<long long>(t.duplicates), static_cast<long long>(t.missing),
                static_cast<long long>(t.unknown), static_cast<long long>(t.other_reasons),
                t.latency_ns.size(),
                num(t.latency_ns.empty() ? NAN : t.latency_ns.front() / 1e6).c_str(),
                num(pct_ms(t.latency_ns, 0.5)).c_str(), num(pct_ms(t.latency_ns, 0.9)).c_str(),
                num(pct_ms(t.latency_ns, 0.99)).c_str(), num(pct_ms(t.latency_ns, 1.0)).c_str());
  return buf;
}

void tally_summary(Tally& t) {
  std::sort(t.latency_ns.begin(), t.latency_ns.end());
  std::fprintf(
      stderr,
      "expiry_probe: %-22s %lld/%lld streams, %lld duplicates, %lld missing, %lld unknown, "
      "%lld not 'expired'; latency ms p50 %.1f p90 %.1f p99 %.1f max %.1f\n",
      t.source.c_str(), static_cast<long long>(t.expected - t.missing),
      static_cast<long long>(t.expected), static_cast<long long>(t.duplicates),
      static_cast<long long>(t.missing), static_cast<long long>(t.unknown),
      static_cast<long long>(t.other_reasons), pct_ms(t.latency_ns, 0.5), pct_ms(t.latency_ns, 0.9),
      pct_ms(t.latency_ns, 0.99), pct_ms(t.latency_ns, 1.0));
}

bool healthy(const Tally& t) {
  return t.missing == 0 && t.duplicates == 0 && t.unknown == 0 && t.other_reasons == 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"sluice_expiry_probe — expiry-to-event latency and exactly-once check of sluiced",
               "sluice_expiry_probe"};
  app.add_option("--nats", o.nats_url, "NATS server the nodes publish events on")->required();
  app.add_option("--node", o.nodes, "a node's HTTP address HOST:PORT (repeat for each node)")
      ->required();
  app.add_option("--streams", o.streams, "streams per round (default 200)")
      ->check(CLI::Range(1, 1'000'000));
  app.add_option("--rounds", o.rounds, "rounds, each with fresh streams (default 1)")
      ->check(CLI::Range(1, 10'000));
  app.add_option("--heartbeat", o.heartbeat,
                 "one heartbeat per stream after advertising, through the 'other' node (default), "
                 "the 'same' node, or 'none'")
      ->check(CLI::IsMember({"other", "same", "none"}));
  app.add_flag("--sse", o.sse, "also time the events on every node's SSE stream");
  app.add_option("--timeout", o.timeout_s, "seconds to wait after the last deadline (default 10)")
      ->check(CLI::PositiveNumber);
  app.add_option("--grace", o.grace_s, "seconds to wait for duplicates at the end (default 2)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--prefix", o.prefix, "stream name prefix (default: expiry-PID)");
  app.add_flag("--json", o.json, "print one JSON object on one line of stdout");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  if (o.prefix.empty()) o.prefix = "expiry-" + std::to_string(getpid());

  std::vector<HostPort> nodes;
  for (const auto& n : o.nodes) {
    auto hp = parse_node(n);
    if (!hp) {
      std::fprintf(stderr, "expiry_probe: --node '%s' is not HOST:PORT\n", n.c_str());
      return 2;
    }
    nodes.push_back(*hp);
  }
  std::vector<std::unique_ptr<HttpClient>> http;
  for (const auto& hp : nodes)
    http.push_back(std::make_unique<HttpClient>(hp));

  // The TTL every node applies.
  double ttl_s = -1;
  for (size_t k = 0; k < nodes.size(); ++k) {
    std::string err;
    auto r = http[k]->request("GET", "/health", "", err);
    if (!r || r->status != 200) {
      std::fprintf(stderr, "expiry_probe: GET /health on %s failed: %s\n", nodes[k].text().c_str(),
                   r ? std::to_string(r->status).c_str() : err.c_str());
      return 1;
    }
    auto ttl = json_number_field(r->body, "stream_ttl_seconds");
    if (!ttl || *ttl <= 0) {
      std::fprintf(stderr, "expiry_probe: no stream_ttl_seconds in %s's /health\n",
                   nodes[k].text().c_str());
      return 1;
    }
    if (ttl_s >= 0 && *ttl != ttl_s) {
      std::fprintf(stderr, "expiry_probe: the nodes disagree on the TTL (%g s vs %g s)\n", ttl_s,
                   *ttl);
      return 1;
    }
    ttl_s = *ttl;
  }
  const auto ttl_ns = static_cast<int64_t>(ttl_s * 1e9);

  // NATS subscriber.
  EventLog nats_log;
  natsConnection* nc = nullptr;
  natsSubscription* sub = nullptr;
  {
    natsOptions* opts = nullptr;
    natsStatus s = natsOptions_Create(&opts);
    if (s == NATS_OK) s = natsOptions_SetURL(opts, o.nats_url.c_str());
    if (s == NATS_OK) s = natsOptions_SetName(opts, "sluice-expiry-probe");
    if (s == NATS_OK) s = natsOptions_SetAllowReconnect(opts, false);
    if (s == NATS_OK) s = natsOptions_SetDisconnectedCB(opts, on_disconnected, nullptr);
    if (s == NATS_OK) s = natsConnection_Connect(&nc, opts);
    natsOptions_Destroy(opts);
    if (s == NATS_OK)
      s = natsConnection_Subscribe(&sub, nc, kWithdrawPattern, on_withdraw, &nats_log);
    if (s == NATS_OK) s = natsSubscription_SetPendingLimits(sub, -1, -1);
    if (s == NATS_OK) s = natsConnection_Flush(nc);
    if (s != NATS_OK) {
      std::fprintf(stderr, "expiry_probe: NATS %s: %s\n", o.nats_url.c_str(),
                   natsStatus_GetText(s));
      return 1;
    }
  }

  // SSE readers, one per node.
  std::vector<std::unique_ptr<EventLog>> sse_logs;
  std::vector<std::unique_ptr<SseReader>> sse;
  if (o.sse) {
    for (const auto& hp : nodes) {
      auto& log = *sse_logs.emplace_back(std::make_unique<EventLog>());
      auto& reader = *sse.emplace_back(std::make_unique<SseReader>(hp, log));
      std::string err;
      if (!reader.start(err)) {
        std::fprintf(stderr, "expiry_probe: SSE on %s: %s\n", hp.text().c_str(), err.c_str());
        return 1;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }

  Tally nats_tally;
  nats_tally.source = "nats";
  std::vector<Tally> sse_tallies(sse.size());
  for (size_t k = 0; k < sse.size(); ++k)
    sse_tallies[k].source = "sse " + nodes[k].text();
  int64_t max_rtt_ns = 0, heartbeat_failures = 0, still_present = 0;
  bool setup_ok = true;

  for (int round = 0; round < o.rounds && setup_ok; ++round) {
    const auto n = static_cast<size_t>(o.streams);
    std::vector<std::string> ids(n);
    std::vector<int64_t> last_sent(n);
    // Stream i: advertised on node i mod N, then at once one heartbeat (through the next node
    // by default). Back to back, so that a slow request (under load) cannot let a stream expire
    // before its heartbeat.
    for (size_t i = 0; i < n && setup_ok; ++i) {
      const size_t k = i % nodes.size();
      char body[256];
      std::snprintf(body, sizeof body,
                    "{\"name\":\"%s-r%d-%05zu\",\"stream_type\":\"video\",\"publisher_id\":"
                    "\"sluice-expiry-probe\",\"protocol\":\"udp\",\"address\":\"10.0.0.2\","
                    "\"port\":%zu}",
                    o.prefix.c_str(), round, i, 10000 + i % 50000);
      std::string err;
      auto r = http[k]->request("POST", "/streams/advertise", body, err);
      auto id = r ? json_string_field(r->body, "id") : std::nullopt;
      if (!r || r->status != 201 || !id) {
        std::fprintf(stderr, "expiry_probe: advertise on %s failed: %s\n", nodes[k].text().c_str(),
                     r ? (std::to_string(r->status) + " " + r->body).c_str() : err.c_str());
        setup_ok = false;
        break;
      }
      ids[i] = *id;
      last_sent[i] = r->sent_ns;
      max_rtt_ns = std::max(max_rtt_ns, r->received_ns - r->sent_ns);
      if (o.heartbeat == "none") continue;
      const size_t h = (i + (o.heartbeat == "other" ? 1 : 0)) % nodes.size();
      r = http[h]->request("POST", "/streams/" + ids[i] + "/heartbeat", "", err);
      if (!r) {
        std::fprintf(stderr, "expiry_probe: heartbeat on %s failed: %s\n", nodes[h].text().c_str(),
                     err.c_str());
        setup_ok = false;
        break;
      }
      if (r->status != 200) {
        if (heartbeat_failures++ == 0) {
          std::fprintf(stderr, "expiry_probe: heartbeat on %s answered %d %s\n",
                       nodes[h].text().c_str(), r->status, r->body.c_str());
        }
        continue;
      }
      last_sent[i] = r->sent_ns;
      max_rtt_ns = std::max(max_rtt_ns, r->received_ns - r->sent_ns);
    }
    if (!setup_ok) break;

    std::unordered_map<std::string, int64_t> deadline_by_id;
    int64_t last_deadline = 0;
    for (size_t i = 0; i < n; ++i) {
      deadline_by_id[ids[i]] = last_sent[i] + ttl_ns;
      last_deadline = std::max(last_deadline, last_sent[i] + ttl_ns);
    }
    // Wait for every expected event (NATS and SSE), or the timeout.
    const int64_t give_up = last_deadline + static_cast<int64_t>(o.timeout_s * 1e9);
    auto all_in = [&] {
      if (nats_log.size() < n) return false;
      for (auto& l : sse_logs)
        if (l->size() < n) return false;
      return true;
    };
    while (!all_in() && now_ns() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (!all_in()) {
      std::fprintf(stderr,
                   "expiry_probe: round %d: not every event arrived within %.0f s of the "
                   "last deadline\n",
                   round + 1, o.timeout_s);
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(o.grace_s));
    tally(nats_tally, nats_log.take(), deadline_by_id);
    for (size_t k = 0; k < sse.size(); ++k)
      tally(sse_tallies[k], sse_logs[k]->take(), deadline_by_id);
    // Every stream must be gone.
    for (size_t i = 0; i < n; ++i) {
      std::string err;
      auto r = http[0]->request("GET", "/streams/" + ids[i], "", err);
      if (!r || r->status != 404) ++still_present;
    }
    std::fprintf(stderr, "expiry_probe: round %d/%d done (%zu streams)\n", round + 1, o.rounds, n);
  }

  g_closing.store(true);
  for (auto& r : sse)
    r->stop();
  natsSubscription_Unsubscribe(sub);
  natsSubscription_Destroy(sub);
  natsConnection_Destroy(nc);
  nats_CloseAndWait(5'000);
  if (!setup_ok) return 1;

  bool ok = healthy(nats_tally) && still_present == 0 && heartbeat_failures == 0;
  tally_summary(nats_tally);
  for (size_t k = 0; k < sse.size(); ++k) {
    tally_summary(sse_tallies[k]);
    ok = ok && healthy(sse_tallies[k]) && !sse[k]->failed();
  }
  std::fprintf(stderr,
               "expiry_probe: ttl %g s, max request round trip %.2f ms, heartbeat failures %lld, "
               "streams still present %lld\n",
               ttl_s, max_rtt_ns / 1e6, static_cast<long long>(heartbeat_failures),
               static_cast<long long>(still_present));
  if (o.json) {
    std::printf(
        "{\"tool\":\"sluice_expiry_probe\",\"streams\":%d,\"rounds\":%d,\"nodes\":%zu,"
        "\"ttl_s\":%g,\"heartbeat\":\"%s\",\"max_request_rtt_ms\":%.3f,\"nats\":{%s},"
        "\"sse\":[",
        o.streams, o.rounds, nodes.size(), ttl_s, o.heartbeat.c_str(), max_rtt_ns / 1e6,
        tally_json(nats_tally).c_str());
    for (size_t k = 0; k < sse.size(); ++k) {
      std::printf("%s{\"node\":\"%s\",%s}", k ? "," : "", nodes[k].text().c_str(),
                  tally_json(sse_tallies[k]).c_str());
    }
    std::printf("],\"still_present\":%lld,\"heartbeat_failures\":%lld,\"complete\":%s}\n",
                static_cast<long long>(still_present), static_cast<long long>(heartbeat_failures),
                ok ? "true" : "false");
  }
  return ok ? 0 : 3;
}
