#pragma once
// The directory of relay channels: who owns each, what went through it, its last value and
// its registry entry. Subscriptions themselves live in the hub (patterns may match channels
// that do not exist yet); the directory counts them on demand. Owned by the relay thread.
#include <boost/json/object.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"

namespace sluice::relay {

struct ChannelOptions {
  bool keep_last_value = false;  // late subscribers asking for it get the latest message
  bool advertise = true;         // appear in the registry as a stream
  std::string stream_type = "data";
  boost::json::object metadata;
};

struct ChannelInfo {
  std::string name;
  std::string owner;  // "server" or the owning client's session id
  std::uint64_t message_count = 0;
  std::uint64_t bytes = 0;
  // Messages subscribers' full queues dropped when this channel's messages reached them (their
  // overflow policies: drop-oldest, drop-newest, disconnect, block past its bound).
  std::uint64_t dropped = 0;
  std::size_t subscribers = 0;
  std::size_t publishers = 0;
  bool active = true;
  std::string registry_id;  // empty when not advertised
  WallTime created_at;
};

class RelayConnection;

struct ChannelEntry {
  ChannelInfo info;
  // The owning client's connection and publish stream (null for server-owned channels or once
  // the owner left): subscribe/unsubscribe notifications go there as EVENT frames.
  RelayConnection* owner_connection = nullptr;
  std::uint32_t owner_stream = 0;
  ChannelOptions options;
  bool server_owned = false;
  // Last value for late joiners (when options.keep_last_value).
  std::shared_ptr<const std::string> last_value;
};

class ChannelDirectory {
 public:
  static constexpr std::size_t kMaxChannels = 100'000;

  ChannelEntry* find(std::string_view name);
  const ChannelEntry* find(std::string_view name) const;
  // Creates the entry when missing (nullptr past kMaxChannels); `created` tells which.
  ChannelEntry* get_or_create(const std::string& name, bool& created);
  void erase(std::string_view name);
  template <class Fn>
  void for_each(Fn&& fn) const {
    for (const auto& [name, entry] : channels_)
      fn(*entry);
  }
  template <class Fn>
  void for_each(Fn&& fn) {
    for (auto& [name, entry] : channels_)
      fn(*entry);
  }
  std::size_t size() const { return channels_.size(); }

 private:
  // unique_ptr: entries are referenced by publishers and must not move.
  std::map<std::string, std::unique_ptr<ChannelEntry>, std::less<>> channels_;
};

}  // namespace sluice::relay
