// Session: the send side. Messages wait in per-stream SendQueues; prepare_output() builds one
// write batch — control frames first, then DATA frames chosen by start-time fair queueing
// weighted by priority — within the peer's stream and connection windows.
#include <cstring>

#include "wire/session_internal.hpp"

namespace sluice::wire {

namespace {

// Bodies up to this size are copied into the batch; larger ones are written from the sender's
// buffer (scatter/gather), so a fan-out payload is never copied per subscriber.
constexpr std::size_t kCopyThreshold = 2048;
// A stream waits for more credit rather than send fragments smaller than this.
constexpr std::size_t kMinFragment = 512;

}  // namespace

SendQueue::Offer Session::send(std::uint32_t stream, OutMessage message) {
  Stream* s = find(stream);
  if (state_ != State::kOpen || !s || stream == 0 || s->fin_queued || s->local_done) {
    return SendQueue::Offer::kDroppedNewest;  // stream 0 carries no DATA (see on_data)
  }
  if (message.bytes().size() > peer_.max_message) {
    // The peer would reset the stream; refuse it here and report it as a drop.
    s->queue.count_refused();
    return SendQueue::Offer::kDroppedNewest;
  }
  auto offer = s->queue.offer(std::move(message));
  switch (offer) {
    case SendQueue::Offer::kDisconnect:
      // The stream stays in graveyard_ until the outermost call returns: send() is often
      // called from inside a callback that still holds a stream reference.
      fail_stream(*s, ErrorCode::kSlowConsumer,
                  "the subscriber's buffer overflowed (policy: disconnect)");
      return offer;
    case SendQueue::Offer::kQueuedOverLimit:
      s->blocked_over_limit = true;
      break;
    case SendQueue::Offer::kDroppedNewest:
      return offer;
    default:
      break;
  }
  mark_ready(*s);
  return offer;
}

void Session::mark_ready(Stream& s) {
  if (s.in_ready || s.erased || !s.has_output() || state_ != State::kOpen) return;
  s.in_ready = true;
  // A stream returning from idle starts at the current virtual time, not with old credit.
  s.finish_tag = std::max(s.finish_tag, virtual_time_);
  ready_.push_back(&s);
}

bool Session::has_pending_data() const {
  for (const auto& [id, s] : streams_) {
    if (s->has_output()) return true;
  }
  return !output_->control.empty();
}

bool Session::wants_write() const {
  if (output_->in_flight) return false;
  if (!output_->control.empty()) return true;
  return state_ == State::kOpen && !ready_.empty() && send_credit_ > 0;
}

std::span<const std::span<const std::uint8_t>> Session::prepare_output(MonoTime now) {
  now_ = now;
  Output& out = *output_;
  if (out.in_flight) return {};
  if (!out.control.empty()) {
    out.append_scratch(out.control.data(), out.control.size());
    out.control.clear();
  }
  while (state_ == State::kOpen && out.bytes < options_.batch_bytes && !ready_.empty() &&
         send_credit_ > 0) {
    std::size_t best = 0;
    for (std::size_t i = 1; i < ready_.size(); ++i) {
      if (ready_[i]->finish_tag < ready_[best]->finish_tag) best = i;
    }
    Stream& s = *ready_[best];
    const bool sent = emit_frame(s);
    if (s.erased) continue;  // erase_stream() already took it off the list
    if (!sent || !s.has_output()) {
      s.in_ready = false;
      ready_[best] = ready_.back();
      ready_.pop_back();
    }
  }
  for (auto id : std::exchange(drained_, {})) {
    if (find(id)) events_.on_drained(id);
  }
  if (!out.control.empty()) {  // frames queued by the callbacks above
    out.append_scratch(out.control.data(), out.control.size());
    out.control.clear();
  }
  if (out.bytes == 0) return {};
  out.in_flight = true;
  bytes_sent_ += out.bytes;
  last_sent_ = now;
  graveyard_.clear();
  return out.finalize();
}

void Session::output_written() {
  output_->clear();
}

// Emits one DATA frame of `s` into the batch; false when the stream cannot send now.
bool Session::emit_frame(Stream& s) {
  Output& out = *output_;
  if (!s.current) {
    if (s.queue.empty()) {
      if (s.fin_queued && !s.local_done) {
        std::uint8_t* h = out.reserve_scratch(kHeaderSize);
        encode_header({kProtocolVersion, FrameType::kData, flag::kFin, s.id, 0}, h);
        s.local_done = true;
        if (s.remote_done) erase_stream(s.id);
      }
      return false;
    }
    s.current = std::move(s.queue.front());
    s.queue.pop_front();
    s.current_gap = s.queue.take_pending_gap();
    s.current_offset = 0;
    s.current_started = false;
    if (s.blocked_over_limit && !s.queue.over_limit()) {
      s.blocked_over_limit = false;
      drained_.push_back(s.id);
    }
  }
  const OutMessage& m = *s.current;
  const std::string_view body = m.bytes();
  const bool first = !s.current_started;
  std::uint16_t flags = 0;
  std::size_t prefix = 0;
  if (first) {
    flags = m.flags & (flag::kRequest | flag::kReply | flag::kError | flag::kAckRequested);
    if (s.current_gap) flags |= flag::kGap, prefix += 8;
    if (flags & (flag::kRequest | flag::kReply)) prefix += 8;
    if (!m.subject.empty()) flags |= flag::kSubject, prefix += 2 + m.subject.size();
  }
  const std::size_t remaining = body.size() - s.current_offset;
  const std::int64_t avail =
      std::min<std::int64_t>({std::int64_t(peer_.max_frame), s.send_credit, send_credit_});
  if (avail < std::int64_t(prefix + std::min(remaining, kMinFragment))) return false;
  const std::size_t chunk = std::min<std::size_t>(remaining, avail - prefix);
  const bool more = chunk < remaining;
  if (more) flags |= flag::kMore;
  // Not on an empty frame: a zero-length DATA with FIN means "no message" to the receiver, so
  // an empty message is followed by a FIN frame of its own.
  if (!more && s.fin_queued && s.queue.empty() && prefix + chunk > 0) {
    flags |= flag::kFin;
    s.local_done = true;
  }
  const auto payload = static_cast<std::uint32_t>(prefix + chunk);

  std::uint8_t* p = out.reserve_scratch(kHeaderSize + prefix);
  encode_header({kProtocolVersion, FrameType::kData, flags, s.id, payload}, p);
  p += kHeaderSize;
  if (flags & flag::kGap) put_u64(p, s.current_gap), p += 8;
  if (flags & (flag::kRequest | flag::kReply)) put_u64(p, m.token), p += 8;
  if (flags & flag::kSubject) {
    put_u16(p, static_cast<std::uint16_t>(m.subject.size()));
    std::memcpy(p + 2, m.subject.data(), m.subject.size());
  }
  const char* data = body.data() + s.current_offset;
  if (chunk <= kCopyThreshold || !m.owner) {
    if (chunk) out.append_scratch(data, chunk);
  } else {
    out.append_external(m.owner, data, chunk);
  }

  s.send_credit -= payload;
  send_credit_ -= payload;
  s.stats.bytes_sent += payload;
  s.current_offset += chunk;
  s.current_started = true;
  // Start-time fair queueing: the tag advances by bytes / weight, so a priority-1000 stream
  // that wakes up is served before a bulk stream that just sent a full frame.
  virtual_time_ = std::max(virtual_time_, s.finish_tag);
  s.finish_tag = virtual_time_ + (std::uint64_t(kHeaderSize + payload) << 10) / (s.priority + 1u);
  if (!more) {
    s.current.reset();
    s.stats.messages_sent++;
    if ((flags & flag::kFin) && s.remote_done) erase_stream(s.id);
  }
  return true;
}

}  // namespace sluice::wire
