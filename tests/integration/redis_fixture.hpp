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
    if (!eventually([this] { return port_accepts(); }, std::chrono::seconds(10))) {
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
  bool port_accepts() const {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port_));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    return ok;
  }

  ChildProcess process_;
  int port_ = 0;
};

}  // namespace sluice::testing
