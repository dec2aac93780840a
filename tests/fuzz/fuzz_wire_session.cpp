// The wire::Session state machine under hostile input. A server session or a client session
// (the input's hash picks which) is fed the input as the bytes its peer sent, in chunks of sizes
// drawn from the input, with time advancing and timers firing, and its output written as a
// transport would (prepare_output() → output_written(), sometimes late). That output goes on to a
// well-behaved peer session of the other side, so both roles see traffic. The event handlers
// act on what they get: they open, accept, send (small and fragmented), finish, reset, consume
// credit and change priorities, so stream state transitions happen inside callbacks too.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "wire/session.hpp"

namespace {

using namespace sluice;
using namespace sluice::wire;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

struct Rng {
  std::uint64_t state;
  std::uint64_t next() {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  }
  std::uint64_t below(std::uint64_t n) { return n == 0 ? 0 : next() % n; }
};

std::uint64_t fnv1a(const std::uint8_t* data, std::size_t size) {
  std::uint64_t h = 1469598103934665603ull;
  for (std::size_t i = 0; i < size; ++i)
    h = (h ^ data[i]) * 1099511628211ull;
  return h | 1;  // xorshift needs a non-zero state
}

const std::shared_ptr<const std::string>& big_payload() {
  static const auto bytes = std::make_shared<const std::string>(200 * 1024, 'B');
  return bytes;
}

QueueLimits random_limits(Rng& rng) {
  QueueLimits l;
  l.max_messages = 1 + rng.below(6);
  l.max_bytes = 1024 + rng.below(64 * 1024);
  l.policy = static_cast<OverflowPolicy>(rng.below(4));
  return l;
}

OpenRequest random_open(Rng& rng) {
  static const char* const kChannels[] = {"a", "a.b", "sensors.>", "x.*.y", "svc.echo"};
  OpenRequest r;
  r.role = static_cast<Role>(rng.below(3));
  r.channel = kChannels[rng.below(5)];
  if (r.role != Role::kSubscribe && r.channel.find_first_of("*>") != std::string::npos) {
    r.channel = "a.b";
  }
  r.priority = static_cast<std::uint16_t>(rng.below(1001));
  r.buffer = random_limits(rng);
  return r;
}

SessionOptions random_options(Rng& rng) {
  SessionOptions o;
  o.manual_credit = rng.below(2) == 0;
  if (rng.below(3) == 0) {
    o.local.stream_window = 1024 + static_cast<std::uint32_t>(rng.below(16 * 1024));
    o.local.connection_window = 1024 + static_cast<std::uint32_t>(rng.below(32 * 1024));
  }
  if (rng.below(4) == 0) o.local.max_frame = 1024 + static_cast<std::uint32_t>(rng.below(8192));
  if (rng.below(4) == 0) o.local.max_message = 1024 + rng.below(128 * 1024);
  if (rng.below(4) == 0) o.local.lease_ms = 1000 + static_cast<std::uint32_t>(rng.below(10'000));
  if (rng.below(4) == 0) o.max_streams = 1 + rng.below(4);
  if (rng.below(4) == 0) o.max_reassembly = 1024 + rng.below(64 * 1024);
  if (rng.below(3) == 0) o.batch_bytes = 1 + rng.below(8192);
  if (rng.below(4) == 0) {
    o.max_stream_window = 64 * 1024;
    o.max_connection_window = 128 * 1024;
  }
  return o;
}

// Reacts to everything with a random but bounded amount of work.
class Events : public SessionEvents {
 public:
  explicit Events(Rng& rng) : rng_(rng) {}

  Session* session = nullptr;
  bool client = false;
  bool closed = false;

  HandshakeStep on_hello(const Hello& hello) override {
    check(!closed);
    if (hello.user == "reject") return HandshakeStep::reject("rejected");
    if (hello.mechanism == "step") return HandshakeStep::next("challenge");
    return HandshakeStep::accept(rng_.below(2) ? "" : "server-final");
  }
  HandshakeStep on_auth(std::string_view data) override {
    check(!closed);
    if (data == "reject") return HandshakeStep::reject("rejected");
    if (client || rng_.below(3) == 0) return HandshakeStep::next(std::string(data) + "+");
    return HandshakeStep::accept();
  }
  Status on_welcome(const Welcome& welcome) override {
    check(!closed && client);
    if (welcome.server == "bad") return fail(Error::forbidden("bad server"));
    return {};
  }
  void on_established() override {
    check(!closed && session->established());
    if (!client) return;
    for (int i = 0; i < 3; ++i)
      open_one();
  }
  void on_open(std::uint32_t stream, OpenRequest request) override {
    check(!closed && stream != 0 && session->has_stream(stream));
    switch (rng_.below(4)) {
      case 0:
        session->accept_stream(stream, request.priority, request.buffer);
        break;
      case 1:
        session->accept_stream(stream, request.priority, random_limits(rng_));
        break;
      case 2:
        session->reset(stream, ErrorCode::kRefused, "not today");
        return;
      default:
        break;  // data is delivered before an answer too
    }
    streams_.push_back(stream);
    if (act()) session->send(stream, copy_message("welcome"));
  }
  void on_message(const InboundMessage& m) override {
    check(!closed && m.stream != 0);
    credit_.emplace_back(m.stream, m.credit);
    if (act()) {
      switch (rng_.below(15)) {
        case 0:
        case 1:
        case 2: {  // echo (as a reply to requests)
          OutMessage out = copy_message(m.body);
          if (m.flags & flag::kRequest) out.flags = flag::kReply, out.token = m.token;
          session->send(m.stream, std::move(out));
          break;
        }
        case 3:
          session->reset(m.stream, ErrorCode::kCancel, "enough");
          break;
        case 4:
          session->finish(m.stream);
          break;
        case 5:
          session->send_ack(m.stream, rng_.below(5));
          break;
        case 6:
          session->send_event(m.stream, R"({"event":"x"})");
          break;
        case 7:
          session->set_priority(m.stream, static_cast<std::uint16_t>(rng_.below(1200)));
          break;
        case 8:
          session->trim_queue(m.stream);
          break;
        case 9:
          open_one();
          break;
        case 10:  // a large message, fragmented, on some stream
          session->send(pick(), shared_message(big_payload(), *big_payload()));
          break;
        case 11:  // a burst, to hit the overflow policies
          for (int i = 0; i < 8; ++i)
            session->send(m.stream, copy_message(std::string(100 + i, 'b')));
          break;
        case 12:
          session->reset(pick(), ErrorCode::kCancel, "other");
          break;
        case 13:
          if (rng_.below(8) == 0) session->goaway(ErrorCode::kGoingAway, "bye");
          break;
        default:
          break;
      }
    }
    give_credit();
  }
  void on_ack(std::uint32_t stream, std::uint64_t) override { check(!closed); }
  void on_event(std::uint32_t stream, std::string_view) override {
    check(!closed);
    if (act() && rng_.below(2)) session->send_event(stream, R"({"event":"ack"})");
  }
  void on_finished(std::uint32_t stream) override {
    check(!closed);
    if (act() && rng_.below(2)) session->send(stream, copy_message("last"));
    if (rng_.below(3)) session->finish(stream);
  }
  void on_reset(std::uint32_t stream, ErrorCode, std::string_view, bool) override {
    check(!closed && !session->has_stream(stream));
    std::erase(streams_, stream);
    if (act() && rng_.below(3) == 0) open_one();
    give_credit();
  }
  void on_drained(std::uint32_t stream) override {
    check(!closed);
    if (act()) session->send(stream, copy_message("more"));
  }
  void on_closed(ErrorCode, std::string_view, bool) override {
    check(!closed);  // once
    closed = true;
  }

  // Manual credit: give back some of what was delivered, sometimes late.
  void give_credit() {
    while (!credit_.empty() && rng_.below(4) != 0) {
      auto [stream, bytes] = credit_.front();
      credit_.erase(credit_.begin());
      session->consume(stream, bytes);
    }
  }

 private:
  bool act() { return budget_-- > 0; }
  std::uint32_t pick() { return streams_.empty() ? 1 : streams_[rng_.below(streams_.size())]; }
  void open_one() {
    auto id = session->open_stream(random_open(rng_));
    if (!id) return;
    streams_.push_back(*id);
    session->send(*id, copy_message("first"));
  }

  Rng& rng_;
  int budget_ = 3000;  // bounds echo storms
  std::vector<std::uint32_t> streams_;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> credit_;
};

void feed(Session& s, const std::uint8_t* data, std::size_t size, MonoTime now) {
  while (size > 0) {
    auto space = s.input_space();
    check(space.size() >= 16 * 1024);
    std::size_t n = std::min(space.size(), size);
    std::memcpy(space.data(), data, n);
    s.commit_input(n, now);
    data += n;
    size -= n;
  }
}

// Writes one batch of `from` into `to` (or nowhere). Every batch is whole frames.
void transfer(Session& from, Session* to, MonoTime now) {
  auto buffers = from.prepare_output(now);
  std::string batch;
  for (auto b : buffers)
    batch.append(reinterpret_cast<const char*>(b.data()), b.size());
  from.output_written();
  std::span<const std::uint8_t> rest(reinterpret_cast<const std::uint8_t*>(batch.data()),
                                     batch.size());
  while (!rest.empty()) {
    auto d = decode_frame(rest, kMaxFramePayloadCeiling);
    check(d.status == Decoded::Status::kFrame);
    rest = rest.subspan(d.size);
  }
  if (to) feed(*to, reinterpret_cast<const std::uint8_t*>(batch.data()), batch.size(), now);
}

void run(const std::uint8_t* data, std::size_t size, std::uint64_t seed, Side target_side) {
  Rng rng{seed};
  MonoTime now{std::chrono::seconds(1000)};
  Events target_events(rng), peer_events(rng);
  Session target(target_side, random_options(rng), target_events, now);
  const Side peer_side = target_side == Side::kServer ? Side::kClient : Side::kServer;
  Session peer(peer_side, random_options(rng), peer_events, now);
  target_events.session = &target;
  target_events.client = target_side == Side::kClient;
  peer_events.session = &peer;
  peer_events.client = peer_side == Side::kClient;
  Hello hello;
  hello.client = "fuzz";
  (target_side == Side::kClient ? target : peer).start(hello);
  // The peer's own output goes nowhere: the fuzz input plays its part towards the target.

  std::size_t at = 0;
  while (at < size) {
    // Chunk sizes from the input: mostly short reads, sometimes large ones.
    std::size_t chunk = 1 + (rng.below(4) == 0 ? rng.below(4096) : rng.below(64));
    chunk = std::min(chunk, size - at);
    feed(target, data + at, chunk, now);
    at += chunk;
    now += std::chrono::milliseconds(rng.below(5) == 0 ? rng.below(20'000) : rng.below(30));
    if (now >= target.next_deadline()) target.on_timer(now);
    if (now >= peer.next_deadline()) peer.on_timer(now);
    if (rng.below(6) != 0) transfer(target, &peer, now);  // sometimes the socket is not writable
    transfer(peer, nullptr, now);
    target_events.give_credit();
    peer_events.give_credit();
    check(!target.done() || !target.wants_write());
    check(!target.closing() || target_events.closed);
  }
  for (int i = 0; i < 64 && (target.wants_write() || peer.wants_write()); ++i) {
    transfer(target, &peer, now);
    transfer(peer, nullptr, now);
  }
  now += std::chrono::hours(1);
  target.on_timer(now);
  peer.on_timer(now);
  transfer(target, &peer, now);
  check(target.closing() && target_events.closed);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > (1 << 20)) return 0;
  // One run per input (a session pair is not cheap under ASan); the input decides which side
  // it plays against, so both get fuzzed.
  const std::uint64_t seed = fnv1a(data, size);
  run(data, size, seed, (seed >> 7) % 2 ? Side::kServer : Side::kClient);
  return 0;
}
