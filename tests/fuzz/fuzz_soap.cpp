// SOAP bodies from the network (ONVIF requests, WS-Discovery Probes): the XML reader accepts or
// refuses anything within its bounds — never expanding entities, never recursing past its depth —
// and what it accepts is a tree within those bounds whose local names are found again by find().
#include <cstdint>
#include <string_view>

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
  return 0;
}
