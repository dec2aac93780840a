// What POST /pipelines accepts (pipeline/pipeline_spec): the issue's own example is read as
// written, defaults fill what is left out, every bad field is named, and only the bitrate may
// change while a pipeline runs.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include <algorithm>

#include "pipeline/pipeline_spec.hpp"

namespace sluice::pipeline {
namespace {

boost::json::object object(const char* text) {
  return boost::json::parse(text).as_object();
}

TEST(PipelineSpec, TheIssuesExampleIsReadAsWritten) {
  auto spec = parse_pipeline_spec(object(R"({
    "name": "cam",
    "source": {"type": "testsrc", "width": 1280, "height": 720, "fps": 30, "clock": true},
    "encoder": {"codec": "h264", "bitrate_kbps": 2000, "preset": "veryfast", "gop": 30},
    "renditions": [{"path": "stream1", "width": 1280, "height": 720},
                   {"path": "stream2", "width": 640, "height": 360, "bitrate_kbps": 800}],
    "outputs": []})"));
  ASSERT_TRUE(spec) << spec.error().detail;
  EXPECT_EQ(spec->source.fps, 30);
  EXPECT_EQ(spec->encoder.preset, "veryfast");
  ASSERT_EQ(spec->renditions.size(), 2u);
  EXPECT_EQ(spec->renditions[1].path, "stream2");
  EXPECT_EQ(bitrate_of(*spec, 0), 2000);
  EXPECT_EQ(bitrate_of(*spec, 1), 800);
  auto back = parse_pipeline_spec(to_json(*spec));  // what GET shows can be POSTed again
  ASSERT_TRUE(back) << back.error().detail;
  EXPECT_EQ(back->renditions[1].width, 640);
}

TEST(PipelineSpec, DefaultsGiveOneRenditionOnThePipelinesNameAtTheSourcesSize) {
  auto spec = parse_pipeline_spec(
      object(R"({"name": "lobby", "source": {"type": "testsrc", "width": 640, "height": 360}})"));
  ASSERT_TRUE(spec) << spec.error().detail;
  ASSERT_EQ(spec->renditions.size(), 1u);
  EXPECT_EQ(spec->renditions[0].path, "lobby");
  EXPECT_EQ(spec->renditions[0].width, 640);
  EXPECT_EQ(spec->renditions[0].height, 360);
  EXPECT_EQ(spec->encoder.codec, "h264");
}

TEST(PipelineSpec, EveryBadFieldIsNamed) {
  auto bad = parse_pipeline_spec(object(R"({"name": "sk_bad", "source": {"type": "webcam",
      "width": 641, "fps": 0}, "encoder": {"preset": "ludicrous", "profile": "extreme"},
      "renditions": [{"path": "a"}, {"path": "a"}]})"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().status, 422);
  std::vector<std::string> fields;
  for (const auto& e : bad.error().fields)
    fields.push_back(e.loc.back());
  for (const char* f : {"name", "type", "width", "fps", "preset", "profile", "path"})
    EXPECT_NE(std::find(fields.begin(), fields.end(), f), fields.end()) << f;
  EXPECT_FALSE(parse_pipeline_spec(object(R"({"name": "x"})")));  // no source
}

TEST(PipelineSpec, OnlyTheBitrateChangesWhileRunning) {
  auto spec = parse_pipeline_spec(object(R"({"name": "cam", "source": {"type": "testsrc"},
      "renditions": [{"path": "a"}, {"path": "b", "bitrate_kbps": 300}]})"));
  ASSERT_TRUE(spec);
  auto merged = merge_encoder(*spec, object(R"({"bitrate_kbps": 800})"));
  ASSERT_TRUE(merged) << merged.error().detail;
  EXPECT_EQ(bitrate_of(*merged, 0), 800);
  EXPECT_EQ(bitrate_of(*merged, 1), 300);  // its own
  EXPECT_FALSE(merge_encoder(*spec, object(R"({"preset": "slow"})")));
  EXPECT_FALSE(merge_encoder(*spec, object(R"({"bitrate_kbps": 1})")));
}

}  // namespace
}  // namespace sluice::pipeline
