// The media hub's pieces without sockets: FLV tags, the reader queue's skip-to-keyframe policy,
// a path's GOP cache and replay, and the hub's one-publisher rule and takeover.
#include <gtest/gtest.h>

#include "media/flv.hpp"
#include "media/media_hub.hpp"
#include "media/protocols/rtmp/chunk.hpp"
#include "media/protocols/rtmp/server_session.hpp"
#include "media/reader_queue.hpp"

namespace sluice::media {
namespace {

std::string video(bool key, bool config = false) {
  std::string b;
  b.push_back(static_cast<char>((key ? 0x10 : 0x20) | 7));
  b.push_back(config ? 0 : 1);
  b.append("\x00\x00\x00", 3);
  b.append(config ? "avcC" : "nal-data");
  return b;
}
std::string audio(bool config = false) {
  return std::string("\xaf", 1) +
         (config ? std::string("\x00\x12\x10", 3) : std::string("\x01xx", 3));
}

PacketPtr packet(std::uint8_t type, std::string body, std::uint32_t ts = 0) {
  return std::make_shared<const MediaPacket>(classify_packet(type, ts, std::move(body)));
}

TEST(Flv, TagsRoundTripThroughTheReaderInAnySplit) {
  std::string file;
  append_flv_header(true, true, file);
  append_flv_tag(tag_type::kVideo, 0x01020304, {reinterpret_cast<const std::uint8_t*>("abc"), 3},
                 file);
  append_flv_tag(tag_type::kAudio, 7, {}, file);
  for (std::size_t step : {std::size_t{1}, std::size_t{5}, file.size()}) {
    FlvReader reader;
    std::vector<FlvTag> tags;
    for (std::size_t i = 0; i < file.size(); i += step) {
      const auto n = std::min(step, file.size() - i);
      ASSERT_TRUE(reader.feed({reinterpret_cast<const std::uint8_t*>(file.data()) + i, n}, tags));
    }
    ASSERT_EQ(tags.size(), 2u);
    EXPECT_TRUE(reader.has_audio() && reader.has_video());
    EXPECT_EQ(tags[0].timestamp, 0x01020304u);  // the extended byte carries the top 8 bits
    EXPECT_EQ(std::string(tags[0].body.begin(), tags[0].body.end()), "abc");
    EXPECT_EQ(tags[1].type, tag_type::kAudio);
    EXPECT_TRUE(tags[1].body.empty());
  }
}

TEST(Flv, ReaderRefusesGarbageAndOversizedTags) {
  FlvReader reader(100);
  std::vector<FlvTag> tags;
  const std::string not_flv = "GIF89a-and-more";
  EXPECT_FALSE(
      reader.feed({reinterpret_cast<const std::uint8_t*>(not_flv.data()), not_flv.size()}, tags));
  FlvReader small(100);
  std::string file;
  append_flv_header(false, true, file);
  file += std::string("\x09\x00\x10\x00\0\0\0\0\0\0\0", 11);  // a 4096-byte tag header
  auto r = small.feed({reinterpret_cast<const std::uint8_t*>(file.data()), file.size()}, tags);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail.find("too large"), std::string::npos);
}

TEST(Flv, InspectsLegacyAndEnhancedVideoHeaders) {
  auto key = inspect_video({reinterpret_cast<const std::uint8_t*>(video(true).data()), 5});
  ASSERT_TRUE(key);
  EXPECT_TRUE(key->keyframe);
  EXPECT_EQ(video_codec_name(*key), "h264");
  const std::uint8_t hevc[] = {0x90, 'h', 'v', 'c', '1'};  // ex header, keyframe, SequenceStart
  auto ex = inspect_video(hevc);
  ASSERT_TRUE(ex);
  EXPECT_TRUE(ex->enhanced && ex->sequence_header);
  EXPECT_EQ(video_codec_name(*ex), "hevc");
  const std::uint8_t truncated[] = {0x91, 'a'};
  EXPECT_FALSE(inspect_video(truncated));
  EXPECT_FALSE(inspect_video({}));
}

TEST(ReaderQueue, OverflowSkipsToTheNextKeyframeAndCountsEveryDrop) {
  ReaderQueue q(ReaderLimits{4, 1 << 20});
  auto key = packet(tag_type::kVideo, video(true));
  auto inter = packet(tag_type::kVideo, video(false));
  auto config = packet(tag_type::kVideo, video(true, true));
  EXPECT_TRUE(q.offer(key, true));
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(q.offer(inter, false));
  EXPECT_FALSE(q.offer(inter, false));  // full: queue cleared, skipping begins
  EXPECT_EQ(q.dropped(), 5u);
  EXPECT_TRUE(q.empty());
  EXPECT_TRUE(q.skipping());
  EXPECT_FALSE(q.offer(inter, false));
  EXPECT_TRUE(q.offer(config, false)) << "configuration is never skipped";
  EXPECT_TRUE(q.offer(key, true));
  EXPECT_FALSE(q.skipping());
  EXPECT_EQ(q.dropped(), 6u);
  EXPECT_EQ(q.skips(), 1u);
  std::vector<PacketPtr> out;
  q.take(out, 10, 1 << 20);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(out[1]->keyframe);
}

TEST(ReaderQueue, ByteLimitAndTakeLimits) {
  ReaderQueue q(ReaderLimits{100, 30});
  auto p = packet(tag_type::kAudio, std::string(12, 'a'));
  EXPECT_TRUE(q.offer(p, true));
  EXPECT_TRUE(q.offer(p, true));
  EXPECT_TRUE(q.offer(p, true)) << "a restart point that overflows starts the queue afresh";
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(q.dropped(), 2u);
  q.offer(p, true);
  std::vector<PacketPtr> out;
  q.take(out, 10, 5);  // always at least one
  EXPECT_EQ(out.size(), 1u);
}

class RecordingSink : public MediaSink {
 public:
  void on_packet(const PacketPtr& p, bool restart) override {
    got.push_back(p);
    restarts.push_back(restart);
  }
  void on_path_end() override { ended = true; }
  ReaderInfo reader_info() const override { return {"r", "test", "", 0, got.size(), 0, 0}; }
  void kick() override {}
  std::vector<PacketPtr> got;
  std::vector<bool> restarts;
  bool ended = false;
};

TEST(MediaPath, NewReaderGetsMetadataConfigAndTheGopFromItsKeyframe) {
  MediaPath path("cam", {}, nullptr);
  path.on_metadata(rtmp::amf0::Value::ecma_array({{"width", rtmp::amf0::Value::num(640)},
                                                  {"height", rtmp::amf0::Value::num(360)},
                                                  {"framerate", rtmp::amf0::Value::num(30)}}));
  path.on_media(tag_type::kVideo, 0, video(true, true));
  path.on_media(tag_type::kAudio, 0, audio(true));
  path.on_media(tag_type::kVideo, 0, video(true));
  path.on_media(tag_type::kVideo, 33, video(false));
  path.on_media(tag_type::kVideo, 66, video(true));  // a new GOP starts here
  path.on_media(tag_type::kAudio, 70, audio());
  path.on_media(tag_type::kVideo, 99, video(false));
  EXPECT_EQ(path.description().width, 640);
  EXPECT_EQ(path.description().video_codec, "h264");
  EXPECT_EQ(path.description().audio_codec, "aac");

  RecordingSink sink;
  path.attach(&sink);
  ASSERT_EQ(sink.got.size(), 6u);
  EXPECT_EQ(sink.got[0]->type, tag_type::kScript);
  EXPECT_TRUE(sink.got[1]->sequence_header);
  EXPECT_TRUE(sink.got[2]->sequence_header);
  EXPECT_EQ(sink.got[3]->timestamp, 66u);
  EXPECT_TRUE(sink.got[3]->keyframe);
  EXPECT_TRUE(sink.restarts[3]);
  EXPECT_EQ(sink.got[5]->timestamp, 99u);
  // Each form is built by its first reader and then the same bytes for every other.
  static int builds = 0;
  auto chunks_of = [](const MediaPacket& p) -> const std::string& {
    return p.form(MediaPacket::Form::kRtmpChunks, [](const MediaPacket& q, std::string& out) {
      ++builds;
      const rtmp::ChunkWriter writer(rtmp::kServerChunkSize);
      writer.write(rtmp::play_csid(q.type), q.timestamp, q.type, rtmp::kPlayStreamId, q.bytes(),
                   out);
    });
  };
  const std::string& chunks = chunks_of(*sink.got[3]);
  EXPECT_FALSE(chunks.empty());
  EXPECT_EQ(&chunks_of(*sink.got[3]), &chunks);
  EXPECT_EQ(builds, 1);
  rtmp::ChunkReader reader;
  std::vector<rtmp::Message> msgs;
  ASSERT_TRUE(
      reader.feed({reinterpret_cast<const std::uint8_t*>(chunks.data()), chunks.size()}, msgs));
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].timestamp, 66u);
  EXPECT_EQ(msgs[0].stream_id, 1u);

  path.on_media(tag_type::kVideo, 132, video(false));
  EXPECT_EQ(sink.got.size(), 7u) << "live packets follow the replay";
  path.end();
  EXPECT_TRUE(sink.ended);
  EXPECT_TRUE(path.readers().empty());
}

TEST(MediaPath, GopCacheIsBounded) {
  MediaPath path("cam", {}, nullptr, PathOptions{64, 100});
  path.on_media(tag_type::kVideo, 0, video(true));
  for (int i = 1; i < 20; ++i)
    path.on_media(tag_type::kVideo, i * 33, video(false));
  EXPECT_EQ(path.gop_bytes(), 0u) << "an over-long GOP is not cached at all";
  RecordingSink sink;
  path.attach(&sink);
  EXPECT_TRUE(sink.got.empty());
  path.on_media(tag_type::kVideo, 700, video(true));
  EXPECT_GT(path.gop_bytes(), 0u);
}

class Handle : public PublisherHandle {
 public:
  explicit Handle(MediaHub& hub) : hub_(hub) {}
  void kick(std::string_view) override {
    kicked = true;
    hub_.unpublish(path);
  }
  MediaPath* path = nullptr;
  bool kicked = false;

 private:
  MediaHub& hub_;
};

class Observer : public PathObserver {
 public:
  void on_publish_start(const MediaPath& p) override { log.push_back("start " + p.name()); }
  void on_description_changed(const MediaPath& p) override { log.push_back("change " + p.name()); }
  void on_publish_end(const MediaPath& p) override { log.push_back("end " + p.name()); }
  std::vector<std::string> log;
};

TEST(MediaHub, OnePublisherPerNameUnlessSameKeyOrTakeover) {
  Observer observer;
  MediaHub hub({}, &observer);
  Handle first(hub);
  auto path = hub.publish("cam", {"c1", "r1", "k1"}, &first);
  ASSERT_TRUE(path);
  first.path = *path;
  Handle second(hub);
  auto busy = hub.publish("cam", {"c2", "r2", "k2"}, &second);
  ASSERT_FALSE(busy);
  EXPECT_EQ(busy.error().status, 409);
  // The same key again is the encoder reconnecting: it takes over its stale connection.
  Handle again(hub);
  auto reconnect = hub.publish("cam", {"c3", "r3", "k1"}, &again);
  ASSERT_TRUE(reconnect);
  EXPECT_TRUE(first.kicked);
  path = reconnect;
  hub.unpublish(*path);
  EXPECT_EQ(hub.find("cam"), nullptr);
  EXPECT_EQ(observer.log,
            (std::vector<std::string>{"start cam", "end cam", "start cam", "end cam"}));
}

TEST(MediaHub, TakeoverKeepsReadersAndKicksTheOldPublisher) {
  Observer observer;
  MediaHubOptions o;
  o.takeover = true;
  MediaHub hub(o, &observer);
  Handle first(hub);
  first.path = *hub.publish("cam", {"c1", "r1", "k1"}, &first);
  RecordingSink reader;
  first.path->attach(&reader);
  Handle second(hub);
  auto taken = hub.publish("cam", {"c2", "r2", "k2"}, &second);
  ASSERT_TRUE(taken);
  EXPECT_TRUE(first.kicked);
  EXPECT_FALSE(reader.ended) << "readers stay for the new publisher";
  EXPECT_EQ(hub.find("cam")->publisher().id, "c2");
  (*taken)->on_media(tag_type::kVideo, 0, video(true));
  EXPECT_EQ(reader.got.size(), 1u);
  EXPECT_EQ(observer.log, (std::vector<std::string>{"start cam", "end cam", "start cam"}));
}

TEST(MediaHub, TakeoverRebasesTheNewPublishersTimestampsAfterTheOld) {
  MediaHubOptions o;
  o.takeover = true;
  MediaHub hub(o, nullptr);
  Handle first(hub);
  first.path = *hub.publish("cam", {"c1", "r1", "k1"}, &first);
  first.path->on_media(tag_type::kVideo, 90000, video(true));
  first.path->on_media(tag_type::kVideo, 90033, video(false));
  RecordingSink reader;
  first.path->attach(&reader);
  Handle second(hub);
  MediaPath* path = *hub.publish("cam", {"c2", "r2", "k2"}, &second);
  reader.got.clear();
  path->on_media(tag_type::kVideo, 0, video(true));  // the new encoder starts at 0
  path->on_media(tag_type::kVideo, 33, video(false));
  ASSERT_EQ(reader.got.size(), 2u);
  EXPECT_EQ(reader.got[0]->timestamp, 90073u);
  EXPECT_EQ(reader.got[1]->timestamp, 90106u);
}

}  // namespace
}  // namespace sluice::media
