// An RTMP server session (handshake, chunks, commands) fed arbitrary bytes after a valid
// handshake, then the same bytes through a media path: every decision the owner could make is
// taken (the first byte chooses accept or refuse), media reaches a MediaPath with a reader
// queue, and nothing may crash, hang or grow without bound. A refused or broken session must
// keep returning its error.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "media/media_path.hpp"
#include "media/protocols/rtmp/handshake.hpp"
#include "media/protocols/rtmp/server_session.hpp"
#include "media/reader_queue.hpp"

namespace {

using namespace sluice;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

class QueueSink : public media::MediaSink {
 public:
  void on_packet(const media::PacketPtr& p, bool restart) override { queue.offer(p, restart); }
  void on_path_end() override {}
  media::ReaderInfo reader_info() const override { return {}; }
  void kick() override {}
  media::ReaderQueue queue{media::ReaderLimits{64, 1 << 20}};
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t choices = data[0];
  std::span<const std::uint8_t> input(data + 1, size - 1);

  rtmp::SessionOptions options;
  options.limits.max_message = 1 << 20;
  options.limits.max_buffered = 1 << 20;
  rtmp::ServerSession session(options);
  rtmp::ClientHandshake client;
  std::string c0c1;
  client.start(c0c1);
  std::vector<rtmp::SessionEvent> events;
  check(session.feed({reinterpret_cast<const std::uint8_t*>(c0c1.data()), c0c1.size()}, events)
            .has_value());
  std::string c2;
  check(client
            .feed({reinterpret_cast<const std::uint8_t*>(session.output().data()),
                   session.output().size()},
                  c2)
            .has_value());
  check(session.feed({reinterpret_cast<const std::uint8_t*>(c2.data()), c2.size()}, events)
            .has_value());
  check(session.handshake_done());

  media::MediaPath path("fuzz", {}, nullptr, media::PathOptions{1 << 20, 256});
  QueueSink sink;
  path.attach(&sink);
  bool failed = false;
  const std::size_t slice = 1 + (choices >> 4);
  for (std::size_t at = 0; at <= input.size() && !failed; at += slice) {
    auto part = input.subspan(at, std::min(slice, input.size() - at));
    for (int round = 0; round < 64; ++round) {  // a decision releases kept messages
      events.clear();
      auto st = session.feed(part, events);
      part = {};
      for (auto& e : events) {
        const bool accept = (choices & 1) != 0;
        switch (e.kind) {
          case rtmp::EventKind::kConnect:
            accept ? session.accept_connect() : session.reject_connect("no");
            break;
          case rtmp::EventKind::kPublish:
            accept ? session.accept_publish(e.stream_id, "fuzz")
                   : session.reject_publish(e.stream_id, "NetStream.Publish.BadName", "no");
            break;
          case rtmp::EventKind::kPlay:
            (choices & 2) ? session.accept_play(e.stream_id, e.name)
                          : session.reject_play(e.stream_id, "NetStream.Play.Failed", "no");
            if (choices & 4) session.end_play(e.stream_id, e.name);
            break;
          case rtmp::EventKind::kMedia: {
            auto& p = e.message.payload;
            path.on_media(e.message.type, e.message.timestamp, std::string(p.begin(), p.end()));
            break;
          }
          case rtmp::EventKind::kMetadata:
            path.on_metadata(e.metadata);
            break;
          case rtmp::EventKind::kStop:
            break;
        }
      }
      if (!st) {
        failed = true;
        check(!session.feed({}, events).has_value());  // the error is permanent
        break;
      }
      if (events.empty()) break;
    }
    check(session.output().size() < (8u << 20));
    session.output().clear();
  }
  check(sink.queue.size() <= 64);
  check(path.gop_bytes() <= (1u << 20));
  return 0;
}
