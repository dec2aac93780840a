// STUN from the network (what reaches sluiced's WebRTC port): parse() never reads outside the
// datagram; whatever it accepts has the attributes it says; checking integrity never crashes; a
// response to an accepted request parses back with the same transaction and passes its own checks.
#include <cstdint>
#include <span>
#include <string>

#include "media/protocols/webrtc/stun.hpp"

namespace {

using namespace sluice::media::webrtc;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  (void)stun::looks_like_stun(bytes);
  auto m = stun::parse(bytes);
  if (!m) return 0;
  check(size >= stun::kHeaderSize && size % 4 == 0);
  check(!m->username || m->username->size() <= 513);
  check(m->integrity_at == 0 || m->integrity_at + 24 <= size);
  (void)stun::integrity_ok(bytes, *m, "password");
  stun::Address mapped;
  mapped.port = 5000;
  mapped.ip[0] = 127;
  mapped.ip[3] = 1;
  const std::string response = stun::binding_success(m->transaction, mapped, "password");
  auto r = stun::parse(
      {reinterpret_cast<const std::uint8_t*>(response.data()), response.size()});
  check(r.has_value() && r->transaction == m->transaction && r->fingerprint);
  check(r->xor_mapped_address && *r->xor_mapped_address == mapped);
  check(stun::integrity_ok(
      {reinterpret_cast<const std::uint8_t*>(response.data()), response.size()}, *r, "password"));
  return 0;
}
