#include "media/protocols/hls/hls_playlist.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>

namespace sluice::media {

namespace {

void append_duration(std::string& out, const char* prefix, double seconds, const char* suffix) {
  char text[160];
  std::snprintf(text, sizeof text, "%s%.3f%s", prefix, seconds, suffix);
  out += text;
}

std::string part_name(std::uint64_t sequence, std::size_t index) {
  return "part-" + std::to_string(sequence) + "-" + std::to_string(index) + ".mp4";
}

std::string init_name(std::uint64_t id) {
  return "init-" + std::to_string(id) + ".mp4";
}

void append_map(std::string& out, std::uint64_t init_id, std::string_view uri_suffix) {
  out += "#EXT-X-MAP:URI=\"";
  out += init_name(init_id);
  out += uri_suffix;
  out += "\"\n";
}

void append_parts(std::string& out, std::uint64_t sequence, const std::vector<HlsPart>& parts,
                  std::string_view uri_suffix) {
  for (std::size_t i = 0; i < parts.size(); ++i) {
    append_duration(out, "#EXT-X-PART:DURATION=", parts[i].duration_s, ",URI=\"");
    out += part_name(sequence, i);
    out += uri_suffix;
    out += parts[i].independent ? "\",INDEPENDENT=YES\n" : "\"\n";
  }
}

}  // namespace

std::string_view variant_name(HlsVariant variant) {
  switch (variant) {
    case HlsVariant::kMpegTs:
      return "mpegts";
    case HlsVariant::kFmp4:
      return "fmp4";
    case HlsVariant::kLowLatency:
      return "lowlatency";
  }
  return "mpegts";
}

std::optional<HlsVariant> parse_variant(std::string_view name) {
  for (auto v : {HlsVariant::kMpegTs, HlsVariant::kFmp4, HlsVariant::kLowLatency}) {
    if (variant_name(v) == name) return v;
  }
  return std::nullopt;
}

std::string render_playlist(const HlsSnapshot& snapshot, std::string_view uri_suffix,
                            std::size_t playlist_segments) {
  const auto& all = snapshot.segments;
  const bool mp4 = snapshot.variant != HlsVariant::kMpegTs;
  const bool low_latency = snapshot.variant == HlsVariant::kLowLatency;
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
  const std::uint64_t sequence = first < all.size() ? all[first].sequence
                                 : low_latency      ? snapshot.open_sequence
                                                    : snapshot.media_sequence;
  // EXT-X-DISCONTINUITY-SEQUENCE: the discontinuity sequence number of the first listed segment
  // (the front's, plus each discontinuity after the front up to it), less its own discontinuity,
  // whose tag is written before it.
  std::uint64_t discontinuities = snapshot.discontinuity_sequence;
  for (std::size_t i = 1; i <= first && i < all.size(); ++i)
    discontinuities += all[i].discontinuity ? 1 : 0;
  if (first < all.size() && all[first].discontinuity && discontinuities > 0) --discontinuities;
  std::string out;
  out.reserve(256 + (all.size() - first) * (48 + uri_suffix.size()) * (low_latency ? 12 : 1));
  out += low_latency ? "#EXTM3U\n#EXT-X-VERSION:9\n"
         : mp4       ? "#EXTM3U\n#EXT-X-VERSION:7\n"
                     : "#EXTM3U\n#EXT-X-VERSION:3\n";
  out += "#EXT-X-TARGETDURATION:";
  out += std::to_string(target);
  out += '\n';
  if (low_latency) {
    const double part = snapshot.part_target.count() / 1000.0;
    append_duration(out, "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=", 3 * part,
                    "\n");
    append_duration(out, "#EXT-X-PART-INF:PART-TARGET=", part, "\n");
  }
  out += "#EXT-X-MEDIA-SEQUENCE:";
  out += std::to_string(sequence);
  out += '\n';
  if (discontinuities > 0) {
    out += "#EXT-X-DISCONTINUITY-SEQUENCE:";
    out += std::to_string(discontinuities);
    out += '\n';
  }
  std::optional<std::uint64_t> mapped;  // the init section the last EXT-X-MAP named
  auto map_if_new = [&](std::uint64_t init_id) {
    if (!mp4 || mapped == init_id) return;
    append_map(out, init_id, uri_suffix);
    mapped = init_id;
  };
  for (std::size_t i = first; i < all.size(); ++i) {
    if (all[i].discontinuity) out += "#EXT-X-DISCONTINUITY\n";
    map_if_new(all[i].init_id);
    if (low_latency && i + 2 >= all.size())
      append_parts(out, all[i].sequence, all[i].parts, uri_suffix);
    append_duration(out, "#EXTINF:", all[i].duration_s, ",\n");
    out += segment_name(all[i].sequence, snapshot.variant);
    out += uri_suffix;
    out += '\n';
  }
  if (low_latency && !snapshot.ended) {
    if (snapshot.open_discontinuity) out += "#EXT-X-DISCONTINUITY\n";
    map_if_new(snapshot.open_init_id);
    append_parts(out, snapshot.open_sequence, snapshot.open_parts, uri_suffix);
    out += "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"";
    out += part_name(snapshot.open_sequence, snapshot.open_parts.size());
    out += uri_suffix;
    out += "\"\n";
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

std::string segment_name(std::uint64_t sequence, HlsVariant variant) {
  return "seg-" + std::to_string(sequence) + (variant == HlsVariant::kMpegTs ? ".ts" : ".mp4");
}

namespace {

// 1 to 19 decimal digits without a leading zero (except "0" itself).
std::optional<std::uint64_t> parse_number(std::string_view digits) {
  constexpr std::size_t kMaxDigits = 19;  // 10^19 - 1 < 2^64
  if (digits.empty() || digits.size() > kMaxDigits || (digits.size() > 1 && digits[0] == '0')) {
    return std::nullopt;
  }
  std::uint64_t value = 0;
  for (const char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return value;
}

}  // namespace

std::optional<std::uint64_t> parse_segment_name(std::string_view name) {
  constexpr std::string_view kPrefix = "seg-";
  constexpr std::string_view kSuffix = ".ts";
  if (name.size() > kPrefix.size() + 19 + kSuffix.size()) return std::nullopt;
  if (!name.starts_with(kPrefix) || !name.ends_with(kSuffix)) return std::nullopt;
  return parse_number(name.substr(kPrefix.size(), name.size() - kPrefix.size() - kSuffix.size()));
}

std::optional<HlsFile> parse_hls_file(std::string_view name) {
  if (name.size() > 48) return std::nullopt;
  HlsFile file;
  if (auto ts = parse_segment_name(name)) {
    file.number = *ts;
    return file;
  }
  if (!name.ends_with(".mp4")) return std::nullopt;
  name.remove_suffix(4);
  if (name.starts_with("seg-")) {
    auto n = parse_number(name.substr(4));
    if (!n) return std::nullopt;
    file.number = *n;
    file.mp4 = true;
    return file;
  }
  if (name.starts_with("init-")) {
    auto n = parse_number(name.substr(5));
    if (!n) return std::nullopt;
    file.kind = HlsFile::Kind::kInit;
    file.number = *n;
    return file;
  }
  if (name.starts_with("part-")) {
    name.remove_prefix(5);
    const auto dash = name.find('-');
    if (dash == std::string_view::npos) return std::nullopt;
    auto n = parse_number(name.substr(0, dash));
    auto p = parse_number(name.substr(dash + 1));
    if (!n || !p) return std::nullopt;
    file.kind = HlsFile::Kind::kPart;
    file.number = *n;
    file.part = *p;
    return file;
  }
  return std::nullopt;
}

std::shared_ptr<const std::string> find_file(const HlsSnapshot& snapshot, const HlsFile& file) {
  const bool mp4 = snapshot.variant != HlsVariant::kMpegTs;
  switch (file.kind) {
    case HlsFile::Kind::kSegment:
      return file.mp4 == mp4 ? find_segment(snapshot, file.number) : nullptr;
    case HlsFile::Kind::kInit:
      for (const auto& init : snapshot.inits) {
        if (init.id == file.number) return init.data;
      }
      return nullptr;
    case HlsFile::Kind::kPart: {
      if (snapshot.variant != HlsVariant::kLowLatency) return nullptr;
      if (file.number == snapshot.open_sequence) {
        return file.part < snapshot.open_parts.size() ? snapshot.open_parts[file.part].data
                                                      : nullptr;
      }
      for (const auto& s : snapshot.segments) {
        if (s.sequence == file.number) {
          return file.part < s.parts.size() ? s.parts[file.part].data : nullptr;
        }
      }
      return nullptr;
    }
  }
  return nullptr;
}

bool holds(const HlsSnapshot& snapshot, std::uint64_t msn, std::optional<std::uint64_t> part) {
  if (snapshot.ended) return true;  // nothing more will come: answer with what there is
  const bool complete = !snapshot.segments.empty() && msn <= snapshot.segments.back().sequence;
  if (complete || !part) return complete;
  return msn == snapshot.open_sequence && *part < snapshot.open_parts.size();
}

std::uint64_t last_sequence(const HlsSnapshot& snapshot) {
  if (snapshot.variant == HlsVariant::kLowLatency && !snapshot.ended) return snapshot.open_sequence;
  return snapshot.segments.empty() ? snapshot.media_sequence : snapshot.segments.back().sequence;
}

std::string render_multivariant(std::vector<HlsRendition> variants, std::string_view uri_suffix) {
  std::sort(variants.begin(), variants.end(),
            [](const HlsRendition& a, const HlsRendition& b) { return a.bandwidth > b.bandwidth; });
  std::string out = "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-INDEPENDENT-SEGMENTS\n";
  for (const auto& v : variants) {
    out += "#EXT-X-STREAM-INF:BANDWIDTH=" + std::to_string(v.bandwidth);
    if (v.width > 0 && v.height > 0) {
      out += ",RESOLUTION=" + std::to_string(v.width) + "x" + std::to_string(v.height);
    }
    if (v.fps > 0) {
      char rate[32];
      std::snprintf(rate, sizeof rate, "%.3f", v.fps);
      out += std::string(",FRAME-RATE=") + rate;
    }
    if (!v.codecs.empty()) out += ",CODECS=\"" + v.codecs + "\"";
    out += "\n" + v.uri + std::string(uri_suffix) + "\n";
  }
  return out;
}

}  // namespace sluice::media
