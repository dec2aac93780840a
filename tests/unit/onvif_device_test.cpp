// The ONVIF device, sans I/O (media/protocols/onvif): SOAP requests as ONVIF clients write them
// are read (action, namespace, UsernameToken, parameters); the device answers with the profiles
// it is given, URIs on the client's host, and faults naming what is wrong; WS-Discovery Probes
// are read and answered with what NVRs look for.
#include <gtest/gtest.h>

#include "media/protocols/onvif/onvif_device.hpp"
#include "media/protocols/onvif/ws_discovery.hpp"

namespace sluice::media::onvif {
namespace {

// What the npm onvif client sends (its _envelopeHeader) for GetStreamUri.
const char* kGetStreamUri =
    R"(<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing"><s:Header>)"
    R"(<Security s:mustUnderstand="1" xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><UsernameToken><Username>nvr</Username>)"
    R"(<Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest">DJGAvWimUvWk+FIPRQrAbNQq6Qs=</Password>)"
    R"(<Nonce EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary">LKqI6G/AikKCQrN0zqZFlg==</Nonce>)"
    R"(<Created xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">2026-12-07T12:00:00.000Z</Created></UsernameToken></Security></s:Header>)"
    R"(<s:Body xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"><GetStreamUri xmlns="http://www.onvif.org/ver10/media/wsdl">)"
    R"(<StreamSetup><Stream xmlns="http://www.onvif.org/ver10/schema">RTP-Unicast</Stream><Transport xmlns="http://www.onvif.org/ver10/schema"><Protocol>RTSP</Protocol></Transport></StreamSetup>)"
    R"(<ProfileToken> stage </ProfileToken></GetStreamUri></s:Body></s:Envelope>)";

std::string request(std::string_view ns, std::string_view operation) {
  return R"(<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope" xmlns:m=")" +
         std::string(ns) + R"("><e:Body>)" + std::string(operation) + "</e:Body></e:Envelope>";
}

DeviceContext context() {
  DeviceContext c;
  c.http_base = "http://cam.example:8080";
  c.rtsp_base = "rtsp://cam.example:8554";
  c.now = WallTime(std::chrono::seconds(1'796'644'800));  // 2026-12-07T12:00:00Z
  c.device.firmware = "0.1.0";
  c.device.serial = "abc";
  MediaProfile stage{"stage", "stage", "h264", 1280, 720, 30, 2500, "aac", 128};
  MediaProfile alias{"stream1", "stage", "h264", 1280, 720, 30, 2500, "", 0};
  c.profiles = {stage, alias};
  return c;
}

TEST(OnvifSoap, ReadsTheActionItsNamespaceTheTokenAndParameters) {
  auto r = parse_soap_request(kGetStreamUri);
  ASSERT_TRUE(r) << r.error().detail;
  EXPECT_EQ(r->action, "GetStreamUri");
  EXPECT_EQ(r->namespace_, kMediaNamespace);
  EXPECT_EQ(r->parameter("ProfileToken"), "stage");
  ASSERT_TRUE(r->token);
  EXPECT_EQ(r->token->username, "nvr");
  EXPECT_TRUE(r->token->digest);
  EXPECT_EQ(r->token->password, "DJGAvWimUvWk+FIPRQrAbNQq6Qs=");
  EXPECT_EQ(r->token->nonce, "LKqI6G/AikKCQrN0zqZFlg==");
  EXPECT_EQ(r->token->created, "2026-12-07T12:00:00.000Z");

  EXPECT_EQ(parse_soap_request("<a><b/></a>").error().status, 400);  // not an Envelope
  EXPECT_EQ(parse_soap_request(request(kDeviceNamespace, "")).error().status, 400);  // no op
  EXPECT_EQ(parse_soap_request("not xml at all").error().status, 400);
}

TEST(OnvifDevice, ProfilesCarryTheLivePathsAndUrisUseTheClientsHost) {
  const DeviceContext c = context();
  auto profiles = answer(*parse_soap_request(request(kMediaNamespace, "<m:GetProfiles/>")), c);
  EXPECT_EQ(profiles.status, 200);
  for (const char* wanted :
       {"<trt:Profiles token=\"stage\"", "<trt:Profiles token=\"stream1\"",
        "<tt:SourceToken>src_stage</tt:SourceToken>", "<tt:Encoding>H264</tt:Encoding>",
        "<tt:Width>1280</tt:Width>", "<tt:BitrateLimit>2500</tt:BitrateLimit>",
        "<tt:FrameRateLimit>30</tt:FrameRateLimit>", "<tt:AudioEncoderConfiguration"}) {
    EXPECT_NE(profiles.body.find(wanted), std::string::npos) << wanted;
  }
  auto stream = answer(*parse_soap_request(kGetStreamUri), c);
  EXPECT_NE(stream.body.find("<tt:Uri>rtsp://cam.example:8554/live/stage</tt:Uri>"),
            std::string::npos)
      << stream.body;
  auto alias =
      answer(*parse_soap_request(request(kMediaNamespace,
                                         "<m:GetStreamUri><m:ProfileToken>stream1</m:ProfileToken>"
                                         "</m:GetStreamUri>")),
             c);
  EXPECT_NE(alias.body.find("<tt:Uri>rtsp://cam.example:8554/stream1</tt:Uri>"), std::string::npos);
  auto snapshot = answer(*parse_soap_request(request(kMediaNamespace,
                                                     "<m:GetSnapshotUri><m:ProfileToken>stream1"
                                                     "</m:ProfileToken></m:GetSnapshotUri>")),
                         c);
  EXPECT_NE(snapshot.body.find("<tt:Uri>http://cam.example:8080/live/stage/snapshot.jpg</tt:Uri>"),
            std::string::npos);
  auto sources = answer(*parse_soap_request(request(kMediaNamespace, "<m:GetVideoSources/>")), c);
  EXPECT_NE(sources.body.find("<trt:VideoSources token=\"src_stream1\">"), std::string::npos);
}

TEST(OnvifDevice, TheDeviceServiceNamesItsServicesAndTime) {
  const DeviceContext c = context();
  auto services = answer(*parse_soap_request(request(kDeviceNamespace, "<m:GetServices/>")), c);
  EXPECT_NE(services.body.find("<tds:XAddr>http://cam.example:8080/onvif/media_service"),
            std::string::npos);
  auto capabilities =
      answer(*parse_soap_request(request(kDeviceNamespace, "<m:GetCapabilities/>")), c);
  EXPECT_NE(capabilities.body.find("<tt:Media><tt:XAddr>http://cam.example:8080/onvif/"
                                   "media_service</tt:XAddr>"),
            std::string::npos);
  auto time =
      answer(*parse_soap_request(request(kDeviceNamespace, "<m:GetSystemDateAndTime/>")), c);
  EXPECT_NE(time.body.find("<tt:Hour>12</tt:Hour><tt:Minute>0</tt:Minute>"), std::string::npos);
  EXPECT_NE(time.body.find("<tt:Year>2026</tt:Year><tt:Month>12</tt:Month><tt:Day>7</tt:Day>"),
            std::string::npos);
  auto info =
      answer(*parse_soap_request(request(kDeviceNamespace, "<m:GetDeviceInformation/>")), c);
  EXPECT_NE(info.body.find("<tds:FirmwareVersion>0.1.0</tds:FirmwareVersion>"), std::string::npos);
}

TEST(OnvifDevice, WhatItCannotAnswerIsAFaultNamingIt) {
  DeviceContext c = context();
  auto unknown_profile = answer(*parse_soap_request(request(kMediaNamespace,
                                                            "<m:GetStreamUri><m:ProfileToken>nope"
                                                            "</m:ProfileToken></m:GetStreamUri>")),
                                c);
  EXPECT_EQ(unknown_profile.status, 400);
  EXPECT_NE(
      unknown_profile.body.find("ter:InvalidArgVal</s:Value><s:Subcode><s:Value>ter:NoProfile"),
      std::string::npos)
      << unknown_profile.body;
  auto reboot = answer(*parse_soap_request(request(kDeviceNamespace, "<m:SystemReboot/>")), c);
  EXPECT_EQ(reboot.status, 500);  // env:Receiver, as ONVIF's core spec has it
  EXPECT_NE(reboot.body.find("ter:ActionNotSupported"), std::string::npos);
  EXPECT_NE(reboot.body.find("SystemReboot"), std::string::npos);
  auto ptz = answer(
      *parse_soap_request(request("http://www.onvif.org/ver20/ptz/wsdl", "<m:GetNodes/>")), c);
  EXPECT_EQ(ptz.status, 500);
  c.rtsp_base.clear();  // RTSP off: no stream URI to give
  auto off = answer(*parse_soap_request(kGetStreamUri), c);
  EXPECT_EQ(off.status, 500);
  // What may be answered before authentication.
  EXPECT_TRUE(before_authentication("GetSystemDateAndTime"));
  EXPECT_FALSE(before_authentication("GetServices"));
  EXPECT_TRUE(open_to_anonymous("GetServices"));
  EXPECT_FALSE(open_to_anonymous("GetProfiles"));
}

// What the npm onvif client's Discovery.probe sends.
const char* kProbe =
    R"(<Envelope xmlns="http://www.w3.org/2003/05/soap-envelope" xmlns:dn="http://www.onvif.org/ver10/network/wsdl"><Header>)"
    R"(<wsa:MessageID xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing">urn:uuid:1234</wsa:MessageID>)"
    R"(<wsa:To xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing">urn:schemas-xmlsoap-org:ws:2005:04:discovery</wsa:To>)"
    R"(<wsa:Action xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing">http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</wsa:Action>)"
    R"(</Header><Body><Probe xmlns="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">)"
    R"(<Types>dn:NetworkVideoTransmitter</Types><Scopes /></Probe></Body></Envelope>)";

TEST(WsDiscovery, ProbesForVideoDevicesAreMatchedWithTheDeviceService) {
  auto parsed = parse_probe(kProbe);
  ASSERT_TRUE(parsed) << parsed.error().detail;
  ASSERT_TRUE(*parsed);
  const std::optional<Probe>& probe = *parsed;
  EXPECT_EQ(probe->message_id, "urn:uuid:1234");
  EXPECT_EQ(probe->types, std::vector<std::string>{"dn:NetworkVideoTransmitter"});
  EXPECT_TRUE(probe->wants_device());
  EXPECT_TRUE(Probe{}.wants_device());  // no types: anything
  EXPECT_FALSE((Probe{"x", {"wsdp:Printer"}}).wants_device());
  auto hello_of_another = parse_probe("<Envelope><Body><Hello/></Body></Envelope>");
  ASSERT_TRUE(hello_of_another);  // other devices' traffic: not an error, not a Probe
  EXPECT_FALSE(*hello_of_another);
  EXPECT_FALSE(parse_probe("\x01\x02"));
  EXPECT_FALSE(parse_probe("<a><Body/></a>"));

  DiscoveryTarget t{"urn:uuid:aaaa", {"http://10.0.0.5:8080/onvif/device_service"}, "sluiced", 3};
  const std::string match = probe_matches(*probe, t, "urn:uuid:bbbb");
  for (const char* wanted :
       {"<a:RelatesTo>urn:uuid:1234</a:RelatesTo>", "discovery/ProbeMatches</a:Action>",
        "<a:Address>urn:uuid:aaaa</a:Address>",
        "<d:Types>dn:NetworkVideoTransmitter tds:Device</d:Types>",
        "<d:XAddrs>http://10.0.0.5:8080/onvif/device_service</d:XAddrs>",
        "<d:MetadataVersion>3</d:MetadataVersion>", "onvif://www.onvif.org/Profile/Streaming"}) {
    EXPECT_NE(match.find(wanted), std::string::npos) << wanted;
  }
  EXPECT_NE(hello(t, "urn:uuid:c").find("<d:Hello><a:EndpointReference>"), std::string::npos);
  const std::string b = bye(t, "urn:uuid:d");
  EXPECT_NE(b.find("discovery/Bye</a:Action>"), std::string::npos);
  EXPECT_EQ(b.find("XAddrs"), std::string::npos);
}

}  // namespace
}  // namespace sluice::media::onvif
