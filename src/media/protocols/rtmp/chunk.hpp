#pragma once
// RTMP chunk stream (RTMP specification 1.0, section 5.3), sans I/O. ChunkReader turns received
// bytes (after the handshake) into whole messages; ChunkWriter turns messages into chunks.
// Neither touches sockets, clocks or logs: the caller feeds bytes and writes out what it gets.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/error.hpp"

namespace sluice::rtmp {

// Message type ids used by the chunk layer and the protocol control helpers.
namespace msg_type {
inline constexpr std::uint8_t kSetChunkSize = 1;
inline constexpr std::uint8_t kAbort = 2;
inline constexpr std::uint8_t kAcknowledgement = 3;
inline constexpr std::uint8_t kUserControl = 4;
inline constexpr std::uint8_t kWindowAckSize = 5;
inline constexpr std::uint8_t kSetPeerBandwidth = 6;
inline constexpr std::uint8_t kAudio = 8;
inline constexpr std::uint8_t kVideo = 9;
inline constexpr std::uint8_t kDataAmf0 = 18;
inline constexpr std::uint8_t kCommandAmf0 = 20;
}  // namespace msg_type

inline constexpr std::uint32_t kDefaultChunkSize = 128;  // both directions until changed
inline constexpr std::uint32_t kControlChunkStream = 2;  // csid of protocol control messages
inline constexpr std::uint32_t kMinChunkStreamId = 2;
inline constexpr std::uint32_t kMaxChunkStreamId = 65599;
inline constexpr std::uint32_t kExtendedTimestamp = 0xFFFFFF;

// One reassembled message. `timestamp` is absolute (fmt 1/2/3 deltas already applied, modulo
// 2^32); `stream_id` is the message stream id (little-endian on the wire, decoded here).
struct Message {
  std::uint32_t csid = kControlChunkStream;
  std::uint32_t timestamp = 0;
  std::uint8_t type = 0;
  std::uint32_t stream_id = 0;
  std::vector<std::uint8_t> payload;

  std::span<const std::uint8_t> bytes() const { return payload; }
};

struct ChunkLimits {
  // Largest message length accepted in a message header (the wire field maxes at 16 MiB - 1).
  std::uint32_t max_message = 16 * 1024 * 1024;
  // Largest Set Chunk Size accepted from the peer (the protocol allows up to 0x7FFFFFFF).
  std::uint32_t max_chunk_size = 16 * 1024 * 1024;
  // Chunk streams that may hold a partially received message at the same time.
  std::size_t max_partial_streams = 64;
  // Total payload bytes held in partially received messages, over all chunk streams.
  std::size_t max_buffered = 32 * 1024 * 1024;
  // Distinct chunk stream ids whose header state is remembered (bounds per-connection state).
  std::size_t max_chunk_streams = 256;
};

// Parses the chunk stream the peer sends. Contract:
//  * feed() accepts any split of the byte stream (byte at a time is fine) and appends every
//    message completed by these bytes to `out`, in completion order.
//  * Basic headers of 1, 2 and 3 bytes; message headers fmt 0-3; extended timestamps (also
//    repeated on fmt 3 chunks when the chunk stream's last header used one); interleaved chunk
//    streams. fmt 1/2 add their delta to the chunk stream's timestamp; fmt 3 starting a new
//    message adds the last timestamp field again (the fmt 0 timestamp if that was the last
//    header, as ffmpeg does).
//  * Set Chunk Size (1), Abort (2) and Window Acknowledgement Size (5) are applied by the reader
//    as soon as they complete, and are still handed to the caller.
//  * Any violation puts the reader into a permanent error state: feed() returns the error (status
//    400, detail says what and on which chunk stream) now and on every later call; messages that
//    completed before the violation are still in `out`. The caller should close the connection.
//    Violations: message length above max_message; fmt 1/2/3 on a chunk stream with no prior
//    fmt 0; a fmt 0/1/2 header while that chunk stream's message is incomplete; more than
//    max_partial_streams incomplete messages; more than max_buffered bytes buffered; more than
//    max_chunk_streams distinct chunk stream ids; Set Chunk Size 0, with the top bit set or above
//    max_chunk_size; control messages shorter than their 4-byte body.
//  * Memory: at most max_buffered payload bytes plus O(max_chunk_streams) header state.
class ChunkReader {
 public:
  explicit ChunkReader(ChunkLimits limits = {}) : limits_(limits) {}

  Status feed(std::span<const std::uint8_t> in, std::vector<Message>& out);

  // Replaces the limits from the next header on (a message already announced keeps the length
  // it was accepted with). Lets a server allow large messages only once it trusts the peer.
  void set_limits(ChunkLimits limits) { limits_ = limits; }
  const ChunkLimits& limits() const { return limits_; }

  bool failed() const { return error_.has_value(); }
  std::uint32_t chunk_size() const { return chunk_size_; }

  // Acknowledgement bookkeeping. bytes_received() counts every byte given to feed(). When the
  // peer has set a window (Window Acknowledgement Size) and at least that many bytes arrived
  // since the last take_ack(), ack_due() is true; take_ack() returns the sequence number to send
  // in an Acknowledgement (bytes received modulo 2^32) and restarts the window.
  std::uint64_t bytes_received() const { return received_; }
  std::uint32_t ack_window() const { return ack_window_; }
  bool ack_due() const { return ack_window_ != 0 && received_ - last_ack_ >= ack_window_; }
  std::uint32_t take_ack() {
    last_ack_ = received_;
    return static_cast<std::uint32_t>(received_);
  }

 private:
  struct StreamState {
    std::uint32_t timestamp = 0;
    std::uint32_t ts_field = 0;  // last timestamp field: fmt 0 absolute or fmt 1/2 delta
    bool extended = false;       // the last header carried an extended timestamp
    std::uint32_t length = 0;
    std::uint8_t type = 0;
    std::uint32_t stream_id = 0;
    bool in_progress = false;
    std::vector<std::uint8_t> partial;
  };

  std::size_t header_size() const;  // bytes the header being read needs, as far as known
  Status on_header();
  Status end_chunk(std::vector<Message>& out);
  Status apply_control(const Message& m);
  Status set_error(std::string detail);
  void drop_partial(StreamState& s);

  ChunkLimits limits_;
  std::uint32_t chunk_size_ = kDefaultChunkSize;
  std::unordered_map<std::uint32_t, StreamState> streams_;
  std::size_t partial_streams_ = 0;
  std::size_t buffered_ = 0;

  std::uint8_t header_[18] = {};
  std::size_t header_len_ = 0;
  bool in_payload_ = false;
  std::uint32_t current_csid_ = 0;
  std::uint32_t chunk_left_ = 0;  // payload bytes still to come in the current chunk

  std::uint64_t received_ = 0;
  std::uint64_t last_ack_ = 0;
  std::uint32_t ack_window_ = 0;
  std::optional<Error> error_;
};

// Serializes messages into chunks of at most chunk_size() payload bytes: a fmt 0 header on the
// first chunk, fmt 3 on the others, the extended timestamp field when the timestamp is >=
// 0xFFFFFF (repeated on every fmt 3 chunk). Stateless across messages, so any interleaving of
// whole messages is valid. csid outside 2..65599 is clamped into that range.
class ChunkWriter {
 public:
  explicit ChunkWriter(std::uint32_t chunk_size = kDefaultChunkSize)
      : chunk_size_(chunk_size == 0 ? 1 : chunk_size) {}

  std::uint32_t chunk_size() const { return chunk_size_; }

  void write(std::uint32_t csid, std::uint32_t timestamp, std::uint8_t type,
             std::uint32_t stream_id, std::span<const std::uint8_t> payload,
             std::string& out) const;
  void write(const Message& m, std::string& out) const {
    write(m.csid, m.timestamp, m.type, m.stream_id, m.payload, out);
  }

  // Switches the outgoing chunk size (clamped to 1..0x7FFFFFFF) without writing anything; the
  // caller must already have sent the peer a Set Chunk Size with this value.
  void set_chunk_size(std::uint32_t size) {
    chunk_size_ = std::clamp<std::uint32_t>(size, 1, 0x7FFFFFFF);
  }

  // Writes a Set Chunk Size message (with the old size) and switches to `size` for everything
  // written after it. `size` is clamped to 1..0x7FFFFFFF.
  void write_set_chunk_size(std::uint32_t size, std::string& out);

 private:
  std::uint32_t chunk_size_;
};

// Protocol control messages (csid 2, message stream 0, timestamp 0), ready for ChunkWriter.
Message set_chunk_size_message(std::uint32_t size);
Message abort_message(std::uint32_t csid);
Message acknowledgement_message(std::uint32_t sequence);
Message window_ack_size_message(std::uint32_t window);
// limit_type: 0 hard, 1 soft, 2 dynamic.
Message set_peer_bandwidth_message(std::uint32_t window, std::uint8_t limit_type);
// User Control event 0 (Stream Begin) for message stream `stream_id`.
Message stream_begin_message(std::uint32_t stream_id);

}  // namespace sluice::rtmp
