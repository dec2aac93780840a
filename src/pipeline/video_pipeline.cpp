#include "pipeline/video_pipeline.hpp"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavutil/hwcontext.h>
#include <libavutil/opt.h>
}

#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <memory>

#include "media/transcode/av_support.hpp"
#include "media/transcode/jpeg_encoder.hpp"
#include "pipeline/compositor.hpp"
#include "pipeline/encoder_choice.hpp"
#include "pipeline/filter_graph.hpp"
#include "pipeline/source_follower.hpp"

namespace sluice::pipeline {
namespace av = media::av;
namespace {

struct BufferUnref {
  void operator()(AVBufferRef* b) const { av_buffer_unref(&b); }
};
using BufferPtr = std::unique_ptr<AVBufferRef, BufferUnref>;

// "buffer@in=…", the clock when asked, captions and timestamps, then
// "split=N[o0][o1]…; [o0]scale=W:H,format=yuv420p,buffersink@r0; …" (for VAAPI
// "format=nv12,hwupload": the encoder takes pictures in the GPU's memory).
std::string graph_text(const PipelineSpec& spec, const std::string& source, bool clock,
                       const std::vector<std::pair<int, int>>& sizes, int height, bool upload) {
  std::string text = source;
  if (clock) {
    // The wall clock (to the second), large, on a box: what a viewer compares with theirs.
    text +=
        ",drawtext=text='%{localtime\\:%T}':fontsize=" + std::to_string(std::max(16, height / 12)) +
        ":fontcolor=white:box=1:boxcolor=black@0.6:x=(w-tw)/2:y=h-th-h/20";
  }
  for (const auto& f : spec.filters) {
    if (f.type == "pip") continue;  // composed before the graph
    if (f.type == "scale") {
      text += ",scale=" + std::to_string(f.width) + ":" + std::to_string(f.height);
      continue;
    }
    if (f.type == "fps") {
      text += ",fps=" + std::to_string(f.fps);
      continue;
    }
    // A caption is letters, digits and plain punctuation (pipeline_spec checks it): nothing in
    // it is filter syntax inside the quotes. A timestamp is the wall clock and the media time.
    const std::string shown = f.type == "timestamp" ? "%{localtime\\:%F %T}  %{pts\\:hms}" : f.text;
    text += ",drawtext=text='" + shown + "':fontsize=" + std::to_string(f.size) +
            ":fontcolor=white:box=1:boxcolor=black@0.5:x=" + std::to_string(f.x) +
            ":y=" + std::to_string(f.y);
  }
  const std::size_t n = sizes.size();
  text += ",split=" + std::to_string(n);
  for (std::size_t i = 0; i < n; ++i)
    text += "[o" + std::to_string(i) + "]";
  for (std::size_t i = 0; i < n; ++i) {
    text += ";[o" + std::to_string(i) + "]scale=" + std::to_string(sizes[i].first) + ":" +
            std::to_string(sizes[i].second) +
            (upload ? ",format=nv12,hwupload" : ",format=yuv420p") + ",buffersink@r" +
            std::to_string(i);
  }
  return text;
}

}  // namespace

struct VideoPipeline::Native {
  GraphPtr graph;
  std::vector<AVFilterContext*> sinks;
  std::vector<av::CodecPtr> encoders;
  av::FramePtr frame{av_frame_alloc()};
  av::PacketPtr packet{av_packet_alloc()};
  int fps = 30;
  std::string main_name = "main";
  std::unique_ptr<FrameSource> source;  // the main picture
  AVFilterContext* input = nullptr;     // buffer@in, where pictures go into the graph
  // The inset of a pip filter: its source, the compositor, and how well they align.
  std::unique_ptr<SourceFollower> inset;
  std::unique_ptr<PipCompositor> compositor;
  av::FramePtr inset_frame{av_frame_alloc()};
  AlignmentSpec alignment;
  EncoderChoice encoder;
  std::vector<std::pair<int, int>> sizes;  // each rendition's, as encoded
  bool vbr = false;                        // rate_control "vbr"
  BufferPtr hw_device;                     // VAAPI's
  // The mjpeg outputs: JPEGs of a rendition's pictures, at most `fps` a second.
  struct MjpegTap {
    std::size_t rendition = 0;
    int fps = 10;
    std::unique_ptr<media::JpegEncoder> encoder;
    std::int64_t next_ms = INT64_MIN;
  };
  std::vector<MjpegTap> mjpeg;
  std::vector<std::pair<std::size_t, std::string>> jpegs;  // made since take_jpegs()
  std::optional<double> offset_ms;
  std::uint64_t out_of_tolerance = 0;
  bool stale = false;
};

// The filter graph and the encoders of `n.encoder` for pictures of width x height in `format`.
Status build(VideoPipeline::Native& n, const PipelineSpec& spec, const SourceSpec& main, int width,
             int height, int format) {
  n.graph.reset(avfilter_graph_alloc());
  n.sinks.clear();
  n.encoders.clear();
  n.hw_device.reset();
  if (!n.graph) return fail(Error::internal("pipeline: out of memory"));
  n.graph->nb_threads = 1;
  const bool vaapi = n.encoder.kind == "vaapi";
  if (vaapi) {
    AVBufferRef* device = nullptr;
    if (int err = av_hwdevice_ctx_create(&device, AV_HWDEVICE_TYPE_VAAPI, n.encoder.device.c_str(),
                                         nullptr, 0);
        err < 0) {
      return fail(Error::internal("VAAPI device " + n.encoder.device + ": " + av::text(err)));
    }
    n.hw_device.reset(device);
  }
  const std::string source = "buffer@in=video_size=" + std::to_string(width) + "x" +
                             std::to_string(height) + ":pix_fmt=" + std::to_string(format) +
                             ":time_base=1/1000:pixel_aspect=1/1";
  int picture_width = width, picture_height = height;  // after the scale filters
  int rate = n.fps;                                    // after the fps filters
  for (const auto& f : spec.filters) {
    if (f.type == "scale") picture_width = f.width, picture_height = f.height;
    if (f.type == "fps") rate = f.fps;
  }
  auto& sizes = n.sizes;  // each rendition's: its own, or the picture's
  sizes.clear();
  for (const auto& r : spec.renditions) {
    sizes.emplace_back(r.width > 0 ? r.width : picture_width,
                       r.height > 0 ? r.height : picture_height);
  }
  AVFilterInOut* inputs = nullptr;
  AVFilterInOut* outputs = nullptr;
  int err = avfilter_graph_parse2(
      n.graph.get(), graph_text(spec, source, main.clock, sizes, height, vaapi).c_str(), &inputs,
      &outputs);
  avfilter_inout_free(&inputs);
  avfilter_inout_free(&outputs);
  for (unsigned f = 0; vaapi && err >= 0 && f < n.graph->nb_filters; ++f) {
    AVFilterContext* filter = n.graph->filters[f];
    if (std::string_view(filter->filter->name) == "hwupload") {
      filter->hw_device_ctx = av_buffer_ref(n.hw_device.get());
    }
  }
  if (err >= 0) err = avfilter_graph_config(n.graph.get(), nullptr);
  if (err < 0) {
    return fail(
        Error::invalid_field({"body", "source"}, "the picture cannot be made: " + av::text(err)));
  }
  n.input = avfilter_graph_get_filter(n.graph.get(), "buffer@in");
  if (!n.input) return fail(Error::internal("pipeline: no buffer@in in the graph"));
  const bool hevc = spec.encoder.codec == "h265";
  const bool software = n.encoder.kind == "software";
  const std::string& encoder_name = n.encoder.encoder;
  const AVCodec* x264 = avcodec_find_encoder_by_name(encoder_name.c_str());
  if (!x264) return fail(Error::internal("pipeline: libavcodec has no " + encoder_name + " here"));
  for (std::size_t i = 0; i < spec.renditions.size(); ++i) {
    const std::string sink_name = "buffersink@r" + std::to_string(i);
    AVFilterContext* sink = avfilter_graph_get_filter(n.graph.get(), sink_name.c_str());
    if (!sink) return fail(Error::internal("pipeline: no " + sink_name + " in the graph"));
    n.sinks.push_back(sink);
    av::CodecPtr c(avcodec_alloc_context3(x264));
    if (!c) return fail(Error::internal("pipeline: out of memory"));
    const std::int64_t bps = std::int64_t{bitrate_of(spec, i)} * 1000;
    c->width = sizes[i].first;
    c->height = sizes[i].second;
    c->pix_fmt = vaapi ? AV_PIX_FMT_VAAPI : AV_PIX_FMT_YUV420P;
    if (vaapi) {
      AVBufferRef* frames = av_buffersink_get_hw_frames_ctx(sink);
      if (!frames) return fail(Error::internal("VAAPI: no frames context from hwupload"));
      c->hw_frames_ctx = av_buffer_ref(frames);
    }
    c->time_base = AVRational{1, 1000};  // ms: a live source's pictures come when they come
    c->framerate = AVRational{rate, 1};
    c->gop_size = spec.encoder.gop > 0 ? spec.encoder.gop : rate;
    c->bit_rate = bps;
    // One second of VBV: rate changes show quickly. "vbr" lets peaks reach twice the average.
    const std::int64_t peak = n.vbr ? 2 * bps : bps;
    c->rc_max_rate = peak;
    c->rc_buffer_size = static_cast<int>(peak);
    c->max_b_frames = spec.encoder.zerolatency ? 0 : 2;
    c->thread_count = 1;
    if (software) {
      av_opt_set(c->priv_data, "preset", spec.encoder.preset.c_str(), 0);
      if (hevc) {  // x265 has one 8-bit 4:2:0 profile; its log stays out of ours
        av_opt_set(c->priv_data, "x265-params", "log-level=error", 0);
      } else {
        av_opt_set(c->priv_data, "profile", spec.encoder.profile.c_str(), 0);
      }
      if (spec.encoder.zerolatency) av_opt_set(c->priv_data, "tune", "zerolatency", 0);
      // Strict CBR: filler keeps the rate constant (what some ingest servers ask for).
      if (spec.encoder.rate_control == "cbr" && !hevc) {
        av_opt_set(c->priv_data, "x264-params", "nal-hrd=cbr:force-cfr=1", 0);
      }
    } else {  // hardware: the bitrate and GOP above; constant bitrate where the driver has it
      av_opt_set(c->priv_data, "rc_mode", "CBR", 0);
    }
    if ((err = avcodec_open2(c.get(), x264, nullptr)) < 0) {
      return fail(Error::invalid_field({"body", "encoder"},
                                       encoder_name + " refuses these settings: " + av::text(err)));
    }
    n.encoders.push_back(std::move(c));
  }
  return {};
}

Result<std::unique_ptr<VideoPipeline>> VideoPipeline::create(const PipelineSpec& spec,
                                                             SourceFeeds* feeds,
                                                             std::function<bool()> stopped) {
  std::unique_ptr<VideoPipeline> p(new VideoPipeline());
  p->native_ = std::make_unique<Native>();
  Native& n = *p->native_;
  if (!n.frame || !n.packet || !n.inset_frame) {
    return fail(Error::internal("pipeline: out of memory"));
  }
  const FilterSpec* pip = pip_of(spec);
  n.main_name = pip ? pip->main_source : "main";
  const SourceSpec& main = *source_named(spec, n.main_name);
  auto opened = open_source(main, feeds, stopped);
  if (!opened) return fail(opened.error());
  n.source = std::move(*opened);
  n.fps = n.source->fps() > 0 ? n.source->fps() : main.fps;
  const int width = n.source->width(), height = n.source->height();
  int format = n.source->pixel_format();
  if (pip) {
    n.inset = std::make_unique<SourceFollower>(pip->pip_source,
                                               *source_named(spec, pip->pip_source), feeds);
    n.compositor = std::make_unique<PipCompositor>(*pip);
    n.alignment = spec.alignment;
    format = AV_PIX_FMT_YUV420P;  // what the compositor makes
  }
  for (const auto& o : spec.outputs) {
    if (o.type != "mjpeg") continue;
    n.mjpeg.push_back(Native::MjpegTap{
        rendition_of(spec, o), o.fps,
        std::make_unique<media::JpegEncoder>(media::jpeg_qscale(o.quality)), INT64_MIN});
  }
  n.vbr = spec.encoder.rate_control == "vbr";
  n.encoder = choose_encoder(spec.encoder);
  if (auto built = build(n, spec, main, width, height, format); !built) {
    if (n.encoder.kind == "software") return fail(built.error());
    // The hardware encoder is there but refused: software, said once.
    n.encoder = software_encoder(spec.encoder, n.encoder.encoder + " failed (" +
                                                   built.error().detail + "): software encoding");
    if (auto again = build(n, spec, main, width, height, format); !again) {
      return fail(again.error());
    }
  }
  if (!n.encoder.note.empty()) spdlog::warn("pipeline '{}': {}", spec.name, n.encoder.note);
  return p;
}

VideoPipeline::~VideoPipeline() = default;

std::optional<SourceAudio> VideoPipeline::source_audio() const {
  return native_->source->audio();
}

void VideoPipeline::take_source_audio(std::int64_t offset_ms, std::vector<AudioPacket>& out) {
  const std::size_t from = out.size();
  native_->source->take_audio(out);
  for (std::size_t i = from; i < out.size(); ++i)
    out[i].ms += offset_ms;
}

std::vector<std::pair<std::size_t, std::string>> VideoPipeline::take_jpegs() {
  return std::exchange(native_->jpegs, {});
}

std::string VideoPipeline::encoder() const {
  return native_->encoder.encoder;
}

std::string VideoPipeline::encoder_note() const {
  return native_->encoder.note;
}

std::pair<int, int> VideoPipeline::rendition_size(std::size_t rendition) const {
  const auto& sizes = native_->sizes;
  return rendition < sizes.size() ? sizes[rendition] : std::pair{0, 0};
}

bool VideoPipeline::paced() const {
  return native_->source->paced();
}

int VideoPipeline::fps() const {
  return native_->fps;
}

std::uint64_t VideoPipeline::source_dropped() const {
  return native_->source->dropped();
}

std::vector<SourceReport> VideoPipeline::sources() const {
  const Native& n = *native_;
  std::vector<SourceReport> out;
  SourceReport main;
  main.name = n.main_name;
  main.role = "main";
  main.width = n.source->width();
  main.height = n.source->height();
  main.dropped = n.source->dropped();
  out.push_back(std::move(main));
  if (n.inset) {
    const auto st = n.inset->state();
    SourceReport inset;
    inset.name = st.name;
    inset.role = "pip";
    inset.state = st.state;
    inset.error = st.error;
    inset.width = st.width;
    inset.height = st.height;
    inset.dropped = st.dropped;
    inset.offset_ms = n.offset_ms;
    inset.out_of_tolerance = n.out_of_tolerance;
    inset.stale = n.stale;
    out.push_back(std::move(inset));
  }
  return out;
}

Status VideoPipeline::next(std::int64_t index, std::int64_t offset_ms,
                           std::vector<std::vector<EncodedUnit>>& out) {
  Native& n = *native_;
  out.assign(n.sinks.size(), {});
  std::int64_t ms = 0;
  auto picture = n.source->next(ms);
  if (!picture) return fail(picture.error());
  // A paced source's picture `index` is at index / fps; a live one's at its own time.
  ms = n.source->paced() ? offset_ms + index * 1000 / n.fps : ms + offset_ms;
  AVFrame* in = *picture;
  if (n.compositor) {
    double offset = 0, newest_age = 0;
    const bool have =
        n.inset->closest(std::chrono::steady_clock::now(), n.inset_frame.get(), offset, newest_age);
    if (have) {
      n.offset_ms = offset;
      if (n.alignment.enabled && std::abs(offset) > n.alignment.sync_tolerance_ms) {
        ++n.out_of_tolerance;
      }
      n.stale = newest_age > n.alignment.max_latency_ms;
    }
    auto composed = n.compositor->compose(*in, have ? n.inset_frame.get() : nullptr);
    if (!composed) return fail(composed.error());
    in = *composed;
  }
  in->pts = ms;
  last_ms_ = ms;
  if (int err = av_buffersrc_add_frame_flags(n.input, in, AV_BUFFERSRC_FLAG_KEEP_REF); err < 0) {
    return fail(Error::internal("pipeline: the picture was refused: " + av::text(err)));
  }
  bool handed_over = false;
  for (std::size_t i = 0; i < n.sinks.size(); ++i) {
    AVCodecContext* c = n.encoders[i].get();
    const AVRational graph_time = av_buffersink_get_time_base(n.sinks[i]);
    // Every picture the graph hands out for this input: none (an fps filter dropping), one, or
    // more (one repeating).
    int err;
    while ((err = av_buffersink_get_frame(n.sinks[i], n.frame.get())) >= 0) {
      n.frame->pts = av_rescale_q(n.frame->pts, graph_time, AVRational{1, 1000});
      n.frame->pict_type = AV_PICTURE_TYPE_NONE;
      for (auto& tap : n.mjpeg) {
        if (tap.rendition != i || n.frame->pts < tap.next_ms ||
            n.frame->format == AV_PIX_FMT_VAAPI) {
          continue;  // not this rendition's, not due yet, or in the GPU's memory
        }
        tap.next_ms = n.frame->pts + 1000 / tap.fps;
        auto jpeg = tap.encoder->encode(*n.frame, n.frame->width, n.frame->height);
        if (jpeg) n.jpegs.emplace_back(i, std::move(*jpeg));
      }
      if (i == 0 && !handed_over) {
        // The frame path ends here, at the first encoder (its own time is not the path's).
        handed_over = true;
        if (const auto arrived = n.source->arrival()) {
          frame_path_ms_ =
              std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - *arrived)
                  .count();
        }
      }
      err = avcodec_send_frame(c, n.frame.get());
      av_frame_unref(n.frame.get());
      if (err < 0) return fail(Error::internal("pipeline: the encoder refused: " + av::text(err)));
      if (auto ok = drain(c, out[i]); !ok) return ok;
    }
    if (err != AVERROR(EAGAIN)) {
      return fail(Error::internal("pipeline: no picture: " + av::text(err)));
    }
  }
  ++frames_;
  return {};
}

Status VideoPipeline::drain(AVCodecContext* c, std::vector<EncodedUnit>& out) {
  Native& n = *native_;
  const auto to_ms = [&](std::int64_t t) { return t * 1000 * c->time_base.num / c->time_base.den; };
  int err;
  while ((err = avcodec_receive_packet(c, n.packet.get())) == 0) {
    out.push_back(EncodedUnit{std::string(reinterpret_cast<const char*>(n.packet->data),
                                          static_cast<std::size_t>(n.packet->size)),
                              to_ms(n.packet->pts), to_ms(n.packet->dts),
                              (n.packet->flags & AV_PKT_FLAG_KEY) != 0});
    av_packet_unref(n.packet.get());
  }
  if (err != AVERROR(EAGAIN) && err != AVERROR_EOF) {
    return fail(Error::internal("pipeline: the encoder failed: " + av::text(err)));
  }
  return {};
}

void VideoPipeline::set_bitrate(std::size_t rendition, int kbps) {
  if (rendition >= native_->encoders.size()) return;
  AVCodecContext* c = native_->encoders[rendition].get();
  const std::int64_t bps = std::int64_t{kbps} * 1000;
  c->bit_rate = bps;  // libavcodec's libx264 wrapper reconfigures x264 at the next frame
  const std::int64_t peak = native_->vbr ? 2 * bps : bps;
  c->rc_max_rate = peak;
  c->rc_buffer_size = static_cast<int>(peak);
}

}  // namespace sluice::pipeline
