// What an RTSP client sends (requests, bodies, interleaved frames) and the Transport headers in
// it: the Reader in whole and in slices must agree on every message; every Transport header of
// a request parses or is refused, and an answer written from a parsed one parses back.
#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "media/protocols/rtsp/rtsp_message.hpp"
#include "media/protocols/rtsp/rtsp_transport.hpp"

namespace {

using namespace sluice::media::rtsp;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

bool same(const Message& a, const Message& b) {
  if (a.index() != b.index()) return false;
  if (const auto* r = std::get_if<Request>(&a)) {
    const auto& s = std::get<Request>(b);
    return r->method == s.method && r->uri == s.uri && r->body == s.body &&
           r->headers.size() == s.headers.size();
  }
  const auto& f = std::get<Interleaved>(a);
  const auto& g = std::get<Interleaved>(b);
  return f.channel == g.channel && f.payload == g.payload;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::uint8_t> in(data, size);
  Reader whole;
  std::vector<Message> a;
  const bool ok_whole = whole.feed(in, a).has_value();
  Reader sliced;
  std::vector<Message> b;
  bool ok_sliced = true;
  for (std::size_t at = 0; at < size && ok_sliced; at += 5) {
    ok_sliced = sliced.feed(in.subspan(at, std::min<std::size_t>(5, size - at)), b).has_value();
  }
  check(ok_whole == ok_sliced);
  check(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    check(same(a[i], b[i]));
    if (const auto* r = std::get_if<Request>(&a[i])) {
      if (const auto* t = r->header("Transport")) {
        if (auto parsed = parse_transports(*t)) {
          for (const auto& option : *parsed) {
            auto back = parse_transports(option.to_string());
            check(back.has_value() && back->size() == 1);
            check((*back)[0].interleaved == option.interleaved);
            check((*back)[0].client_port == option.client_port);
          }
        }
      }
    }
  }
  // The input as a Transport header by itself.
  (void)parse_transports(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
