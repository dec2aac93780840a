#pragma once
// RecordLayout: where a recorded path's segments go under the recording directory — the
// record_path_template setting. A template is 1–6 '/'-separated directory names made of
// letters, digits, '.', '_', '-' and the tokens %path (the path's name: exactly once), %Y, %m,
// %d and %H (the segment's start, UTC). "%path" (the default) keeps each path in a directory of
// its own; "%Y-%m-%d/%path" groups them by day; "%path/%Y/%m/%d/%H" by hour. Segment file names
// stay <start ms>_<duration ms>_<run>.m4s (they carry what playback needs), with their run's
// <run>.init.mp4 beside them. Sans I/O; a value type.
#include <cstdint>
#include <optional>
#include <regex>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace sluice::media {

class RecordLayout {
 public:
  RecordLayout();  // "%path"
  // 422-worthy errors name what is wrong with `text`.
  static Result<RecordLayout> parse(std::string_view text);

  // The directory (relative, '/'-separated) of `path`'s segment starting at `start_ms` (Unix ms).
  std::string directory(const std::string& path, std::int64_t start_ms) const;
  // The path whose segments a directory (relative, '/'-separated) holds; nullopt when the
  // template does not make it.
  std::optional<std::string> path_of(std::string_view relative_dir) const;
  // How many directory levels the template makes.
  int depth() const { return depth_; }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::regex pattern_;  // the template as a regular expression, %path captured
  int depth_ = 1;
};

}  // namespace sluice::media
