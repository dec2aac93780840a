// sluice sessions | subscribers | request

#include <iomanip>
#include <iostream>
#include <sstream>

#include "client/stream_consumer.hpp"
#include "commands.hpp"
#include "core/json_text.hpp"
#include "core/time_format.hpp"
#include "registry/model.hpp"
#include "table.hpp"

namespace sluice::cli {
namespace json = boost::json;
using client::url_encode;

namespace {

void render_sessions(const json::value& v) {
  Table table({"SESSION", "STREAM", "NAME", "CONSUMER", "CONSUMER ADDRESS", "PUBLISHER ADDRESS",
               "PROTOCOL", "STARTED", "STATUS"});
  if (v.is_array()) {
    for (const auto& item : v.as_array()) {
      if (!item.is_object()) continue;
      auto s = registry::session_from_json(item.as_object());
      table.add_row({s.session_id, s.stream_id, s.stream_name, s.consumer_id, s.consumer_address,
                     s.publisher_address, s.protocol, age(s.started_at), s.status});
    }
  }
  table.print(std::cout);
}

std::string seconds_text(const std::optional<double>& s) {
  if (!s) return "-";
  std::ostringstream out;
  out << std::fixed << std::setprecision(1) << *s << "s";
  return out.str();
}

void render_history(const json::value& v) {
  Table table({"TIME", "SESSION", "STREAM", "NAME", "PUBLISHER", "CONSUMER", "STATUS", "DURATION",
               "BYTES"});
  if (v.is_array()) {
    for (const auto& item : v.as_array()) {
      if (!item.is_object()) continue;
      auto h = registry::history_from_json(item.as_object());
      table.add_row({format_timestamp(h.time), h.session_id, h.stream_id, h.stream_name,
                     h.publisher_id, h.consumer_id, h.status, seconds_text(h.duration_seconds),
                     std::to_string(h.bytes_transferred)});
    }
  }
  table.print(std::cout);
}

void render_subscribers(const json::value& v) {
  Table table({"SUBSCRIBER", "STREAM", "NAME", "CONSUMER", "ADDRESS", "JOINED"});
  if (v.is_array()) {
    for (const auto& item : v.as_array()) {
      if (!item.is_object()) continue;
      auto s = registry::subscriber_from_json(item.as_object());
      table.add_row({s.subscriber_id, s.stream_id, s.stream_name, s.consumer_id, s.consumer_address,
                     age(s.joined_at)});
    }
  }
  table.print(std::cout);
}

void print_offer(const registry::StreamOffer& o) {
  KeyValues kv;
  kv.add("session", o.session_id);
  kv.add("stream", o.stream_id);
  kv.add("name", o.stream_name);
  kv.add("type", o.stream_type);
  kv.add("protocol", o.protocol);
  kv.add("publisher", o.publisher_address + ":" + std::to_string(o.publisher_port));
  kv.add("transport_config", compact(o.transport_config));
  kv.print(std::cout);
}

struct SessionOptions {
  std::string stream, since, until;
  bool history = false;
  int limit = 50, offset = 0;
};

std::string sessions_target(CLI::App* cmd, const SessionOptions& o) {
  std::string target = o.history ? "/streams/sessions/history" : "/streams/sessions";
  char sep = '?';
  auto add = [&](const char* key, const std::string& value) {
    target += sep;
    target += key;
    target += '=';
    target += url_encode(value);
    sep = '&';
  };
  if (cmd->count("--stream")) add("stream_id", o.stream);
  if (!o.history) return target;
  if (cmd->count("--since")) add("since", format_timestamp(*parse_timestamp(o.since)));
  if (cmd->count("--until")) add("until", format_timestamp(*parse_timestamp(o.until)));
  if (cmd->count("--limit")) add("limit", std::to_string(o.limit));
  if (cmd->count("--offset")) add("offset", std::to_string(o.offset));
  return target;
}

struct RequestOptions {
  std::string stream_id, consumer_id, consumer_address, config;
  int consumer_port = 0;
  bool hold = false;
};

// `request --hold`: keeps the session alive with StreamConsumer until SIGINT/SIGTERM.
int hold_session(CliContext& ctx, const registry::StreamRequest& request,
                 const std::string& stream_id) {
  TerminationSignals signals;  // before StreamConsumer starts its thread
  client::StreamConsumer::Options options;
  options.on_state = [](client::ConsumerState state, const std::string& detail) {
    std::cerr << "session: " << client::to_string(state) << " (" << detail << ")" << std::endl;
  };
  options.on_offer = [&ctx](const registry::StreamOffer& offer) {
    if (ctx.json) {
      std::cout << to_json_text(registry::to_json(offer)) << std::endl;
    } else {
      std::cout << "new offer:\n";
      print_offer(offer);
      std::cout << std::flush;
    }
  };
  client::StreamConsumer consumer(ctx.client(), stream_id, request, options);
  auto offer = consumer.connect();
  if (!offer) return report_error(offer.error());
  if (ctx.json) {
    std::cout << to_json_text(registry::to_json(*offer)) << std::endl;
  } else {
    print_offer(*offer);
    std::cout << std::flush;
  }
  signals.wait();
  consumer.disconnect();
  return kExitOk;
}

}  // namespace

void add_session_commands(CLI::App& app, CliContext& ctx) {
  {
    auto o = std::make_shared<SessionOptions>();
    auto* cmd = app.add_subcommand("sessions", "List unicast sessions (or their history)");
    cmd->add_option("--stream", o->stream, "Only sessions of this stream id");
    auto* history = cmd->add_flag("--history", o->history, "Query the session history instead");
    cmd->add_option("--since", o->since, "History: sessions started at or after (ISO-8601)")
        ->check(timestamp_validator())
        ->needs(history);
    cmd->add_option("--until", o->until, "History: sessions started before (ISO-8601)")
        ->check(timestamp_validator())
        ->needs(history);
    cmd->add_option("--limit", o->limit, "History: at most N rows (1-500)")
        ->check(CLI::Range(1, 500))
        ->needs(history);
    cmd->add_option("--offset", o->offset, "History: skip the first N rows")
        ->check(CLI::NonNegativeNumber)
        ->needs(history);
    cmd->callback([&ctx, cmd, o] {
      ctx.action = [&ctx, cmd, o] {
        return fetch_and_show(ctx, "GET", sessions_target(cmd, *o), "",
                              o->history ? render_history : render_sessions);
      };
    });
  }
  {
    auto stream = std::make_shared<std::string>();
    auto* cmd = app.add_subcommand("subscribers", "List multicast subscribers");
    cmd->add_option("--stream", *stream, "Only subscribers of this stream id");
    cmd->callback([&ctx, cmd, stream] {
      ctx.action = [&ctx, cmd, stream] {
        std::string target = "/streams/subscribers";
        if (cmd->count("--stream")) target += "?stream_id=" + url_encode(*stream);
        return fetch_and_show(ctx, "GET", target, "", render_subscribers);
      };
    });
  }
  {
    auto o = std::make_shared<RequestOptions>();
    auto* cmd = app.add_subcommand("request", "Request a unicast stream and print the offer");
    cmd->add_option("ID", o->stream_id, "Stream id")->required();
    cmd->add_option("--consumer-id", o->consumer_id, "Who is asking")->required();
    cmd->add_option("--consumer-address", o->consumer_address, "Where the data should go")
        ->required();
    cmd->add_option("--consumer-port", o->consumer_port, "Consumer port (0 = any)")
        ->check(CLI::Range(0, 65535));
    cmd->add_option("--config", o->config, "Consumer preferences (JSON object)")
        ->check(json_object_validator());
    cmd->add_flag("--hold", o->hold, "Keep the session alive until Ctrl-C, then stop it");
    cmd->callback([&ctx, cmd, o] {
      ctx.action = [&ctx, cmd, o] {
        registry::StreamRequest request;
        request.consumer_id = o->consumer_id;
        request.consumer_address = o->consumer_address;
        if (cmd->count("--consumer-port")) request.consumer_port = o->consumer_port;
        request.config = parse_object(o->config);
        if (o->hold) return hold_session(ctx, request, o->stream_id);
        return fetch_and_show(ctx, "POST", "/streams/" + url_encode(o->stream_id) + "/request",
                              to_json_text(registry::to_json(request)), [](const json::value& v) {
                                if (v.is_object())
                                  print_offer(registry::offer_from_json(v.as_object()));
                              });
      };
    });
  }
}

}  // namespace sluice::cli
