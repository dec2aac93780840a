// RedisClient against a real redis-server: binary-safe commands, error replies, pipelines,
// scripts after a server restart (NOSCRIPT), a server that is not there (503 at once, naming
// it), and reconnecting by itself when the server comes back. Plus the store URL parser.
#include <gtest/gtest.h>

#include "redis/redis_client.hpp"
#include "redis_fixture.hpp"

namespace sluice::testing {
namespace {

using namespace std::chrono_literals;
using redis::Reply;

redis::ClientOptions fast() {
  redis::ClientOptions o;
  o.connect_timeout = 500ms;
  o.command_timeout = 1000ms;
  o.backoff_min = 50ms;
  o.backoff_max = 200ms;
  return o;
}

redis::Endpoint local(int port) {
  redis::Endpoint e;
  e.port = static_cast<std::uint16_t>(port);
  return e;
}

TEST(RedisClient, CommandsAreBinarySafeAndErrorRepliesAreReplies) {
  RedisServer server;
  ASSERT_TRUE(server.start());
  redis::RedisClient client(local(server.port()), fast());
  const std::string value("a\0b\r\nc", 6);
  auto set = client.command({"SET", "k", value});
  ASSERT_TRUE(set) << set.error().detail;
  EXPECT_EQ(set->type, Reply::Type::kStatus);
  auto get = client.command({"GET", "k"});
  ASSERT_TRUE(get);
  EXPECT_EQ(get->str, value);
  EXPECT_TRUE(client.command({"GET", "missing"})->nil());
  auto wrong = client.command({"HGET", "k", "field"});
  ASSERT_TRUE(wrong) << "an error reply is not a failure of the client";
  EXPECT_TRUE(wrong->error());
  EXPECT_TRUE(wrong->str.starts_with("WRONGTYPE")) << wrong->str;
  EXPECT_TRUE(client.healthy());
}

TEST(RedisClient, PipelineAnswersInOrder) {
  RedisServer server;
  ASSERT_TRUE(server.start());
  redis::RedisClient client(local(server.port()), fast());
  std::vector<std::vector<std::string>> commands{
      {"SADD", "s", "a", "b"}, {"SCARD", "s"}, {"SMEMBERS", "nothing"}, {"INCR", "n"}};
  auto replies = client.pipeline(commands);
  ASSERT_TRUE(replies);
  ASSERT_EQ(replies->size(), 4u);
  EXPECT_EQ((*replies)[0].integer, 2);
  EXPECT_EQ((*replies)[1].integer, 2);
  EXPECT_EQ((*replies)[2].type, Reply::Type::kArray);
  EXPECT_TRUE((*replies)[2].elements.empty());
  EXPECT_EQ((*replies)[3].integer, 1);
}

TEST(RedisClient, ScriptsSurviveAServerThatForgotThem) {
  RedisServer server;
  ASSERT_TRUE(server.start());
  redis::RedisClient client(local(server.port()), fast());
  const redis::Script add("return redis.call('INCRBY', KEYS[1], ARGV[1])");
  const std::vector<std::string> keys{"counter"};
  const std::vector<std::string> args{"5"};
  EXPECT_EQ(client.eval(add, keys, args)->integer, 5);   // NOSCRIPT, then EVAL
  EXPECT_EQ(client.eval(add, keys, args)->integer, 10);  // EVALSHA
  ASSERT_TRUE(client.command({"SCRIPT", "FLUSH"}));
  EXPECT_EQ(client.eval(add, keys, args)->integer, 15);
}

TEST(RedisClient, AnAbsentServerIsA503NamingItAtOnce) {
  const int port = unused_local_port();
  redis::RedisClient client(local(port), fast());
  const auto started = std::chrono::steady_clock::now();
  auto r = client.command({"PING"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 503);
  EXPECT_NE(r.error().detail.find("127.0.0.1:" + std::to_string(port)), std::string::npos)
      << r.error().detail;
  // Inside the backoff window the next call does not even try: it fails at once.
  auto again = client.command({"PING"});
  ASSERT_FALSE(again);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
  EXPECT_FALSE(client.healthy());
}

TEST(RedisClient, ReconnectsByItselfWhenTheServerComesBack) {
  RedisServer server;
  ASSERT_TRUE(server.start());
  redis::RedisClient client(local(server.port()), fast());
  ASSERT_TRUE(client.command({"SET", "k", "v"}));
  server.kill();
  auto down = client.command({"GET", "k"});
  ASSERT_FALSE(down);
  EXPECT_EQ(down.error().status, 503);
  ASSERT_TRUE(server.start());
  EXPECT_TRUE(eventually([&] { return client.command({"PING"}).has_value(); }, 5s))
      << client.last_error();
  EXPECT_TRUE(client.command({"GET", "k"})->nil()) << "a fresh server: nothing was persisted";
  EXPECT_TRUE(client.healthy());
}

TEST(RedisClient, SelectsTheDatabaseOfTheUrl) {
  RedisServer server;
  ASSERT_TRUE(server.start());
  auto endpoint = redis::parse_redis_url(server.url() + "/3");
  ASSERT_TRUE(endpoint);
  redis::RedisClient db3(*endpoint, fast());
  redis::RedisClient db0(local(server.port()), fast());
  ASSERT_TRUE(db3.command({"SET", "where", "three"}));
  EXPECT_TRUE(db0.command({"GET", "where"})->nil());
  EXPECT_EQ(db3.command({"GET", "where"})->str, "three");
}

TEST(RedisUrl, ParsesWhatUsersWrite) {
  auto e = redis::parse_redis_url("redis://cache.local");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->host, "cache.local");
  EXPECT_EQ(e->port, 6379);
  EXPECT_EQ(e->db, 0);
  e = redis::parse_redis_url("redis://:s3cret@10.0.0.5:6380/2");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->host, "10.0.0.5");
  EXPECT_EQ(e->port, 6380);
  EXPECT_EQ(e->db, 2);
  EXPECT_EQ(e->password, "s3cret");
  EXPECT_EQ(e->to_string().find("s3cret"), std::string::npos);
  e = redis::parse_redis_url("redis://[::1]:7000");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->host, "::1");
  EXPECT_EQ(e->port, 7000);
  for (const char* bad : {"http://x", "redis://", "redis://h:0", "redis://h:99999", "redis://h:x",
                          "redis://h/16", "redis://h/-1", "redis://[::1"}) {
    auto r = redis::parse_redis_url(bad);
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_EQ(r.error().status, 400) << bad;
    }
  }
}

}  // namespace
}  // namespace sluice::testing
