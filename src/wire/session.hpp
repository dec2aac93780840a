#pragma once
// The relay protocol's session state machine (docs/protocol.md), shared by server and client.
// Sans-I/O: the transport copies received bytes into input_space() and calls commit_input();
// it writes what prepare_output() returns and then calls output_written(); it calls on_timer()
// by next_deadline(). Everything the session learns is reported through SessionEvents, inside
// those calls. One owner (one thread or strand) calls everything; nothing here is thread-safe.
//
// What it does: frame validation, the handshake gate, stream lifecycle by initiator parity
// (client odd, server even; stream 0 is the session itself), reassembly of fragmented messages
// within limits, per-stream and per-connection credit windows with auto-tuning, a weighted
// scheduler over streams by priority (0–1000), bounded per-stream send queues with overflow
// policies, PING/PONG for RTT and a keepalive lease. Protocol violations end the session with
// GOAWAY (connection-level) or RESET (stream-level) carrying an ErrorCode and a reason.
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/byte_budget.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "wire/control.hpp"
#include "wire/frame.hpp"
#include "wire/send_queue.hpp"

namespace sluice::wire {

// Transports should keep at most this many unsent bytes in the kernel (TCP_NOTSENT_LOWAT):
// what is still in the session can be reordered by priority, what is in the socket cannot.
inline constexpr int kUnsentLowWatermark = 128 * 1024;
// The smallest receive window of a stream while a higher-priority stream is open on the same
// session (docs/protocol.md, "Priorities and scheduling").
inline constexpr std::uint32_t kLowPriorityWindow = 256 * 1024;

enum class Side { kClient, kServer };

// One received message. `body` and `subject` point into session memory and are valid only
// during SessionEvents::on_message.
struct InboundMessage {
  std::uint32_t stream = 0;
  std::uint16_t flags = 0;  // kRequest, kReply, kError, kAckRequested, kFin as sent
  std::uint64_t gap = 0;    // messages the sender dropped just before this one
  std::uint64_t token = 0;  // with kRequest or kReply
  std::string_view subject;
  std::string_view body;
  std::uint32_t credit = 0;  // bytes to give back with Session::consume() in manual-credit mode
};

// Result of a handshake step on the server side (and for AUTH on the client side).
struct HandshakeStep {
  enum class Kind { kAccept, kContinue, kReject } kind = Kind::kReject;
  std::string data;    // kContinue: the next AUTH payload; kAccept: auth data for WELCOME
  std::string reason;  // kReject: why (sent with GOAWAY kAuthFailed)
  static HandshakeStep accept(std::string data = {}) {
    return {Kind::kAccept, std::move(data), {}};
  }
  static HandshakeStep next(std::string data) { return {Kind::kContinue, std::move(data), {}}; }
  static HandshakeStep reject(std::string reason) { return {Kind::kReject, {}, std::move(reason)}; }
};

class SessionEvents {
 public:
  virtual ~SessionEvents() = default;
  // Server: the client's HELLO. Client: never called.
  virtual HandshakeStep on_hello(const Hello& hello) { return HandshakeStep::accept(); }
  // Both: an AUTH frame. The client answers kContinue with its next message.
  virtual HandshakeStep on_auth(std::string_view data) {
    return HandshakeStep::reject("unexpected AUTH");
  }
  // Client: the server's WELCOME; an error (e.g. a bad SCRAM signature) ends the session.
  virtual Status on_welcome(const Welcome& welcome) { return {}; }
  virtual void on_established() {}
  // The peer opened `stream`. Call accept_stream() or reset() (now or later); until then the
  // stream's data is still delivered.
  virtual void on_open(std::uint32_t stream, OpenRequest request) {}
  virtual void on_message(const InboundMessage& message) {}
  virtual void on_ack(std::uint32_t stream, std::uint64_t delivered) {}
  virtual void on_event(std::uint32_t stream, std::string_view json) {}
  // The peer finished its side of `stream` (FIN).
  virtual void on_finished(std::uint32_t stream) {}
  // `stream` was reset, by the peer (`by_peer`) or by this session (window violation, too
  // large a message, the disconnect policy). The stream is gone.
  virtual void on_reset(std::uint32_t stream, ErrorCode code, std::string_view reason,
                        bool by_peer) {}
  // A kBlock queue of `stream` is back within its limits.
  virtual void on_drained(std::uint32_t stream) {}
  // The session ended (GOAWAY sent or received, lease expired). Called once.
  virtual void on_closed(ErrorCode code, std::string_view reason, bool by_peer) {}
};

struct StreamStats {
  std::uint32_t id = 0;
  std::uint16_t priority = 500;
  std::uint64_t bytes_sent = 0;
  std::uint64_t bytes_received = 0;
  std::uint64_t messages_sent = 0;
  std::uint64_t messages_received = 0;
  std::uint64_t dropped = 0;              // by this side's send queue policy
  std::uint64_t gaps_received = 0;        // messages the peer reported dropped
  std::int64_t send_window = 0;           // credit the peer granted and we have not used
  std::int64_t receive_window = 0;        // credit we granted and the peer has not used
  std::uint32_t receive_window_size = 0;  // the window's auto-tuned size (in flight + unused)
  std::size_t queued_messages = 0;
  std::size_t queued_bytes = 0;
};

struct SessionOptions {
  Settings local;                  // what this side accepts (announced to the peer)
  bool manual_credit = false;      // true: the owner calls consume() after processing
  std::size_t max_streams = 4096;  // concurrently open streams
  std::size_t max_reassembly = 256ull * 1024 * 1024;   // bytes across all partial messages
  std::size_t batch_bytes = 256 * 1024;                // target size of one write
  std::uint32_t max_stream_window = 64 * 1024 * 1024;  // auto-tuning ceiling
  std::uint32_t max_connection_window = 256 * 1024 * 1024;
  Duration handshake_timeout = std::chrono::seconds(10);
  std::string session_id;  // server: sent in WELCOME so the client learns its id
  // Budgets shared with the other sessions of one owner thread (the relay's), or null. They must
  // outlive the session. A partial message the reassembly budget cannot take resets its stream
  // with kLimit; send queues charge `send_budget` (SendQueue::set_budget).
  ByteBudget* reassembly_budget = nullptr;
  ByteBudget* send_budget = nullptr;
};

class Session {
 public:
  Session(Side side, SessionOptions options, SessionEvents& events, MonoTime now);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Client: queues HELLO (with this side's settings filled in).
  void start(Hello hello);

  // ---- input
  // Writable space of at least 16 KiB for the next read.
  std::span<std::uint8_t> input_space();
  // `n` bytes were written into input_space(); parses and dispatches every complete frame.
  void commit_input(std::size_t n, MonoTime now);

  // ---- output
  bool wants_write() const;
  // The next bytes to write, as buffers valid until output_written(). Empty when there is
  // nothing to send. At most one batch is outstanding.
  std::span<const std::span<const std::uint8_t>> prepare_output(MonoTime now);
  void output_written();

  // ---- time
  MonoTime next_deadline() const;
  void on_timer(MonoTime now);

  // ---- streams
  // Opens a local stream (sends OPEN). Fails with kLimit when too many are open.
  Result<std::uint32_t> open_stream(const OpenRequest& request);
  // Applies a remotely opened stream's priority and queue limits (from its OPEN).
  void accept_stream(std::uint32_t stream, std::uint16_t priority, QueueLimits limits);
  // Queues a message. kDisconnect resets the stream (kSlowConsumer) before returning.
  // Sending on an unknown or finished stream returns kDroppedNewest.
  SendQueue::Offer send(std::uint32_t stream, OutMessage message);
  // Sends FIN after whatever is queued.
  void finish(std::uint32_t stream);
  void reset(std::uint32_t stream, ErrorCode code, std::string_view reason);
  void send_ack(std::uint32_t stream, std::uint64_t delivered);
  void send_event(std::uint32_t stream, std::string_view json);
  // Schedules our DATA on `stream` at `priority` and asks the peer (PRIORITY frame) to do the
  // same with its DATA, so a subscription's priority can change after OPEN.
  void set_priority(std::uint32_t stream, std::uint16_t priority);
  // True while the stream's send queue holds more than its limits (kBlock only).
  bool queue_over_limit(std::uint32_t stream) const;
  // kBlock sources: trims the stream's queue to its limits (drops counted).
  std::size_t trim_queue(std::uint32_t stream);  // returns the messages dropped
  // Manual-credit mode: `bytes` of `stream` were processed.
  void consume(std::uint32_t stream, std::uint32_t bytes);
  // Ends the session after queued output (GOAWAY).
  void goaway(ErrorCode code, std::string_view reason);

  // ---- state
  bool established() const { return state_ == State::kOpen; }
  // GOAWAY was sent or received: no more input is processed.
  bool closing() const { return state_ == State::kClosed; }
  // Closed and every byte flushed: the transport may close the socket.
  bool done() const;
  bool has_stream(std::uint32_t stream) const { return streams_.contains(stream); }
  // Some stream still has messages (or a FIN) waiting to be sent.
  bool has_pending_data() const;
  std::optional<StreamStats> stream_stats(std::uint32_t stream) const;
  std::optional<Duration> rtt() const { return rtt_; }
  const Settings& peer_settings() const { return peer_; }
  std::uint64_t bytes_received() const { return bytes_received_; }
  std::uint64_t bytes_sent() const { return bytes_sent_; }
  std::size_t open_streams() const { return streams_.size(); }

 private:
  enum class State { kHandshake, kOpen, kClosed };
  struct Stream;
  struct Reassembly;
  class Output;

  bool is_local(std::uint32_t id) const;
  Stream* find(std::uint32_t id);
  Stream& create_stream(std::uint32_t id);
  void erase_stream(std::uint32_t id);

  void dispatch(const FrameHeader& header, std::span<const std::uint8_t> payload);
  void on_handshake_frame(const FrameHeader& header, std::string_view payload);
  void apply_handshake_step(HandshakeStep step);
  void on_data(const FrameHeader& header, std::span<const std::uint8_t> payload);
  void on_open_frame(const FrameHeader& header, std::string_view payload);
  void on_window_update(const FrameHeader& header, std::span<const std::uint8_t> payload);
  void on_reset_frame(const FrameHeader& header, std::span<const std::uint8_t> payload);
  void deliver(Stream& stream, InboundMessage message);
  void give_credit(Stream* stream, std::uint32_t bytes);
  // Partial messages' bytes, across this session (max_reassembly) and the shared budget.
  bool take_reassembly(std::size_t n);
  void give_reassembly(std::size_t n);
  // Sets a stream's priority (clamped to 1000) and keeps max_priority_ current.
  void assign_priority(Stream& s, std::uint16_t priority);
  void refresh_max_priority();
  // The auto-tuning ceiling of `s`'s receive window: max_stream_window, or a share of it
  // (at least kLowPriorityWindow) while a higher-priority stream is open.
  std::uint32_t stream_window_ceiling(const Stream& s) const;
  void fail_stream(Stream& stream, ErrorCode code, std::string reason);
  void close_session(ErrorCode code, std::string_view reason, bool by_peer);
  void queue_control(FrameType type, std::uint16_t flags, std::uint32_t stream,
                     std::string_view payload);
  void queue_window_update(std::uint32_t stream, std::uint32_t increment);
  void mark_ready(Stream& stream);
  bool emit_frame(Stream& stream);
  void send_ping(MonoTime now);

  Side side_;
  SessionOptions options_;
  SessionEvents& events_;
  State state_ = State::kHandshake;
  Settings peer_;  // defaults until HELLO/WELCOME

  // input
  std::vector<std::uint8_t> input_;
  std::size_t input_begin_ = 0;
  std::size_t input_end_ = 0;
  MonoTime now_;
  MonoTime last_received_;
  MonoTime opened_at_;
  std::uint64_t bytes_received_ = 0;

  // streams
  std::unordered_map<std::uint32_t, std::unique_ptr<Stream>> streams_;
  // Erased streams stay alive until the outermost commit_input(), prepare_output() or
  // on_timer() returns, so references held across SessionEvents callbacks never dangle (calls
  // made from inside callbacks, like send() or consume(), must not free them).
  std::vector<std::unique_ptr<Stream>> graveyard_;
  std::uint32_t next_local_id_;
  std::uint32_t highest_remote_id_ = 0;
  std::size_t reassembly_bytes_ = 0;

  // connection windows
  std::int64_t send_credit_;        // what the peer lets us send
  std::int64_t recv_window_;        // what we granted and have not seen used
  std::uint32_t recv_target_;       // auto-tuned size of the connection window
  std::uint16_t max_priority_ = 0;  // highest priority among open streams
  std::uint32_t recv_pending_ = 0;  // consumed, not yet given back
  MonoTime recv_last_update_;

  // output
  std::unique_ptr<Output> output_;
  std::vector<Stream*> ready_;  // streams with queued data, for the scheduler
  std::uint64_t virtual_time_ = 0;
  MonoTime last_sent_;
  std::uint64_t bytes_sent_ = 0;

  // keepalive and RTT
  std::optional<Duration> rtt_;
  bool ping_outstanding_ = false;
  MonoTime ping_sent_at_;
  MonoTime last_ping_;
  bool hello_seen_ = false;
  std::vector<std::uint32_t> drained_;
};

}  // namespace sluice::wire
