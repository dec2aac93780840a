// The XML reader ONVIF requests go through (media/protocols/onvif/xml): a real SOAP request (an
// ONVIF client's GetStreamUri with a WS-Security UsernameToken) is read by local names whatever
// the prefixes; hostile documents — entity bombs, external entities, deep nesting, oversize,
// broken nesting — are refused with a clear error instead of expanding or recursing.
#include <gtest/gtest.h>

#include <string>

#include "media/protocols/onvif/xml.hpp"

namespace sluice::media::onvif {
namespace {

const char* kGetStreamUri = R"xml(<?xml version="1.0" encoding="UTF-8"?>
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope">
  <s:Header>
    <Security s:mustUnderstand="1" xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">
      <UsernameToken>
        <Username>ana</Username>
        <Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest">tuOSpGlFlIXsozq4HFNeeGeFLEI=</Password>
        <Nonce EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary">LKqI6G/AikKCQrN0zqZFlg==</Nonce>
        <Created xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">2026-12-07T12:00:00.000Z</Created>
      </UsernameToken>
    </Security>
  </s:Header>
  <s:Body xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">
    <GetStreamUri xmlns="http://www.onvif.org/ver10/media/wsdl">
      <StreamSetup>
        <Stream xmlns="http://www.onvif.org/ver10/schema">RTP-Unicast</Stream>
        <Transport xmlns="http://www.onvif.org/ver10/schema"><Protocol>RTSP</Protocol></Transport>
      </StreamSetup>
      <ProfileToken>cam &amp; co</ProfileToken>
    </GetStreamUri>
  </s:Body>
</s:Envelope>)xml";

TEST(OnvifXml, ASoapRequestIsReadByLocalNames) {
  auto doc = parse_xml(kGetStreamUri);
  ASSERT_TRUE(doc.has_value()) << doc.error().detail;
  EXPECT_EQ(doc->prefix, "s");
  EXPECT_EQ(doc->name, "Envelope");
  const auto* body = doc->child("Body");
  ASSERT_NE(body, nullptr);
  ASSERT_FALSE(body->children.empty());
  EXPECT_EQ(body->children[0].name, "GetStreamUri");
  EXPECT_EQ(body->find("ProfileToken")->text, "cam & co");
  EXPECT_EQ(body->find("Protocol")->text, "RTSP");
  const auto* token = doc->find("UsernameToken");
  ASSERT_NE(token, nullptr);
  EXPECT_EQ(token->child("Username")->text, "ana");
  EXPECT_TRUE(token->child("Password")->attribute("Type")->ends_with("#PasswordDigest"));
  EXPECT_EQ(doc->child("Header")->child("Security")->attribute("mustUnderstand")->size(), 1u);
  EXPECT_EQ(parse_xml("<a>&#x41;&#66;<![CDATA[<c>]]></a>")->text, "AB<c>");
  EXPECT_EQ(xml_escape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&apos;");
}

TEST(OnvifXml, HostileDocumentsAreRefused) {
  // Billion laughs and external entities: no DTD at all.
  auto bomb = parse_xml(
      "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 "
      "\"&lol;&lol;&lol;\">]><lolz>&lol2;</lolz>");
  ASSERT_FALSE(bomb.has_value());
  EXPECT_NE(bomb.error().detail.find("DOCTYPE"), std::string::npos);
  EXPECT_FALSE(parse_xml("<!DOCTYPE x SYSTEM \"file:///etc/passwd\"><x>&xxe;</x>").has_value());
  EXPECT_FALSE(parse_xml("<x>&xxe;</x>").has_value());  // undeclared entity
  std::string deep;
  for (int i = 0; i < 40; ++i)
    deep += "<a>";
  for (int i = 0; i < 40; ++i)
    deep += "</a>";
  EXPECT_EQ(parse_xml(deep).error().status, 413);
  EXPECT_EQ(parse_xml("<a>" + std::string(70 * 1024, 'x') + "</a>").error().status, 413);
  std::string many = "<r>";
  for (int i = 0; i < 5000; ++i)
    many += "<e/>";
  EXPECT_EQ(parse_xml(many + "</r>").error().status, 413);
  EXPECT_FALSE(parse_xml("<a><b></a></b>").has_value());
  EXPECT_FALSE(parse_xml("<a x=1/>").has_value());
  EXPECT_FALSE(parse_xml("<a>").has_value());
  EXPECT_FALSE(parse_xml("<a/><b/>").has_value());
  EXPECT_FALSE(parse_xml("not xml").has_value());
  EXPECT_FALSE(parse_xml("").has_value());
  EXPECT_FALSE(
      parse_xml("<\xff:/>").has_value());  // a prefix and no local name (found by fuzz_soap)
  EXPECT_FALSE(parse_xml("<:a/>").has_value());
  EXPECT_FALSE(parse_xml("<a>&#0;</a>").has_value());
  EXPECT_FALSE(parse_xml("<a>&#x110000;</a>").has_value());
}

}  // namespace
}  // namespace sluice::media::onvif
