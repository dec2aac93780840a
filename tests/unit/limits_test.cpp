// Bounded resources (issue 12, docs/operations.md "Limits"), sans I/O: the rate-limited log, the
// limit settings and what the memory budget derives, byte budgets and the queues that charge
// them (SSE//ws outboxes, relay send queues, relay partial messages), and the registry's caps.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "core/byte_budget.hpp"
#include "core/config.hpp"
#include "core/log_limiter.hpp"
#include "core/refusals.hpp"
#include "net/outbox.hpp"
#include "registry/memory_store.hpp"
#include "registry/registry.hpp"
#include "registry/requests.hpp"
#include "registry/sqlite_history.hpp"
#include "support/fake_bus.hpp"
#include "wire/send_queue.hpp"

namespace sluice {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

// ------------------------------------------------------------------------------ log limiter

TEST(LogLimiter, OneLineASecondCarryingWhatItStandsFor) {
  LogLimiter limiter;
  const MonoTime t0(std::chrono::seconds(100));
  EXPECT_EQ(limiter.event(t0), 1u);  // the first event logs at once
  for (int i = 0; i < 24'999; ++i)
    EXPECT_EQ(limiter.event(t0 + std::chrono::microseconds(i * 40)), 0u);
  // A second later the next line reports the whole flood since the first one, plus itself.
  EXPECT_EQ(limiter.event(t0 + 1s), 25'000u);
  EXPECT_EQ(limiter.event(t0 + 1500ms), 0u);
  EXPECT_EQ(limiter.event(t0 + 5s, 3), 4u);  // counts given in bulk add up
}

TEST(Refusals, CountsEveryRefusalByKind) {
  Refusals r;
  for (int i = 0; i < 1000; ++i)
    r.count(Refusal::kHttpConnectionsPerAddress, "connection from 10.0.0.1");
  r.count(
      Refusal::kRelayBufferBudget, [] { return std::string("lazy"); }, 42);
  EXPECT_EQ(r.total(Refusal::kHttpConnectionsPerAddress), 1000u);
  EXPECT_EQ(r.total(Refusal::kRelayBufferBudget), 42u);
  EXPECT_EQ(r.total(Refusal::kStreams), 0u);
  for (std::size_t k = 0; k < static_cast<std::size_t>(Refusal::kCount); ++k)
    EXPECT_NE(refusal_name(static_cast<Refusal>(k)), "unknown");
}

// ------------------------------------------------------------------------------- settings

Config load(std::vector<const char*> args, std::map<std::string, std::string> env = {}) {
  args.insert(args.begin(), "sluiced");
  return std::get<Config>(load_config(static_cast<int>(args.size()), args.data(), env));
}

TEST(LimitSettings, DefaultsDeriveTheBudgetsFromTheMemoryBudget) {
  auto l = load({}).limits.resolved();
  EXPECT_EQ(l.memory_budget, 512 * kMiB);
  EXPECT_EQ(l.http_reply_budget, 128 * kMiB);
  EXPECT_EQ(l.event_stream_budget, 64 * kMiB);
  EXPECT_EQ(l.relay_buffer_budget, 128 * kMiB);
  EXPECT_EQ(l.relay_partial_budget, 64 * kMiB);
  EXPECT_EQ(l.relay_buffer_max_bytes, 64 * kMiB);
  EXPECT_EQ(l.max_stream_config_bytes, 64 * kKiB);
  EXPECT_EQ(l.rtmp_handshake_timeout, 5000ms);

  auto small = load({"--memory-budget", "64MiB"}).limits.resolved();
  EXPECT_EQ(small.http_reply_budget, 16 * kMiB);
  EXPECT_EQ(small.event_stream_budget, 8 * kMiB);
  EXPECT_EQ(small.relay_buffer_max_bytes, 8 * kMiB);
}

TEST(LimitSettings, FlagsEnvironmentAndUnitsAndExplicitBudgetsWin) {
  auto l = load({"--memory-budget", "1GiB", "--event-stream-budget", "2M", "--max-streams", "50",
                 "--http-write-timeout", "1.5", "--media-max-connections-per-address", "3"},
                {{"SLUICE_HTTP_MAX_CONNECTIONS_PER_ADDRESS", "7"}})
               .limits.resolved();
  EXPECT_EQ(l.memory_budget, 1024 * kMiB);
  EXPECT_EQ(l.event_stream_budget, 2 * kMiB);  // set explicitly: not derived
  EXPECT_EQ(l.http_reply_budget, 256 * kMiB);  // derived from 1 GiB
  EXPECT_EQ(l.max_streams, 50u);
  EXPECT_EQ(l.http_write_timeout, 1500ms);
  EXPECT_EQ(l.media_max_connections_per_address, 3u);
  EXPECT_EQ(l.http_max_connections_per_address, 7u);
  EXPECT_FALSE(l.describe().empty());
}

TEST(LimitSettings, BadValuesNameTheKey) {
  for (auto args : std::vector<std::vector<const char*>>{{"--memory-budget", "lots"},
                                                         {"--memory-budget", "1MiB"},
                                                         {"--max-streams", "0"},
                                                         {"--http-header-timeout", "-1"},
                                                         {"--relay-buffer-max-bytes", "8GiB"}}) {
    try {
      load(args);
      ADD_FAILURE() << args[0] << " " << args[1] << " was accepted";
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(args[0] + 2), std::string::npos) << e.what();
    }
  }
}

// ---------------------------------------------------------------------------- byte budgets

TEST(ByteBudget, TakesWhatFitsAndCountsRefusals) {
  ByteBudget b(100);
  EXPECT_TRUE(b.try_take(60));
  EXPECT_FALSE(b.try_take(41));
  EXPECT_TRUE(b.try_take(40));
  EXPECT_FALSE(b.try_take(SIZE_MAX));  // no overflow
  b.give(100);
  EXPECT_EQ(b.used(), 0u);
  EXPECT_EQ(b.refused(), 2u);
  SharedByteBudget s(10);
  EXPECT_TRUE(s.try_take(10));
  EXPECT_FALSE(s.try_take(1));
  s.take(5);  // essential bytes go past the limit, still accounted
  EXPECT_EQ(s.used(), 15u);
  SharedByteBudget replies(100);
  EXPECT_TRUE(replies.try_take_or_alone(500));  // larger than the whole budget: only alone
  EXPECT_FALSE(replies.try_take_or_alone(1));
  replies.give(500);
  EXPECT_TRUE(replies.try_take_or_alone(60));
  EXPECT_FALSE(replies.try_take_or_alone(500));
}

TEST(EventStreamBudget, SlowClientsTogetherHoldAtMostTheBudget) {
  SharedByteBudget budget(10'000);
  std::vector<std::unique_ptr<net::Outbox>> clients;
  for (int i = 0; i < 20; ++i)
    clients.push_back(std::make_unique<net::Outbox>(4096, 16 << 20, &budget));
  std::size_t refused = 0;
  for (int event = 0; event < 100; ++event) {
    for (auto& c : clients)
      refused += c->push(std::string(300, 'e')).over_budget;
  }
  EXPECT_LE(budget.used(), 10'000u);
  EXPECT_GT(refused, 0u);
  // A client that reads frees its share; one that goes away gives everything back.
  while (clients[0]->pop()) {
  }
  EXPECT_FALSE(clients[1]->push(std::string(300, 'x')).over_budget);
  clients.clear();
  EXPECT_EQ(budget.used(), 0u);
}

TEST(EventStreamBudget, AClientWithNothingQueuedDropsTheEventAndSaysSo) {
  SharedByteBudget budget(1000);
  net::Outbox hog(4096, 16 << 20, &budget);
  net::Outbox other(4096, 16 << 20, &budget);
  EXPECT_FALSE(hog.push(std::string(1000, 'h')).over_budget);
  EXPECT_TRUE(other.push("event").over_budget);
  EXPECT_EQ(other.take_dropped(), 1u);  // announced in-band like any drop
  // The response header of a new stream is never refused.
  EXPECT_TRUE(other.push("HTTP/1.1 200 OK\r\n\r\n", /*essential=*/true).start_writer);
}

wire::OutMessage bytes_of(std::size_t n, char c = 'm') {
  return wire::copy_message(std::string(n, c));
}

TEST(RelayBufferBudget, QueuesTogetherStayWithinTheBudgetByTheirPolicies) {
  const std::size_t per_message = 1000 + wire::SendQueue::kEntryOverhead;
  ByteBudget budget(10 * per_message);
  wire::QueueLimits roomy;  // 16384 messages, 8 MiB each: only the budget binds
  wire::SendQueue oldest(roomy), newest(roomy), disconnect(roomy);
  roomy.policy = wire::OverflowPolicy::kDropNewest;
  newest.set_limits(roomy);
  roomy.policy = wire::OverflowPolicy::kDisconnect;
  disconnect.set_limits(roomy);
  for (auto* q : {&oldest, &newest, &disconnect})
    q->set_budget(&budget);

  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(oldest.offer(bytes_of(1000)), wire::SendQueue::Offer::kQueued);
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(newest.offer(bytes_of(1000)), wire::SendQueue::Offer::kQueued);
  EXPECT_EQ(budget.used(), budget.limit());
  // Full: drop-newest loses the new message (a gap), disconnect asks for a reset, drop-oldest
  // makes room from its own queue.
  EXPECT_EQ(newest.offer(bytes_of(1000)), wire::SendQueue::Offer::kDroppedNewest);
  EXPECT_EQ(newest.dropped_total(), 1u);  // announced as a gap by the next message sent
  EXPECT_EQ(disconnect.offer(bytes_of(1000)), wire::SendQueue::Offer::kDisconnect);
  EXPECT_EQ(oldest.offer(bytes_of(1000)), wire::SendQueue::Offer::kDroppedOldest);
  EXPECT_EQ(oldest.size(), 6u);
  EXPECT_EQ(budget.used(), budget.limit());
  EXPECT_EQ(budget.refused(), 3u);  // one per message the budget could not take as it came
  // Popping gives back; a queue destroyed with messages gives everything back.
  oldest.pop_front();
  EXPECT_EQ(budget.used(), 9 * per_message);
  {
    wire::SendQueue doomed(roomy);
    doomed.set_budget(&budget);
    EXPECT_EQ(doomed.offer(bytes_of(1000)), wire::SendQueue::Offer::kQueued);
  }
  EXPECT_EQ(budget.used(), 9 * per_message);
}

// ------------------------------------------------------------------------------- registry

class RegistryLimits : public ::testing::Test {
 protected:
  RegistryLimits() : history(":memory:"), reg(options(), store, history, bus, clock) {
    reg.seed_builtin_types();
  }
  registry::RegistryOptions options() {
    registry::RegistryOptions o;
    o.max_config_bytes = 1024;
    o.max_custom_types = 2;
    o.max_streams = 3;
    o.refusals = &refusals;
    return o;
  }
  registry::AdvertiseRequest stream(std::string name, std::size_t config_bytes = 10) {
    json::object body{{"name", name},
                      {"stream_type", "sensor"},
                      {"publisher_id", "p"},
                      {"protocol", "udp"},
                      {"address", "10.0.0.1"},
                      {"port", 9000},
                      {"config", json::object{{"blob", std::string(config_bytes, 'x')}}}};
    return *registry::parse_advertise(body);
  }
  registry::StreamTypeSpec type(std::string name, std::size_t metadata_bytes = 10) {
    registry::StreamTypeSpec t;
    t.name = std::move(name);
    t.display_name = t.name;
    t.metadata = json::object{{"notes", std::string(metadata_bytes, 'n')}};
    return t;
  }

  Refusals refusals;
  FakeClock clock;
  testing::FakeBus bus;
  registry::MemoryStore store;
  registry::SqliteHistory history;
  registry::Registry reg;
};

TEST_F(RegistryLimits, AConfigOrMetadataOverTheLimitIsA422NamingIt) {
  auto big = reg.advertise(stream("a", 2000));
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().status, 422);
  EXPECT_EQ(big.error().fields.at(0).loc, (std::vector<std::string>{"body", "config"}));
  EXPECT_NE(big.error().detail.find("max-stream-config"), std::string::npos);
  auto meta = stream("b");
  meta.metadata = json::object{{"m", std::string(2000, 'm')}};
  EXPECT_EQ(reg.advertise(meta).error().fields.at(0).loc.back(), "metadata");
  EXPECT_EQ(reg.create_type(type("huge", 2000)).error().status, 422);
  EXPECT_EQ(refusals.total(Refusal::kStreamConfigSize), 3u);
  EXPECT_TRUE(reg.advertise(stream("ok", 500)));  // nothing was stored for the refused ones
  EXPECT_EQ(reg.list_streams(std::nullopt)->size(), 1u);
}

TEST_F(RegistryLimits, CustomTypesAndStreamsAreCappedWith507) {
  EXPECT_TRUE(reg.create_type(type("t1")));
  EXPECT_TRUE(reg.create_type(type("t2")));
  auto third = reg.create_type(type("t3"));
  ASSERT_FALSE(third);
  EXPECT_EQ(third.error().status, 507);
  EXPECT_NE(third.error().detail.find("max-stream-types"), std::string::npos);
  ASSERT_TRUE(reg.delete_type("t1"));
  EXPECT_TRUE(reg.create_type(type("t3")));  // room again

  for (auto name : {"s1", "s2", "s3"})
    ASSERT_TRUE(reg.advertise(stream(name)));
  auto fourth = reg.advertise(stream("s4"));
  ASSERT_FALSE(fourth);
  EXPECT_EQ(fourth.error().status, 507);
  EXPECT_TRUE(reg.advertise(stream("s2")));  // re-advertising a known stream is not a new one
  EXPECT_EQ(refusals.total(Refusal::kStreamTypes), 1u);
  EXPECT_EQ(refusals.total(Refusal::kStreams), 1u);
}

TEST_F(RegistryLimits, TheListingIsPagedAndServedFromCachedTextsThatFollowChanges) {
  for (auto name : {"s1", "s2", "s3"}) {
    ASSERT_TRUE(reg.advertise(stream(name)));
    clock.advance(1s);  // listing order: advertised_at
  }
  auto all = reg.list_stream_json(std::nullopt, 0, std::nullopt);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->items.size(), 3u);
  EXPECT_EQ(all->total, 3u);
  auto expected = reg.list_streams(std::nullopt);
  for (std::size_t i = 0; i < 3; ++i)
    EXPECT_EQ(json::parse(*all->items[i]), json::value(registry::to_json((*expected)[i])));
  // The same texts are shared by the next listing (cached), until the stream changes.
  auto again = reg.list_stream_json(std::nullopt, 0, std::nullopt);
  EXPECT_EQ(again->items[1].get(), all->items[1].get());
  clock.advance(1s);
  ASSERT_TRUE(reg.heartbeat_stream((*expected)[1].stream.id));
  auto after = reg.list_stream_json(std::nullopt, 0, std::nullopt);
  EXPECT_NE(after->items[1].get(), all->items[1].get());
  EXPECT_EQ(json::parse(*after->items[1]),
            json::value(registry::to_json(*reg.get_stream((*expected)[1].stream.id))));
  EXPECT_EQ(after->items[0].get(), all->items[0].get());

  auto page = reg.list_stream_json(std::nullopt, 1, 1);
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->total, 3u);
  EXPECT_EQ(json::parse(*page->items[0]).at("name").as_string(), "s2");
  EXPECT_TRUE(reg.list_stream_json(std::nullopt, 5, std::nullopt)->items.empty());
  EXPECT_EQ(reg.list_stream_json(std::string("ndi"), 0, 10)->total, 0u);
}

}  // namespace
}  // namespace sluice
