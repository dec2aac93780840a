// What POST /pipelines accepts (pipeline/pipeline_spec): the issue's own example is read as
// written, defaults fill what is left out, every bad field is named, and only the bitrate may
// change while a pipeline runs.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include <algorithm>

#include "pipeline/compositor.hpp"
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

TEST(PipelineSpec, APictureInPictureNamesItsSourcesWithTheCamerasLayout) {
  auto spec = parse_pipeline_spec(object(R"({"name": "pip",
    "source": {"type": "testsrc"},
    "sources": {"cam2": {"type": "url", "url": "rtsp://cam2.local/stream1"}},
    "filters": [{"type": "pip", "mainSource": "main", "pipSource": "cam2",
                 "pipPosition": "top-left", "pipScale": 0.3, "pipBorder": false}],
    "alignment": {"enabled": true, "method": "timestamp", "maxLatencyMs": 120,
                  "syncTolerance": 20}})"));
  ASSERT_TRUE(spec) << spec.error().detail;
  const FilterSpec* pip = pip_of(*spec);
  ASSERT_NE(pip, nullptr);
  EXPECT_EQ(pip->pip_source, "cam2");
  EXPECT_EQ(pip->position, "top-left");
  EXPECT_DOUBLE_EQ(pip->scale, 0.3);
  EXPECT_EQ(pip->border, 0);
  EXPECT_EQ(spec->alignment.max_latency_ms, 120);
  EXPECT_EQ(source_named(*spec, "cam2")->url, "rtsp://cam2.local/stream1");
  auto back = parse_pipeline_spec(to_json(*spec, true));
  ASSERT_TRUE(back) << back.error().detail;
  EXPECT_EQ(pip_of(*back)->position, "top-left");
  EXPECT_EQ(back->sources.size(), 1u);
  // Shown without the URL's path (where keys live).
  EXPECT_EQ(to_json(*spec).at("sources").at("cam2").at("url").as_string(), "rtsp://cam2.local");
}

TEST(PipelineSpec, BadCompositionsAreNamed) {
  const auto fields_of = [](const char* text) {
    std::vector<std::string> out;
    auto bad = parse_pipeline_spec(object(text));
    EXPECT_FALSE(bad) << text;
    if (!bad) {
      for (const auto& e : bad.error().fields)
        out.push_back(e.loc.back());
    }
    return out;
  };
  const auto has = [](const std::vector<std::string>& fields, const std::string& f) {
    return std::find(fields.begin(), fields.end(), f) != fields.end();
  };
  EXPECT_TRUE(has(fields_of(R"({"name": "p", "source": {"type": "testsrc"},
      "filters": [{"type": "pip", "pipSource": "nothere", "pipScale": 0.9,
                   "pipPosition": "middle", "pipBorder": "thick"}]})"),
                  "pipSource"));
  auto many = fields_of(R"({"name": "p", "source": {"type": "testsrc"},
      "sources": {"b": {"type": "testsrc"}},
      "filters": [{"type": "pip", "pipSource": "b", "pipScale": 0.9,
                   "pipPosition": "middle", "pipBorder": "thick"}]})");
  for (const char* f : {"pipScale", "pipPosition", "pipBorder"})
    EXPECT_TRUE(has(many, f)) << f;
  EXPECT_TRUE(has(fields_of(R"({"name": "p", "source": {"type": "testsrc"},
      "sources": {"main": {"type": "testsrc"}}})"),
                  "main"));
  EXPECT_TRUE(has(fields_of(R"({"name": "p", "source": {"type": "relay"}})"), "channel"));
  EXPECT_TRUE(has(fields_of(R"({"name": "p", "source": {"type": "relay", "channel": "a..b"}})"),
                  "channel"));
  EXPECT_TRUE(has(fields_of(R"({"name": "p", "source": {"type": "path", "path": "p"}})"), "path"))
      << "a path source reading its own rendition";
  EXPECT_TRUE(has(fields_of(R"({"name": "p", "source": {"type": "testsrc", "pattern": "zebra"}})"),
                  "pattern"));
  EXPECT_TRUE(
      has(fields_of(R"({"name": "p", "source": {"type": "testsrc", "color": "red'x"}})"), "color"));
  EXPECT_TRUE(has(fields_of(R"({"name": "p", "source": {"type": "testsrc"},
      "alignment": {"method": "hardware", "maxLatencyMs": 0}})"),
                  "maxLatencyMs"));
}

TEST(PipCompositor, TheInsetSitsInItsCornerAtItsScale) {
  FilterSpec layout;
  layout.type = "pip";
  layout.scale = 0.25;
  layout.border = 4;
  layout.position = "bottom-right";
  InsetRect r = inset_rect(layout, 1920, 1080);
  EXPECT_EQ(r.width, 480);
  EXPECT_EQ(r.height, 270);
  EXPECT_EQ(r.x + r.width + r.border, 1920 - 26);  // a margin of 1080/40, rounded even
  EXPECT_EQ(r.y + r.height + r.border, 1080 - 26);
  layout.position = "top-left";
  layout.border = 3;  // rounded up to even: 4:2:0 chroma
  r = inset_rect(layout, 640, 360);
  EXPECT_EQ(r.border, 4);
  EXPECT_EQ(r.x, 8 + 4);
  EXPECT_EQ(r.y, 8 + 4);
  EXPECT_EQ(r.x % 2 + r.y % 2 + r.width % 2 + r.height % 2, 0);
}

}  // namespace
}  // namespace sluice::pipeline
