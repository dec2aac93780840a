// SOAP bodies from the network (ONVIF requests, WS-Discovery Probes): the XML reader accepts or
// refuses anything within its bounds — never expanding entities, never recursing past its depth —
// and what it accepts is a tree within those bounds whose local names are found again by find().
// The same bytes as an ONVIF request are answered (a response or a fault, never a crash) and as a
// WS-Discovery datagram are a Probe that is matched, or refused.
#include <cstdint>
#include <string_view>

#include "media/protocols/onvif/onvif_device.hpp"
#include "media/protocols/onvif/ws_discovery.hpp"
#include "media/protocols/onvif/xml.hpp"

namespace {

using namespace sluice::media::onvif;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

std::size_t count(const XmlElement& e, std::size_t depth) {
  check(depth <= kMaxXmlDepth);
  std::size_t n = 1;
  for (const auto& c : e.children) {
    n += count(c, depth + 1);
  }
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto doc = parse_xml(text);
  if (!doc) return 0;
  check(!doc->name.empty());
  check(count(*doc, 1) <= kMaxXmlElements);
  // Text never grows past the input: only the predefined entities are decoded.
  check(doc->text.size() <= size);
  if (!doc->children.empty()) check(doc->find(doc->children[0].name) == &doc->children[0]);
  (void)xml_escape(doc->text);

  if (auto request = parse_soap_request(text)) {
    DeviceContext context;
    context.http_base = "http://127.0.0.1:8080";
    context.rtsp_base = "rtsp://127.0.0.1:8554";
    context.profiles.push_back(MediaProfile{"cam", "cam", "h264", 640, 480, 25, 1000, "aac", 64});
    const DeviceResponse r = answer(*request, context);
    check(r.status == 200 || r.status == 400 || r.status == 500);
    check(r.body.starts_with("<?xml"));
  }
  if (auto probe = parse_probe(text); probe && *probe) {
    const DiscoveryTarget target{"urn:uuid:0", {"http://127.0.0.1:8080/onvif/device_service"}};
    const std::string match = probe_matches(**probe, target, "urn:uuid:1");
    check(parse_xml(match).has_value());  // escaped: what came in cannot break what goes out
  }
  return 0;
}
