// Session: input parsing, the handshake, stream lifecycle and receive-side flow control.
// Output scheduling lives in session_output.cpp.
#include <algorithm>
#include <cstring>

#include "wire/session_internal.hpp"

namespace sluice::wire {

namespace {

constexpr std::size_t kInitialInput = 128 * 1024;
constexpr std::size_t kMinReadSpace = 16 * 1024;
constexpr std::int64_t kMaxCredit = 0x7fffffff;
constexpr std::uint16_t kPrefixFlags = flag::kGap | flag::kRequest | flag::kReply | flag::kSubject;
constexpr const char* kReassemblyBudgetExhausted =
    "the server's memory for partial messages is in use: send smaller messages or retry later";

std::string_view as_text(std::span<const std::uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// Reads the DATA prefixes announced by `flags`; nullopt when the payload is too short.
struct Prefixes {
  std::uint64_t gap = 0;
  std::uint64_t token = 0;
  std::string_view subject;
  std::size_t length = 0;
};
std::optional<Prefixes> read_prefixes(std::uint16_t flags, std::span<const std::uint8_t> p) {
  Prefixes out;
  std::size_t at = 0;
  auto need = [&](std::size_t n) { return p.size() - at >= n; };
  if (flags & flag::kGap) {
    if (!need(8)) return std::nullopt;
    out.gap = get_u64(p.data() + at);
    at += 8;
  }
  if (flags & (flag::kRequest | flag::kReply)) {
    if (!need(8)) return std::nullopt;
    out.token = get_u64(p.data() + at);
    at += 8;
  }
  if (flags & flag::kSubject) {
    if (!need(2)) return std::nullopt;
    std::size_t n = get_u16(p.data() + at);
    at += 2;
    if (!need(n)) return std::nullopt;
    out.subject = as_text(p.subspan(at, n));
    at += n;
  }
  out.length = at;
  return out;
}

}  // namespace

Session::Session(Side side, SessionOptions options, SessionEvents& events, MonoTime now)
    : side_(side),
      options_(options),
      events_(events),
      input_(kInitialInput),
      now_(now),
      last_received_(now),
      opened_at_(now),
      next_local_id_(side == Side::kClient ? 1 : 2),
      send_credit_(peer_.connection_window),
      recv_window_(options.local.connection_window),
      recv_target_(options.local.connection_window),
      recv_last_update_(now),
      output_(std::make_unique<Output>()),
      last_sent_(now),
      last_ping_(now) {
  create_stream(0);  // the implicit stream, and the session's control stream
}

Session::~Session() {
  if (options_.reassembly_budget) options_.reassembly_budget->give(reassembly_bytes_);
}

bool Session::take_reassembly(std::size_t n) {
  if (options_.reassembly_budget && !options_.reassembly_budget->try_take(n)) return false;
  reassembly_bytes_ += n;
  return true;
}

void Session::give_reassembly(std::size_t n) {
  reassembly_bytes_ -= n;
  if (options_.reassembly_budget) options_.reassembly_budget->give(n);
}

bool Session::is_local(std::uint32_t id) const {
  return (id % 2 == 1) == (side_ == Side::kClient);
}

Session::Stream* Session::find(std::uint32_t id) {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : it->second.get();
}

Session::Stream& Session::create_stream(std::uint32_t id) {
  auto stream = std::make_unique<Stream>(id);
  stream->send_credit = peer_.stream_window;
  stream->recv_window = options_.local.stream_window;
  stream->recv_target = options_.local.stream_window;
  stream->recv_last_update = now_;
  stream->stats.id = id;
  stream->finish_tag = virtual_time_;
  stream->queue.set_budget(options_.send_budget);
  auto& ref = *stream;
  streams_[id] = std::move(stream);
  return ref;
}

void Session::erase_stream(std::uint32_t id) {
  auto it = streams_.find(id);
  if (it == streams_.end() || id == 0) return;
  Stream* s = it->second.get();
  s->erased = true;
  if (s->in_ready) std::erase(ready_, s);
  if (s->partial) give_reassembly(s->partial->body.size());
  graveyard_.push_back(std::move(it->second));
  streams_.erase(it);
  if (s->priority == max_priority_) refresh_max_priority();
}

void Session::start(Hello hello) {
  hello.version = kProtocolVersion;
  hello.settings = options_.local;
  queue_control(FrameType::kHello, 0, 0, encode(hello));
}

// ---------------------------------------------------------------------------------- input

std::span<std::uint8_t> Session::input_space() {
  // Room for at least kMinReadSpace, or for the rest of a frame larger than that (the peer may
  // send up to our max_frame). Compact before growing, so the buffer never exceeds one frame
  // plus kMinReadSpace beyond its initial size.
  const std::size_t pending = input_end_ - input_begin_;
  std::size_t need = kMinReadSpace;
  if (pending >= kHeaderSize) {
    auto d = decode_frame({input_.data() + input_begin_, pending}, options_.local.max_frame);
    if (d.status == Decoded::Status::kNeedMore) need = std::max(need, d.size - pending);
  }
  if (input_.size() - input_end_ < need && input_begin_ > 0) {
    std::memmove(input_.data(), input_.data() + input_begin_, pending);
    input_begin_ = 0;
    input_end_ = pending;
  }
  if (input_.size() - input_end_ < need) input_.resize(input_end_ + need);
  return {input_.data() + input_end_, input_.size() - input_end_};
}

void Session::commit_input(std::size_t n, MonoTime now) {
  now_ = now;
  input_end_ += n;
  bytes_received_ += n;
  if (n > 0) last_received_ = now;
  while (state_ != State::kClosed) {
    std::span<const std::uint8_t> pending{input_.data() + input_begin_, input_end_ - input_begin_};
    auto d = decode_frame(pending, options_.local.max_frame);
    if (d.status == Decoded::Status::kNeedMore) break;
    if (d.status == Decoded::Status::kError) {
      close_session(d.error, d.detail, false);
      break;
    }
    input_begin_ += d.size;
    dispatch(d.header, d.payload);
  }
  if (input_begin_ == input_end_ || state_ == State::kClosed) input_begin_ = input_end_ = 0;
  graveyard_.clear();
}

void Session::dispatch(const FrameHeader& h, std::span<const std::uint8_t> payload) {
  switch (h.type) {
    case FrameType::kPing:
      if (h.stream != 0 || payload.size() != 8) {
        return close_session(ErrorCode::kProtocol, "PING must be 8 bytes on stream 0", false);
      }
      return queue_control(FrameType::kPong, 0, 0, as_text(payload));
    case FrameType::kPong:
      if (ping_outstanding_ && payload.size() == 8 &&
          get_u64(payload.data()) ==
              static_cast<std::uint64_t>(ping_sent_at_.time_since_epoch().count())) {
        ping_outstanding_ = false;
        rtt_ = now_ - ping_sent_at_;
      }
      return;
    case FrameType::kGoAway: {
      auto e = decode_error_payload(payload);
      return close_session(e.code, e.reason, true);
    }
    case FrameType::kHello:
    case FrameType::kAuth:
    case FrameType::kWelcome:
      return on_handshake_frame(h, as_text(payload));
    default:
      break;
  }
  if (state_ != State::kOpen) {
    return close_session(ErrorCode::kProtocol, "frame before the handshake completed", false);
  }
  switch (h.type) {
    case FrameType::kOpen:
      return on_open_frame(h, as_text(payload));
    case FrameType::kData:
      return on_data(h, payload);
    case FrameType::kWindowUpdate:
      return on_window_update(h, payload);
    case FrameType::kReset:
      return on_reset_frame(h, payload);
    case FrameType::kAck:
      if (payload.size() != 8)
        return close_session(ErrorCode::kProtocol, "ACK must be 8 bytes", false);
      if (find(h.stream)) events_.on_ack(h.stream, get_u64(payload.data()));
      return;
    case FrameType::kEvent:
      if (find(h.stream)) events_.on_event(h.stream, as_text(payload));
      return;
    case FrameType::kPriority:
      if (payload.size() != 2) {
        return close_session(ErrorCode::kProtocol, "PRIORITY must be 2 bytes", false);
      }
      if (auto* s = find(h.stream)) {
        assign_priority(*s, get_u16(payload.data()));
      }
      return;
    default:
      return close_session(ErrorCode::kProtocol, "unexpected frame type", false);
  }
}

// ------------------------------------------------------------------------------ handshake

void Session::on_handshake_frame(const FrameHeader& h, std::string_view payload) {
  if (state_ != State::kHandshake || h.stream != 0) {
    return close_session(ErrorCode::kProtocol, "handshake frame outside the handshake", false);
  }
  if (side_ == Side::kServer) {
    if (h.type == FrameType::kHello) {
      if (std::exchange(hello_seen_, true)) {
        return close_session(ErrorCode::kProtocol, "HELLO sent twice", false);
      }
      auto hello = decode_hello(payload);
      if (!hello)
        return close_session(ErrorCode::kInvalid, "bad HELLO: " + hello.error().detail, false);
      if (hello->version != kProtocolVersion) {
        return close_session(
            ErrorCode::kUnsupportedVersion,
            "protocol version " + std::to_string(hello->version) + " is not supported (1 is)",
            false);
      }
      peer_ = hello->settings;
      return apply_handshake_step(events_.on_hello(*hello));
    }
    if (h.type == FrameType::kAuth) {
      auto data = decode_auth(payload);
      if (!data)
        return close_session(ErrorCode::kInvalid, "bad AUTH: " + data.error().detail, false);
      return apply_handshake_step(events_.on_auth(*data));
    }
    return close_session(ErrorCode::kProtocol, "a client may not send WELCOME", false);
  }
  // client
  if (h.type == FrameType::kAuth) {
    auto data = decode_auth(payload);
    if (!data) return close_session(ErrorCode::kInvalid, "bad AUTH: " + data.error().detail, false);
    auto step = events_.on_auth(*data);
    if (step.kind == HandshakeStep::Kind::kReject) {
      return close_session(ErrorCode::kAuthFailed, step.reason, false);
    }
    return queue_control(FrameType::kAuth, 0, 0, encode_auth(step.data));
  }
  if (h.type == FrameType::kWelcome) {
    auto welcome = decode_welcome(payload);
    if (!welcome)
      return close_session(ErrorCode::kInvalid, "bad WELCOME: " + welcome.error().detail, false);
    if (auto ok = events_.on_welcome(*welcome); !ok) {
      return close_session(ErrorCode::kAuthFailed, ok.error().detail, false);
    }
    peer_ = welcome->settings;
    send_credit_ = peer_.connection_window;
    find(0)->send_credit = peer_.stream_window;
    state_ = State::kOpen;
    return events_.on_established();
  }
  close_session(ErrorCode::kProtocol, "a server may not send HELLO", false);
}

void Session::apply_handshake_step(HandshakeStep step) {
  switch (step.kind) {
    case HandshakeStep::Kind::kReject:
      return close_session(ErrorCode::kAuthFailed, step.reason, false);
    case HandshakeStep::Kind::kContinue:
      return queue_control(FrameType::kAuth, 0, 0, encode_auth(step.data));
    case HandshakeStep::Kind::kAccept: {
      Welcome w;
      w.auth_data = std::move(step.data);
      w.server = "sluiced/" SLUICE_VERSION;
      w.session = options_.session_id;
      w.settings = options_.local;
      queue_control(FrameType::kWelcome, 0, 0, encode(w));
      send_credit_ = peer_.connection_window;
      find(0)->send_credit = peer_.stream_window;
      state_ = State::kOpen;
      return events_.on_established();
    }
  }
}

// -------------------------------------------------------------------------------- streams

void Session::on_open_frame(const FrameHeader& h, std::string_view payload) {
  if (h.stream == 0 || is_local(h.stream) || h.stream <= highest_remote_id_) {
    return close_session(ErrorCode::kProtocol,
                         "OPEN with stream id " + std::to_string(h.stream) +
                             " (ids must rise and have the opener's parity)",
                         false);
  }
  highest_remote_id_ = h.stream;
  if (streams_.size() > options_.max_streams) {
    return queue_control(FrameType::kReset, 0, h.stream,
                         encode_error_payload(ErrorCode::kLimit, "too many open streams"));
  }
  auto request = decode_open(payload);
  if (!request) {
    return queue_control(FrameType::kReset, 0, h.stream,
                         encode_error_payload(ErrorCode::kInvalid, request.error().detail));
  }
  auto& s = create_stream(h.stream);
  assign_priority(s, request->priority);
  if (h.flags & flag::kFin) s.remote_done = true;
  events_.on_open(h.stream, std::move(*request));
}

void Session::assign_priority(Stream& s, std::uint16_t priority) {
  const std::uint16_t old = s.priority;
  s.priority = std::min<std::uint16_t>(priority, 1000);
  s.stats.priority = s.priority;
  // Opening a stream costs O(1); only lowering the highest priority needs a scan.
  if (s.priority >= max_priority_) {
    max_priority_ = s.priority;
  } else if (old == max_priority_) {
    refresh_max_priority();
  }
}

void Session::refresh_max_priority() {
  max_priority_ = 0;
  for (const auto& [id, s] : streams_) {
    if (id != 0) max_priority_ = std::max(max_priority_, s->priority);  // 0: the session
  }
}

std::uint32_t Session::stream_window_ceiling(const Stream& s) const {
  if (s.priority >= max_priority_) return options_.max_stream_window;
  // Little of a lower-priority stream may be in flight: bytes in sockets cannot be overtaken.
  const std::uint64_t share =
      std::uint64_t(options_.max_stream_window) * (s.priority + 1u) / (max_priority_ + 1u);
  return static_cast<std::uint32_t>(std::max<std::uint64_t>(share, kLowPriorityWindow));
}

void Session::accept_stream(std::uint32_t id, std::uint16_t priority, QueueLimits limits) {
  if (auto* s = find(id)) {
    assign_priority(*s, priority);
    s->queue.set_limits(limits);
  }
}

Result<std::uint32_t> Session::open_stream(const OpenRequest& request) {
  if (state_ != State::kOpen) return fail(Error::unavailable("the session is not established"));
  if (streams_.size() > options_.max_streams) {
    return fail(Error{429, "too many open streams on this session", {}});
  }
  std::uint32_t id = next_local_id_;
  next_local_id_ += 2;
  auto& s = create_stream(id);
  assign_priority(s, request.priority);
  queue_control(FrameType::kOpen, 0, id, encode(request));
  return id;
}

void Session::on_data(const FrameHeader& h, std::span<const std::uint8_t> payload) {
  const std::uint32_t len = h.length;
  // Stream 0 is the session: a WINDOW_UPDATE on it is connection credit, so DATA there could
  // never get stream credit back.
  if (h.stream == 0) return close_session(ErrorCode::kProtocol, "DATA on stream 0", false);
  Stream* s = find(h.stream);
  if (!s) {
    bool stale = is_local(h.stream) ? h.stream < next_local_id_ : h.stream <= highest_remote_id_;
    if (!stale) {
      return close_session(ErrorCode::kProtocol,
                           "DATA on stream " + std::to_string(h.stream) + " which was never opened",
                           false);
    }
    // Data in flight when we reset the stream: discard, but keep the connection window right.
    if (len > recv_window_)
      return close_session(ErrorCode::kFlowControl, "connection window exceeded", false);
    recv_window_ -= len;
    return give_credit(nullptr, len);
  }
  if (len > recv_window_ || len > s->recv_window) {
    return close_session(ErrorCode::kFlowControl,
                         "DATA of " + std::to_string(len) + " bytes on stream " +
                             std::to_string(h.stream) + " exceeds the granted window",
                         false);
  }
  recv_window_ -= len;
  s->recv_window -= len;
  s->stats.bytes_received += len;
  if (s->remote_done) {
    give_credit(s, len);
    return fail_stream(*s, ErrorCode::kStreamClosed, "DATA after FIN");
  }
  const bool more = h.flags & flag::kMore;
  const bool fin_only = len == 0 && (h.flags & flag::kFin) && !s->partial;

  if (!s->partial && !fin_only) {
    auto prefixes = read_prefixes(h.flags, payload);
    if (!prefixes) {
      give_credit(s, len);
      return fail_stream(*s, ErrorCode::kProtocol, "DATA shorter than its announced prefixes");
    }
    auto body = payload.subspan(prefixes->length);
    // Whole messages too, not only reassembled ones: a message in one frame can be larger than
    // max_message when max_frame is.
    if (body.size() > options_.local.max_message) {
      give_credit(s, len);
      return fail_stream(*s, ErrorCode::kMessageTooLarge, "message exceeds max_message");
    }
    if (!more) {
      InboundMessage m;
      m.stream = h.stream;
      m.flags = h.flags;
      m.gap = prefixes->gap;
      m.token = prefixes->token;
      m.subject = prefixes->subject;
      m.body = as_text(body);
      m.credit = len;
      deliver(*s, m);
    } else {
      if (!take_reassembly(body.size())) {
        give_credit(s, len);
        return fail_stream(*s, ErrorCode::kLimit, kReassemblyBudgetExhausted);
      }
      auto r = std::make_unique<Reassembly>();
      r->flags = h.flags;
      r->gap = prefixes->gap;
      r->token = prefixes->token;
      r->subject = std::string(prefixes->subject);
      r->body.assign(as_text(body));
      s->partial = std::move(r);
      give_credit(s, len);
    }
  } else if (s->partial) {
    auto& r = *s->partial;
    if (r.body.size() + payload.size() > options_.local.max_message) {
      give_credit(s, len);
      return fail_stream(*s, ErrorCode::kMessageTooLarge,
                         "reassembled message exceeds max_message of " +
                             std::to_string(options_.local.max_message) + " bytes");
    }
    if (reassembly_bytes_ + payload.size() > options_.max_reassembly) {
      return close_session(ErrorCode::kLimit, "too many bytes waiting in partial messages", false);
    }
    if (!take_reassembly(payload.size())) {
      give_credit(s, len);
      return fail_stream(*s, ErrorCode::kLimit, kReassemblyBudgetExhausted);
    }
    r.body.append(as_text(payload));
    if (more) {
      give_credit(s, len);
    } else {
      auto done = std::move(s->partial);
      give_reassembly(done->body.size());
      InboundMessage m;
      m.stream = h.stream;
      m.flags = static_cast<std::uint16_t>((done->flags & ~flag::kMore) | (h.flags & flag::kFin));
      m.gap = done->gap;
      m.token = done->token;
      m.subject = done->subject;
      m.body = done->body;
      m.credit = len;
      deliver(*s, m);
    }
  } else {
    give_credit(s, len);  // FIN alone carries no message
  }
  // Not after on_closed(): the on_message() callback above may have ended the session.
  if ((h.flags & flag::kFin) && !more && !s->erased && state_ != State::kClosed) {
    s->remote_done = true;
    events_.on_finished(h.stream);
    if (!s->erased && s->local_done) erase_stream(h.stream);
  }
}

void Session::deliver(Stream& s, InboundMessage m) {
  s.stats.messages_received++;
  s.stats.gaps_received += m.gap;
  std::uint32_t credit = m.credit;
  if (!options_.manual_credit) m.credit = 0;
  events_.on_message(m);
  if (!options_.manual_credit) give_credit(s.erased ? nullptr : &s, credit);
}

void Session::consume(std::uint32_t stream, std::uint32_t bytes) {
  if (bytes == 0 || state_ == State::kClosed) return;
  // No graveyard_.clear() here: consume() is called from inside on_message(), and the stream
  // being delivered may have been erased by that callback (see graveyard_).
  give_credit(find(stream), bytes);
}

void Session::give_credit(Stream* s, std::uint32_t bytes) {
  const Duration fast =
      std::max<Duration>(rtt_.value_or(Duration::zero()) * 2, std::chrono::milliseconds(1));
  auto grant = [&](std::int64_t& window, std::uint32_t& target, std::uint32_t& pending,
                   MonoTime& last, std::uint32_t ceiling, std::uint32_t id) {
    pending += bytes;
    if (target > ceiling) {
      // The ceiling dropped (a higher-priority stream opened): shrink the window by keeping
      // back consumed bytes instead of returning them as credit.
      const std::uint32_t cut = std::min(target - ceiling, pending);
      target -= cut;
      pending -= cut;
    }
    if (pending < target / 4 || pending == 0) return;
    std::uint32_t increment = pending;
    // Auto-tuning: a quarter window consumed within two round trips means the window, not the
    // reader, limits throughput; grow it (doubling) up to the ceiling.
    if (now_ - last < fast && target < ceiling) {
      std::uint32_t growth = std::min(target, ceiling - target);
      target += growth;
      increment += growth;
    }
    window += increment;
    pending = 0;
    last = now_;
    queue_window_update(id, increment);
  };
  if (s && !s->erased && !s->remote_done) {
    grant(s->recv_window, s->recv_target, s->recv_pending, s->recv_last_update,
          stream_window_ceiling(*s), s->id);
  }
  grant(recv_window_, recv_target_, recv_pending_, recv_last_update_,
        options_.max_connection_window, 0);
}

void Session::on_window_update(const FrameHeader& h, std::span<const std::uint8_t> payload) {
  if (payload.size() != 4 || get_u32(payload.data()) == 0) {
    return close_session(ErrorCode::kProtocol, "WINDOW_UPDATE must carry a positive u32", false);
  }
  std::int64_t increment = get_u32(payload.data());
  if (h.stream == 0) {
    send_credit_ += increment;
    if (send_credit_ > kMaxCredit) {
      return close_session(ErrorCode::kFlowControl, "connection window above 2^31-1", false);
    }
    // A stream whose next frame did not fit the connection credit left the ready list (see
    // prepare_output); stream credit alone would never bring it back.
    for (auto& [id, s] : streams_)
      mark_ready(*s);
    return;
  }
  Stream* s = find(h.stream);
  if (!s) return;  // a stream that just closed
  s->send_credit += increment;
  if (s->send_credit > kMaxCredit)
    return fail_stream(*s, ErrorCode::kFlowControl, "window above 2^31-1");
  mark_ready(*s);
}

void Session::on_reset_frame(const FrameHeader& h, std::span<const std::uint8_t> payload) {
  if (h.stream == 0) return close_session(ErrorCode::kProtocol, "RESET on stream 0", false);
  Stream* s = find(h.stream);
  if (!s) return;
  auto e = decode_error_payload(payload);
  erase_stream(h.stream);
  events_.on_reset(h.stream, e.code, e.reason, true);
}

void Session::fail_stream(Stream& s, ErrorCode code, std::string reason) {
  std::uint32_t id = s.id;
  if (id == 0) return close_session(code, reason, false);
  queue_control(FrameType::kReset, 0, id, encode_error_payload(code, reason));
  erase_stream(id);
  events_.on_reset(id, code, reason, false);
}

void Session::reset(std::uint32_t stream, ErrorCode code, std::string_view reason) {
  if (stream == 0 || state_ == State::kClosed || !find(stream)) return;
  queue_control(FrameType::kReset, 0, stream, encode_error_payload(code, reason));
  erase_stream(stream);
}

void Session::finish(std::uint32_t stream) {
  Stream* s = find(stream);
  if (!s || stream == 0 || s->fin_queued || s->local_done) return;
  s->fin_queued = true;
  mark_ready(*s);
}

void Session::set_priority(std::uint32_t stream, std::uint16_t priority) {
  if (auto* s = find(stream)) {
    assign_priority(*s, priority);
    if (state_ == State::kOpen) {
      std::string payload(2, '\0');
      put_u16(reinterpret_cast<std::uint8_t*>(payload.data()), s->priority);
      queue_control(FrameType::kPriority, 0, stream, payload);
    }
  }
}

std::size_t Session::trim_queue(std::uint32_t stream) {
  auto* s = find(stream);
  if (!s) return 0;
  s->blocked_over_limit = false;
  return s->queue.trim_to_limits();
}

bool Session::queue_over_limit(std::uint32_t stream) const {
  auto it = streams_.find(stream);
  return it != streams_.end() && it->second->queue.over_limit();
}

void Session::send_ack(std::uint32_t stream, std::uint64_t delivered) {
  std::uint8_t buf[8];
  put_u64(buf, delivered);
  queue_control(FrameType::kAck, 0, stream, {reinterpret_cast<const char*>(buf), 8});
}

void Session::send_event(std::uint32_t stream, std::string_view json) {
  queue_control(FrameType::kEvent, 0, stream, json.substr(0, kMaxControlPayload));
}

std::optional<StreamStats> Session::stream_stats(std::uint32_t stream) const {
  auto it = streams_.find(stream);
  if (it == streams_.end()) return std::nullopt;
  StreamStats st = it->second->stats;
  st.send_window = it->second->send_credit;
  st.receive_window = it->second->recv_window;
  st.receive_window_size = it->second->recv_target;
  st.queued_messages = it->second->queue.size();
  st.queued_bytes = it->second->queue.bytes();
  st.dropped = it->second->queue.dropped_total();
  return st;
}

// ------------------------------------------------------------------------- session end, time

void Session::goaway(ErrorCode code, std::string_view reason) {
  close_session(code, reason, false);
}

void Session::close_session(ErrorCode code, std::string_view reason, bool by_peer) {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  if (!by_peer) {
    output_->control += encode_frame(FrameType::kGoAway, 0, 0, encode_error_payload(code, reason));
  }
  for (auto& [id, s] : streams_)
    s->in_ready = false;
  ready_.clear();
  std::string why(reason);
  events_.on_closed(code, why, by_peer);
}

bool Session::done() const {
  return state_ == State::kClosed && !output_->in_flight && output_->control.empty();
}

MonoTime Session::next_deadline() const {
  if (state_ == State::kHandshake) return opened_at_ + options_.handshake_timeout;
  if (state_ == State::kClosed) return MonoTime::max();
  MonoTime lease = last_received_ + std::chrono::milliseconds(options_.local.lease_ms);
  auto interval =
      std::min<Duration>(std::chrono::milliseconds(peer_.lease_ms / 3), std::chrono::seconds(5));
  MonoTime ping = ping_outstanding_ ? MonoTime::max() : last_ping_ + interval;
  return std::min(lease, ping);
}

void Session::on_timer(MonoTime now) {
  now_ = now;
  if (state_ == State::kHandshake && now >= opened_at_ + options_.handshake_timeout) {
    close_session(ErrorCode::kTimeout, "the handshake did not complete in time", false);
  } else if (state_ == State::kOpen) {
    if (now - last_received_ >= std::chrono::milliseconds(options_.local.lease_ms)) {
      close_session(ErrorCode::kLeaseExpired, "nothing heard from the peer within the lease",
                    false);
    } else if (!ping_outstanding_ && now >= next_deadline()) {
      send_ping(now);
    }
  }
  graveyard_.clear();
}

void Session::send_ping(MonoTime now) {
  std::uint8_t buf[8];
  put_u64(buf, static_cast<std::uint64_t>(now.time_since_epoch().count()));
  ping_outstanding_ = true;
  ping_sent_at_ = now;
  last_ping_ = now;
  queue_control(FrameType::kPing, 0, 0, {reinterpret_cast<const char*>(buf), 8});
}

void Session::queue_control(FrameType type, std::uint16_t flags, std::uint32_t stream,
                            std::string_view payload) {
  if (state_ == State::kClosed) return;
  std::size_t at = output_->control.size();
  output_->control.resize(at + kHeaderSize + payload.size());
  auto* p = reinterpret_cast<std::uint8_t*>(output_->control.data() + at);
  encode_header({kProtocolVersion, type, flags, stream, static_cast<std::uint32_t>(payload.size())},
                p);
  std::memcpy(p + kHeaderSize, payload.data(), payload.size());
}

void Session::queue_window_update(std::uint32_t stream, std::uint32_t increment) {
  std::uint8_t buf[4];
  put_u32(buf, increment);
  queue_control(FrameType::kWindowUpdate, 0, stream, {reinterpret_cast<const char*>(buf), 4});
}

}  // namespace sluice::wire
