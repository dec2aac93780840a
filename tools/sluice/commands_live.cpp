// sluice watch | advertise — the long-running commands; both end on SIGINT/SIGTERM.
#include <boost/json/parse.hpp>

#include <iostream>
#include <mutex>

#include "client/event_stream.hpp"
#include "client/stream_publisher.hpp"
#include "commands.hpp"
#include "core/json_text.hpp"
#include "core/time_format.hpp"
#include "registry/model.hpp"

namespace sluice::cli {
namespace json = boost::json;
using client::url_encode;

namespace {

std::mutex stdout_mutex;  // lines from the hub thread and the main thread must not interleave

void print_line(const std::string& line) {
  std::lock_guard lock(stdout_mutex);
  std::cout << line << std::endl;
}

// One human line per SSE event: "<time>  <subject>  <compact data>".
void print_event(const client::ServerSentEvent& e, bool raw_json) {
  if (e.event == "heartbeat" || e.data.empty()) return;
  if (raw_json) return print_line(e.data);
  std::string subject = e.event.empty() ? "message" : e.event;
  std::string data = e.data;
  boost::system::error_code ec;
  json::value v = json::parse(e.data, ec);
  if (!ec && v.is_object()) {
    const auto& o = v.as_object();
    if (auto s = o.find("subject"); s != o.end() && s->value().is_string()) {
      subject = std::string(s->value().as_string());
      auto d = o.find("data");
      data = d != o.end() ? to_json_text(d->value()) : "null";
    } else {
      data = to_json_text(v);
    }
  }
  print_line(format_timestamp(std::chrono::system_clock::now()) + "  " + subject + "  " + data);
}

int run_watch(CliContext& ctx, const std::vector<std::string>& patterns) {
  TerminationSignals signals;
  auto stream = std::make_shared<client::EventStream>(ctx.server);
  signals.on_signal([stream] { stream->stop(); });
  std::string target = "/streams/events";
  char sep = '?';
  for (const auto& p : patterns) {
    target += sep + std::string("subject=") + url_encode(p);
    sep = '&';
  }
  auto status =
      stream->run(target, [&ctx](const client::ServerSentEvent& e) { print_event(e, ctx.json); });
  if (!status) return report_error(status.error());
  return kExitOk;
}

struct AdvertiseOptions {
  registry::AdvertiseRequest advert;
  std::string config, metadata, multicast_group;
  int multicast_port = 0;
  bool accept = false;
  std::string reject_reason;
  std::string offer_address, transport_config;
  int offer_port = 0;
  double heartbeat_seconds = 0;
};

client::Decision decide(CLI::App* cmd, const AdvertiseOptions& o) {
  if (cmd->count("--reject")) return client::RejectRequest{o.reject_reason};
  client::AcceptRequest accept;
  if (cmd->count("--offer-address")) accept.address = o.offer_address;
  if (cmd->count("--offer-port")) accept.port = o.offer_port;
  accept.transport_config = parse_object(o.transport_config);
  return accept;
}

std::string describe(const client::IncomingStreamRequest& r, const client::Decision& d) {
  std::string line = "request from " + r.consumer_id + " at " + r.consumer_address;
  if (r.consumer_port) line += ":" + std::to_string(*r.consumer_port);
  if (const auto* reject = std::get_if<client::RejectRequest>(&d)) {
    return line + ": rejected (" + reject->reason + ")";
  }
  const auto& accept = std::get<client::AcceptRequest>(d);
  line += ": accepted";
  if (accept.address || accept.port) {
    line += " -> " + accept.address.value_or("(advertised)") + ":" +
            (accept.port ? std::to_string(*accept.port) : "(advertised)");
  }
  return line;
}

int run_advertise(CliContext& ctx, CLI::App* cmd, AdvertiseOptions& o) {
  TerminationSignals signals;  // before the publisher starts its threads
  auto& advert = o.advert;
  advert.config = parse_object(o.config);
  advert.metadata = parse_object(o.metadata);
  if (cmd->count("--multicast-group")) advert.multicast_group = o.multicast_group;
  if (cmd->count("--multicast-port")) advert.multicast_port = o.multicast_port;

  const client::Decision decision = decide(cmd, o);
  client::StreamPublisher::Options options;
  if (o.heartbeat_seconds > 0) {
    options.heartbeat_interval =
        std::chrono::milliseconds(static_cast<std::int64_t>(o.heartbeat_seconds * 1000));
  }
  options.on_request = [&ctx, decision](const client::IncomingStreamRequest& r) {
    if (ctx.json) {
      print_line(to_json_text(json::object{{"request",
                                            {{"stream_id", r.stream_id},
                                             {"consumer_id", r.consumer_id},
                                             {"consumer_address", r.consumer_address},
                                             {"config", r.config}}},
                                           {"reply", client::decision_to_json(decision)}}));
    } else {
      print_line(describe(r, decision));
    }
    return decision;
  };
  options.on_state = [](client::PublisherState state, const std::string& detail) {
    std::cerr << "publisher: " << client::to_string(state) << " (" << detail << ")" << std::endl;
  };
  client::StreamPublisher publisher(ctx.client(), advert, options);
  auto view = publisher.start();
  if (!view) return report_error(view.error());
  print_line(ctx.json ? to_json_text(registry::to_json(*view)) : view->stream.id);
  signals.wait();
  publisher.stop();
  return kExitOk;
}

}  // namespace

void add_live_commands(CLI::App& app, CliContext& ctx) {
  {
    auto patterns = std::make_shared<std::vector<std::string>>();
    auto* cmd = app.add_subcommand("watch", "Print registry events as they happen (Ctrl-C ends)");
    cmd->add_option("PATTERN", *patterns,
                    "Subject patterns with * and > (default: maestra.stream.>)");
    cmd->callback(
        [&ctx, patterns] { ctx.action = [&ctx, patterns] { return run_watch(ctx, *patterns); }; });
  }
  {
    auto o = std::make_shared<AdvertiseOptions>();
    o->advert.publisher_id = default_publisher_id();
    auto* cmd = app.add_subcommand(
        "advertise", "Advertise a stream and answer requests for it until Ctrl-C, then withdraw");
    cmd->add_option("--name", o->advert.name, "Stream name")->required();
    cmd->add_option("--type", o->advert.stream_type, "Stream type (ndi, audio, data, …)")
        ->required();
    cmd->add_option("--protocol", o->advert.protocol, "Protocol (tcp, udp, srt, …)")->required();
    cmd->add_option("--address", o->advert.address, "Publisher address")->required();
    cmd->add_option("--port", o->advert.port, "Publisher port")
        ->required()
        ->check(CLI::Range(0, 65535));
    cmd->add_option("--publisher-id", o->advert.publisher_id,
                    "Publisher id (default: cli@<hostname>)");
    cmd->add_option("--config", o->config, "Stream config (JSON object)")
        ->check(json_object_validator());
    cmd->add_option("--metadata", o->metadata, "Metadata (JSON object)")
        ->check(json_object_validator());
    auto* group = cmd->add_option("--multicast-group", o->multicast_group, "Multicast group");
    auto* mport = cmd->add_option("--multicast-port", o->multicast_port, "Multicast port")
                      ->check(CLI::Range(0, 65535));
    group->needs(mport);
    mport->needs(group);
    auto* accept = cmd->add_flag("--accept", o->accept, "Accept every request (the default)");
    auto* reject = cmd->add_option("--reject", o->reject_reason, "Reject every request: REASON");
    accept->excludes(reject);
    auto* offer_address =
        cmd->add_option("--offer-address", o->offer_address, "Accept: address given in offers");
    auto* offer_port =
        cmd->add_option("--offer-port", o->offer_port, "Accept: port given in offers")
            ->check(CLI::Range(0, 65535));
    auto* transport = cmd->add_option("--transport-config", o->transport_config,
                                      "Accept: transport_config given in offers (JSON object)")
                          ->check(json_object_validator());
    for (auto* opt : {offer_address, offer_port, transport})
      opt->excludes(reject);
    cmd->add_option("--heartbeat", o->heartbeat_seconds,
                    "Heartbeat interval in seconds (default: stream TTL / 3)")
        ->check(CLI::PositiveNumber);
    cmd->callback(
        [&ctx, cmd, o] { ctx.action = [&ctx, cmd, o] { return run_advertise(ctx, cmd, *o); }; });
  }
}

}  // namespace sluice::cli
