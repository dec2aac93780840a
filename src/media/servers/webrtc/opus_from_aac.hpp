#pragma once
// OpusFromAac: one path's AAC transcoded to Opus once for all of its WebRTC viewers (browsers
// take no AAC). A reader of the path (kind "transcode") while at least one viewer wants it: each
// AAC frame goes through AacToOpus and every Opus packet is handed, as a MediaPacket (Enhanced
// RTMP Opus, media/audio_config.hpp), to the viewers' on_packet. A new AAC configuration starts
// a new transcoder. Media thread only.
#include <memory>
#include <string>
#include <vector>

#include "media/media_path.hpp"
#include "media/transcode/aac_to_opus.hpp"

namespace sluice::media {

class MediaHub;

class OpusFromAac final : public MediaSink {
 public:
  OpusFromAac(std::string path, MediaHub& hub);
  ~OpusFromAac() override;

  // A viewer starts or stops wanting the path's audio as Opus; the transcoder attaches to the
  // path with the first and detaches after the last.
  void add(MediaSink* viewer);
  void remove(MediaSink* viewer);
  bool idle() const { return viewers_.empty(); }

  void on_packet(const PacketPtr& p, bool restart_point) override;
  void on_path_end() override;
  ReaderInfo reader_info() const override;
  void kick() override;

 private:
  std::string path_;
  MediaHub& hub_;
  std::vector<MediaSink*> viewers_;
  std::unique_ptr<AacToOpus> transcoder_;
  PacketPtr opus_config_;
  bool attached_ = false;
  bool replaying_ = false;  // inside attach(): the GOP cache is replayed
  std::uint64_t frames_in_ = 0, packets_out_ = 0, refused_ = 0;
};

}  // namespace sluice::media
