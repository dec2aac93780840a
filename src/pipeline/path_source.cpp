#include "pipeline/path_source.hpp"

extern "C" {
#include <libavutil/frame.h>
}

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>

#include "media/audio_config.hpp"
#include "media/codec_config.hpp"
#include "media/flv.hpp"
#include "media/transcode/video_decoder.hpp"

namespace sluice::pipeline {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kSilence = std::chrono::seconds(10);
constexpr std::size_t kDepth = 120;
constexpr std::size_t kMaxSound = 500;

// The access units between the media thread and the pipeline's.
struct Queue {
  std::mutex mutex;
  std::condition_variable ready;
  std::deque<media::PacketPtr> waiting;
  std::deque<std::chrono::steady_clock::time_point> arrived;  // when each of `waiting` came
  std::deque<media::PacketPtr> sound;  // audio, until taken (at most kMaxSound; the oldest go)
  std::optional<SourceAudio> audio;    // from the path's audio configuration (AAC or Opus)
  bool ended = false;
  bool skipping = false;  // dropped until the next keyframe
  std::uint64_t dropped = 0;

  // The media thread.
  void push(const media::PacketPtr& p) {
    if (p->type == media::tag_type::kAudio) return push_audio(p);
    if (p->type != media::tag_type::kVideo) return;
    {
      std::lock_guard lock(mutex);
      if (skipping && !p->keyframe && !p->sequence_header) {
        ++dropped;
        return;
      }
      skipping = false;
      if (waiting.size() >= kDepth) {
        dropped += waiting.size();
        waiting.clear();
        arrived.clear();
        if (!p->keyframe && !p->sequence_header) {
          skipping = true;
          ++dropped;
          return;
        }
      }
      waiting.push_back(p);
      arrived.push_back(std::chrono::steady_clock::now());
    }
    ready.notify_one();
  }
  void push_audio(const media::PacketPtr& p) {
    std::lock_guard lock(mutex);
    if (p->sequence_header) {
      auto config = media::parse_audio_config(p->bytes());
      if (config &&
          (config->codec == media::AudioCodec::kAac || config->codec == media::AudioCodec::kOpus)) {
        audio = SourceAudio{config->codec == media::AudioCodec::kOpus, config->record};
      }
      return;
    }
    if (!audio) return;
    if (sound.size() >= kMaxSound) sound.pop_front();
    sound.push_back(p);
  }
  void end() {
    {
      std::lock_guard lock(mutex);
      ended = true;
    }
    ready.notify_all();
  }
};

class PathSource final : public FrameSource {
 public:
  PathSource(std::string path, std::shared_ptr<Queue> queue, std::function<bool()> stopped)
      : path_(std::move(path)), queue_(std::move(queue)), stopped_(std::move(stopped)) {}
  ~PathSource() override {
    feed_.reset();
    av_frame_free(&frame_);
  }

  int width() const override { return frame_->width; }
  int height() const override { return frame_->height; }
  int pixel_format() const override { return frame_->format; }
  std::uint64_t dropped() const override {
    std::lock_guard lock(queue_->mutex);
    return queue_->dropped;
  }
  std::optional<SourceAudio> audio() const override {
    std::lock_guard lock(queue_->mutex);
    return queue_->audio;
  }
  void take_audio(std::vector<AudioPacket>& out) override {
    if (first_ms_ < 0) return;  // no picture yet: no clock
    std::deque<media::PacketPtr> sound;
    std::optional<SourceAudio> audio;
    {
      std::lock_guard lock(queue_->mutex);
      sound.swap(queue_->sound);
      audio = queue_->audio;
    }
    if (!audio) return;
    const auto codec = audio->opus ? media::AudioCodec::kOpus : media::AudioCodec::kAac;
    for (const auto& p : sound) {
      const std::int64_t ms = std::int64_t{p->timestamp} - first_ms_;
      auto frame = media::audio_frame_of(p->bytes(), codec);
      if (ms < 0 || !frame) continue;
      out.push_back(AudioPacket{
          ms, std::string(reinterpret_cast<const char*>(frame->data()), frame->size())});
    }
  }

  // The arrival of the packet that completed the picture handed out.
  std::optional<Clock::time_point> arrival() const override { return last_arrival_; }

  Result<AVFrame*> next(std::int64_t& ms) override {
    if (!have_frame_) {
      if (auto ok = decode_one(); !ok) return fail(ok.error());
    }
    have_frame_ = false;
    if (first_ms_ < 0) first_ms_ = frame_->pts;
    ms = frame_->pts - first_ms_;
    return frame_;
  }

  Status start(std::unique_ptr<Feed> feed) {
    feed_ = std::move(feed);
    frame_ = av_frame_alloc();
    if (!frame_) return fail(Error::internal("out of memory"));
    if (auto ok = decode_one(); !ok) return fail(ok.error());
    have_frame_ = true;
    return {};
  }

 private:
  // Feeds the decoder until a picture is in frame_.
  Status decode_one() {
    const auto deadline = Clock::now() + kSilence;
    for (;;) {
      if (decoder_) {
        auto got = decoder_->receive(frame_);
        if (!got) return fail(Error{502, "the path's video: " + got.error().detail, {}});
        if (*got) return {};
      }
      media::PacketPtr p;
      {
        std::unique_lock lock(queue_->mutex);
        queue_->ready.wait_for(lock, std::chrono::milliseconds(200),
                               [&] { return queue_->ended || !queue_->waiting.empty(); });
        if (!queue_->waiting.empty()) {
          p = std::move(queue_->waiting.front());
          queue_->waiting.pop_front();
          last_arrival_ = queue_->arrived.front();
          queue_->arrived.pop_front();
        } else if (queue_->ended) {
          return fail(Error{502, "path '" + path_ + "' ended", {}});
        }
      }
      if (stopped_()) return fail(Error::unavailable("stopping"));
      if (!p) {
        if (Clock::now() > deadline) {
          return fail(Error{502, "no video on path '" + path_ + "' for 10 s", {}});
        }
        continue;
      }
      if (auto ok = take(*p); !ok) return fail(ok.error());
    }
  }

  // One packet: a configuration (re)opens the decoder, an access unit is decoded.
  Status take(const media::MediaPacket& p) {
    auto info = media::inspect_video(p.bytes());
    if (!info || info->data_offset > p.body.size()) return {};  // not video it can read: skipped
    const auto codec = media::video_codec_of(*info);
    const auto data = p.bytes().subspan(info->data_offset);
    if (info->sequence_header) {
      if (codec == media::VideoCodec::kNone) {
        return fail(Error{415,
                          "path '" + path_ + "' carries " +
                              std::string(media::video_codec_name(*info)) +
                              " video; a pipeline decodes H.264 and H.265",
                          {}});
      }
      auto opened = media::VideoDecoder::open(codec, data);
      if (!opened) return fail(Error{502, "the path's video: " + opened.error().detail, {}});
      decoder_ = std::move(*opened);
      return {};
    }
    if (!decoder_ || !media::is_coded_frame(*info, p.bytes())) return {};
    // A damaged access unit is the publisher's; the decoder conceals it and goes on.
    (void)decoder_->send(data, std::int64_t{p.timestamp} + info->composition_time, p.keyframe);
    return {};
  }

  std::string path_;
  std::shared_ptr<Queue> queue_;
  std::function<bool()> stopped_;
  std::unique_ptr<Feed> feed_;
  std::unique_ptr<media::VideoDecoder> decoder_;
  AVFrame* frame_ = nullptr;
  bool have_frame_ = false;
  std::optional<Clock::time_point> last_arrival_;
  std::int64_t first_ms_ = -1;
};

}  // namespace

Result<std::unique_ptr<FrameSource>> open_path_source(const std::string& path, SourceFeeds& feeds,
                                                      std::function<bool()> stopped) {
  auto queue = std::make_shared<Queue>();
  auto feed = feeds.path(
      path, [queue](const media::PacketPtr& p) { queue->push(p); }, [queue] { queue->end(); });
  if (!feed) return fail(feed.error());
  auto source = std::make_unique<PathSource>(path, queue, std::move(stopped));
  if (auto ok = source->start(std::move(*feed)); !ok) return fail(ok.error());
  return std::unique_ptr<FrameSource>(std::move(source));
}

}  // namespace sluice::pipeline
