#include "media/servers/onvif/onvif_service.hpp"

#include <atomic>
#include <chrono>
#include <cmath>

#include "core/event_loop.hpp"
#include "http/request_target.hpp"
#include "http/router.hpp"
#include "media/media_hub.hpp"
#include "media/servers/media_server.hpp"

namespace sluice::media {
namespace {

onvif::MediaProfile profile_of(const MediaPath& path, const std::string& token) {
  const StreamDescription& d = path.description();
  onvif::MediaProfile p;
  p.token = token;
  p.path = path.name();
  p.video_codec = d.video_codec;
  p.width = d.width;
  p.height = d.height;
  p.fps = d.fps > 0 ? d.fps : 25;  // a publisher that declares no rate: the common one
  // The publisher's declared rate, else what arrives (audio included).
  p.video_kbps =
      static_cast<int>(std::lround(d.video_kbps > 0 ? d.video_kbps : path.measured_bps() / 1000.0));
  p.audio_codec = d.audio_codec;
  p.audio_kbps = static_cast<int>(std::lround(d.audio_kbps));
  return p;
}

// Every live path with video, then every camera alias of one: a profile each.
std::vector<onvif::MediaProfile> live_profiles(MediaServer& media) {
  std::vector<onvif::MediaProfile> out;
  // ver10 media describes H.264 only; a path is listed once its picture size is known.
  auto listed = [](const MediaPath* p) {
    return p && p->description().video_codec == "h264" && p->description().width > 0;
  };
  for (const MediaPath* path : media.hub().paths()) {
    if (listed(path)) out.push_back(profile_of(*path, path->name()));
  }
  for (const auto& [alias, target] : media.rtsp_aliases()) {
    const MediaPath* path = media.hub().find(target);
    if (listed(path) && !media.hub().find(alias)) out.push_back(profile_of(*path, alias));
  }
  return out;
}

http::HttpResponse soap(const onvif::DeviceResponse& r) {
  return http::HttpResponse{r.status, "application/soap+xml; charset=utf-8", r.body, {}};
}

http::HttpResponse soap_fault(bool sender, std::string subcode, std::string reason) {
  const onvif::SoapFault f{sender, std::move(subcode), std::move(reason)};
  return http::HttpResponse{
      f.http_status(), "application/soap+xml; charset=utf-8", onvif::soap_fault(f), {}};
}

}  // namespace

struct OnvifService::Impl {
  Impl(MediaServer& m, OnvifServiceOptions o) : media(m), options(std::move(o)) {}

  http::Reply handle(const http::HttpRequest& req) {
    auto request = onvif::parse_soap_request(req.body);
    if (!request) {
      ++malformed;
      return soap_fault(true, "ter:WellFormed", request.error().detail);
    }
    const onvif::UsernameToken* token = request->token ? &*request->token : nullptr;
    auto viewer = options.viewer(token, req.remote_address);
    // Wrong credentials get nothing but the time; none at all (where anonymous clients may not
    // play) still get what ONVIF answers before authentication.
    const bool answered_anyway = token ? onvif::before_authentication(request->action)
                                       : onvif::open_to_anonymous(request->action);
    if (!viewer && !answered_anyway) {
      ++unauthorized;
      return soap_fault(true, "ter:NotAuthorized", "Sender not Authorized");
    }
    const std::string host = http::host_of(req.host);
    onvif::DeviceContext context;
    context.http_base = "http://" + (host.empty() ? std::string("127.0.0.1") : host);
    if (const auto colon = req.host.rfind(':'); colon != std::string::npos &&
                                                req.host.find(']', colon) == std::string::npos &&
                                                !host.empty()) {
      const std::string port = req.host.substr(colon + 1);
      if (!port.empty() && port.size() <= 5 &&
          port.find_first_not_of("0123456789") == std::string::npos) {
        context.http_base += ":" + port;  // the port the client used
      }
    }
    if (const std::uint16_t rtsp = options.rtsp_port ? options.rtsp_port() : 0) {
      context.rtsp_base =
          "rtsp://" + (host.empty() ? "127.0.0.1" : host) + ":" + std::to_string(rtsp);
    }
    context.now = std::chrono::system_clock::now();
    context.device = options.device;
    if (onvif::reads_profiles(request->action) && viewer) {
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
      auto profiles = call_on_loop(
          media.loop(), [this] { return live_profiles(media); },
          [deadline] { return std::chrono::steady_clock::now() > deadline; });
      if (!profiles) return soap_fault(false, "ter:Action", "the media server is not answering");
      for (auto& p : *profiles) {
        if ((*viewer)(p.path)) context.profiles.push_back(std::move(p));
      }
    }
    const onvif::DeviceResponse response = onvif::answer(*request, context);
    ++(response.status == 200 ? answered : faults);
    return soap(response);
  }

  MediaServer& media;
  OnvifServiceOptions options;
  std::atomic<std::uint64_t> answered{0}, faults{0}, unauthorized{0}, malformed{0};
};

OnvifService::OnvifService(MediaServer& media, OnvifServiceOptions options, http::Router& router)
    : impl_(std::make_shared<Impl>(media, std::move(options))) {
  for (const char* route : {"/onvif/device_service", "/onvif/media_service"}) {
    router.add("POST", route,
               [impl = impl_](const http::HttpRequest& req, const http::PathParams&) {
                 return impl->handle(req);
               });
  }
}

OnvifService::~OnvifService() = default;

OnvifService::Counters OnvifService::counters() const {
  return {impl_->answered.load(), impl_->faults.load(), impl_->unauthorized.load(),
          impl_->malformed.load()};
}

}  // namespace sluice::media
