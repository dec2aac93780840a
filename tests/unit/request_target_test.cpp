// parse_request_target: origin-form targets, with the query bytes curl and browsers send
// unescaped (`>` of a subject pattern) taken as themselves.
#include <gtest/gtest.h>

#include "http/request_target.hpp"

namespace sluice::http {
namespace {

using Query = std::vector<std::pair<std::string, std::string>>;

TEST(RequestTarget, RawGreaterThanInAQueryIsASubjectWildcard) {
  HttpRequest r;
  ASSERT_TRUE(parse_request_target("/streams/events?subject=sluice.media.>", r));
  EXPECT_EQ(r.path, "/streams/events");
  EXPECT_EQ(r.query, (Query{{"subject", "sluice.media.>"}}));
  ASSERT_TRUE(parse_request_target(
      "/streams/events?subject=maestra.stream.session.>&subject=maestra.stream.withdraw.*", r));
  EXPECT_EQ(r.query, (Query{{"subject", "maestra.stream.session.>"},
                            {"subject", "maestra.stream.withdraw.*"}}));
}

TEST(RequestTarget, EscapedAndUnusualQueriesDecode) {
  HttpRequest r;
  ASSERT_TRUE(parse_request_target("/x?subject=a.%3E&b=%zz&c=50%&d={\"j\"}|^`&e=%C3%A9", r));
  EXPECT_EQ(
      r.query,
      (Query{
          {"subject", "a.>"}, {"b", "%zz"}, {"c", "50%"}, {"d", "{\"j\"}|^`"}, {"e", "\xC3\xA9"}}));
  ASSERT_TRUE(parse_request_target("/live/cam%201/index.m3u8", r));
  EXPECT_EQ(r.path, "/live/cam 1/index.m3u8");
  EXPECT_TRUE(r.query.empty());
}

TEST(RequestTarget, OnlyTheQueryIsEscaped) {
  EXPECT_EQ(escape_query("/a?s=x.>&t=%41%4"), "/a?s=x.%3E&t=%41%254");
  EXPECT_EQ(escape_query("/a>b"), "/a>b");
  HttpRequest r;
  EXPECT_FALSE(parse_request_target("no-slash?x=1", r));
  EXPECT_FALSE(parse_request_target("/a>b", r));  // a path is not guessed at
}

TEST(RequestTarget, JoinedQueryRebuildsKeyLookups) {
  HttpRequest r;
  ASSERT_TRUE(parse_request_target("/live/cam.flv?key=sk_abc&x=1", r));
  EXPECT_EQ(joined_query(r), "key=sk_abc&x=1");
}

}  // namespace
}  // namespace sluice::http
