// STT chapter, "StreamManager - Managing Multiple Streams" (accessing, creating, getting,
// listing and closing streams), "Troubleshooting: Stream not found" and "Common Patterns:
// Stream Pool" and "Broadcast to All Streams".
//
// In sluice the client::Session is the stream manager: it opens streams, schedules them, and
// re-opens them after a reconnect. It does not keep a directory you can look things up in,
// because a Stream handle is what you keep; STT's get_stream/get_streams/close_all_streams are
// a few lines on top of it, and this file shows them (class StreamManager below). Streams are
// found by channel name, not by a number you choose.
//
//   stt_stream_manager [--wire-port 0] [--http-port 0]
//
// Prints "Stream exists", "Stream not found", "Active streams: N" with bytes sent per stream,
// what the pool did, "broadcast reached N streams" and "Active streams: 0" at the end.
#include <map>
#include <mutex>
#include <optional>

#include "server_support.hpp"

using namespace examples;
using sluice::client::Stream;

namespace {

// STT's StreamManager for one session: publish streams by channel name.
// Thread-compatible: one thread at a time (the Streams themselves may be used from any thread).
class StreamManager {
 public:
  explicit StreamManager(std::shared_ptr<sluice::client::Session> session)
      : session_(std::move(session)) {}

  // Opens a stream for `channel`, or returns the one already open.
  sluice::Result<Stream> create_stream(const std::string& channel) {
    if (auto existing = get_stream(channel)) return *existing;
    sluice::client::PublishOptions options;
    options.advertise = false;
    auto stream = session_->publish(channel, options);
    if (stream) streams_[channel] = *stream;
    return stream;
  }
  std::optional<Stream> get_stream(const std::string& channel) const {
    auto it = streams_.find(channel);
    if (it == streams_.end() || !it->second.active()) return std::nullopt;
    return it->second;
  }
  std::vector<std::pair<std::string, Stream>> get_streams() const {
    std::vector<std::pair<std::string, Stream>> out;
    for (const auto& [channel, stream] : streams_) {
      if (stream.active()) out.emplace_back(channel, stream);
    }
    return out;
  }
  void close_stream(const std::string& channel) {
    if (auto it = streams_.find(channel); it != streams_.end()) {
      it->second.close();
      streams_.erase(it);
    }
  }
  void close_all_streams() {
    for (auto& [channel, stream] : streams_)
      stream.close();
    streams_.clear();
  }

 private:
  std::shared_ptr<sluice::client::Session> session_;
  std::map<std::string, Stream> streams_;
};

// STT's StreamPool: hands out a fresh stream per task and closes it when given back.
class StreamPool {
 public:
  StreamPool(StreamManager& manager, std::string prefix)
      : manager_(manager), prefix_(std::move(prefix)) {}
  sluice::Result<std::pair<std::string, Stream>> acquire() {
    std::string channel = prefix_ + "." + std::to_string(next_++);
    auto stream = manager_.create_stream(channel);
    if (!stream) return std::unexpected(stream.error());
    return std::pair{channel, *stream};
  }
  void release(const std::string& channel) { manager_.close_stream(channel); }

 private:
  StreamManager& manager_;
  std::string prefix_;
  int next_ = 1;
};

void list(const StreamManager& manager) {
  auto streams = manager.get_streams();
  std::printf("Active streams: %zu\n", streams.size());
  for (const auto& [channel, stream] : streams) {
    auto stats = stream.statistics();
    std::printf("  Stream %u (%s): %lu bytes sent\n", stats.stream_id, channel.c_str(),
                static_cast<unsigned long>(stats.bytes_sent));
  }
}

}  // namespace

int main(int argc, char** argv) {
  Args args(argc, argv);
  sluice::Server server(local_config(args));
  std::mutex mutex;
  std::map<std::string, int> received;  // per channel, as the server saw it
  auto count = [&](const sluice::ClientMessage& m) {
    std::lock_guard lock(mutex);
    received[std::string(m.channel)]++;
  };
  must(server.on_client_stream("managed.>", count), "register a handler");
  server.start();
  auto session = connect(server, "managed");

  // Accessing / creating streams via the manager
  StreamManager manager(session);
  for (const char* channel : {"managed.control", "managed.files", "managed.video"})
    must(manager.create_stream(channel), "create a stream");
  must(manager.get_stream("managed.files")->send(std::string(1000, 'f')), "send");

  // Getting an existing stream
  std::printf("%s\n", manager.get_stream("managed.files") ? "Stream exists" : "Stream not found");
  // "Stream not found": create it before use.
  auto stream = manager.get_stream("managed.audio");
  std::printf("%s\n", stream ? "Stream exists" : "Stream not found");
  if (!stream) stream = must(manager.create_stream("managed.audio"), "create managed.audio");
  must(stream->send("now it exists"), "send");

  // Listing all streams
  list(manager);

  // Stream pool: a stream per task, closed when the task is done.
  StreamPool pool(manager, "managed.pool");
  for (int task = 0; task < 3; ++task) {
    auto [channel, pooled] = must(pool.acquire(), "acquire");
    must(pooled.send("Data"), "send");
    pool.release(channel);
  }
  std::printf("pool: 3 tasks, 3 streams acquired and released\n");

  // Broadcast to all streams
  auto all = manager.get_streams();
  for (auto& [channel, s] : all)
    must(s.send("broadcast"), "broadcast");
  // 9 messages in all: files 2, audio 2, control 1, video 1 and one per pooled stream.
  if (!eventually([&] {
        std::lock_guard lock(mutex);
        int total = 0;
        for (auto& [channel, n] : received)
          total += n;
        return received.size() == 7 && total == 9;
      })) {
    fail("the server did not see every message");
  }
  std::printf("broadcast reached %zu streams\n", all.size());

  // Closing streams: one, then all.
  manager.close_stream("managed.video");
  std::printf("after close_stream: %zu active\n", manager.get_streams().size());
  manager.close_all_streams();
  list(manager);

  session->close();
  server.stop();
  return 0;
}
