#pragma once
// What every `sluice` subcommand shares: global options, the Client, exit codes, error
// reporting, JSON option validation, time formatting, and SIGINT/SIGTERM handling.
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "client/client.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"

namespace sluice::cli {

enum ExitCode : int {
  kExitOk = 0,
  kExitServerError = 1,  // the server answered an error
  kExitUsage = 2,        // bad command line
  kExitUnreachable = 3,  // cannot connect / no answer
};

struct CliContext {
  std::string server;
  bool json = false;
  std::string token;  // --token: sent as a Bearer
  std::string user;   // --user: HTTP Basic with $SLUICE_PASSWORD
  // Set by the subcommand chosen on the command line; run after parsing.
  std::function<int()> action;

  client::Client& client();

 private:
  std::unique_ptr<client::Client> client_;
};

// Prints "error: <status> <detail>" (or "error: <detail>" for transport failures) to stderr and
// returns kExitServerError or kExitUnreachable.
int report_error(const Error& error);

// Sends one request. With --json prints the server's raw body; otherwise parses it and calls
// `render`. Returns the exit code.
int fetch_and_show(CliContext& ctx, std::string_view method, const std::string& target,
                   const std::string& body,
                   const std::function<void(const boost::json::value&)>& render);

// CLI11 validator: the value must be a JSON object.
CLI::Validator json_object_validator();
// The JSON object in `text` (already validated); empty text gives {}.
boost::json::object parse_object(const std::string& text);

// CLI11 validator: the value must be an ISO-8601 timestamp.
CLI::Validator timestamp_validator();

std::string compact(const boost::json::value& v);
// "3s ago", "5m ago", "2h ago", "4d ago"; "-" for an unset time.
std::string age(WallTime t);

// Blocks SIGINT and SIGTERM for this thread and the threads it creates afterwards, so that they
// are received only through wait(). Construct it before any thread is started.
class TerminationSignals {
 public:
  TerminationSignals();
  static int wait();  // blocks until SIGINT or SIGTERM; returns it
  // On a detached thread: waits for the first signal, then calls `fn`.
  void on_signal(std::function<void()> fn);
};

// "cli@<hostname>": a stable default publisher id for this machine.
std::string default_publisher_id();

}  // namespace sluice::cli
