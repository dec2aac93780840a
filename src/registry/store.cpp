#include "registry/store.hpp"

#include <boost/json/serialize.hpp>

namespace sluice::registry {

Result<StreamJsonPage> RegistryStore::list_stream_json(const std::optional<std::string>& type,
                                                       std::size_t offset,
                                                       std::optional<std::size_t> limit) const {
  auto streams = list_streams(type);
  if (!streams) return std::unexpected(streams.error());
  StreamJsonPage page;
  page.total = streams->size();
  for (std::size_t i = offset; i < streams->size() && (!limit || page.items.size() < *limit); ++i) {
    page.items.push_back(
        std::make_shared<const std::string>(boost::json::serialize(to_json((*streams)[i]))));
  }
  return page;
}

Result<std::size_t> RegistryStore::stream_count() const {
  auto c = counts();
  if (!c) return std::unexpected(c.error());
  std::size_t n = 0;
  for (const auto& [type, count] : c->streams)
    n += count;
  return n;
}

}  // namespace sluice::registry
