// STT chapter, "Complete Example: File Transfer".
//
// A server and a client in one program: the client opens a dedicated stream, sends a 1 MiB file
// with one send_all(), reads the stream's statistics and closes it; the server receives the
// file whole (reassembled from 64 KiB frames) in a handler and checks it.
//
// STT's shared_seed becomes, in sluice, a relay user with a password (SCRAM-SHA-256), or a TLS
// listener (Config::tls_cert/tls_key); see dashboard_server for the former. Here the session is
// anonymous to stay short.
//
//   stt_file_transfer [--size 1048576] [--wire-port 0] [--http-port 0]
//
// Prints "Sending N bytes on stream <id>", "Transfer complete!", "Bytes sent: ...",
// "Messages sent: 1" and "server: received N bytes from ..., checksum ok".
#include <mutex>

#include "server_support.hpp"

using namespace examples;

int main(int argc, char** argv) {
  Args args(argc, argv);
  const auto size = static_cast<std::size_t>(args.get("--size", 1024L * 1024));

  // The server: receives each file as one message.
  struct Received {
    std::mutex mutex;
    bool done = false;
    std::size_t size = 0;
    std::uint64_t checksum = 0;
    std::string from;
  } received;
  sluice::Server server(local_config(args));
  auto on_file = [&](const sluice::ClientMessage& m) {
    std::lock_guard lock(received.mutex);
    received.done = true;
    received.size = m.data.size();
    received.checksum = fnv1a(m.data);
    received.from = m.client;
  };
  must(server.on_client_stream("files.upload", on_file), "register the upload handler");
  server.start();

  // The client: connect, then a dedicated stream for the file.
  auto session = connect(server, "uploader");
  sluice::client::PublishOptions options;
  options.advertise = false;
  auto file_stream = must(session->publish("files.upload", options), "open the file stream");

  const std::string file_data(size, 'X');  // 1 MB "file"
  std::printf("Sending %zu bytes on stream %u\n", file_data.size(),
              file_stream.statistics().stream_id);
  // send_acked() is send_all() plus the server's word that the message was taken (by 1
  // handler here), so the statistics below are final.
  auto took = must(file_stream.send_acked(file_data, 10s), "send the file");
  auto stats = file_stream.statistics();
  std::printf("Transfer complete! (taken by %zu receiver)\n", took);
  std::printf("  Bytes sent: %lu\n", static_cast<unsigned long>(stats.bytes_sent));
  std::printf("  Messages sent: %lu\n", static_cast<unsigned long>(stats.messages_sent));
  file_stream.close();

  if (!eventually([&] {
        std::lock_guard lock(received.mutex);
        return received.done;
      })) {
    fail("the server got no file");
  }
  bool ok;
  {
    std::lock_guard lock(received.mutex);
    ok = received.size == size && received.checksum == fnv1a(file_data);
    std::printf("server: received %zu bytes from %s, checksum %s\n", received.size,
                received.from.c_str(), ok ? "ok" : "WRONG");
  }
  session->close();
  server.stop();
  return ok ? 0 : 1;
}
