// sluice paths [NAME] | kick NAME [READER] — the live media paths (issue 13): who publishes, over
// which protocol, what codecs, and each reader per protocol; ending a publisher or one reader.
#include <iostream>
#include <map>

#include "commands.hpp"
#include "table.hpp"

namespace sluice::cli {
namespace json = boost::json;
using client::url_encode;

namespace {

std::string field(const json::value& v, std::string_view key) {
  if (!v.is_object()) return "-";
  const auto* f = v.as_object().if_contains(key);
  if (!f || f->is_null()) return "-";
  if (f->is_string()) return f->as_string().empty() ? "-" : std::string(f->as_string());
  return compact(*f);
}

// "rtmp 2, rtsp 1"
std::string by_protocol(const json::value& p) {
  std::string out;
  if (const auto* m = p.as_object().if_contains("readers_by_protocol"); m && m->is_object()) {
    for (const auto& [kind, n] : m->as_object()) {
      if (!out.empty()) out += ", ";
      out += std::string(kind) + " " + compact(n);
    }
  }
  return out.empty() ? "none" : out;
}

void render_paths(const json::value& v) {
  Table table({"PATH", "PUBLISHER", "FROM", "VIDEO", "SIZE", "AUDIO", "KBPS", "READERS"});
  if (v.is_array()) {
    for (const auto& p : v.as_array()) {
      if (!p.is_object()) continue;
      const json::value publisher =
          p.as_object().contains("publisher") ? p.as_object().at("publisher") : json::value();
      table.add_row({field(p, "name"), field(publisher, "protocol"), field(publisher, "remote"),
                     field(p, "video_codec"), field(p, "width") + "x" + field(p, "height"),
                     field(p, "audio_codec"), field(p, "bitrate_kbps"), by_protocol(p)});
    }
  }
  table.print(std::cout);
}

void render_path(const json::value& p) {
  if (!p.is_object()) return;
  KeyValues kv;
  const json::value publisher =
      p.as_object().contains("publisher") ? p.as_object().at("publisher") : json::value();
  kv.add("path", field(p, "name"));
  kv.add("publisher", field(publisher, "protocol") + " from " + field(publisher, "remote") +
                          " (key " + field(publisher, "key_id") + ")");
  kv.add("video", field(p, "video_codec") + " " + field(p, "width") + "x" + field(p, "height"));
  kv.add("audio", field(p, "audio_codec"));
  kv.add("bitrate", field(p, "bitrate_kbps") + " kbit/s");
  kv.add("readers", by_protocol(p));
  kv.print(std::cout);
  Table readers({"READER", "PROTOCOL", "FROM", "BYTES OUT", "DROPPED"});
  if (const auto* list = p.as_object().if_contains("readers"); list && list->is_array()) {
    for (const auto& r : list->as_array()) {
      readers.add_row({field(r, "id"), field(r, "kind"), field(r, "remote"), field(r, "bytes_out"),
                       field(r, "dropped")});
    }
  }
  std::cout << "\n";
  readers.print(std::cout);
}

struct MediaFlags {
  std::string name;
  std::string reader;
};

}  // namespace

void add_media_commands(CLI::App& app, CliContext& ctx) {
  auto flags = std::make_shared<MediaFlags>();
  auto* paths = app.add_subcommand("paths", "Live media paths, or one path with its readers");
  paths->add_option("name", flags->name, "A path's name");
  paths->callback([&ctx, flags] {
    ctx.action = [&ctx, flags]() -> int {
      if (flags->name.empty()) return fetch_and_show(ctx, "GET", "/media/paths", "", render_paths);
      return fetch_and_show(ctx, "GET", "/media/paths/" + url_encode(flags->name), "", render_path);
    };
  });

  auto* kick = app.add_subcommand(
      "kick", "End a path's publisher (and so the path), or only one of its readers");
  kick->add_option("name", flags->name, "The path")->required();
  kick->add_option("reader", flags->reader, "A reader id (from `sluice paths NAME`)");
  kick->callback([&ctx, flags] {
    ctx.action = [&ctx, flags]() -> int {
      std::string target = "/media/paths/" + url_encode(flags->name);
      if (!flags->reader.empty()) target += "/readers/" + url_encode(flags->reader);
      return fetch_and_show(ctx, "DELETE", target, "", [](const json::value& v) {
        std::cout << "kicked " << field(v, "kicked") << "\n";
      });
    };
  });
}

}  // namespace sluice::cli
