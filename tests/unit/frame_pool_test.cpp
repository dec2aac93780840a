// The frame pool between a relay channel and a pipeline (pipeline/frame_pool): pictures are copied
// into reused buffers, at most `depth` wait, the oldest is dropped (and counted) when more come,
// a picture of the wrong size is refused; and the raw layout a channel's metadata describes.
#include <gtest/gtest.h>

extern "C" {
#include <libavutil/frame.h>
#include <libavutil/pixfmt.h>
}

#include <boost/json/parse.hpp>

#include "pipeline/frame_pool.hpp"
#include "pipeline/relay_frame_source.hpp"

namespace sluice::pipeline {
namespace {

using namespace std::chrono_literals;

std::string picture(char fill) {
  return std::string(16 * 16 * 4, fill);  // rgba 16x16
}

TEST(FramePool, TheOldestWaitingPictureIsDroppedAndCounted) {
  FramePool pool(3);
  ASSERT_TRUE(pool.configure(AV_PIX_FMT_RGBA, 16, 16));
  EXPECT_EQ(pool.picture_bytes(), 1024u);
  for (char c : {'a', 'b', 'c', 'd', 'e'})
    ASSERT_TRUE(pool.push(picture(c), c));
  EXPECT_EQ(pool.waiting(), 3u);
  EXPECT_EQ(pool.dropped(), 2u);  // a and b
  AVFrame* frame = av_frame_alloc();
  std::int64_t ms = 0;
  for (char expected : {'c', 'd', 'e'}) {
    ASSERT_TRUE(pool.take(frame, ms, 0ms));
    EXPECT_EQ(ms, expected);
    EXPECT_EQ(frame->width, 16);
    EXPECT_EQ(frame->format, AV_PIX_FMT_RGBA);
    EXPECT_EQ(frame->data[0][0], expected);
    EXPECT_EQ(frame->data[0][1023], expected);
  }
  EXPECT_FALSE(pool.take(frame, ms, 10ms));  // none waits
  av_frame_free(&frame);
}

TEST(FramePool, BuffersAreReusedNotAllocatedPerPicture) {
  FramePool pool(2);
  ASSERT_TRUE(pool.configure(AV_PIX_FMT_RGBA, 16, 16));
  AVFrame* frame = av_frame_alloc();
  std::int64_t ms = 0;
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(pool.push(picture(static_cast<char>(i)), i));
    ASSERT_TRUE(pool.take(frame, ms, 0ms));
    av_frame_unref(frame);  // the encoder is done with it: back to the pool
  }
  EXPECT_LE(pool.allocated(), 3u);
  EXPECT_EQ(pool.dropped(), 0u);
  av_frame_free(&frame);
}

TEST(FramePool, APictureOfTheWrongSizeIsRefused) {
  FramePool pool(2);
  EXPECT_FALSE(pool.push(picture('a'), 0));  // no layout yet
  ASSERT_TRUE(pool.configure(AV_PIX_FMT_RGBA, 16, 16));
  EXPECT_FALSE(pool.push(std::string(1000, 'a'), 0));
  EXPECT_EQ(pool.waiting(), 0u);
  EXPECT_FALSE(pool.configure(-5, 16, 16));
}

TEST(FramePool, CloseWakesAWaitingConsumer) {
  FramePool pool(2);
  ASSERT_TRUE(pool.configure(AV_PIX_FMT_GRAY8, 16, 16));
  std::thread closer([&] {
    std::this_thread::sleep_for(50ms);
    pool.close();
  });
  AVFrame* frame = av_frame_alloc();
  std::int64_t ms = 0;
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(pool.take(frame, ms, 10s));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  closer.join();
  EXPECT_FALSE(pool.push(std::string(256, 'a'), 0));
  av_frame_free(&frame);
}

TEST(RawLayout, TheChannelsMetadataNamesFormatSizeAndRate) {
  auto layout = raw_layout_of(
      boost::json::parse(R"({"format":"rgba","width":1280,"height":720,"fps":30})").as_object());
  ASSERT_TRUE(layout) << layout.error().detail;
  EXPECT_EQ(layout->format, AV_PIX_FMT_RGBA);
  EXPECT_EQ(layout->bytes, 1280u * 720 * 4);
  EXPECT_EQ(layout->fps, 30);
  auto nv12 = raw_layout_of(
      boost::json::parse(R"({"format":"nv12","width":640,"height":360})").as_object());
  ASSERT_TRUE(nv12);
  EXPECT_EQ(nv12->bytes, 640u * 360 * 3 / 2);
  for (const char* bad : {R"({})", R"({"format":"rgba","width":"big","height":720})",
                          R"({"format":"rgbz","width":1280,"height":720})",
                          R"({"format":"rgba","width":99999,"height":720})",
                          R"({"format":"rgba","width":1280,"height":720,"fps":0})"}) {
    EXPECT_FALSE(raw_layout_of(boost::json::parse(bad).as_object())) << bad;
  }
}

}  // namespace
}  // namespace sluice::pipeline
