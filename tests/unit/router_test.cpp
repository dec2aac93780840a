#include <gtest/gtest.h>

#include "http/router.hpp"

namespace sluice::http {
namespace {

Handler named(std::string name) {
  return [name](const HttpRequest&, const PathParams&) -> Reply {
    return HttpResponse{200, "text/plain", name, {}};
  };
}

TEST(Router, StaticRoutesWinOverCapturesAndParamsAreExtracted) {
  Router r;
  r.add("GET", "/streams/{stream_id}", named("get"));
  r.add("GET", "/streams/sessions", named("sessions"));
  r.add("DELETE", "/streams/{stream_id}/leave/{subscriber_id}", named("leave"));
  auto m = r.route("GET", "/streams/sessions");
  ASSERT_TRUE(m.handler);
  EXPECT_EQ(m.route_index, 1);
  m = r.route("GET", "/streams/abc");
  ASSERT_TRUE(m.handler);
  EXPECT_EQ(m.params.at("stream_id"), "abc");
  m = r.route("DELETE", "/streams/a/leave/b");
  ASSERT_TRUE(m.handler);
  EXPECT_EQ(m.params.at("subscriber_id"), "b");
}

TEST(Router, UnknownPathIs404AndWrongMethodIs405WithAllow) {
  Router r;
  r.add("GET", "/streams", named("list"));
  r.add("GET", "/streams/sessions", named("sessions"));
  r.add("DELETE", "/streams/{stream_id}", named("withdraw"));
  EXPECT_EQ(r.route("GET", "/nope").status, 404);
  auto m = r.route("PATCH", "/streams");
  EXPECT_EQ(m.status, 405);
  EXPECT_EQ(m.allow, "GET");
  // The static path exists for GET only, so DELETE is a method error, not a UUID error.
  m = r.route("DELETE", "/streams/sessions");
  EXPECT_FALSE(m.handler);
  EXPECT_EQ(m.status, 405);
}

}  // namespace
}  // namespace sluice::http
