// STT chapter, "Stream Priority" and "Adaptive Priority".
//
// Each stream has a priority from 0 to 1000 (500 by default). When several streams of one
// session have data waiting, the sending side shares the connection between them in proportion
// to priority + 1 (start-time fair queueing; docs/protocol.md, "Priorities and scheduling"), and
// a stream that wakes up goes ahead of bulk traffic already queued. Priorities only matter when
// there is a queue: on an idle link everything goes out at once.
//
// Who schedules what:
// - A subscription's priority is given when it opens, and the server schedules by it. The
//   protocol has no frame to change it later, so adapting it means subscribing again (round 2).
// - A publish stream is scheduled by the client itself; Stream::set_priority() changes that
//   at any time, effective for the next frame.
//
// Here: one subscriber session with two subscriptions, "prio.video" and "prio.backup". The server
// pushes --mib messages of 1 MiB on each, alternately, the lower-priority one always first. The
// subscriber's callback takes --ms-per-mib per message, standing for a slow link, so the
// messages queue up on the server, where priority decides. The subscriber announces windows
// large enough that credit never limits (docs/protocol.md, "Flow control").
//
//   stt_priorities [--mib 16] [--ms-per-mib 3] [--wire-port 0] [--http-port 0]
//
// Prints, per round, "round N: <channel> (priority P) finished first; the other had delivered
// K of M MiB by then".
#include <map>
#include <mutex>

#include "server_support.hpp"

using namespace examples;

namespace {

// What the subscriber saw in the current round.
struct Progress {
  std::mutex mutex;
  std::map<std::string, long> messages;  // per channel
  std::string first_done;                // the channel that completed first
  long other_at_first_done = 0;          // the other channel's messages at that moment

  void reset() {
    std::lock_guard lock(mutex);
    messages.clear();
    first_done.clear();
    other_at_first_done = 0;
  }
};

}  // namespace

int main(int argc, char** argv) {
  Args args(argc, argv);
  const long mib = args.get("--mib", 16L);
  const auto per_mib = std::chrono::milliseconds(args.get("--ms-per-mib", 3L));

  sluice::Server server(local_config(args));
  server.start();
  for (const char* channel : {"prio.video", "prio.backup"})
    must(server.create_channel(channel, unadvertised()), "create a channel");

  auto options = wire_at("127.0.0.1", server.wire_port(), "prioritised");
  options.settings.stream_window = 64 * 1024 * 1024;
  options.settings.connection_window = 256 * 1024 * 1024;
  auto session = connect(options);

  Progress progress;
  auto on_message = [&](const sluice::client::Message& m) {
    std::this_thread::sleep_for(per_mib);  // the slow link
    std::lock_guard lock(progress.mutex);
    if (++progress.messages[m.channel] == mib && progress.first_done.empty()) {
      progress.first_done = m.channel;
      for (auto& [other, n] : progress.messages) {
        if (other != m.channel) progress.other_at_first_done = n;
      }
    }
  };
  auto subscribe = [&](const char* channel, std::uint16_t priority) {
    sluice::client::SubscribeOptions o;
    o.priority = priority;
    o.buffer.max_bytes = (mib + 1) * 1024 * 1024;  // room for the whole round on the server
    auto stream = must(session->subscribe(channel, on_message, o), "subscribe");
    if (!eventually([&] { return server.channel(channel)->subscribers == 1; })) {
      fail("the subscription did not arrive");
    }
    return stream;
  };

  const std::string mebibyte(1024 * 1024, 'x');
  auto round = [&](int number, const char* high, std::uint16_t high_priority, const char* low,
                   std::uint16_t low_priority) {
    progress.reset();
    auto h = subscribe(high, high_priority);
    auto l = subscribe(low, low_priority);
    for (long i = 0; i < mib; ++i) {
      must(server.push(low, mebibyte), "push");  // the low-priority channel is always first
      must(server.push(high, mebibyte), "push");
    }
    if (!eventually(
            [&] {
              std::lock_guard lock(progress.mutex);
              return progress.messages[high] == mib && progress.messages[low] == mib;
            },
            60s)) {
      fail("a round did not complete");
    }
    h.close();
    l.close();
    std::lock_guard lock(progress.mutex);
    const bool high_won = progress.first_done == high;
    std::printf(
        "round %d: %s (priority %u) finished first; the other had delivered %ld of %ld "
        "MiB by then\n",
        number, progress.first_done.c_str(), high_won ? high_priority : low_priority,
        progress.other_at_first_done, mib);
    return high_won;
  };

  // Stream priority: interactive video high, background backup low.
  const bool first = round(1, "prio.video", 900, "prio.backup", 100);
  // Adaptive priority: the backup becomes urgent, the video bulk.
  const bool second = round(2, "prio.backup", 900, "prio.video", 200);

  session->close();
  server.stop();
  return first && second ? 0 : 1;
}
