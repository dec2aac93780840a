#include "pipeline/frame_source.hpp"

#include "pipeline/path_source.hpp"
#include "pipeline/pipeline_spec.hpp"
#include "pipeline/relay_frame_source.hpp"
#include "pipeline/test_pattern.hpp"
#include "pipeline/url_source.hpp"

namespace sluice::pipeline {

Result<std::unique_ptr<Feed>> SourceFeeds::relay(const std::string&, RelayMessage) {
  return fail(Error::unavailable("relay sources are not available here"));
}

Result<std::unique_ptr<Feed>> SourceFeeds::path(const std::string&, PathPacket,
                                                std::function<void()>) {
  return fail(Error::unavailable("live path sources are not available here"));
}

Result<std::unique_ptr<FrameSource>> open_source(const SourceSpec& spec, SourceFeeds* feeds,
                                                 std::function<bool()> stopped) {
  static SourceFeeds none;
  if (spec.type == "testsrc") return open_test_pattern(spec);
  if (spec.type == "relay") {
    return open_relay_frames(spec.channel, feeds ? *feeds : none, std::move(stopped));
  }
  if (spec.type == "path") {
    return open_path_source(spec.path, feeds ? *feeds : none, std::move(stopped));
  }
  Result<std::unique_ptr<UrlSource>> opened =
      spec.type == "url" ? UrlSource::open(spec.url, std::move(stopped))
                         : UrlSource::open_device(spec.device, spec.width, spec.height, spec.fps,
                                                  std::move(stopped));
  if (!opened) return fail(opened.error());
  return std::unique_ptr<FrameSource>(std::move(*opened));
}

}  // namespace sluice::pipeline
