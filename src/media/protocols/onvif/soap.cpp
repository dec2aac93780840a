#include "media/protocols/onvif/soap.hpp"

#include <map>

#include "media/protocols/text.hpp"

namespace sluice::media::onvif {
namespace {

Error bad(const std::string& what) {
  return Error::bad_request("SOAP: " + what);
}

// Prefix → namespace URI in scope after `e`'s own declarations ("" is the default namespace).
void declare(const XmlElement& e, std::map<std::string, std::string>& scope) {
  for (const auto& [name, value] : e.attributes) {
    if (name == "xmlns") {
      scope[""] = value;
    } else if (name.starts_with("xmlns:")) {
      scope[name.substr(6)] = value;
    }
  }
}

std::optional<UsernameToken> token_of(const XmlElement& header) {
  const XmlElement* security = header.child("Security");
  const XmlElement* token = security ? security->child("UsernameToken") : nullptr;
  if (!token) return std::nullopt;
  UsernameToken t;
  // Pretty-printed envelopes surround the values with white space, which is not part of them.
  if (const auto* u = token->child("Username")) t.username = text::trim(u->text);
  if (const auto* p = token->child("Password")) {
    t.password = text::trim(p->text);
    const std::string* type = p->attribute("Type");
    t.digest = !type || type->ends_with("#PasswordDigest");
  }
  if (const auto* n = token->child("Nonce")) t.nonce = text::trim(n->text);
  if (const auto* c = token->child("Created")) t.created = text::trim(c->text);
  return t;
}

}  // namespace

std::string SoapRequest::parameter(std::string_view name) const {
  const XmlElement* e = operation.find(name);
  return e ? std::string(text::trim(e->text)) : std::string();
}

Result<SoapRequest> parse_soap_request(std::string_view text) {
  auto root = parse_xml(text);
  if (!root) return fail(root.error());
  if (root->name != "Envelope") return fail(bad("the document is not a SOAP Envelope"));
  std::map<std::string, std::string> scope;
  declare(*root, scope);
  const XmlElement* body = root->child("Body");
  if (!body) return fail(bad("the Envelope has no Body"));
  declare(*body, scope);
  if (body->children.empty()) return fail(bad("the Body names no operation"));
  SoapRequest req;
  req.operation = body->children.front();
  declare(req.operation, scope);
  req.action = req.operation.name;
  if (auto it = scope.find(req.operation.prefix); it != scope.end()) req.namespace_ = it->second;
  if (const XmlElement* header = root->child("Header")) {
    req.token = token_of(*header);
    if (req.token && (req.token->username.empty() || req.token->password.empty())) {
      return fail(bad("the UsernameToken has no Username or Password"));
    }
  }
  return req;
}

std::string soap_envelope(std::string_view body) {
  std::string out =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\""
      " xmlns:tds=\"http://www.onvif.org/ver10/device/wsdl\""
      " xmlns:trt=\"http://www.onvif.org/ver10/media/wsdl\""
      " xmlns:tt=\"http://www.onvif.org/ver10/schema\""
      " xmlns:ter=\"http://www.onvif.org/ver10/error\"><s:Body>";
  out += body;
  out += "</s:Body></s:Envelope>\n";
  return out;
}

std::string soap_fault(const SoapFault& fault) {
  std::string body = "<s:Fault><s:Code><s:Value>";
  body += fault.sender ? "s:Sender" : "s:Receiver";
  body += "</s:Value><s:Subcode><s:Value>" + xml_escape(fault.subcode) + "</s:Value>";
  if (!fault.detail_code.empty()) {
    body += "<s:Subcode><s:Value>" + xml_escape(fault.detail_code) + "</s:Value></s:Subcode>";
  }
  body += "</s:Subcode></s:Code><s:Reason><s:Text xml:lang=\"en\">" + xml_escape(fault.reason) +
          "</s:Text></s:Reason></s:Fault>";
  return soap_envelope(body);
}

}  // namespace sluice::media::onvif
