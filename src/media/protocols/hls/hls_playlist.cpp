#include "media/protocols/hls/hls_playlist.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace sluice::media {

std::string render_playlist(const HlsSnapshot& snapshot, std::string_view uri_suffix,
                            std::size_t playlist_segments) {
  const auto& all = snapshot.segments;
  const std::size_t first = playlist_segments == 0 || all.size() <= playlist_segments
                                ? 0
                                : all.size() - playlist_segments;
  double longest = 0;
  for (std::size_t i = first; i < all.size(); ++i)
    longest = std::max(longest, all[i].duration_s);
  // Never below the configured target, so the value stays put while segments keep to it
  // (RFC 8216 wants EXT-X-TARGETDURATION constant); a longer GOP raises it.
  longest = std::max(longest, snapshot.target_duration.count() / 1000.0);
  // Durations are whole milliseconds; the epsilon keeps 2.000 from rounding up to 3.
  const auto target = std::max<long long>(1, static_cast<long long>(std::ceil(longest - 1e-9)));
  const std::uint64_t sequence = first < all.size() ? all[first].sequence : snapshot.media_sequence;
  // EXT-X-DISCONTINUITY-SEQUENCE: the discontinuity sequence number of the first listed segment
  // (the front's, plus each discontinuity after the front up to it), less its own discontinuity,
  // whose tag is written before it.
  std::uint64_t discontinuities = snapshot.discontinuity_sequence;
  for (std::size_t i = 1; i <= first && i < all.size(); ++i)
    discontinuities += all[i].discontinuity ? 1 : 0;
  if (first < all.size() && all[first].discontinuity && discontinuities > 0) --discontinuities;
  std::string out;
  out.reserve(128 + (all.size() - first) * (48 + uri_suffix.size()));
  out += "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:";
  out += std::to_string(target);
  out += "\n#EXT-X-MEDIA-SEQUENCE:";
  out += std::to_string(sequence);
  out += '\n';
  if (discontinuities > 0) {
    out += "#EXT-X-DISCONTINUITY-SEQUENCE:";
    out += std::to_string(discontinuities);
    out += '\n';
  }
  char extinf[64];
  for (std::size_t i = first; i < all.size(); ++i) {
    if (all[i].discontinuity) out += "#EXT-X-DISCONTINUITY\n";
    std::snprintf(extinf, sizeof extinf, "#EXTINF:%.3f,\n", all[i].duration_s);
    out += extinf;
    out += segment_name(all[i].sequence);
    out += uri_suffix;
    out += '\n';
  }
  if (snapshot.ended) out += "#EXT-X-ENDLIST\n";
  return out;
}

std::shared_ptr<const std::string> find_segment(const HlsSnapshot& snapshot,
                                                std::uint64_t sequence) {
  const auto& all = snapshot.segments;
  if (all.empty() || sequence < all.front().sequence) return nullptr;
  const std::uint64_t index = sequence - all.front().sequence;
  if (index < all.size() && all[index].sequence == sequence) return all[index].data;
  // Not consecutive (never produced by HlsMuxer): fall back to a search.
  for (const auto& s : all) {
    if (s.sequence == sequence) return s.data;
  }
  return nullptr;
}

std::string segment_name(std::uint64_t sequence) {
  return "seg-" + std::to_string(sequence) + ".ts";
}

std::optional<std::uint64_t> parse_segment_name(std::string_view name) {
  constexpr std::string_view kPrefix = "seg-";
  constexpr std::string_view kSuffix = ".ts";
  constexpr std::size_t kMaxDigits = 19;  // 10^19 - 1 < 2^64
  if (name.size() > kPrefix.size() + kMaxDigits + kSuffix.size()) return std::nullopt;
  if (!name.starts_with(kPrefix) || !name.ends_with(kSuffix)) return std::nullopt;
  const std::string_view digits =
      name.substr(kPrefix.size(), name.size() - kPrefix.size() - kSuffix.size());
  if (digits.empty() || (digits.size() > 1 && digits[0] == '0')) return std::nullopt;
  std::uint64_t value = 0;
  for (const char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return value;
}

}  // namespace sluice::media
