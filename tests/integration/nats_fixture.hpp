#pragma once
// A real nats-server (Debian's package) on a free loopback port for a test, started by start()
// and killed by the destructor; kill() and restart() on the same port let tests pull the cable.
// The port is chosen at construction, so a test can point clients at a server not started yet.
#include <chrono>
#include <string>

#include "daemon_fixture.hpp"
#include "eventually.hpp"

namespace sluice::testing {

class NatsServer {
 public:
  NatsServer() : port_(unused_local_port()) {}
  ~NatsServer() { process_.kill_and_reap(); }

  ::testing::AssertionResult start() {
    auto spawned = process_.spawn({program(), "-a", "127.0.0.1", "-p", std::to_string(port_)},
                                  /*merge_stderr=*/true);
    if (!spawned) return spawned;
    // Ready when it accepts connections.
    if (!eventually([this] { return local_port_accepts(port_); }, std::chrono::seconds(10))) {
      return ::testing::AssertionFailure()
             << "nats-server did not accept connections on port " << port_ << ":\n"
             << process_.stdout_text();
    }
    return ::testing::AssertionSuccess();
  }
  // SIGKILL: the server disappears as if its machine died.
  void kill() { process_.kill_and_reap(); }
  // A new server on the same port (NATS keeps no state: clients must resubscribe).
  ::testing::AssertionResult restart() {
    kill();
    return start();
  }

  int port() const { return port_; }
  std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }

 private:
  // Debian installs it in /usr/sbin, which is not on every user's PATH.
  static std::string program() {
    std::string path = program_path("nats-server");
    if (::access(path.c_str(), X_OK) != 0) path = "/usr/sbin/nats-server";
    return path;
  }
  ChildProcess process_;
  int port_ = 0;
};

}  // namespace sluice::testing
