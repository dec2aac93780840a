#pragma once
// SrtReader: one SRT caller playing a live path (m=request), as the path sees it. Media thread
// only. Each packet's MPEG-TS form (media/protocols/mpegts/ts_output.hpp) is built once for every
// SRT reader of the path; this reader numbers its own copy's continuity counters, puts the PAT and
// PMT before its first packet and before every keyframe (about twice a second on a path without
// video), and hands it to libsrt in 1316-byte messages (srt_sendmsg, non-blocking: libsrt's own
// send thread paces them out).
//
// Overflow policy **skip-to-keyframe**: when libsrt's send buffer is full (the caller cannot keep
// up, or its link is gone and libsrt has not noticed yet) the packet is dropped, and so is every
// packet until the next restart point. Dropped packets are counted (reader_info().dropped).
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "media/media_path.hpp"
#include "media/protocols/mpegts/ts_output.hpp"

namespace sluice::media {

class SrtReader final : public MediaSink {
 public:
  // `socket` is the caller's libsrt socket, set non-blocking; `end(reason)` asks the SRT thread
  // to close it (it must not destroy this reader synchronously).
  SrtReader(std::string id, std::string remote, int socket, MediaPath& path,
            std::function<void(std::string_view reason)> end);

  void on_packet(const PacketPtr& p, bool restart_point) override;
  void on_path_end() override;
  ReaderInfo reader_info() const override;
  void kick() override;

  int socket() const { return socket_; }
  // Stops reading the path (the caller left); no-op after on_path_end() or kick().
  void detach();

 private:
  void refresh_tracks();
  bool send(std::string_view bytes);

  std::string id_;
  std::string remote_;
  int socket_;
  MediaPath* path_;  // null once detached
  std::function<void(std::string_view)> end_;
  std::optional<mpegts::TsTracks> tracks_;
  std::uint8_t tables_version_ = 0;
  mpegts::TsContinuity continuity_;
  std::string out_;
  bool started_ = false;
  bool skipping_ = false;
  bool broken_ = false;
  std::uint32_t since_tables_ = 0;
  std::uint64_t bytes_out_ = 0;
  std::uint64_t packets_out_ = 0;
  std::uint64_t dropped_ = 0;
};

// What libsrt measures of `socket` (srt_bstats); nullopt once it is gone. `sending`: the side
// that matters (a reader's send side, a publisher's receive side). Any thread.
std::optional<SrtLinkStats> srt_link_stats(int socket, bool sending);

}  // namespace sluice::media
