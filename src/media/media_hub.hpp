#pragma once
// MediaHub: the live paths by name. One owner (the media thread): every call comes from it, so
// there are no locks; other threads ask through the media loop (media/servers/media_server.hpp).
//
// Rules: a name has at most one publisher. A second publish of a live name is refused (409),
// unless it comes with the same stream key as the live one (an encoder reconnecting after a
// network drop while its old connection has not timed out yet) or `takeover` is set: then the
// old publisher is kicked and the new one takes the path
// (readers stay attached and continue from the new publisher's first keyframe, its timestamps
// rebased to follow the old publisher's, so players and the HLS muxer see no jump back). The old
// publisher's PublisherHandle::kick() is called during publish() and may call unpublish().
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "media/media_path.hpp"

namespace sluice::media {

// Told about lifecycle changes (registry advertisement, hub events). Called on the media thread.
class PathObserver {
 public:
  virtual ~PathObserver() = default;
  virtual void on_publish_start(const MediaPath& path) = 0;
  virtual void on_description_changed(const MediaPath& path) = 0;
  virtual void on_publish_end(const MediaPath& path) = 0;
};

struct MediaHubOptions {
  PathOptions path;
  bool takeover = false;
  std::size_t max_paths = 1024;
};

class MediaHub {
 public:
  explicit MediaHub(MediaHubOptions options = {}, PathObserver* observer = nullptr)
      : options_(options), observer_(observer) {}

  // Starts publishing `name`. Errors: 409 when live and takeover is off, 503 over max_paths.
  Result<MediaPath*> publish(const std::string& name, PublisherInfo publisher,
                             PublisherHandle* handle);
  // The publisher behind `path` left: readers are told, the path is removed. `path` dangles after.
  // A path that is no longer here (already unpublished) is ignored; it is never dereferenced.
  void unpublish(MediaPath* path);
  // Call after MediaPath::on_metadata() reported a change.
  void description_changed(const MediaPath& path);

  MediaPath* find(const std::string& name);
  std::vector<const MediaPath*> paths() const;
  std::size_t size() const { return paths_.size(); }
  const MediaHubOptions& options() const { return options_; }
  // The rtmp_takeover setting; applies to the next publish.
  void set_takeover(bool takeover) { options_.takeover = takeover; }

 private:
  MediaHubOptions options_;
  PathObserver* observer_;
  std::map<std::string, std::unique_ptr<MediaPath>, std::less<>> paths_;
};

}  // namespace sluice::media
