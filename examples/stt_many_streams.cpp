// STT chapter, "Why Use Streams?" (one session, many streams) and "Explicit Stream Creation".
//
// One session — one connection, one handshake, one authentication, one TLS context when TLS is
// on — carries a stream per kind of traffic, each with its own flow-control window and priority.
// In STT you pick a numeric stream id; in sluice you name the channel the stream is bound to and
// the session assigns the id (odd numbers, from 1; see docs/protocol.md, "Streams").
//
//   stt_many_streams [--wire-port 0] [--http-port 0]
//
// Prints "Stream <id> created for <channel>" per stream, then what the server saw:
// "server: 3 channels over 1 session(s), 30 messages".
#include <map>
#include <mutex>
#include <set>

#include "server_support.hpp"

using namespace examples;

int main(int argc, char** argv) {
  Args args(argc, argv);
  sluice::Server server(local_config(args));
  std::mutex mutex;
  std::map<std::string, int> per_channel;
  std::set<std::string> sessions;
  auto count = [&](const sluice::ClientMessage& m) {
    std::lock_guard lock(mutex);
    per_channel[std::string(m.channel)]++;
    sessions.emplace(m.client);
  };
  must(server.on_client_stream("peer.>", count), "register a handler");
  server.start();

  // One session ✓
  auto session = connect(server, "peer");

  // ... and a stream per purpose, with a priority each.
  struct Purpose {
    const char* channel;
    std::uint16_t priority;
  };
  std::vector<sluice::client::Stream> streams;
  for (Purpose p :
       {Purpose{"peer.control", 900}, Purpose{"peer.files", 100}, Purpose{"peer.video", 500}}) {
    sluice::client::PublishOptions options;
    options.priority = p.priority;
    options.advertise = false;  // private traffic: no registry entry
    auto stream = must(session->publish(p.channel, options), "create a stream");
    std::printf("Stream %u created for %s (priority %u)\n", stream.statistics().stream_id,
                p.channel, p.priority);
    streams.push_back(stream);
  }

  for (int i = 0; i < 10; ++i) {
    for (auto& s : streams)
      must(s.send("message " + std::to_string(i)), "send");
  }
  if (!eventually([&] {
        std::lock_guard lock(mutex);
        int total = 0;
        for (auto& [channel, n] : per_channel)
          total += n;
        return total == 30;
      })) {
    fail("the server did not get every message");
  }
  {
    std::lock_guard lock(mutex);
    std::printf("server: %zu channels over %zu session(s), 30 messages\n", per_channel.size(),
                sessions.size());
  }
  session->close();
  server.stop();
  return 0;
}
