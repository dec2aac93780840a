#pragma once
// PipelineFeeds: what pipeline sources read from the rest of the daemon (pipeline::SourceFeeds):
// a live path's packets, through a reader attached to the path on the media thread (kind
// "pipeline", listed and kickable like any reader), and a relay channel's messages, through the
// relay hook App sets once the relay exists. No Asio here.
#include <functional>
#include <memory>
#include <string>

#include "pipeline/frame_source.hpp"

namespace sluice::media {
class MediaServer;
}
namespace sluice::relay {
class Relay;
}

namespace sluice::server {

class PipelineFeeds final : public pipeline::SourceFeeds {
 public:
  explicit PipelineFeeds(media::MediaServer& media) : media_(media) {}
  using RelayHook = std::function<Result<std::unique_ptr<pipeline::Feed>>(
      const std::string& channel, RelayMessage on_message)>;
  // Before pipelines start (App, once the relay exists).
  void set_relay(RelayHook hook) { relay_ = std::move(hook); }

  Result<std::unique_ptr<pipeline::Feed>> relay(const std::string& channel,
                                                RelayMessage on_message) override;
  Result<std::unique_ptr<pipeline::Feed>> path(const std::string& path, PathPacket on_packet,
                                               std::function<void()> on_end) override;

 private:
  media::MediaServer& media_;
  RelayHook relay_;
};

// The relay hook over `relay`: messages of the channel with its publisher's metadata, delivered
// on the relay thread. `relay` must outlive the feeds it makes.
PipelineFeeds::RelayHook relay_frame_hook(relay::Relay& relay);

}  // namespace sluice::server
