// rtsp_readers: N RTSP players (RTP over TCP, interleaved) in one process and one thread (epoll),
// for bench/rtsp_bench.sh.
//
//   rtsp_readers --url rtsp://127.0.0.1:8554/live/dev --readers 200 --duration 20 --json
//
// Readers are opened at --ramp connections per second (0: as fast as possible), with at most
// --wave of them between connect() and their first video frame at any time, so that hundreds of
// connects do not overflow the server's listen backlog. Each sends OPTIONS, DESCRIBE, SETUP for
// every audio and video track (interleaved=0-1, 2-3, ...; the Session of the first SETUP on the
// rest) and PLAY, then reads '$' frames, with a GET_PARAMETER every --keepalive seconds.
//
// With --baseline S, reader 1 is opened alone first and, once it has its first video frame, the
// server's CPU time is measured for S seconds with that one reader; then the others are opened.
// The measured window (--duration seconds) starts once every reader has its first video frame or
// has failed (or --setup-timeout passed). With --cpu-pid, the CPU time (utime + stime, all
// threads) those processes used during the baseline and the window is read from /proc/PID/stat.
// The JSON reports CPU per reader both raw (window CPU / readers) and net of the baseline
// ((window CPU rate - baseline CPU rate) / (readers - 1)): the latter leaves out what a server
// spends once per stream (ingest, demuxing, payloading), whatever the number of readers.
// Measurements and the drop rules: see rtsp_reader.hpp; the JSON repeats the rules.
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
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "../common/load_report.hpp"
#include "rtsp_reader.hpp"

namespace {

using sluice::bench::Clock;
using sluice::bench::ReaderState;
using sluice::bench::RtspReader;
using namespace sluice::bench::report;

struct Options {
  std::string url;
  int readers = 50;
  double ramp = 0;
  int wave = 50;
  double duration = 20;
  double fps = 30;
  double setup_timeout = 15;
  double late_ms = 500;
  double keepalive = 20;
  double baseline = 0;
  std::vector<int> cpu_pids;
  bool json = false;
  bool trace_gaps = false;
};

struct Conn {
  int fd = -1;
  std::unique_ptr<RtspReader> reader;
  std::string out;
  std::size_t out_off = 0;
  bool tcp_connected = false;
  bool want_write = false;
  bool set_up = false;   // PLAY answered (or failed): no longer counts against --wave
  bool settled = false;  // first video frame, or failed
};

// rtsp://HOST[:PORT]/PATH
bool parse_url(const std::string& url, std::string& host, int& port) {
  const std::string scheme = "rtsp://";
  if (url.rfind(scheme, 0) != 0) return false;
  auto rest = url.substr(scheme.size());
  auto slash = rest.find('/');
  if (slash == std::string::npos || slash + 1 >= rest.size()) return false;
  auto hostport = rest.substr(0, slash);
  auto colon = hostport.rfind(':');
  host = hostport.substr(0, colon);
  port = colon == std::string::npos ? 554 : std::atoi(hostport.c_str() + colon + 1);
  return !host.empty() && port > 0;
}

const char* kDropRule =
    "lost packets: RTP sequence numbers d ahead of the expected one (0<d<32768, 16-bit wrap) "
    "count d lost packets per track; gap: from the first keyframe on, consecutive video frames "
    "(marker bit) in presentation order (a 16-frame reorder buffer; the last 16 are not checked) "
    "more than 2.5 frame intervals apart by RTP timestamp count round(gap/interval)-1 dropped "
    "frames; late: at the end, a reader whose lag (wall time minus largest RTP time since its "
    "first frame) exceeds its smallest lag by more than late_ms (at least 2.5 intervals) counts "
    "floor(excess/interval) dropped frames; a reader has zero drops when all three are 0";

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{
      "rtsp_readers: N RTSP players (RTP/AVP/TCP interleaved) in one thread; per-reader "
      "first-frame latency, frames, sequence gaps, drops and lag"};
  app.add_option("--url", o.url, "rtsp://HOST:PORT/PATH")->required();
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
  app.add_option("--keepalive", o.keepalive,
                 "seconds between GET_PARAMETER keep-alives of a playing reader (0: none)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--baseline", o.baseline,
                 "seconds of server CPU measured with one reader before the others open (0: none)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--cpu-pid", o.cpu_pids, "report the CPU time of these processes");
  app.add_flag("--json", o.json, "print one JSON object on stdout");
  app.add_flag("--trace-gaps", o.trace_gaps,
               "describe every sequence gap and frame gap on stderr as it is found");
  CLI11_PARSE(app, argc, argv);

  std::string host;
  int port = 0;
  if (!parse_url(o.url, host, port)) {
    std::fprintf(stderr, "rtsp_readers: bad --url '%s' (want rtsp://HOST:PORT/PATH)\n",
                 o.url.c_str());
    return 2;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* ai = nullptr;
  if (int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &ai); rc != 0) {
    std::fprintf(stderr, "rtsp_readers: cannot resolve %s: %s\n", host.c_str(), gai_strerror(rc));
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
        c.reader->on_closed(std::string("send: ") + std::strerror(errno));
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
    c.reader = std::make_unique<RtspReader>(o.url, o.fps, o.late_ms, o.keepalive);
    c.reader->stats().started = now;
    if (o.trace_gaps) c.reader->trace_to(stderr, static_cast<int>(i) + 1);
    c.fd = ::socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) {
      c.reader->fail(std::string("socket: ") + std::strerror(errno));
      c.set_up = c.settled = true;
      return;
    }
    int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(c.fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
      c.reader->fail(std::string("connect: ") + std::strerror(errno));
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
  auto after = [](Clock::time_point t, double s) {
    return t + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
  };
  std::size_t opened = 0, in_setup = 0, unsettled = 0;
  // Baseline: reader 1 alone, measured from its first frame for o.baseline seconds.
  bool baseline_done = o.baseline <= 0;
  Clock::time_point baseline_start{}, window_start{}, window_end{}, last_sweep{};
  double baseline_s = 0, baseline_cpu = -1, baseline_cpu_start = -1;
  double cpu_start = -1, self_start = 0;
  std::vector<std::uint64_t> bytes_at_start, frames_at_start;
  const auto setup_limit =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.setup_timeout));
  std::vector<epoll_event> events(1024);

  while (true) {
    auto now = Clock::now();
    // The baseline phase: reader 1 settles, then o.baseline seconds of server CPU.
    if (!baseline_done && opened == 1 && unsettled == 0) {
      if (baseline_start == Clock::time_point{}) {
        if (conns[0].fd < 0) {
          baseline_done = true;  // reader 1 failed: no baseline
          std::fprintf(stderr, "rtsp_readers: the baseline reader failed; no baseline\n");
        } else {
          baseline_start = now;
          baseline_cpu_start = cpu_seconds(o.cpu_pids);
          std::fprintf(stderr, "rtsp_readers: baseline: 1 reader for %.0f s\n", o.baseline);
        }
      } else if (now >= after(baseline_start, o.baseline)) {
        baseline_s = seconds(now - baseline_start);
        const double c = cpu_seconds(o.cpu_pids);
        if (baseline_cpu_start >= 0 && c >= 0) baseline_cpu = c - baseline_cpu_start;
        baseline_done = true;
      }
    }
    const std::size_t may_open = baseline_done ? conns.size() : 1;
    // Open more readers: ramp schedule and wave limit.
    while (opened < may_open && in_setup < static_cast<std::size_t>(o.wave) &&
           (o.ramp <= 0 || seconds(now - t0) * o.ramp >= static_cast<double>(opened))) {
      open_conn(opened, now);
      if (!conns[opened].set_up) ++in_setup;
      if (!conns[opened].settled) ++unsettled;
      ++opened;
    }
    // Every 50 ms: setup timeouts, keep-alives.
    if (now - last_sweep >= std::chrono::milliseconds(50)) {
      last_sweep = now;
      for (std::size_t i = 0; i < opened; ++i) {
        Conn& c = conns[i];
        if (c.fd < 0) continue;
        if (!c.settled && now - c.reader->stats().started >= setup_limit) {
          c.reader->fail(c.reader->state() == ReaderState::kPlaying
                             ? "no video frame within --setup-timeout"
                             : "setup (connect, OPTIONS ... PLAY) exceeded --setup-timeout");
          if (!c.set_up) --in_setup;
          close_conn(i);
          --unsettled;
          continue;
        }
        if (c.tcp_connected) {
          c.reader->tick(now, c.out);
          if (!c.out.empty() && !flush(i)) {
            if (!c.set_up) --in_setup;
            if (!c.settled) --unsettled;
            close_conn(i);
          }
        }
      }
    }
    // Window start: every reader opened and settled.
    if (window_start == Clock::time_point{} && opened == conns.size() && unsettled == 0) {
      window_start = now;
      window_end = after(now, o.duration);
      cpu_start = cpu_seconds(o.cpu_pids);
      self_start = self_cpu_seconds();
      for (auto& c : conns) {
        bytes_at_start.push_back(c.reader->stats().bytes);
        frames_at_start.push_back(c.reader->stats().video_frames);
        c.reader->start_window();
      }
      std::fprintf(stderr, "rtsp_readers: %d readers set up in %.2f s; measuring %.0f s\n",
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
      RtspReader& r = *c.reader;
      const bool was_set_up = c.set_up, was_settled = c.settled;
      bool alive = true;
      if (!c.tcp_connected && (events[k].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
          r.fail(std::string("connect: ") + std::strerror(err));
          alive = false;
        } else {
          c.tcp_connected = true;
          r.start(now, c.out);
        }
      }
      if (alive && c.tcp_connected && (events[k].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP))) {
        // Up to 4 reads per event, so that one busy socket does not starve the others.
        for (int rd = 0; rd < 4 && alive; ++rd) {
          ssize_t got = ::recv(c.fd, buf.data(), buf.size(), 0);
          if (got > 0) {
            alive = r.on_bytes(std::span(buf.data(), static_cast<std::size_t>(got)), now, c.out);
            if (static_cast<std::size_t>(got) < buf.size()) break;
          } else if (got == 0) {
            r.on_closed("closed by the server");
            alive = false;
          } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            break;
          } else {
            r.on_closed(std::string("recv: ") + std::strerror(errno));
            alive = false;
          }
        }
      }
      if (alive && c.tcp_connected) alive = flush(i);
      if (!alive) {
        close_conn(i);
      } else {
        if (r.state() == ReaderState::kPlaying) c.set_up = true;
        if (r.stats().first_frame != Clock::time_point{}) c.set_up = c.settled = true;
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

  std::vector<double> first_frame, first_key, play_ms, lag;
  std::uint64_t frames = 0, keyframes = 0, window_frames = 0, window_bytes = 0, gap = 0, late = 0,
                disc = 0, lost = 0, gap_events = 0, ooo = 0, packets = 0, keepalives = 0;
  int playing = 0, failed = 0, closed = 0, zero_drops = 0, with_lost = 0;
  for (std::size_t i = 0; i < conns.size(); ++i) {
    const Conn& c = conns[i];
    const auto& s = c.reader->stats();
    const bool ok = c.fd >= 0 && s.first_frame != Clock::time_point{};
    if (c.reader->state() == ReaderState::kFailed) {
      ++failed;
      ++errors[s.error.empty() ? "failed" : s.error];
    } else if (c.reader->state() == ReaderState::kClosed) {
      ++closed;
      ++errors["after play: " + s.error];
    }
    if (s.play_answered != Clock::time_point{}) play_ms.push_back(ms(s.play_answered - s.started));
    if (s.first_frame != Clock::time_point{}) first_frame.push_back(ms(s.first_frame - s.started));
    if (s.first_keyframe != Clock::time_point{})
      first_key.push_back(ms(s.first_keyframe - s.started));
    frames += s.video_frames;
    keyframes += s.keyframes;
    gap += s.gap_dropped;
    disc += s.discontinuities;
    keepalives += s.keepalives;
    ooo += s.out_of_order();
    for (const auto& t : s.tracks) {
      lost += t.lost;
      gap_events += t.gap_events;
      packets += t.packets;
    }
    if (s.lost_packets() > 0) ++with_lost;
    if (!ok) continue;
    window_bytes += s.bytes - (i < bytes_at_start.size() ? bytes_at_start[i] : 0);
    window_frames += s.video_frames - (i < frames_at_start.size() ? frames_at_start[i] : 0);
    ++playing;
    const std::uint64_t l = c.reader->late_frames(end);
    late += l;
    lag.push_back(s.max_excess_lag_ms);
    if (s.gap_dropped == 0 && l == 0 && s.lost_packets() == 0) ++zero_drops;
  }
  const Percentiles ff = percentiles(first_frame), fk = percentiles(first_key),
                    pl = percentiles(play_ms), lg = percentiles(lag);
  const double kbps = playing > 0 && window_s > 0
                          ? static_cast<double>(window_bytes) * 8 / 1000 / window_s / playing
                          : 0;
  // Server CPU per reader-second, raw and net of the one-reader baseline.
  const double raw_ms = server_cpu >= 0 && playing > 0 && window_s > 0
                            ? 1000 * server_cpu / (playing * window_s)
                            : -1;
  const bool have_net =
      server_cpu >= 0 && baseline_cpu >= 0 && baseline_s > 0 && playing > 1 && window_s > 0;
  const double net_ms =
      have_net ? 1000 * (server_cpu / window_s - baseline_cpu / baseline_s) / (playing - 1) : 0;

  std::fprintf(stderr,
               "rtsp_readers: %d readers, %d playing at the end, %d failed, %d closed after play; "
               "first frame p50 %.1f ms p99 %.1f ms, first keyframe p50 %.1f ms; %d with zero "
               "drops, %llu RTP packets lost, %llu frames dropped (gap %llu, late %llu); %.0f "
               "kbps/reader; server CPU %.2f s in %.1f s (baseline %.2f s in %.1f s)\n",
               o.readers, playing, failed, closed, ff.p50, ff.p99, fk.p50, zero_drops,
               static_cast<unsigned long long>(lost), static_cast<unsigned long long>(gap + late),
               static_cast<unsigned long long>(gap), static_cast<unsigned long long>(late), kbps,
               server_cpu, window_s, baseline_cpu, baseline_s);
  for (const auto& [what, count] : errors)
    std::fprintf(stderr, "rtsp_readers:   %d x %s\n", count, what.c_str());

  if (o.json) {
    Json j;
    j.add("tool", json_str("rtsp_readers"));
    j.add("url", json_str(o.url));
    j.add("readers", std::to_string(o.readers));
    j.add("ramp", num(o.ramp, "%.1f"));
    j.add("wave", std::to_string(o.wave));
    j.add("fps", num(o.fps, "%.3f"));
    j.add("setup_s", num(seconds(window_start - t0)));
    j.add("window_s", num(window_s));
    j.add("playing", std::to_string(playing));
    j.add("connect_failures", std::to_string(failed));
    j.add("closed_after_play", std::to_string(closed));
    j.add("play_ms", json_pct(pl));
    j.add("first_frame_ms", json_pct(ff));
    j.add("first_keyframe_ms", json_pct(fk));
    j.add("readers_zero_drops", std::to_string(zero_drops));
    j.add("readers_with_lost_packets", std::to_string(with_lost));
    j.add("lost_packets", std::to_string(lost));
    j.add("gap_events", std::to_string(gap_events));
    j.add("out_of_order", std::to_string(ooo));
    j.add("dropped_frames", std::to_string(gap + late));
    j.add("gap_dropped_frames", std::to_string(gap));
    j.add("late_frames", std::to_string(late));
    j.add("discontinuities", std::to_string(disc));
    j.add("rtp_packets", std::to_string(packets));
    j.add("video_frames", std::to_string(frames));
    j.add("keyframes", std::to_string(keyframes));
    j.add("window_bytes", std::to_string(window_bytes));
    j.add("window_fps_per_reader",
          num(playing > 0 && window_s > 0 ? static_cast<double>(window_frames) / window_s / playing
                                          : 0,
              "%.2f"));
    j.add("late_ms", num(o.late_ms, "%.0f"));
    j.add("mean_kbps_per_reader", num(kbps, "%.1f"));
    j.add("max_lag_excess_ms", json_pct(lg));
    j.add("keepalives", std::to_string(keepalives));
    j.add("server_cpu_s", server_cpu >= 0 ? num(server_cpu) : "null");
    j.add("baseline_s", num(baseline_s));
    j.add("baseline_cpu_s", baseline_cpu >= 0 ? num(baseline_cpu) : "null");
    j.add("server_cpu_ms_per_reader_s", raw_ms >= 0 ? num(raw_ms, "%.4f") : "null");
    j.add("net_cpu_ms_per_reader_s", have_net ? num(net_ms, "%.4f") : "null");
    j.add("self_cpu_s", num(self_cpu));
    std::string errs = "{";
    for (const auto& [what, count] : errors)
      errs += (errs.size() > 1 ? "," : "") + json_str(what) + ":" + std::to_string(count);
    j.add("errors", errs + "}");
    j.add("drop_rule", json_str(kDropRule));
    std::printf("%s\n", j.close().c_str());
  }
  freeaddrinfo(ai);
  return playing > 0 ? 0 : 3;
}
