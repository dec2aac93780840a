// The SDK's pure helpers (no daemon): base-URL parsing, percent-encoding, error details, the
// SSE parser, publisher reply encoding, and backoff.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "client/client.hpp"
#include "client/event_stream.hpp"
#include "client/stop_signal.hpp"
#include "client/stream_publisher.hpp"

namespace sluice::client {
namespace {

namespace json = boost::json;

TEST(BaseUrl, ParsesHostPortAndPrefix) {
  auto u = parse_base_url("http://example.org:9000/api/");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "example.org");
  EXPECT_EQ(u->port, "9000");
  EXPECT_EQ(u->path_prefix, "/api");

  auto plain = parse_base_url("http://127.0.0.1");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->port, "80");
  EXPECT_EQ(plain->path_prefix, "");

  auto v6 = parse_base_url("http://[::1]:8080");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");

  EXPECT_EQ(parse_base_url("https://x").error().status, 0);
  EXPECT_FALSE(parse_base_url("127.0.0.1:8080"));
  EXPECT_FALSE(parse_base_url(""));
}

TEST(UrlEncode, KeepsUnreservedEscapesTheRest) {
  EXPECT_EQ(url_encode("maestra.stream.>"), "maestra.stream.%3E");
  EXPECT_EQ(url_encode("a b/c?d=e&f"), "a%20b%2Fc%3Fd%3De%26f");
  EXPECT_EQ(url_encode("2026-03-22T10:30:00Z"), "2026-03-22T10%3A30%3A00Z");
  EXPECT_EQ(url_encode("Az09-._~"), "Az09-._~");
}

TEST(ErrorDetail, StringListRawAndFallback) {
  EXPECT_EQ(error_detail_from_body(R"({"detail":"Stream not found or expired"})", "x"),
            "Stream not found or expired");
  EXPECT_EQ(
      error_detail_from_body(
          R"({"detail":[{"type":"missing","loc":["body","name"],"msg":"Field required"}]})", "x"),
      "Field required");
  EXPECT_EQ(error_detail_from_body("  upstream exploded \n", "x"), "upstream exploded");
  EXPECT_EQ(error_detail_from_body("", "Not Found"), "Not Found");
}

TEST(SseParser, AssemblesEventsAcrossChunks) {
  SseParser parser;
  std::vector<ServerSentEvent> events;
  auto collect = [&](const ServerSentEvent& e) { events.push_back(e); };
  parser.feed(": keep-alive\n\nevent: info\nda", collect);
  EXPECT_TRUE(events.empty());
  parser.feed("ta: {\"a\":1}\r\ndata: second line\r\nid: 7\r\n\r\n", collect);
  parser.feed("data:no-space\n\n", collect);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].event, "info");
  EXPECT_EQ(events[0].data, "{\"a\":1}\nsecond line");
  EXPECT_EQ(events[0].id, "7");
  EXPECT_EQ(events[1].event, "");
  EXPECT_EQ(events[1].data, "no-space");
  EXPECT_EQ(events_target("maestra.stream.*"), "/streams/events?subject=maestra.stream.%2A");
}

TEST(PublisherReply, AcceptAndRejectShapes) {
  AcceptRequest accept;
  accept.port = 6000;
  accept.transport_config = json::object{{"ndi_name", "CAM"}};
  auto a = decision_to_json(accept);
  EXPECT_EQ(a.at("accepted").as_bool(), true);
  EXPECT_EQ(a.at("port").as_int64(), 6000);
  EXPECT_FALSE(a.contains("address"));
  EXPECT_EQ(a.at("transport_config").at("ndi_name").as_string(), "CAM");

  auto r = decision_to_json(RejectRequest{"busy"});
  EXPECT_EQ(r.at("accepted").as_bool(), false);
  EXPECT_EQ(r.at("reason").as_string(), "busy");

  auto in = incoming_request_from_json(json::parse(
      R"({"stream_id":"s","consumer_id":"c","consumer_address":"h","consumer_port":null,
          "config":{"q":1},"timestamp":"2026-01-01T00:00:00Z"})"));
  EXPECT_EQ(in.consumer_id, "c");
  EXPECT_FALSE(in.consumer_port);
  EXPECT_EQ(in.config.at("q").as_int64(), 1);
}

TEST(Backoff, DoublesUpToTheCapAndResets) {
  Backoff b(std::chrono::milliseconds(100), std::chrono::milliseconds(500));
  EXPECT_EQ(b.next().count(), 100);
  EXPECT_EQ(b.next().count(), 200);
  EXPECT_EQ(b.next().count(), 400);
  EXPECT_EQ(b.next().count(), 500);
  EXPECT_EQ(b.next().count(), 500);
  b.reset();
  EXPECT_EQ(b.next().count(), 100);
}

TEST(StopSignal, StopWakesASleeperPromptly) {
  StopSignal stop;
  const auto started = std::chrono::steady_clock::now();
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    stop.stop();
  });
  EXPECT_FALSE(stop.wait_for(std::chrono::seconds(30)));
  stopper.join();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  EXPECT_FALSE(stop.wait_for(std::chrono::seconds(30)));  // stays stopped
  stop.reset();
  EXPECT_TRUE(stop.wait_for(std::chrono::milliseconds(1)));
}

}  // namespace
}  // namespace sluice::client
