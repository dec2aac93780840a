#include "media/transcode/aac_to_opus.hpp"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>
}

#include "media/audio_config.hpp"

namespace sluice::media {

struct AacToOpus::Native {
  AVCodecContext* decoder = nullptr;
  AVCodecContext* encoder = nullptr;
  SwrContext* resampler = nullptr;
  AVAudioFifo* fifo = nullptr;
  AVFrame* decoded = nullptr;
  AVFrame* chunk = nullptr;
  AVPacket* packet = nullptr;
  std::int64_t base_ms = -1;     // the time of sample 0 of the current run
  std::int64_t samples_in = 0;   // 48 kHz samples resampled since base_ms
  std::int64_t samples_out = 0;  // 48 kHz samples encoded since base_ms
  ~Native() {
    avcodec_free_context(&decoder);
    avcodec_free_context(&encoder);
    swr_free(&resampler);
    if (fifo) av_audio_fifo_free(fifo);
    av_frame_free(&decoded);
    av_frame_free(&chunk);
    av_packet_free(&packet);
  }
};

namespace {

constexpr int kRate = 48000;
constexpr int kFrame = 960;  // 20 ms
constexpr std::int64_t kMaxJumpMs = 200;

std::string av_text(int err) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {0};
  av_strerror(err, text, sizeof text);
  return text;
}

}  // namespace

AacToOpus::~AacToOpus() = default;

Result<std::unique_ptr<AacToOpus>> AacToOpus::create(std::string_view asc) {
  std::unique_ptr<AacToOpus> t(new AacToOpus());
  t->native_ = std::make_unique<Native>();
  Native& n = *t->native_;
  const AVCodec* aac = avcodec_find_decoder(AV_CODEC_ID_AAC);
  const AVCodec* opus = avcodec_find_encoder_by_name("libopus");
  if (!aac || !opus)
    return fail(Error::internal("no AAC decoder or libopus encoder in libavcodec"));
  n.decoder = avcodec_alloc_context3(aac);
  n.encoder = avcodec_alloc_context3(opus);
  n.decoded = av_frame_alloc();
  n.chunk = av_frame_alloc();
  n.packet = av_packet_alloc();
  if (!n.decoder || !n.encoder || !n.decoded || !n.chunk || !n.packet) {
    return fail(Error::internal("out of memory"));
  }
  n.decoder->extradata =
      static_cast<std::uint8_t*>(av_mallocz(asc.size() + AV_INPUT_BUFFER_PADDING_SIZE));
  if (!n.decoder->extradata) return fail(Error::internal("out of memory"));
  std::copy(asc.begin(), asc.end(), n.decoder->extradata);
  n.decoder->extradata_size = static_cast<int>(asc.size());
  if (int err = avcodec_open2(n.decoder, aac, nullptr); err < 0) {
    return fail(Error::bad_request("AAC decoder: " + av_text(err)));
  }
  n.encoder->sample_rate = kRate;
  n.encoder->sample_fmt = AV_SAMPLE_FMT_S16;
  n.encoder->bit_rate = 64000;
  av_channel_layout_default(&n.encoder->ch_layout, 2);
  n.encoder->time_base = AVRational{1, kRate};
  av_opt_set(n.encoder->priv_data, "application", "lowdelay", 0);
  av_opt_set_double(n.encoder->priv_data, "frame_duration", 20, 0);
  if (int err = avcodec_open2(n.encoder, opus, nullptr); err < 0) {
    return fail(Error::internal("libopus encoder: " + av_text(err)));
  }
  n.fifo = av_audio_fifo_alloc(AV_SAMPLE_FMT_S16, 2, kFrame * 4);
  if (!n.fifo) return fail(Error::internal("out of memory"));
  return t;
}

std::string AacToOpus::opus_head() const {
  return media::opus_head(2, static_cast<unsigned>(native_->encoder->initial_padding));
}

Status AacToOpus::push(std::span<const std::uint8_t> frame, std::int64_t ms,
                       std::vector<Packet>& out) {
  Native& n = *native_;
  if (frame.empty()) return fail(Error::bad_request("AAC: empty frame"));
  // A new run when the input jumps: the packets' times follow the input's again.
  const std::int64_t expected = n.base_ms + n.samples_in * 1000 / kRate;
  if (n.base_ms < 0 || ms < expected - kMaxJumpMs || ms > expected + kMaxJumpMs) {
    av_audio_fifo_reset(n.fifo);
    n.base_ms = ms;
    n.samples_in = n.samples_out = 0;
  }
  av_packet_unref(n.packet);
  n.packet->data = const_cast<std::uint8_t*>(frame.data());
  n.packet->size = static_cast<int>(frame.size());
  int err = avcodec_send_packet(n.decoder, n.packet);
  n.packet->data = nullptr;
  n.packet->size = 0;
  if (err < 0) return fail(Error::bad_request("AAC decoder refused a frame: " + av_text(err)));
  while ((err = avcodec_receive_frame(n.decoder, n.decoded)) >= 0) {
    if (!n.resampler) {
      AVChannelLayout stereo;
      av_channel_layout_default(&stereo, 2);
      if (swr_alloc_set_opts2(&n.resampler, &stereo, AV_SAMPLE_FMT_S16, kRate,
                              &n.decoded->ch_layout, static_cast<AVSampleFormat>(n.decoded->format),
                              n.decoded->sample_rate, 0, nullptr) < 0 ||
          swr_init(n.resampler) < 0) {
        return fail(Error::internal("audio resampler could not start"));
      }
    }
    const int room = swr_get_out_samples(n.resampler, n.decoded->nb_samples);
    std::vector<std::int16_t> pcm(static_cast<std::size_t>(std::max(room, 0)) * 2);
    std::uint8_t* planes[1] = {reinterpret_cast<std::uint8_t*>(pcm.data())};
    const int got = swr_convert(n.resampler, planes, room,
                                const_cast<const std::uint8_t**>(n.decoded->extended_data),
                                n.decoded->nb_samples);
    av_frame_unref(n.decoded);
    if (got <= 0) continue;
    void* data[1] = {pcm.data()};
    if (av_audio_fifo_write(n.fifo, data, got) < got) return fail(Error::internal("audio FIFO"));
    n.samples_in += got;
  }
  return encode_available(out);
}

Status AacToOpus::encode_available(std::vector<Packet>& out) {
  Native& n = *native_;
  while (av_audio_fifo_size(n.fifo) >= kFrame) {
    av_frame_unref(n.chunk);
    n.chunk->nb_samples = kFrame;
    n.chunk->format = AV_SAMPLE_FMT_S16;
    n.chunk->sample_rate = kRate;
    av_channel_layout_default(&n.chunk->ch_layout, 2);
    if (av_frame_get_buffer(n.chunk, 0) < 0) return fail(Error::internal("out of memory"));
    av_audio_fifo_read(n.fifo, reinterpret_cast<void**>(n.chunk->data), kFrame);
    n.chunk->pts = n.samples_out;
    n.samples_out += kFrame;
    if (int err = avcodec_send_frame(n.encoder, n.chunk); err < 0) {
      return fail(Error::internal("libopus refused a frame: " + av_text(err)));
    }
    while (avcodec_receive_packet(n.encoder, n.packet) >= 0) {
      const std::int64_t pts = std::max<std::int64_t>(0, n.packet->pts);
      out.push_back({n.base_ms + pts * 1000 / kRate,
                     std::string(reinterpret_cast<const char*>(n.packet->data),
                                 static_cast<std::size_t>(n.packet->size))});
      av_packet_unref(n.packet);
    }
  }
  return {};
}

}  // namespace sluice::media
