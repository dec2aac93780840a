#pragma once
// Registration of the `sluice` subcommands. Each adds its subcommands to `app`; when one is
// chosen on the command line its callback stores the work in ctx.action, which main() runs
// after parsing and whose result is the process exit code.
#include <CLI/CLI.hpp>

#include <memory>
#include <string>

#include "cli_context.hpp"
#include "core/error.hpp"

namespace sluice::client {
class Session;
}

namespace sluice::cli {

// streams, stream, types, type create|update|delete, withdraw, health
void add_registry_commands(CLI::App& app, CliContext& ctx);
// sessions, subscribers, request
void add_session_commands(CLI::App& app, CliContext& ctx);
// watch, advertise
void add_live_commands(CLI::App& app, CliContext& ctx);
// pub, sub, channels
void add_relay_commands(CLI::App& app, CliContext& ctx);
// bench pubsub|reqrep
void add_bench_commands(CLI::App& app, CliContext& ctx);
// passwd
void add_access_commands(CLI::App& app, CliContext& ctx);
// users list|add|set|remove, tokens create|list|revoke, roles, whoami
void add_auth_commands(CLI::App& app, CliContext& ctx);
// keys create|list|show|revoke|rotate
void add_key_commands(CLI::App& app, CliContext& ctx);
// paths [NAME], kick NAME [READER]
void add_media_commands(CLI::App& app, CliContext& ctx);
// pipelines [ID], pipelines create FILE|-, pipelines bitrate ID KBPS, pipelines delete ID
void add_pipeline_commands(CLI::App& app, CliContext& ctx);

// Relay connection flags shared by pub, sub and bench.
struct WireFlags {
  std::string address;
  std::string user;
  std::string password;
  std::string token;
  bool tls = false;
  std::string ca_file;
  bool insecure = false;
};
void add_wire_options(CLI::App& cmd, WireFlags& flags);
Result<std::shared_ptr<client::Session>> connect_wire(const WireFlags& flags);

}  // namespace sluice::cli
