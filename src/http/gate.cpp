#include "http/gate.hpp"

#include <strings.h>

#include <algorithm>
#include <stdexcept>

#include "auth/access_policy.hpp"
#include "auth/authenticator.hpp"

namespace sluice::http {

bool origin_allowed(std::string_view origin, std::string_view host,
                    const std::vector<std::string>& allowed) {
  if (origin.empty()) return true;
  if (std::find(allowed.begin(), allowed.end(), origin) != allowed.end()) return true;
  auto scheme_end = origin.find("://");
  if (scheme_end == std::string_view::npos || host.empty()) return false;
  return origin.substr(scheme_end + 3) == host;
}

std::string client_address(std::string_view peer, std::string_view forwarded_for,
                           const std::vector<keys::IpNetwork>& trusted_proxies) {
  auto trusted = [&](std::string_view a) {
    auto ip = keys::parse_ip(a);
    return ip && std::any_of(trusted_proxies.begin(), trusted_proxies.end(),
                             [&](const keys::IpNetwork& n) { return n.contains(*ip); });
  };
  if (forwarded_for.empty() || !trusted(peer)) return std::string(peer);
  std::string_view rest = forwarded_for;
  while (!rest.empty()) {
    auto comma = rest.rfind(',');
    std::string_view hop = comma == std::string_view::npos ? rest : rest.substr(comma + 1);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(0, comma);
    while (!hop.empty() && hop.front() == ' ')
      hop.remove_prefix(1);
    while (!hop.empty() && hop.back() == ' ')
      hop.remove_suffix(1);
    auto ip = keys::parse_ip(hop);
    if (!ip) return std::string(peer);  // a malformed hop: believe only the socket
    if (!trusted(hop)) return ip->to_string();
  }
  return std::string(peer);
}

HttpResponse refusal_response(const Error& e) {
  auto res = error_response(e);
  if (e.status == 401) {
    res.headers.emplace_back("WWW-Authenticate",
                             e.challenge.empty() ? std::string(kChallenge) : e.challenge);
  }
  return res;
}

void quiet_challenge(HttpResponse& res) {
  if (res.status != 401) return;
  for (auto& [name, value] : res.headers) {
    if (name.size() == 16 && strcasecmp(name.c_str(), "WWW-Authenticate") == 0 &&
        value.find("Basic") != std::string::npos) {
      value = std::string(kConsoleChallenge);
    }
  }
}

Gate make_gate(auth::Authenticator& authenticator, const auth::AccessPolicy& policy,
               GateOptions options) {
  return [&authenticator, &policy, options = std::move(options)](
             HttpRequest& req, const RouteNeed& need) -> std::optional<HttpResponse> {
    req.remote_address =
        client_address(req.remote_address, req.forwarded_for, options.trusted_proxies);
    req.identity = auth::Identity::anonymous(req.remote_address);  // until authenticated
    const bool reads = req.method == "GET" || req.method == "HEAD";
    if (!reads && !origin_allowed(req.origin, req.host, *options.cors_origins->get())) {
      return refusal_response(Error::forbidden(
          "Requests from the web page at " + req.origin +
          " are not allowed: add its origin to the cors_origins setting to allow it"));
    }
    const std::string token = req.param("token").value_or("");
    auto who = authenticator.authenticate({req.authorization, token, req.remote_address});
    if (!who) return refusal_response(who.error());
    req.identity = std::move(*who);
    req.manages_all = policy.manages_all(req.identity);
    if (need) {
      if (auto ok = policy.authorize(req.identity, *need); !ok) return refusal_response(ok.error());
    }
    return std::nullopt;
  };
}

void declare_route_access(Router& r) {
  // Each row names its permission as docs/security.md does ("streams_r"); empty: public.
  struct Row {
    const char* method;
    const char* pattern;
    const char* permission;
  };
  const Row table[] = {
      // operations
      {"GET", "/health", ""},
      {"GET", "/openapi.json", ""},
      {"GET", "/metrics", "metrics_r"},
      {"GET", "/auth/whoami", ""},
      // the web console's files: no data in them (it reads the API with the caller's credentials)
      {"GET", "/", ""},
      {"GET", "/console/{file}", ""},
      {"GET", "/console/assets/{file}", ""},
      // registry: reads, then writes; ownership is checked by the registry itself
      {"GET", "/streams", "streams_r"},
      {"GET", "/streams/state", "streams_r"},
      {"GET", "/streams/types", "streams_r"},
      {"GET", "/streams/{stream_id}", "streams_r"},
      {"GET", "/streams/events", "streams_r"},
      {"GET", "/streams/{stream_id}/preview", "streams_r"},
      {"POST", "/streams/types", "types_rw"},
      {"PUT", "/streams/types/{name}", "types_rw"},
      {"DELETE", "/streams/types/{name}", "types_rw"},
      {"POST", "/streams/advertise", "streams_rw"},
      {"DELETE", "/streams/{stream_id}", "streams_rw"},
      {"POST", "/streams/{stream_id}/heartbeat", "streams_rw"},
      {"POST", "/streams/{stream_id}/request", "sessions_rw"},
      {"GET", "/streams/sessions", "sessions_r"},
      {"GET", "/streams/sessions/history", "sessions_r"},
      {"DELETE", "/streams/sessions/{session_id}", "sessions_rw"},
      {"POST", "/streams/sessions/{session_id}/heartbeat", "sessions_rw"},
      {"GET", "/streams/subscribers", "sessions_r"},
      {"GET", "/streams/{stream_id}/subscribers", "sessions_r"},
      {"POST", "/streams/subscribers/{subscriber_id}/heartbeat", "sessions_rw"},
      {"POST", "/streams/{stream_id}/join", "sessions_rw"},
      {"DELETE", "/streams/{stream_id}/leave/{subscriber_id}", "sessions_rw"},
      // stream keys hand out publish rights
      {"POST", "/keys", "keys_rw"},
      {"GET", "/keys", "keys_rw"},
      {"GET", "/keys/{id}", "keys_rw"},
      {"DELETE", "/keys/{id}", "keys_rw"},
      {"POST", "/keys/{id}/rotate", "keys_rw"},
      // media: play rights (read keys are checked by the handlers), kicks
      {"GET", "/media/paths", "media_r"},
      {"GET", "/media/paths/{name}", "media_r"},
      {"DELETE", "/media/paths/{name}", "media_rw"},
      {"DELETE", "/media/paths/{name}/readers/{id}", "media_rw"},
      {"GET", "/live/{name}/index.m3u8", "media_r"},
      {"GET", "/live/{name}/{file}", "media_r"},
      {"POST", "/live/{name}/whep", "media_r"},
      {"DELETE", "/live/{name}/whep/{id}", "media_r"},
      {"PATCH", "/live/{name}/whep/{id}", "media_r"},
      {"POST", "/api/webrtc/offer", "media_r"},
      {"POST", "/live/{name}/whip", ""},  // a stream key (Bearer) or media_rw: the handler checks
      {"DELETE", "/live/{name}/whip/{id}", "media_r"},
      {"GET", "/live/{name}/snapshot.jpg", "media_r"},
      {"GET", "/live/{name}/mjpeg", "media_r"},
      {"GET", "/recordings", "media_r"},
      {"GET", "/recordings/{path}", "media_r"},
      // pipelines make live paths
      {"POST", "/pipelines", "media_rw"},
      {"GET", "/pipelines", "media_r"},
      {"GET", "/pipelines/{id}", "media_r"},
      {"PATCH", "/pipelines/{id}", "media_rw"},
      {"DELETE", "/pipelines/{id}", "media_rw"},
      // ONVIF authenticates in the SOAP envelope (WS-UsernameToken): the service checks
      {"POST", "/onvif/device_service", ""},
      {"POST", "/onvif/media_service", ""},
      // relay channels
      {"GET", "/channels", "channels_r"},
      {"GET", "/channels/{name}", "channels_r"},
      // identities
      {"GET", "/auth/roles", "users_rw"},
      {"PUT", "/auth/roles/{name}", "users_rw"},
      {"DELETE", "/auth/roles/{name}", "users_rw"},
      {"GET", "/auth/users", "users_rw"},
      {"POST", "/auth/users", "users_rw"},
      {"PATCH", "/auth/users/{name}", "users_rw"},
      {"DELETE", "/auth/users/{name}", "users_rw"},
      {"GET", "/auth/tokens", "users_rw"},
      {"POST", "/auth/tokens", "users_rw"},
      {"DELETE", "/auth/tokens/{id}", "users_rw"},
      // settings
      {"GET", "/settings", "settings_r"},
      {"GET", "/settings/{name}", "settings_r"},
      {"PUT", "/settings/{name}", "settings_rw"},
  };
  for (const auto& row : table) {
    RouteNeed need = kPublic;
    if (*row.permission) {
      auto grant = auth::parse_grant(row.permission);
      if (!grant) throw std::logic_error("gate.cpp: " + grant.error().detail);
      need = auth::Need{grant->resource, grant->access, {}};
    }
    r.declare(row.method, row.pattern, std::move(need));
  }
}

}  // namespace sluice::http
