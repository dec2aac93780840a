#pragma once
// Maps (method, path) to handlers. Patterns are '/'-separated with `{name}` captures; a path that
// matches several patterns goes to the one with the most literal segments, so static routes like
// /streams/sessions win over /streams/{stream_id}. Build once at start-up; route() is then
// read-only and thread-safe.
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "auth/permissions.hpp"
#include "http/http_types.hpp"

namespace sluice::http {

using PathParams = std::map<std::string, std::string, std::less<>>;
using Handler = std::function<Reply(const HttpRequest&, const PathParams&)>;

struct RouteInfo {
  std::string method;
  std::string pattern;
};

// What a route needs before its handler runs: a permission (class level; handlers check paths,
// subjects and ownership), or nothing (`kPublic`: /health, /openapi.json).
using RouteNeed = std::optional<auth::Need>;
inline const RouteNeed kPublic = std::nullopt;

// Runs before every routed handler: authenticates the request (filling `identity`) and checks
// the route's need. Returns the refusal to send, or nullopt to go on.
using Gate = std::function<std::optional<HttpResponse>(HttpRequest&, const RouteNeed&)>;

// Told the outcome of every routed request (after the gate, with `identity` filled): the audit
// trail. `route` is the matched pattern ("" when none matched). Must be quick and thread-safe.
using Outcome = std::function<void(const HttpRequest&, std::string_view route, int status)>;

class Router {
 public:
  void add(std::string method, std::string pattern, Handler handler);

  // Declares what the route (method, pattern as added) needs. Every route must be declared
  // before serving (see undeclared()); declaring a route that was not added is ignored (it may
  // be off in this configuration).
  void declare(std::string_view method, std::string_view pattern, RouteNeed need);
  // "METHOD PATTERN" of every route with no declaration: the server refuses to start with any.
  std::vector<std::string> undeclared() const;

  void set_gate(Gate gate) { gate_ = std::move(gate); }
  void set_outcome(Outcome outcome) { outcome_ = std::move(outcome); }
  // Reports a request's outcome to the Outcome hook (no-op when none is set).
  void report(const HttpRequest& req, int route_index, int status) const;
  // The gate's verdict for a matched route; nullopt (go on) when no gate is set.
  std::optional<HttpResponse> admit(HttpRequest& req, int route_index) const;

  struct Match {
    const Handler* handler = nullptr;  // null: see `status`
    PathParams params;
    int route_index = -1;  // index into routes(), for metrics; -1 when unmatched
    int status = 200;      // 404 no such path, 405 path exists with other methods
    std::string allow;     // for 405: "GET, POST"
  };
  Match route(std::string_view method, std::string_view path) const;

  const std::vector<RouteInfo>& routes() const { return infos_; }

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;
    Handler handler;
    int literal_segments;
    bool declared = false;
    RouteNeed need;
  };
  Gate gate_;
  Outcome outcome_;
  std::vector<Route> routes_;
  std::vector<RouteInfo> infos_;
};

}  // namespace sluice::http
