#include "relay/channel_directory.hpp"

namespace sluice::relay {

ChannelEntry* ChannelDirectory::find(std::string_view name) {
  auto it = channels_.find(name);
  return it == channels_.end() ? nullptr : it->second.get();
}

const ChannelEntry* ChannelDirectory::find(std::string_view name) const {
  auto it = channels_.find(name);
  return it == channels_.end() ? nullptr : it->second.get();
}

ChannelEntry* ChannelDirectory::get_or_create(const std::string& name, bool& created) {
  created = false;
  if (auto* e = find(name)) return e;
  if (channels_.size() >= kMaxChannels) return nullptr;
  auto entry = std::make_unique<ChannelEntry>();
  entry->info.name = name;
  auto* raw = entry.get();
  channels_.emplace(name, std::move(entry));
  created = true;
  return raw;
}

void ChannelDirectory::erase(std::string_view name) {
  if (auto it = channels_.find(name); it != channels_.end()) channels_.erase(it);
}

}  // namespace sluice::relay
