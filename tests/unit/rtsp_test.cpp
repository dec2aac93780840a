// RTSP messages and transports (src/media/protocols/rtsp) and SDP (src/media/protocols/sdp),
// sans I/O: requests read from any split of the stream, interleaved frames between them, bounds
// and versions refused with the status a client would see, and the SDP ffmpeg sends in ANNOUNCE
// read back with its tracks' parameters.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <variant>
#include <vector>

#include "media/protocols/rtsp/rtsp_message.hpp"
#include "media/protocols/rtsp/rtsp_transport.hpp"
#include "media/protocols/rtsp/rtsp_url.hpp"
#include "media/protocols/sdp/sdp.hpp"
#include "media/protocols/srt/stream_id.hpp"

namespace sluice::media {
namespace {

std::span<const std::uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

TEST(RtspReader, RequestsAndInterleavedFramesFromAnySplit) {
  const std::string announce_body = "v=0\r\ns=x\r\n";
  const std::string stream =
      "OPTIONS rtsp://127.0.0.1:8554/live/cam RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: test\r\n\r\n"
      "ANNOUNCE rtsp://127.0.0.1:8554/live/cam RTSP/1.0\r\nCSeq: 2\r\ncontent-length: " +
      std::to_string(announce_body.size()) + "\r\n\r\n" + announce_body +
      std::string(
          "$\x01\x00\x03"
          "abc",
          7) +
      "GET_PARAMETER * RTSP/1.0\r\nCSeq: 3\r\n\r\n";
  for (std::size_t split = 1; split < stream.size(); split += 7) {
    rtsp::Reader reader;
    std::vector<rtsp::Message> out;
    ASSERT_TRUE(reader.feed(bytes(std::string_view(stream).substr(0, split)), out));
    ASSERT_TRUE(reader.feed(bytes(std::string_view(stream).substr(split)), out));
    ASSERT_EQ(out.size(), 4u) << "split at " << split;
    const auto& options = std::get<rtsp::Request>(out[0]);
    EXPECT_EQ(options.method, "OPTIONS");
    EXPECT_EQ(options.uri, "rtsp://127.0.0.1:8554/live/cam");
    EXPECT_EQ(*options.header("cseq"), "1");
    EXPECT_EQ(std::get<rtsp::Request>(out[1]).body, announce_body);
    const auto& frame = std::get<rtsp::Interleaved>(out[2]);
    EXPECT_EQ(frame.channel, 1);
    EXPECT_EQ(frame.payload, "abc");
    EXPECT_EQ(std::get<rtsp::Request>(out[3]).uri, "*");
    EXPECT_EQ(reader.buffered(), 0u);
  }
}

TEST(RtspReader, BadRequestsGetTheStatusAClientShouldSee) {
  auto status_of = [](const std::string& text) {
    rtsp::Reader reader;
    std::vector<rtsp::Message> out;
    auto r = reader.feed(bytes(text), out);
    return r ? 0 : r.error().status;
  };
  EXPECT_EQ(status_of("OPTIONS * RTSP/2.0\r\nCSeq: 1\r\n\r\n"), 505);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\n\r\n"), 400);
  EXPECT_EQ(status_of("OPTIONS\r\n\r\n"), 400);
  EXPECT_EQ(status_of("ANNOUNCE * RTSP/1.0\r\nContent-Length: 99999999\r\n\r\n"), 413);
  EXPECT_EQ(status_of("ANNOUNCE * RTSP/1.0\r\nContent-Length: -1\r\n\r\n"), 400);
  EXPECT_EQ(status_of("OPTIONS * RTSP/1.0\r\nX: " + std::string(20000, 'a')), 413);
  std::string many = "OPTIONS * RTSP/1.0\r\n";
  for (int i = 0; i < 100; ++i)
    many += "H" + std::to_string(i) + ": v\r\n";
  EXPECT_EQ(status_of(many + "\r\n"), 413);
  // After an error the reader stays failed.
  rtsp::Reader reader;
  std::vector<rtsp::Message> out;
  EXPECT_FALSE(reader.feed(bytes("BAD\r\n\r\n"), out));
  EXPECT_FALSE(reader.feed(bytes("OPTIONS * RTSP/1.0\r\n\r\n"), out));
  EXPECT_TRUE(out.empty());
}

TEST(RtspResponse, SerializesStatusHeadersAndBody) {
  rtsp::Response r;
  r.status = 454;
  r.with("CSeq", "4");
  EXPECT_EQ(r.serialize(), "RTSP/1.0 454 Session Not Found\r\nCSeq: 4\r\nServer: sluice\r\n\r\n");
  rtsp::Response d;
  d.with("CSeq", "2").with("Content-Type", "application/sdp");
  d.body = "v=0\r\n";
  EXPECT_EQ(d.serialize(),
            "RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Type: application/sdp\r\nServer: sluice\r\n"
            "Content-Length: 5\r\n\r\nv=0\r\n");
}

TEST(RtspTransport, ClientOffersAreReadAndAnswersWritten) {
  auto t = rtsp::parse_transports("RTP/AVP/TCP;unicast;interleaved=0-1");
  ASSERT_TRUE(t);
  EXPECT_EQ((*t)[0].lower, rtsp::Transport::Lower::kTcp);
  EXPECT_EQ((*t)[0].interleaved, std::pair(0, 1));
  t = rtsp::parse_transports("RTP/AVP;unicast;client_port=5000-5001;mode=\"RECORD\"");
  ASSERT_TRUE(t);
  EXPECT_EQ((*t)[0].lower, rtsp::Transport::Lower::kUdp);
  EXPECT_EQ((*t)[0].client_port, std::pair(5000, 5001));
  EXPECT_TRUE((*t)[0].record);
  t = rtsp::parse_transports("RAW/RAW/UDP;unicast, RTP/AVP;multicast");
  ASSERT_TRUE(t);
  ASSERT_EQ(t->size(), 1u);
  EXPECT_TRUE((*t)[0].multicast);
  EXPECT_FALSE(rtsp::parse_transports("RAW/RAW/UDP"));
  EXPECT_FALSE(rtsp::parse_transports("RTP/AVP;client_port=x-1"));
  rtsp::Transport answer;
  answer.client_port = {5000, 5001};
  answer.server_port = {8000, 8001};
  answer.ssrc = 0xAB;
  EXPECT_EQ(answer.to_string(),
            "RTP/AVP;unicast;client_port=5000-5001;server_port=8000-8001;ssrc=000000AB");
}

TEST(Sdp, AnnounceFromFfmpegIsReadWithItsTracks) {
  const std::string text =
      "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=No Name\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
      "a=tool:libavformat 59.27.100\r\n"
      "m=video 0 RTP/AVP 96\r\nb=AS:200\r\na=rtpmap:96 H264/90000\r\n"
      "a=fmtp:96 packetization-mode=1; sprop-parameter-sets=Z2QADaw=,aO48gA==; "
      "profile-level-id=64000D\r\na=control:streamid=0\r\n"
      "m=audio 0 RTP/AVP 97\r\nb=AS:128\r\na=rtpmap:97 MPEG4-GENERIC/44100/2\r\n"
      "a=fmtp:97 profile-level-id=1;mode=AAC-hbr;sizelength=13;indexlength=3;"
      "indexdeltalength=3; config=121056E500\r\na=control:streamid=1\r\n";
  auto s = sdp::parse(text);
  ASSERT_TRUE(s) << s.error().detail;
  ASSERT_EQ(s->media.size(), 2u);
  EXPECT_EQ(*s->attribute("tool"), "libavformat 59.27.100");
  const auto& video = s->media[0];
  EXPECT_EQ(video.media, "video");
  EXPECT_EQ(video.formats, std::vector<std::string>{"96"});
  EXPECT_EQ(*video.attribute("control"), "streamid=0");
  auto map = sdp::rtpmap_of(video, 96);
  ASSERT_TRUE(map);
  EXPECT_TRUE(sdp::iequals(map->encoding, "h264"));
  EXPECT_EQ(map->clock_rate, 90000);
  auto fmtp = sdp::fmtp_of(video, 96);
  EXPECT_EQ(fmtp["sprop-parameter-sets"], "Z2QADaw=,aO48gA==");
  EXPECT_EQ(fmtp["packetization-mode"], "1");
  auto audio = sdp::rtpmap_of(s->media[1], 97);
  ASSERT_TRUE(audio);
  EXPECT_EQ(audio->clock_rate, 44100);
  EXPECT_EQ(audio->channels, 2);
  EXPECT_EQ(sdp::fmtp_of(s->media[1], 97)["config"], "121056E500");

  // Written back and read again, the same.
  auto again = sdp::parse(sdp::serialize(*s));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->media.size(), 2u);
  EXPECT_EQ(sdp::fmtp_of(again->media[0], 96), fmtp);
}

TEST(Sdp, MalformedAndOversizedDescriptionsAreRefused) {
  EXPECT_FALSE(sdp::parse(""));
  EXPECT_FALSE(sdp::parse("s=x\r\n"));             // no v=0 first
  EXPECT_FALSE(sdp::parse("v=0\r\nm=video\r\n"));  // m= without port and proto
  EXPECT_FALSE(sdp::parse("v=0\r\nm=video 99999 RTP/AVP 96\r\n"));
  EXPECT_FALSE(sdp::parse("v=0\r\nnot a line\r\n"));
  EXPECT_EQ(sdp::parse(std::string(70000, 'a')).error().status, 413);
  std::string many = "v=0\r\n";
  for (int i = 0; i < 70; ++i)
    many += "m=audio 0 RTP/AVP 0\r\n";
  EXPECT_EQ(sdp::parse(many).error().status, 413);
  auto s = sdp::parse("v=0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264\r\n");
  ASSERT_TRUE(s);
  EXPECT_FALSE(sdp::rtpmap_of(s->media[0], 96));  // no clock rate
}

TEST(SrtStreamId, AccessControlShortAndEncodedFormsAreRead) {
  auto id = srt::parse_stream_id("#!::r=live/sk_abc,m=publish");
  ASSERT_TRUE(id);
  EXPECT_TRUE(id->publish);
  EXPECT_EQ(id->resource, "sk_abc");
  id = srt::parse_stream_id("#!::m=request,r=cam");
  ASSERT_TRUE(id);
  EXPECT_FALSE(id->publish);
  EXPECT_EQ(id->resource, "cam");
  id = srt::parse_stream_id("%23%21%3A%3Ar%3Dlive%2Fcam%2Cm%3Dpublish");
  ASSERT_TRUE(id);
  EXPECT_TRUE(id->publish);
  EXPECT_EQ(id->resource, "cam");
  EXPECT_TRUE(srt::parse_stream_id("publish:sk_abc")->publish);
  EXPECT_FALSE(srt::parse_stream_id("read:cam")->publish);
  EXPECT_FALSE(srt::parse_stream_id(""));
  EXPECT_FALSE(srt::parse_stream_id("#!::m=publish"));        // no resource
  EXPECT_FALSE(srt::parse_stream_id("#!::r=cam,m=delete"));   // unknown mode
  EXPECT_FALSE(srt::parse_stream_id("#!::r=../etc/passwd"));  // not a path or key
  EXPECT_FALSE(srt::parse_stream_id("%23%2"));                // broken escape
  EXPECT_FALSE(srt::parse_stream_id(std::string(600, 'a')));
}

TEST(SrtStreamId, PlayersNameReadKeysAndUsers) {
  auto id = srt::parse_stream_id("#!::r=live/cam?key=rk_123,m=request");
  ASSERT_TRUE(id);
  EXPECT_EQ(id->resource, "cam");
  EXPECT_EQ(id->query, "key=rk_123");
  id = srt::parse_stream_id("#!::r=cam,m=request,u=ana,s=pa55word");
  ASSERT_TRUE(id);
  EXPECT_EQ(id->user, "ana");
  EXPECT_EQ(id->password, "pa55word");
  id = srt::parse_stream_id("read:cam:ana:pa:55");
  ASSERT_TRUE(id);
  EXPECT_EQ(id->resource, "cam");
  EXPECT_EQ(id->user, "ana");
  EXPECT_EQ(id->password, "pa:55");
  EXPECT_FALSE(srt::parse_stream_id("read:cam:ana"));  // a user without a password
  EXPECT_FALSE(srt::parse_stream_id("#!::r=cam?" + std::string(300, 'k')));
}

TEST(RtspUrl, LivePathsAliasesTracksAndQueries) {
  const std::map<std::string, std::string> aliases{{"stream1", "cam"}};
  auto t = rtsp::parse_target("rtsp://10.0.0.5:8554/live/cam/trackID=1?key=abc", aliases);
  EXPECT_EQ(t.origin, "rtsp://10.0.0.5:8554");
  EXPECT_EQ(t.path, "cam");
  EXPECT_FALSE(t.alias);
  EXPECT_EQ(t.track, "trackID=1");
  EXPECT_EQ(t.query, "key=abc");
  t = rtsp::parse_target("rtsp://host/stream1", aliases);
  EXPECT_TRUE(t.alias);
  EXPECT_EQ(t.path, "cam");
  EXPECT_EQ(t.name, "stream1");
  EXPECT_EQ(rtsp::parse_target("rtsp://host/stream9", aliases).path, "");
  EXPECT_EQ(rtsp::parse_target("/live/x", aliases).path, "x");
  EXPECT_EQ(rtsp::parse_target("*", aliases).path, "");
}

}  // namespace
}  // namespace sluice::media
