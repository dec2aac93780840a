#include "media/protocols/onvif/onvif_device.hpp"

#include <algorithm>
#include <cmath>
#include <ctime>

namespace sluice::media::onvif {
namespace {

std::string esc(std::string_view s) {
  return xml_escape(s);
}

std::string element(std::string_view name, std::string_view text) {
  return "<" + std::string(name) + ">" + esc(text) + "</" + std::string(name) + ">";
}

std::string number(double v) {
  return std::to_string(static_cast<long long>(std::llround(v)));
}

DeviceResponse ok(std::string body) {
  return {200, soap_envelope(body)};
}

DeviceResponse fault(bool sender, std::string subcode, std::string reason,
                     std::string detail_code = {}) {
  SoapFault f{sender, std::move(subcode), std::move(reason), std::move(detail_code)};
  return {f.http_status(), soap_fault(f)};
}

// ONVIF's fault for an operation a service does not have (Core spec 5.11.2.3).
DeviceResponse not_supported(std::string reason) {
  return fault(false, "ter:ActionNotSupported", std::move(reason));
}

std::string device_xaddr(const DeviceContext& c) {
  return c.http_base + "/onvif/device_service";
}
std::string media_xaddr(const DeviceContext& c) {
  return c.http_base + "/onvif/media_service";
}

// ver10 media knows JPEG, MPEG4 and H264: profiles are H.264 paths (live_profiles keeps only
// those).
std::string encoding_of(const MediaProfile&) {
  return "H264";
}

std::string resolution(const MediaProfile& p) {
  return "<tt:Resolution>" + element("tt:Width", std::to_string(p.width)) +
         element("tt:Height", std::to_string(p.height)) + "</tt:Resolution>";
}

std::string source_token(const MediaProfile& p) {
  return "src_" + p.token;
}

std::string video_source_configuration(const MediaProfile& p, std::string_view tag) {
  return "<" + std::string(tag) + " token=\"vsc_" + esc(p.token) + "\">" +
         element("tt:Name", p.token) + "<tt:UseCount>1</tt:UseCount>" +
         element("tt:SourceToken", source_token(p)) + "<tt:Bounds x=\"0\" y=\"0\" width=\"" +
         std::to_string(p.width) + "\" height=\"" + std::to_string(p.height) + "\"/></" +
         std::string(tag) + ">";
}

std::string video_encoder_configuration(const MediaProfile& p, std::string_view tag) {
  std::string out = "<" + std::string(tag) + " token=\"vec_" + esc(p.token) + "\">" +
                    element("tt:Name", p.token) + "<tt:UseCount>1</tt:UseCount>" +
                    element("tt:Encoding", encoding_of(p)) + resolution(p) +
                    "<tt:Quality>5</tt:Quality><tt:RateControl>" +
                    element("tt:FrameRateLimit", number(p.fps)) +
                    "<tt:EncodingInterval>1</tt:EncodingInterval>" +
                    element("tt:BitrateLimit", std::to_string(p.video_kbps)) + "</tt:RateControl>";
  if (p.video_codec == "h264" || p.video_codec.empty()) {
    out += "<tt:H264>" + element("tt:GovLength", number(std::max(1.0, p.fps))) +
           "<tt:H264Profile>High</tt:H264Profile></tt:H264>";
  }
  out +=
      "<tt:Multicast><tt:Address><tt:Type>IPv4</tt:Type><tt:IPv4Address>0.0.0.0</tt:IPv4Address>"
      "</tt:Address><tt:Port>0</tt:Port><tt:TTL>0</tt:TTL><tt:AutoStart>false</tt:AutoStart>"
      "</tt:Multicast><tt:SessionTimeout>PT60S</tt:SessionTimeout></" +
      std::string(tag) + ">";
  return out;
}

std::string audio_encoder_configuration(const MediaProfile& p) {
  const std::string encoding = p.audio_codec == "aac" ? "AAC" : p.audio_codec;
  return "<tt:AudioEncoderConfiguration token=\"aec_" + esc(p.token) + "\">" +
         element("tt:Name", p.token) + "<tt:UseCount>1</tt:UseCount>" +
         element("tt:Encoding", encoding) + element("tt:Bitrate", std::to_string(p.audio_kbps)) +
         "<tt:SampleRate>48</tt:SampleRate>"
         "<tt:Multicast><tt:Address><tt:Type>IPv4</tt:Type><tt:IPv4Address>0.0.0.0</tt:IPv4Address>"
         "</tt:Address><tt:Port>0</tt:Port><tt:TTL>0</tt:TTL><tt:AutoStart>false</tt:AutoStart>"
         "</tt:Multicast><tt:SessionTimeout>PT60S</tt:SessionTimeout>"
         "</tt:AudioEncoderConfiguration>";
}

std::string profile(const MediaProfile& p, std::string_view tag) {
  std::string out = "<" + std::string(tag) + " token=\"" + esc(p.token) + "\" fixed=\"true\">" +
                    element("tt:Name", p.token) +
                    video_source_configuration(p, "tt:VideoSourceConfiguration") +
                    video_encoder_configuration(p, "tt:VideoEncoderConfiguration");
  // ver10's audio encodings are G711, G726 and AAC: Opus is left out rather than misnamed.
  if (p.audio_codec == "aac") out += audio_encoder_configuration(p);
  return out + "</" + std::string(tag) + ">";
}

const MediaProfile* find_profile(const DeviceContext& c, std::string_view token) {
  for (const auto& p : c.profiles) {
    if (p.token == token) return &p;
  }
  return nullptr;
}

DeviceResponse no_profile(std::string_view token) {
  return fault(true, "ter:InvalidArgVal",
               token.empty() ? "no ProfileToken given"
                             : "no profile '" + std::string(token) + "' (not live, or not yours)",
               "ter:NoProfile");
}

std::string system_date_and_time(WallTime now) {
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return "<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime>"
         "<tt:DateTimeType>NTP</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings>"
         "<tt:TimeZone><tt:TZ>UTC0</tt:TZ></tt:TimeZone><tt:UTCDateTime><tt:Time>" +
         element("tt:Hour", std::to_string(tm.tm_hour)) +
         element("tt:Minute", std::to_string(tm.tm_min)) +
         element("tt:Second", std::to_string(tm.tm_sec)) + "</tt:Time><tt:Date>" +
         element("tt:Year", std::to_string(tm.tm_year + 1900)) +
         element("tt:Month", std::to_string(tm.tm_mon + 1)) +
         element("tt:Day", std::to_string(tm.tm_mday)) +
         "</tt:Date></tt:UTCDateTime></tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>";
}

std::string service(std::string_view ns, const std::string& xaddr, int major, int minor) {
  return "<tds:Service>" + element("tds:Namespace", ns) + element("tds:XAddr", xaddr) +
         "<tds:Version>" + element("tt:Major", std::to_string(major)) +
         element("tt:Minor", std::to_string(minor)) + "</tds:Version></tds:Service>";
}

std::string scopes(const DeviceContext& c) {
  std::string out;
  for (const std::string& item : {std::string("onvif://www.onvif.org/Profile/Streaming"),
                                  std::string("onvif://www.onvif.org/type/video_encoder"),
                                  "onvif://www.onvif.org/name/" + c.device.model,
                                  "onvif://www.onvif.org/hardware/" + c.device.model}) {
    out += "<tds:Scopes><tt:ScopeDef>Fixed</tt:ScopeDef>" + element("tt:ScopeItem", item) +
           "</tds:Scopes>";
  }
  return out;
}

DeviceResponse device_operation(const SoapRequest& r, const DeviceContext& c) {
  const std::string& a = r.action;
  if (a == "GetSystemDateAndTime") return ok(system_date_and_time(c.now));
  if (a == "GetDeviceInformation") {
    return ok(
        "<tds:GetDeviceInformationResponse>" + element("tds:Manufacturer", c.device.manufacturer) +
        element("tds:Model", c.device.model) + element("tds:FirmwareVersion", c.device.firmware) +
        element("tds:SerialNumber", c.device.serial) + element("tds:HardwareId", c.device.model) +
        "</tds:GetDeviceInformationResponse>");
  }
  if (a == "GetServices") {
    return ok("<tds:GetServicesResponse>" + service(kDeviceNamespace, device_xaddr(c), 2, 60) +
              service(kMediaNamespace, media_xaddr(c), 2, 60) + "</tds:GetServicesResponse>");
  }
  if (a == "GetCapabilities") {
    return ok("<tds:GetCapabilitiesResponse><tds:Capabilities><tt:Device>" +
              element("tt:XAddr", device_xaddr(c)) +
              "<tt:System><tt:DiscoveryResolve>false</tt:DiscoveryResolve>"
              "<tt:DiscoveryBye>true</tt:DiscoveryBye><tt:RemoteDiscovery>false"
              "</tt:RemoteDiscovery><tt:SystemBackup>false</tt:SystemBackup><tt:SystemLogging>"
              "false</tt:SystemLogging><tt:FirmwareUpgrade>false</tt:FirmwareUpgrade>"
              "<tt:SupportedVersions><tt:Major>2</tt:Major><tt:Minor>60</tt:Minor>"
              "</tt:SupportedVersions></tt:System></tt:Device><tt:Media>" +
              element("tt:XAddr", media_xaddr(c)) +
              "<tt:StreamingCapabilities><tt:RTPMulticast>false</tt:RTPMulticast>"
              "<tt:RTP_TCP>true</tt:RTP_TCP><tt:RTP_RTSP_TCP>true</tt:RTP_RTSP_TCP>"
              "</tt:StreamingCapabilities></tt:Media></tds:Capabilities>"
              "</tds:GetCapabilitiesResponse>");
  }
  if (a == "GetServiceCapabilities") {
    return ok(
        "<tds:GetServiceCapabilitiesResponse><tds:Capabilities>"
        "<tds:Network IPFilter=\"false\" ZeroConfiguration=\"false\" IPVersion6=\"false\" "
        "DynDNS=\"false\"/><tds:Security UsernameToken=\"true\" HttpDigest=\"false\"/>"
        "<tds:System DiscoveryResolve=\"false\" DiscoveryBye=\"true\" RemoteDiscovery=\"false\" "
        "SystemBackup=\"false\" SystemLogging=\"false\" FirmwareUpgrade=\"false\"/>"
        "</tds:Capabilities></tds:GetServiceCapabilitiesResponse>");
  }
  if (a == "GetScopes")
    return ok("<tds:GetScopesResponse>" + scopes(c) + "</tds:GetScopesResponse>");
  if (a == "GetHostname") {
    return ok("<tds:GetHostnameResponse><tds:HostnameInformation><tt:FromDHCP>false</tt:FromDHCP>" +
              element("tt:Name", c.device.hostname) +
              "</tds:HostnameInformation></tds:GetHostnameResponse>");
  }
  return not_supported("sluice's device service does not support " + r.action);
}

DeviceResponse media_operation(const SoapRequest& r, const DeviceContext& c) {
  const std::string& a = r.action;
  if (a == "GetProfiles") {
    std::string body = "<trt:GetProfilesResponse>";
    for (const auto& p : c.profiles)
      body += profile(p, "trt:Profiles");
    return ok(body + "</trt:GetProfilesResponse>");
  }
  if (a == "GetVideoSources") {
    std::string body = "<trt:GetVideoSourcesResponse>";
    for (const auto& p : c.profiles) {
      body += "<trt:VideoSources token=\"" + esc(source_token(p)) + "\">" +
              element("tt:Framerate", number(p.fps)) + resolution(p) + "</trt:VideoSources>";
    }
    return ok(body + "</trt:GetVideoSourcesResponse>");
  }
  if (a == "GetVideoSourceConfigurations" || a == "GetVideoEncoderConfigurations") {
    const bool source = a == "GetVideoSourceConfigurations";
    std::string body = "<trt:" + a + "Response>";
    for (const auto& p : c.profiles) {
      body += source ? video_source_configuration(p, "trt:Configurations")
                     : video_encoder_configuration(p, "trt:Configurations");
    }
    return ok(body + "</trt:" + a + "Response>");
  }
  if (a == "GetServiceCapabilities") {
    return ok(
        "<trt:GetServiceCapabilitiesResponse><trt:Capabilities SnapshotUri=\"true\" "
        "Rotation=\"false\"><trt:ProfileCapabilities MaximumNumberOfProfiles=\"" +
        std::to_string(c.profiles.size()) +
        "\"/><trt:StreamingCapabilities RTPMulticast=\"false\" RTP_TCP=\"true\" "
        "RTP_RTSP_TCP=\"true\"/></trt:Capabilities></trt:GetServiceCapabilitiesResponse>");
  }
  if (a == "GetProfile" || a == "GetStreamUri" || a == "GetSnapshotUri") {
    const std::string token = r.parameter("ProfileToken");
    const MediaProfile* p = find_profile(c, token);
    if (!p) return no_profile(token);
    if (a == "GetProfile") {
      return ok("<trt:GetProfileResponse>" + profile(*p, "trt:Profile") +
                "</trt:GetProfileResponse>");
    }
    std::string uri;
    if (a == "GetStreamUri") {
      if (c.rtsp_base.empty()) {
        return not_supported("RTSP is off on this server (--rtsp)");
      }
      // rtsp://HOST:PORT/live/PATH plays a path, rtsp://HOST:PORT/ALIAS a camera alias.
      uri = c.rtsp_base + (p->token == p->path ? "/live/" + p->path : "/" + p->token);
    } else {
      uri = c.http_base + "/live/" + p->path + "/snapshot.jpg";
    }
    return ok("<trt:" + a + "Response><trt:MediaUri>" + element("tt:Uri", uri) +
              "<tt:InvalidAfterConnect>false</tt:InvalidAfterConnect><tt:InvalidAfterReboot>"
              "false</tt:InvalidAfterReboot><tt:Timeout>PT0S</tt:Timeout></trt:MediaUri></trt:" +
              a + "Response>");
  }
  return not_supported("sluice's media service does not support " + r.action);
}

}  // namespace

bool reads_profiles(std::string_view action) {
  return action == "GetProfiles" || action == "GetProfile" || action == "GetVideoSources" ||
         action == "GetStreamUri" || action == "GetSnapshotUri" ||
         action == "GetVideoSourceConfigurations" || action == "GetVideoEncoderConfigurations" ||
         action == "GetServiceCapabilities";
}

bool before_authentication(std::string_view action) {
  return action == "GetSystemDateAndTime";
}

bool open_to_anonymous(std::string_view action) {
  return before_authentication(action) || action == "GetServices" || action == "GetCapabilities" ||
         action == "GetServiceCapabilities" || action == "GetHostname";
}

DeviceResponse answer(const SoapRequest& request, const DeviceContext& context) {
  // Operations are told apart by their namespace; a client that leaves it out is answered by
  // whichever service has the action (media first: its names are the ones clients send most).
  if (request.namespace_ == kDeviceNamespace) return device_operation(request, context);
  if (request.namespace_ == kMediaNamespace) return media_operation(request, context);
  if (!request.namespace_.empty() && request.namespace_.find("onvif.org") != std::string::npos) {
    return not_supported("sluice does not provide the service " + request.namespace_);
  }
  auto media = media_operation(request, context);
  return media.status == 200 ? media : device_operation(request, context);
}

}  // namespace sluice::media::onvif
