#include "media/media_policy.hpp"

namespace sluice::media {

std::string_view event_name(MediaEventKind kind) {
  switch (kind) {
    case MediaEventKind::kPreConnect:
      return "preConnect";
    case MediaEventKind::kPostConnect:
      return "postConnect";
    case MediaEventKind::kDoneConnect:
      return "doneConnect";
    case MediaEventKind::kPrePublish:
      return "prePublish";
    case MediaEventKind::kPostPublish:
      return "postPublish";
    case MediaEventKind::kDonePublish:
      return "donePublish";
    case MediaEventKind::kPrePlay:
      return "prePlay";
    case MediaEventKind::kPostPlay:
      return "postPlay";
    case MediaEventKind::kDonePlay:
      return "donePlay";
  }
  return "unknown";
}

}  // namespace sluice::media
