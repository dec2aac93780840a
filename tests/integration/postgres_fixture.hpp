#pragma once
// A real PostgreSQL (Debian's postgresql package) for a test: a fresh cluster (initdb, trust auth,
// superuser `sluice`, database `sluice`) in a temporary directory, listening on 127.0.0.1 and a
// free port chosen at construction, so a URL is known before the server runs. kill() and
// restart() on the same port (same data directory) let tests pull the cable. The destructor kills
// the server and removes the directory.
//
// PostgreSQL refuses to run as root: when the test runs as root, initdb and postgres run as the
// `postgres` system user (the directory is chown-ed to it and the child drops privileges before
// exec). kill() takes the postmaster and its backends; the postmaster gets SIGKILL if the test
// process dies (its backends then exit by themselves). Its log is <dir>/postgres.log.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "daemon_fixture.hpp"
#include "eventually.hpp"

namespace sluice::testing {

class PostgresServer {
 public:
  PostgresServer() : port_(unused_local_port()) {}
  ~PostgresServer() {
    kill();
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // The first call creates the cluster and the `sluice` database; later calls start the server
  // on its existing data.
  ::testing::AssertionResult start() {
    if (dir_.empty()) {
      bin_ = server_bin_dir();
      if (bin_.empty()) {
        return ::testing::AssertionFailure()
               << "no PostgreSQL server in /usr/lib/postgresql/*/bin (scripts/install-deps.sh)";
      }
      if (auto made = init_cluster(); !made) return made;
    }
    if (auto up = launch(); !up) return up;
    if (!created_db_) {
      if (auto made = exec("postgres", "CREATE DATABASE sluice"); !made) return made;
      created_db_ = true;
    }
    return ::testing::AssertionSuccess();
  }

  // SIGKILL to the postmaster and every backend (each backend is in a session of its own, so
  // they are found in /proc): the server disappears as if its machine died. What was committed
  // stays (fsync is off, but the WAL was written to the OS at commit).
  void kill() {
    if (pid_ <= 0) return;
    const std::vector<pid_t> children = children_of(pid_);
    ::kill(pid_, SIGKILL);
    for (pid_t c : children)
      ::kill(c, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    eventually(
        [&] {
          for (pid_t c : children) {
            if (alive(c)) return false;
          }
          return true;
        },
        std::chrono::seconds(5));
    pid_ = -1;
  }

  // SIGSTOP / SIGCONT to the postmaster and its backends: a server that hangs (the kernel still
  // accepts connections and acknowledges data, nothing answers).
  void pause() { signal_all(SIGSTOP); }
  void resume() { signal_all(SIGCONT); }

  ::testing::AssertionResult restart() {
    kill();
    return start();
  }

  int port() const { return port_; }
  std::string url(const std::string& db = "sluice") const {
    return "postgres://sluice@127.0.0.1:" + std::to_string(port_) + "/" + db;
  }
  std::string conninfo(const std::string& db = "sluice") const {
    return "host=127.0.0.1 port=" + std::to_string(port_) + " user=sluice dbname=" + db +
           " connect_timeout=5";
  }

  // Runs `sql` (no parameters; test-controlled text) in `db`.
  ::testing::AssertionResult exec(const std::string& db, const std::string& sql) const {
    PGconn* c = PQconnectdb(conninfo(db).c_str());
    if (PQstatus(c) != CONNECTION_OK) {
      std::string why = PQerrorMessage(c);
      PQfinish(c);
      return ::testing::AssertionFailure() << "connect to " << db << ": " << why;
    }
    PGresult* r = PQexec(c, sql.c_str());
    const auto st = PQresultStatus(r);
    std::string why = PQresultErrorMessage(r);
    PQclear(r);
    PQfinish(c);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      return ::testing::AssertionFailure() << sql << ": " << why;
    }
    return ::testing::AssertionSuccess();
  }

  // The first column of the first row of `sql` in `db`, or nullopt (error, no row, NULL).
  std::optional<std::string> value(const std::string& db, const std::string& sql) const {
    PGconn* c = PQconnectdb(conninfo(db).c_str());
    std::optional<std::string> out;
    if (PQstatus(c) == CONNECTION_OK) {
      PGresult* r = PQexec(c, sql.c_str());
      if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0)) {
        out = PQgetvalue(r, 0, 0);
      }
      PQclear(r);
    }
    PQfinish(c);
    return out;
  }

  std::string log() const {
    std::ifstream in(dir_ + "/postgres.log");
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

 private:
  ::testing::AssertionResult init_cluster() {
    std::string templ = ::testing::TempDir() + "/sluice-pg-XXXXXX";
    if (!::mkdtemp(templ.data())) return ::testing::AssertionFailure() << "mkdtemp failed";
    dir_ = templ;
    if (::geteuid() == 0) {
      const passwd* pw = ::getpwnam("postgres");
      if (!pw) {
        return ::testing::AssertionFailure() << "running as root and there is no `postgres` user";
      }
      uid_ = pw->pw_uid;
      gid_ = pw->pw_gid;
      if (::chown(dir_.c_str(), uid_, gid_) != 0) {
        return ::testing::AssertionFailure() << "chown " << dir_ << " failed";
      }
    }
    const pid_t pid = spawn({bin_ + "initdb", "-D", dir_ + "/data", "-A", "trust", "-U", "sluice",
                             "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"},
                            dir_ + "/initdb.log");
    if (pid <= 0) return ::testing::AssertionFailure() << "cannot start initdb";
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      std::ifstream in(dir_ + "/initdb.log");
      std::stringstream s;
      s << in.rdbuf();
      return ::testing::AssertionFailure() << "initdb failed:\n" << s.str();
    }
    return ::testing::AssertionSuccess();
  }

  // Starts the postmaster and waits until it accepts connections. A postmaster that exits at
  // once (e.g. the old one's shared memory not yet released after a kill) is started again.
  ::testing::AssertionResult launch() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    const std::string ping = conninfo("postgres");
    while (std::chrono::steady_clock::now() < deadline) {
      pid_ =
          spawn({bin_ + "postgres", "-D", dir_ + "/data", "-p", std::to_string(port_), "-k", dir_,
                 "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c",
                 "full_page_writes=off", "-c", "shared_buffers=16MB", "-c", "max_connections=30"},
                dir_ + "/postgres.log");
      if (pid_ <= 0) return ::testing::AssertionFailure() << "cannot start postgres";
      while (std::chrono::steady_clock::now() < deadline) {
        if (PQping(ping.c_str()) == PQPING_OK) return ::testing::AssertionSuccess();
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
          pid_ = -1;
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      if (pid_ > 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    kill();
    return ::testing::AssertionFailure()
           << "postgres did not accept connections on port " << port_ << ":\n"
           << log();
  }

  // Debian's layout: /usr/lib/postgresql/<major>/bin; the newest major wins.
  static std::string server_bin_dir() {
    std::string best;
    int best_major = 0;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
      const std::string bin = entry.path().string() + "/bin/";
      const int major = std::atoi(entry.path().filename().c_str());
      if (major > best_major && ::access((bin + "postgres").c_str(), X_OK) == 0 &&
          ::access((bin + "initdb").c_str(), X_OK) == 0) {
        best = bin;
        best_major = major;
      }
    }
    return best;
  }

  void signal_all(int sig) const {
    if (pid_ <= 0) return;
    ::kill(pid_, sig);
    for (pid_t c : children_of(pid_))
      ::kill(c, sig);
  }

  // Parsed from /proc/<pid>/stat: "pid (comm) state ppid …"; comm may contain spaces.
  // Read with plain read(2): the process may vanish meanwhile (ESRCH), which is "not there".
  static std::optional<std::pair<char, pid_t>> state_and_parent(pid_t pid) {
    const std::string path = "/proc/" + std::to_string(pid) + "/stat";
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    char buf[1024];
    const ssize_t n = ::read(fd, buf, sizeof buf - 1);
    ::close(fd);
    if (n <= 0) return std::nullopt;
    const std::string stat(buf, static_cast<std::size_t>(n));
    const auto paren = stat.rfind(')');
    if (paren == std::string::npos) return std::nullopt;
    std::istringstream rest(stat.substr(paren + 1));
    char state = 0;
    pid_t parent = 0;
    if (!(rest >> state >> parent)) return std::nullopt;
    return std::pair{state, parent};
  }
  static bool alive(pid_t pid) {
    auto s = state_and_parent(pid);
    return s && s->first != 'Z' && s->first != 'X';
  }
  static std::vector<pid_t> children_of(pid_t parent) {
    std::vector<pid_t> out;
    std::error_code ec;
    for (std::filesystem::directory_iterator it("/proc", ec), end; !ec && it != end;
         it.increment(ec)) {
      const std::string name = it->path().filename();
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      const pid_t pid = std::stoi(name);
      if (auto s = state_and_parent(pid); s && s->second == parent) out.push_back(pid);
    }
    return out;
  }

  // fork + exec with output appended to `log_path`, as `postgres` when running as root. Returns
  // the pid.
  pid_t spawn(const std::vector<std::string>& argv, const std::string& log_path) const {
    std::vector<char*> args;
    for (const auto& a : argv)
      args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const pid_t parent = ::getpid();
    const bool drop = ::geteuid() == 0;
    const uid_t uid = uid_;
    const gid_t gid = gid_;
    const pid_t pid = ::fork();
    if (pid != 0) return pid;
    // Child: async-signal-safe calls only.
    const int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    const int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (log < 0 || devnull < 0) ::_exit(126);
    ::dup2(devnull, 0);
    ::dup2(log, 1);
    ::dup2(log, 2);
    if (drop && (::setgroups(0, nullptr) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0)) {
      ::_exit(125);
    }
    // After the credential change, which clears it.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::execv(args[0], args.data());
    ::_exit(127);
  }

  int port_;
  std::string bin_;  // ".../bin/"
  std::string dir_;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
  pid_t pid_ = -1;
  bool created_db_ = false;
};

}  // namespace sluice::testing
