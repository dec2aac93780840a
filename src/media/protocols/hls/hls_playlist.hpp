#pragma once
// What HTTP threads see of a path's HLS output, sans I/O: an immutable snapshot of the retained
// segments (published by HlsMuxer after every cut, and after every part for Low-Latency HLS),
// the live M3U8 rendered from it, and the file names. Everything here is a pure function of its
// arguments and safe to call from any thread on a snapshot shared by pointer.
//
// Variants (--hls-variant): `mpegts` — MPEG-TS segments `seg-<sequence>.ts` (RFC 8216,
// version 3); `fmp4` — fragmented MP4 segments `seg-<sequence>.mp4` on an initialization section
// `init-<id>.mp4` (EXT-X-MAP; version 7); `lowlatency` — fMP4 as well, each segment also cut into
// parts `part-<sequence>-<index>.mp4` (EXT-X-PART, EXT-X-PRELOAD-HINT, blocking playlist reload:
// RFC 8216bis, version 9).
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::media {

enum class HlsVariant { kMpegTs, kFmp4, kLowLatency };

// "mpegts", "fmp4", "lowlatency"; and back (nullopt for anything else).
std::string_view variant_name(HlsVariant variant);
std::optional<HlsVariant> parse_variant(std::string_view name);

// A part of a segment (Low-Latency HLS): a moof+mdat fragment of at most the part target.
struct HlsPart {
  double duration_s = 0;
  std::shared_ptr<const std::string> data;  // never null
  bool independent = false;                 // starts with a keyframe
};

struct HlsSegment {
  std::uint64_t sequence = 0;               // 0 for the path's first segment, then +1 per cut
  double duration_s = 0;                    // media time it covers
  std::shared_ptr<const std::string> data;  // the whole MPEG-TS file; never null
  // The first segment of a new publisher on the path: its timestamps and codec parameters
  // need not follow the previous segment's (EXT-X-DISCONTINUITY before it).
  bool discontinuity = false;
  std::uint64_t init_id = 0;   // fMP4: the initialization section it stands on
  std::vector<HlsPart> parts;  // Low-Latency HLS: its parts (data is their concatenation)
};

struct HlsInit {
  std::uint64_t id = 0;
  std::shared_ptr<const std::string> data;  // ftyp + moov
};

struct HlsSnapshot {
  std::uint64_t media_sequence = 0;              // sequence of segments.front() (or the next one)
  std::chrono::milliseconds target_duration{0};  // the configured segment target
  bool ended = false;                            // the publisher left; no segment will follow
  // The discontinuity sequence number of segments.front(): discontinuities up to it, its own
  // included.
  std::uint64_t discontinuity_sequence = 0;
  std::vector<HlsSegment> segments;  // oldest first, consecutive sequences
  HlsVariant variant = HlsVariant::kMpegTs;
  std::chrono::milliseconds part_target{0};  // Low-Latency HLS
  std::vector<HlsInit> inits;  // fMP4: those the retained and the open segment stand on
  // Low-Latency HLS: the segment being built (its sequence is the next one) and its parts so far.
  std::uint64_t open_sequence = 0;
  bool open_discontinuity = false;
  std::uint64_t open_init_id = 0;
  std::vector<HlsPart> open_parts;
};

// One rendition of a multivariant playlist.
struct HlsRendition {
  std::string uri;    // the rendition's media playlist, relative ("../stream1/index.m3u8")
  int bandwidth = 0;  // bit/s, peak
  int width = 0;      // 0: unknown (no RESOLUTION)
  int height = 0;
  double fps = 0;      // 0: unknown
  std::string codecs;  // "avc1.64001f"; empty: none
};

// A multivariant playlist (RFC 8216 4.3.4.2) over `variants`, highest bandwidth first;
// `uri_suffix` (a read key, say) is appended to every URI.
std::string render_multivariant(std::vector<HlsRendition> variants, std::string_view uri_suffix);

// A live playlist listing the newest `playlist_segments` segments of `snapshot` (0 = all):
// EXT-X-TARGETDURATION is the ceiling of the longest listed segment (of the configured target
// when none is listed, and at least 1), EXT-X-MEDIA-SEQUENCE the first listed sequence, EXTINF
// with 3 decimals, every URI followed by `uri_suffix` verbatim (e.g. "?key=abc"; the caller
// escapes it), EXT-X-ENDLIST when the snapshot is ended. A segment marked `discontinuity` is
// preceded by EXT-X-DISCONTINUITY (and, fMP4, a new EXT-X-MAP); EXT-X-DISCONTINUITY-SEQUENCE
// (when not 0) counts the discontinuities before the first listed segment, as RFC 8216 requires
// once such segments leave the playlist.
// Low-Latency HLS adds EXT-X-SERVER-CONTROL (CAN-BLOCK-RELOAD=YES, PART-HOLD-BACK of three part
// targets), EXT-X-PART-INF, the EXT-X-PART lines of the last two segments and of the open one
// (INDEPENDENT=YES on parts starting with a keyframe) and an EXT-X-PRELOAD-HINT for the next
// part.
std::string render_playlist(const HlsSnapshot& snapshot, std::string_view uri_suffix,
                            std::size_t playlist_segments);

// The data of segment `sequence`, or null when it is not (or no longer) retained.
std::shared_ptr<const std::string> find_segment(const HlsSnapshot& snapshot,
                                                std::uint64_t sequence);

// "seg-<sequence>.ts" (MPEG-TS) or "seg-<sequence>.mp4" for a segment URI.
std::string segment_name(std::uint64_t sequence, HlsVariant variant = HlsVariant::kMpegTs);

// A file of a path's HLS output, as its name says.
struct HlsFile {
  enum class Kind { kSegment, kPart, kInit };
  Kind kind = Kind::kSegment;
  std::uint64_t number = 0;  // segment sequence or init id
  std::uint64_t part = 0;    // kPart: the index within its segment
  bool mp4 = false;          // kSegment: ".mp4" (else ".ts")
};
// "seg-N.ts", "seg-N.mp4", "part-N-P.mp4", "init-N.mp4" (numbers as parse_segment_name reads
// them); nullopt for anything else, or longer than 48 bytes.
std::optional<HlsFile> parse_hls_file(std::string_view name);
// The bytes of `file` in `snapshot`, or null when it is not (or not yet, or no longer) there.
std::shared_ptr<const std::string> find_file(const HlsSnapshot& snapshot, const HlsFile& file);

// Blocking playlist reload: whether the playlist of `snapshot` holds segment `msn` (complete),
// or with `part`, that part of it (a complete segment holds all its parts).
bool holds(const HlsSnapshot& snapshot, std::uint64_t msn, std::optional<std::uint64_t> part);
// The sequence of the newest segment a playlist names (the open one with Low-Latency HLS).
std::uint64_t last_sequence(const HlsSnapshot& snapshot);

// Parses a segment file name strictly: "seg-", 1 to 19 decimal digits without a leading zero
// (except "0" itself), ".ts", nothing else (no query, no path). nullopt otherwise, and for any
// input longer than 26 bytes, without reading past it.
std::optional<std::uint64_t> parse_segment_name(std::string_view name);

}  // namespace sluice::media
