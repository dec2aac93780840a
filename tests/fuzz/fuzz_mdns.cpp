// mDNS from the network (what reaches UDP 5353): parse_message() never reads outside the
// datagram; whatever it accepts writes back and, when that fits a datagram, parses back equal;
// the responder answers it (as a legacy unicast, a QU and a multicast query) with datagrams that
// parse, stay bounded, and — to a legacy query — carry TTLs of at most 10 s and the query's ID.
#include <cstdint>
#include <span>
#include <vector>

#include "mdns/dns_message.hpp"
#include "mdns/mdns_responder.hpp"

namespace {

using namespace sluice::mdns;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

const MdnsResponder& responder() {
  static const MdnsResponder r = *MdnsResponder::create(ResponderConfig{
      "sluice-fuzz.local",
      {{192, 0, 2, 2}, {10, 0, 0, 1}},
      {{"sluice-fuzz", "_maestra._tcp", 8080, {{"api_url", "http://192.0.2.2:8080"}}},
       {"sluice-fuzz", "_sluice._tcp", 7400, {}},
       {"cam1", "_rtsp._tcp", 8554, {{"path", "/cam1"}}},
       {"sluice console", "_http._tcp", 8080, {}}}});
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  auto m = parse_message(bytes);
  if (m) {
    check(size <= kMaxDatagram);
    auto written = build_message(*m);
    check(written.has_value());
    if (written->size() <= kMaxDatagram) {
      auto again = parse_message(*written);
      check(again.has_value() && *again == *m);
    }
  }
  const Peer legacy{{192, 0, 2, 9}, 40000}, peer{{192, 0, 2, 9}, kMdnsPort};
  for (const Arrival& arrival :
       {Arrival{legacy, true, {}}, Arrival{peer, true, {}}, Arrival{peer, false, {}}}) {
    auto replies = responder().answer(bytes, arrival);
    check(replies.has_value() == m.has_value());
    if (!replies) continue;
    check(replies->size() <= 64);
    for (const auto& o : *replies) {
      auto reply = parse_message(o.datagram);
      check(reply.has_value() && reply->is_response());
      if (arrival.from.port == kMdnsPort) continue;
      check(!o.multicast && o.to == legacy && reply->id == m->id);
      for (const auto& r : reply->answers)
        check(r.ttl <= kLegacyUnicastMaxTtl && !r.cache_flush);
    }
  }
  return 0;
}
