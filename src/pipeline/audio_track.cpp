#include "pipeline/audio_track.hpp"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/channel_layout.h>
}

#include <cmath>
#include <numbers>

#include "media/audio_config.hpp"
#include "media/flv.hpp"
#include "media/transcode/av_support.hpp"

namespace sluice::pipeline {
namespace av = media::av;
namespace {
constexpr int kRate = 48000;
constexpr double kLevel = 0.3;  // of full scale: a test tone, not a wall of sound
}  // namespace

struct AudioTrack::Native {
  av::CodecPtr encoder;
  av::FramePtr frame{av_frame_alloc()};
  av::PacketPtr packet{av_packet_alloc()};
  bool opus = false;
  int tone_hz = 440;
  std::int64_t made = -1;  // samples made; -1 before the first call
  std::int64_t origin_ms = 0;
};

bool AudioTrack::opus() const {
  return native_->opus;
}

std::string AudioTrack::config() const {
  const AVCodecContext* c = native_->encoder.get();
  return std::string(reinterpret_cast<const char*>(c->extradata),
                     static_cast<std::size_t>(c->extradata_size));
}

std::string flv_audio_header(bool opus, std::string_view config) {
  if (opus) return media::opus_sequence_start_body(config);
  std::string body{'\xAF', '\x00'};  // AAC, sequence header: the AudioSpecificConfig
  return body.append(config);
}

std::string flv_audio_body(bool opus, std::string_view packet) {
  if (opus) return media::opus_frame_body(packet);
  std::string body{'\xAF', '\x01'};  // AAC, a raw frame
  return body.append(packet);
}

std::string AudioTrack::flv_sequence_header() const {
  return flv_audio_header(native_->opus, config());
}

std::string AudioTrack::flv_body(const AudioPacket& packet) const {
  return flv_audio_body(native_->opus, packet.data);
}

Result<std::unique_ptr<AudioTrack>> AudioTrack::create(const AudioSpec& spec) {
  std::unique_ptr<AudioTrack> t(new AudioTrack());
  t->native_ = std::make_unique<Native>();
  Native& n = *t->native_;
  n.opus = spec.codec == "opus";
  n.tone_hz = spec.tone_hz;
  const char* name = n.opus ? "libopus" : "aac";
  const AVCodec* codec = avcodec_find_encoder_by_name(name);
  if (!codec) return fail(Error::internal(std::string("libavcodec has no ") + name + " encoder"));
  n.encoder.reset(avcodec_alloc_context3(codec));
  if (!n.encoder || !n.frame || !n.packet) return fail(Error::internal("out of memory"));
  AVCodecContext* c = n.encoder.get();
  c->sample_rate = kRate;
  c->sample_fmt = n.opus ? AV_SAMPLE_FMT_S16 : AV_SAMPLE_FMT_FLTP;
  av_channel_layout_default(&c->ch_layout, 1);
  c->bit_rate = std::int64_t{spec.bitrate_kbps} * 1000;
  c->time_base = AVRational{1, kRate};
  c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;  // the configuration in extradata, for the header
  if (int err = avcodec_open2(c, codec, nullptr); err < 0) {
    return fail(Error::invalid_field(
        {"body", "audio"}, std::string(name) + " refuses these settings: " + av::text(err)));
  }
  if (c->extradata_size <= 0)
    return fail(Error::internal(std::string(name) + ": no configuration"));
  n.frame->format = c->sample_fmt;
  n.frame->nb_samples = c->frame_size > 0 ? c->frame_size : 960;
  n.frame->sample_rate = kRate;
  av_channel_layout_copy(&n.frame->ch_layout, &c->ch_layout);
  if (av_frame_get_buffer(n.frame.get(), 0) < 0) return fail(Error::internal("out of memory"));
  return t;
}

AudioTrack::~AudioTrack() = default;

Status AudioTrack::until(std::int64_t ms, std::vector<AudioPacket>& out) {
  Native& n = *native_;
  AVCodecContext* c = n.encoder.get();
  const std::int64_t want = (ms - n.origin_ms) * kRate / 1000;
  if (n.made < 0 || want < n.made - kRate) {  // the first call, or time went back: start here
    n.origin_ms = ms;
    n.made = 0;
    return {};
  }
  const int per_frame = n.frame->nb_samples;
  while (n.made + per_frame <= want) {
    if (av_frame_make_writable(n.frame.get()) < 0) return fail(Error::internal("out of memory"));
    for (int i = 0; i < per_frame; ++i) {
      const double t = static_cast<double>(n.made + i) / kRate;
      const double v = n.tone_hz > 0 ? kLevel * std::sin(2 * std::numbers::pi * n.tone_hz * t) : 0;
      if (n.opus) {
        reinterpret_cast<std::int16_t*>(n.frame->data[0])[i] = static_cast<std::int16_t>(v * 32767);
      } else {
        reinterpret_cast<float*>(n.frame->data[0])[i] = static_cast<float>(v);
      }
    }
    n.frame->pts = n.made;
    n.made += per_frame;
    if (int err = avcodec_send_frame(c, n.frame.get()); err < 0) {
      return fail(Error::internal("audio encoder refused: " + av::text(err)));
    }
    int err;
    while ((err = avcodec_receive_packet(c, n.packet.get())) == 0) {
      out.push_back(AudioPacket{n.origin_ms + n.packet->pts * 1000 / kRate,
                                std::string(reinterpret_cast<const char*>(n.packet->data),
                                            static_cast<std::size_t>(n.packet->size))});
      av_packet_unref(n.packet.get());
    }
    if (err != AVERROR(EAGAIN)) return fail(Error::internal("audio encoder: " + av::text(err)));
  }
  return {};
}

}  // namespace sluice::pipeline
