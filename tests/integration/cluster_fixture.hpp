#pragma once
// Helpers for tests of several sluiced nodes (distributed_test.cpp): the `Distributed` fixture
// (a real redis-server and nats-server, nodes A and B started on them with --store/--bus and a
// short TTL, each with a Client), observers of events (SSE, plain NATS, /ws) that count what they
// saw, a plain libnats client (device, Maestra service, non-sluice publisher), redis-cli queries
// and /health and /metrics readers.
//
// Threads: the fixture and the helpers are driven by the test thread; EventLog is thread-safe
// (SseWatcher and PlainNats fill it from their own threads).
#include <gtest/gtest.h>

#include <nats/nats.h>

#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "client/client.hpp"
#include "client/event_stream.hpp"
#include "daemon_fixture.hpp"
#include "nats_fixture.hpp"
#include "redis_fixture.hpp"

namespace sluice::testing {

namespace json = boost::json;
using client::Client;

constexpr int kTtlSeconds = 2;
constexpr std::chrono::seconds kTtl{kTtlSeconds};
constexpr std::chrono::milliseconds kPublisherHeartbeat{500};  // SDK publishers in these tests

inline bool contains(std::string_view text, std::string_view needle) {
  return text.find(needle) != std::string_view::npos;
}
inline bool contains_nocase(std::string_view text, std::string_view needle) {
  auto lower = [](std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
  };
  return contains(lower(text), lower(needle));
}

inline std::string str(const json::value& v, std::string_view key) {
  if (!v.is_object()) return "";
  const auto* field = v.as_object().if_contains(key);
  return field && field->is_string() ? std::string(field->as_string()) : "";
}

inline registry::AdvertiseRequest advert(std::string name, std::string type = "data") {
  registry::AdvertiseRequest a;
  a.name = std::move(name);
  a.stream_type = std::move(type);
  a.publisher_id = "dist-publisher";
  a.protocol = "udp";
  a.address = "10.0.0.5";
  a.port = 9000;
  a.config = json::object{{"format", "json"}};
  a.metadata = json::object{{"room", "A"}};
  return a;
}

inline const registry::StreamRequest kConsumer{"consumer-1", "10.0.0.9", 7000, {}};

inline bool lists(Client& node, const std::string& stream_id) {
  auto all = node.list_streams();
  return all && std::any_of(all->begin(), all->end(),
                            [&](const auto& v) { return v.stream.id == stream_id; });
}
inline bool lists_session(Client& node, const std::string& session_id) {
  auto all = node.list_sessions();
  return all && std::any_of(all->begin(), all->end(),
                            [&](const auto& s) { return s.session_id == session_id; });
}
inline bool is_gone(Client& node, const std::string& stream_id) {
  auto s = node.get_stream(stream_id);
  return !s && s.error().status == 404;
}

// --- /health ------------------------------------------------------------------------------------

inline json::object health_of(Client& node) {
  auto h = node.health();
  return h ? *h : json::object{};
}
inline bool healthy(Client& node) {
  return str(health_of(node), "status") == "ok";
}
// components.<name>.error, or "".
inline std::string component_error(const json::object& health, std::string_view name) {
  const auto* components = health.if_contains("components");
  if (!components || !components->is_object()) return "";
  const auto* c = components->as_object().if_contains(name);
  return c ? str(*c, "error") : "";
}

// A sample of GET /metrics, e.g. metric("sluice_expiries_total{kind=\"stream\"}"); -1 if absent.
inline double metric(Client& node, const std::string& sample) {
  auto text = node.request("GET", "/metrics");
  if (!text) return -1;
  for (std::size_t start = 0; start < text->body.size();) {
    auto nl = text->body.find('\n', start);
    if (nl == std::string::npos) nl = text->body.size();
    std::string_view line(text->body.data() + start, nl - start);
    if (line.starts_with(sample + " ")) return std::stod(std::string(line.substr(sample.size())));
    start = nl + 1;
  }
  return -1;
}

// --- redis-cli ----------------------------------------------------------------------------------

// Runs redis-cli --raw against the test's server; its stdout.
inline std::string redis_cli(int port, const std::vector<std::string>& args) {
  std::vector<std::string> argv{program_path("redis-cli"), "-h",   "127.0.0.1", "-p",
                                std::to_string(port),      "--raw"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = run_command(argv, 10s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}
inline std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    auto nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}
inline std::vector<std::string> redis_keys(int port, const std::string& pattern) {
  std::vector<std::string> keys;
  for (auto& line : split_lines(redis_cli(port, {"KEYS", pattern}))) {
    if (!line.empty()) keys.push_back(std::move(line));
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}
inline long redis_int(int port, const std::vector<std::string>& args) {
  auto lines = split_lines(redis_cli(port, args));
  return lines.empty() || lines[0].empty() ? -1 : std::stol(lines[0]);
}
inline std::map<std::string, std::string> redis_hash(int port, const std::string& key) {
  auto lines = split_lines(redis_cli(port, {"HGETALL", key}));
  std::map<std::string, std::string> h;
  for (std::size_t i = 0; i + 1 < lines.size(); i += 2)
    h[lines[i]] = lines[i + 1];
  return h;
}

// --- events -------------------------------------------------------------------------------------

// Messages seen by one observer (SSE, NATS, /ws); thread-safe.
class EventLog {
 public:
  void add(std::string subject, std::string_view data) {
    boost::system::error_code ec;
    json::value v = json::parse(data, ec);
    if (ec) v = json::string(data);
    std::lock_guard lock(mutex_);
    events_.emplace_back(std::move(subject), std::move(v));
  }
  // Messages on `subject` whose data has field == value (an empty field: every message).
  std::size_t count(std::string_view subject, std::string_view field = {},
                    std::string_view value = {}) const {
    std::lock_guard lock(mutex_);
    return std::count_if(events_.begin(), events_.end(), [&](const auto& e) {
      return e.first == subject && (field.empty() || str(e.second, field) == value);
    });
  }
  std::size_t count_prefix(std::string_view prefix) const {
    std::lock_guard lock(mutex_);
    return std::count_if(events_.begin(), events_.end(),
                         [&](const auto& e) { return e.first.starts_with(prefix); });
  }
  std::string dump() const {
    std::lock_guard lock(mutex_);
    std::string out;
    for (const auto& [subject, data] : events_)
      out += subject + " " + json::serialize(data) + "\n";
    return out;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::pair<std::string, json::value>> events_;
};

// GET /streams/events?subject=<pattern> on one node, read on a thread of its own.
class SseWatcher {
 public:
  explicit SseWatcher(const std::string& base_url, std::string pattern = "maestra.stream.>")
      : stream_(base_url) {
    thread_ = std::thread([this, target = client::events_target(pattern)] {
      (void)stream_.run(target, [this](const client::ServerSentEvent& e) {
        if (!e.event.empty() && e.event != "message") return;
        boost::system::error_code ec;
        json::value v = json::parse(e.data, ec);
        if (ec || !v.is_object()) return;
        const auto* data = v.as_object().if_contains("data");
        log_.add(str(v, "subject"), data ? json::serialize(*data) : "null");
      });
    });
  }
  ~SseWatcher() {
    stream_.stop();
    thread_.join();
  }
  const EventLog& log() const { return log_; }

 private:
  client::EventStream stream_;
  EventLog log_;
  std::thread thread_;
};

// A plain libnats client: a Maestra service, a device, a publisher written without sluice.
class PlainNats {
 public:
  explicit PlainNats(const std::string& url) {
    EXPECT_EQ(natsConnection_ConnectTo(&nc_, url.c_str()), NATS_OK) << url;
  }
  ~PlainNats() {
    // Unsubscribe and wait until each message handler has returned before freeing its state.
    for (auto& s : subs_) {
      if (natsSubscription_Unsubscribe(s->sub) == NATS_OK) {
        s->done.get_future().wait_for(5s);
      }
      natsSubscription_Destroy(s->sub);
    }
    natsConnection_Destroy(nc_);
  }
  PlainNats(const PlainNats&) = delete;
  PlainNats& operator=(const PlainNats&) = delete;

  void publish(const std::string& subject, const std::string& data) {
    EXPECT_EQ(natsConnection_PublishString(nc_, subject.c_str(), data.c_str()), NATS_OK);
    natsConnection_Flush(nc_);
  }
  // Records every message on `subject` in `log`; in place on the server when this returns.
  void watch(const std::string& subject, EventLog& log) {
    subscribe(subject, [&log](const Message& m) { log.add(m.subject, m.data); });
  }
  // Answers every request on `subject` with `answer` (recording the requests in `requests`).
  void respond(const std::string& subject, std::string answer, EventLog* requests = nullptr) {
    subscribe(subject, [this, answer = std::move(answer), requests](const Message& m) {
      if (requests) requests->add(m.subject, m.data);
      if (!m.reply.empty()) natsConnection_PublishString(nc_, m.reply.c_str(), answer.c_str());
    });
  }

 private:
  struct Message {
    std::string subject, data, reply;
  };
  struct Sub {
    std::function<void(const Message&)> handler;
    natsSubscription* sub = nullptr;
    std::promise<void> done;
  };
  void subscribe(const std::string& subject, std::function<void(const Message&)> handler) {
    auto s = std::make_unique<Sub>();
    s->handler = std::move(handler);
    auto on_message = [](natsConnection*, natsSubscription*, natsMsg* m, void* closure) {
      const char* reply = natsMsg_GetReply(m);
      static_cast<Sub*>(closure)->handler(Message{
          natsMsg_GetSubject(m),
          std::string(natsMsg_GetData(m), static_cast<std::size_t>(natsMsg_GetDataLength(m))),
          reply ? reply : ""});
      natsMsg_Destroy(m);
    };
    ASSERT_EQ(natsConnection_Subscribe(&s->sub, nc_, subject.c_str(), on_message, s.get()),
              NATS_OK);
    ASSERT_EQ(
        natsSubscription_SetOnCompleteCB(
            s->sub, [](void* closure) { static_cast<Sub*>(closure)->done.set_value(); }, s.get()),
        NATS_OK);
    ASSERT_EQ(natsConnection_Flush(nc_), NATS_OK);
    subs_.push_back(std::move(s));
  }

  natsConnection* nc_ = nullptr;
  std::vector<std::unique_ptr<Sub>> subs_;
};

constexpr const char* kProbeSubject = "maestra.stream.subscriber.left";  // bridged by every node

// Publishes probes on NATS until `watcher` shows one: its SSE stream is subscribed and its node
// hears NATS events (the bridge's subscriptions are in place on the server).
inline ::testing::AssertionResult hears_nats(PlainNats& nats, const SseWatcher& watcher) {
  static std::atomic<int> next{0};
  const std::string token = "probe-" + std::to_string(next++);
  const bool heard = eventually(
      [&] {
        nats.publish(kProbeSubject, json::serialize(json::object{{"probe", token}}));
        return eventually([&] { return watcher.log().count(kProbeSubject, "probe", token) > 0; },
                          200ms);
      },
      10s);
  if (heard) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "no NATS probe reached the SSE watcher:\n"
                                       << watcher.log().dump();
}

// Requests `stream_id` until the answer is not "no responder": a responder attached to the other
// node is on NATS only once that node mirrored it (≤ 100 ms after it subscribed).
inline Result<registry::StreamOffer> request_until_answered(
    Client& node, const std::string& stream_id, std::chrono::milliseconds timeout = 10s) {
  Result<registry::StreamOffer> offer = fail(Error{0, "not tried", {}});
  eventually(
      [&] {
        offer = node.request_stream(stream_id, kConsumer);
        return offer || offer.error().status != 504 ||
               !contains(offer.error().detail, "No responder");
      },
      timeout);
  return offer;
}

class Distributed : public ::testing::Test {
 protected:
  void TearDown() override {
    if (!HasFailure()) return;
    for (auto* node : {a_.get(), b_.get()}) {
      if (!node) continue;
      auto lines = split_lines(node->output());
      std::string tail;
      for (std::size_t i = lines.size() > 40 ? lines.size() - 40 : 0; i < lines.size(); ++i)
        tail += lines[i] + "\n";
      std::cerr << "--- node " << (node == a_.get() ? "A" : "B") << " (" << node->url()
                << ") log tail:\n"
                << tail;
    }
  }

  void start_servers() {
    ASSERT_TRUE(redis_.start());
    ASSERT_TRUE(nats_.start());
  }
  // Nodes A and B on the test's servers (which may be down), each with `extra` flags.
  void start_nodes(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args{"--store",
                                  redis_.url(),
                                  "--bus",
                                  nats_.url(),
                                  "--stream-ttl",
                                  std::to_string(kTtlSeconds),
                                  "--request-timeout",
                                  "5"};
    args.insert(args.end(), extra.begin(), extra.end());
    a_ = std::make_unique<DaemonProcess>(args);
    b_ = std::make_unique<DaemonProcess>(args);
    ASSERT_TRUE(a_->start());
    ASSERT_TRUE(b_->start());
    a_client_ = std::make_unique<Client>(a_->url());
    b_client_ = std::make_unique<Client>(b_->url());
  }
  void start_cluster(const std::vector<std::string>& extra = {}) {
    ASSERT_NO_FATAL_FAILURE(start_servers());
    ASSERT_NO_FATAL_FAILURE(start_nodes(extra));
    ASSERT_TRUE(eventually([&] { return healthy(a()) && healthy(b()); }, 15s))
        << json::serialize(health_of(a())) << "\n"
        << json::serialize(health_of(b()));
  }

  Client& a() { return *a_client_; }
  Client& b() { return *b_client_; }
  int redis_port() const { return redis_.port(); }

  RedisServer redis_;
  NatsServer nats_;
  std::unique_ptr<DaemonProcess> a_, b_;
  std::unique_ptr<Client> a_client_, b_client_;
};

}  // namespace sluice::testing
