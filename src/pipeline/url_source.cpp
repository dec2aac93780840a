#include "pipeline/url_source.hpp"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavdevice/avdevice.h>
#include <libavformat/avformat.h>
}

#include <chrono>
#include <deque>
#include <mutex>

#include "media/flv_builder.hpp"
#include "media/transcode/av_support.hpp"

namespace sluice::pipeline {
namespace av = media::av;
namespace {

Error bad_gateway(std::string what) {
  return Error{502, "the source: " + std::move(what), {}};
}

constexpr auto kSilence = std::chrono::seconds(10);
constexpr std::size_t kMaxSound = 500;  // audio packets kept for the taker (about 10 s of AAC)

// The AudioSpecificConfig of ADTS AAC (MPEG-TS: SRT, HLS) from what libavformat's parser read of
// its headers: the object type ADTS can say (HE-AAC rides as LC with implicit SBR), the sample
// rate's index, the channels. Empty when they do not fit an ADTS header.
std::string adts_audio_config(const AVCodecParameters& par) {
  static constexpr int kRates[] = {96000, 88200, 64000, 48000, 44100, 32000, 24000,
                                   22050, 16000, 12000, 11025, 8000,  7350};
  unsigned index = 0;
  while (index < std::size(kRates) && kRates[index] != par.sample_rate)
    ++index;
  const int channels = par.ch_layout.nb_channels;
  if (index == std::size(kRates) || channels < 1 || channels > 7) return {};
  unsigned object_type = 2;  // LC
  if (par.profile == FF_PROFILE_AAC_MAIN) object_type = 1;
  if (par.profile == FF_PROFILE_AAC_SSR) object_type = 3;
  if (par.profile == FF_PROFILE_AAC_LTP) object_type = 4;
  return {static_cast<char>((object_type << 3) | (index >> 1)),
          static_cast<char>(((index & 1) << 7) | (static_cast<unsigned>(channels) << 3))};
}

}  // namespace

bool is_pullable_url(const std::string& url) {
  for (const char* scheme :
       {"rtsp://", "rtsps://", "rtmp://", "rtmps://", "srt://", "http://", "https://"}) {
    if (url.starts_with(scheme)) return true;
  }
  return false;
}

struct UrlSource::Native {
  AVFormatContext* input = nullptr;
  AVCodecContext* decoder = nullptr;
  AVFrame* frame = av_frame_alloc();
  AVPacket* packet = av_packet_alloc();
  int stream = -1;
  int audio_stream = -1;  // AAC or Opus with its configuration, copied
  std::optional<SourceAudio> audio;
  bool adts = false;             // the AAC comes ADTS-framed (MPEG-TS): headers taken off
  media::AdtsToFlv adts_frames;  // … by this
  std::vector<media::FlvFrame> adts_out;
  std::deque<AudioPacket> sound;       // times in ms of the source's clock, until taken
  std::int64_t origin_ms = INT64_MIN;  // the first picture's time: the pictures' clock's zero
  std::function<bool()> stopped;
  std::chrono::steady_clock::time_point last_read = std::chrono::steady_clock::now();
  std::int64_t first_pts = AV_NOPTS_VALUE;
  bool have_frame = false;  // open() decoded one that next() has not handed out yet
  // When the last video packet was read: the arrival of the picture it completes.
  std::optional<std::chrono::steady_clock::time_point> packet_arrived;

  ~Native() {
    av_packet_free(&packet);
    av_frame_free(&frame);
    avcodec_free_context(&decoder);
    avformat_close_input(&input);
  }

  // One audio packet at `ms` for the taker: raw AAC or Opus as it came, or ADTS frames' bodies
  // (a packet that is not ADTS is left out).
  void keep_sound(std::int64_t ms, std::string_view data) {
    auto keep = [this](std::int64_t at, std::string bytes) {
      if (sound.size() >= kMaxSound) sound.pop_front();  // nobody takes it: the oldest go
      sound.push_back(AudioPacket{at, std::move(bytes)});
    };
    if (!adts) return keep(ms, std::string(data));
    adts_out.clear();
    (void)adts_frames.push(data, ms, adts_out);  // what parsed before a bad frame is kept
    for (auto& f : adts_out) {
      if (f.body.size() > 2 && f.body[1] == 1) keep(f.timestamp, f.body.substr(2));
    }
  }

  // Decodes until a picture is in `frame`.
  Status decode_one() {
    for (;;) {
      int err = avcodec_receive_frame(decoder, frame);
      if (err == 0) return {};
      if (err != AVERROR(EAGAIN)) return fail(bad_gateway("cannot decode: " + av::text(err)));
      last_read = std::chrono::steady_clock::now();
      err = av_read_frame(input, packet);
      if (err < 0) {
        if (stopped()) return fail(Error::unavailable("stopping"));
        return fail(bad_gateway(err == AVERROR_EOF ? "the stream ended" : av::text(err)));
      }
      if (packet->stream_index == stream) packet_arrived = std::chrono::steady_clock::now();
      if (packet->stream_index == audio_stream && packet->pts != AV_NOPTS_VALUE) {
        keep_sound(
            av_rescale_q(packet->pts, input->streams[audio_stream]->time_base, AVRational{1, 1000}),
            std::string_view(reinterpret_cast<const char*>(packet->data),
                             static_cast<std::size_t>(packet->size)));
      }
      if (packet->stream_index == stream) {
        err = avcodec_send_packet(decoder, packet);
        if (err < 0 && err != AVERROR(EAGAIN) && err != AVERROR_INVALIDDATA) {
          av_packet_unref(packet);
          return fail(bad_gateway("cannot decode: " + av::text(err)));
        }
      }
      av_packet_unref(packet);
    }
  }
};

Result<std::unique_ptr<UrlSource>> UrlSource::open_device(const std::string& device, int width,
                                                          int height, int fps,
                                                          std::function<bool()> stopped) {
  static std::once_flag registered;
  std::call_once(registered, [] { avdevice_register_all(); });
  const AVInputFormat* v4l2 = av_find_input_format("v4l2");
  if (!v4l2) return fail(Error::internal("libavdevice has no V4L2 input here"));
  AVDictionary* options = nullptr;
  if (width > 0 && height > 0) {
    av_dict_set(&options, "video_size",
                (std::to_string(width) + "x" + std::to_string(height)).c_str(), 0);
  }
  if (fps > 0) av_dict_set(&options, "framerate", std::to_string(fps).c_str(), 0);
  return open_input(device, v4l2, options, std::move(stopped));
}

Result<std::unique_ptr<UrlSource>> UrlSource::open(const std::string& url,
                                                   std::function<bool()> stopped) {
  if (!is_pullable_url(url)) return fail(Error::bad_request("not a URL a pipeline can pull"));
  AVDictionary* options = nullptr;
  if (url.starts_with("rtsp")) av_dict_set(&options, "rtsp_transport", "tcp", 0);
  av_dict_set(&options, "rw_timeout", "10000000", 0);  // µs
  return open_input(url, nullptr, options, std::move(stopped));
}

Result<std::unique_ptr<UrlSource>> UrlSource::open_input(const std::string& what,
                                                         const AVInputFormat* format,
                                                         AVDictionary* options,
                                                         std::function<bool()> stopped) {
  const std::string& url = what;
  std::unique_ptr<UrlSource> s(new UrlSource());
  s->native_ = std::make_unique<Native>();
  Native& n = *s->native_;
  n.stopped = std::move(stopped);
  n.input = avformat_alloc_context();
  if (!n.input || !n.frame || !n.packet) return fail(Error::internal("out of memory"));
  n.input->interrupt_callback.callback = [](void* opaque) -> int {
    auto* native = static_cast<Native*>(opaque);
    return native->stopped() || std::chrono::steady_clock::now() - native->last_read > kSilence;
  };
  n.input->interrupt_callback.opaque = &n;
  n.last_read = std::chrono::steady_clock::now();
  int err = avformat_open_input(&n.input, url.c_str(), format, &options);
  av_dict_free(&options);
  if (err < 0) {
    n.input = nullptr;  // avformat_open_input frees it on failure
    return fail(
        bad_gateway("cannot open " + (format ? url + ": " : std::string()) + av::text(err)));
  }
  n.last_read = std::chrono::steady_clock::now();
  if ((err = avformat_find_stream_info(n.input, nullptr)) < 0) {
    return fail(bad_gateway("cannot read: " + av::text(err)));
  }
  const AVCodec* codec = nullptr;
  n.stream = av_find_best_stream(n.input, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
  if (n.stream < 0 || !codec) return fail(bad_gateway("no video it can decode"));
  n.decoder = avcodec_alloc_context3(codec);
  if (!n.decoder) return fail(Error::internal("out of memory"));
  avcodec_parameters_to_context(n.decoder, n.input->streams[n.stream]->codecpar);
  n.decoder->thread_count = 1;
  // The sound, copied when it is AAC or Opus with its configuration (RTSP and RTMP give it), or
  // ADTS AAC (MPEG-TS over SRT or HLS), its configuration from its headers.
  const int a = av_find_best_stream(n.input, AVMEDIA_TYPE_AUDIO, -1, n.stream, nullptr, 0);
  if (a >= 0) {
    const AVCodecParameters* par = n.input->streams[a]->codecpar;
    const bool aac = par->codec_id == AV_CODEC_ID_AAC, opus = par->codec_id == AV_CODEC_ID_OPUS;
    if ((aac || opus) && par->extradata_size > 0) {
      n.audio_stream = a;
      n.audio = SourceAudio{opus, std::string(reinterpret_cast<const char*>(par->extradata),
                                              static_cast<std::size_t>(par->extradata_size))};
    } else if (aac) {
      if (std::string config = adts_audio_config(*par); !config.empty()) {
        n.audio_stream = a;
        n.adts = true;
        n.audio = SourceAudio{false, std::move(config)};
      }
    }
  }
  if ((err = avcodec_open2(n.decoder, codec, nullptr)) < 0) {
    return fail(bad_gateway("cannot decode " + std::string(codec->name) + ": " + av::text(err)));
  }
  if (auto ok = n.decode_one(); !ok) return fail(ok.error());
  n.have_frame = true;
  return s;
}

UrlSource::~UrlSource() = default;

int UrlSource::width() const {
  return native_->frame->width;
}
int UrlSource::height() const {
  return native_->frame->height;
}
int UrlSource::pixel_format() const {
  return native_->frame->format;
}

Result<AVFrame*> UrlSource::next(std::int64_t& ms) {
  Native& n = *native_;
  if (!n.have_frame) {
    av_frame_unref(n.frame);
    if (auto ok = n.decode_one(); !ok) return fail(ok.error());
  }
  n.have_frame = false;
  std::int64_t pts = n.frame->best_effort_timestamp;
  if (pts == AV_NOPTS_VALUE) pts = 0;
  const AVRational tb = n.input->streams[n.stream]->time_base;
  if (n.first_pts == AV_NOPTS_VALUE) {
    n.first_pts = pts;
    n.origin_ms = av_rescale_q(pts, tb, AVRational{1, 1000});
  }
  ms = av_rescale_q(pts - n.first_pts, tb, AVRational{1, 1000});
  return n.frame;
}

std::optional<std::chrono::steady_clock::time_point> UrlSource::arrival() const {
  return native_->packet_arrived;
}

std::optional<SourceAudio> UrlSource::audio() const {
  return native_->audio;
}

void UrlSource::take_audio(std::vector<AudioPacket>& out) {
  Native& n = *native_;
  if (n.origin_ms == INT64_MIN) return;  // no picture yet: kept until there is a clock
  for (auto& p : n.sound) {
    p.ms -= n.origin_ms;
    if (p.ms >= 0) out.push_back(std::move(p));
  }
  n.sound.clear();
}

}  // namespace sluice::pipeline
