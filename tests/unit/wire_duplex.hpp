#pragma once
// Test transport for wire::Session: two sessions joined by a pair of in-memory byte pipes, driven
// the way a socket transport drives them (prepare_output() → write → output_written();
// read → input_space() → commit_input()), on a FakeClock advanced by hand. Fault injection: reads
// of random short sizes, output held back in the pipe, and interleaving of partial deliveries with
// flushes in random order. Also raw helpers to feed hand-crafted bytes to one session and to
// split what a session wrote into frames.
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "wire/frame.hpp"
#include "wire/session.hpp"

namespace sluice::testing {

struct WireFrame {
  wire::FrameHeader header;
  std::string payload;
};

// Splits `bytes` into frames. Stops at the first incomplete or invalid frame; `rest` (if given)
// receives the number of bytes left over.
inline std::vector<WireFrame> parse_frames(std::string_view bytes, std::size_t* rest = nullptr) {
  std::vector<WireFrame> frames;
  std::span<const std::uint8_t> in(reinterpret_cast<const std::uint8_t*>(bytes.data()),
                                   bytes.size());
  while (!in.empty()) {
    auto d = wire::decode_frame(in, wire::kMaxFramePayloadCeiling);
    if (d.status != wire::Decoded::Status::kFrame) break;
    frames.push_back(
        {d.header, std::string(reinterpret_cast<const char*>(d.payload.data()), d.payload.size())});
    in = in.subspan(d.size);
  }
  if (rest) *rest = in.size();
  return frames;
}

// The error payload of the first GOAWAY among `frames`, if any.
inline std::optional<wire::ErrorPayload> find_goaway(const std::vector<WireFrame>& frames) {
  for (const auto& f : frames) {
    if (f.header.type == wire::FrameType::kGoAway) {
      return wire::decode_error_payload(
          {reinterpret_cast<const std::uint8_t*>(f.payload.data()), f.payload.size()});
    }
  }
  return std::nullopt;
}

// Copies `bytes` into `session` as a transport would, in reads of at most `max_read` bytes.
inline void feed(wire::Session& session, std::string_view bytes, MonoTime now,
                 std::size_t max_read = std::numeric_limits<std::size_t>::max()) {
  while (!bytes.empty()) {
    auto space = session.input_space();
    std::size_t n = std::min({space.size(), bytes.size(), max_read});
    std::memcpy(space.data(), bytes.data(), n);
    session.commit_input(n, now);
    bytes.remove_prefix(n);
  }
}

// One prepare_output() batch as bytes (empty when there was nothing), then output_written().
inline std::string take_output(wire::Session& session, MonoTime now) {
  std::string out;
  for (auto buffer : session.prepare_output(now)) {
    out.append(reinterpret_cast<const char*>(buffer.data()), buffer.size());
  }
  session.output_written();
  return out;
}

// Everything `session` has to write, batch after batch.
inline std::string drain_output(wire::Session& session, MonoTime now) {
  std::string all;
  for (;;) {
    std::string batch = take_output(session, now);
    if (batch.empty()) return all;
    all += batch;
  }
}

class Duplex {
 public:
  enum End { kA = 0, kB = 1 };

  Duplex(wire::Session& a, wire::Session& b, const Clock& clock, std::uint64_t seed = 1)
      : sessions_{&a, &b}, clock_(clock), rng_(seed) {}

  // ---- fault injection
  // > 0: every read delivers a random 1..max_read bytes (short reads).
  std::size_t max_read = 0;
  // pump() runs flushes and partial deliveries of both directions in random order.
  bool interleave = false;
  // Output of `from` is written into its pipe but not delivered until released.
  void hold(End from, bool on) { held_[from] = on; }

  // ---- observation
  // When set, every batch written is split into frames and kept in batches[end].
  bool record = false;
  std::array<std::vector<std::vector<WireFrame>>, 2> batches;
  // A batch that did not consist of whole frames (must never happen).
  bool torn_batch = false;
  std::uint64_t batches_written[2] = {0, 0};

  // One prepare_output()/output_written() of `from` into its pipe; true when bytes were written.
  bool flush(End from) {
    std::string bytes = take_output(*sessions_[from], clock_.mono_now());
    if (bytes.empty()) return false;
    ++batches_written[from];
    if (record) {
      std::size_t rest = 0;
      batches[from].push_back(parse_frames(bytes, &rest));
      if (rest != 0) torn_batch = true;
    }
    pipes_[from].append(bytes);
    return true;
  }

  // Bytes written by `from` and not yet delivered.
  std::size_t pending(End from) const { return pipes_[from].size() - read_at_[from]; }

  // Delivers up to `limit` bytes written by `from` to the other session, in reads shaped by
  // max_read. Held pipes deliver nothing. Returns the bytes delivered.
  std::size_t deliver(End from, std::size_t limit = std::numeric_limits<std::size_t>::max()) {
    if (held_[from]) return 0;
    wire::Session& to = *sessions_[1 - from];
    std::size_t done = 0;
    while (done < limit && pending(from) > 0) {
      std::size_t n = std::min(limit - done, pending(from));
      if (max_read > 0) n = std::min<std::size_t>(n, 1 + rng_() % max_read);
      auto space = to.input_space();
      n = std::min(n, space.size());
      std::memcpy(space.data(), pipes_[from].data() + read_at_[from], n);
      read_at_[from] += n;
      done += n;
      to.commit_input(n, clock_.mono_now());
    }
    if (read_at_[from] == pipes_[from].size()) {
      pipes_[from].clear();
      read_at_[from] = 0;
    } else if (read_at_[from] > (1u << 20)) {
      pipes_[from].erase(0, read_at_[from]);
      read_at_[from] = 0;
    }
    return done;
  }

  // Flushes and delivers both ways until nothing moves (or `max_rounds`). Returns the rounds.
  std::size_t pump(std::size_t max_rounds = 1'000'000) {
    std::size_t round = 0;
    for (; round < max_rounds; ++round) {
      bool moved = false;
      if (interleave) {
        std::array<int, 4> order{0, 1, 2, 3};
        std::shuffle(order.begin(), order.end(), rng_);
        for (int action : order) {
          End end = static_cast<End>(action & 1);
          if (action < 2) {
            moved |= flush(end);
          } else if (pending(end) > 0) {
            // A random part of what is in flight, so reads and writes of both ends mix.
            moved |= deliver(end, 1 + rng_() % pending(end)) > 0;
          }
        }
      } else {
        moved |= flush(kA);
        moved |= deliver(kA) > 0;
        moved |= flush(kB);
        moved |= deliver(kB) > 0;
      }
      if (!moved) break;
    }
    return round;
  }

  // Calls on_timer() on every session whose deadline has passed.
  void fire_timers() {
    for (auto* s : sessions_) {
      if (clock_.mono_now() >= s->next_deadline()) s->on_timer(clock_.mono_now());
    }
  }

 private:
  std::array<wire::Session*, 2> sessions_;
  const Clock& clock_;
  std::mt19937_64 rng_;
  std::array<std::string, 2> pipes_;
  std::array<std::size_t, 2> read_at_{0, 0};
  std::array<bool, 2> held_{false, false};
};

}  // namespace sluice::testing
