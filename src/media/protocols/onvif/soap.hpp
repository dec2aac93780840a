#pragma once
// SOAP 1.2 as ONVIF uses it, sans I/O: a request's action and WS-Security UsernameToken read
// from the envelope (with the bounded XML reader, xml.hpp), and responses and faults written
// into one envelope that declares every prefix the device and media services use (s, tds, trt,
// tt, ter). Faults carry ONVIF's subcodes (ter:NotAuthorized, ter:ActionNotSupported, ...);
// a Sender fault is answered with HTTP 400, a Receiver fault with 500.
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "media/protocols/onvif/xml.hpp"

namespace sluice::media::onvif {

inline constexpr std::string_view kDeviceNamespace = "http://www.onvif.org/ver10/device/wsdl";
inline constexpr std::string_view kMediaNamespace = "http://www.onvif.org/ver10/media/wsdl";

// The WS-Security UsernameToken of a request (OASIS UsernameToken Profile 1.0).
struct UsernameToken {
  std::string username;
  std::string password;  // PasswordDigest (base64) or PasswordText
  bool digest = true;
  std::string nonce;    // base64
  std::string created;  // xsd:dateTime
};

struct SoapRequest {
  std::string action;      // the Body's first element's local name: "GetProfiles"
  std::string namespace_;  // its namespace URI; empty when it declares none
  XmlElement operation;    // that element (its parameters are its children)
  std::optional<UsernameToken> token;

  // The text of the operation's descendant element `name` (e.g. "ProfileToken"), or empty.
  std::string parameter(std::string_view name) const;
};

// Reads a SOAP envelope. 400 naming the problem for text that is not XML, not a SOAP Envelope,
// has no Body operation or a UsernameToken without Username or Password; 413 past the XML
// reader's bounds.
Result<SoapRequest> parse_soap_request(std::string_view text);

// A whole response document: `body` (the Body's content) in the envelope.
std::string soap_envelope(std::string_view body);

struct SoapFault {
  bool sender = true;            // env:Sender (the request's fault, HTTP 400) or env:Receiver (500)
  std::string subcode;           // "ter:NotAuthorized"
  std::string reason;            // human-readable, English
  std::string detail_code = {};  // a second-level subcode ("ter:NoProfile" under ter:InvalidArgVal)
  int http_status() const { return sender ? 400 : 500; }
};
std::string soap_fault(const SoapFault& fault);

}  // namespace sluice::media::onvif
