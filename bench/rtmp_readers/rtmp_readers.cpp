// rtmp_readers: N RTMP players in one process and one thread (epoll), for bench/media_bench.sh.
//
//   rtmp_readers --url rtmp://127.0.0.1:1935/live/bench --readers 200 --duration 20 --fps 30 --json
//
// Readers are opened at --ramp connections per second (0: as fast as possible), with at most
// --wave of them between connect() and their first video frame at any time, so that hundreds of
// connects do not overflow the server's listen backlog. Each does the RTMP handshake, connect,
// createStream and play, then reads the stream (acknowledging and answering pings). The measured
// window (--duration seconds) starts once every reader has its first video frame or has failed
// (or --setup-timeout passed). With --cpu-pid, the CPU time (utime + stime, all threads) those
// processes used during the window is read from /proc/PID/stat and reported.
// Dropped frames: see player.hpp (gap rule and late rule); the JSON repeats the rule.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "../common/load_report.hpp"
#include "player.hpp"

namespace {

using sluice::bench::Clock;
using sluice::bench::Player;
using sluice::bench::PlayerState;
using sluice::bench::PlayTarget;

struct Options {
  std::string url;
  int readers = 50;
  double ramp = 0;
  int wave = 50;
  double duration = 20;
  double fps = 30;
  double setup_timeout = 15;
  double late_ms = 500;
  std::vector<int> cpu_pids;
  bool json = false;
};

struct Conn {
  int fd = -1;
  std::unique_ptr<Player> player;
  std::string out;
  std::size_t out_off = 0;
  bool tcp_connected = false;
  bool want_write = false;
  bool set_up = false;   // play started (or failed): no longer counts against --wave
  bool settled = false;  // first video frame, or failed
};

using namespace sluice::bench::report;

// rtmp://HOST[:PORT]/APP/NAME
bool parse_url(const std::string& url, std::string& host, int& port, PlayTarget& t) {
  const std::string scheme = "rtmp://";
  if (url.rfind(scheme, 0) != 0) return false;
  auto rest = url.substr(scheme.size());
  auto slash = rest.find('/');
  if (slash == std::string::npos) return false;
  auto hostport = rest.substr(0, slash);
  auto path = rest.substr(slash + 1);
  auto colon = hostport.rfind(':');
  host = hostport.substr(0, colon);
  port = colon == std::string::npos ? 1935 : std::atoi(hostport.c_str() + colon + 1);
  auto s2 = path.find('/');
  if (s2 == std::string::npos || s2 == 0 || s2 + 1 >= path.size()) return false;
  t.app = path.substr(0, s2);
  t.name = path.substr(s2 + 1);
  t.tc_url = scheme + hostport + "/" + t.app;
  return !host.empty() && port > 0;
}

const char* kDropRule =
    "gap: consecutive coded video frames more than 2.5 frame intervals apart (by RTMP timestamp) "
    "count round(gap/interval)-1 dropped frames; late: at the end, a reader whose lag (wall time "
    "minus stream time since its first frame) exceeds its smallest lag by more than late_ms (at "
    "least 2.5 intervals) counts floor(excess/interval) dropped frames";

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{
      "rtmp_readers: N RTMP players in one thread; per-reader first-frame latency, "
      "frames, drops and lag"};
  app.add_option("--url", o.url, "rtmp://HOST:PORT/APP/NAME")->required();
  app.add_option("--readers", o.readers, "number of play connections")->check(CLI::Range(1, 20000));
  app.add_option("--ramp", o.ramp, "connections opened per second (0: as fast as --wave allows)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--wave", o.wave, "readers at most between connect() and first frame at once")
      ->check(CLI::Range(1, 20000));
  app.add_option("--duration", o.duration, "measured window, seconds")->check(CLI::PositiveNumber);
  app.add_option("--fps", o.fps, "expected video frame rate")->check(CLI::PositiveNumber);
  app.add_option("--setup-timeout", o.setup_timeout,
                 "seconds a reader may take from connect() to its first video frame")
      ->check(CLI::PositiveNumber);
  app.add_option("--late-ms", o.late_ms,
                 "lag growth tolerated before a reader counts as behind (late rule), ms")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--cpu-pid", o.cpu_pids, "report the CPU time of these processes in the window");
  app.add_flag("--json", o.json, "print one JSON object on stdout");
  CLI11_PARSE(app, argc, argv);

  std::string host;
  int port = 0;
  PlayTarget target;
  if (!parse_url(o.url, host, port, target)) {
    std::fprintf(stderr, "rtmp_readers: bad --url '%s' (want rtmp://HOST:PORT/APP/NAME)\n",
                 o.url.c_str());
    return 2;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* ai = nullptr;
  if (int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &ai); rc != 0) {
    std::fprintf(stderr, "rtmp_readers: cannot resolve %s: %s\n", host.c_str(), gai_strerror(rc));
    return 2;
  }
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }

  const int ep = epoll_create1(EPOLL_CLOEXEC);
  std::vector<Conn> conns(static_cast<std::size_t>(o.readers));
  std::map<std::string, int> errors;
  std::vector<std::uint8_t> buf(256 * 1024);

  auto set_events = [&](std::size_t i, bool write) {
    Conn& c = conns[i];
    if (c.want_write == write) return;
    c.want_write = write;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | (write ? EPOLLOUT : 0u);
    ev.data.u64 = i;
    epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev);
  };
  auto close_conn = [&](std::size_t i) {
    Conn& c = conns[i];
    if (c.fd >= 0) {
      epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
      ::close(c.fd);
      c.fd = -1;
    }
    c.set_up = c.settled = true;
  };
  auto flush = [&](std::size_t i) -> bool {
    Conn& c = conns[i];
    while (c.out_off < c.out.size()) {
      ssize_t n = ::send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        c.player->on_closed(std::string("send: ") + std::strerror(errno));
        return false;
      }
      c.out_off += static_cast<std::size_t>(n);
    }
    if (c.out_off == c.out.size()) {
      c.out.clear();
      c.out_off = 0;
    }
    set_events(i, !c.out.empty());
    return true;
  };
  auto open_conn = [&](std::size_t i, Clock::time_point now) {
    Conn& c = conns[i];
    c.player = std::make_unique<Player>(target, o.fps, o.late_ms);
    c.player->stats().started = now;
    c.fd = ::socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) {
      c.player->fail(std::string("socket: ") + std::strerror(errno));
      c.set_up = c.settled = true;
      return;
    }
    int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(c.fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
      c.player->fail(std::string("connect: ") + std::strerror(errno));
      close_conn(i);
      return;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
    ev.data.u64 = i;
    c.want_write = true;
    epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
  };

  const auto t0 = Clock::now();
  std::size_t opened = 0, in_setup = 0, unsettled = 0;
  Clock::time_point window_start{}, window_end{};
  double cpu_start = -1, self_start = 0;
  std::vector<std::uint64_t> bytes_at_start, frames_at_start;
  const auto setup_limit =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.setup_timeout));
  std::vector<epoll_event> events(1024);

  while (true) {
    auto now = Clock::now();
    // Open more readers: ramp schedule and wave limit.
    while (opened < conns.size() && in_setup < static_cast<std::size_t>(o.wave) &&
           (o.ramp <= 0 || seconds(now - t0) * o.ramp >= static_cast<double>(opened))) {
      open_conn(opened, now);
      if (!conns[opened].set_up) ++in_setup;
      if (!conns[opened].settled) ++unsettled;
      ++opened;
    }
    // Setup timeouts.
    for (std::size_t i = 0; i < opened; ++i) {
      Conn& c = conns[i];
      if (c.settled || now - c.player->stats().started < setup_limit) continue;
      c.player->fail(c.player->state() == PlayerState::kPlaying
                         ? "no video frame within --setup-timeout"
                         : "setup (connect, handshake, play) exceeded --setup-timeout");
      if (!c.set_up) --in_setup;
      close_conn(i);
      --unsettled;
    }
    // Window start: every reader opened and settled.
    if (window_start == Clock::time_point{} && opened == conns.size() && unsettled == 0) {
      window_start = now;
      window_end = now + std::chrono::duration_cast<Clock::duration>(
                             std::chrono::duration<double>(o.duration));
      cpu_start = cpu_seconds(o.cpu_pids);
      self_start = self_cpu_seconds();
      for (auto& c : conns) {
        bytes_at_start.push_back(c.player->stats().bytes);
        frames_at_start.push_back(c.player->stats().video_frames);
        c.player->start_window();
      }
      std::fprintf(stderr, "rtmp_readers: %d readers set up in %.2f s; measuring %.0f s\n",
                   o.readers, seconds(now - t0), o.duration);
    }
    if (window_start != Clock::time_point{} && now >= window_end) break;

    int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 5);
    if (n < 0 && errno != EINTR) {
      std::perror("epoll_wait");
      return 1;
    }
    now = Clock::now();
    for (int k = 0; k < n; ++k) {
      const std::size_t i = events[k].data.u64;
      Conn& c = conns[i];
      if (c.fd < 0) continue;
      Player& p = *c.player;
      const bool was_set_up = c.set_up, was_settled = c.settled;
      bool alive = true;
      if (!c.tcp_connected && (events[k].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
          p.fail(std::string("connect: ") + std::strerror(err));
          alive = false;
        } else {
          c.tcp_connected = true;
          p.start(c.out);
        }
      }
      if (alive && c.tcp_connected && (events[k].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP))) {
        // Up to 4 reads per event, so that one busy socket does not starve the others.
        for (int r = 0; r < 4 && alive; ++r) {
          ssize_t got = ::recv(c.fd, buf.data(), buf.size(), 0);
          if (got > 0) {
            alive = p.on_bytes(std::span(buf.data(), static_cast<std::size_t>(got)), now, c.out);
            if (static_cast<std::size_t>(got) < buf.size()) break;
          } else if (got == 0) {
            p.on_closed("closed by the server");
            alive = false;
          } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            break;
          } else {
            p.on_closed(std::string("recv: ") + std::strerror(errno));
            alive = false;
          }
        }
      }
      if (alive && c.tcp_connected) alive = flush(i);
      if (!alive) {
        close_conn(i);
      } else {
        if (p.state() == PlayerState::kPlaying) c.set_up = true;
        if (p.stats().first_frame != Clock::time_point{}) c.set_up = c.settled = true;
      }
      if (!was_set_up && c.set_up) --in_setup;
      if (!was_settled && c.settled) --unsettled;
    }
  }

  // ---- report -------------------------------------------------------------------------------
  const auto end = Clock::now();
  const double window_s = seconds(end - window_start);
  const double cpu_end = cpu_seconds(o.cpu_pids);
  const double server_cpu = cpu_start >= 0 && cpu_end >= 0 ? cpu_end - cpu_start : -1;
  const double self_cpu = self_cpu_seconds() - self_start;

  std::vector<double> first_frame, first_key, lag;
  std::uint64_t frames = 0, window_frames = 0, window_bytes = 0, gap = 0, late = 0, disc = 0,
                audio = 0;
  int playing = 0, failed = 0, closed = 0, zero_drops = 0;
  for (std::size_t i = 0; i < conns.size(); ++i) {
    const Conn& c = conns[i];
    const auto& s = c.player->stats();
    const bool ok = c.fd >= 0 && s.first_frame != Clock::time_point{};
    if (c.player->state() == PlayerState::kFailed) {
      ++failed;
      ++errors[s.error.empty() ? "failed" : s.error];
    } else if (c.player->state() == PlayerState::kClosed) {
      ++closed;
      ++errors["after play: " + s.error];
    }
    if (s.first_frame != Clock::time_point{}) first_frame.push_back(ms(s.first_frame - s.started));
    if (s.first_keyframe != Clock::time_point{})
      first_key.push_back(ms(s.first_keyframe - s.started));
    frames += s.video_frames;
    audio += s.audio_frames;
    gap += s.gap_dropped;
    disc += s.discontinuities;
    if (!ok) continue;
    window_bytes += s.bytes - (i < bytes_at_start.size() ? bytes_at_start[i] : 0);
    window_frames += s.video_frames - (i < frames_at_start.size() ? frames_at_start[i] : 0);
    ++playing;
    const std::uint64_t l = c.player->late_frames(end);
    late += l;
    lag.push_back(s.max_excess_lag_ms);
    if (s.gap_dropped == 0 && l == 0) ++zero_drops;
  }
  const Percentiles ff = percentiles(first_frame), fk = percentiles(first_key),
                    lg = percentiles(lag);
  const double kbps = playing > 0 && window_s > 0
                          ? static_cast<double>(window_bytes) * 8 / 1000 / window_s / playing
                          : 0;

  std::fprintf(stderr,
               "rtmp_readers: %d readers, %d playing at the end, %d failed, %d closed after play; "
               "first frame p50 %.1f ms p99 %.1f ms; %d with zero drops, %llu dropped (gap %llu, "
               "late %llu); %.0f kbps/reader; server CPU %.2f s in %.1f s\n",
               o.readers, playing, failed, closed, ff.p50, ff.p99, zero_drops,
               static_cast<unsigned long long>(gap + late), static_cast<unsigned long long>(gap),
               static_cast<unsigned long long>(late), kbps, server_cpu, window_s);
  for (const auto& [what, count] : errors)
    std::fprintf(stderr, "rtmp_readers:   %d x %s\n", count, what.c_str());

  if (o.json) {
    std::string j = "{\"tool\":\"rtmp_readers\"";
    auto add = [&](const char* k, const std::string& v) {
      j += ",\"" + std::string(k) + "\":" + v;
    };
    auto num = [](double v, const char* f = "%.3f") {
      char b[64];
      std::snprintf(b, sizeof b, f, v);
      return std::string(b);
    };
    add("url", json_str(o.url));
    add("readers", std::to_string(o.readers));
    add("ramp", num(o.ramp, "%.1f"));
    add("wave", std::to_string(o.wave));
    add("fps", num(o.fps, "%.3f"));
    add("setup_s", num(seconds(window_start - t0)));
    add("window_s", num(window_s));
    add("playing", std::to_string(playing));
    add("connect_failures", std::to_string(failed));
    add("closed_after_play", std::to_string(closed));
    add("first_frame_ms", json_pct(ff));
    add("first_keyframe_ms", json_pct(fk));
    add("readers_zero_drops", std::to_string(zero_drops));
    add("dropped_frames", std::to_string(gap + late));
    add("gap_dropped_frames", std::to_string(gap));
    add("late_frames", std::to_string(late));
    add("discontinuities", std::to_string(disc));
    add("video_frames", std::to_string(frames));
    add("audio_frames", std::to_string(audio));
    add("window_bytes", std::to_string(window_bytes));
    add("window_fps_per_reader",
        num(playing > 0 && window_s > 0 ? static_cast<double>(window_frames) / window_s / playing
                                        : 0,
            "%.2f"));
    add("late_ms", num(o.late_ms, "%.0f"));
    add("mean_kbps_per_reader", num(kbps, "%.1f"));
    add("max_lag_excess_ms", json_pct(lg));
    add("server_cpu_s", server_cpu >= 0 ? num(server_cpu) : "null");
    add("self_cpu_s", num(self_cpu));
    std::string errs = "{";
    for (const auto& [what, count] : errors)
      errs += (errs.size() > 1 ? "," : "") + json_str(what) + ":" + std::to_string(count);
    add("errors", errs + "}");
    add("drop_rule", json_str(kDropRule));
    std::printf("%s}\n", j.c_str());
  }
  freeaddrinfo(ai);
  return playing > 0 ? 0 : 3;
}
