// STT chapter, "Flow Control" and "Stream Statistics".
//
// Every stream has a send window (credit the peer granted: how many more bytes this side may
// send before it must wait) and a receive window (credit this side granted). They start at the
// announced stream_window (4 MiB by default), shrink as data flows and grow back as the
// receiver consumes it; the receiver also doubles a window that keeps running dry (auto-tuning,
// up to 64 MiB per stream). No manual control is needed.
//
// Stream::statistics() is STT's get_statistics(): stream id, priority, active, bytes and
// messages each way, gaps (messages the server dropped for this subscriber), both windows and the
// session's round-trip time once known. The per-stream sequence is on each received Message.
// STT's session_id/created_at/last_activity/uptime are not kept per stream.
//
//   stt_statistics [--messages 50] [--wire-port 0] [--http-port 0]
//
// Prints the sender's and the receiver's statistics after --messages messages of 20 KiB, of
// which the receiver has read half.
#include "server_support.hpp"

using namespace examples;

namespace {

void print(const char* who, const sluice::client::StreamStatistics& s) {
  std::printf("%s stream %u: active %s, priority %u\n", who, s.stream_id,
              s.active ? "true" : "false", s.priority);
  std::printf("  bytes_sent %lu, bytes_received %lu\n", static_cast<unsigned long>(s.bytes_sent),
              static_cast<unsigned long>(s.bytes_received));
  std::printf("  messages_sent %lu, messages_received %lu, gaps %lu\n",
              static_cast<unsigned long>(s.messages_sent),
              static_cast<unsigned long>(s.messages_received), static_cast<unsigned long>(s.gaps));
  std::printf("  Send window: %ld bytes\n  Receive window: %ld bytes\n",
              static_cast<long>(s.send_window), static_cast<long>(s.receive_window));
  if (s.rtt) {
    std::printf("  rtt %.0f us\n", std::chrono::duration<double, std::micro>(*s.rtt).count());
  }
}

}  // namespace

int main(int argc, char** argv) {
  Args args(argc, argv);
  const long messages = args.get("--messages", 50L);
  sluice::Server server(local_config(args));
  server.start();
  must(server.create_channel("stats.demo", unadvertised()), "create stats.demo");

  auto sender = connect(server, "sender");
  auto receiver = connect(server, "receiver");
  auto out = must(sender->publish("stats.demo"), "publish");
  auto in = must(receiver->subscribe("stats.demo"), "subscribe");
  if (!eventually([&] { return server.channel("stats.demo")->subscribers == 1; })) {
    fail("the subscription did not arrive");
  }

  const std::string payload(20 * 1024, 'd');
  for (long i = 0; i < messages; ++i)
    must(out.send(payload), "send");
  std::uint64_t sequence = 0;
  for (long i = 0; i < messages / 2; ++i) {
    auto m = in.receive(5s);
    if (!m) fail("a message is missing");
    sequence = m->sequence;
  }
  // Let the rest arrive (unread) so that the receiver's counters settle.
  if (!eventually([&] { return in.statistics().messages_received == std::uint64_t(messages); })) {
    fail("not everything arrived");
  }

  print("sender", out.statistics());
  print("receiver", in.statistics());
  std::printf("receiver: read %ld of %ld, sequence %lu\n", messages / 2, messages,
              static_cast<unsigned long>(sequence));

  sender->close();
  receiver->close();
  server.stop();
  return 0;
}
