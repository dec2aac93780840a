#include "media/protocols/hls/hls_muxer.hpp"

#include <algorithm>
#include <utility>

#include "media/protocols/hls/segment_writer.hpp"

namespace sluice::media {

namespace {

constexpr std::size_t kMaxHeldPackets = 1024;
constexpr std::int64_t kMaxInterleaveWaitMs = 500;
// Room for TS/PES headers around a payload of n bytes (184 of every 188 bytes are payload).
std::size_t ts_size(std::size_t n) {
  return n + n / 46 + 1024;
}

Error unsupported(std::string detail) {
  return Error{415, std::move(detail), {}};
}

}  // namespace

HlsMuxer::HlsMuxer(HlsOptions options) : options_(options) {
  options_.playlist_segments = std::max<std::size_t>(1, options_.playlist_segments);
  options_.kept_segments = std::max(options_.kept_segments, options_.playlist_segments);
  options_.segment_target = std::max(options_.segment_target, std::chrono::milliseconds{1});
  options_.max_segment_bytes = std::max<std::size_t>(options_.max_segment_bytes, 64 * 1024);
  publish();
}

HlsMuxer::~HlsMuxer() = default;

std::shared_ptr<const HlsSnapshot> HlsMuxer::snapshot() const {
  std::lock_guard lock(snapshot_mutex_);
  return snapshot_;
}

std::int64_t HlsMuxer::extend(std::uint32_t timestamp) {
  if (have_ts_) {
    if (timestamp < last_raw_ts_ && last_raw_ts_ - timestamp > 0x80000000u) {
      epoch_ += std::int64_t{1} << 32;  // wrapped forward
    } else if (timestamp > last_raw_ts_ && timestamp - last_raw_ts_ > 0x80000000u) {
      return epoch_ - (std::int64_t{1} << 32) + timestamp;  // a late packet from before a wrap
    }
  }
  have_ts_ = true;
  last_raw_ts_ = timestamp;
  return epoch_ + timestamp;
}

Status HlsMuxer::reject(Error error) {
  ++stats_.packets_rejected;
  return fail(std::move(error));
}

Status HlsMuxer::fail_permanently(Error error) {
  ++stats_.packets_rejected;
  failed_ = error;
  writer_.reset();
  finished_ = true;
  publish();
  return fail(std::move(error));
}

Status HlsMuxer::push(const MediaPacket& packet) {
  if (failed_) return fail(*failed_);
  if (finished_) return fail(Error::conflict("HLS: the muxer is finished"));
  if (packet.type != tag_type::kVideo && packet.type != tag_type::kAudio) return {};
  const auto body = packet.bytes();
  if (packet.type == tag_type::kVideo) {
    auto info = inspect_video(body);
    if (!info) return reject(info.error());
    const auto codec = video_codec_of(*info);
    if (codec == VideoCodec::kNone) {
      return reject(
          unsupported("HLS: unsupported video codec " + std::string(video_codec_name(*info))));
    }
    if (info->sequence_header) return set_video_config(codec, body.subspan(info->data_offset));
    if (!is_coded_frame(*info, body)) return {};
    if (video_config_ && video_config_->codec != codec) {
      return reject(Error::bad_request("HLS: video frame of another codec than the configuration"));
    }
  } else {
    auto info = inspect_audio(body);
    if (!info) return reject(info.error());
    if (audio_codec_of(*info) == AudioCodec::kNone) {
      return reject(
          unsupported("HLS: unsupported audio codec " + std::string(audio_codec_name(*info))));
    }
    if (info->sequence_header) return set_audio_config(body);
    if (!info->coded_frame) return {};
  }
  const std::int64_t dts = extend(packet.timestamp);
  if (!writer_) return hold(packet, dts);
  return interleave(packet.type, dts, body);
}

Status HlsMuxer::interleave(std::uint8_t type, std::int64_t dts,
                            std::span<const std::uint8_t> body) {
  auto prepared = prepare(type, dts, body);
  if (!prepared) return fail(prepared.error());
  if (!*prepared) return {};  // skipped
  Prepared& p = **prepared;
  if (!stats_.has_video || !stats_.has_audio) return p.video ? write_video(p) : write_audio(p);
  (p.video ? waiting_video_ : waiting_audio_).push_back(std::move(p));
  return release_interleaved(false);
}

Status HlsMuxer::release_interleaved(bool all) {
  for (;;) {
    const bool have_video = !waiting_video_.empty(), have_audio = !waiting_audio_.empty();
    if (!have_video && !have_audio) break;
    bool video = have_video;
    if (have_video && have_audio) {
      video = waiting_video_.front().dts <= waiting_audio_.front().dts;
    } else if (!all) {
      // One stream waits: its front goes once the other stream has reached it, or once it has
      // waited too long for a stream that may have stopped.
      const auto& waiting = have_video ? waiting_video_ : waiting_audio_;
      const auto other = have_video ? last_audio_in_ : last_video_in_;
      const bool reached = other && waiting.front().dts <= *other;
      const bool too_long = waiting.back().dts - waiting.front().dts >= kMaxInterleaveWaitMs ||
                            waiting.size() >= kMaxHeldPackets;
      if (!reached && !too_long) break;
    }
    auto& from = video ? waiting_video_ : waiting_audio_;
    const Prepared p = std::move(from.front());
    from.pop_front();
    // A packet refused here was accepted by push() already: write_* counts it.
    (void)(video ? write_video(p) : write_audio(p));
    if (failed_) return fail(*failed_);
  }
  return {};
}

Status HlsMuxer::set_video_config(VideoCodec codec, std::span<const std::uint8_t> record) {
  auto config = codec == VideoCodec::kH264 ? parse_avc_config(record) : parse_hevc_config(record);
  if (!config) return reject(config.error());
  if (writer_ && !stats_.has_video) {
    ++stats_.packets_skipped;  // the muxer started without video
    return {};
  }
  if (writer_ && video_config_->codec != codec) {
    return reject(Error::bad_request("HLS: the video codec changed mid-stream"));
  }
  video_config_ = std::move(*config);
  return maybe_start(false);
}

Status HlsMuxer::set_audio_config(std::span<const std::uint8_t> body) {
  auto config = parse_audio_config(body);
  if (!config) return reject(config.error());
  if (writer_ && !stats_.has_audio) {
    ++stats_.packets_skipped;
    return {};
  }
  if (writer_ && audio_config_->codec != config->codec) {
    return reject(Error::bad_request("HLS: the audio codec changed mid-stream"));
  }
  // ADTS headers carry rate and channels, so AAC changes are fine; so are Opus ones (every
  // packet's TOC says its mode and channels).
  audio_config_ = std::move(*config);
  return maybe_start(false);
}

Status HlsMuxer::hold(const MediaPacket& packet, std::int64_t dts) {
  if (held_.empty()) {
    held_min_ = held_max_ = dts;
  } else {
    held_min_ = std::min(held_min_, dts);
    held_max_ = std::max(held_max_, dts);
  }
  held_.push_back(Held{packet.type, dts, packet.body});
  held_bytes_ += packet.body.size();
  return maybe_start(false);
}

Status HlsMuxer::maybe_start(bool now) {
  if (writer_) return {};
  const bool both = video_config_ && audio_config_;
  const bool waited = held_max_ - held_min_ >= options_.config_wait.count() ||
                      held_.size() >= kMaxHeldPackets || held_bytes_ >= options_.max_segment_bytes;
  if (!both && !waited && !now) return {};
  if (!video_config_ && !audio_config_) {
    if (waited || now) {  // frames nobody can decode: drop them and keep waiting
      stats_.packets_skipped += held_.size();
      held_.clear();
      held_bytes_ = 0;
    }
    return {};
  }
  hls::SegmentStreams streams;
  if (video_config_) {
    streams.video = video_config_->codec;
    for (const auto& set : video_config_->parameter_sets) {
      streams.video_parameter_sets += std::string("\0\0\0\1", 4);
      streams.video_parameter_sets += set;
    }
    if (auto size = picture_size(*video_config_)) {
      streams.width = size->width;
      streams.height = size->height;
    }
  }
  if (audio_config_) {
    streams.audio = audio_config_->codec;
    streams.sample_rate = audio_config_->sample_rate();
    streams.channels = audio_config_->channels();
    streams.audio_config = audio_config_->record;
  }
  const auto container = options_.variant == HlsVariant::kMpegTs ? hls::Container::kMpegTs
                                                                 : hls::Container::kFragmentedMp4;
  auto writer =
      hls::SegmentWriter::open(container, streams, options_.max_segment_bytes + ts_size(0) * 4);
  if (!writer) return fail_permanently(writer.error());
  writer_ = std::move(*writer);
  if (container == hls::Container::kFragmentedMp4) {
    inits_.push_back(
        HlsInit{++last_init_id_, std::make_shared<const std::string>(writer_->take())});
  }
  stats_.started = true;
  stats_.has_video = video_config_.has_value();
  stats_.has_audio = audio_config_.has_value();
  // Mux what was held; a packet refused now was already accepted by push(), so only count it.
  auto held = std::move(held_);
  held_.clear();
  held_bytes_ = 0;
  for (const auto& h : held) {
    const std::span<const std::uint8_t> body(reinterpret_cast<const std::uint8_t*>(h.body.data()),
                                             h.body.size());
    (void)interleave(h.type, h.dts, body);  // a refusal is counted; push() accepted the packet
    if (failed_) return fail(*failed_);
  }
  return {};
}

Result<std::optional<HlsMuxer::Prepared>> HlsMuxer::prepare(std::uint8_t type, std::int64_t dts,
                                                            std::span<const std::uint8_t> body) {
  Prepared p;
  p.video = type == tag_type::kVideo;
  p.dts = p.pts = dts;
  // Skipped: a stream the muxer started without; with video, what comes before the first
  // keyframe (the first segment starts there).
  if (!(p.video ? stats_.has_video : stats_.has_audio) ||
      (stats_.has_video && (p.video ? !first_keyframe_in_ && !inspect_video(body)->keyframe
                                    : !first_keyframe_in_ || dts < *first_keyframe_in_))) {
    ++stats_.packets_skipped;
    return std::optional<Prepared>();
  }
  auto refuse = [this](Error error) { return fail(reject(std::move(error)).error()); };
  auto& last_in = p.video ? last_video_in_ : last_audio_in_;
  if (last_in && dts <= *last_in) {
    return refuse(Error::bad_request(
        std::string("HLS: ") + (p.video ? "video" : "audio") + " DTS " + std::to_string(dts) +
        " ms is not after the previous " + std::to_string(*last_in) + " ms; packet dropped"));
  }
  if (p.video) {
    const auto info = inspect_video(body);  // checked by push() already
    if (info->composition_time < 0) {
      return refuse(Error::bad_request("HLS: negative composition time; packet dropped"));
    }
    if (auto ok =
            append_annexb(*video_config_, body.subspan(info->data_offset), info->keyframe, p.data);
        !ok) {
      return refuse(ok.error());
    }
    if (ts_size(p.data.size()) > options_.max_segment_bytes) {
      return refuse(Error::bad_request("HLS: video frame larger than max_segment_bytes"));
    }
    p.pts = dts + info->composition_time;
    p.keyframe = info->keyframe;
    if (p.keyframe && !first_keyframe_in_) first_keyframe_in_ = dts;
  } else {
    const auto raw = audio_frame_of(body, audio_config_->codec);
    if (!raw) return refuse(Error::bad_request("HLS: empty audio frame"));
    // ADTS for AAC in MPEG-TS; otherwise the raw frame or packet.
    if (writer_->container() == hls::Container::kMpegTs &&
        audio_config_->codec == AudioCodec::kAac) {
      if (auto ok = append_adts(audio_config_->aac, *raw, p.data); !ok) return refuse(ok.error());
    } else {
      p.data.assign(reinterpret_cast<const char*>(raw->data()), raw->size());
    }
    p.keyframe = true;
  }
  last_in = dts;
  return std::optional<Prepared>(std::move(p));
}

Status HlsMuxer::write_video(const Prepared& p) {
  if (!stats_.has_video) {
    ++stats_.packets_skipped;
    return {};
  }
  if (!video_started_ && !p.keyframe) {
    ++stats_.packets_skipped;
    return {};
  }
  const std::int64_t dts = p.dts;
  const bool due = p.keyframe && dts - segment_start_ >= options_.segment_target.count();
  if (auto ok = cut_if(due, dts, p.data.size()); !ok) return ok;
  if (auto ok = cut_part_if(dts); !ok) return ok;
  const std::int64_t step = last_video_dts_ ? dts - *last_video_dts_ : video_step_;
  if (auto ok = writer_->write(true, dts, p.pts, p.keyframe, p.data, step > 0 ? step : 0); !ok) {
    if (writer_->failed()) return fail_permanently(ok.error());
    return reject(ok.error());
  }
  open_part(dts, p.keyframe);
  if (!video_started_) {
    video_started_ = true;
    first_video_dts_ = dts;
  }
  if (last_video_dts_) video_step_ = dts - *last_video_dts_;
  last_video_dts_ = dts;
  media_end_ = std::max(media_end_, dts + video_step_);
  if (!segment_open_) {
    segment_open_ = true;
    segment_start_ = dts;
  }
  ++stats_.packets_muxed;
  return {};
}

Status HlsMuxer::write_audio(const Prepared& p) {
  if (!stats_.has_audio || !audio_config_) {
    ++stats_.packets_skipped;
    return {};
  }
  const std::int64_t dts = p.dts;
  if (stats_.has_video && (!video_started_ || dts < first_video_dts_)) {
    ++stats_.packets_skipped;  // the first segment starts at the first keyframe
    return {};
  }
  const bool due = !stats_.has_video && dts - segment_start_ >= options_.segment_target.count();
  if (auto ok = cut_if(due, dts, p.data.size()); !ok) return ok;
  if (!stats_.has_video) {
    if (auto ok = cut_part_if(dts); !ok) return ok;
  }
  if (auto ok = writer_->write(false, dts, dts, true, p.data); !ok) {
    if (writer_->failed()) return fail_permanently(ok.error());
    return reject(ok.error());
  }
  if (!stats_.has_video) open_part(dts, true);
  if (last_audio_dts_) audio_step_ = dts - *last_audio_dts_;
  last_audio_dts_ = dts;
  media_end_ = std::max(media_end_, dts + audio_step_);
  if (!segment_open_) {
    segment_open_ = true;
    segment_start_ = dts;
  }
  ++stats_.packets_muxed;
  return {};
}

Status HlsMuxer::cut_if(bool due, std::int64_t next_start, std::size_t incoming) {
  if (!segment_open_) return {};
  const bool full =
      parts_bytes_ + writer_->buffered() + ts_size(incoming) > options_.max_segment_bytes;
  if (!due && !full) return {};
  return close_segment(next_start);
}

bool HlsMuxer::low_latency() const {
  return options_.variant == HlsVariant::kLowLatency;
}

void HlsMuxer::open_part(std::int64_t dts, bool independent) {
  if (!low_latency() || part_open_) return;
  part_open_ = true;
  part_start_ = dts;
  part_independent_ = independent;
}

Status HlsMuxer::cut_part_if(std::int64_t next_start) {
  if (!part_open_ || next_start - part_start_ < options_.part_target.count()) return {};
  return close_part(next_start);
}

Status HlsMuxer::close_part(std::int64_t end) {
  if (auto ok = writer_->flush(); !ok) return fail_permanently(ok.error());
  auto data = std::make_shared<const std::string>(writer_->take());
  part_open_ = false;
  parts_bytes_ += data->size();
  const double duration = static_cast<double>(std::max<std::int64_t>(0, end - part_start_));
  parts_.push_back(HlsPart{duration / 1000.0, std::move(data), part_independent_});
  publish();
  return {};
}

Status HlsMuxer::close_segment(std::int64_t end) {
  std::shared_ptr<const std::string> data;
  std::vector<HlsPart> parts;
  if (low_latency()) {
    if (part_open_) {
      if (auto ok = close_part(end); !ok) return ok;
    }
    auto whole = std::make_shared<std::string>();
    whole->reserve(parts_bytes_);
    for (const auto& part : parts_)
      *whole += *part.data;
    data = std::move(whole);
    parts.swap(parts_);
    parts_bytes_ = 0;
  } else {
    if (auto ok = writer_->flush(); !ok) return fail_permanently(ok.error());
    data = std::make_shared<const std::string>(writer_->take());
  }
  writer_->resend_headers();
  segment_open_ = false;
  stats_.bytes += data->size();
  ++stats_.segments;
  const double duration = static_cast<double>(std::max<std::int64_t>(0, end - segment_start_));
  segments_.push_back(HlsSegment{next_sequence_++, duration / 1000.0, std::move(data),
                                 std::exchange(discontinuity_next_, false), last_init_id_,
                                 std::move(parts)});
  if (segments_.back().discontinuity) ++discontinuities_;
  while (segments_.size() > options_.kept_segments)
    segments_.pop_front();
  publish();
  return {};
}

Status HlsMuxer::finish() {
  if (finished_) return failed_ ? Status(fail(*failed_)) : Status{};
  if (!writer_ && !held_.empty()) {
    if (auto ok = maybe_start(true); !ok) return ok;
  }
  if (writer_) {
    if (auto ok = release_interleaved(true); !ok) return ok;
  }
  finished_ = true;
  if (writer_) {
    if (auto ok = writer_->flush(); !ok) return fail_permanently(ok.error());
    if (segment_open_) {
      if (auto ok = close_segment(std::max(media_end_, segment_start_)); !ok) return ok;
    }
    if (auto ok = writer_->close(); !ok) return fail_permanently(ok.error());
    writer_.reset();
  }
  publish();
  return {};
}

void HlsMuxer::restart() {
  (void)finish();
  const bool produced = next_sequence_ > 0;
  failed_.reset();
  finished_ = false;
  have_ts_ = false;
  last_raw_ts_ = 0;
  epoch_ = 0;
  video_config_.reset();
  audio_config_.reset();
  held_.clear();
  waiting_video_.clear();
  waiting_audio_.clear();
  last_video_in_.reset();
  last_audio_in_.reset();
  first_keyframe_in_.reset();
  held_bytes_ = 0;
  held_min_ = held_max_ = 0;
  writer_.reset();
  video_started_ = false;
  first_video_dts_ = 0;
  last_video_dts_.reset();
  last_audio_dts_.reset();
  video_step_ = audio_step_ = 0;
  media_end_ = 0;
  segment_open_ = false;
  segment_start_ = 0;
  part_open_ = false;
  parts_.clear();
  parts_bytes_ = 0;
  stats_.started = stats_.has_video = stats_.has_audio = false;
  discontinuity_next_ = produced;  // nothing before: nothing to be discontinuous with
  publish();
}

void HlsMuxer::publish() {
  auto snap = std::make_shared<HlsSnapshot>();
  std::uint64_t after_front = 0;
  for (std::size_t i = 1; i < segments_.size(); ++i)
    after_front += segments_[i].discontinuity ? 1 : 0;
  snap->discontinuity_sequence = discontinuities_ - after_front;
  snap->media_sequence = segments_.empty() ? next_sequence_ : segments_.front().sequence;
  snap->target_duration = options_.segment_target;
  snap->ended = finished_;
  snap->segments.assign(segments_.begin(), segments_.end());
  snap->variant = options_.variant;
  snap->part_target = options_.part_target;
  snap->open_sequence = next_sequence_;
  snap->open_discontinuity = discontinuity_next_;
  snap->open_init_id = last_init_id_;
  snap->open_parts = parts_;
  // The initialization sections still needed: the open segment's and the retained ones'.
  const std::uint64_t oldest = segments_.empty() ? last_init_id_ : segments_.front().init_id;
  while (!inits_.empty() && inits_.front().id < oldest)
    inits_.pop_front();
  snap->inits.assign(inits_.begin(), inits_.end());
  std::lock_guard lock(snapshot_mutex_);
  snapshot_ = std::move(snap);
}

}  // namespace sluice::media
