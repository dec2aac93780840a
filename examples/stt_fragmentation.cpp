// STT chapter, "Sending on Streams: Large Data (Fragmented)", "Fragmentation" and "Segment Size".
//
// send_all() takes a message of any size (up to the receiver's max_message, 64 MiB by default)
// and the session cuts it into frames; the other side reassembles it and hands over one whole
// message. Frames of different streams interleave, so a large message never blocks a small
// one behind it (see stt_priorities).
//
// STT's segment size (BinaryStreamEncoder(segment_size=32768)) is, in sluice, the receiver's
// max_frame: each side announces the largest frame it accepts (64 KiB by default, at least
// 1 KiB), and the sender never exceeds it. Here the receiver asks for 32 KiB frames, so the
// relay forwards the 10 MiB message as 320 or more frames.
//
//   stt_fragmentation [--size 10485760] [--segment 32768] [--wire-port 0] [--http-port 0]
//
// Prints "sent 10485760 bytes with one send_all()" and "received one message of 10485760 bytes
// in frames of at most 32768 bytes, content intact".
#include "server_support.hpp"

using namespace examples;

int main(int argc, char** argv) {
  Args args(argc, argv);
  const auto size = static_cast<std::size_t>(args.get("--size", 10L * 1024 * 1024));
  const auto segment = static_cast<std::uint32_t>(args.get("--segment", 32768L));
  sluice::Server server(local_config(args));
  server.start();
  must(server.create_channel("bulk.data", unadvertised()), "create bulk.data");

  // The receiver announces its segment size as max_frame.
  auto receiver_options = wire_at("127.0.0.1", server.wire_port(), "receiver");
  receiver_options.settings.max_frame = segment;
  auto receiver = connect(receiver_options);
  auto incoming = must(receiver->subscribe("bulk.data"), "subscribe");
  if (!eventually([&] { return server.channel("bulk.data")->subscribers == 1; })) {
    fail("the subscription did not arrive");
  }

  // Send 10 MB of data, not all the same so that a reordering would show.
  std::string huge(size, '\0');
  for (std::size_t i = 0; i < size; ++i)
    huge[i] = static_cast<char>('A' + (i / 4096) % 26);
  auto sender = connect(server, "sender");
  auto stream = must(sender->publish("bulk.data"), "publish");
  must(stream.send_all(huge), "send_all");
  std::printf("sent %zu bytes with one send_all()\n", size);

  auto message = incoming.receive(30s);
  if (!message) fail("nothing received");
  const bool intact = message->data.size() == size && fnv1a(message->data) == fnv1a(huge);
  std::printf("received one message of %zu bytes in frames of at most %u bytes, content %s\n",
              message->data.size(), segment, intact ? "intact" : "CORRUPTED");
  std::printf("receiver: %lu message(s), %lu bytes\n",
              static_cast<unsigned long>(incoming.statistics().messages_received),
              static_cast<unsigned long>(incoming.statistics().bytes_received));

  sender->close();
  receiver->close();
  server.stop();
  return intact ? 0 : 1;
}
