#pragma once
// Registration of the `sluice` subcommands. Each adds its subcommands to `app`; when one is
// chosen on the command line its callback stores the work in ctx.action, which main() runs
// after parsing and whose result is the process exit code.
#include <CLI/CLI.hpp>

#include "cli_context.hpp"

namespace sluice::cli {

// streams, stream, types, type create|update|delete, withdraw, health
void add_registry_commands(CLI::App& app, CliContext& ctx);
// sessions, subscribers, request
void add_session_commands(CLI::App& app, CliContext& ctx);
// watch, advertise
void add_live_commands(CLI::App& app, CliContext& ctx);

}  // namespace sluice::cli
