#include "pipeline/push_output.hpp"

extern "C" {
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
}

#include <spdlog/spdlog.h>

#include "core/thread_name.hpp"
#include "media/flv_builder.hpp"
#include "media/transcode/av_support.hpp"

namespace sluice::pipeline {
namespace av = media::av;
namespace {

constexpr std::size_t kMaxQueuedBytes = 4 * 1024 * 1024;

// The muxer a URL's scheme takes.
const char* format_of(const std::string& url) {
  if (url.starts_with("rtmp://") || url.starts_with("rtmps://")) return "flv";
  if (url.starts_with("srt://")) return "mpegts";
  if (url.starts_with("rtsp://") || url.starts_with("rtsps://")) return "rtsp";
  return nullptr;
}

// The parameter sets of a keyframe access unit (H.264 SPS, PPS; H.265 VPS, SPS, PPS), as
// Annex B: the stream's extradata.
std::string parameter_sets(const std::string& annexb, bool hevc) {
  std::string out;
  for (auto nal : media::annexb_nal_units(annexb)) {
    if (nal.empty()) continue;
    const int type = hevc ? (nal[0] >> 1) & 0x3F : nal[0] & 0x1F;
    if (hevc ? (type >= 32 && type <= 34) : (type == 7 || type == 8)) {
      out.append("\0\0\0\1", 4);
      out.append(nal);
    }
  }
  return out;
}

}  // namespace

PushOutput::PushOutput(std::string url, int width, int height, int fps, bool hevc,
                       std::optional<SourceAudio> audio)
    : url_(std::move(url)),
      width_(width),
      height_(height),
      fps_(fps),
      hevc_(hevc),
      audio_(std::move(audio)) {
  state_.state = "connecting";
  state_.target = redacted_url(url_);
  const auto host = state_.target.find("://");
  std::string label = "push:";
  if (host != std::string::npos) label += state_.target.substr(host + 3);
  thread_ = std::thread([this, label] {
    name_this_thread(label);
    run();
  });
}

PushOutput::~PushOutput() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void PushOutput::write_audio(const AudioPacket& packet) {
  if (!audio_) return;
  std::lock_guard lock(mutex_);
  if (waiting_keyframe_ || queued_bytes_ + packet.data.size() > kMaxQueuedBytes) return;
  queued_bytes_ += packet.data.size();
  queue_.emplace_back(EncodedUnit{packet.data, packet.ms, packet.ms, false, true},
                      std::chrono::steady_clock::now());
  wake_.notify_one();
}

void PushOutput::write(const EncodedUnit& unit) {
  std::lock_guard lock(mutex_);
  if (waiting_keyframe_) {
    if (!unit.keyframe) return;
    waiting_keyframe_ = false;
  }
  if (queued_bytes_ + unit.annexb.size() > kMaxQueuedBytes) {
    // The server does not keep up: what waits goes, sending resumes at the next keyframe.
    state_.dropped += queue_.size() + 1;
    queue_.clear();
    queued_bytes_ = 0;
    waiting_keyframe_ = !unit.keyframe;
    if (waiting_keyframe_) return;
  }
  queued_bytes_ += unit.annexb.size();
  queue_.emplace_back(unit, std::chrono::steady_clock::now());
  wake_.notify_one();
}

PushOutput::State PushOutput::state() const {
  std::lock_guard lock(mutex_);
  State s = state_;
  s.queued = queue_.size();
  return s;
}

void PushOutput::run() {
  auto backoff = std::chrono::seconds(1);
  for (;;) {
    const Status pushed = push_until_error();
    std::unique_lock lock(mutex_);
    if (stopping_) break;
    state_.state = "retrying";
    state_.error = pushed ? "the connection ended" : pushed.error().detail;
    ++state_.reconnects;
    spdlog::warn("pipeline push to {}: {}; again in {} s", state_.target, state_.error,
                 backoff.count());
    if (wake_.wait_for(lock, backoff, [this] { return stopping_; })) break;
    backoff = std::min<std::chrono::seconds>(backoff * 2, std::chrono::seconds(30));
    queue_.clear();  // start again at a keyframe
    queued_bytes_ = 0;
    waiting_keyframe_ = true;
    state_.state = "connecting";
  }
  std::lock_guard lock(mutex_);
  state_.state = "stopped";
}

Status PushOutput::push_until_error() {
  // The first access unit (a keyframe: the queue starts at one) gives the parameter sets.
  EncodedUnit first;
  {
    std::unique_lock lock(mutex_);
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return {};
    first = queue_.front().first;
  }
  const char* format = format_of(url_);
  if (!format) return fail(Error::bad_request("not an rtmp://, rtmps://, srt:// or rtsp:// URL"));
  AVFormatContext* oc = nullptr;
  int err = avformat_alloc_output_context2(&oc, nullptr, format, url_.c_str());
  if (err < 0 || !oc)
    return fail(Error::internal("cannot make a " + std::string(format) + " muxer"));
  struct Closer {
    AVFormatContext* oc;
    bool header = false;
    ~Closer() {
      if (header) av_write_trailer(oc);
      if (oc->pb && !(oc->oformat->flags & AVFMT_NOFILE)) avio_closep(&oc->pb);
      avformat_free_context(oc);
    }
  } closer{oc};
  // Blocking network calls give up when the output stops.
  oc->interrupt_callback.callback = [](void* self) -> int {
    auto* push = static_cast<PushOutput*>(self);
    std::lock_guard lock(push->mutex_);
    return push->stopping_ ? 1 : 0;
  };
  oc->interrupt_callback.opaque = this;
  AVStream* stream = avformat_new_stream(oc, nullptr);
  stream->time_base = AVRational{1, 1000};
  stream->codecpar->codec_type = AVMEDIA_TYPE_VIDEO;
  stream->codecpar->codec_id = hevc_ ? AV_CODEC_ID_HEVC : AV_CODEC_ID_H264;
  stream->codecpar->width = width_;
  stream->codecpar->height = height_;
  stream->avg_frame_rate = AVRational{fps_, 1};
  const std::string sets = parameter_sets(first.annexb, hevc_);
  stream->codecpar->extradata =
      static_cast<uint8_t*>(av_mallocz(sets.size() + AV_INPUT_BUFFER_PADDING_SIZE));
  stream->codecpar->extradata_size = static_cast<int>(sets.size());
  std::memcpy(stream->codecpar->extradata, sets.data(), sets.size());
  AVStream* sound = nullptr;  // the audio stream, when carried
  if (audio_ && !(audio_->opus && std::string_view(format) == "flv")) {
    sound = avformat_new_stream(oc, nullptr);
    sound->time_base = AVRational{1, 1000};
    sound->codecpar->codec_type = AVMEDIA_TYPE_AUDIO;
    sound->codecpar->codec_id = audio_->opus ? AV_CODEC_ID_OPUS : AV_CODEC_ID_AAC;
    sound->codecpar->sample_rate = 48000;
    av_channel_layout_default(&sound->codecpar->ch_layout, 1);
    sound->codecpar->frame_size = audio_->opus ? 960 : 1024;
    sound->codecpar->extradata =
        static_cast<uint8_t*>(av_mallocz(audio_->config.size() + AV_INPUT_BUFFER_PADDING_SIZE));
    sound->codecpar->extradata_size = static_cast<int>(audio_->config.size());
    std::memcpy(sound->codecpar->extradata, audio_->config.data(), audio_->config.size());
  }
  AVDictionary* options = nullptr;
  av_dict_set(&options, "rw_timeout", "5000000", 0);  // µs: a server that stops answering
  if (!(oc->oformat->flags & AVFMT_NOFILE)) {
    err = avio_open2(&oc->pb, url_.c_str(), AVIO_FLAG_WRITE, &oc->interrupt_callback, &options);
    if (err < 0) {
      av_dict_free(&options);
      return fail(Error{502, "cannot connect: " + av::text(err), {}});
    }
  }
  err = avformat_write_header(oc, &options);
  av_dict_free(&options);
  if (err < 0) return fail(Error{502, "the server refused the stream: " + av::text(err), {}});
  closer.header = true;
  {
    std::lock_guard lock(mutex_);
    state_.state = "pushing";
    state_.error.clear();
  }
  const av::PacketPtr owned(av_packet_alloc());
  AVPacket* packet = owned.get();
  for (;;) {
    EncodedUnit unit;
    std::chrono::steady_clock::time_point queued_at;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return {};
      unit = std::move(queue_.front().first);
      queued_at = queue_.front().second;
      queue_.pop_front();
      queued_bytes_ -= std::min(queued_bytes_, unit.annexb.size());
    }
    if ((err = av_new_packet(packet, static_cast<int>(unit.annexb.size()))) < 0) {
      return fail(Error::internal("out of memory"));
    }
    std::memcpy(packet->data, unit.annexb.data(), unit.annexb.size());
    packet->pts = unit.pts_ms;
    packet->dts = unit.dts_ms;
    AVStream* to = unit.audio ? sound : stream;
    if (!to) {  // audio this output does not carry
      av_packet_unref(packet);
      continue;
    }
    packet->stream_index = to->index;
    if (unit.keyframe || unit.audio) packet->flags |= AV_PKT_FLAG_KEY;
    av_packet_rescale_ts(packet, AVRational{1, 1000}, to->time_base);
    err = av_interleaved_write_frame(oc, packet);
    av_packet_unref(packet);
    if (err < 0) return fail(Error{502, "sending failed: " + av::text(err), {}});
    std::lock_guard lock(mutex_);
    ++state_.sent;
    state_.latency_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - queued_at)
            .count();
  }
}

}  // namespace sluice::pipeline
