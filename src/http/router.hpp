#pragma once
// Maps (method, path) to handlers. Patterns are '/'-separated with `{name}` captures; a path that
// matches several patterns goes to the one with the most literal segments, so static routes like
// /streams/sessions win over /streams/{stream_id}. Build once at start-up; route() is then
// read-only and thread-safe.
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "http/http_types.hpp"

namespace sluice::http {

using PathParams = std::map<std::string, std::string, std::less<>>;
using Handler = std::function<Reply(const HttpRequest&, const PathParams&)>;

struct RouteInfo {
  std::string method;
  std::string pattern;
};

class Router {
 public:
  void add(std::string method, std::string pattern, Handler handler);

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
  };
  std::vector<Route> routes_;
  std::vector<RouteInfo> infos_;
};

}  // namespace sluice::http
