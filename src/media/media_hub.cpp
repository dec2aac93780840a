#include "media/media_hub.hpp"

#include <algorithm>

namespace sluice::media {

Result<MediaPath*> MediaHub::publish(const std::string& name, PublisherInfo publisher,
                                     PublisherHandle* handle) {
  auto it = paths_.find(name);
  if (it != paths_.end()) {
    const std::string& live_key = it->second->publisher().key_id;
    const bool reconnect = !live_key.empty() && live_key == publisher.key_id;
    if (!options_.takeover && !reconnect) {
      return fail(Error::conflict("'" + name + "' is already being published"));
    }
    // Takeover: the old publisher goes (its handle unpublishes the old path synchronously),
    // its readers stay for the new one.
    MediaPath* old = it->second.get();
    const std::uint32_t last = old->last_timestamp();
    auto readers = old->readers();
    for (MediaSink* r : readers)
      old->detach(r);
    if (PublisherHandle* old_handle = old->publisher_handle()) {
      old_handle->kick("taken over by a new publisher");
    }
    unpublish(old);  // in case the handle did not (a no-op when it did)
    auto fresh = std::make_unique<MediaPath>(name, std::move(publisher), handle, options_.path);
    MediaPath* raw = fresh.get();
    raw->continue_after(last);
    for (MediaSink* r : readers)
      raw->attach(r);
    paths_.emplace(name, std::move(fresh));
    if (observer_) observer_->on_publish_start(*raw);
    return raw;
  }
  if (paths_.size() >= options_.max_paths) {
    return fail(
        Error::unavailable("too many live paths (" + std::to_string(options_.max_paths) + ")"));
  }
  auto path = std::make_unique<MediaPath>(name, std::move(publisher), handle, options_.path);
  MediaPath* raw = path.get();
  paths_.emplace(name, std::move(path));
  if (observer_) observer_->on_publish_start(*raw);
  return raw;
}

void MediaHub::unpublish(MediaPath* path) {
  if (!path) return;
  auto it = std::find_if(paths_.begin(), paths_.end(),
                         [path](const auto& entry) { return entry.second.get() == path; });
  if (it == paths_.end()) return;  // already gone
  std::unique_ptr<MediaPath> owned = std::move(it->second);
  paths_.erase(it);
  owned->end();
  if (observer_) observer_->on_publish_end(*owned);
}

void MediaHub::description_changed(const MediaPath& path) {
  if (observer_) observer_->on_description_changed(path);
}

MediaPath* MediaHub::find(const std::string& name) {
  auto it = paths_.find(name);
  return it == paths_.end() ? nullptr : it->second.get();
}

std::vector<const MediaPath*> MediaHub::paths() const {
  std::vector<const MediaPath*> out;
  out.reserve(paths_.size());
  for (const auto& [name, path] : paths_)
    out.push_back(path.get());
  return out;
}

}  // namespace sluice::media
