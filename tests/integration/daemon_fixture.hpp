#pragma once
// Test helpers that run real processes: ChildProcess (spawn, capture stdout/stderr line by
// line on reader threads so the child never blocks on a full pipe, signal, wait) and
// DaemonProcess (a sluiced on 127.0.0.1:<ephemeral port> with in-memory history).
//
// SLUICED_PATH (compile definition) is the daemon binary. The daemon must print a log line
// containing "sluiced listening http=<host>:<port>" once it accepts connections.
//
// Threads: a ChildProcess is driven by one test thread; its reader threads only append to the
// captured output under a mutex.
#include <gtest/gtest.h>
#include <atomic>
#include <filesystem>

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "eventually.hpp"

namespace sluice::testing {

using namespace std::chrono_literals;

class ChildProcess {
 public:
  ChildProcess() = default;
  ~ChildProcess() { kill_and_reap(); }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Starts argv[0] with the given arguments. stdout and stderr are captured separately unless
  // `merge_stderr`, in which case both land in stdout_lines(). The child gets SIGKILL if the
  // test process dies.
  ::testing::AssertionResult spawn(const std::vector<std::string>& argv,
                                   bool merge_stderr = false) {
    kill_and_reap();
    reset_output();
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
      return ::testing::AssertionFailure() << "pipe2 failed";
    }
    std::vector<char*> args;
    for (const auto& a : argv)
      args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) return ::testing::AssertionFailure() << "fork failed";
    if (pid == 0) {  // child: async-signal-safe calls only
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(127);
      setpgid(0, 0);  // its own group: a shell's pipeline ends with it
      int devnull = open("/dev/null", O_RDONLY);
      dup2(devnull, 0);
      dup2(out[1], 1);
      dup2(merge_stderr ? out[1] : err[1], 2);
      execv(args[0], args.data());
      _exit(127);
    }
    close(out[1]);
    close(err[1]);
    pid_ = pid;
    open_streams_ = 2;
    readers_.emplace_back([this, fd = out[0]] { read_lines(fd, stdout_); });
    readers_.emplace_back([this, fd = err[0]] { read_lines(fd, stderr_); });
    return ::testing::AssertionSuccess();
  }

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }

  // Waits until a stdout line satisfies `match`; returns it. Lines already read count too.
  std::optional<std::string> wait_for_line(const std::function<bool(const std::string&)>& match,
                                           std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    std::optional<std::string> found;
    cv_.wait_for(lock, timeout, [&] {
      for (const auto& line : stdout_) {
        if (match(line)) {
          found = line;
          return true;
        }
      }
      return open_streams_ == 0;
    });
    return found;
  }
  std::optional<std::string> wait_for_text(const std::string& needle,
                                           std::chrono::milliseconds timeout) {
    return wait_for_line([&](const std::string& l) { return l.find(needle) != std::string::npos; },
                         timeout);
  }

  std::vector<std::string> stdout_lines() const {
    std::lock_guard lock(mutex_);
    return {stdout_.begin(), stdout_.end()};
  }
  std::string stdout_text() const { return join(stdout_lines()); }
  std::string stderr_text() const {
    std::lock_guard lock(mutex_);
    return join({stderr_.begin(), stderr_.end()});
  }

  // Waits for the child to exit; returns its exit code (128+signal when killed), or nullopt
  // when it is still running after `timeout`.
  std::optional<int> wait(std::chrono::milliseconds timeout) {
    if (pid_ <= 0) return exit_code_;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      int status = 0;
      pid_t r = waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        join_readers();
        return exit_code_;
      }
      if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
      std::this_thread::sleep_for(5ms);  // test helper: short poll of waitpid
    }
  }

  // Sends `signal`, waits up to `timeout`, then SIGKILLs. Returns the exit code.
  int signal_and_wait(int signal, std::chrono::milliseconds timeout = 10s) {
    if (pid_ <= 0) return exit_code_.value_or(-1);
    ::kill(pid_, signal);
    if (auto code = wait(timeout)) return *code;
    ADD_FAILURE() << "child " << pid_ << " ignored signal " << signal << "; killing it";
    ::kill(pid_, SIGKILL);
    return wait(10s).value_or(-1);
  }

  void kill_and_reap() {
    if (pid_ > 0) {
      ::kill(-pid_, SIGKILL);  // the group: what a shell started goes too
      ::kill(pid_, SIGKILL);
      wait(10s);
    }
    join_readers();
  }

 private:
  static std::string join(const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& l : lines)
      out += l + "\n";
    return out;
  }

  void reset_output() {
    std::lock_guard lock(mutex_);
    stdout_.clear();
    stderr_.clear();
    exit_code_.reset();
  }

  void read_lines(int fd, std::deque<std::string>& sink) {
    static constexpr std::size_t kMaxLines = 5000;
    std::string partial;
    char buf[4096];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      partial.append(buf, static_cast<std::size_t>(n));
      std::size_t nl;
      while ((nl = partial.find('\n')) != std::string::npos) {
        std::lock_guard lock(mutex_);
        sink.push_back(partial.substr(0, nl));
        if (sink.size() > kMaxLines) sink.pop_front();
        partial.erase(0, nl + 1);
        cv_.notify_all();
      }
    }
    ::close(fd);
    std::lock_guard lock(mutex_);
    if (!partial.empty()) sink.push_back(partial);
    --open_streams_;
    cv_.notify_all();
  }

  void join_readers() {
    for (auto& t : readers_) {
      if (t.joinable()) t.join();
    }
    readers_.clear();
  }

  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::vector<std::thread> readers_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::string> stdout_, stderr_;
  int open_streams_ = 0;
};

// Result of running a short command to completion.
struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

inline CommandResult run_command(const std::vector<std::string>& argv,
                                 std::chrono::milliseconds timeout = 30s) {
  ChildProcess child;
  CommandResult result;
  if (!child.spawn(argv)) return result;
  auto code = child.wait(timeout);
  if (!code) {
    ADD_FAILURE() << argv[0] << " did not finish within " << timeout.count() << " ms";
    code = child.signal_and_wait(SIGKILL);
  }
  result.exit_code = *code;
  result.out = child.stdout_text();
  result.err = child.stderr_text();
  return result;
}

class DaemonProcess {
 public:
  // Runs `sluiced --http 127.0.0.1:<port> --wire 127.0.0.1:<wire port> --history :memory:
  // --rtmp 127.0.0.1:<rtmp port> --log-level info --key-secret-file <temp
  // dir>/sluice-test-key-secret --loopback-admin true --data-dir <fresh temp dir> <extra_args>`;
  // an extra "--wire", "--rtmp", "--history", "--log-level", "--key-secret-file",
  // "--loopback-admin" or "--data-dir" replaces the default.
  // The wire port is ephemeral at first and kept by restart_on_same_port().
  explicit DaemonProcess(std::vector<std::string> extra_args = {})
      : extra_args_(std::move(extra_args)) {}
  ~DaemonProcess() {
    process_.kill_and_reap();
    std::error_code ec;
    if (!data_dir_.empty()) std::filesystem::remove_all(data_dir_, ec);
  }

  ::testing::AssertionResult start() { return launch(0); }

  // Stops the daemon (SIGTERM) and starts a new one on the same port (state is lost: history
  // is in memory). Retries while the port is still held by the old socket.
  ::testing::AssertionResult restart_on_same_port() {
    const int port = port_;
    stop();
    ::testing::AssertionResult result = ::testing::AssertionFailure();
    for (int attempt = 0; attempt < 20; ++attempt) {
      result = launch(port);
      if (result) return result;
      std::this_thread::sleep_for(250ms);
    }
    return result;
  }

  // SIGTERM; waits for exit and returns the exit code.
  int stop() { return process_.signal_and_wait(SIGTERM, 15s); }

  int port() const { return port_; }
  // The relay's port, from the daemon's "sluiced listening … wire=<host>:<port>" line (0 when the
  // line has no wire address).
  int wire_port() const { return wire_port_; }
  std::string wire_address() const { return "127.0.0.1:" + std::to_string(wire_port_); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // The RTMP port, from "… rtmp=<host>:<port>" (0 when RTMP is off); ephemeral at first and
  // kept by restart_on_same_port().
  int rtmp_port() const { return rtmp_port_; }
  // The HTTPS and RTMPS ports, from "… https=<host>:<port> rtmps=<host>:<port>" (0 when off).
  int https_port() const { return https_port_; }
  int rtmps_port() const { return rtmps_port_; }
  // The RTSP port, from "… rtsp=<host>:<port>", and the RTP port of its UDP pair, from
  // "rtsp-udp=<rtp>-<rtcp>" (0 when off); ephemeral at first and kept by restart_on_same_port().
  int rtsp_port() const { return rtsp_port_; }
  int rtsp_udp_port() const { return rtsp_udp_port_; }
  int rtsps_port() const { return rtsps_port_; }
  int srt_port() const { return srt_port_; }  // from "… srt=<host>:<port>" (0 when off)
  const std::string& data_dir() const { return data_dir_; }  // unless the caller gave one
  int osc_port() const { return osc_port_; }    // from "… osc=<host>:<port>" (0 when off)
  int mqtt_port() const { return mqtt_port_; }  // from "… mqtt=<host>:<port>" (0 when off)
  std::string output() const { return process_.stdout_text(); }
  ChildProcess& process() { return process_; }

 private:
  ::testing::AssertionResult launch(int port) {
    std::vector<std::string> argv{SLUICED_PATH, "--http", "127.0.0.1:" + std::to_string(port)};
    // Defaults the caller's extra arguments may override (the daemon takes each flag once).
    using Default = std::pair<std::string, std::string>;
    for (const auto& [flag, value] :
         {Default{"--wire", "127.0.0.1:" + std::to_string(wire_port_)},
          Default{"--rtmp", "127.0.0.1:" + std::to_string(rtmp_port_)},
          Default{"--rtsp", "127.0.0.1:" + std::to_string(rtsp_port_)},
          Default{"--rtsp-udp-ports", rtsp_udp_port_ ? std::to_string(rtsp_udp_port_) : "0"},
          Default{"--srt", "127.0.0.1:" + std::to_string(srt_port_)},
          Default{"--webrtc-udp", "127.0.0.1:0"}, Default{"--onvif", "off"},
          Default{"--mdns", "off"}, Default{"--osc", "off"}, Default{"--mqtt", "off"},
          Default{"--history", ":memory:"}, Default{"--log-level", "info"},
          Default{"--key-secret-file", ::testing::TempDir() + "/sluice-test-key-secret"},
          Default{"--loopback-admin", "true"}, Default{"--data-dir", data_dir_}}) {
      if (std::find(extra_args_.begin(), extra_args_.end(), flag) == extra_args_.end()) {
        argv.insert(argv.end(), {flag, value});
      }
    }
    argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
    if (auto spawned = process_.spawn(argv, /*merge_stderr=*/true); !spawned) return spawned;
    static const std::regex kListening(R"(sluiced listening http=([^\s:]+):(\d+))");
    auto line = process_.wait_for_line(
        [](const std::string& l) { return std::regex_search(l, kListening); }, 15s);
    if (!line) {
      std::string out = process_.stdout_text();
      process_.kill_and_reap();
      return ::testing::AssertionFailure()
             << "sluiced did not report 'sluiced listening http=' within 15 s. Output:\n"
             << out;
    }
    std::smatch m;
    std::regex_search(*line, m, kListening);
    port_ = std::stoi(m[2].str());
    static const std::regex kWire(R"(wire=[^\s]*:(\d+))");
    if (std::regex_search(*line, m, kWire)) wire_port_ = std::stoi(m[1].str());
    static const std::regex kRtmp(R"(rtmp=[^\s]*:(\d+))");
    if (std::regex_search(*line, m, kRtmp)) rtmp_port_ = std::stoi(m[1].str());
    static const std::regex kHttps(R"(https=[^\s]*:(\d+))");
    if (std::regex_search(*line, m, kHttps)) https_port_ = std::stoi(m[1].str());
    static const std::regex kRtsp(R"(rtsp=[^\s]*:(\d+))");
    if (std::regex_search(*line, m, kRtsp)) rtsp_port_ = std::stoi(m[1].str());
    static const std::regex kRtspUdp(R"(rtsp-udp=(\d+)-)");
    if (std::regex_search(*line, m, kRtspUdp)) rtsp_udp_port_ = std::stoi(m[1].str());
    static const std::regex kSrt(R"( srt=[^\s]*:(\d+))");
    if (std::regex_search(*line, m, kSrt)) srt_port_ = std::stoi(m[1].str());
    static const std::regex kRtsps(R"(rtsps=[^\s]*:(\d+))");
    if (std::regex_search(*line, m, kRtsps)) rtsps_port_ = std::stoi(m[1].str());
    static const std::regex kRtmps(R"(rtmps=[^\s]*:(\d+))");
    if (std::regex_search(*line, m, kRtmps)) rtmps_port_ = std::stoi(m[1].str());
    static const std::regex kOsc(R"( osc=[^\s]*:(\d+))");
    if (std::regex_search(*line, m, kOsc)) osc_port_ = std::stoi(m[1].str());
    static const std::regex kMqtt(R"( mqtt=[^\s]*:(\d+))");
    if (std::regex_search(*line, m, kMqtt)) mqtt_port_ = std::stoi(m[1].str());
    return ::testing::AssertionSuccess();
  }

  // Each daemon object has a data directory of its own (state.db, audit.log), kept across
  // restart_on_same_port() like a real installation's.
  // Made new (mkdtemp) and removed with the object: a name from the pid alone could be an
  // earlier test process's (pids are reused over a long run), keys and all.
  static std::string fresh_data_dir() {
    std::string pattern = ::testing::TempDir() + "/sluiced-data-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) return {};
    return pattern;
  }

  std::vector<std::string> extra_args_;
  std::string data_dir_ = fresh_data_dir();
  ChildProcess process_;
  int port_ = 0;
  int https_port_ = 0;
  int rtmps_port_ = 0;
  int osc_port_ = 0;
  int mqtt_port_ = 0;
  int wire_port_ = 0;
  int rtmp_port_ = 0;
  int rtsp_port_ = 0;
  int rtsp_udp_port_ = 0;
  int rtsps_port_ = 0;
  int srt_port_ = 0;
};

// The full path of `name` on PATH (execv does not search it).
inline std::string program_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const std::string full = dir + "/" + name;
    if (::access(full.c_str(), X_OK) == 0) return full;
  }
  return "/usr/bin/" + name;
}

// A TCP port on 127.0.0.1 that nothing listens on (bound, then released), and that this process
// has not handed out before: the kernel may offer a port it just released again, and two
// servers a test prepares before starting either (Redis and NATS) must not get the same one.
inline int unused_local_port() {
  static std::mutex mutex;
  static std::set<int> handed_out;
  std::lock_guard lock(mutex);
  for (int attempt = 0; attempt < 100; ++attempt) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    int port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port = ntohs(addr.sin_port);
    }
    ::close(fd);
    if (port != 0 && handed_out.insert(port).second) return port;
  }
  return 0;
}

// Whether something accepts TCP connections on 127.0.0.1:`port` (a server started by a test).
inline bool local_port_accepts(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// Base fixture: one fresh daemon per test, with a short TTL (3 s) so expiry paths are quick.
class DaemonTest : public ::testing::Test {
 protected:
  static constexpr int kStreamTtlSeconds = 3;
  void SetUp() override { ASSERT_TRUE(daemon_.start()); }
  DaemonProcess daemon_{{"--stream-ttl", std::to_string(kStreamTtlSeconds)}};
};

}  // namespace sluice::testing
