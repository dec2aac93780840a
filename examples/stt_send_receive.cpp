// STT chapter, "Sending on Streams: Small Data", "Receiving from Streams" (single message, with a
// timeout, continuous reception), "Stream States" and "Troubleshooting: Receive Timeout".
//
// A sluice stream has one role: a sender publishes on a channel, a receiver subscribes to it
// (STT streams were two-way; open one stream each way for that). receive(timeout) returns
// nothing on timeout or once the stream is closed, rather than raising; active() tells which.
// Sending on a closed stream fails with an error value.
//
//   stt_send_receive [--messages 10] [--wire-port 0] [--http-port 0]
//
// Prints "Received: Hello on stream 1", "No data received in 0.5 seconds", "continuous
// reception: N messages, then the stream was closed", "Stream is closed!".
#include <thread>

#include "server_support.hpp"

using namespace examples;

int main(int argc, char** argv) {
  Args args(argc, argv);
  const long messages = args.get("--messages", 10L);
  sluice::Server server(local_config(args));
  server.start();
  must(server.create_channel("peer.stream1", unadvertised()), "create peer.stream1");

  auto sender_session = connect(server, "sender");
  auto receiver_session = connect(server, "receiver");
  auto stream = must(sender_session->publish("peer.stream1"), "open the sending stream");
  auto incoming = must(receiver_session->subscribe("peer.stream1"), "open the receiving stream");
  if (!eventually([&] { return server.channel("peer.stream1")->subscribers == 1; })) {
    fail("the subscription did not arrive");
  }

  // Small data: one message (fragmented only if it were larger than a frame).
  must(stream.send("Hello on stream 1"), "send");

  // Receive single message
  auto data = incoming.receive(5s);
  if (!data) fail("nothing received");
  std::printf("Received: %s\n", data->data.c_str());

  // Receive with timeout
  if (!incoming.receive(500ms)) std::printf("No data received in 0.5 seconds\n");

  // Continuous reception: the receiver loops while its stream is active; it closes the stream
  // itself when the sender says "bye".
  std::thread sender([&] {
    for (long i = 1; i <= messages; ++i)
      must(stream.send("reading " + std::to_string(i)), "send");
    must(stream.send("bye"), "send");
  });
  long processed = 0;
  while (incoming.active()) {
    auto message = incoming.receive(1s);
    if (!message) continue;  // keep waiting
    if (message->data == "bye") {
      incoming.close();
    } else {
      ++processed;  // process_data(message->data)
    }
  }
  sender.join();
  std::printf("continuous reception: %ld messages, then the stream was closed\n", processed);

  // Troubleshooting a receive timeout: is the stream still active?
  if (!incoming.receive(100ms) && !incoming.active()) std::printf("Stream closed!\n");

  // Stream states: active, close, closed; a closed stream refuses to send.
  std::printf("stream.active() = %s\n", stream.active() ? "true" : "false");
  stream.close();
  std::printf("after close(): stream.active() = %s\n", stream.active() ? "true" : "false");
  if (auto sent = stream.send("Data"); !sent) {
    std::printf("Stream is closed! (%s)\n", sent.error().detail.c_str());
  }

  sender_session->close();
  receiver_session->close();
  server.stop();
  return processed == messages ? 0 : 1;
}
