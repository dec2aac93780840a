// Registry records, stream types and stream keys read back from Redis hashes another writer may
// have left in any state: the input is split into field/value pairs; decoding must never crash, and
// whatever decodes must encode and decode again to the same record.
#include <cstdint>
#include <string>

#include "redis/record_codec.hpp"

namespace {

using namespace sluice;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

redis::Hash pairs_of(std::string_view in) {
  // Fields separated by '\n', name and value by the first '='.
  redis::Hash h;
  while (!in.empty() && h.size() < 64) {
    auto nl = in.find('\n');
    std::string_view line = in.substr(0, nl);
    auto eq = line.find('=');
    h.emplace_back(std::string(line.substr(0, eq)),
                   eq == std::string_view::npos ? std::string() : std::string(line.substr(eq + 1)));
    if (nl == std::string_view::npos) break;
    in.remove_prefix(nl + 1);
  }
  return h;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const redis::Hash h = pairs_of({reinterpret_cast<const char*>(data), size});
  if (auto s = redis::stream_from_hash(h)) {
    auto again = redis::stream_from_hash(redis::to_hash(*s));
    check(again.has_value() && again->id == s->id && again->port == s->port &&
          again->config == s->config);
  }
  if (auto s = redis::session_from_hash(h)) {
    auto again = redis::session_from_hash(redis::to_hash(*s));
    check(again.has_value() && again->session_id == s->session_id &&
          again->bytes_transferred == s->bytes_transferred);
  }
  if (auto s = redis::subscriber_from_hash(h)) {
    auto again = redis::subscriber_from_hash(redis::to_hash(*s));
    check(again.has_value() && again->subscriber_id == s->subscriber_id &&
          again->multicast_port == s->multicast_port);
  }
  if (auto t = redis::type_from_hash(h)) {
    auto again = redis::type_from_hash(redis::to_hash(*t));
    check(again.has_value() && again->name == t->name &&
          again->schema_fields.size() == t->schema_fields.size());
  }
  if (auto k = redis::key_from_hash(h)) {
    auto again = redis::key_from_hash(redis::to_hash(*k));
    check(again.has_value() && again->hmac == k->hmac && again->allowed_ips == k->allowed_ips &&
          again->uses == k->uses);
  }
  return 0;
}
