#include "rtsp_reader.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string_view>

namespace sluice::bench {

namespace {

constexpr double kGapFactor = 2.5;      // frame intervals tolerated between video frames
constexpr double kDiscontinuityS = 10;  // a timestamp jump larger than this restarts the count
constexpr std::size_t kMaxText = 64 * 1024;
constexpr std::size_t kReorderFrames =
    16;  // presentation-order buffer  // a response's headers and body, at most

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

std::uint16_t be16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
std::uint32_t be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         p[3];
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

// Whether an RTP payload of `encoding` starts or carries a keyframe NAL unit.
bool carries_keyframe(const std::string& encoding, const std::uint8_t* p, std::size_t n) {
  if (n < 1) return false;
  if (iequals(encoding, "H264")) {
    const int type = p[0] & 0x1f;
    if (type == 5) return true;
    if (type == 28) return n >= 2 && (p[1] & 0x80) && (p[1] & 0x1f) == 5;  // FU-A start
    if (type == 24) {                                                      // STAP-A
      for (std::size_t off = 1; off + 3 <= n;) {
        const std::size_t size = be16(p + off);
        if ((p[off + 2] & 0x1f) == 5) return true;
        off += 2 + size;
      }
    }
    return false;
  }
  if (iequals(encoding, "H265") || iequals(encoding, "HEVC")) {
    auto irap = [](int t) { return t >= 16 && t <= 21; };
    if (n < 2) return false;
    const int type = (p[0] >> 1) & 0x3f;
    if (irap(type)) return true;
    if (type == 49) return n >= 3 && (p[2] & 0x80) && irap(p[2] & 0x3f);  // FU start
    if (type == 48) {                                                     // AP
      for (std::size_t off = 2; off + 3 <= n;) {
        const std::size_t size = be16(p + off);
        if (irap((p[off + 2] >> 1) & 0x3f)) return true;
        off += 2 + size;
      }
    }
  }
  return false;
}

}  // namespace

std::uint64_t ReaderStats::lost_packets() const {
  std::uint64_t n = 0;
  for (const auto& t : tracks)
    n += t.lost;
  return n;
}

std::uint64_t ReaderStats::out_of_order() const {
  std::uint64_t n = 0;
  for (const auto& t : tracks)
    n += t.out_of_order;
  return n;
}

const std::string* RtspReader::Response::header(const std::string& name) const {
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) return &v;
  return nullptr;
}

void RtspReader::start(Clock::time_point now, std::string& out) {
  state_ = ReaderState::kSetup;
  last_request_ = now;
  send("OPTIONS", url_, "", out);
}

void RtspReader::on_closed(std::string why) {
  if (state_ == ReaderState::kFailed || state_ == ReaderState::kClosed) return;
  state_ = state_ == ReaderState::kPlaying ? ReaderState::kClosed : ReaderState::kFailed;
  if (stats_.error.empty()) stats_.error = std::move(why);
}

void RtspReader::fail(std::string why) {
  if (state_ == ReaderState::kFailed || state_ == ReaderState::kClosed) return;
  state_ = ReaderState::kFailed;
  if (stats_.error.empty()) stats_.error = std::move(why);
}

void RtspReader::send(const std::string& method, const std::string& uri, const std::string& extra,
                      std::string& out) {
  out += method + " " + uri + " RTSP/1.0\r\nCSeq: " + std::to_string(++cseq_) +
         "\r\nUser-Agent: sluice-rtsp-readers\r\n";
  if (!session_.empty()) out += "Session: " + session_ + "\r\n";
  out += extra;
  out += "\r\n";
  pending_method_ = method;
}

void RtspReader::tick(Clock::time_point now, std::string& out) {
  if (state_ != ReaderState::kPlaying || keepalive_s_ <= 0 || !pending_method_.empty()) return;
  if (std::chrono::duration<double>(now - last_request_).count() < keepalive_s_) return;
  last_request_ = now;
  send("GET_PARAMETER", url_, "", out);
}

bool RtspReader::on_bytes(std::span<const std::uint8_t> in, Clock::time_point now,
                          std::string& out) {
  stats_.bytes += in.size();
  buf_.append(reinterpret_cast<const char*>(in.data()), in.size());
  while (take_message(now, out)) {
  }
  if (pos_ > 0) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  return !failed_parse_ && state_ != ReaderState::kFailed && state_ != ReaderState::kClosed;
}

bool RtspReader::take_message(Clock::time_point now, std::string& out) {
  if (failed_parse_ || state_ == ReaderState::kFailed) return false;
  const std::size_t avail = buf_.size() - pos_;
  if (avail == 0) return false;
  const auto* p = reinterpret_cast<const std::uint8_t*>(buf_.data()) + pos_;
  if (p[0] == '$') {
    if (avail < 4) return false;
    const std::size_t len = be16(p + 2);
    if (avail < 4 + len) return false;
    const std::uint8_t channel = p[1];
    pos_ += 4 + len;
    const std::size_t track = channel / 2;
    if (track < tracks_.size()) {
      if (channel % 2 == 0) {
        on_rtp(track, std::span(p + 4, len), now);
      } else {
        ++stats_.tracks[track].rtcp_packets;
      }
    }
    return true;
  }
  // Text: a response (or a request from the server, which is skipped).
  const std::string_view rest(buf_.data() + pos_, avail);
  const auto end = rest.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    if (avail > kMaxText) {
      failed_parse_ = true;
      fail("no end of headers within 64 KiB (not RTSP?)");
    }
    return false;
  }
  Response r;
  std::size_t content_length = 0;
  std::string_view head = rest.substr(0, end);
  bool first = true;
  bool is_response = false;
  while (!head.empty()) {
    const auto eol = head.find("\r\n");
    std::string_view line = head.substr(0, eol);
    head = eol == std::string_view::npos ? std::string_view() : head.substr(eol + 2);
    if (first) {
      first = false;
      if (line.rfind("RTSP/", 0) == 0) {
        is_response = true;
        const auto sp = line.find(' ');
        r.status =
            sp == std::string_view::npos ? 0 : std::atoi(std::string(line.substr(sp + 1)).c_str());
      } else if (line.empty() || !(line[0] >= 'A' && line[0] <= 'Z')) {
        failed_parse_ = true;
        fail("unexpected bytes where an RTSP message or '$' frame should start");
        return false;
      }
      continue;
    }
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string name(trim(line.substr(0, colon)));
    std::string value(trim(line.substr(colon + 1)));
    if (iequals(name, "Content-Length")) content_length = std::strtoul(value.c_str(), nullptr, 10);
    r.headers.emplace_back(std::move(name), std::move(value));
  }
  if (content_length > kMaxText) {
    failed_parse_ = true;
    fail("response body over 64 KiB");
    return false;
  }
  if (avail < end + 4 + content_length) return false;
  r.body.assign(rest.data() + end + 4, content_length);
  pos_ += end + 4 + content_length;
  if (!is_response) return true;  // a request from the server: nothing we must answer
  if (!on_response(r, now, out)) {
    failed_parse_ = true;
    return false;
  }
  return true;
}

bool RtspReader::on_response(const Response& r, Clock::time_point now, std::string& out) {
  const std::string method = pending_method_;
  pending_method_.clear();
  if (method == "GET_PARAMETER") {
    if (r.status == 200) ++stats_.keepalives;
    return true;  // a server without GET_PARAMETER keeps the session for other reasons
  }
  if (r.status != 200) {
    fail(method + " answered " + std::to_string(r.status));
    return false;
  }
  if (method == "OPTIONS") {
    send("DESCRIBE", url_, "Accept: application/sdp\r\n", out);
    return true;
  }
  if (method == "DESCRIBE") return on_describe(r, out);
  if (method == "SETUP") {
    if (session_.empty()) {
      const std::string* s = r.header("Session");
      if (!s || s->empty()) {
        fail("SETUP answered without a Session");
        return false;
      }
      session_ = s->substr(0, s->find(';'));
    }
    ++setup_next_;
    if (setup_next_ < tracks_.size()) {
      const std::size_t i = setup_next_;
      send("SETUP", tracks_[i].control_url,
           "Transport: RTP/AVP/TCP;unicast;interleaved=" + std::to_string(2 * i) + "-" +
               std::to_string(2 * i + 1) + "\r\n",
           out);
    } else {
      send("PLAY", url_, "", out);
    }
    return true;
  }
  if (method == "PLAY") {
    state_ = ReaderState::kPlaying;
    stats_.play_answered = now;
    last_request_ = now;
  }
  return true;
}

bool RtspReader::on_describe(const Response& r, std::string& out) {
  std::string base = url_;
  if (const auto* b = r.header("Content-Base")) {
    base = *b;
  } else if (const auto* l = r.header("Content-Location")) {
    base = *l;
  }
  auto resolve = [&](std::string_view control) {
    if (control.empty() || control == "*") return base;
    if (starts_with_ci(control, "rtsp://") || starts_with_ci(control, "rtsps://"))
      return std::string(control);
    return base + (base.empty() || base.back() == '/' ? "" : "/") + std::string(control);
  };
  // Media sections: m=audio|video ..., with a=control and a=rtpmap.
  bool in_media = false, wanted = false, has_video = false;
  std::string_view body = r.body;
  while (!body.empty()) {
    const auto eol = body.find('\n');
    std::string_view line = trim(body.substr(0, eol));
    body = eol == std::string_view::npos ? std::string_view() : body.substr(eol + 1);
    if (line.rfind("m=", 0) == 0) {
      in_media = true;
      const std::string_view kind = line.substr(2, line.find(' ') - 2);
      wanted = kind == "video" || kind == "audio";
      if (!wanted) continue;
      tracks_.push_back({});
      tracks_.back().control_url = base;
      // Frames, drops and lag are counted on the first video track.
      tracks_.back().video = kind == "video" && !has_video;
      has_video = has_video || kind == "video";
      stats_.tracks.push_back({});
      stats_.tracks.back().media = std::string(kind);
    } else if (in_media && wanted && line.rfind("a=control:", 0) == 0) {
      tracks_.back().control_url = resolve(trim(line.substr(10)));
    } else if (in_media && wanted && line.rfind("a=rtpmap:", 0) == 0) {
      // a=rtpmap:96 H264/90000
      const auto sp = line.find(' ');
      if (sp == std::string_view::npos) continue;
      std::string_view enc = line.substr(sp + 1);
      const auto slash = enc.find('/');
      auto& ts = stats_.tracks.back();
      ts.encoding = std::string(enc.substr(0, slash));
      if (slash != std::string_view::npos)
        ts.clock_rate = static_cast<std::uint32_t>(
            std::strtoul(std::string(enc.substr(slash + 1)).c_str(), nullptr, 10));
    }
  }
  if (tracks_.empty()) {
    fail("DESCRIBE: no audio or video track in the SDP");
    return false;
  }
  for (std::size_t i = 0; i < tracks_.size(); ++i) {
    if (tracks_[i].video) {
      if (stats_.tracks[i].clock_rate > 0) video_clock_ = stats_.tracks[i].clock_rate;
      break;
    }
  }
  setup_next_ = 0;
  send("SETUP", tracks_[0].control_url, "Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n", out);
  return true;
}

void RtspReader::on_rtp(std::size_t index, std::span<const std::uint8_t> p, Clock::time_point now) {
  Track& t = tracks_[index];
  TrackStats& s = stats_.tracks[index];
  ++s.packets;
  s.bytes += p.size();
  if (p.size() < 12 || (p[0] >> 6) != 2) return;  // not RTP version 2: counted, not parsed
  const std::uint16_t seq = be16(&p[2]);
  const std::uint32_t ts = be32(&p[4]);
  const std::uint32_t ssrc = be32(&p[8]);
  const bool marker = (p[1] & 0x80) != 0;

  if (!t.have_seq || ssrc != t.ssrc) {
    if (t.have_seq) ++stats_.discontinuities;
    t.have_seq = true;
    t.ssrc = ssrc;
    t.next_seq = static_cast<std::uint16_t>(seq + 1);
  } else {
    const auto d = static_cast<std::uint16_t>(seq - t.next_seq);
    if (d == 0) {
      t.next_seq = static_cast<std::uint16_t>(seq + 1);
    } else if (d < 0x8000) {
      s.lost += d;
      if (trace_)
        std::fprintf(trace_,
                     "reader %d: %s track: %u RTP packets missing before sequence %u (RTP time "
                     "%u)\n",
                     id_, s.media.c_str(), unsigned{d}, unsigned{seq}, ts);
      ++s.gap_events;
      t.next_seq = static_cast<std::uint16_t>(seq + 1);
    } else {
      ++s.out_of_order;
    }
  }
  if (!t.video) return;

  // Payload: after the CSRCs and the header extension, before the padding.
  std::size_t off = 12 + 4 * std::size_t(p[0] & 0x0f);
  std::size_t end = p.size();
  if ((p[0] & 0x10) && off + 4 <= end) off += 4 + 4 * std::size_t(be16(&p[off + 2]));
  if ((p[0] & 0x20) && end > 0) end -= std::min<std::size_t>(end, p[end - 1]);
  const bool key = off < end && carries_keyframe(s.encoding, &p[off], end - off);

  // An access unit ends at the marker bit, or when a packet of another timestamp arrives.
  if (t.in_frame && ts != t.frame_ts) {
    on_video_frame(t.frame_ts, t.frame_key, now);
    t.in_frame = false;
  }
  if (!t.in_frame) {
    t.in_frame = true;
    t.frame_key = false;
    t.frame_ts = ts;
  }
  t.frame_key = t.frame_key || key;
  if (marker) {
    on_video_frame(ts, t.frame_key, now);
    t.in_frame = false;
  }
}

void RtspReader::on_video_frame(std::uint32_t ts, bool key, Clock::time_point now) {
  ++stats_.video_frames;
  if (key) {
    ++stats_.keyframes;
    if (stats_.first_keyframe == Clock::time_point{}) stats_.first_keyframe = now;
  }
  if (stats_.first_frame == Clock::time_point{}) stats_.first_frame = now;

  const double clock = video_clock_;
  // Unwrapped: the nearest 64-bit value to the largest timestamp so far.
  const std::int64_t ext =
      have_ts_ ? top_ts_ + static_cast<std::int32_t>(ts - static_cast<std::uint32_t>(top_ts_))
               : std::int64_t{ts};
  const bool rebase =
      !have_ts_ || static_cast<double>(std::llabs(ext - top_ts_)) > kDiscontinuityS * clock;
  if (rebase) {
    if (have_ts_) ++stats_.discontinuities;
    reorder_ = {};
    have_ordered_ = false;
    have_ts_ = true;
    top_ts_ = base_ts_ = ext;
    base_wall_ = now;
    stats_.lag_ms = stats_.min_lag_ms = 0;
    counting_ = key;
    if (counting_) reorder_.push(ext);
    return;
  }
  // The gap rule starts at a keyframe: a reader that joins mid-GOP misses frames sent before it
  // joined that are presented after the first frames it gets (B-frames), which are not drops.
  counting_ = counting_ || key;
  if (counting_) reorder_.push(ext);
  if (reorder_.size() > kReorderFrames) take_ordered();
  if (ext <= top_ts_) return;
  top_ts_ = ext;
  stats_.lag_ms =
      ms_between(base_wall_, now) - 1000.0 * static_cast<double>(top_ts_ - base_ts_) / clock;
  stats_.min_lag_ms = std::min(stats_.min_lag_ms, stats_.lag_ms);
  stats_.max_excess_lag_ms = std::max(stats_.max_excess_lag_ms, stats_.lag_ms - stats_.min_lag_ms);
}

void RtspReader::take_ordered() {
  const std::int64_t v = reorder_.top();
  reorder_.pop();
  const double interval = static_cast<double>(video_clock_) / fps_;  // ticks
  if (have_ordered_ && v > last_ordered_) {
    const double delta = static_cast<double>(v - last_ordered_);
    if (delta > kGapFactor * interval) {
      stats_.gap_dropped += static_cast<std::uint64_t>(std::llround(delta / interval) - 1);
      if (trace_)
        std::fprintf(trace_,
                     "reader %d: video frames %.2f intervals apart: RTP time %lld -> %lld (%.3f s "
                     "after the lag baseline's), after %llu frames\n",
                     id_, delta / interval, static_cast<long long>(last_ordered_),
                     static_cast<long long>(v),
                     static_cast<double>(v - base_ts_) / static_cast<double>(video_clock_),
                     static_cast<unsigned long long>(stats_.video_frames));
    }
  }
  // A frame older than one already taken out (more than 16 frames late) is not a gap.
  if (!have_ordered_ || v > last_ordered_) last_ordered_ = v;
  have_ordered_ = true;
}

std::uint64_t RtspReader::late_frames(Clock::time_point now) const {
  if (!have_ts_) return 0;
  const double interval_ms = 1000.0 / fps_;
  // The lag a frame due now would have: one interval past the largest RTP time.
  const double lag_now =
      ms_between(base_wall_, now) -
      (1000.0 * static_cast<double>(top_ts_ - base_ts_) / video_clock_ + interval_ms);
  const double excess = lag_now - stats_.min_lag_ms;
  if (excess <= std::max(kGapFactor * interval_ms, late_ms_)) return 0;
  return static_cast<std::uint64_t>(excess / interval_ms);
}

}  // namespace sluice::bench
