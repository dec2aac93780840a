#pragma once
// A real redis-server (Debian's package) on a free loopback port for a test: no persistence,
// started by start(), killed by the destructor; kill() and restart() on the same port let tests
// pull the cable.
#include <chrono>
#include <string>
#include <thread>

#include "daemon_fixture.hpp"
#include "eventually.hpp"

namespace sluice::testing {

class RedisServer {
 public:
  ~RedisServer() { process_.kill_and_reap(); }

  ::testing::AssertionResult start() {
    if (port_ == 0) port_ = unused_local_port();
    auto spawned =
        process_.spawn({program_path("redis-server"), "--port", std::to_string(port_), "--bind",
                        "127.0.0.1", "--save", "", "--appendonly", "no", "--loglevel", "warning"},
                       /*merge_stderr=*/true);
    if (!spawned) return spawned;
    // Ready when it accepts connections.
    if (!eventually([this] { return local_port_accepts(port_); }, std::chrono::seconds(10))) {
      return ::testing::AssertionFailure()
             << "redis-server did not accept connections on port " << port_ << ":\n"
             << process_.stdout_text();
    }
    return ::testing::AssertionSuccess();
  }
  // SIGKILL: the server disappears as if its machine died.
  void kill() { process_.kill_and_reap(); }
  // SIGSTOP / SIGCONT: a server that hangs (connections stay open, nothing answers).
  void pause() { ::kill(process_.pid(), SIGSTOP); }
  void resume() { ::kill(process_.pid(), SIGCONT); }
  // A new server on the same port (empty: nothing was persisted).
  ::testing::AssertionResult restart() {
    kill();
    return start();
  }

  int port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

 private:
  ChildProcess process_;
  int port_ = 0;
};

}  // namespace sluice::testing
