#pragma once
// Private parts of wire::Session shared by session.cpp (input, lifecycle) and
// session_output.cpp (scheduler, batches). Not for use outside src/wire.
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "wire/session.hpp"

namespace sluice::wire {

// A message arriving in fragments; prefixes come from the first fragment.
struct Session::Reassembly {
  std::uint16_t flags = 0;
  std::uint64_t gap = 0;
  std::uint64_t token = 0;
  std::string subject;
  std::string body;
};

struct Session::Stream {
  explicit Stream(std::uint32_t stream_id) : id(stream_id) {}

  std::uint32_t id;
  std::uint16_t priority = 500;
  bool erased = false;       // removed from the table; only kept alive until the call returns
  bool fin_queued = false;   // finish(): FIN goes out after the queue drains
  bool local_done = false;   // FIN or RESET sent
  bool remote_done = false;  // FIN received
  bool in_ready = false;     // listed in Session::ready_
  bool blocked_over_limit = false;  // a kBlock queue is past its limits

  // sending
  SendQueue queue;
  std::optional<OutMessage> current;  // the message being fragmented
  std::uint64_t current_gap = 0;
  std::size_t current_offset = 0;
  bool current_started = false;
  std::int64_t send_credit = 0;
  std::uint64_t finish_tag = 0;  // start-time fair queueing tag

  // receiving
  std::int64_t recv_window = 0;
  std::uint32_t recv_target = 0;
  std::uint32_t recv_pending = 0;
  MonoTime recv_last_update;
  std::unique_ptr<Reassembly> partial;

  StreamStats stats;

  bool has_output() const {
    return current.has_value() || !queue.empty() || (fin_queued && !local_done);
  }
};

// The batch being written plus control frames waiting for the next one.
class Session::Output {
 public:
  std::string control;  // encoded control frames, sent before stream data

  bool in_flight = false;
  std::size_t bytes = 0;

  std::uint8_t* reserve_scratch(std::size_t n) {
    std::size_t at = scratch_.size();
    scratch_.resize(at + n);
    extend_scratch_piece(at, n);
    bytes += n;
    return scratch_.data() + at;
  }
  void append_scratch(const void* data, std::size_t n) {
    auto* p = reserve_scratch(n);
    std::memcpy(p, data, n);
  }
  void append_external(const std::shared_ptr<const void>& owner, const void* data, std::size_t n) {
    owners_.push_back(owner);
    pieces_.push_back({static_cast<const std::uint8_t*>(data), 0, n});
    bytes += n;
  }
  std::span<const std::span<const std::uint8_t>> finalize() {
    buffers_.clear();
    for (const auto& p : pieces_) {
      buffers_.emplace_back(p.external ? p.external : scratch_.data() + p.offset, p.size);
    }
    return buffers_;
  }
  void clear() {
    scratch_.clear();
    pieces_.clear();
    owners_.clear();
    buffers_.clear();
    bytes = 0;
    in_flight = false;
  }

 private:
  struct Piece {
    const std::uint8_t* external;  // nullptr: `offset` into scratch_
    std::size_t offset;
    std::size_t size;
  };
  void extend_scratch_piece(std::size_t at, std::size_t n) {
    if (!pieces_.empty() && !pieces_.back().external &&
        pieces_.back().offset + pieces_.back().size == at) {
      pieces_.back().size += n;
    } else {
      pieces_.push_back({nullptr, at, n});
    }
  }

  std::vector<std::uint8_t> scratch_;
  std::vector<Piece> pieces_;
  std::vector<std::shared_ptr<const void>> owners_;
  std::vector<std::span<const std::uint8_t>> buffers_;
};

}  // namespace sluice::wire
