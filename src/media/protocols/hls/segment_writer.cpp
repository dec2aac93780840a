#include "media/protocols/hls/segment_writer.hpp"

#include <cstring>

extern "C" {
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
}

namespace sluice::media::hls {

namespace {

constexpr int kIoBufferBytes = 188 * 64;
constexpr AVRational kMillis{1, 1000};

std::string av_error_text(int err) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(err, buf, sizeof buf);
  return buf;
}

}  // namespace

struct SegmentWriter::Context {
  AVFormatContext* format = nullptr;
  AVIOContext* io = nullptr;
  AVPacket* packet = nullptr;
  int video_index = -1;
  int audio_index = -1;

  ~Context() {
    if (format) avformat_free_context(format);  // runs the muxer's deinit; pb is ours
    if (io) {
      av_freep(&io->buffer);
      avio_context_free(&io);
    }
    av_packet_free(&packet);
  }
};

namespace {

// Copies `bytes` into codec extradata (libav owns and frees it).
bool set_extradata(AVCodecParameters* par, const std::string& bytes) {
  if (bytes.empty()) return true;
  par->extradata =
      static_cast<std::uint8_t*>(av_mallocz(bytes.size() + AV_INPUT_BUFFER_PADDING_SIZE));
  if (!par->extradata) return false;
  std::memcpy(par->extradata, bytes.data(), bytes.size());
  par->extradata_size = static_cast<int>(bytes.size());
  return true;
}

}  // namespace

Result<std::unique_ptr<SegmentWriter>> SegmentWriter::open(Container container,
                                                           const SegmentStreams& streams,
                                                           std::size_t max_buffered) {
  // libav's own warnings (stderr) stay out of sluiced's log; its errors come back as values.
  if (av_log_get_level() > AV_LOG_ERROR) av_log_set_level(AV_LOG_ERROR);
  std::unique_ptr<SegmentWriter> writer(new SegmentWriter());
  writer->container_ = container;
  const bool mp4 = container == Container::kFragmentedMp4;
  writer->max_buffered_ = max_buffered;
  writer->av_ = std::make_unique<Context>();
  Context& av = *writer->av_;
  auto failure = [](std::string what, int err) {
    return fail(Error::internal("HLS: " + std::move(what) + ": " + av_error_text(err)));
  };

  int err = avformat_alloc_output_context2(&av.format, nullptr, mp4 ? "mp4" : "mpegts", nullptr);
  if (err < 0 || !av.format)
    return failure(mp4 ? "mp4 muxer unavailable" : "mpegts muxer unavailable", err);
  auto* buffer = static_cast<unsigned char*>(av_malloc(kIoBufferBytes));
  if (!buffer) return failure("out of memory", AVERROR(ENOMEM));
  av.io = avio_alloc_context(buffer, kIoBufferBytes, 1, writer.get(), nullptr,
                             &SegmentWriter::on_write, nullptr);
  if (!av.io) {
    av_free(buffer);
    return failure("out of memory", AVERROR(ENOMEM));
  }
  av.format->pb = av.io;
  av.format->flags |= AVFMT_FLAG_CUSTOM_IO;
  av.format->flags &= ~AVFMT_FLAG_AUTO_BSF;  // packets arrive as Annex B / ADTS already
  av.packet = av_packet_alloc();
  if (!av.packet) return failure("out of memory", AVERROR(ENOMEM));

  if (streams.video != VideoCodec::kNone) {
    AVStream* st = avformat_new_stream(av.format, nullptr);
    if (!st) return failure("new video stream", AVERROR(ENOMEM));
    st->codecpar->codec_type = AVMEDIA_TYPE_VIDEO;
    st->codecpar->codec_id =
        streams.video == VideoCodec::kH264 ? AV_CODEC_ID_H264 : AV_CODEC_ID_HEVC;
    st->time_base = kMillis;
    if (mp4) {
      st->codecpar->width = streams.width;
      st->codecpar->height = streams.height;
      if (!set_extradata(st->codecpar, streams.video_parameter_sets)) {
        return failure("out of memory", AVERROR(ENOMEM));
      }
    }
    av.video_index = st->index;
  }
  if (streams.audio != AudioCodec::kNone) {
    const bool opus = streams.audio == AudioCodec::kOpus;
    AVStream* st = avformat_new_stream(av.format, nullptr);
    if (!st) return failure("new audio stream", AVERROR(ENOMEM));
    st->codecpar->codec_type = AVMEDIA_TYPE_AUDIO;
    st->codecpar->codec_id = opus ? AV_CODEC_ID_OPUS : AV_CODEC_ID_AAC;
    st->codecpar->sample_rate = streams.sample_rate;
    st->codecpar->frame_size = opus ? 960 : 1024;
#if LIBAVUTIL_VERSION_INT >= AV_VERSION_INT(57, 28, 100)
    av_channel_layout_default(&st->codecpar->ch_layout, streams.channels);
#else
    st->codecpar->channels = streams.channels;
    st->codecpar->channel_layout = av_get_default_channel_layout(streams.channels);
#endif
    st->time_base = kMillis;
    if ((mp4 || opus) && !set_extradata(st->codecpar, streams.audio_config)) {
      return failure("out of memory", AVERROR(ENOMEM));
    }
    av.audio_index = st->index;
  }
  AVDictionary* options = nullptr;
  if (mp4) {
    // Fragments only when flush() says so; the moov (no samples) is written at once as the
    // initialization section; each fragment's times are relative to its own moof.
    av_dict_set(&options, "movflags", "frag_custom+empty_moov+default_base_moof+skip_trailer", 0);
  }
  err = avformat_write_header(av.format, &options);
  av_dict_free(&options);
  if (err < 0) return failure(mp4 ? "mp4 header" : "mpegts header", err);
  avio_flush(av.io);
  return writer;
}

SegmentWriter::~SegmentWriter() = default;

int SegmentWriter::on_write(void* opaque, std::uint8_t* buf, int size) {
  auto* self = static_cast<SegmentWriter*>(opaque);
  if (size < 0 || self->out_.size() + static_cast<std::size_t>(size) > self->max_buffered_) {
    self->sink_failed_ = true;
    return AVERROR(ENOSPC);
  }
  self->out_.append(reinterpret_cast<const char*>(buf), static_cast<std::size_t>(size));
  return size;
}

Status SegmentWriter::write(bool video, std::int64_t dts_ms, std::int64_t pts_ms, bool keyframe,
                            std::string_view data, std::int64_t video_duration_ms) {
  if (sink_failed_ || closed_) return fail(Error::internal("HLS: the segment writer is closed"));
  const int index = video ? av_->video_index : av_->audio_index;
  if (index < 0) return fail(Error::bad_request("HLS: no such stream in the muxer"));
  AVStream* st = av_->format->streams[index];
  AVPacket* pkt = av_->packet;
  av_packet_unref(pkt);
  pkt->data = reinterpret_cast<std::uint8_t*>(const_cast<char*>(data.data()));
  pkt->size = static_cast<int>(data.size());
  pkt->stream_index = index;
  pkt->dts = av_rescale_q(dts_ms, kMillis, st->time_base);
  pkt->pts = av_rescale_q(pts_ms, kMillis, st->time_base);
  pkt->flags = keyframe ? AV_PKT_FLAG_KEY : 0;
  if (video) {
    pkt->duration = av_rescale_q(video_duration_ms, kMillis, st->time_base);
  } else if (st->codecpar->codec_id == AV_CODEC_ID_OPUS) {
    const unsigned samples =
        opus_packet_samples({reinterpret_cast<const std::uint8_t*>(data.data()), data.size()});
    pkt->duration = av_rescale_q(samples, AVRational{1, kOpusClockRate}, st->time_base);
  } else if (st->codecpar->sample_rate > 0) {
    pkt->duration = av_rescale_q(1024, AVRational{1, st->codecpar->sample_rate}, st->time_base);
  }
  const int err = av_write_frame(av_->format, pkt);
  pkt->data = nullptr;
  pkt->size = 0;
  if (sink_failed_) return fail(Error::internal("HLS: segment buffer full"));
  if (err < 0)
    return fail(Error::bad_request("HLS: libavformat refused the packet: " + av_error_text(err)));
  return {};
}

Status SegmentWriter::flush() {
  if (closed_) return {};
  // mpegts: writes out buffered PES payloads; mp4 (frag_custom): writes a fragment.
  av_write_frame(av_->format, nullptr);
  avio_flush(av_->io);
  if (sink_failed_ || av_->io->error < 0) {
    sink_failed_ = true;
    return fail(Error::internal("HLS: segment buffer full"));
  }
  return {};
}

void SegmentWriter::resend_headers() {
  if (container_ != Container::kMpegTs) return;
  av_opt_set(av_->format->priv_data, "mpegts_flags", "+resend_headers", 0);
}

Status SegmentWriter::close() {
  if (closed_) return {};
  closed_ = true;
  const int err = av_write_trailer(av_->format);
  avio_flush(av_->io);
  if (sink_failed_) return fail(Error::internal("HLS: segment buffer full"));
  if (err < 0) return fail(Error::internal("HLS: trailer: " + av_error_text(err)));
  return {};
}

std::string SegmentWriter::take() {
  std::string data;
  data.swap(out_);
  return data;
}

}  // namespace sluice::media::hls
