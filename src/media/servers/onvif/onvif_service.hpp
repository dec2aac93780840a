#pragma once
// OnvifService: the ONVIF Profile S device and media services on the HTTP port.
//   POST /onvif/device_service   device service (and media operations sent there)
//   POST /onvif/media_service    media service
// Each request is read with the bounded SOAP reader (media/protocols/onvif/soap.hpp) and
// answered by the sans-I/O device (onvif_device.hpp) with the live paths the caller may play as
// profiles. Credentials are the WS-Security UsernameToken in the envelope (checked by
// `OnvifServiceOptions::viewer`, the trust issue's users); without one the caller is anonymous
// and sees what anonymous clients may play (with `--auth required`: only ONVIF's PRE_AUTH
// operations). Wrong credentials get a ter:NotAuthorized fault (HTTP 400) for every operation but
// GetSystemDateAndTime. URIs carry the host the client used
// (its Host header): `rtsp://HOST:RTSP_PORT/live/PATH` (or `/ALIAS`) and
// `http://HOST:PORT/live/PATH/snapshot.jpg`.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "media/protocols/onvif/onvif_device.hpp"

namespace sluice::http {
class Router;
}

namespace sluice::media {

class MediaServer;

struct OnvifServiceOptions {
  onvif::DeviceInfo device;
  // Whether the caller may play a path: decided once per request from its token (null: none)
  // and address; a refusal (401) becomes a NotAuthorized fault. Called on HTTP threads.
  using PlayCheck = std::function<bool(std::string_view path)>;
  std::function<Result<PlayCheck>(const onvif::UsernameToken* token, std::string_view peer)> viewer;
  // The bound RTSP port (0 while RTSP is off). Any thread.
  std::function<std::uint16_t()> rtsp_port;
};

class OnvifService {
 public:
  // Registers the routes on `router`; `media` must outlive the service.
  OnvifService(MediaServer& media, OnvifServiceOptions options, http::Router& router);
  ~OnvifService();

  // Requests answered, by outcome. Any thread.
  struct Counters {
    std::uint64_t answered = 0;      // 200
    std::uint64_t faults = 0;        // a fault for a well-formed request (unknown action, ...)
    std::uint64_t unauthorized = 0;  // ter:NotAuthorized
    std::uint64_t malformed = 0;     // not XML, not SOAP, over the bounds
  };
  Counters counters() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace sluice::media
