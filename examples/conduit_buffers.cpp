// Conduit guide, "Overview" (many subscribers per stream, a configurable buffer per subscriber)
// and the buffer_size argument of streams.create(...).
//
// Every subscriber has its own bounded buffer on the server, so a slow subscriber never holds
// back a fast one nor the publisher. What happens when a buffer is full is an explicit policy,
// and every loss is reported to the subscriber as a gap in its sequence numbers:
// - drop-oldest (the default): the newest message goes in, the oldest queued ones are dropped;
// - drop-newest: the arriving message is refused (Conduit's only behaviour), and push() does not
//   count that subscriber;
// - disconnect and block also exist (docs/protocol.md, "Overflow policies and sequence gaps").
//
// Three subscribers, each on its own session: a fast one, and two that read nothing until the
// server has pushed --messages messages. The slow ones announce a small stream window (16 KiB)
// so that their buffers fill quickly.
//
//   conduit_buffers [--messages 1000] [--buffer 10] [--wire-port 0] [--http-port 0]
//
// Prints one line per subscriber with what it received and lost, and the push() results.
#include <atomic>
#include <map>

#include "server_support.hpp"

using namespace examples;
using sluice::client::Stream;
using sluice::wire::OverflowPolicy;

namespace {

struct Tally {
  long received = 0;
  std::uint64_t lost = 0;  // the sum of the gaps
  std::uint64_t last_sequence = 0;
};

// Reads everything a subscription has, until nothing arrives for half a second.
Tally drain(Stream& subscription) {
  Tally t;
  while (auto m = subscription.receive(500ms)) {
    t.received++;
    t.lost += m->gap;
    t.last_sequence = m->sequence;
  }
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  Args args(argc, argv);
  const long messages = args.get("--messages", 1000L);
  const auto buffer = static_cast<std::size_t>(args.get("--buffer", 10L));

  sluice::Server server(local_config(args));
  server.start();
  must(server.create_channel("ticks"), "create ticks");

  // The fast subscriber handles each message in a callback as it arrives.
  auto fast_session = connect(server, "fast");
  std::atomic<long> fast_received{0};
  std::atomic<std::uint64_t> fast_lost{0};
  auto on_tick = [&](const sluice::client::Message& m) {
    fast_received++;
    fast_lost += m.gap;
  };
  auto fast = must(fast_session->subscribe("ticks", on_tick), "subscribe (fast)");

  // The slow subscribers: a small window, a buffer of --buffer messages, and no reading yet.
  auto slow_options = wire_at("127.0.0.1", server.wire_port(), "slow");
  slow_options.settings.stream_window = 16 * 1024;
  auto slow_subscriber = [&](OverflowPolicy policy) {
    auto session = connect(slow_options);
    sluice::client::SubscribeOptions options;
    options.buffer.max_messages = buffer;
    options.buffer.policy = policy;
    return std::pair{session, must(session->subscribe("ticks", options), "subscribe (slow)")};
  };
  auto [oldest_session, oldest] = slow_subscriber(OverflowPolicy::kDropOldest);
  auto [newest_session, newest] = slow_subscriber(OverflowPolicy::kDropNewest);
  if (!eventually([&] { return server.channel("ticks")->subscribers == 3; })) {
    fail("the subscriptions did not arrive");
  }

  // push() says how many subscribers took each message.
  std::map<std::size_t, long> push_results;
  const std::string payload(1024, 'x');
  for (long i = 0; i < messages; ++i)
    push_results[must(server.push("ticks", payload), "push")]++;

  if (!eventually([&] { return fast_received == messages; })) fail("the fast subscriber lags");
  const Tally o = drain(oldest);
  const Tally n = drain(newest);

  std::printf("fast subscriber: %ld received, %lu lost\n", fast_received.load(),
              static_cast<unsigned long>(fast_lost.load()));
  std::printf(
      "slow subscriber (buffer %zu, drop-oldest): %ld received, %lu lost, last sequence %lu\n",
      buffer, o.received, static_cast<unsigned long>(o.lost),
      static_cast<unsigned long>(o.last_sequence));
  std::printf("slow subscriber (buffer %zu, drop-newest): %ld received, %ld refused\n", buffer,
              n.received, messages - n.received);
  for (auto [subscribers, count] : push_results)
    std::printf("push() returned %zu for %ld messages\n", subscribers, count);

  // What the policies promise, checked: nothing lost silently.
  bool ok = fast_lost == 0 && o.received + static_cast<long>(o.lost) == messages &&
            o.last_sequence == static_cast<std::uint64_t>(messages) &&
            n.received == push_results[3] && push_results[3] + push_results[2] == messages;
  std::printf("%s\n", ok ? "every loss accounted for" : "LOSSES DO NOT ADD UP");

  fast.close();
  for (auto* s : {&fast_session, &oldest_session, &newest_session})
    (*s)->close();
  server.stop();
  return ok ? 0 : 1;
}
