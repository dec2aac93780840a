#include "auth/subjects.hpp"

#include <string>

namespace sluice::auth {
namespace {

bool starts(std::string_view s, std::string_view prefix) {
  return s.starts_with(prefix);
}

}  // namespace

SubjectClass classify_subject(std::string_view s) {
  if (starts(s, "maestra.stream.request.")) return SubjectClass::kRequest;
  if (starts(s, "maestra.stream.heartbeat.") || starts(s, "maestra.stream.session.heartbeat.") ||
      starts(s, "maestra.stream.subscriber.heartbeat.")) {
    return SubjectClass::kHeartbeat;
  }
  if (s == "maestra" || starts(s, "maestra.")) return SubjectClass::kRegistry;
  if (s == "sluice" || starts(s, "sluice.")) return SubjectClass::kSluice;
  return SubjectClass::kChannel;
}

bool is_reserved_subject(std::string_view s) {
  return classify_subject(s) != SubjectClass::kChannel;
}

std::optional<Need> read_need(std::string_view s) {
  switch (classify_subject(s)) {
    case SubjectClass::kRequest:
      return std::nullopt;
    case SubjectClass::kHeartbeat:
    case SubjectClass::kRegistry:
      if (starts(s, "maestra.stream.session.") || starts(s, "maestra.stream.subscriber.")) {
        return Need{Resource::kSessions, Access::kRead, {}};
      }
      return Need{Resource::kStreams, Access::kRead, {}};
    case SubjectClass::kSluice:
      if (starts(s, "sluice.media.") || starts(s, "sluice.pipelines.") ||
          starts(s, "sluice.recordings.")) {
        return Need{Resource::kMedia, Access::kRead, {}};
      }
      if (starts(s, "sluice.settings.")) return Need{Resource::kSettings, Access::kRead, {}};
      if (s == "sluice.audit" || starts(s, "sluice.audit.")) {
        return Need{Resource::kUsers, Access::kWrite, {}};
      }
      return Need{Resource::kStreams, Access::kRead, {}};
    case SubjectClass::kChannel:
      break;
  }
  return Need{Resource::kChannels, Access::kRead, std::string(s)};
}

std::optional<Need> subscribe_need(std::string_view pattern) {
  // A pattern starting with a wildcard may match any class: checked per message.
  if (pattern.starts_with("*") || pattern.starts_with(">")) return std::nullopt;
  auto first_dot = pattern.find('.');
  std::string_view first = pattern.substr(0, first_dot);
  if (first == "maestra" || first == "sluice") {
    // Inside a reserved namespace: the need of the most specific literal prefix.
    std::string_view literal = pattern.substr(0, pattern.find_first_of("*>"));
    if (literal.ends_with('.')) literal.remove_suffix(1);
    if (classify_subject(literal) == SubjectClass::kRequest || literal == "maestra.stream" ||
        literal == "maestra") {
      return std::nullopt;  // spans requests and other classes: per message
    }
    return read_need(literal);
  }
  return Need{Resource::kChannels, Access::kRead, std::string(pattern)};
}

}  // namespace sluice::auth
