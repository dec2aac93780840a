// Recording layout (media/servers/record/record_layout): templates expand to directories by the
// segment's start (UTC), the path a directory holds is read back, and templates that are not
// one are refused naming the rule.
#include <gtest/gtest.h>

#include "media/servers/record/record_layout.hpp"

namespace sluice::media {
namespace {

constexpr std::int64_t kNoon = 1'767'268'800'000;  // 2026-01-01T12:00:00Z

TEST(RecordLayout, TheDefaultIsADirectoryPerPath) {
  const RecordLayout layout;
  EXPECT_EQ(layout.text(), "%path");
  EXPECT_EQ(layout.directory("cam", kNoon), "cam");
  EXPECT_EQ(layout.path_of("cam"), "cam");
  EXPECT_EQ(layout.path_of("a/cam"), std::nullopt);
  EXPECT_EQ(layout.depth(), 1);
}

TEST(RecordLayout, TimeTokensExpandToTheSegmentsStartAndAreReadBack) {
  auto layout = RecordLayout::parse("%Y-%m-%d/cams/%path/%H");
  ASSERT_TRUE(layout) << layout.error().detail;
  EXPECT_EQ(layout->directory("stage.left", kNoon), "2026-01-01/cams/stage.left/12");
  EXPECT_EQ(layout->path_of("2026-01-01/cams/stage.left/12"), "stage.left");
  EXPECT_EQ(layout->path_of("2026-01-01/other/stage.left/12"), std::nullopt);
  EXPECT_EQ(layout->path_of("2026-01-01/cams/stage.left"), std::nullopt);
  EXPECT_EQ(layout->depth(), 4);
  auto glued = RecordLayout::parse("rec_%path_%Y%m%d");
  ASSERT_TRUE(glued);
  EXPECT_EQ(glued->directory("cam", kNoon), "rec_cam_20260101");
  EXPECT_EQ(glued->path_of("rec_cam_20260101"), "cam");
}

TEST(RecordLayout, TemplatesThatAreNotOneAreRefusedNamingTheRule) {
  for (const char* bad : {"", "cams", "%path/%path", "../%path", "./%path", "%path/..", "/%path",
                          "%path/", "a//%path", "%x/%path", "%path/a b", "1/2/3/4/5/6/%path"}) {
    auto layout = RecordLayout::parse(bad);
    EXPECT_FALSE(layout) << bad;
    if (!layout) {
      EXPECT_EQ(layout.error().status, 422) << bad;
      EXPECT_NE(layout.error().detail.find("record_path_template"), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace sluice::media
