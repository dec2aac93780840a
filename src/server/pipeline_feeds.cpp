#include "server/pipeline_feeds.hpp"

#include <atomic>

#include "core/event_loop.hpp"
#include "hub/hub.hpp"
#include "media/media_hub.hpp"
#include "media/servers/media_server.hpp"
#include "relay/relay.hpp"

namespace sluice::server {
namespace {

std::atomic<std::uint64_t> next_tap{1};

// A pipeline reading a live path: a reader of the path. Media thread only, except `detach`
// posted by the feed's end.
class PathTap final : public media::MediaSink {
 public:
  PathTap(std::string path, pipeline::SourceFeeds::PathPacket on_packet,
          std::function<void()> on_end)
      : id_("pipeline-" + std::to_string(next_tap++)),
        path_(std::move(path)),
        on_packet_(std::move(on_packet)),
        on_end_(std::move(on_end)) {}
  void on_packet(const media::PacketPtr& p, bool) override {
    ++packets_;
    on_packet_(p);
  }
  void on_path_end() override {
    live_ = nullptr;
    on_end_();
  }
  media::ReaderInfo reader_info() const override {
    media::ReaderInfo info;
    info.id = id_;
    info.kind = "pipeline";
    info.remote = "pipeline";
    info.packets_out = packets_;
    return info;
  }
  void kick() override {
    if (live_) live_->detach(this);
    live_ = nullptr;
    on_end_();
  }
  void attach(media::MediaPath& path) {
    live_ = &path;
    path.attach(this);
  }
  void detach() {
    if (live_) live_->detach(this);
    live_ = nullptr;
  }

 private:
  std::string id_;
  std::string path_;
  pipeline::SourceFeeds::PathPacket on_packet_;
  std::function<void()> on_end_;
  media::MediaPath* live_ = nullptr;
  std::uint64_t packets_ = 0;
};

struct PathFeed final : pipeline::Feed {
  PathFeed(media::MediaServer& m, std::shared_ptr<PathTap> t) : media(m), tap(std::move(t)) {}
  ~PathFeed() override {
    media.loop().post([tap = std::move(tap)] { tap->detach(); });
  }
  media::MediaServer& media;
  std::shared_ptr<PathTap> tap;
};

struct RelayFeed final : pipeline::Feed {
  hub::Hub::Subscription subscription;
};

}  // namespace

Result<std::unique_ptr<pipeline::Feed>> PipelineFeeds::relay(const std::string& channel,
                                                             RelayMessage on_message) {
  if (!relay_) return fail(Error::unavailable("the relay is not running"));
  return relay_(channel, std::move(on_message));
}

Result<std::unique_ptr<pipeline::Feed>> PipelineFeeds::path(const std::string& path,
                                                            PathPacket on_packet,
                                                            std::function<void()> on_end) {
  auto tap = std::make_shared<PathTap>(path, std::move(on_packet), std::move(on_end));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  auto attached = call_on_loop(
      media_.loop(),
      [&]() -> Status {
        media::MediaPath* live = media_.hub().find(path);
        if (!live) return fail(Error{502, "no one publishes path '" + path + "'", {}});
        tap->attach(*live);
        return {};
      },
      [deadline] { return std::chrono::steady_clock::now() > deadline; });
  if (!attached) return fail(Error::unavailable("the media server is not answering"));
  if (!*attached) return fail(attached->error());
  return std::unique_ptr<pipeline::Feed>(std::make_unique<PathFeed>(media_, std::move(tap)));
}

PipelineFeeds::RelayHook relay_frame_hook(relay::Relay& relay) {
  return [&relay](const std::string& channel, pipeline::SourceFeeds::RelayMessage on_message)
             -> Result<std::unique_ptr<pipeline::Feed>> {
    auto feed = std::make_unique<RelayFeed>();
    auto subscription = relay.on_client_stream(
        channel, [&relay, on_message = std::move(on_message)](const relay::ClientMessage& m) {
          static const boost::json::object kNone;
          const boost::json::object* metadata = relay.channel_metadata(m.channel);
          on_message(metadata ? *metadata : kNone, m.data);
        });
    if (!subscription) return fail(subscription.error());
    feed->subscription = std::move(*subscription);
    return std::unique_ptr<pipeline::Feed>(std::move(feed));
  };
}

}  // namespace sluice::server
