#pragma once
// The ONVIF Profile S device that sluiced shows NVRs, sans I/O: one SOAP request (soap.hpp) and
// what the caller may see → the response document. Device service: GetSystemDateAndTime,
// GetDeviceInformation, GetServices, GetCapabilities, GetServiceCapabilities, GetScopes,
// GetHostname. Media service (ver10, Profile S): GetProfiles, GetProfile, GetVideoSources,
// GetVideoSourceConfigurations, GetVideoEncoderConfigurations, GetStreamUri (the RTSP URL:
// /live/PATH, or /ALIAS), GetSnapshotUri (`/live/NAME/snapshot.jpg` on the HTTP port),
// GetServiceCapabilities. Each live path — and each camera alias of a live path — is one profile
// whose token is its name, with one video source of its own. Anything else is an ActionNotSupported
// fault; an unknown profile token a NoProfile fault. Authentication is the caller's: this answers
// for whoever it was decided may ask.
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "media/protocols/onvif/soap.hpp"

namespace sluice::media::onvif {

struct DeviceInfo {
  std::string manufacturer = "sluice";
  std::string model = "sluiced";
  std::string firmware;  // sluiced's version
  std::string serial;    // stable per installation (the WS-Discovery endpoint's UUID)
  std::string hostname;
};

// One profile: a live path as the media core describes it.
struct MediaProfile {
  std::string token;        // the path's name, or the camera alias
  std::string path;         // the live path it plays
  std::string video_codec;  // "h264", "hevc", ...
  int width = 0;
  int height = 0;
  double fps = 0;
  int video_kbps = 0;
  std::string audio_codec;  // "aac", "opus", or empty
  int audio_kbps = 0;
};

struct DeviceContext {
  std::string http_base;  // "http://HOST:PORT" as the client reached the device
  std::string rtsp_base;  // "rtsp://HOST:PORT" with the same HOST; empty while RTSP is off
  WallTime now{};
  DeviceInfo device;
  std::vector<MediaProfile> profiles;  // the ones the caller may play
};

struct DeviceResponse {
  int status = 200;
  std::string body;  // application/soap+xml
};

// Whether answering `action` needs the media profiles (the caller then lists them).
bool reads_profiles(std::string_view action);
// Whether `action` is answered whoever asks, also with wrong credentials (the time a client
// needs to make its UsernameToken).
bool before_authentication(std::string_view action);
// Whether `action` is answered without credentials even where anonymous clients may do nothing
// else (ONVIF's PRE_AUTH class: the time, the services and capabilities, the host name).
bool open_to_anonymous(std::string_view action);

DeviceResponse answer(const SoapRequest& request, const DeviceContext& context);

}  // namespace sluice::media::onvif
