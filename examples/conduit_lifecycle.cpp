// Conduit guide, "Stream Lifecycle".
//
// The life of a server-owned channel: create it, hear subscribers come and go (Conduit's
// @stream.on_subscribe / @stream.on_unsubscribe), push and learn how many subscribers took the
// message, close it.
//
// Differences from Conduit, on purpose:
// - The per-subscriber buffer (Conduit's buffer_size=50) is chosen by each subscriber when it
//   subscribes, together with what happens when it overflows (see conduit_buffers).
// - Subscription callbacks get the subscriber's relay session id and run on the relay thread.
//
//   conduit_lifecycle [--wire-port 0] [--http-port 0]
//
// Prints "New subscriber: <id>", "Sent to 1 subscribers", "Lost subscriber: <id>" and
// "my_stream closed".
#include <mutex>
#include <vector>

#include "server_support.hpp"

using namespace examples;

int main(int argc, char** argv) {
  Args args(argc, argv);
  sluice::Server server(local_config(args));
  server.start();

  // Create stream
  must(server.create_channel("my_stream"), "create my_stream");

  // Subscribe and unsubscribe callbacks
  std::mutex mutex;
  std::vector<std::string> events;
  server.on_subscription("my_stream", [&](std::string_view subscriber, bool subscribed) {
    std::printf("%s subscriber: %.*s\n", subscribed ? "New" : "Lost", int(subscriber.size()),
                subscriber.data());
    std::fflush(stdout);
    std::lock_guard lock(mutex);
    events.push_back(subscribed ? "subscribe" : "unsubscribe");
  });
  auto heard = [&](std::size_t n) {
    return eventually([&] {
      std::lock_guard lock(mutex);
      return events.size() == n;
    });
  };

  // A client subscribes with a buffer of 50 messages.
  auto client = connect(server, "lifecycle-client");
  sluice::client::SubscribeOptions options;
  options.buffer.max_messages = 50;
  auto subscription = must(client->subscribe("my_stream", options), "subscribe");
  if (!heard(1)) fail("no subscribe notification");

  // Push data
  auto count = must(server.push("my_stream", R"({"value": 42})"), "push");
  std::printf("Sent to %zu subscribers\n", count);
  auto message = subscription.receive(5s);
  if (!message) fail("the subscriber got nothing");
  std::printf("subscriber got %s\n", message->data.c_str());

  // The subscriber leaves.
  subscription.close();
  if (!heard(2)) fail("no unsubscribe notification");

  // Close stream: subscribers still listening would get a "closed" event; the registry entry
  // goes, and so does the channel.
  must(server.close_channel("my_stream"), "close my_stream");
  auto gone = server.channel("my_stream");
  std::printf("my_stream closed (%s)\n", gone ? "still listed!" : gone.error().detail.c_str());

  client->close();
  server.stop();
  return gone ? 1 : 0;
}
