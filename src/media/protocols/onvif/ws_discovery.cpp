#include "media/protocols/onvif/ws_discovery.hpp"

#include "media/protocols/onvif/xml.hpp"
#include "media/protocols/text.hpp"

namespace sluice::media::onvif {
namespace {

constexpr std::string_view kActionBase = "http://schemas.xmlsoap.org/ws/2005/04/discovery/";

std::string local_name(std::string_view qname) {
  const auto colon = qname.rfind(':');
  return std::string(colon == std::string_view::npos ? qname : qname.substr(colon + 1));
}

std::string header(std::string_view action, std::string_view message_id,
                   std::string_view relates_to, std::string_view to, const DiscoveryTarget& t) {
  std::string out =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\""
      " xmlns:a=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\""
      " xmlns:d=\"http://schemas.xmlsoap.org/ws/2005/04/discovery\""
      " xmlns:dn=\"http://www.onvif.org/ver10/network/wsdl\""
      " xmlns:tds=\"http://www.onvif.org/ver10/device/wsdl\"><s:Header><a:MessageID>";
  out += xml_escape(message_id);
  out += "</a:MessageID>";
  if (!relates_to.empty()) out += "<a:RelatesTo>" + xml_escape(relates_to) + "</a:RelatesTo>";
  out += "<a:To>" + std::string(to) + "</a:To><a:Action>" + std::string(kActionBase) +
         std::string(action) + "</a:Action><d:AppSequence InstanceId=\"" +
         std::to_string(t.instance_id) + "\" MessageNumber=\"" + std::to_string(t.message_number) +
         "\"/></s:Header><s:Body>";
  return out;
}

// EndpointReference, Types, Scopes, XAddrs and MetadataVersion: what Hello and ProbeMatch share.
std::string description(const DiscoveryTarget& t, bool with_addresses) {
  std::string out = "<a:EndpointReference><a:Address>" + xml_escape(t.endpoint) +
                    "</a:Address></a:EndpointReference>";
  if (!with_addresses) return out;
  out +=
      "<d:Types>dn:NetworkVideoTransmitter tds:Device</d:Types><d:Scopes>"
      "onvif://www.onvif.org/Profile/Streaming onvif://www.onvif.org/type/video_encoder "
      "onvif://www.onvif.org/name/" +
      xml_escape(t.name) + " onvif://www.onvif.org/hardware/sluiced</d:Scopes><d:XAddrs>";
  for (std::size_t i = 0; i < t.xaddrs.size(); ++i) {
    if (i) out += ' ';
    out += xml_escape(t.xaddrs[i]);
  }
  out += "</d:XAddrs><d:MetadataVersion>" + std::to_string(t.metadata_version) +
         "</d:MetadataVersion>";
  return out;
}

constexpr std::string_view kMulticastTo = "urn:schemas-xmlsoap-org:ws:2005:04:discovery";
constexpr std::string_view kAnonymous =
    "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous";

}  // namespace

bool Probe::wants_device() const {
  if (types.empty()) return true;
  for (const auto& t : types) {
    const std::string name = local_name(t);
    if (name == "NetworkVideoTransmitter" || name == "Device") return true;
  }
  return false;
}

Result<std::optional<Probe>> parse_probe(std::string_view datagram) {
  auto root = parse_xml(datagram);
  if (!root) return fail(root.error());
  const XmlElement* body = root->name == "Envelope" ? root->child("Body") : nullptr;
  if (!body) return fail(Error::bad_request("WS-Discovery: not a SOAP Envelope"));
  const XmlElement* probe = body->child("Probe");
  if (!probe) return std::optional<Probe>();
  Probe p;
  if (const XmlElement* h = root->child("Header")) {
    if (const XmlElement* id = h->child("MessageID")) p.message_id = text::trim(id->text);
  }
  if (p.message_id.size() > 256)
    return fail(Error::bad_request("WS-Discovery: MessageID too long"));
  if (const XmlElement* types = probe->child("Types")) {
    std::string_view rest = types->text;
    while (!rest.empty()) {
      const auto start = rest.find_first_not_of(" \t\r\n");
      if (start == std::string_view::npos) break;
      rest.remove_prefix(start);
      const auto end = rest.find_first_of(" \t\r\n");
      p.types.emplace_back(rest.substr(0, end));
      rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
    }
  }
  return p;
}

std::string probe_matches(const Probe& probe, const DiscoveryTarget& target,
                          std::string_view message_id) {
  return header("ProbeMatches", message_id, probe.message_id, kAnonymous, target) +
         "<d:ProbeMatches><d:ProbeMatch>" + description(target, true) +
         "</d:ProbeMatch></d:ProbeMatches></s:Body></s:Envelope>\n";
}

std::string hello(const DiscoveryTarget& target, std::string_view message_id) {
  return header("Hello", message_id, {}, kMulticastTo, target) + "<d:Hello>" +
         description(target, true) + "</d:Hello></s:Body></s:Envelope>\n";
}

std::string bye(const DiscoveryTarget& target, std::string_view message_id) {
  return header("Bye", message_id, {}, kMulticastTo, target) + "<d:Bye>" +
         description(target, false) + "</d:Bye></s:Body></s:Envelope>\n";
}

}  // namespace sluice::media::onvif
