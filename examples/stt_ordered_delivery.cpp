// STT chapter, "Ordered Delivery" and "Troubleshooting: Out-of-Order Messages".
//
// Messages on one stream arrive in the order they were sent: the session runs over one ordered
// connection (TCP, TLS or WebSocket), and fragments of one message are reassembled before it is
// delivered. There is no out-of-order buffer to wait on and nothing can stall on a missing
// segment. The only way a subscriber misses messages is the server dropping them under its
// overflow policy, and then the next message says so: Message::gap counts the dropped ones and
// Message::sequence skips over them (see conduit_buffers).
//
//   stt_ordered_delivery [--messages 1000] [--wire-port 0] [--http-port 0]
//
// Prints the first three messages with their sequence numbers, then "N messages in order,
// sequence 1..N, no gaps".
#include "server_support.hpp"

using namespace examples;

int main(int argc, char** argv) {
  Args args(argc, argv);
  const long messages = args.get("--messages", 1000L);
  sluice::Server server(local_config(args));
  server.start();
  must(server.create_channel("ordered.demo", unadvertised()), "create ordered.demo");

  auto receiver = connect(server, "receiver");
  auto in = must(receiver->subscribe("ordered.demo"), "subscribe");
  if (!eventually([&] { return server.channel("ordered.demo")->subscribers == 1; })) {
    fail("the subscription did not arrive");
  }

  // Sender: Message 1, Message 2, ... (every 100th one large, so some are fragmented).
  auto sender = connect(server, "sender");
  auto out = must(sender->publish("ordered.demo"), "publish");
  for (long i = 1; i <= messages; ++i) {
    std::string body = "Message " + std::to_string(i);
    if (i % 100 == 0) body.resize(200 * 1024, '.');
    must(out.send(body), "send");
  }

  // Receiver gets them in order.
  long in_order = 0;
  for (long i = 1; i <= messages; ++i) {
    auto m = in.receive(5s);
    if (!m) fail("message " + std::to_string(i) + " did not arrive");
    const std::string expected = "Message " + std::to_string(i);
    if (m->data.compare(0, expected.size(), expected) != 0 ||
        (m->data.size() > expected.size() && m->data[expected.size()] != '.') ||
        m->sequence != static_cast<std::uint64_t>(i) || m->gap != 0) {
      std::printf("out of order: expected %s (seq=%ld), got seq=%lu\n", expected.c_str(), i,
                  static_cast<unsigned long>(m->sequence));
      break;
    }
    if (i <= 3) std::printf("%s (seq=%lu)\n", expected.c_str(), static_cast<unsigned long>(i));
    ++in_order;
  }
  if (in_order == messages) {
    std::printf("%ld messages in order, sequence 1..%ld, no gaps\n", in_order, messages);
  }
  sender->close();
  receiver->close();
  server.stop();
  return in_order == messages ? 0 : 1;
}
