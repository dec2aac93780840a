#pragma once
// A live path of this sluiced — what an RTMP, RTSP, SRT or WebRTC publisher sends — decoded as a
// pipeline source (media/transcode/video_decoder.hpp: H.264 and H.265). Access units wait in a
// bounded queue between the media thread and the pipeline's (at most 120; when full, the waiting
// ones are dropped and so is everything up to the next keyframe — overflow policy
// drop-to-keyframe, counted: a decoder cannot start elsewhere). Opening waits up to 10 s for the
// first picture; the publisher leaving fails the source (502), and the pipeline retries.
#include <memory>
#include <string>

#include "pipeline/frame_source.hpp"

namespace sluice::pipeline {

Result<std::unique_ptr<FrameSource>> open_path_source(const std::string& path, SourceFeeds& feeds,
                                                      std::function<bool()> stopped);

}  // namespace sluice::pipeline
