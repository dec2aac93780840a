#include "core/config.hpp"

#include <toml++/toml.h>

#include <CLI/CLI.hpp>
#include <sstream>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string_view>

#include "core/version.hpp"

extern char** environ;

namespace sluice {
namespace {

struct KeyInfo {
  const char* key;
  const char* help;
};

constexpr KeyInfo kKeys[] = {
    {"http", "HTTP API listen address HOST:PORT (default 0.0.0.0:8080)"},
    {"wire", "relay (wire protocol) listen address HOST:PORT (default 0.0.0.0:7070)"},
    {"wire-tls",
     "relay TLS 1.3 listen address HOST:PORT, used with tls-cert (default 0.0.0.0:7071)"},
    {"tls-cert", "PEM certificate chain for the TLS listener (enables it)"},
    {"tls-key", "PEM private key for the TLS listener"},
    {"wire-advertise-host", "relay address published in the registry (default: the wire host)"},
    {"wire-users", "file of relay users, lines 'name:SCRAM-SHA-256$...' from `sluice passwd`"},
    {"wire-tokens", "file of relay bearer tokens, one per line (accepted over TLS only)"},
    {"wire-anonymous",
     "true|false: accept relay sessions without credentials (default: true only while no "
     "wire-users or wire-tokens are configured)"},
    {"wire-tokens-without-tls", "true|false: also accept tokens over plain TCP (default false)"},
    {"stream-ttl", "seconds a stream, session or subscriber lives without heartbeat (default 30)"},
    {"request-timeout", "seconds to wait for a publisher's answer to a request (default 5)"},
    {"history",
     "session history: SQLite file path, :memory:, or postgres://USER@HOST:PORT/DB shared by "
     "all nodes (default <data-dir>/history.db)"},
    {"store",
     "registry store: 'memory' (default) or redis://[:PASSWORD@]HOST[:PORT][/DB] shared by all "
     "nodes"},
    {"bus",
     "event bus: 'local' (default) or nats://HOST:PORT[,nats://HOST:PORT...] shared by all "
     "nodes"},
    {"global-channels",
     "comma-separated relay channel patterns (NATS wildcards) bridged between nodes through the "
     "bus, e.g. 'telemetry.>,show.cues' (default none)"},
    {"data-dir", "directory for persistent files (default ~/.local/share/sluice)"},
    {"log-level", "trace|debug|info|warn|error|off (default info)"},
    {"log-format", "text|json (default text)"},
    {"threads", "I/O threads, 0 for one per core (default 0)"},
    {"max-body", "largest accepted HTTP request body in bytes (default 1048576)"},
    {"key-secret-file",
     "file holding the secret stream keys are hashed under; created (32 random bytes, mode "
     "0600) when missing (default <data-dir>/key-secret)"},
    {"admin-token",
     "bootstrap admin bearer token (every permission), or @PATH to read it from a file "
     "(default: unset)"},
    {"auth",
     "open|owner|required: owner (default) lets clients without credentials do what Maestra's "
     "SDKs do to what they own; required needs an identity for every request; open is the "
     "behaviour before identities (docs/security.md)"},
    {"loopback-admin",
     "true|false: clients on this machine (127.0.0.0/8, ::1) without credentials are admin "
     "(default false)"},
    {"cors-origins",
     "comma-separated browser origins allowed to use the API, /ws and /wire, e.g. "
     "'https://console.example:8443' (default none)"},
    {"trusted-proxies",
     "comma-separated addresses or CIDRs of reverse proxies whose X-Forwarded-For names the "
     "client (default none)"},
    {"dev-key", "true|false: create and print a publish key for stream 'dev' at start"},
    {"rtmp", "RTMP listen address HOST:PORT, or 'off' (default 0.0.0.0:1935)"},
    {"https",
     "HTTPS listen address HOST:PORT serving every route, /ws and /wire over TLS with tls-cert and "
     "tls-key, or 'off' (default off)"},
    {"rtmps",
     "RTMPS listen address HOST:PORT (OBS rtmps://) with tls-cert and tls-key, or 'off' "
     "(default off)"},
    {"rtsp", "RTSP listen address HOST:PORT, or 'off' (default 0.0.0.0:8554)"},
    {"srt",
     "SRT listen address HOST:PORT (UDP; MPEG-TS publishers), or 'off' (default 0.0.0.0:8890)"},
    {"webrtc-udp",
     "WebRTC UDP address HOST:PORT every WHEP/WHIP peer shares (ICE-lite), or 'off' (default "
     "0.0.0.0:8189)"},
    {"webrtc-host",
     "addresses announced as WebRTC host candidates, comma-separated (default: the webrtc-udp "
     "address, or every interface's when it is 0.0.0.0)"},
    {"webrtc-ice-servers",
     "STUN/TURN servers handed to WebRTC clients, comma-separated: stun:HOST:PORT, "
     "turn:USER:PASSWORD@HOST:PORT (default none)"},
    {"webrtc-transcode",
     "on|off: AAC audio is transcoded to Opus for WebRTC viewers (off: they get the video only; "
     "default on)"},
    {"record-dir",
     "directory recordings are written to (the record_paths setting says which paths; default "
     "<data-dir>/recordings)"},
    {"onvif",
     "on|off: the ONVIF Profile S device (/onvif/device_service on the HTTP port) and its "
     "WS-Discovery on UDP 3702 (default on)"},
    {"onvif-interfaces",
     "network interfaces WS-Discovery joins and announces on, comma-separated, e.g. 'eth0' "
     "(default: every interface with multicast)"},
    {"osc",
     "OSC gateway UDP listen address HOST:PORT (each OSC address becomes the relay channel "
     "osc.<address with / as .>; settings osc_payload, osc_targets), or 'off' (default "
     "0.0.0.0:57120)"},
    {"mqtt",
     "MQTT 3.1.1/5 listener HOST:PORT (also MQTT over WebSockets at /mqtt on the HTTP port; "
     "Maestra's maestra/stream/... topics reach the registry, other topics the hub with / as "
     "'.'), or 'off' (default 0.0.0.0:1883)"},
    {"mdns",
     "on|off: the mDNS/DNS-SD responder on UDP 5353 announcing _maestra._tcp (what Maestra's "
     "SDKs discover), _sluice._tcp, _http._tcp and _rtsp._tcp for the camera aliases "
     "(default on)"},
    {"mdns-interfaces",
     "network interfaces mDNS answers and announces on, comma-separated, e.g. 'eth0' or 'lo' "
     "(default: every interface with multicast, and loopback)"},
    {"srt-passphrase",
     "SRT encryption passphrase (10-79 characters), or empty for none (default none)"},
    {"srt-latency", "SRT latency in milliseconds, 20-10000 (default 120)"},
    {"rtsps",
     "RTSPS listen address HOST:PORT (rtsps://, RTP interleaved in TLS) with tls-cert and "
     "tls-key, or 'off' (default off)"},
    {"rtsp-udp-ports",
     "UDP ports for RTSP over UDP: MIN-MAX (the first free even/odd pair is used: RTP, RTCP), "
     "0 for any free pair, or 'off' for RTSP over TCP only (default 8000-8001)"},
    {"rtsp-alias",
     "camera aliases ALIAS=PATH, comma-separated or repeated: rtsp://HOST:PORT/ALIAS plays live "
     "path PATH (e.g. stream1=cam; default none)"},
    {"rtmp-takeover",
     "true|false: a second publisher with a valid key takes over a live path instead of being "
     "refused (default false)"},
    {"hls-segment", "HLS segment length in seconds, 1-10 (default 2)"},
    {"hls-variant",
     "mpegts|fmp4|lowlatency: MPEG-TS segments, fragmented MP4 segments, or Low-Latency HLS "
     "(fMP4 parts, preload hints, blocking playlist reload) (default lowlatency)"},
    {"media-webhook",
     "URL that receives each media lifecycle event as a JSON POST (default unset)"},
};

constexpr std::size_t kMinAdminToken = 16;

// Keys that are also bare flags (`--dev-key` means true).
bool is_bare_flag(std::string_view key) {
  return key == "dev-key";
}

// "a, b,c" -> {"a", "b", "c"}: items trimmed, empty ones dropped.
// "MIN-MAX" or "PORT" (then PORT-PORT+1); "0": any free pair.
std::pair<int, int> parse_port_range(const std::string& v, const std::string& key) {
  const auto dash = v.find('-');
  auto number = [&](const std::string& s) {
    int n = -1;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc{} || p != s.data() + s.size() || n < 0 || n > 65534) {
      throw ConfigError("'" + key + "' must be MIN-MAX, a port, 0 or 'off', got '" + v + "'");
    }
    return n;
  };
  const int first = number(v.substr(0, dash));
  const int last = dash == std::string::npos ? first + 1 : number(v.substr(dash + 1));
  if (first != 0 && last < first + 1) {
    throw ConfigError("'" + key + "' needs room for two ports (RTP and RTCP), got '" + v + "'");
  }
  return {first, first == 0 ? 0 : last};
}

std::vector<std::string> split_list(const std::string& v) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= v.size()) {
    auto comma = v.find(',', start);
    std::string item =
        v.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    while (!item.empty() && item.front() == ' ')
      item.erase(item.begin());
    while (!item.empty() && item.back() == ' ')
      item.pop_back();
    if (!item.empty()) out.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string env_name(std::string key) {
  std::string out = "SLUICE_";
  for (char c : key)
    out.push_back(c == '-' ? '_' : static_cast<char>(std::toupper(c)));
  return out;
}

double parse_number(const std::string& v, const std::string& key) {
  double out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc{} || p != v.data() + v.size()) {
    throw ConfigError("'" + key + "' must be a number, got '" + v + "'");
  }
  return out;
}

std::string toml_to_string(const toml::node& n, const std::string& key) {
  if (auto s = n.value<std::string>()) return *s;
  if (n.is_integer()) return std::to_string(*n.value<std::int64_t>());
  if (n.is_floating_point()) return std::to_string(*n.value<double>());
  if (n.is_boolean()) return *n.value<bool>() ? "true" : "false";
  throw ConfigError("config key '" + key + "' must be a string or a number");
}

// The flat keys of a config file, and its [[pipeline]] tables as JSON text in `pipelines`.
std::map<std::string, std::string> read_toml(const std::string& path,
                                             std::vector<std::string>& pipelines) {
  std::map<std::string, std::string> out;
  toml::table table;
  try {
    table = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    throw ConfigError("cannot read config file '" + path + "': " + std::string(e.description()));
  }
  for (auto&& [k, v] : table) {
    if (k.str() == "pipeline") {  // [[pipeline]]: the POST /pipelines JSON, as TOML
      const toml::array* list = v.as_array();
      if (!list || !list->is_array_of_tables()) {
        throw ConfigError("'pipeline' in " + path + " must be [[pipeline]] tables");
      }
      for (const auto& item : *list) {
        std::ostringstream json;
        json << toml::json_formatter{*item.as_table()};
        pipelines.push_back(json.str());
      }
      continue;
    }
    std::string key(k.str());
    std::replace(key.begin(), key.end(), '_', '-');
    bool known = std::any_of(std::begin(kKeys), std::end(kKeys),
                             [&](const KeyInfo& info) { return key == info.key; }) ||
                 std::any_of(limit_keys().begin(), limit_keys().end(),
                             [&](const LimitKey& info) { return key == info.key; });
    if (!known) throw ConfigError("unknown key '" + std::string(k.str()) + "' in " + path);
    out[key] = toml_to_string(v, key);
  }
  return out;
}

bool parse_bool(const std::string& v, const std::string& key) {
  if (v == "true" || v == "1" || v == "yes") return true;
  if (v == "false" || v == "0" || v == "no") return false;
  throw ConfigError("'" + key + "' must be true or false, got '" + v + "'");
}

// "@PATH": the file's content without trailing whitespace; anything else is the token itself.
std::string read_admin_token(const std::string& v) {
  std::string token = v;
  if (v.starts_with("@")) {
    std::ifstream in(v.substr(1));
    if (!in) throw ConfigError("'admin-token': cannot read " + v.substr(1));
    token.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back())))
      token.pop_back();
  }
  if (token.size() < kMinAdminToken) {
    throw ConfigError("'admin-token' must be at least " + std::to_string(kMinAdminToken) +
                      " characters");
  }
  if (std::any_of(token.begin(), token.end(),
                  [](unsigned char ch) { return ch <= ' ' || ch >= 0x7f; })) {
    throw ConfigError("'admin-token' must be printable ASCII without spaces");
  }
  return token;
}

void apply(Config& c, const std::string& key, const std::string& v) {
  if (apply_limit(c.limits, key, v)) return;
  if (key == "http") {
    c.http = parse_host_port(v, key);
  } else if (key == "wire") {
    c.wire = parse_host_port(v, key);
  } else if (key == "wire-tls") {
    c.wire_tls = parse_host_port(v, key);
  } else if (key == "tls-cert") {
    c.tls_cert = v;
  } else if (key == "tls-key") {
    c.tls_key = v;
  } else if (key == "wire-advertise-host") {
    c.wire_advertise_host = v;
  } else if (key == "wire-users") {
    c.wire_users = v;
  } else if (key == "wire-tokens") {
    c.wire_tokens = v;
  } else if (key == "wire-anonymous") {
    c.wire_anonymous = parse_bool(v, key);
  } else if (key == "wire-tokens-without-tls") {
    c.wire_tokens_without_tls = parse_bool(v, key);
  } else if (key == "stream-ttl") {
    double s = parse_number(v, key);
    if (s < 1 || s > 86400) throw ConfigError("'stream-ttl' must be between 1 and 86400 seconds");
    c.stream_ttl = std::chrono::seconds(static_cast<long>(s));
  } else if (key == "request-timeout") {
    double s = parse_number(v, key);
    if (s <= 0 || s > 300) throw ConfigError("'request-timeout' must be in (0, 300] seconds");
    c.request_timeout = std::chrono::milliseconds(static_cast<long>(s * 1000));
  } else if (key == "history") {
    if (v.empty()) throw ConfigError("'history' must not be empty");
    c.history = v;
  } else if (key == "store") {
    if (v != "memory" && !v.starts_with("redis://")) {
      throw ConfigError("'store' must be 'memory' or a redis:// URL, got '" + v + "'");
    }
    c.store = v == "memory" ? "" : v;
  } else if (key == "bus") {
    if (v != "local" && !v.starts_with("nats://")) {
      throw ConfigError("'bus' must be 'local' or a nats:// URL, got '" + v + "'");
    }
    c.bus = v == "local" ? "" : v;
  } else if (key == "global-channels") {
    c.global_channels = split_list(v);
  } else if (key == "auth") {
    if (v != "open" && v != "owner" && v != "required") {
      throw ConfigError("'auth' must be open, owner or required, got '" + v + "'");
    }
    c.auth = v;
  } else if (key == "loopback-admin") {
    c.loopback_admin = parse_bool(v, key);
  } else if (key == "cors-origins") {
    c.cors_origins = split_list(v);
    for (const auto& o : c.cors_origins) {
      if (!o.starts_with("http://") && !o.starts_with("https://")) {
        throw ConfigError("'cors-origins' lists origins like https://host:port, got '" + o + "'");
      }
    }
  } else if (key == "trusted-proxies") {
    c.trusted_proxies = split_list(v);
  } else if (key == "data-dir") {
    c.data_dir = v;
  } else if (key == "log-level") {
    static const char* levels[] = {"trace", "debug", "info", "warn", "error", "critical", "off"};
    if (std::find(std::begin(levels), std::end(levels), v) == std::end(levels)) {
      throw ConfigError("'log-level' must be one of trace, debug, info, warn, error, off");
    }
    c.log_level = v;
  } else if (key == "log-format") {
    if (v != "text" && v != "json") throw ConfigError("'log-format' must be text or json");
    c.log_format = v;
  } else if (key == "threads") {
    double n = parse_number(v, key);
    if (n < 0 || n > 64) throw ConfigError("'threads' must be between 0 and 64");
    c.threads = static_cast<unsigned>(n);
  } else if (key == "max-body") {
    double n = parse_number(v, key);
    if (n < 1024 || n > (1 << 30)) throw ConfigError("'max-body' must be between 1 KiB and 1 GiB");
    c.max_body_bytes = static_cast<std::size_t>(n);
  } else if (key == "key-secret-file") {
    if (v.empty()) throw ConfigError("'key-secret-file' must not be empty");
    c.key_secret_file = v;
  } else if (key == "admin-token") {
    c.admin_token = read_admin_token(v);
  } else if (key == "dev-key") {
    c.dev_key = parse_bool(v, key);
  } else if (key == "https") {
    c.https_enabled = v != "off";
    if (c.https_enabled) c.https = parse_host_port(v, key);
  } else if (key == "rtmps") {
    c.rtmps_enabled = v != "off";
    if (c.rtmps_enabled) c.rtmps = parse_host_port(v, key);
  } else if (key == "rtmp") {
    c.rtmp_enabled = v != "off";
    if (c.rtmp_enabled) c.rtmp = parse_host_port(v, key);
  } else if (key == "rtsp") {
    c.rtsp_enabled = v != "off";
    if (c.rtsp_enabled) c.rtsp = parse_host_port(v, key);
  } else if (key == "srt") {
    c.srt_enabled = v != "off";
    if (c.srt_enabled) c.srt = parse_host_port(v, key);
  } else if (key == "webrtc-udp") {
    c.webrtc_enabled = v != "off";
    if (c.webrtc_enabled) c.webrtc_udp = parse_host_port(v, key);
  } else if (key == "webrtc-transcode") {
    if (v != "on" && v != "off") {
      throw ConfigError("'webrtc-transcode' must be on or off, got '" + v + "'");
    }
    c.webrtc_transcode = v == "on";
  } else if (key == "record-dir") {
    if (v.empty()) throw ConfigError("'record-dir' must not be empty");
    c.record_dir = v;
  } else if (key == "onvif") {
    if (v != "on" && v != "off") throw ConfigError("'onvif' must be on or off, got '" + v + "'");
    c.onvif_enabled = v == "on";
  } else if (key == "onvif-interfaces") {
    c.onvif_interfaces = split_list(v);
  } else if (key == "osc") {
    c.osc_enabled = v != "off";
    if (c.osc_enabled) c.osc = parse_host_port(v, key);
  } else if (key == "mqtt") {
    c.mqtt_enabled = v != "off";
    if (c.mqtt_enabled) c.mqtt = parse_host_port(v, key);
  } else if (key == "mdns") {
    if (v != "on" && v != "off") throw ConfigError("'mdns' must be on or off, got '" + v + "'");
    c.mdns_enabled = v == "on";
  } else if (key == "mdns-interfaces") {
    c.mdns_interfaces = split_list(v);
  } else if (key == "webrtc-host") {
    c.webrtc_hosts = split_list(v);
    for (const auto& h : c.webrtc_hosts) {
      if (h.empty() || h == "0.0.0.0" || h == "::" || h.find_first_of(" /") != std::string::npos) {
        throw ConfigError("'webrtc-host' lists IP addresses to announce, got '" + h + "'");
      }
    }
  } else if (key == "webrtc-ice-servers") {
    c.webrtc_ice_servers = split_list(v);
    for (const auto& server : c.webrtc_ice_servers) {
      if (!server.starts_with("stun:") && !server.starts_with("turn:") &&
          !server.starts_with("turns:")) {
        throw ConfigError("'webrtc-ice-servers' lists stun:, turn: or turns: URLs, got '" + server +
                          "'");
      }
    }
  } else if (key == "srt-passphrase") {
    if (!v.empty() && (v.size() < 10 || v.size() > 79)) {
      throw ConfigError("'srt-passphrase' must be 10 to 79 characters (or empty)");
    }
    c.srt_passphrase = v;
  } else if (key == "srt-latency") {
    const double ms = parse_number(v, key);
    if (ms < 20 || ms > 10000) throw ConfigError("'srt-latency' must be 20 to 10000 ms");
    c.srt_latency_ms = static_cast<int>(ms);
  } else if (key == "rtsps") {
    c.rtsps_enabled = v != "off";
    if (c.rtsps_enabled) c.rtsps = parse_host_port(v, key);
  } else if (key == "rtsp-udp-ports") {
    c.rtsp_udp_enabled = v != "off";
    if (c.rtsp_udp_enabled) c.rtsp_udp_ports = parse_port_range(v, key);
  } else if (key == "rtsp-alias") {
    c.rtsp_aliases.clear();
    for (const auto& item : split_list(v)) {
      auto alias = parse_rtsp_alias(item);
      if (!alias) {
        throw ConfigError(
            "'rtsp-alias' entries are ALIAS=PATH (letters, digits, '_', '-', '.'), "
            "got '" +
            item + "'");
      }
      c.rtsp_aliases.push_back(*alias);
    }
  } else if (key == "rtmp-takeover") {
    c.rtmp_takeover = parse_bool(v, key);
  } else if (key == "hls-segment") {
    double s = parse_number(v, key);
    if (s < 1 || s > 10) throw ConfigError("'hls-segment' must be between 1 and 10 seconds");
    c.hls_segment = std::chrono::milliseconds(static_cast<long>(s * 1000));
  } else if (key == "hls-variant") {
    if (v != "mpegts" && v != "fmp4" && v != "lowlatency") {
      throw ConfigError("'hls-variant' must be mpegts, fmp4 or lowlatency, got '" + v + "'");
    }
    c.hls_variant = v;
  } else if (key == "media-webhook") {
    if (!v.empty() && !v.starts_with("http://")) {
      throw ConfigError("'media-webhook' must be an http:// URL");
    }
    c.media_webhook = v;
  }
}

}  // namespace

std::string HostPort::to_string() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

HostPort parse_host_port(const std::string& text, const std::string& key) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos) {
    throw ConfigError("'" + key + "' must be HOST:PORT, got '" + text + "'");
  }
  std::string host = text.substr(0, colon);
  std::string port_text = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) host = "0.0.0.0";
  unsigned port = 0;
  auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc{} || p != port_text.data() + port_text.size() ||
      port > 65535) {
    throw ConfigError("'" + key + "' has an invalid port in '" + text + "'");
  }
  return HostPort{host, static_cast<std::uint16_t>(port)};
}

std::string Config::history_path() const {
  if (!history.empty()) return history;
  return data_dir + "/history.db";
}

std::string Config::state_path() const {
  return data_dir.empty() ? std::string(":memory:") : data_dir + "/state.db";
}

std::string Config::key_secret_path() const {
  if (!key_secret_file.empty()) return key_secret_file;
  if (data_dir.empty()) return {};
  return data_dir + "/key-secret";
}

std::map<std::string, std::string> current_environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string entry(*e);
    auto eq = entry.find('=');
    if (eq != std::string::npos && entry.starts_with("SLUICE_")) {
      env[entry.substr(0, eq)] = entry.substr(eq + 1);
    }
  }
  return env;
}

ConfigOutcome load_config(int argc, const char* const* argv,
                          const std::map<std::string, std::string>& environment) {
  CLI::App app{"sluiced — the sluice stream manager daemon", "sluiced"};
  app.set_version_flag("--version", std::string(kVersion));
  std::string config_path;
  app.add_option("--config", config_path, "TOML file with the same keys as the flags");
  std::map<std::string, std::string> flags;
  for (const auto& info : kKeys) {
    if (is_bare_flag(info.key)) {  // --dev-key, or --dev-key=false
      app.add_flag_function(
          std::string("--") + info.key,
          [&flags, key = std::string(info.key)](std::int64_t count) {
            flags[key] = count > 0 ? "true" : "false";
          },
          info.help);
      continue;
    }
    if (std::string_view(info.key) == "rtsp-alias") {  // repeatable: every one counts
      app.add_option_function<std::vector<std::string>>(
             "--rtsp-alias",
             [&flags](const std::vector<std::string>& all) {
               std::string joined;
               for (const auto& v : all)
                 joined += (joined.empty() ? "" : ",") + v;
               flags["rtsp-alias"] = joined;
             },
             info.help)
          ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
      continue;
    }
    app.add_option_function<std::string>(
           std::string("--") + info.key,
           [&flags, key = std::string(info.key)](const std::string& v) { flags[key] = v; },
           info.help)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  }
  for (const auto& info : limit_keys()) {
    app.add_option_function<std::string>(
           std::string("--") + info.key,
           [&flags, key = std::string(info.key)](const std::string& v) { flags[key] = v; },
           info.help)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast)
        ->group("Limits (docs/operations.md)");
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e, std::cout, std::cerr);
  }
  if (config_path.empty()) {
    if (auto it = environment.find("SLUICE_CONFIG"); it != environment.end()) {
      config_path = it->second;
    }
  }
  std::map<std::string, std::string> file_values;
  Config config;
  if (!config_path.empty()) file_values = read_toml(config_path, config.pipelines);

  std::vector<std::string> keys;
  for (const auto& info : kKeys)
    keys.emplace_back(info.key);
  for (const auto& info : limit_keys())
    keys.emplace_back(info.key);
  for (const auto& key : keys) {
    if (auto f = flags.find(key); f != flags.end()) {
      apply(config, key, f->second);
    } else if (auto e = environment.find(env_name(key)); e != environment.end()) {
      apply(config, key, e->second);
    } else if (auto t = file_values.find(key); t != file_values.end()) {
      apply(config, key, t->second);
    }
  }
  if (config.data_dir.empty()) {
    auto home_env = environment.find("HOME");
    const char* xdg = std::getenv("XDG_DATA_HOME");
    const char* home = std::getenv("HOME");
    if (xdg && *xdg) {
      config.data_dir = std::string(xdg) + "/sluice";
    } else if (home && *home) {
      config.data_dir = std::string(home) + "/.local/share/sluice";
    } else if (home_env != environment.end()) {
      config.data_dir = home_env->second + "/.local/share/sluice";
    } else {
      config.data_dir = "./sluice-data";
    }
  }
  return config;
}

std::optional<std::pair<std::string, std::string>> parse_rtsp_alias(std::string_view item) {
  const auto eq = item.find('=');
  if (eq == std::string_view::npos) return std::nullopt;
  auto valid = [](std::string_view s) {
    return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
    });
  };
  const auto alias = item.substr(0, eq), path = item.substr(eq + 1);
  if (!valid(alias) || !valid(path) || alias == "live") return std::nullopt;
  return std::pair{std::string(alias), std::string(path)};
}

}  // namespace sluice
