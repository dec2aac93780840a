#include "media/servers/record/record_layout.hpp"

#include <ctime>

namespace sluice::media {
namespace {

constexpr int kMaxDepth = 6;
constexpr std::size_t kMaxLength = 256;

bool plain(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

struct Token {
  std::string_view name;
  std::string_view pattern;
};
constexpr Token kTokens[] = {{"%path", "([A-Za-z0-9._-]+)"},
                             {"%Y", "[0-9]{4}"},
                             {"%m", "[0-9]{2}"},
                             {"%d", "[0-9]{2}"},
                             {"%H", "[0-9]{2}"}};

Error bad(std::string why) {
  return Error::invalid_field({"body", "value"}, "record_path_template: " + std::move(why));
}

}  // namespace

RecordLayout::RecordLayout() : text_("%path"), pattern_("([A-Za-z0-9._-]+)") {}

Result<RecordLayout> RecordLayout::parse(std::string_view text) {
  if (text.empty() || text.size() > kMaxLength) return fail(bad("1-256 characters"));
  RecordLayout layout;
  layout.text_ = std::string(text);
  std::string regex;
  int paths = 0;
  int depth = 1;
  std::string_view component_start = text;
  std::size_t component_length = 0;
  for (std::size_t i = 0; i < text.size();) {
    const std::string_view rest = text.substr(i);
    if (text[i] == '/') {
      if (component_length == 0)
        return fail(bad("an empty directory name (\"//\" or a '/' at an end)"));
      if (std::string_view(component_start.data(), component_length) == "." ||
          std::string_view(component_start.data(), component_length) == "..") {
        return fail(bad("'.' and '..' are not directory names here"));
      }
      if (++depth > kMaxDepth) return fail(bad("at most 6 directory levels"));
      regex += '/';
      ++i;
      component_start = text.substr(i);
      component_length = 0;
      continue;
    }
    if (text[i] == '%') {
      const Token* token = nullptr;
      for (const auto& t : kTokens) {
        if (rest.starts_with(t.name)) token = &t;
      }
      if (!token)
        return fail(bad("unknown token at '" + std::string(rest.substr(0, 6)) +
                        "' (%path, %Y, %m, %d, %H)"));
      if (token->name == "%path") ++paths;
      regex += token->pattern;
      i += token->name.size();
      component_length += token->name.size();
      continue;
    }
    if (!plain(text[i])) {
      return fail(bad("letters, digits, '.', '_', '-', '/' and the tokens only"));
    }
    if (text[i] == '.') regex += '\\';
    regex += text[i];
    ++i;
    ++component_length;
  }
  if (component_length == 0) return fail(bad("an empty directory name (a '/' at the end)"));
  const std::string_view last(component_start.data(), component_length);
  if (last == "." || last == "..") return fail(bad("'.' and '..' are not directory names here"));
  if (paths != 1) return fail(bad("%path must appear exactly once"));
  layout.pattern_ = std::regex(regex);
  layout.depth_ = depth;
  return layout;
}

std::string RecordLayout::directory(const std::string& path, std::int64_t start_ms) const {
  const std::time_t seconds = static_cast<std::time_t>(start_ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  auto two = [](int n) {
    std::string s = std::to_string(n);
    return s.size() < 2 ? "0" + s : s;
  };
  std::string out;
  for (std::size_t i = 0; i < text_.size();) {
    const std::string_view rest = std::string_view(text_).substr(i);
    if (rest.starts_with("%path")) {
      out += path;
      i += 5;
    } else if (rest.starts_with("%Y")) {
      out += std::to_string(utc.tm_year + 1900);
      i += 2;
    } else if (rest.starts_with("%m")) {
      out += two(utc.tm_mon + 1);
      i += 2;
    } else if (rest.starts_with("%d")) {
      out += two(utc.tm_mday);
      i += 2;
    } else if (rest.starts_with("%H")) {
      out += two(utc.tm_hour);
      i += 2;
    } else {
      out += text_[i++];
    }
  }
  return out;
}

std::optional<std::string> RecordLayout::path_of(std::string_view relative_dir) const {
  std::match_results<std::string_view::const_iterator> m;
  if (!std::regex_match(relative_dir.begin(), relative_dir.end(), m, pattern_)) {
    return std::nullopt;
  }
  return m[1].str();
}

}  // namespace sluice::media
