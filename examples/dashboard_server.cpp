// Conduit guide, "Complete Example: Live Dashboard" — the server (dashboard_server.py).
//
// Pushes this machine's CPU, memory and disk use on the channel "system_metrics" every
// --interval-ms (Conduit's collect_metrics task, with /proc and statvfs instead of psutil). Run
// dashboard_client against it, as many as you like.
//
// Access: Conduit's ServerDescriptor(password="secret") becomes a relay user with a password,
// checked with SCRAM-SHA-256 (the password never crosses the network). The server writes a
// users file for the one user, as `sluice passwd` would, and points its Config at it.
//
//   dashboard_server [--interval-ms 1000] [--duration 60] [--once]
//                    [--user dashboard] [--password secret] [--wire-port 7070] [--http-port 0]
//
// Prints "dashboard server: wire port N" (first line, flushed at once) and, when it stops after
// --duration seconds or, with --once, when its first dashboard has left:
// "dashboard server: pushed N updates".
#include <sys/statvfs.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>

#include "server_support.hpp"
#include "wire/scram.hpp"

namespace json = boost::json;
using namespace examples;

namespace {

// CPU use since the previous call, from the first line of /proc/stat.
double cpu_percent() {
  static std::uint64_t last_busy = 0, last_total = 0;
  std::ifstream stat("/proc/stat");
  std::string cpu;
  std::uint64_t user, nice, system, idle, iowait, irq, softirq, steal;
  stat >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
  const std::uint64_t busy = user + nice + system + irq + softirq + steal;
  const std::uint64_t total = busy + idle + iowait;
  const double percent =
      total == last_total ? 0.0 : 100.0 * double(busy - last_busy) / double(total - last_total);
  last_busy = busy;
  last_total = total;
  return percent;
}

// (MemTotal - MemAvailable) / MemTotal, from /proc/meminfo.
double memory_percent() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  double value = 0, total = 0, available = 0;
  std::string unit;
  while (meminfo >> key >> value >> unit) {
    if (key == "MemTotal:") total = value;
    if (key == "MemAvailable:") available = value;
  }
  return total > 0 ? 100.0 * (total - available) / total : 0.0;
}

// Used / (used + available to users) of the file system holding "/", as psutil computes it.
double disk_percent() {
  struct statvfs fs {};
  if (::statvfs("/", &fs) != 0) return 0.0;
  const double used = double(fs.f_blocks - fs.f_bfree) * fs.f_frsize;
  const double available = double(fs.f_bavail) * fs.f_frsize;
  return used + available > 0 ? 100.0 * used / (used + available) : 0.0;
}

double round1(double v) {
  return std::round(v * 10) / 10;
}

}  // namespace

int main(int argc, char** argv) {
  Args args(argc, argv);
  const auto interval = std::chrono::milliseconds(args.get("--interval-ms", 1000L));
  const auto duration = std::chrono::seconds(args.get("--duration", 60L));
  const bool once = args.has("--once");
  const std::string user = args.get("--user", std::string("dashboard"));
  const std::string password = args.get("--password", std::string("secret"));

  // The relay's users file: one "name:SCRAM-SHA-256$..." line, removed once start() read it.
  const auto users_file = std::filesystem::temp_directory_path() /
                          ("sluice-dashboard-" + std::to_string(::getpid()) + ".users");
  std::ofstream(users_file) << user << ":"
                            << sluice::wire::scram::to_string(
                                   sluice::wire::scram::make_credentials(password))
                            << "\n";
  sluice::Config config = local_config(args);
  if (!args.has("--wire-port")) config.wire.port = 7070;  // where dashboard_client looks first
  config.wire_users = users_file.string();

  sluice::Server server(config);
  try {
    server.start();
  } catch (const std::exception& e) {
    std::filesystem::remove(users_file);
    fail(std::string("cannot start: ") + e.what());
  }
  std::filesystem::remove(users_file);

  // System metrics stream; a dashboard that connects late sees the latest update at once.
  sluice::ChannelOptions metrics;
  metrics.keep_last_value = true;
  must(server.create_channel("system_metrics", metrics), "create system_metrics");
  std::atomic<bool> dashboard_left{false};
  server.on_subscription("system_metrics", [&](std::string_view, bool subscribed) {
    if (!subscribed) dashboard_left = true;
  });
  std::printf("dashboard server: wire port %u\n", server.wire_port());
  std::fflush(stdout);

  // collect_metrics(): one update per interval until the time is up.
  long pushed = 0;
  const auto deadline = std::chrono::steady_clock::now() + duration;
  (void)cpu_percent();  // the first sample only sets the baseline
  while (std::chrono::steady_clock::now() < deadline && !(once && dashboard_left)) {
    std::this_thread::sleep_for(interval);
    json::object update{{"cpu", round1(cpu_percent())},
                        {"memory", round1(memory_percent())},
                        {"disk", round1(disk_percent())}};
    must(server.push("system_metrics", json::serialize(update)), "push an update");
    ++pushed;
  }
  std::printf("dashboard server: pushed %ld updates\n", pushed);
  server.stop();
  return 0;
}
