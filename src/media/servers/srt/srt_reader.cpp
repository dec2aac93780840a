#include "media/servers/srt/srt_reader.hpp"

#include <srt/srt.h>

#include <algorithm>

namespace sluice::media {

namespace {

constexpr std::size_t kMessage = 1316;           // 7 transport packets: SRT's live payload
constexpr std::uint32_t kAudioTablesEvery = 20;  // packets between tables without video

}  // namespace

SrtReader::SrtReader(std::string id, std::string remote, int socket, MediaPath& path,
                     std::function<void(std::string_view)> end)
    : id_(std::move(id)),
      remote_(std::move(remote)),
      socket_(socket),
      path_(&path),
      end_(std::move(end)) {}

void SrtReader::refresh_tracks() {
  if (!path_) return;
  auto tracks = mpegts::describe_ts(path_->video_config().get(), path_->audio_config().get());
  if (!tracks) return;
  if (tracks_ && !(tracks_->program == tracks->program)) {
    tables_version_ = (tables_version_ + 1) & 0x1F;
    since_tables_ = kAudioTablesEvery;  // the new tables go out with the next packet
  }
  tracks_ = std::move(*tracks);
}

void SrtReader::on_packet(const PacketPtr& p, bool restart_point) {
  if (broken_ || !path_) return;
  if (p->sequence_header) return refresh_tracks();
  if (p->type == tag_type::kScript) return;
  if (!tracks_) refresh_tracks();
  if (!tracks_) return;
  if (!started_ || skipping_) {
    if (!restart_point) {
      if (skipping_) ++dropped_;
      return;
    }
    skipping_ = false;
  }
  const std::string& ts = p->stateful_form(MediaPacket::Form::kMpegTs,
                                           [this](const MediaPacket& packet, std::string& out) {
                                             mpegts::build_ts_packets(packet, *tracks_, out);
                                           });
  if (ts.empty()) return;
  out_.clear();
  const bool video_track = tracks_->program.video.has_value();
  if (!started_ || (video_track && p->keyframe) ||
      (!video_track && since_tables_ >= kAudioTablesEvery) ||
      since_tables_ >= 10 * kAudioTablesEvery) {
    mpegts::append_program_tables(tracks_->program, tables_version_, out_);
    since_tables_ = 0;
  }
  ++since_tables_;
  out_ += ts;
  continuity_.number({reinterpret_cast<std::uint8_t*>(out_.data()), out_.size()});
  started_ = true;
  if (send(out_)) ++packets_out_;
}

bool SrtReader::send(std::string_view bytes) {
  for (std::size_t at = 0; at < bytes.size(); at += kMessage) {
    const std::size_t n = std::min(kMessage, bytes.size() - at);
    if (srt_sendmsg(socket_, bytes.data() + at, static_cast<int>(n), -1, 0) != SRT_ERROR) {
      bytes_out_ += n;
      continue;
    }
    if (srt_getlasterror(nullptr) == SRT_EASYNCSND) {  // the send buffer is full
      skipping_ = true;
      ++dropped_;
      return false;
    }
    broken_ = true;
    end_("the connection is gone");
    return false;
  }
  return true;
}

void SrtReader::on_path_end() {
  path_ = nullptr;  // the path detaches every reader itself
  end_("the publisher left");
}

void SrtReader::detach() {
  if (!path_) return;
  path_->detach(this);
  path_ = nullptr;
}

void SrtReader::kick() {
  detach();
  end_("kicked");
}

ReaderInfo SrtReader::reader_info() const {
  ReaderInfo info{id_, "srt", remote_, bytes_out_, packets_out_, dropped_, 0};
  info.transport = "udp";
  info.srt = srt_link_stats(socket_, true);
  return info;
}

std::optional<SrtLinkStats> srt_link_stats(int socket, bool sending) {
  SRT_TRACEBSTATS perf{};
  if (srt_bstats(socket, &perf, 0) == SRT_ERROR) return std::nullopt;
  SrtLinkStats s;
  s.rtt_ms = perf.msRTT;
  s.bandwidth_mbps = perf.mbpsBandwidth;
  if (sending) {
    s.packets_lost = perf.pktSndLossTotal;
    s.packets_retransmitted = perf.pktRetransTotal;
    s.packets_dropped = perf.pktSndDropTotal;
    s.buffer_ms = perf.msSndBuf;
    s.mbps = perf.mbpsSendRate;
  } else {
    s.packets_lost = perf.pktRcvLossTotal;
    s.packets_retransmitted = perf.pktRcvRetrans;  // since the start (never cleared)
    s.packets_dropped = perf.pktRcvDropTotal;
    s.buffer_ms = perf.msRcvBuf;
    s.mbps = perf.mbpsRecvRate;
  }
  return s;
}

}  // namespace sluice::media
