// sluiced: the sluice daemon, a thin main() around sluice::Server. Parses configuration, starts
// the server, stops cleanly on SIGINT or SIGTERM. Exit codes: 0 clean stop, 2 configuration
// error, 1 start-up failure.
#include <spdlog/spdlog.h>

#include <csignal>
#include <iostream>
#include <mutex>
#include <thread>

#include "core/config.hpp"
#include "core/fd_limit.hpp"
#include "core/logging.hpp"
#include "sluice/server.hpp"

namespace {

// The running Server, published to the signal thread only between a successful start() and the
// end of wait(), under g_mutex; a signal before that is remembered in g_stop_requested.
// g_exiting is set (under g_mutex) when main() ends the signal thread itself after a failed
// start: the SIGTERM it sends then is not one the daemon received.
std::mutex g_mutex;
sluice::Server* g_server = nullptr;
bool g_stop_requested = false;
bool g_exiting = false;

// Waits for SIGINT/SIGTERM on a dedicated thread (signals blocked everywhere else), so the
// handler can do real work instead of being async-signal-safe.
std::thread watch_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return std::thread([set] {
    int sig = 0;
    sigwait(&set, &sig);
    std::lock_guard lock(g_mutex);
    if (g_exiting) return;
    spdlog::info("received {}, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    g_stop_requested = true;
    if (g_server) g_server->stop();
  });
}

// Ends the signal thread when no signal came (a failed start): wakes it without a log line.
void end_signal_watch(std::thread& signals) {
  {
    std::lock_guard lock(g_mutex);
    g_exiting = true;
  }
  pthread_kill(signals.native_handle(), SIGTERM);
  signals.join();
}

}  // namespace

int main(int argc, char** argv) {
  sluice::Config config;
  try {
    auto outcome = sluice::load_config(argc, argv, sluice::current_environment());
    if (auto* code = std::get_if<int>(&outcome)) return *code;
    config = std::get<sluice::Config>(outcome);
  } catch (const sluice::ConfigError& e) {
    std::cerr << "sluiced: configuration error: " << e.what() << "\n";
    return 2;
  }
  sluice::setup_logging(config.log_level, config.log_format);
  std::signal(SIGPIPE, SIG_IGN);
  // Every socket is a descriptor: take all the kernel allows before accepting any.
  if (auto fds = sluice::raise_fd_limit(); !fds.error.empty()) {
    spdlog::warn("open files: the limit stays {}: cannot raise it to {}: {}", fds.before, fds.hard,
                 fds.error);
  } else if (fds.after != fds.before) {
    spdlog::info("open files: limit raised from {} to {} (the hard limit)", fds.before, fds.after);
  } else {
    spdlog::info("open files: limit {} (the hard limit)", fds.after);
  }
  auto signals = watch_signals();
  try {
    sluice::Server server(config);
    server.start();
    {
      std::lock_guard lock(g_mutex);
      g_server = &server;
      if (g_stop_requested) server.stop();
    }
    server.wait();
    std::lock_guard lock(g_mutex);
    g_server = nullptr;
  } catch (const sluice::ConfigError& e) {  // a setting only the back ends can judge
    std::cerr << "sluiced: configuration error: " << e.what() << "\n";
    end_signal_watch(signals);
    return 2;
  } catch (const std::exception& e) {
    spdlog::critical("sluiced cannot start: {}", e.what());
    std::cerr << "sluiced: cannot start: " << e.what() << "\n";
    end_signal_watch(signals);
    return 1;
  }
  signals.join();
  spdlog::info("sluiced stopped");
  return 0;
}
