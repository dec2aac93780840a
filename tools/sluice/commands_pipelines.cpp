// sluice pipelines [ID] | pipelines create FILE | pipelines bitrate ID KBPS | pipelines delete ID —
// the daemon's pipelines (issue 15): what each makes, its state and health, making one from a
// JSON spec (a file, or - for stdin), changing its bitrate live and stopping it.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>

#include "commands.hpp"
#include "table.hpp"

namespace sluice::cli {
namespace json = boost::json;
using client::url_encode;

namespace {

std::string text(const json::value& v, std::string_view key) {
  if (!v.is_object()) return "-";
  const auto* f = v.as_object().if_contains(key);
  if (!f || f->is_null()) return "-";
  if (f->is_string()) return f->as_string().empty() ? "-" : std::string(f->as_string());
  return compact(*f);
}

// "stream1 1280x720, stream2 640x360"
std::string renditions(const json::value& p) {
  std::string out;
  if (const auto* list = p.as_object().if_contains("renditions"); list && list->is_array()) {
    for (const auto& r : list->as_array()) {
      if (!out.empty()) out += ", ";
      out += text(r, "path") + " " + text(r, "width") + "x" + text(r, "height");
    }
  }
  return out.empty() ? "-" : out;
}

std::string one_decimal(const json::value& v, std::string_view key) {
  const auto* f = v.is_object() ? v.as_object().if_contains(key) : nullptr;
  if (!f || !f->is_number()) return "-";
  char out[32];
  std::snprintf(out, sizeof out, "%.1f", f->to_number<double>());
  return out;
}

void render_list(const json::value& v) {
  Table table({"ID", "NAME", "SOURCE", "STATE", "HEALTH", "FPS", "RENDITIONS"});
  if (v.is_array()) {
    for (const auto& p : v.as_array()) {
      if (!p.is_object()) continue;
      const json::value source =
          p.as_object().contains("source") ? p.as_object().at("source") : json::value();
      table.add_row({text(p, "id"), text(p, "name"), text(source, "type"), text(p, "state"),
                     text(p, "health"), one_decimal(p, "fps"), renditions(p)});
    }
  }
  table.print(std::cout);
}

void render_one(const json::value& p) {
  if (!p.is_object()) return;
  KeyValues kv;
  kv.add("id", text(p, "id"));
  kv.add("name", text(p, "name"));
  kv.add("state",
         text(p, "state") + (text(p, "error") == "-" ? "" : " (" + text(p, "error") + ")"));
  kv.add("health", text(p, "health"));
  kv.add("frames", text(p, "frames") + " made, " + text(p, "dropped_frames") + " dropped");
  kv.add("renditions", renditions(p));
  kv.add("encoder",
         compact(p.as_object().contains("encoder") ? p.as_object().at("encoder") : json::value()));
  kv.print(std::cout);
}

struct PipelineFlags {
  std::string id;
  std::string file;
  int kbps = 0;
};

}  // namespace

void add_pipeline_commands(CLI::App& app, CliContext& ctx) {
  auto flags = std::make_shared<PipelineFlags>();
  auto* pipelines =
      app.add_subcommand("pipelines", "Pipelines: list, show, create, bitrate, delete");
  pipelines->add_option("id", flags->id, "A pipeline's id: show it");
  pipelines->callback([&ctx, flags, pipelines] {
    if (pipelines->get_subcommands().size() > 0) return;  // a subcommand does the work
    ctx.action = [&ctx, flags]() -> int {
      if (flags->id.empty()) return fetch_and_show(ctx, "GET", "/pipelines", "", render_list);
      return fetch_and_show(ctx, "GET", "/pipelines/" + url_encode(flags->id), "", render_one);
    };
  });

  auto* create = pipelines->add_subcommand("create", "Create a pipeline from a JSON spec");
  create->add_option("file", flags->file, "The spec's file, or - for stdin")->required();
  create->callback([&ctx, flags] {
    ctx.action = [&ctx, flags]() -> int {
      std::string body;
      if (flags->file == "-") {
        body.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
      } else {
        std::ifstream in(flags->file);
        if (!in) {
          std::cerr << "sluice: cannot read " << flags->file << "\n";
          return 2;
        }
        body.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
      }
      return fetch_and_show(ctx, "POST", "/pipelines", body, render_one);
    };
  });

  auto* bitrate = pipelines->add_subcommand("bitrate", "Change a running pipeline's bitrate");
  bitrate->add_option("id", flags->id, "The pipeline's id")->required();
  bitrate->add_option("kbps", flags->kbps, "The new bitrate in kbit/s")->required();
  bitrate->callback([&ctx, flags] {
    ctx.action = [&ctx, flags]() -> int {
      const std::string body =
          "{\"encoder\": {\"bitrate_kbps\": " + std::to_string(flags->kbps) + "}}";
      return fetch_and_show(ctx, "PATCH", "/pipelines/" + url_encode(flags->id), body, render_one);
    };
  });

  auto* remove = pipelines->add_subcommand("delete", "Stop a pipeline (its paths end)");
  remove->add_option("id", flags->id, "The pipeline's id")->required();
  remove->callback([&ctx, flags] {
    ctx.action = [&ctx, flags]() -> int {
      return fetch_and_show(
          ctx, "DELETE", "/pipelines/" + url_encode(flags->id), "",
          [](const json::value& v) { std::cout << "stopped " << text(v, "id") << "\n"; });
    };
  });
}

}  // namespace sluice::cli
