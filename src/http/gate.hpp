#pragma once
// The HTTP door's half of trust: the Router gate that authenticates every request and checks the
// route's permission (auth::AccessPolicy), the Origin rule shared by CORS, /ws and /wire, and the
// client address behind trusted proxies. Transport-free.
#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "http/router.hpp"
#include "keys/ip_rules.hpp"

namespace sluice::auth {
class Authenticator;
class AccessPolicy;
}  // namespace sluice::auth

namespace sluice::http {

// The cors_origins setting: exact origins ("https://console.example:8443"), readable from any
// thread while the setting changes.
class AllowedOrigins {
 public:
  explicit AllowedOrigins(std::vector<std::string> initial = {})
      : list_(std::make_shared<const std::vector<std::string>>(std::move(initial))) {}
  std::shared_ptr<const std::vector<std::string>> get() const { return list_.load(); }
  void set(std::vector<std::string> v) {
    list_.store(std::make_shared<const std::vector<std::string>>(std::move(v)));
  }
  bool lists(std::string_view origin) const {
    auto l = get();
    for (const auto& o : *l)
      if (o == origin) return true;
    return false;
  }

 private:
  std::atomic<std::shared_ptr<const std::vector<std::string>>> list_;
};

struct GateOptions {
  std::shared_ptr<const AllowedOrigins> cors_origins;  // never null
  std::vector<keys::IpNetwork> trusted_proxies;        // whose X-Forwarded-For is believed
};

// True when a browser page from `origin` may use the API: it is listed, or it is the server's
// own origin (its host:port equals the request's Host). Requests without Origin are not from a
// cross-site page and pass.
bool origin_allowed(std::string_view origin, std::string_view host,
                    const std::vector<std::string>& allowed);

// The client address: the peer, or — when the peer is a trusted proxy — the right-most address
// of X-Forwarded-For that is not itself a trusted proxy.
std::string client_address(std::string_view peer, std::string_view forwarded_for,
                           const std::vector<keys::IpNetwork>& trusted_proxies);

// The WWW-Authenticate challenge sluice sends with 401s.
inline constexpr std::string_view kChallenge = R"(Bearer realm="sluice", Basic realm="sluice")";

// The Router gate: fixes the client address, refuses cross-site writes from origins not allowed
// (403), authenticates (401 with a challenge for bad credentials), then checks the route's need.
// `authenticator`, `policy` must outlive the gate.
Gate make_gate(auth::Authenticator& authenticator, const auth::AccessPolicy& policy,
               GateOptions options);

// Declares every route's need (the authorization table of the HTTP API, docs/security.md).
void declare_route_access(Router& router);

// Turns a refusal into a response, with the challenge on 401 (Error::challenge, else kChallenge).
HttpResponse refusal_response(const Error& e);

// The web console's requests carry `X-Sluice-Console: 1`; their 401s get only the Bearer challenge
// (a Basic one makes the browser pop up its own login dialog over the console's sign-in page).
// The HTTP server applies this to every answer to such a request; other clients are unaffected.
inline constexpr std::string_view kConsoleChallenge = R"(Bearer realm="sluice")";
void quiet_challenge(HttpResponse& res);

}  // namespace sluice::http
