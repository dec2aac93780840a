#include "hub/subject.hpp"

namespace sluice::hub {
namespace {

constexpr std::size_t kMaxSubjectBytes = 1024;

bool valid_token_chars(std::string_view token) {
  for (char c : token) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

bool validate(std::string_view s, bool allow_wildcards) {
  if (s.empty() || s.size() > kMaxSubjectBytes) return false;
  auto tokens = split_tokens(s);
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    auto t = tokens[i];
    if (t.empty() || !valid_token_chars(t)) return false;
    bool wildcard = t == "*" || t == ">";
    if (wildcard && !allow_wildcards) return false;
    if (t == ">" && i + 1 != tokens.size()) return false;
  }
  return true;
}

}  // namespace

std::vector<std::string_view> split_tokens(std::string_view subject) {
  std::vector<std::string_view> tokens;
  std::size_t start = 0;
  while (true) {
    auto dot = subject.find('.', start);
    if (dot == std::string_view::npos) {
      tokens.push_back(subject.substr(start));
      return tokens;
    }
    tokens.push_back(subject.substr(start, dot - start));
    start = dot + 1;
  }
}

bool is_valid_subject(std::string_view subject) {
  return validate(subject, false);
}
bool is_valid_pattern(std::string_view pattern) {
  return validate(pattern, true);
}

bool subject_matches(std::string_view pattern, std::string_view subject) {
  auto p = split_tokens(pattern);
  auto s = split_tokens(subject);
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (p[i] == ">") return s.size() > i;
    if (i >= s.size()) return false;
    if (p[i] != "*" && p[i] != s[i]) return false;
  }
  return p.size() == s.size();
}

bool pattern_covers(std::string_view outer, std::string_view inner) {
  auto o = split_tokens(outer);
  auto n = split_tokens(inner);
  for (std::size_t i = 0; i < o.size(); ++i) {
    if (o[i] == ">") return n.size() > i;
    if (i >= n.size() || n[i] == ">") return false;
    if (o[i] != "*" && (n[i] == "*" || o[i] != n[i])) return false;
  }
  return o.size() == n.size();
}

}  // namespace sluice::hub
