#include "media/protocols/hls/ts_writer.hpp"

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

struct TsWriter::Context {
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

Result<std::unique_ptr<TsWriter>> TsWriter::open(const TsStreams& streams,
                                                 std::size_t max_buffered) {
  std::unique_ptr<TsWriter> writer(new TsWriter());
  writer->max_buffered_ = max_buffered;
  writer->av_ = std::make_unique<Context>();
  Context& av = *writer->av_;
  auto failure = [](std::string what, int err) {
    return fail(Error::internal("HLS: " + std::move(what) + ": " + av_error_text(err)));
  };

  int err = avformat_alloc_output_context2(&av.format, nullptr, "mpegts", nullptr);
  if (err < 0 || !av.format) return failure("mpegts muxer unavailable", err);
  auto* buffer = static_cast<unsigned char*>(av_malloc(kIoBufferBytes));
  if (!buffer) return failure("out of memory", AVERROR(ENOMEM));
  av.io = avio_alloc_context(buffer, kIoBufferBytes, 1, writer.get(), nullptr, &TsWriter::on_write,
                             nullptr);
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
    av.video_index = st->index;
  }
  if (streams.audio) {
    AVStream* st = avformat_new_stream(av.format, nullptr);
    if (!st) return failure("new audio stream", AVERROR(ENOMEM));
    st->codecpar->codec_type = AVMEDIA_TYPE_AUDIO;
    st->codecpar->codec_id = AV_CODEC_ID_AAC;
    st->codecpar->sample_rate = streams.sample_rate;
    st->codecpar->frame_size = 1024;
#if LIBAVUTIL_VERSION_INT >= AV_VERSION_INT(57, 28, 100)
    av_channel_layout_default(&st->codecpar->ch_layout, streams.channels);
#else
    st->codecpar->channels = streams.channels;
    st->codecpar->channel_layout = av_get_default_channel_layout(streams.channels);
#endif
    st->time_base = kMillis;
    av.audio_index = st->index;
  }
  err = avformat_write_header(av.format, nullptr);
  if (err < 0) return failure("mpegts header", err);
  return writer;
}

TsWriter::~TsWriter() = default;

int TsWriter::on_write(void* opaque, std::uint8_t* buf, int size) {
  auto* self = static_cast<TsWriter*>(opaque);
  if (size < 0 || self->out_.size() + static_cast<std::size_t>(size) > self->max_buffered_) {
    self->sink_failed_ = true;
    return AVERROR(ENOSPC);
  }
  self->out_.append(reinterpret_cast<const char*>(buf), static_cast<std::size_t>(size));
  return size;
}

Status TsWriter::write(bool video, std::int64_t dts_ms, std::int64_t pts_ms, bool keyframe,
                       std::string_view data) {
  if (sink_failed_ || closed_) return fail(Error::internal("HLS: MPEG-TS writer is closed"));
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
  const int err = av_write_frame(av_->format, pkt);
  pkt->data = nullptr;
  pkt->size = 0;
  if (sink_failed_) return fail(Error::internal("HLS: segment buffer full"));
  if (err < 0)
    return fail(Error::bad_request("HLS: libavformat refused the packet: " + av_error_text(err)));
  return {};
}

Status TsWriter::flush() {
  if (closed_) return {};
  av_write_frame(av_->format, nullptr);  // mpegts: write out buffered PES payloads
  avio_flush(av_->io);
  if (sink_failed_ || av_->io->error < 0) {
    sink_failed_ = true;
    return fail(Error::internal("HLS: segment buffer full"));
  }
  return {};
}

void TsWriter::resend_headers() {
  av_opt_set(av_->format->priv_data, "mpegts_flags", "+resend_headers", 0);
}

Status TsWriter::close() {
  if (closed_) return {};
  closed_ = true;
  const int err = av_write_trailer(av_->format);
  avio_flush(av_->io);
  if (sink_failed_) return fail(Error::internal("HLS: segment buffer full"));
  if (err < 0) return fail(Error::internal("HLS: mpegts trailer: " + av_error_text(err)));
  return {};
}

std::string TsWriter::take() {
  std::string data;
  data.swap(out_);
  return data;
}

}  // namespace sluice::media::hls
