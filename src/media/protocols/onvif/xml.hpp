#pragma once
// A small XML reader for what ONVIF clients send (SOAP requests to the device and media services,
// WS-Discovery Probes), sans I/O. Elements, attributes and text; namespace prefixes are kept as
// written and elements are looked up by local name (SOAP's namespaces are fixed by the action).
// Safe on hostile input: a DOCTYPE is refused outright (no DTD, so no entity expansion and no
// external entities), only the five predefined entities and numeric character references are
// decoded, and it is bounded — kMaxXmlBytes of input, kMaxXmlDepth of nesting, kMaxXmlElements
// elements. Errors (400, 413) name the problem; nothing is read outside the text given.
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace sluice::media::onvif {

inline constexpr std::size_t kMaxXmlBytes = 64 * 1024;
inline constexpr std::size_t kMaxXmlDepth = 32;
inline constexpr std::size_t kMaxXmlElements = 4096;

struct XmlElement {
  std::string prefix;  // "s" of <s:Envelope>; empty when none
  std::string name;    // the local name: "Envelope"
  std::vector<std::pair<std::string, std::string>> attributes;  // qualified name, decoded value
  std::string text;  // the element's own character data (CDATA included), decoded
  std::vector<XmlElement> children;

  // The first child with local name `name`, or null.
  const XmlElement* child(std::string_view name) const;
  // The first element with local name `name` among the descendants (depth first), or null.
  const XmlElement* find(std::string_view name) const;
  // The value of the attribute whose local name is `name`, or null.
  const std::string* attribute(std::string_view name) const;
};

// The document's root element.
Result<XmlElement> parse_xml(std::string_view text);

// `text` with &, <, >, " and ' escaped, for element content and attribute values.
std::string xml_escape(std::string_view text);

}  // namespace sluice::media::onvif
