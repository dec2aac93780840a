#pragma once
// ServerSession: the server end of one RTMP connection, sans I/O. It runs the handshake, the
// chunk stream and the NetConnection/NetStream commands publishers (OBS, ffmpeg) and players
// (ffplay, VLC, ffprobe) send, and turns them into SessionEvents; the owner decides (stream
// keys, live paths) and answers through accept_*/reject_*. Nothing here touches sockets, clocks
// or logs.
//
// Contract:
//  * feed() takes received bytes in any split and appends events in order. Output for the peer
//    accumulates in output(); the owner writes it out and clears it.
//  * Any protocol violation (bad handshake, chunk error, broken AMF, an unknown command, a
//    command before connect, media on a stream that is not an accepted publish, too many
//    streams, an oversized command) makes feed() return an error (400, the detail says what);
//    the owner closes the connection. Every later feed() returns the same error.
//  * Media is only delivered after accept_publish() for that stream: a publisher whose publish
//    is pending or refused gets nothing accepted. Until then the chunk layer runs with
//    options.before_publish (64 KiB messages), so a client that never publishes cannot make the
//    server buffer more than that.
//  * Player-bound media is not written through the session: the owner writes packets
//    pre-chunked with play_chunk_writer() on the csids below for message stream kPlayStreamId,
//    interleaved with output() only at message boundaries.
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "media/protocols/rtmp/amf0.hpp"
#include "media/protocols/rtmp/chunk.hpp"
#include "media/protocols/rtmp/handshake.hpp"

namespace sluice::rtmp {

inline constexpr std::uint32_t kCommandCsid = 3;
inline constexpr std::uint32_t kStatusCsid = 5;  // onStatus and script data on a NetStream
inline constexpr std::uint32_t kAudioCsid = 6;
inline constexpr std::uint32_t kVideoCsid = 7;
inline constexpr std::uint32_t kPlayStreamId = 1;  // the first stream createStream hands out
inline constexpr std::uint32_t kServerChunkSize = 4096;

// The chunk stream a player receives a media message of `type` on.
inline std::uint32_t play_csid(std::uint8_t type) {
  switch (type) {
    case msg_type::kAudio:
      return kAudioCsid;
    case msg_type::kVideo:
      return kVideoCsid;
    default:
      return kStatusCsid;
  }
}

// The chunk layer's limits for RTMP clients: a message (a video frame) up to 8 MiB, 16 MiB held
// in partial messages.
inline ChunkLimits client_chunk_limits() {
  ChunkLimits l;
  l.max_message = 8 * 1024 * 1024;
  l.max_buffered = 16 * 1024 * 1024;
  return l;
}

// Until a publish is accepted a client has no reason to send anything large: commands only.
inline ChunkLimits command_chunk_limits() {
  ChunkLimits l;
  l.max_message = 64 * 1024;
  l.max_buffered = 256 * 1024;
  l.max_partial_streams = 8;
  l.max_chunk_streams = 16;
  return l;
}

struct SessionOptions {
  ChunkLimits limits = client_chunk_limits();  // once a publish is accepted
  ChunkLimits before_publish = command_chunk_limits();
  std::uint32_t window_ack_size = 2'500'000;
  std::size_t max_streams = 8;                // createStream calls per connection
  std::size_t max_command_bytes = 64 * 1024;  // command and data messages
};

enum class EventKind {
  kConnect,   // connect command: app, tc_url; answer accept_connect / reject_connect
  kPublish,   // publish(name): answer accept_publish / reject_publish
  kPlay,      // play(name): answer accept_play / reject_play
  kMedia,     // audio (8), video (9) or script data (18) on an accepted publish stream
  kMetadata,  // @setDataFrame/onMetaData on an accepted publish stream: `metadata`
  kStop,      // FCUnpublish, closeStream or deleteStream of a publishing or playing stream
};

struct SessionEvent {
  EventKind kind = EventKind::kConnect;
  std::uint32_t stream_id = 0;  // message stream id (publish, play, media, metadata, stop)
  std::string app;              // kConnect: application name without query ("live")
  std::string tc_url;           // kConnect
  std::string name;             // kPublish / kPlay: stream name before '?'
  std::string query;            // kPublish / kPlay: the text after '?', without it
  Message message;              // kMedia
  amf0::Value metadata;         // kMetadata: the onMetaData object (or ECMA array)
};

class ServerSession {
 public:
  explicit ServerSession(SessionOptions options = {});

  // After an event that needs an answer (kConnect, kPublish, kPlay) feed() returns at once,
  // keeping the messages that followed; answer it, then call feed() again (with the next bytes
  // or none) to go on. The owner must not read more from the socket while awaiting_answer().
  Status feed(std::span<const std::uint8_t> in, std::vector<SessionEvent>& events);
  bool awaiting_answer() const { return awaiting_; }

  std::string& output() { return out_; }
  bool handshake_done() const { return handshake_.done(); }

  void accept_connect();
  // Sends _error NetConnection.Connect.Rejected with `description`; the owner closes after
  // writing the output.
  void reject_connect(std::string_view description);
  // Sends StreamBegin and onStatus NetStream.Publish.Start; media on the stream is now accepted.
  void accept_publish(std::uint32_t stream_id, std::string_view name);
  // Sends onStatus level error with `code` (e.g. "NetStream.Publish.BadName") and `description`.
  void reject_publish(std::uint32_t stream_id, std::string_view code, std::string_view description);
  // Sends StreamBegin, NetStream.Play.Reset, NetStream.Play.Start, |RtmpSampleAccess and
  // NetStream.Data.Start; the owner then writes media on that stream.
  void accept_play(std::uint32_t stream_id, std::string_view name);
  void reject_play(std::uint32_t stream_id, std::string_view code, std::string_view description);
  // The path the player watches ended: NetStream.Play.UnpublishNotify and StreamEOF.
  void end_play(std::uint32_t stream_id, std::string_view name);

  // The chunk size every server → client chunk uses after accept_connect().
  const ChunkWriter& chunk_writer() const { return writer_; }
  std::uint64_t bytes_received() const { return reader_.bytes_received(); }

 private:
  enum class StreamState { kCreated, kPublishPending, kPublishing, kPlayPending, kPlaying };

  Status on_message(Message& m, std::vector<SessionEvent>& events);
  Status unwrap_amf(Message& m, const char* what);
  Status on_command(const Message& m, std::vector<SessionEvent>& events);
  Status on_data(Message& m, std::vector<SessionEvent>& events);
  Status violation(std::string detail);
  // Encodes `values` as one AMF0 message of `type` and chunks it into out_.
  void write_amf(std::uint32_t csid, std::uint8_t type, std::uint32_t stream_id,
                 std::span<const amf0::Value> values);
  void send_command(std::uint32_t csid, std::uint32_t stream_id,
                    std::span<const amf0::Value> values);
  // An error onStatus for a pending publish or play; the stream is free again.
  void refuse(std::uint32_t stream_id, std::string_view code, std::string_view description);
  void send_status(std::uint32_t stream_id, std::string_view level, std::string_view code,
                   std::string_view description);
  void send_result(double transaction, std::span<const amf0::Value> values);
  void stop_stream(std::uint32_t stream_id, std::vector<SessionEvent>& events);

  SessionOptions options_;
  ServerHandshake handshake_;
  ChunkReader reader_;
  ChunkWriter writer_;
  std::string out_;
  std::vector<Message> messages_;  // parsed, not yet processed (after a decision event)
  std::size_t next_message_ = 0;
  bool awaiting_ = false;
  double connect_transaction_ = 1;
  bool connect_seen_ = false;
  bool connected_ = false;
  double object_encoding_ = 0;
  std::uint32_t next_stream_id_ = kPlayStreamId;
  std::map<std::uint32_t, StreamState> streams_;
  std::map<std::uint32_t, std::string> stream_names_;
  std::optional<Error> error_;
};

}  // namespace sluice::rtmp
