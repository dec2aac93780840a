#pragma once
// What HTTP threads see of a path's HLS output, sans I/O: an immutable snapshot of the retained
// MPEG-TS segments (published by HlsMuxer after every cut), the live M3U8 rendered from it, and
// the segment file names `seg-<sequence>.ts`. Everything here is a pure function of its
// arguments and safe to call from any thread on a snapshot shared by pointer.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::media {

struct HlsSegment {
  std::uint64_t sequence = 0;               // 0 for the path's first segment, then +1 per cut
  double duration_s = 0;                    // media time it covers
  std::shared_ptr<const std::string> data;  // the whole MPEG-TS file; never null
  // The first segment of a new publisher on the path: its timestamps and codec parameters
  // need not follow the previous segment's (EXT-X-DISCONTINUITY before it).
  bool discontinuity = false;
};

struct HlsSnapshot {
  std::uint64_t media_sequence = 0;              // sequence of segments.front() (or the next one)
  std::chrono::milliseconds target_duration{0};  // the configured segment target
  bool ended = false;                            // the publisher left; no segment will follow
  // The discontinuity sequence number of segments.front(): discontinuities up to it, its own
  // included.
  std::uint64_t discontinuity_sequence = 0;
  std::vector<HlsSegment> segments;  // oldest first, consecutive sequences
};

// A live playlist (RFC 8216, version 3) listing the newest `playlist_segments` segments of
// `snapshot` (0 = all): EXT-X-TARGETDURATION is the ceiling of the longest listed segment (of
// the configured target when none is listed, and at least 1), EXT-X-MEDIA-SEQUENCE the first
// listed sequence, EXTINF with 3 decimals, URIs `seg-<sequence>.ts` followed by `uri_suffix`
// verbatim (e.g. "?key=abc"; the caller escapes it), EXT-X-ENDLIST when the snapshot is ended.
// A segment marked `discontinuity` is preceded by EXT-X-DISCONTINUITY; EXT-X-DISCONTINUITY-SEQUENCE
// (when not 0) counts the discontinuities before the first listed segment, as RFC 8216 requires
// once such segments leave the playlist.
std::string render_playlist(const HlsSnapshot& snapshot, std::string_view uri_suffix,
                            std::size_t playlist_segments);

// The data of segment `sequence`, or null when it is not (or no longer) retained.
std::shared_ptr<const std::string> find_segment(const HlsSnapshot& snapshot,
                                                std::uint64_t sequence);

// "seg-<sequence>.ts" for a segment URI.
std::string segment_name(std::uint64_t sequence);

// Parses a segment file name strictly: "seg-", 1 to 19 decimal digits without a leading zero
// (except "0" itself), ".ts", nothing else (no query, no path). nullopt otherwise, and for any
// input longer than 26 bytes, without reading past it.
std::optional<std::uint64_t> parse_segment_name(std::string_view name);

}  // namespace sluice::media
