#include "relay/access_files.hpp"

#include <fstream>
#include <set>
#include <sstream>

namespace sluice::relay {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// Calls fn(line_number, line) for every meaningful line; stops at the first error.
template <class Fn>
Status for_each_line(std::string_view text, Fn&& fn) {
  std::size_t number = 0;
  while (!text.empty()) {
    auto end = text.find('\n');
    std::string_view line = trim(text.substr(0, end));
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    ++number;
    if (line.empty() || line.front() == '#') continue;
    if (auto s = fn(number, line); !s) return s;
  }
  return {};
}

Error line_error(std::size_t number, std::string_view what) {
  return Error::bad_request("line " + std::to_string(number) + ": " + std::string(what));
}

Result<std::string> read_file(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::unexpected(Error::internal("cannot read " + std::string(what) + " " + path));
  std::ostringstream out;
  out << in.rdbuf();
  std::string text = std::move(out).str();
  if (text.size() > kMaxAccessFileBytes) {
    return std::unexpected(
        Error::internal(std::string(what) + " " + path + " is larger than 4 MiB"));
  }
  return text;
}

}  // namespace

Result<UserTable> parse_users(std::string_view text) {
  UserTable users;
  auto status = for_each_line(text, [&](std::size_t n, std::string_view line) -> Status {
    auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return std::unexpected(
          line_error(n, "expected NAME:SCRAM-SHA-256$... (see `sluice passwd`)"));
    }
    std::string_view name = trim(line.substr(0, colon));
    if (name.empty() || name.size() > wire::scram::kMaxUsernameBytes) {
      return std::unexpected(line_error(n, "a user name must be 1 to 255 bytes"));
    }
    auto credentials = wire::scram::parse_credentials(trim(line.substr(colon + 1)));
    if (!credentials) {
      return std::unexpected(
          line_error(n, "user '" + std::string(name) + "': " + credentials.error().detail));
    }
    if (!users.emplace(std::string(name), *credentials).second) {
      return std::unexpected(line_error(n, "user '" + std::string(name) + "' appears twice"));
    }
    return {};
  });
  if (!status) return std::unexpected(status.error());
  return users;
}

Result<std::vector<std::string>> parse_tokens(std::string_view text) {
  std::vector<std::string> tokens;
  std::set<std::string, std::less<>> seen;
  auto status = for_each_line(text, [&](std::size_t n, std::string_view line) -> Status {
    if (line.size() < kMinTokenBytes) {
      return std::unexpected(line_error(n, "a token must be at least 16 characters"));
    }
    if (line.find_first_of(" \t") != std::string_view::npos) {
      return std::unexpected(line_error(n, "a token must not contain spaces"));
    }
    if (!seen.emplace(line).second) return std::unexpected(line_error(n, "duplicate token"));
    tokens.emplace_back(line);
    return {};
  });
  if (!status) return std::unexpected(status.error());
  return tokens;
}

Result<AuthConfig> load_access(const AccessSettings& settings) {
  AuthConfig auth;
  auth.allow_tokens_without_tls = settings.tokens_without_tls;
  auto prefixed = [](const std::string& path, Error e) {
    e.detail = path + ": " + e.detail;
    return std::unexpected(std::move(e));
  };
  if (!settings.users_file.empty()) {
    auto text = read_file(settings.users_file, "wire-users file");
    if (!text) return std::unexpected(text.error());
    auto users = parse_users(*text);
    if (!users) return prefixed(settings.users_file, users.error());
    auth.users = std::move(*users);
  }
  if (!settings.tokens_file.empty()) {
    auto text = read_file(settings.tokens_file, "wire-tokens file");
    if (!text) return std::unexpected(text.error());
    auto tokens = parse_tokens(*text);
    if (!tokens) return prefixed(settings.tokens_file, tokens.error());
    auth.tokens = std::move(*tokens);
  }
  auth.allow_anonymous =
      settings.anonymous.value_or(settings.users_file.empty() && settings.tokens_file.empty());
  return auth;
}

}  // namespace sluice::relay
