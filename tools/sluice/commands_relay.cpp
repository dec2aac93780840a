// sluice pub | sub | channels — the relay from the command line.

#include <cstdlib>
#include <iostream>
#include <mutex>

#include "client/wire_session.hpp"
#include "commands.hpp"
#include "core/config.hpp"
#include "core/json.hpp"
#include "core/json_text.hpp"
#include "table.hpp"

namespace sluice::cli {
namespace json = boost::json;

namespace {

std::string default_wire() {
  const char* env = std::getenv("SLUICE_WIRE");
  return env && *env ? env : "127.0.0.1:7070";
}

// `--wire`: HOST:PORT (the wire port, TCP or with --tls TLS), or ws://HOST:PORT[/PATH] (the
// WebSocket at PATH, default /wire, on the HTTP port). Fills host, port and the WebSocket fields.
Status parse_wire_address(const WireFlags& flags, client::WireOptions& o) {
  std::string address = flags.address;
  if (address.starts_with("wss://")) {
    return fail(Error::bad_request(
        "--wire wss:// is not supported: sluiced's HTTP port has no TLS (use --tls with the TLS "
        "wire port)"));
  }
  if (address.starts_with("ws://")) {
    if (flags.tls) return fail(Error::bad_request("--tls cannot be used with a ws:// address"));
    o.websocket = true;
    address.erase(0, 5);
    if (auto slash = address.find('/'); slash != std::string::npos) {
      o.websocket_path = address.substr(slash);
      address.resize(slash);
    }
  }
  try {
    auto hp = parse_host_port(address, "wire");
    o.host = hp.host.empty() || hp.host == "0.0.0.0" ? "127.0.0.1" : hp.host;
    o.port = hp.port;
  } catch (const std::exception& e) {
    return fail(Error::bad_request(e.what()));
  }
  return {};
}

}  // namespace

void add_wire_options(CLI::App& cmd, WireFlags& flags) {
  flags.address = default_wire();
  cmd.add_option("--wire", flags.address,
                 "Relay address HOST:PORT, or ws://HOST:PORT[/wire] for the WebSocket on the HTTP "
                 "port (default: $SLUICE_WIRE or 127.0.0.1:7070)");
  cmd.add_option("--user", flags.user, "User name (SCRAM-SHA-256)");
  cmd.add_option("--password", flags.password, "Password (or $SLUICE_PASSWORD)");
  cmd.add_option("--token", flags.token, "Access token (sent only over TLS)");
  cmd.add_flag("--tls", flags.tls, "Connect with TLS 1.3 (the relay's TLS port, default 7071)");
  cmd.add_option("--ca", flags.ca_file, "CA certificate (PEM) to verify the server with");
  cmd.add_flag("--insecure", flags.insecure, "Do not verify the server's certificate");
}

Result<std::shared_ptr<client::Session>> connect_wire(const WireFlags& flags) {
  client::WireOptions o;
  if (auto parsed = parse_wire_address(flags, o); !parsed) return fail(parsed.error());
  o.user = flags.user;
  o.password = flags.password;
  if (o.password.empty()) {
    if (const char* p = std::getenv("SLUICE_PASSWORD")) o.password = p;
  }
  o.token = flags.token;
  o.tls = flags.tls;
  o.ca_file = flags.ca_file;
  o.verify_peer = !flags.insecure;
  o.client_name = "sluice-cli";
  o.reconnect = false;
  return client::Session::connect(o);
}

void add_relay_commands(CLI::App& app, CliContext& ctx) {
  {
    auto* cmd = app.add_subcommand("pub", "Publish messages on a relay channel");
    auto flags = std::make_shared<WireFlags>();
    auto channel = std::make_shared<std::string>();
    auto message = std::make_shared<std::string>();
    auto type = std::make_shared<std::string>("data");
    add_wire_options(*cmd, *flags);
    cmd->add_option("channel", *channel, "Channel name (dot-separated tokens)")->required();
    cmd->add_option("message", *message,
                    "Message to send; '-' sends each line of standard input as one message")
        ->required();
    cmd->add_option("--type", *type, "Registry stream type of the channel (default data)");
    auto metadata = std::make_shared<std::string>();
    cmd->add_option("--metadata", *metadata,
                    "The channel's metadata as a JSON object (raw frames for a pipeline: "
                    "{\"format\":\"rgba\",\"width\":1280,\"height\":720,\"fps\":30})");
    auto frame_bytes = std::make_shared<std::size_t>(0);
    cmd->add_option("--frame-bytes", *frame_bytes,
                    "With '-': standard input cut into messages of exactly N bytes (raw video "
                    "frames, e.g. ffmpeg -f rawvideo -) instead of lines")
        ->check(CLI::Range(std::size_t{1}, std::size_t{64} * 1024 * 1024));
    cmd->callback([flags, channel, message, type, metadata, frame_bytes, &ctx] {
      ctx.action = [flags, channel, message, type, metadata, frame_bytes] {
        client::PublishOptions po;
        po.stream_type = *type;
        if (!metadata->empty()) {
          auto parsed = parse_json_object(*metadata);
          if (!parsed) {
            return report_error(Error::bad_request("--metadata: " + parsed.error().detail));
          }
          po.metadata = std::move(*parsed);
        }
        auto session = connect_wire(*flags);
        if (!session) return report_error(session.error());
        auto stream = (*session)->publish(*channel, po);
        if (!stream) return report_error(stream.error());
        std::size_t sent = 0;
        if (*message == "-" && *frame_bytes > 0) {
          std::string frame(*frame_bytes, '\0');
          while (std::cin.read(frame.data(), static_cast<std::streamsize>(frame.size()))) {
            if (auto ok = stream->send(frame); !ok) return report_error(ok.error());
            ++sent;
          }
        } else if (*message == "-") {
          std::string line;
          while (std::getline(std::cin, line)) {
            if (auto ok = stream->send(line); !ok) return report_error(ok.error());
            ++sent;
          }
        } else {
          auto took = stream->send_acked(*message);
          if (!took) return report_error(took.error());
          std::cerr << "published to " << *took << " subscriber(s)\n";
          sent = 1;
        }
        stream->close();
        (*session)->close();
        return int(kExitOk);
      };
    });
  }
  {
    auto* cmd = app.add_subcommand("sub", "Print messages from relay channels");
    auto flags = std::make_shared<WireFlags>();
    auto pattern = std::make_shared<std::string>();
    auto count = std::make_shared<std::size_t>(0);
    auto policy = std::make_shared<std::string>("drop-oldest");
    auto last = std::make_shared<bool>(false);
    add_wire_options(*cmd, *flags);
    cmd->add_option("pattern", *pattern, "Channel or pattern ('*' one token, '>' the rest)")
        ->required();
    cmd->add_option("--count", *count, "Exit after N messages (default: run until Ctrl-C)");
    cmd->add_option("--overflow", *policy,
                    "drop-oldest | drop-newest | disconnect | block (default drop-oldest)");
    cmd->add_flag("--last-value", *last, "Start with the channel's last value, when kept");
    cmd->callback([flags, pattern, count, policy, last, &ctx] {
      ctx.action = [flags, pattern, count, policy, last, &ctx] {
        auto p = wire::parse_overflow_policy(*policy);
        if (!p) {
          std::cerr << "error: --overflow must be drop-oldest, drop-newest, disconnect or block\n";
          return int(kExitUsage);
        }
        TerminationSignals signals;
        auto session = connect_wire(*flags);
        if (!session) return report_error(session.error());
        client::SubscribeOptions so;
        so.buffer.policy = *p;
        so.last_value = *last;
        auto stream = (*session)->subscribe(*pattern, so);
        if (!stream) return report_error(stream.error());
        std::atomic<bool> stop{false};
        signals.on_signal([&stop] { stop = true; });
        std::size_t received = 0;
        while (!stop && (*count == 0 || received < *count)) {
          auto m = stream->receive(std::chrono::milliseconds(200));
          if (!m) {
            if (!stream->active()) {
              std::cerr << "error: the subscription was closed by the server\n";
              return int(kExitServerError);
            }
            continue;
          }
          ++received;
          if (m->gap) std::cerr << "(" << m->gap << " message(s) dropped)\n";
          if (ctx.json) {
            std::cout << to_json_text(json::object{
                             {"channel", m->channel}, {"sequence", m->sequence}, {"data", m->data}})
                      << std::endl;
          } else {
            std::cout << m->channel << "  " << m->data << std::endl;
          }
        }
        (*session)->close();
        return int(kExitOk);
      };
    });
  }
  {
    auto* cmd = app.add_subcommand("channels", "List relay channels");
    cmd->callback([&ctx] {
      ctx.action = [&ctx] {
        return fetch_and_show(ctx, "GET", "/channels", "", [](const json::value& v) {
          Table t({"NAME", "OWNER", "SUBSCRIBERS", "PUBLISHERS", "MESSAGES", "BYTES", "ACTIVE"});
          for (const auto& c : v.as_array()) {
            const auto& o = c.as_object();
            t.add_row({std::string(o.at("name").as_string()),
                       std::string(o.at("owner").as_string()), compact(o.at("subscribers")),
                       compact(o.at("publishers")), compact(o.at("message_count")),
                       compact(o.at("bytes")), o.at("active").as_bool() ? "yes" : "no"});
          }
          t.print(std::cout);
        });
      };
    });
  }
}

}  // namespace sluice::cli
