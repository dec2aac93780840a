#include "media/protocols/rtsp/rtsp_media.hpp"

#include <algorithm>
#include <cstdio>

#include "core/crypto.hpp"
#include "media/audio_config.hpp"
#include "media/codec_config.hpp"
#include "media/flv.hpp"

namespace sluice::media::rtsp {
namespace {

constexpr int kVideoPayloadType = 96;
constexpr int kAudioPayloadType = 97;
constexpr std::size_t kMaxIngestTracks = 4;

std::string hex(std::string_view bytes) {
  std::string out;
  char b[3];
  for (unsigned char c : bytes) {
    std::snprintf(b, sizeof b, "%02X", c);
    out += b;
  }
  return out;
}

std::optional<std::string> unhex(std::string_view digits) {
  if (digits.size() % 2 != 0 || digits.size() > 256) return std::nullopt;
  std::string out;
  for (std::size_t i = 0; i < digits.size(); i += 2) {
    const int high = text::hex_digit(digits[i]), low = text::hex_digit(digits[i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    const int v = high * 16 + low;
    out.push_back(static_cast<char>(v));
  }
  return out;
}

std::span<const std::uint8_t> span_of(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

sdp::MediaDescription media_section(const char* kind, int pt, std::string rtpmap, std::string fmtp,
                                    int track) {
  sdp::MediaDescription m;
  m.media = kind;
  m.protocol = "RTP/AVP";
  m.formats = {std::to_string(pt)};
  m.attributes.push_back({"rtpmap", std::to_string(pt) + " " + std::move(rtpmap)});
  if (!fmtp.empty()) m.attributes.push_back({"fmtp", std::move(fmtp)});
  m.attributes.push_back({"control", "trackID=" + std::to_string(track)});
  return m;
}

}  // namespace

Result<PlayDescription> describe_path(const MediaPacket* video_config,
                                      const MediaPacket* audio_config) {
  PlayDescription out;
  sdp::SessionDescription s;
  s.origin = "- 0 0 IN IP4 127.0.0.1";
  s.name = "sluice";
  s.connection = "IN IP4 0.0.0.0";
  s.attributes.push_back({"tool", "sluice"});
  s.attributes.push_back({"control", "*"});
  if (video_config) {
    auto info = inspect_video(video_config->bytes());
    const auto name = info ? video_codec_name(*info) : std::string_view();
    if (name == "h264" || name == "hevc") {
      const auto record = video_config->bytes().subspan(info->data_offset);
      auto config = name == "h264" ? parse_avc_config(record) : parse_hevc_config(record);
      if (config) {
        PlayTrack t;
        t.video = true;
        t.payload_type = kVideoPayloadType;
        t.nal_length_size = static_cast<int>(config->nal_length_size);
        t.parameter_sets = config->parameter_sets;
        std::string fmtp = std::to_string(kVideoPayloadType);
        if (name == "h264") {
          std::string sets;
          std::string profile;
          for (const auto& ps : config->parameter_sets) {
            if (!sets.empty()) sets += ",";
            sets += crypto::base64_encode(ps);
            if (profile.empty() && !ps.empty() && (ps[0] & 0x1F) == 7 && ps.size() >= 4) {
              profile = hex(std::string_view(ps).substr(1, 3));
            }
          }
          fmtp += " packetization-mode=1";
          if (!profile.empty()) fmtp += "; profile-level-id=" + profile;
          if (!sets.empty()) fmtp += "; sprop-parameter-sets=" + sets;
        } else {
          std::string vps, sps, pps;
          for (const auto& ps : config->parameter_sets) {
            if (ps.size() < 2) continue;
            const int type = (static_cast<unsigned char>(ps[0]) >> 1) & 0x3F;
            auto& into = type == 32 ? vps : type == 33 ? sps : pps;
            if (type >= 32 && type <= 34 && into.empty()) into = crypto::base64_encode(ps);
          }
          fmtp += " sprop-vps=" + vps + "; sprop-sps=" + sps + "; sprop-pps=" + pps;
        }
        s.media.push_back(media_section("video", kVideoPayloadType,
                                        name == "h264" ? "H264/90000" : "H265/90000",
                                        std::move(fmtp), static_cast<int>(out.tracks.size())));
        out.tracks.push_back(std::move(t));
      }
    }
  }
  if (audio_config) {
    if (auto config = parse_audio_config(audio_config->bytes())) {
      PlayTrack t;
      t.payload_type = kAudioPayloadType;
      t.audio_codec = config->codec;
      t.clock_rate = config->sample_rate();
      const std::string channels = std::to_string(config->channels());
      const int track = static_cast<int>(out.tracks.size());
      if (config->codec == AudioCodec::kAac) {
        s.media.push_back(media_section(
            "audio", kAudioPayloadType,
            "MPEG4-GENERIC/" + std::to_string(t.clock_rate) + "/" + channels,
            rtp::aac_fmtp(kAudioPayloadType, span_of(config->record)), track));
        out.tracks.push_back(std::move(t));
      } else if (config->opus.channels <= 2) {
        // RFC 7587: always "opus/48000/2"; sprop-stereo says what the sender sends.
        s.media.push_back(media_section(
            "audio", kAudioPayloadType, "opus/48000/2",
            std::to_string(kAudioPayloadType) +
                (config->opus.channels == 2 ? " sprop-stereo=1" : " sprop-stereo=0"),
            track));
        out.tracks.push_back(std::move(t));
      }
    }
  }
  if (out.tracks.empty()) {
    return fail(Error{415,
                      "the path has no H.264, H.265, AAC or Opus stream RTSP can carry (yet): wait for "
                      "the publisher's codec configuration, or publish one of those codecs",
                      {}});
  }
  out.sdp = sdp::serialize(s);
  return out;
}

namespace {

// The NAL units of an AVCC/HVCC body (`length_size`-byte big-endian lengths); stops at the first
// length that runs past the end.
std::vector<std::string_view> nal_units_of(std::span<const std::uint8_t> data, int length_size) {
  std::vector<std::string_view> out;
  std::size_t at = 0;
  while (data.size() - at > static_cast<std::size_t>(length_size)) {
    std::size_t n = 0;
    for (int i = 0; i < length_size; ++i)
      n = (n << 8) | data[at + i];
    at += length_size;
    if (n == 0 || n > data.size() - at) break;
    out.emplace_back(reinterpret_cast<const char*>(&data[at]), n);
    at += n;
  }
  return out;
}

}  // namespace

void build_rtp_payloads(const MediaPacket& p, const PlayTrack& track,
                        std::vector<std::string>& out) {
  if (p.sequence_header) return;
  if (p.type == tag_type::kVideo) {
    auto info = inspect_video(p.bytes());
    if (!info || info->end_of_sequence) return;
    const auto name = video_codec_name(*info);
    if (name != "h264" && name != "hevc") return;
    const auto codec = name == "h264" ? rtp::NalCodec::kH264 : rtp::NalCodec::kH265;
    auto units = nal_units_of(p.bytes().subspan(info->data_offset), track.nal_length_size);
    if (units.empty()) return;
    if (p.keyframe && !track.parameter_sets.empty()) {
      // Players that join at this keyframe (or lost the SDP's) get the parameter sets in band.
      std::vector<std::string_view> with(track.parameter_sets.begin(), track.parameter_sets.end());
      with.insert(with.end(), units.begin(), units.end());
      units = std::move(with);
    }
    rtp::packetize_nal_units(codec, units, rtp::kMaxPayload, out);
  } else if (p.type == tag_type::kAudio) {
    const auto frame = audio_frame_of(p.bytes(), track.audio_codec);
    if (!frame) return;
    const std::string_view data(reinterpret_cast<const char*>(frame->data()), frame->size());
    if (track.audio_codec == AudioCodec::kAac) {
      rtp::packetize_aac(data, rtp::kMaxPayload, out);
    } else if (data.size() <= rtp::kMaxPayload) {
      out.emplace_back(data);  // RFC 7587: one Opus packet per RTP packet, never fragmented
    }
  }
}

// ---- record ------------------------------------------------------------------------------------

struct RtspIngest::TrackState {
  bool video = false;
  int clock_rate = 90000;
  std::optional<rtp::NalDepacketizer> nal;
  std::optional<rtp::AacDepacketizer> aac;
  std::string opus_head;  // an Opus track: RFC 7587, one packet per RTP packet
  NalToFlv h264;  // H.264 or H.265 (the name of the usual case)
  std::string asc;
  bool started = false;  // first packet seen
  std::uint32_t last_rtp = 0;
  std::int64_t extended = 0;   // RTP time since the first packet, across wraps
  std::int64_t offset_ms = 0;  // arrival of the first packet after the session's first
};

Result<std::unique_ptr<RtspIngest>> RtspIngest::from_sdp(const sdp::SessionDescription& s,
                                                         SharedByteBudget* budget) {
  std::unique_ptr<RtspIngest> ingest(new RtspIngest());
  for (const auto& m : s.media) {
    const std::string control = m.attribute("control") ? *m.attribute("control") : std::string();
    if (m.formats.empty()) continue;
    int pt = 0;
    for (char c : m.formats[0])
      pt = pt * 10 + (c >= '0' && c <= '9' ? c - '0' : 0);
    auto map = sdp::rtpmap_of(m, pt);
    const std::string what = m.media + " " + (map ? map->encoding : "payload type " + m.formats[0]);
    if (!map || m.protocol.find("RTP/") == std::string::npos) {
      ingest->ignored_.push_back(what);
      continue;
    }
    if (ingest->tracks_.size() == kMaxIngestTracks) {  // each may hold an 8 MiB access unit
      ingest->ignored_.push_back(what + " (more than " + std::to_string(kMaxIngestTracks) +
                                 " tracks)");
      continue;
    }
    auto state = std::make_shared<TrackState>();
    state->clock_rate = map->clock_rate;
    const auto fmtp = sdp::fmtp_of(m, pt);
    if (m.media == "video" && sdp::iequals(map->encoding, "H265")) {
      // RFC 7798: the parameter sets in sprop-vps, sprop-sps and sprop-pps (base64).
      state->video = true;
      state->nal.emplace(rtp::NalCodec::kH265, 8 << 20, budget);
      state->h264 = NalToFlv(VideoCodec::kHevc);
      std::vector<std::string> sets;
      for (const char* key : {"sprop-vps", "sprop-sps", "sprop-pps"}) {
        auto it = fmtp.find(key);
        std::string_view value =
            it == fmtp.end() ? std::string_view() : std::string_view(it->second);
        auto decoded = crypto::base64_decode(value.substr(0, value.find(',')));
        sets.push_back(decoded ? std::move(*decoded) : std::string());
      }
      state->h264.set_parameter_sets(std::move(sets));
    } else if (m.media == "video" && sdp::iequals(map->encoding, "H264")) {
      state->video = true;
      state->nal.emplace(rtp::NalCodec::kH264, 8 << 20, budget);
      if (auto it = fmtp.find("sprop-parameter-sets"); it != fmtp.end()) {
        std::string_view sets = it->second;
        std::string sps, pps;
        while (!sets.empty()) {
          const auto comma = sets.find(',');
          if (auto ps = crypto::base64_decode(sets.substr(0, comma)); ps && !ps->empty()) {
            const int type = static_cast<unsigned char>((*ps)[0]) & 0x1F;
            if (type == 7) sps = *ps;
            if (type == 8) pps = *ps;
          }
          sets.remove_prefix(comma == std::string_view::npos ? sets.size() : comma + 1);
        }
        state->h264.set_parameter_sets({std::move(sps), std::move(pps)});
      }
    } else if (m.media == "audio" && sdp::iequals(map->encoding, "MPEG4-GENERIC")) {
      rtp::Mpeg4GenericLayout layout;
      auto number = [&fmtp](const char* key, int fallback) {
        auto it = fmtp.find(key);
        if (it == fmtp.end()) return fallback;
        int v = 0;
        for (char c : it->second)
          v = c >= '0' && c <= '9' && v < 1000 ? v * 10 + (c - '0') : v;
        return v;
      };
      layout.size_length = number("sizelength", 13);
      layout.index_length = number("indexlength", 3);
      layout.index_delta_length = number("indexdeltalength", 3);
      auto config = fmtp.find("config");
      auto asc = config == fmtp.end() ? std::nullopt : unhex(config->second);
      if (!layout.valid() || !asc || !parse_aac_config(span_of(*asc))) {
        ingest->ignored_.push_back(what + " (its fmtp cannot be read)");
        continue;
      }
      state->aac.emplace(layout);
      state->asc = *asc;
    } else if (m.media == "audio" && sdp::iequals(map->encoding, "opus") &&
               map->clock_rate == kOpusClockRate) {
      // The rtpmap always says 2 channels (RFC 7587 7); sprop-stereo=0 declares a mono sender.
      auto stereo = fmtp.find("sprop-stereo");
      state->opus_head = opus_head(stereo != fmtp.end() && stereo->second == "0" ? 1 : 2);
    } else {
      ingest->ignored_.push_back(what);
      continue;
    }
    ingest->tracks_.push_back({control, state->video, pt, map->clock_rate});
    ingest->state_.push_back(std::move(state));
  }
  if (ingest->tracks_.empty()) {
    return fail(
        Error{415, "RTSP: no track sluiced can take (H.264 or H.265 video, AAC or Opus audio)", {}});
  }
  return ingest;
}

std::vector<IngestFrame> RtspIngest::initial_frames() {
  std::vector<IngestFrame> out;
  for (const auto& t : state_) {
    if (t->video) {
      if (auto header = t->h264.sequence_header()) out.push_back(std::move(*header));
    } else if (!t->opus_head.empty()) {
      out.push_back({tag_type::kAudio, 0, opus_sequence_start_body(t->opus_head)});
    } else {
      out.push_back({tag_type::kAudio, 0, std::string("\xAF\x00", 2) + t->asc});
    }
  }
  return out;
}

Status RtspIngest::push(std::size_t index, std::span<const std::uint8_t> bytes,
                        std::chrono::steady_clock::time_point now, std::vector<IngestFrame>& out) {
  if (index >= state_.size()) return fail(Error::bad_request("RTSP: packet for an unknown track"));
  auto packet = rtp::parse_packet(bytes);
  if (!packet) return fail(packet.error());
  TrackState& t = *state_[index];
  if (!first_arrival_) first_arrival_ = now;
  if (!t.started) {
    t.started = true;
    t.last_rtp = packet->header.timestamp;
    t.offset_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(now - *first_arrival_).count();
  }
  t.extended += static_cast<std::int32_t>(packet->header.timestamp - t.last_rtp);
  t.last_rtp = packet->header.timestamp;
  auto ms_of = [&t](std::uint32_t rtp_time) {
    const std::int64_t rtp_ext = t.extended + static_cast<std::int32_t>(rtp_time - t.last_rtp);
    return std::max<std::int64_t>(0, t.offset_ms + rtp_ext * 1000 / t.clock_rate);
  };
  if (t.video) return push_video(t, *packet, out);
  if (!t.opus_head.empty()) {
    if (packet->payload.empty()) return {};
    out.push_back({tag_type::kAudio, static_cast<std::uint32_t>(ms_of(packet->header.timestamp)),
                   opus_frame_body(std::string_view(
                       reinterpret_cast<const char*>(packet->payload.data()),
                       packet->payload.size()))});
    return {};
  }
  std::vector<rtp::AudioFrame> frames;
  Status status = t.aac->push(*packet, frames);
  for (auto& f : frames) {
    out.push_back({tag_type::kAudio, static_cast<std::uint32_t>(ms_of(f.timestamp)),
                   std::string("\xAF\x01", 2) + f.data});
  }
  return status;
}

Status RtspIngest::push_video(TrackState& t, const rtp::Packet& p, std::vector<IngestFrame>& out) {
  std::vector<rtp::NalAccessUnit> units;
  Status status = t.nal->push(p, units);
  for (auto& au : units) {
    const std::int64_t pts = std::max<std::int64_t>(
        0, t.offset_ms + (t.extended + static_cast<std::int32_t>(au.timestamp - t.last_rtp)) *
                             1000 / t.clock_rate);
    const std::vector<std::string_view> units(au.nal_units.begin(), au.nal_units.end());
    t.h264.push(units, pts, std::nullopt, au.damaged, out);
  }
  return status;
}

}  // namespace sluice::media::rtsp
