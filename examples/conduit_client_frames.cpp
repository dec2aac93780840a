// Conduit guide, "Client Streaming to Server".
//
// A client streams video frames to the server at --fps (Conduit's streams.push_to_server(
// "video_frames", ...)); the server handles each one as it arrives (Conduit's
// @streams.on_client_stream("video_frames")). sluice's handler runs on the relay thread and is
// given the sending client's session id, the channel and the bytes.
//
// One message is one frame: an 8-byte big-endian capture time in microseconds, then
// kWidth x kHeight grey pixels. (Conduit wrapped the frame in a msgpack dict; sluice carries
// bytes as they are, so the layout is the program's choice.)
//
//   conduit_client_frames [--frames 30] [--fps 30] [--wire-port 0] [--http-port 0]
//
// Prints "client sent N frames" and "server processed N frames from 1 client(s) ...".
#include <mutex>
#include <set>
#include <string>

#include "server_support.hpp"

using namespace examples;

namespace {

constexpr int kWidth = 160;
constexpr int kHeight = 120;

std::uint64_t now_us() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

// A synthetic camera: a gradient that moves one pixel per frame.
std::string capture_frame(int index) {
  std::string frame(8 + kWidth * kHeight, '\0');
  const std::uint64_t t = now_us();
  for (int i = 0; i < 8; ++i)
    frame[i] = static_cast<char>(t >> (56 - 8 * i));
  for (int y = 0; y < kHeight; ++y) {
    for (int x = 0; x < kWidth; ++x)
      frame[8 + y * kWidth + x] = static_cast<char>((x + y + index) & 0xff);
  }
  return frame;
}

}  // namespace

int main(int argc, char** argv) {
  Args args(argc, argv);
  const long frames = args.get("--frames", 30L);
  const long fps = args.get("--fps", 30L);

  // ---- server side: a handler for every client stream named "video_frames"
  struct Stats {
    std::mutex mutex;
    long frames = 0;
    double brightness_sum = 0;
    std::uint64_t worst_latency_us = 0;
    std::set<std::string> clients;
  } stats;
  // Conduit's handle_frame(client_id, data); runs on the relay thread, so it must be quick.
  auto handle_frame = [&](const sluice::ClientMessage& m) {
    if (m.data.size() != 8 + kWidth * kHeight) return;  // not a frame
    std::uint64_t captured = 0;
    for (int i = 0; i < 8; ++i)
      captured = captured << 8 | static_cast<std::uint8_t>(m.data[i]);
    std::uint64_t sum = 0;  // process_frame(): the mean brightness of the picture
    for (unsigned char px : m.data.substr(8))
      sum += px;
    std::lock_guard lock(stats.mutex);
    stats.frames++;
    stats.brightness_sum += double(sum) / (kWidth * kHeight);
    stats.worst_latency_us = std::max(stats.worst_latency_us, now_us() - captured);
    stats.clients.emplace(m.client);
  };
  sluice::Server server(local_config(args));
  must(server.on_client_stream("video_frames", handle_frame), "register the frame handler");
  server.start();

  // ---- client side: one publish stream, one frame per 1/fps seconds
  auto client = connect(server, "camera");
  auto video = must(client->publish("video_frames"), "open the video_frames stream");
  auto next = std::chrono::steady_clock::now();
  for (int i = 0; i < frames; ++i) {
    must(video.send(capture_frame(i)), "send a frame");
    next += std::chrono::microseconds(1'000'000 / fps);
    std::this_thread::sleep_until(next);
  }
  std::printf("client sent %ld frames of %dx%d at %ld fps\n", frames, kWidth, kHeight, fps);

  if (!eventually([&] {
        std::lock_guard lock(stats.mutex);
        return stats.frames == frames;
      })) {
    fail("the server did not get every frame");
  }
  {
    std::lock_guard lock(stats.mutex);
    std::printf(
        "server processed %ld frames from %zu client(s), mean brightness %.1f, worst latency "
        "%.1f ms\n",
        stats.frames, stats.clients.size(), stats.brightness_sum / stats.frames,
        stats.worst_latency_us / 1000.0);
  }
  client->close();
  server.stop();
  return 0;
}
