#include "player.hpp"

#include <cmath>

#include "media/flv.hpp"
#include "media/protocols/rtmp/amf0.hpp"

namespace sluice::bench {

namespace {

namespace amf0 = rtmp::amf0;

constexpr std::uint32_t kOutChunkSize = 60000;  // our own chunk size (commands are small)
constexpr std::uint32_t kWindowAck = 5000000;   // what we ask the server to acknowledge
constexpr std::uint32_t kCommandCsid = 3;
constexpr std::uint32_t kPlayCsid = 8;
constexpr double kTxnConnect = 1;
constexpr double kTxnCreateStream = 2;
constexpr double kGapFactor = 2.5;  // frame intervals tolerated between frames
constexpr double kDiscontinuityMs = 10000;

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// User Control message `event` with a 4-byte argument (and an optional second one).
rtmp::Message user_control(std::uint16_t event, std::uint32_t a, std::optional<std::uint32_t> b) {
  rtmp::Message m;
  m.csid = rtmp::kControlChunkStream;
  m.type = rtmp::msg_type::kUserControl;
  m.payload = {static_cast<std::uint8_t>(event >> 8), static_cast<std::uint8_t>(event)};
  auto put = [&](std::uint32_t v) {
    for (int sh = 24; sh >= 0; sh -= 8)
      m.payload.push_back(static_cast<std::uint8_t>(v >> sh));
  };
  put(a);
  if (b) put(*b);
  return m;
}

std::uint32_t be32(std::span<const std::uint8_t> p, std::size_t at) {
  return (std::uint32_t{p[at]} << 24) | (std::uint32_t{p[at + 1]} << 16) |
         (std::uint32_t{p[at + 2]} << 8) | p[at + 3];
}

std::string text_of(const amf0::Value* v) {
  return v && (v->type == amf0::Marker::kString || v->type == amf0::Marker::kLongString)
             ? v->string
             : std::string();
}

}  // namespace

void Player::start(std::string& out) {
  state_ = PlayerState::kHandshake;
  handshake_.start(out);
}

void Player::on_closed(std::string why) {
  if (state_ == PlayerState::kFailed || state_ == PlayerState::kClosed) return;
  state_ = state_ == PlayerState::kPlaying ? PlayerState::kClosed : PlayerState::kFailed;
  if (stats_.error.empty()) stats_.error = std::move(why);
}

void Player::fail(std::string why) {
  if (state_ == PlayerState::kFailed || state_ == PlayerState::kClosed) return;
  state_ = PlayerState::kFailed;
  if (stats_.error.empty()) stats_.error = std::move(why);
}

bool Player::on_bytes(std::span<const std::uint8_t> in, Clock::time_point now, std::string& out) {
  stats_.bytes += in.size();
  if (state_ == PlayerState::kHandshake) {
    auto used = handshake_.feed(in, out);
    if (!used) {
      fail("handshake: " + used.error().detail);
      return false;
    }
    in = in.subspan(*used);
    if (!handshake_.done()) return true;
    state_ = PlayerState::kCommands;
    // Our chunk size, then connect (what ffmpeg sends for rtmp:// input).
    writer_.write_set_chunk_size(kOutChunkSize, out);
    amf0::Properties props;
    props.push_back({"app", amf0::Value::str(target_->app)});
    props.push_back({"flashVer", amf0::Value::str("LNX 9,0,124,2")});
    props.push_back({"tcUrl", amf0::Value::str(target_->tc_url)});
    props.push_back({"fpad", amf0::Value::boolean_value(false)});
    props.push_back({"capabilities", amf0::Value::num(15)});
    props.push_back({"audioCodecs", amf0::Value::num(4071)});
    props.push_back({"videoCodecs", amf0::Value::num(252)});
    props.push_back({"videoFunction", amf0::Value::num(1)});
    const amf0::Value args[] = {amf0::Value::str("connect"), amf0::Value::num(kTxnConnect),
                                amf0::Value::object(std::move(props))};
    send_command(kCommandCsid, 0, amf0::encode(args), out);
  }
  if (in.empty()) return true;
  messages_.clear();
  auto st = reader_.feed(in, messages_);
  for (const auto& m : messages_)
    if (!on_message(m, now, out)) return false;
  if (!st) {
    fail("chunk stream: " + st.error().detail);
    return false;
  }
  if (reader_.ack_due()) writer_.write(rtmp::acknowledgement_message(reader_.take_ack()), out);
  return true;
}

bool Player::on_message(const rtmp::Message& m, Clock::time_point now, std::string& out) {
  switch (m.type) {
    case rtmp::msg_type::kSetPeerBandwidth:
      writer_.write(rtmp::window_ack_size_message(kWindowAck), out);
      return true;
    case rtmp::msg_type::kUserControl:
      if (m.payload.size() >= 6 && m.payload[0] == 0 && m.payload[1] == 6)  // PingRequest
        writer_.write(user_control(7, be32(m.payload, 2), std::nullopt), out);
      return true;
    case rtmp::msg_type::kCommandAmf0:
      return on_command(m, out);
    case rtmp::msg_type::kVideo:
      on_video(m, now);
      return true;
    case rtmp::msg_type::kAudio:
      if (!m.payload.empty() && !(m.payload.size() >= 2 && (m.payload[0] >> 4) == 10 &&
                                  m.payload[1] == 0))  // not the AAC sequence header
        ++stats_.audio_frames;
      return true;
    default:
      return true;  // chunk size, window, acknowledgements, data (onMetaData): nothing to do
  }
}

bool Player::on_command(const rtmp::Message& m, std::string& out) {
  auto values = amf0::decode_all(m.payload);
  if (!values) {
    fail("bad AMF0 command: " + values.error().detail);
    return false;
  }
  const auto& v = *values;
  if (v.empty()) return true;
  const std::string name = text_of(&v[0]);
  const double txn = v.size() > 1 && v[1].type == amf0::Marker::kNumber ? v[1].number : -1;
  if (name == "_result" && txn == kTxnConnect) {
    const amf0::Value args[] = {amf0::Value::str("createStream"),
                                amf0::Value::num(kTxnCreateStream), amf0::Value::null()};
    send_command(kCommandCsid, 0, amf0::encode(args), out);
  } else if (name == "_result" && txn == kTxnCreateStream) {
    const std::uint32_t sid = v.size() > 3 && v[3].type == amf0::Marker::kNumber
                                  ? static_cast<std::uint32_t>(v[3].number)
                                  : 1;
    const amf0::Value args[] = {amf0::Value::str("play"), amf0::Value::num(0), amf0::Value::null(),
                                amf0::Value::str(target_->name), amf0::Value::num(-2000)};
    send_command(kPlayCsid, sid, amf0::encode(args), out);
    writer_.write(user_control(3, sid, 3000), out);  // SetBufferLength 3 s, as ffmpeg does
  } else if (name == "_error") {
    const amf0::Value* info = v.size() > 3 ? &v[3] : nullptr;
    fail("_error: " + (info ? text_of(info->find("code")) + " " + text_of(info->find("description"))
                            : std::string("(no info)")));
    return false;
  } else if (name == "onStatus") {
    const amf0::Value* info = v.size() > 3 ? &v[3] : nullptr;
    const std::string code = info ? text_of(info->find("code")) : "";
    const std::string level = info ? text_of(info->find("level")) : "";
    if (code == "NetStream.Play.Start") {
      if (state_ == PlayerState::kCommands) state_ = PlayerState::kPlaying;
    } else if (level == "error" || code.find("Failed") != std::string::npos ||
               code.find("NotFound") != std::string::npos) {
      fail("onStatus " + code);
      return false;
    }
  }
  return true;  // onBWDone, |RtmpSampleAccess, UnpublishNotify, ...
}

void Player::on_video(const rtmp::Message& m, Clock::time_point now) {
  auto info = media::inspect_video(m.payload);
  if (!info || info->sequence_header || info->end_of_sequence) return;
  if (state_ == PlayerState::kCommands) state_ = PlayerState::kPlaying;  // no Play.Start seen
  ++stats_.video_frames;
  if (info->keyframe) {
    ++stats_.keyframes;
    if (stats_.first_keyframe == Clock::time_point{}) stats_.first_keyframe = now;
  }
  if (stats_.first_frame == Clock::time_point{}) stats_.first_frame = now;

  const std::uint32_t ts = m.timestamp;
  bool rebase = !have_ts_;
  if (have_ts_) {
    const std::int64_t delta = std::int64_t{std::int32_t(ts - last_ts_)};
    if (delta < 0 || static_cast<double>(delta) > kDiscontinuityMs) {
      ++stats_.discontinuities;
      rebase = true;
    } else if (static_cast<double>(delta) > kGapFactor * interval_ms_) {
      stats_.gap_dropped +=
          static_cast<std::uint64_t>(std::llround(static_cast<double>(delta) / interval_ms_) - 1);
    }
  }
  have_ts_ = true;
  last_ts_ = ts;
  if (rebase) {
    base_ts_ = ts;
    base_wall_ = now;
    stats_.lag_ms = stats_.min_lag_ms = 0;
    return;
  }
  stats_.lag_ms = ms_between(base_wall_, now) - static_cast<double>(ts - base_ts_);
  if (stats_.lag_ms < stats_.min_lag_ms) stats_.min_lag_ms = stats_.lag_ms;
  stats_.max_excess_lag_ms = std::max(stats_.max_excess_lag_ms, stats_.lag_ms - stats_.min_lag_ms);
}

std::uint64_t Player::late_frames(Clock::time_point now) const {
  if (!have_ts_) return 0;
  // The lag a frame due now would have: the next frame's stream time is last_ts + interval.
  const double lag_now =
      ms_between(base_wall_, now) - (static_cast<double>(last_ts_ - base_ts_) + interval_ms_);
  const double excess = lag_now - stats_.min_lag_ms;
  if (excess <= std::max(kGapFactor * interval_ms_, late_ms_)) return 0;
  return static_cast<std::uint64_t>(excess / interval_ms_);
}

void Player::send_command(std::uint32_t csid, std::uint32_t stream_id, const std::string& body,
                          std::string& out) {
  writer_.write(csid, 0, rtmp::msg_type::kCommandAmf0, stream_id,
                std::span(reinterpret_cast<const std::uint8_t*>(body.data()), body.size()), out);
}

}  // namespace sluice::bench
