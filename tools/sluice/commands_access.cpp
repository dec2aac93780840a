// `sluice passwd NAME`: prints the users-file line (docs/operations.md, "Relay access") for a
// password read from standard input, so the password appears in neither argv nor the file.
#include <termios.h>
#include <unistd.h>

#include <iostream>
#include <string>

#include "commands.hpp"
#include "wire/scram.hpp"

namespace sluice::cli {
namespace {

// One line from standard input; echo is turned off while a terminal types it.
std::string read_password() {
  bool tty = isatty(STDIN_FILENO) != 0;
  termios saved{};
  if (tty) {
    std::cerr << "password: " << std::flush;
    tcgetattr(STDIN_FILENO, &saved);
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::string line;
  std::getline(std::cin, line);
  if (tty) {
    tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    std::cerr << "\n";
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

}  // namespace

void add_access_commands(CLI::App& app, CliContext& ctx) {
  auto name = std::make_shared<std::string>();
  auto iterations = std::make_shared<std::uint32_t>(wire::scram::kDefaultIterations);
  auto* cmd = app.add_subcommand(
      "passwd", "Print a relay users-file line (SCRAM-SHA-256) for a password read from stdin");
  cmd->add_option("name", *name, "User name")->required();
  cmd->add_option("--iterations", *iterations, "PBKDF2 iterations (default 4096)")
      ->check(CLI::Range(wire::scram::kMinClientIterations, wire::scram::kMaxClientIterations));
  cmd->callback([&ctx, name, iterations] {
    ctx.action = [name, iterations]() -> int {
      if (name->empty() || name->size() > wire::scram::kMaxUsernameBytes ||
          name->find_first_of(": \t\n") != std::string::npos) {
        std::cerr << "sluice passwd: a user name is 1 to 255 bytes without ':' or spaces\n";
        return 2;
      }
      std::string password = read_password();
      if (password.empty()) {
        std::cerr << "sluice passwd: empty password\n";
        return 2;
      }
      auto credentials = wire::scram::make_credentials(password, *iterations);
      std::cout << *name << ":" << wire::scram::to_string(credentials) << "\n";
      return 0;
    };
  });
}

}  // namespace sluice::cli
