// Stream keys as presented by RTMP clients (publish names, play query strings) and allow-list
// entries typed by operators: KeyService::check_publish/check_read over a store holding a few
// keys, the key parser, and the IP/CIDR parsers. A key that is not one of the stored ones must
// never be accepted, and no input may crash.
#include <cstdint>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

#include "keys/ip_rules.hpp"
#include "keys/key_format.hpp"
#include "keys/key_service.hpp"
#include "registry/memory_store.hpp"

namespace {

struct Fixture {
  sluice::registry::MemoryStore store;
  sluice::FakeClock clock;
  sluice::keys::KeyService keys{store, clock, std::string(32, 'k')};
  std::string publish_key;
  std::string read_key;
  Fixture() {
    spdlog::set_level(spdlog::level::off);  // every refusal is logged
    sluice::keys::CreateKeyRequest r;
    r.stream = "cam";
    r.allowed_ips = {"10.0.0.0/8", "2001:db8::/32"};
    publish_key = keys.create(r)->key;
    r.kind = sluice::keys::KeyKind::kRead;
    r.allowed_ips.clear();
    read_key = keys.create(r)->key;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Fixture* f = new Fixture;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  // The first line is the peer address, the rest the presented key.
  std::string_view peer = text.substr(0, std::min(text.find('\n'), text.size()));
  std::string_view key = text.size() > peer.size() ? text.substr(peer.size() + 1) : text;

  if (auto id = sluice::keys::parse_key_id(text)) {
    if (id->size() != sluice::keys::kKeyIdLength) __builtin_trap();
  }
  if (auto g = f->keys.check_publish(key, peer); g && key != f->publish_key) __builtin_trap();
  if (auto g = f->keys.check_read("cam", key, peer); g && *g && key != f->read_key) {
    __builtin_trap();
  }
  if (auto a = sluice::keys::parse_ip(text)) {
    auto again = sluice::keys::parse_ip(a->to_string());
    if (!again || again->bytes != a->bytes) __builtin_trap();
  }
  std::string why;
  if (auto n = sluice::keys::parse_ip_rule(text, &why)) {
    auto again = sluice::keys::parse_ip_rule(n->to_string());
    if (!again || again->prefix != n->prefix || again->address.bytes != n->address.bytes) {
      __builtin_trap();
    }
    (void)n->contains(n->address);
  }
  return 0;
}
