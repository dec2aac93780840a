// sluice — command-line client of the sluiced stream registry.
//
// Exit codes: 0 ok, 1 the server answered an error, 2 usage error, 3 cannot reach the server.
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

#include "cli_context.hpp"
#include "commands.hpp"
#include "core/version.hpp"

int main(int argc, char** argv) {
  using namespace sluice::cli;
  CliContext ctx;
  const char* env_server = std::getenv("SLUICE_SERVER");
  ctx.server =
      env_server && *env_server ? env_server : std::string(sluice::client::kDefaultBaseUrl);

  CLI::App app{"sluice — inspect and drive a sluiced stream registry", "sluice"};
  app.fallthrough();  // global options are accepted after the subcommand too
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string(sluice::kVersion));
  app.add_option("--server", ctx.server,
                 "Base URL of sluiced (default: $SLUICE_SERVER or http://127.0.0.1:8080)");
  app.add_flag("--json", ctx.json, "Print the server's raw JSON instead of tables");
  app.add_option("--token", ctx.token, "API token (or the admin token) sent as a Bearer")
      ->envname("SLUICE_TOKEN");
  app.add_option("--user", ctx.user, "User name for HTTP Basic (password: $SLUICE_PASSWORD)")
      ->envname("SLUICE_USER");

  add_registry_commands(app, ctx);
  add_session_commands(app, ctx);
  add_live_commands(app, ctx);
  add_relay_commands(app, ctx);
  add_bench_commands(app, ctx);
  add_access_commands(app, ctx);
  add_key_commands(app, ctx);
  add_media_commands(app, ctx);
  add_pipeline_commands(app, ctx);
  add_auth_commands(app, ctx);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }
  if (!ctx.action) {
    std::cerr << "error: no command given\n" << app.help();
    return kExitUsage;
  }
  return ctx.action();
}
