// webrtc_viewers: N headless WebRTC viewers in one process and one thread (epoll), for
// bench/webrtc_bench.sh (issue 14: CPU per WebRTC viewer against Janus).
//
//   webrtc_viewers --mode whep --url http://127.0.0.1:8080/live/dev/whep --viewers 50 --json
//   webrtc_viewers --mode janus --url http://127.0.0.1:8088/janus --mountpoint 1 --viewers 50
//
// Each viewer does what a browser's receive-only peer connection does, minus decoding:
//   * signalling over HTTP:
//       whep   the viewer offers (recvonly H.264, a=setup:actpass, BUNDLE, rtcp-mux) and POSTs
//              the offer to the WHEP URL; the 201 answer carries the server's ICE credentials,
//              fingerprint and host candidate;
//       janus  the Janus HTTP API: create a session, attach janus.plugin.streaming, "watch" the
//              mountpoint, long-poll the session for the event with the JSEP offer, answer it
//              (recvonly, a=setup:active) with "start";
//   * ICE as a full, controlling agent towards the server's (first IPv4 UDP) host candidate:
//     Binding requests with USERNAME remote:local, PRIORITY, ICE-CONTROLLING, USE-CANDIDATE,
//     MESSAGE-INTEGRITY (the server's ice-pwd) and FINGERPRINT, retransmitted every 200 ms until
//     a success response with valid integrity comes back, then every --consent seconds (consent
//     freshness, RFC 7675); Binding requests from the server are answered;
//   * the DTLS client handshake (use_srtp), the server's certificate checked against the SDP
//     fingerprint;
//   * SRTP/SRTCP unprotect (libsrtp2) of every packet; per viewer: RTP packets, bytes, frames
//     (marker bits), sequence gaps (lost packets), out-of-order packets, unprotect failures, RTCP
//     packets.
// No RTCP is sent (no receiver reports, NACKs or PLIs): the server's work is the plain fan-out.
//
// The sans-I/O STUN, DTLS, SRTP and SDP code is sluice's (sluice_media_protocols, on OpenSSL and
// libsrtp2); sockets, timers and signalling are here.
//
// Viewers are set up --wave at a time (signalling is blocking HTTP on loopback, a few ms each).
// Once every viewer receives media (or failed), --warmup seconds pass, then the measured window
// (--duration) runs; with --cpu-pid the CPU time (utime + stime, all threads) of those processes
// over the window is read from /proc/PID/stat. Exit status 3: no viewer received media.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/rand.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/json.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "../common/load_report.hpp"
#include "media/protocols/sdp/sdp.hpp"
#include "media/protocols/webrtc/dtls.hpp"
#include "media/protocols/webrtc/ice_lite.hpp"
#include "media/protocols/webrtc/srtp.hpp"
#include "media/protocols/webrtc/stun.hpp"

namespace {

namespace json = boost::json;
namespace webrtc = sluice::media::webrtc;
namespace stun = sluice::media::webrtc::stun;
namespace sdp = sluice::media::sdp;
using namespace sluice::bench::report;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string mode = "whep";
  std::string url;
  int mountpoint = 1;
  int viewers = 20;
  int wave = 10;
  double duration = 30;
  double warmup = 3;
  double setup_timeout = 20;
  double consent = 5;
  double fps = 30;
  std::vector<int> cpu_pids;
  std::vector<int> publisher_pids;
  bool json = false;
  bool verbose = false;
};

// ---------------------------------------------------------------------------------------------
// Blocking HTTP/1.1 on loopback (one request per connection).

struct HttpUrl {
  std::string host;
  int port = 80;
  std::string path;
};

std::optional<HttpUrl> parse_http_url(const std::string& url) {
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0) return std::nullopt;
  std::string rest = url.substr(scheme.size());
  const auto slash = rest.find('/');
  HttpUrl u;
  u.path = slash == std::string::npos ? "/" : rest.substr(slash);
  const std::string hostport = rest.substr(0, slash);
  const auto colon = hostport.rfind(':');
  u.host = hostport.substr(0, colon);
  if (colon != std::string::npos) u.port = std::atoi(hostport.c_str() + colon + 1);
  if (u.host.empty() || u.port <= 0) return std::nullopt;
  return u;
}

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string error;  // transport failure
};

HttpResponse http_request(const HttpUrl& base, const std::string& method, const std::string& path,
                          const std::string& content_type, const std::string& body,
                          double timeout_s) {
  HttpResponse res;
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(timeout_s));
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<std::uint16_t>(base.port));
  if (inet_pton(AF_INET, base.host == "localhost" ? "127.0.0.1" : base.host.c_str(),
                &sa.sin_addr) != 1) {
    ::close(fd);
    res.error = "HTTP: host must be an IPv4 address";
    return res;
  }
  auto wait = [&](short events) -> bool {
    for (;;) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd, events, 0};
      const int r = ::poll(&p, 1, static_cast<int>(left.count()));
      if (r > 0) return true;
      if (r < 0 && errno != EINTR) return false;
    }
  };
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 && errno != EINPROGRESS) {
    res.error = std::string("HTTP connect: ") + std::strerror(errno);
    ::close(fd);
    return res;
  }
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: " + base.host + ":" +
                    std::to_string(base.port) + "\r\nConnection: close\r\n";
  if (!content_type.empty()) req += "Content-Type: " + content_type + "\r\n";
  if (!body.empty() || method == "POST")
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n" + body;
  std::size_t off = 0;
  while (off < req.size()) {
    if (!wait(POLLOUT)) {
      res.error = "HTTP: send timed out";
      ::close(fd);
      return res;
    }
    const ssize_t n = ::send(fd, req.data() + off, req.size() - off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      res.error = std::string("HTTP send: ") + std::strerror(errno);
      ::close(fd);
      return res;
    }
    off += static_cast<std::size_t>(n);
  }
  std::string in;
  std::size_t header_end = std::string::npos;
  std::optional<std::size_t> length;
  char buf[16384];
  for (;;) {
    if (header_end != std::string::npos && length && in.size() >= header_end + 4 + *length) break;
    if (!wait(POLLIN)) {
      res.error = "HTTP: no answer in time";
      ::close(fd);
      return res;
    }
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      res.error = std::string("HTTP recv: ") + std::strerror(errno);
      ::close(fd);
      return res;
    }
    if (n == 0) break;
    in.append(buf, static_cast<std::size_t>(n));
    if (header_end == std::string::npos) {
      header_end = in.find("\r\n\r\n");
      if (header_end != std::string::npos) {
        std::istringstream lines(in.substr(0, header_end));
        std::string line;
        std::getline(lines, line);
        if (line.size() > 12) res.status = std::atoi(line.c_str() + 9);
        while (std::getline(lines, line)) {
          if (!line.empty() && line.back() == '\r') line.pop_back();
          const auto colon = line.find(':');
          if (colon == std::string::npos) continue;
          std::string name = line.substr(0, colon);
          for (auto& c : name)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
          std::string value = line.substr(colon + 1);
          value.erase(0, value.find_first_not_of(' '));
          res.headers[name] = value;
        }
        if (auto it = res.headers.find("content-length"); it != res.headers.end())
          length = static_cast<std::size_t>(std::stoull(it->second));
        if (res.status == 204 || res.status == 304) length = 0;
      }
    }
  }
  ::close(fd);
  if (header_end == std::string::npos) {
    res.error = "HTTP: the connection closed before a complete answer";
    return res;
  }
  res.body = in.substr(header_end + 4);
  if (length && res.body.size() > *length) res.body.resize(*length);
  if (auto it = res.headers.find("transfer-encoding");
      it != res.headers.end() && it->second.find("chunked") != std::string::npos) {
    // Read to the close (Connection: close), then join the chunks.
    std::string body;
    std::size_t at = 0;
    for (;;) {
      const auto eol = res.body.find("\r\n", at);
      if (eol == std::string::npos) break;
      const std::size_t size = std::stoul(res.body.substr(at, eol - at), nullptr, 16);
      if (size == 0 || eol + 2 + size > res.body.size()) break;
      body += res.body.substr(eol + 2, size);
      at = eol + 2 + size + 2;
    }
    res.body = std::move(body);
  }
  return res;
}

// ---------------------------------------------------------------------------------------------
// SDP

struct RemoteDescription {
  std::string ufrag, pwd, fingerprint;  // fingerprint: "sha-256 AB:CD:…"
  std::string setup;
  std::string mid;
  int payload_type = -1;
  std::string fmtp;
  sockaddr_in candidate{};
  bool has_candidate = false;
  bool ice_lite = false;
};

std::string attr(const sdp::SessionDescription& s, const sdp::MediaDescription& m,
                 std::string_view name) {
  if (const auto* v = m.attribute(name)) return *v;
  if (const auto* v = s.attribute(name)) return *v;
  return {};
}

// The first video section's ICE, DTLS and H.264 details, and its first IPv4 UDP host candidate.
sluice::Result<RemoteDescription> read_description(const std::string& text) {
  auto parsed = sdp::parse(text);
  if (!parsed) return sluice::fail(parsed.error());
  const auto& s = *parsed;
  const sdp::MediaDescription* video = nullptr;
  for (const auto& m : s.media) {
    if (m.media == "video" && m.port != 0) {
      video = &m;
      break;
    }
  }
  if (!video) return sluice::fail(sluice::Error::bad_request("SDP: no video section"));
  RemoteDescription d;
  d.ufrag = attr(s, *video, "ice-ufrag");
  d.pwd = attr(s, *video, "ice-pwd");
  d.fingerprint = attr(s, *video, "fingerprint");
  d.setup = attr(s, *video, "setup");
  d.mid = attr(s, *video, "mid");
  d.ice_lite = s.attribute("ice-lite") != nullptr;
  for (const auto& f : video->formats) {
    const int pt = std::atoi(f.c_str());
    auto map = sdp::rtpmap_of(*video, pt);
    if (!map || !sdp::iequals(map->encoding, "H264")) continue;
    auto fmtp = sdp::fmtp_of(*video, pt);
    if (auto it = fmtp.find("packetization-mode"); it == fmtp.end() || it->second != "1") continue;
    d.payload_type = pt;
    for (const auto& a : video->attributes) {
      if (a.name == "fmtp" && std::atoi(a.value.c_str()) == pt) {
        const auto sp = a.value.find(' ');
        if (sp != std::string::npos) d.fmtp = a.value.substr(sp + 1);
      }
    }
    break;
  }
  for (const auto& a : video->attributes) {
    if (a.name != "candidate") continue;
    // foundation component transport priority address port typ type ...
    std::istringstream in(a.value);
    std::string foundation, component, transport, priority, address, port, typ, type;
    in >> foundation >> component >> transport >> priority >> address >> port >> typ >> type;
    if (!sdp::iequals(transport, "udp") || component != "1" || type != "host") continue;
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    if (inet_pton(AF_INET, address.c_str(), &sa.sin_addr) != 1) continue;  // IPv6, mDNS
    sa.sin_port = htons(static_cast<std::uint16_t>(std::atoi(port.c_str())));
    d.candidate = sa;
    d.has_candidate = true;
    break;
  }
  if (d.ufrag.empty() || d.pwd.empty() || d.fingerprint.empty())
    return sluice::fail(sluice::Error::bad_request("SDP: no ICE credentials or fingerprint"));
  if (d.payload_type < 0)
    return sluice::fail(sluice::Error::bad_request("SDP: no H.264 packetization-mode=1"));
  if (!d.has_candidate)
    return sluice::fail(sluice::Error::bad_request("SDP: no IPv4 UDP host candidate"));
  return d;
}

// What a browser's receive-only transceiver says about H.264 (no RTX, no header extensions, no
// congestion-control feedback: the same plain fan-out from every server).
std::string video_section(const webrtc::IceCredentials& ice, const std::string& fingerprint,
                          const std::string& setup, const std::string& mid, int pt,
                          const std::string& fmtp, std::uint16_t local_port) {
  std::string s;
  s += "m=video 9 UDP/TLS/RTP/SAVPF " + std::to_string(pt) + "\r\n";
  s += "c=IN IP4 127.0.0.1\r\n";
  s += "a=rtcp:9 IN IP4 0.0.0.0\r\n";
  s += "a=ice-ufrag:" + ice.ufrag + "\r\n";
  s += "a=ice-pwd:" + ice.pwd + "\r\n";
  s += "a=fingerprint:sha-256 " + fingerprint + "\r\n";
  s += "a=setup:" + setup + "\r\n";
  s += "a=mid:" + mid + "\r\n";
  s += "a=recvonly\r\n";
  s += "a=rtcp-mux\r\n";
  s += "a=rtpmap:" + std::to_string(pt) + " H264/90000\r\n";
  s += "a=rtcp-fb:" + std::to_string(pt) + " ccm fir\r\n";
  s += "a=rtcp-fb:" + std::to_string(pt) + " nack\r\n";
  s += "a=rtcp-fb:" + std::to_string(pt) + " nack pli\r\n";
  s += "a=fmtp:" + std::to_string(pt) + " " + fmtp + "\r\n";
  s += "a=end-of-candidates\r\n";
  return s;
}

std::string session_head(const std::string& mid) {
  std::uint64_t id = 0;
  RAND_bytes(reinterpret_cast<unsigned char*>(&id), sizeof id);
  return "v=0\r\no=- " + std::to_string(id >> 2) + " 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n" +
         "a=group:BUNDLE " + mid + "\r\na=msid-semantic: WMS\r\n";
}

// ---------------------------------------------------------------------------------------------
// Janus HTTP API

std::string random_transaction() {
  unsigned char b[8];
  RAND_bytes(b, sizeof b);
  char t[17];
  for (int i = 0; i < 8; ++i)
    std::snprintf(t + 2 * i, 3, "%02x", b[i]);
  return t;
}

sluice::Result<json::object> janus_call(const HttpUrl& base, const std::string& path,
                                        json::object body, double timeout_s = 5) {
  body["transaction"] = random_transaction();
  auto res = http_request(base, "POST", path, "application/json", json::serialize(body), timeout_s);
  if (!res.error.empty()) return sluice::fail(sluice::Error::unavailable(res.error));
  if (res.status != 200)
    return sluice::fail(sluice::Error::unavailable("Janus: HTTP " + std::to_string(res.status)));
  boost::system::error_code ec;
  auto v = json::parse(res.body, ec);
  if (ec || !v.is_object()) return sluice::fail(sluice::Error::unavailable("Janus: not JSON"));
  auto& o = v.as_object();
  if (o.if_contains("janus") && o.at("janus") == "error") {
    std::string why = "Janus error";
    if (auto* e = o.if_contains("error");
        e && e->is_object() && e->as_object().if_contains("reason"))
      why += ": " + std::string(e->as_object().at("reason").as_string());
    return sluice::fail(sluice::Error::unavailable(why));
  }
  return o;
}

std::uint64_t json_id(const json::value& v) {
  if (v.is_uint64()) return v.as_uint64();
  if (v.is_int64()) return static_cast<std::uint64_t>(v.as_int64());
  return 0;
}

// ---------------------------------------------------------------------------------------------
// A viewer

enum class State { kIdle, kIce, kDtls, kMedia, kFailed };

struct Counters {
  std::uint64_t rtp = 0, bytes = 0, frames = 0, lost = 0, out_of_order = 0, duplicates = 0,
                rtcp = 0, unprotect_failures = 0;
};

struct Viewer {
  int fd = -1;
  State state = State::kIdle;
  Clock::time_point started{}, ice_done{}, dtls_done{}, first_media{};
  webrtc::IceCredentials local;
  RemoteDescription remote;
  std::uint64_t tie_breaker = 0;
  stun::TransactionId pending{};
  bool awaiting_response = false;
  int stun_tries = 0;
  Clock::time_point next_stun{};
  std::uint64_t consent_sent = 0, consent_answered = 0, requests_answered = 0;
  std::unique_ptr<webrtc::DtlsEndpoint> dtls;
  std::unique_ptr<webrtc::SrtpSession> srtp;
  std::uint16_t srtp_profile = 0;
  // Sequence tracking (16-bit, one SSRC: the server's video).
  bool have_seq = false;
  std::uint32_t ssrc = 0;
  std::uint16_t next_seq = 0;
  std::uint64_t ssrc_changes = 0;
  Counters c, window_start;
  std::string failure;
  // Teardown
  std::string whep_resource;  // Location
  std::uint64_t janus_session = 0;
};

stun::Address to_stun(const sockaddr_in& sa) {
  stun::Address a;
  std::memcpy(a.ip.data(), &sa.sin_addr, 4);
  a.port = ntohs(sa.sin_port);
  return a;
}

struct Run {
  Options o;
  HttpUrl base;
  std::shared_ptr<const webrtc::DtlsCertificate> cert;
  int ep = -1;
  std::vector<Viewer> v;
  std::map<std::string, int> errors;
  std::string buf;

  void fail_viewer(std::size_t i, const std::string& why) {
    Viewer& w = v[i];
    if (w.state == State::kFailed) return;
    w.state = State::kFailed;
    w.failure = why;
    ++errors[why.substr(0, 160)];
    if (o.verbose) std::fprintf(stderr, "viewer %zu failed: %s\n", i + 1, why.c_str());
    if (w.fd >= 0) {
      epoll_ctl(ep, EPOLL_CTL_DEL, w.fd, nullptr);
      ::close(w.fd);
      w.fd = -1;
    }
  }

  void send(std::size_t i, const std::string& datagram) {
    Viewer& w = v[i];
    if (w.fd < 0) return;
    ::send(w.fd, datagram.data(), datagram.size(), MSG_DONTWAIT);
  }

  // A socket connected to the server's candidate (so only its datagrams arrive), signalled.
  void start(std::size_t i) {
    Viewer& w = v[i];
    w.started = Clock::now();
    w.local = webrtc::make_ice_credentials();
    RAND_bytes(reinterpret_cast<unsigned char*>(&w.tie_breaker), sizeof w.tie_breaker);
    w.fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    const int size = 1 << 20;
    if (setsockopt(w.fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
      setsockopt(w.fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    sockaddr_in local{};
    local.sin_family = AF_INET;
    socklen_t len = sizeof local;
    if (::bind(w.fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
        ::getsockname(w.fd, reinterpret_cast<sockaddr*>(&local), &len) != 0) {
      fail_viewer(i, std::string("bind: ") + std::strerror(errno));
      return;
    }
    const std::uint16_t port = ntohs(local.sin_port);
    auto ok = o.mode == "janus" ? signal_janus(i, port) : signal_whep(i, port);
    if (!ok) {
      fail_viewer(i, ok.error().detail);
      return;
    }
    if (::connect(w.fd, reinterpret_cast<const sockaddr*>(&w.remote.candidate),
                  sizeof w.remote.candidate) != 0) {
      fail_viewer(i, std::string("connect: ") + std::strerror(errno));
      return;
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    epoll_ctl(ep, EPOLL_CTL_ADD, w.fd, &ev);
    w.state = State::kIce;
    w.next_stun = Clock::now();
    auto created = webrtc::DtlsEndpoint::create(webrtc::DtlsEndpoint::Role::kClient, cert,
                                                w.remote.fingerprint);
    if (!created) {
      fail_viewer(i, created.error().detail);
      return;
    }
    w.dtls = std::move(*created);
  }

  sluice::Status signal_whep(std::size_t i, std::uint16_t port) {
    Viewer& w = v[i];
    const std::string offer =
        session_head("0") + video_section(w.local, cert->fingerprint_sha256(), "actpass", "0", 96,
                                          "level-asymmetry-allowed=1;packetization-mode=1;"
                                          "profile-level-id=42e01f",
                                          port);
    auto res = http_request(base, "POST", base.path, "application/sdp", offer, 10);
    if (!res.error.empty()) return sluice::fail(sluice::Error::unavailable(res.error));
    if (res.status != 201) {
      return sluice::fail(sluice::Error::unavailable("WHEP: HTTP " + std::to_string(res.status) +
                                                     " " + res.body.substr(0, 120)));
    }
    if (auto it = res.headers.find("location"); it != res.headers.end())
      w.whep_resource = it->second;
    auto d = read_description(res.body);
    if (!d) return sluice::fail(d.error());
    if (d->setup != "passive")
      return sluice::fail(sluice::Error::unavailable("WHEP: answer has setup:" + d->setup));
    w.remote = std::move(*d);
    return {};
  }

  sluice::Status signal_janus(std::size_t i, std::uint16_t port) {
    Viewer& w = v[i];
    auto created = janus_call(base, base.path, {{"janus", "create"}});
    if (!created) return sluice::fail(created.error());
    w.janus_session = json_id(created->at("data").at("id"));
    const std::string session_path = base.path + "/" + std::to_string(w.janus_session);
    auto attached =
        janus_call(base, session_path, {{"janus", "attach"}, {"plugin", "janus.plugin.streaming"}});
    if (!attached) return sluice::fail(attached.error());
    const std::string handle_path =
        session_path + "/" + std::to_string(json_id(attached->at("data").at("id")));
    auto watch =
        janus_call(base, handle_path,
                   {{"janus", "message"}, {"body", {{"request", "watch"}, {"id", o.mountpoint}}}});
    if (!watch) return sluice::fail(watch.error());
    // The offer comes as an event on the session's long poll.
    std::string offer;
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (offer.empty() && Clock::now() < deadline) {
      auto res = http_request(base, "GET", session_path + "?maxev=1", "", "", 35);
      if (!res.error.empty()) return sluice::fail(sluice::Error::unavailable(res.error));
      boost::system::error_code ec;
      auto val = json::parse(res.body, ec);
      if (ec) return sluice::fail(sluice::Error::unavailable("Janus: event not JSON"));
      std::vector<json::value> events;
      if (val.is_array()) {
        for (auto& e : val.as_array())
          events.push_back(e);
      } else {
        events.push_back(val);
      }
      for (auto& e : events) {
        if (!e.is_object()) continue;
        auto& eo = e.as_object();
        if (auto* err = eo.if_contains("plugindata")) {
          auto* data = err->as_object().if_contains("data");
          if (data && data->is_object() && data->as_object().if_contains("error")) {
            return sluice::fail(sluice::Error::unavailable(
                "Janus streaming: " + std::string(data->as_object().at("error").as_string())));
          }
        }
        if (auto* jsep = eo.if_contains("jsep"); jsep && jsep->is_object()) {
          offer = std::string(jsep->as_object().at("sdp").as_string());
        }
      }
    }
    if (offer.empty()) return sluice::fail(sluice::Error::unavailable("Janus: no offer in 10 s"));
    auto d = read_description(offer);
    if (!d) return sluice::fail(d.error());
    w.remote = std::move(*d);
    const std::string mid = w.remote.mid.empty() ? "0" : w.remote.mid;
    const std::string answer =
        session_head(mid) + video_section(w.local, cert->fingerprint_sha256(), "active", mid,
                                          w.remote.payload_type, w.remote.fmtp, port);
    auto start = janus_call(base, handle_path,
                            {{"janus", "message"},
                             {"body", {{"request", "start"}}},
                             {"jsep", {{"type", "answer"}, {"sdp", answer}}}});
    if (!start) return sluice::fail(start.error());
    return {};
  }

  void send_check(std::size_t i, Clock::time_point now) {
    Viewer& w = v[i];
    RAND_bytes(w.pending.data(), static_cast<int>(w.pending.size()));
    stun::RequestFields f;
    f.username = w.remote.ufrag + ":" + w.local.ufrag;
    f.password = w.remote.pwd;
    // A peer-reflexive candidate's priority (type preference 110, RFC 8445 5.1.2.1).
    f.priority = (110u << 24) | (65535u << 8) | 255u;
    f.use_candidate = true;
    f.ice_controlling = w.tie_breaker;
    send(i, stun::binding_request(w.pending, f));
    w.awaiting_response = true;
    ++w.stun_tries;
    if (w.state != State::kIce) ++w.consent_sent;
    w.next_stun =
        now + (w.state == State::kIce ? std::chrono::milliseconds(200)
                                      : std::chrono::duration_cast<std::chrono::milliseconds>(
                                            std::chrono::duration<double>(o.consent)));
  }

  void flush_dtls(std::size_t i, std::vector<std::string>& out) {
    for (const auto& d : out)
      send(i, d);
    out.clear();
  }

  void on_stun(std::size_t i, std::span<const std::uint8_t> bytes, Clock::time_point now) {
    Viewer& w = v[i];
    auto m = stun::parse(bytes);
    if (!m) {
      ++errors["STUN: unparsable message"];
      return;
    }
    if (m->type == stun::kBindingRequest) {
      // The server checks us (a full agent would): answer with our password.
      const std::string expected = w.local.ufrag + ":" + w.remote.ufrag;
      if (!m->username || *m->username != expected || !stun::integrity_ok(bytes, *m, w.local.pwd)) {
        send(i, stun::binding_error(m->transaction, 401, "Unauthorized"));
        return;
      }
      send(i, stun::binding_success(m->transaction, to_stun(w.remote.candidate), w.local.pwd));
      ++w.requests_answered;
      return;
    }
    if (m->transaction != w.pending || !w.awaiting_response) return;  // stale retransmission
    if (m->type == stun::kBindingError) {
      fail_viewer(i, "ICE: Binding error response " + std::to_string(m->error_code.value_or(0)));
      return;
    }
    if (m->type != stun::kBindingSuccess) return;
    if (!stun::integrity_ok(bytes, *m, w.remote.pwd)) {
      ++errors["STUN: success response with bad integrity"];
      return;
    }
    w.awaiting_response = false;
    if (w.state != State::kIce) {
      ++w.consent_answered;
      return;
    }
    // Connectivity (and, with USE-CANDIDATE, the nomination) done: DTLS.
    w.ice_done = now;
    w.state = State::kDtls;
    w.next_stun = now + std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::duration<double>(o.consent));
    std::vector<std::string> out;
    if (auto s = w.dtls->start(out); !s) {
      fail_viewer(i, s.error().detail);
      return;
    }
    flush_dtls(i, out);
  }

  void on_dtls(std::size_t i, std::span<const std::uint8_t> bytes, Clock::time_point now) {
    Viewer& w = v[i];
    std::vector<std::string> out;
    auto s = w.dtls->on_datagram(bytes, out);
    flush_dtls(i, out);
    if (!s) {
      fail_viewer(i, s.error().detail);
      return;
    }
    if (w.state == State::kDtls && w.dtls->connected()) {
      auto srtp = webrtc::SrtpSession::create(*w.dtls->keys());
      if (!srtp) {
        fail_viewer(i, srtp.error().detail);
        return;
      }
      w.srtp = std::move(*srtp);
      w.srtp_profile = w.dtls->keys()->profile;
      w.dtls_done = now;
      w.state = State::kMedia;
    }
  }

  void on_srtp(std::size_t i, const std::uint8_t* data, std::size_t size, Clock::time_point now) {
    Viewer& w = v[i];
    if (!w.srtp || size < 12) return;
    const std::uint8_t pt = data[1];
    buf.assign(reinterpret_cast<const char*>(data), size);
    // rtcp-mux (RFC 5761): packet types 192..223 are RTCP.
    if (pt >= 192 && pt <= 223) {
      if (w.srtp->unprotect_rtcp(buf)) {
        ++w.c.rtcp;
      } else {
        ++w.c.unprotect_failures;
      }
      return;
    }
    if (!w.srtp->unprotect_rtp(buf)) {
      ++w.c.unprotect_failures;
      return;
    }
    if (w.c.rtp == 0) w.first_media = now;
    ++w.c.rtp;
    w.c.bytes += size;
    if (data[1] & 0x80) ++w.c.frames;
    const std::uint16_t seq = static_cast<std::uint16_t>((data[2] << 8) | data[3]);
    const std::uint32_t ssrc = (std::uint32_t{data[8]} << 24) | (std::uint32_t{data[9]} << 16) |
                               (std::uint32_t{data[10]} << 8) | data[11];
    if (!w.have_seq || ssrc != w.ssrc) {
      if (w.have_seq) ++w.ssrc_changes;
      w.have_seq = true;
      w.ssrc = ssrc;
      w.next_seq = static_cast<std::uint16_t>(seq + 1);
      return;
    }
    const std::uint16_t d = static_cast<std::uint16_t>(seq - w.next_seq);
    if (d == 0) {
      w.next_seq = static_cast<std::uint16_t>(seq + 1);
    } else if (d < 32768) {
      w.c.lost += d;
      w.next_seq = static_cast<std::uint16_t>(seq + 1);
    } else if (d == 0xFFFF) {
      ++w.c.duplicates;
    } else {
      ++w.c.out_of_order;
    }
  }

  void on_readable(std::size_t i, Clock::time_point now) {
    static std::uint8_t data[65536];
    for (int n = 0; n < 256; ++n) {
      Viewer& w = v[i];
      if (w.fd < 0) return;
      const ssize_t r = ::recv(w.fd, data, sizeof data, 0);
      if (r < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
        if (errno == ECONNREFUSED) {
          // ICMP port unreachable: the server's port is not (yet) open; retransmissions go on.
          ++errors["ICMP port unreachable"];
          if (w.state == State::kMedia) fail_viewer(i, "the server's port closed");
          return;
        }
        fail_viewer(i, std::string("recv: ") + std::strerror(errno));
        return;
      }
      if (r == 0) continue;
      const auto size = static_cast<std::size_t>(r);
      const std::uint8_t b = data[0];
      // RFC 7983 demultiplexing.
      if (b <= 3) {
        on_stun(i, {data, size}, now);
      } else if (b >= 20 && b <= 63) {
        on_dtls(i, {data, size}, now);
      } else if (b >= 128 && b <= 191) {
        on_srtp(i, data, size, now);
      }
    }
  }

  void timers(Clock::time_point now) {
    for (std::size_t i = 0; i < v.size(); ++i) {
      Viewer& w = v[i];
      if (w.state == State::kIdle || w.state == State::kFailed) continue;
      if (w.state != State::kMedia || w.c.rtp == 0) {
        if (now - w.started > std::chrono::duration<double>(o.setup_timeout)) {
          const char* where = w.state == State::kIce    ? "ICE (no Binding success response)"
                              : w.state == State::kDtls ? "DTLS handshake"
                                                        : "media (handshake done, no RTP)";
          fail_viewer(i, std::string("setup timeout in ") + where);
          continue;
        }
      }
      if (now >= w.next_stun) send_check(i, now);
      if (w.state == State::kDtls && w.dtls) {
        if (auto t = w.dtls->next_timeout(); t && t->count() <= 0) {
          std::vector<std::string> out;
          w.dtls->on_timeout(out);
          flush_dtls(i, out);
        }
      }
    }
  }

  bool settled(const Viewer& w) const {
    return w.state == State::kFailed || (w.state == State::kMedia && w.c.rtp > 0);
  }
};

// CPU seconds every process used (all cores; /proc/stat's user nice system irq softirq steal).
double machine_busy_seconds() {
  std::ifstream f("/proc/stat");
  std::string cpu;
  unsigned long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0,
                     steal = 0;
  f >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
  return static_cast<double>(user + nice + system + irq + softirq + steal) /
         static_cast<double>(sysconf(_SC_CLK_TCK));
}

// UDP counters of the kernel (all sockets): receive-buffer overflows show a receiver (or the
// server's ingest socket) that did not keep up.
std::map<std::string, long long> udp_counters() {
  std::ifstream f("/proc/net/snmp");
  std::string names, values, line;
  while (std::getline(f, line)) {
    if (line.rfind("Udp: ", 0) == 0) {
      if (names.empty()) {
        names = line;
      } else {
        values = line;
        break;
      }
    }
  }
  std::map<std::string, long long> out;
  std::istringstream n(names), v(values);
  std::string key, val;
  n >> key;
  v >> val;
  while (n >> key && v >> val)
    out[key] = std::stoll(val);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  Run run;
  Options& o = run.o;
  CLI::App app{
      "webrtc_viewers: N headless WebRTC viewers (ICE controlling, DTLS client, SRTP) in one "
      "thread; per-viewer packets, bitrate and sequence gaps"};
  app.add_option("--mode", o.mode, "signalling: whep (POST an offer) or janus (Janus HTTP API)")
      ->check(CLI::IsMember({"whep", "janus"}));
  app.add_option("--url", o.url,
                 "whep: http://HOST:PORT/live/NAME/whep; janus: http://HOST:PORT/janus")
      ->required();
  app.add_option("--mountpoint", o.mountpoint, "janus: the streaming plugin's mountpoint id");
  app.add_option("--viewers", o.viewers, "number of viewers")->check(CLI::Range(1, 5000));
  app.add_option("--wave", o.wave, "viewers at most between signalling and first RTP at once")
      ->check(CLI::Range(1, 5000));
  app.add_option("--duration", o.duration, "measured window, seconds")->check(CLI::PositiveNumber);
  app.add_option("--warmup", o.warmup, "seconds between the last viewer's first RTP and the window")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--setup-timeout", o.setup_timeout,
                 "seconds a viewer may take from signalling to its first RTP packet")
      ->check(CLI::PositiveNumber);
  app.add_option("--consent", o.consent, "seconds between consent-freshness Binding requests")
      ->check(CLI::PositiveNumber);
  app.add_option("--fps", o.fps, "expected frame rate (for the report)")
      ->check(CLI::PositiveNumber);
  app.add_option("--cpu-pid", o.cpu_pids, "report the CPU time of these processes over the window");
  app.add_option("--publisher-pid", o.publisher_pids,
                 "report the CPU time of these processes (the source) over the window, apart");
  app.add_flag("--json", o.json, "print one JSON object on stdout");
  app.add_flag("--verbose", o.verbose, "describe failures on stderr as they happen");
  CLI11_PARSE(app, argc, argv);

  auto base = parse_http_url(o.url);
  if (!base) {
    std::fprintf(stderr, "webrtc_viewers: bad --url '%s'\n", o.url.c_str());
    return 2;
  }
  run.base = *base;
  auto cert = webrtc::DtlsCertificate::generate();
  if (!cert) {
    std::fprintf(stderr, "webrtc_viewers: %s\n", cert.error().detail.c_str());
    return 2;
  }
  run.cert = *cert;
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  run.ep = epoll_create1(EPOLL_CLOEXEC);
  run.v.resize(static_cast<std::size_t>(o.viewers));

  const auto t0 = Clock::now();
  std::size_t next = 0;
  std::optional<Clock::time_point> all_settled, window_start, window_end;
  double cpu0 = -1, cpu1 = -1, self0 = 0, self1 = 0, pub0 = -1, pub1 = -1, all0 = 0, all1 = 0;
  std::map<std::string, long long> udp0, udp1;
  std::vector<epoll_event> events(256);
  for (;;) {
    auto now = Clock::now();
    // Open viewers while fewer than --wave are setting up.
    while (next < run.v.size()) {
      std::size_t setting_up = 0;
      for (std::size_t i = 0; i < next; ++i)
        if (!run.settled(run.v[i])) ++setting_up;
      if (setting_up >= static_cast<std::size_t>(o.wave)) break;
      run.start(next++);
      now = Clock::now();
    }
    const int n = epoll_wait(run.ep, events.data(), static_cast<int>(events.size()), 5);
    now = Clock::now();
    for (int k = 0; k < n; ++k)
      run.on_readable(static_cast<std::size_t>(events[k].data.u64), now);
    run.timers(now);

    if (!all_settled && next == run.v.size() &&
        std::all_of(run.v.begin(), run.v.end(), [&](const Viewer& w) { return run.settled(w); })) {
      all_settled = now;
      if (o.verbose)
        std::fprintf(stderr, "webrtc_viewers: all viewers settled after %.1f s\n",
                     seconds(now - t0));
    }
    if (all_settled && !window_start &&
        now - *all_settled >= std::chrono::duration<double>(o.warmup)) {
      window_start = now;
      for (auto& w : run.v)
        w.window_start = w.c;
      cpu0 = cpu_seconds(o.cpu_pids);
      pub0 = cpu_seconds(o.publisher_pids);
      all0 = machine_busy_seconds();
      self0 = self_cpu_seconds();
      udp0 = udp_counters();
    }
    if (window_start && now - *window_start >= std::chrono::duration<double>(o.duration)) {
      window_end = now;
      cpu1 = cpu_seconds(o.cpu_pids);
      pub1 = cpu_seconds(o.publisher_pids);
      all1 = machine_busy_seconds();
      self1 = self_cpu_seconds();
      udp1 = udp_counters();
      break;
    }
  }

  // Report.
  const double window = seconds(*window_end - *window_start);
  std::size_t receiving = 0, failed = 0, with_loss = 0, stalled = 0;
  std::vector<double> kbps, fps, setup_ms, ice_ms, dtls_ms;
  Counters sum;
  std::map<std::string, int> profiles;
  std::uint64_t consent_sent = 0, consent_answered = 0, requests_answered = 0, ssrc_changes = 0;
  for (auto& w : run.v) {
    if (w.state == State::kFailed) {
      ++failed;
      continue;
    }
    ++receiving;
    Counters d;
    d.rtp = w.c.rtp - w.window_start.rtp;
    d.bytes = w.c.bytes - w.window_start.bytes;
    d.frames = w.c.frames - w.window_start.frames;
    d.lost = w.c.lost - w.window_start.lost;
    d.out_of_order = w.c.out_of_order - w.window_start.out_of_order;
    d.duplicates = w.c.duplicates - w.window_start.duplicates;
    d.rtcp = w.c.rtcp - w.window_start.rtcp;
    d.unprotect_failures = w.c.unprotect_failures - w.window_start.unprotect_failures;
    sum.rtp += d.rtp;
    sum.bytes += d.bytes;
    sum.frames += d.frames;
    sum.lost += d.lost;
    sum.out_of_order += d.out_of_order;
    sum.duplicates += d.duplicates;
    sum.rtcp += d.rtcp;
    sum.unprotect_failures += d.unprotect_failures;
    if (d.lost > 0) ++with_loss;
    if (d.rtp == 0) ++stalled;
    kbps.push_back(8.0 * static_cast<double>(d.bytes) / window / 1000.0);
    fps.push_back(static_cast<double>(d.frames) / window);
    setup_ms.push_back(ms(w.first_media - w.started));
    ice_ms.push_back(ms(w.ice_done - w.started));
    dtls_ms.push_back(ms(w.dtls_done - w.ice_done));
    ++profiles[w.srtp_profile == 7   ? "AEAD_AES_128_GCM"
               : w.srtp_profile == 1 ? "AES128_CM_HMAC_SHA1_80"
                                     : std::to_string(w.srtp_profile)];
    consent_sent += w.consent_sent;
    consent_answered += w.consent_answered;
    requests_answered += w.requests_answered;
    ssrc_changes += w.ssrc_changes;
  }
  auto mean = [](const std::vector<double>& x) {
    double s = 0;
    for (double d : x)
      s += d;
    return x.empty() ? 0.0 : s / static_cast<double>(x.size());
  };
  auto minv = [](const std::vector<double>& x) {
    return x.empty() ? 0.0 : *std::min_element(x.begin(), x.end());
  };
  auto maxv = [](const std::vector<double>& x) {
    return x.empty() ? 0.0 : *std::max_element(x.begin(), x.end());
  };
  const double server_cpu = (cpu0 >= 0 && cpu1 >= 0) ? cpu1 - cpu0 : -1;
  auto udp_delta = [&](const char* k) { return udp1[k] - udp0[k]; };

  if (o.json) {
    Json j;
    j.add("tool", json_str("webrtc_viewers"));
    j.add("mode", json_str(o.mode));
    j.add("url", json_str(o.url));
    j.add("viewers", std::to_string(o.viewers));
    j.add("receiving", std::to_string(receiving));
    j.add("failed", std::to_string(failed));
    j.add("stalled_in_window", std::to_string(stalled));
    j.add("setup_s", num(seconds(*all_settled - t0)));
    j.add("setup_ms", json_pct(percentiles(setup_ms)));
    j.add("ice_ms", json_pct(percentiles(ice_ms)));
    j.add("dtls_ms", json_pct(percentiles(dtls_ms)));
    j.add("window_s", num(window));
    j.add("rtp_packets", std::to_string(sum.rtp));
    j.add("rtp_bytes", std::to_string(sum.bytes));
    j.add("frames", std::to_string(sum.frames));
    j.add("lost_packets", std::to_string(sum.lost));
    j.add("viewers_with_loss", std::to_string(with_loss));
    j.add("out_of_order", std::to_string(sum.out_of_order));
    j.add("duplicates", std::to_string(sum.duplicates));
    j.add("ssrc_changes", std::to_string(ssrc_changes));
    j.add("rtcp_packets", std::to_string(sum.rtcp));
    j.add("unprotect_failures", std::to_string(sum.unprotect_failures));
    j.add("kbps_per_viewer", "{\"min\":" + num(minv(kbps), "%.1f") +
                                 ",\"mean\":" + num(mean(kbps), "%.1f") +
                                 ",\"max\":" + num(maxv(kbps), "%.1f") + "}");
    j.add("fps_per_viewer", "{\"min\":" + num(minv(fps), "%.2f") +
                                ",\"mean\":" + num(mean(fps), "%.2f") +
                                ",\"max\":" + num(maxv(fps), "%.2f") + "}");
    j.add("packets_per_s", num(static_cast<double>(sum.rtp) / window, "%.0f"));
    std::string prof = "{";
    for (auto& [k, c] : profiles)
      prof += (prof.size() > 1 ? "," : "") + json_str(k) + ":" + std::to_string(c);
    j.add("srtp_profiles", prof + "}");
    j.add("consent_checks", std::to_string(consent_sent));
    j.add("consent_answered", std::to_string(consent_answered));
    j.add("server_checks_answered", std::to_string(requests_answered));
    j.add("server_cpu_s", server_cpu >= 0 ? num(server_cpu) : "null");
    j.add("server_cpu_pct", server_cpu >= 0 ? num(100 * server_cpu / window, "%.2f") : "null");
    j.add("server_cpu_pct_per_viewer",
          server_cpu >= 0 && receiving > 0
              ? num(100 * server_cpu / window / static_cast<double>(receiving), "%.4f")
              : "null");
    j.add("self_cpu_pct", num(100 * (self1 - self0) / window, "%.1f"));
    const double pub = pub0 >= 0 && pub1 >= 0 ? pub1 - pub0 : 0;
    j.add("publisher_cpu_pct", pub0 >= 0 && pub1 >= 0 ? num(100 * pub / window, "%.1f") : "null");
    // Everything the machine ran in the window, and what was neither the server, the source nor
    // this tool: other workers disturbing the run.
    j.add("machine_busy_pct", num(100 * (all1 - all0) / window, "%.1f"));
    j.add("others_cpu_pct",
          num(std::max(0.0,
                       100 * ((all1 - all0) - std::max(0.0, server_cpu) - pub - (self1 - self0)) /
                           window),
              "%.1f"));
    j.add("udp_rcvbuf_errors", std::to_string(udp_delta("RcvbufErrors")));
    j.add("udp_sndbuf_errors", std::to_string(udp_delta("SndbufErrors")));
    j.add("udp_in_errors", std::to_string(udp_delta("InErrors")));
    std::string errs = "{";
    for (auto& [k, c] : run.errors)
      errs += (errs.size() > 1 ? "," : "") + json_str(k) + ":" + std::to_string(c);
    j.add("errors", errs + "}");
    std::printf("%s\n", j.close().c_str());
  }
  std::fprintf(stderr,
               "webrtc_viewers %s: %zu/%d receiving, %zu failed; window %.1f s: %.0f kbps/viewer "
               "(min %.0f), %.2f fps/viewer, %llu lost packets (%zu viewers), %llu unprotect "
               "failures; server CPU %.1f%% of a core (%.3f%% per viewer); self %.0f%%\n",
               o.mode.c_str(), receiving, o.viewers, failed, window, mean(kbps), minv(kbps),
               mean(fps), static_cast<unsigned long long>(sum.lost), with_loss,
               static_cast<unsigned long long>(sum.unprotect_failures),
               server_cpu >= 0 ? 100 * server_cpu / window : -1.0,
               server_cpu >= 0 && receiving
                   ? 100 * server_cpu / window / static_cast<double>(receiving)
                   : -1.0,
               100 * (self1 - self0) / window);
  for (auto& [k, c] : run.errors)
    std::fprintf(stderr, "  %d x %s\n", c, k.c_str());

  // Teardown, best effort: free the server's sessions now rather than at their timeouts.
  for (auto& w : run.v) {
    if (w.fd >= 0) ::close(w.fd);
    if (o.mode == "whep" && !w.whep_resource.empty()) {
      std::string path = w.whep_resource;
      if (path.rfind("http://", 0) == 0) path = path.substr(path.find('/', 7));
      http_request(run.base, "DELETE", path, "", "", 2);
    } else if (o.mode == "janus" && w.janus_session != 0) {
      janus_call(run.base, run.base.path + "/" + std::to_string(w.janus_session),
                 {{"janus", "destroy"}}, 2);
    }
  }
  return receiving > 0 ? 0 : 3;
}
