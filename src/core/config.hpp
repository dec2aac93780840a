#pragma once
// Daemon configuration. Every key can come from (lowest to highest precedence): the built-in
// default, the TOML file named by --config, a SLUICE_* environment variable, a command-line flag.
// Key "stream-ttl" is flag --stream-ttl, TOML `stream-ttl` (or `stream_ttl`), env
// SLUICE_STREAM_TTL.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "core/limits.hpp"

namespace sluice {

struct HostPort {
  std::string host;
  std::uint16_t port = 0;
  std::string to_string() const;
};

// Parses "HOST:PORT", "[v6]:PORT" or ":PORT" (all interfaces). Throws ConfigError.
HostPort parse_host_port(const std::string& text, const std::string& key);

struct Config {
  HostPort http{"0.0.0.0", 8080};
  HostPort wire{"0.0.0.0", 7070};      // the relay's TCP listener
  HostPort wire_tls{"0.0.0.0", 7071};  // the relay's TLS 1.3 listener (when tls_cert is set)
  std::string tls_cert;                // PEM certificate chain
  std::string tls_key;                 // PEM private key
  std::string wire_advertise_host;     // address put in registry entries (default: wire host, or
                                       // 127.0.0.1 when that is 0.0.0.0)
  // Relay authentication (docs/operations.md, "Relay access"). Files are read at start.
  std::string wire_users;   // file of "name:SCRAM-SHA-256$..." lines (`sluice passwd`)
  std::string wire_tokens;  // file of bearer tokens, one per line (accepted inside TLS only)
  // Anonymous sessions: unset means "allowed only while no users or tokens are configured".
  std::optional<bool> wire_anonymous;
  bool wire_tokens_without_tls = false;  // accept tokens over plain TCP/WebSocket too
  std::chrono::seconds stream_ttl{30};
  std::chrono::milliseconds request_timeout{5000};
  std::string history;  // SQLite path, ":memory:", postgres://..., or empty for
                        // <data-dir>/history.db
  // Distributed mode (docs/operations.md, "Several nodes").
  std::string store;  // empty: the embedded memory store; else redis://[:PW@]HOST[:PORT][/DB]
  std::string bus;    // empty: the in-process hub only; else nats://HOST:PORT[,nats://...]
  std::vector<std::string> global_channels;  // relay channel patterns bridged through the bus
  std::string data_dir;  // default: $XDG_DATA_HOME/sluice or ~/.local/share/sluice
  std::string log_level = "info";
  std::string log_format = "text";
  unsigned threads = 0;  // 0: one per core
  std::size_t max_body_bytes = 1 << 20;
  // Stream keys (docs/operations.md, "Stream keys").
  std::string key_secret_file;  // HMAC secret of stored keys; default <data-dir>/key-secret
  std::string admin_token;      // bootstrap admin bearer (read from the file when given "@PATH")
  // Trust (docs/security.md).
  std::string auth = "owner";                // open | owner | required
  bool loopback_admin = false;               // loopback clients without credentials are admin
  std::vector<std::string> cors_origins;     // browser origins allowed to use the API
  std::vector<std::string> trusted_proxies;  // addresses/CIDRs whose X-Forwarded-For is believed
  bool dev_key = false;  // create and print one publish key for stream "dev" at start
  // Media (docs/operations.md, "Media").
  HostPort rtmp{"0.0.0.0", 1935};
  bool rtmp_enabled = true;         // "rtmp = off" disables the RTMP listener
  HostPort https{"0.0.0.0", 8443};  // TLS front door of the HTTP server (needs tls_cert)
  bool https_enabled = false;
  HostPort rtmps{"0.0.0.0", 1936};  // TLS front door of the RTMP server (needs tls_cert)
  bool rtmps_enabled = false;
  bool rtmp_takeover = false;  // a second publisher takes over instead of being refused
  HostPort rtsp{"0.0.0.0", 8554};
  bool rtsp_enabled = true;         // "rtsp = off" disables the RTSP listener
  HostPort rtsps{"0.0.0.0", 8322};  // TLS front door of the RTSP server (needs tls_cert)
  HostPort srt{"0.0.0.0", 8890};    // SRT listener (UDP): MPEG-TS publishers
  bool srt_enabled = true;
  std::string srt_passphrase;  // empty: unencrypted
  int srt_latency_ms = 120;
  bool rtsps_enabled = false;
  // WebRTC (WHEP, WHIP, the camera's offer endpoint): the one UDP port every peer shares, and
  // the addresses announced as host candidates (empty: the bound address, or every interface's
  // when it is a wildcard).
  HostPort webrtc_udp{"0.0.0.0", 8189};
  bool webrtc_enabled = true;
  std::vector<std::string> webrtc_hosts;
  // STUN/TURN servers handed to WebRTC clients (Link headers, the camera endpoint's answer):
  // "stun:HOST:PORT", "turn:USER:PASSWORD@HOST:PORT?transport=udp" (also the webrtc_ice_servers
  // setting).
  std::vector<std::string> webrtc_ice_servers;
  bool webrtc_transcode = true;  // AAC → Opus for WebRTC viewers
  // [[pipeline]] tables of the config file, as the JSON of POST /pipelines: made at start.
  std::vector<std::string> pipelines;
  std::string record_dir;     // recordings; empty: <data-dir>/recordings (none without a data-dir)
  bool onvif_enabled = true;  // the ONVIF device and WS-Discovery
  std::vector<std::string> onvif_interfaces;  // WS-Discovery's; empty: every multicast one
  HostPort osc{"0.0.0.0", 57120};             // the OSC gateway's UDP port (when osc_enabled)
  bool osc_enabled = true;
  HostPort mqtt{"0.0.0.0", 1883};  // the MQTT listener (when mqtt_enabled; also /mqtt over WS)
  bool mqtt_enabled = true;
  bool mdns_enabled = true;                  // the mDNS/DNS-SD responder (_maestra._tcp, …)
  std::vector<std::string> mdns_interfaces;  // its interfaces; empty: every multicast one and lo
  // The UDP ports RTSP sessions over UDP share: RTP on an even port, RTCP on the next, the
  // first free pair of [first, last]; first = 0: any free pair. Disabled: RTSP over TCP only.
  std::pair<int, int> rtsp_udp_ports{8000, 8001};
  bool rtsp_udp_enabled = true;
  // Camera aliases: rtsp://HOST:PORT/ALIAS plays the live path it names (also the rtsp_aliases
  // setting), e.g. {"stream1", "cam"}.
  std::vector<std::pair<std::string, std::string>> rtsp_aliases;
  std::chrono::milliseconds hls_segment{2000};
  std::string hls_variant = "lowlatency";  // "mpegts", "fmp4" or "lowlatency"
  std::string media_webhook;               // http:// URL for lifecycle events, or empty
  // Bounded resources (docs/operations.md, "Limits"); derived budgets are resolved by the App.
  Limits limits;

  // <data-dir>/state.db, or ":memory:" without a data-dir (keys, types, identities and
  // settings then live for this process only).
  std::string state_path() const;
  // The history path after applying the data-dir default.
  std::string history_path() const;
  // The key secret path after applying the data-dir default; empty when neither is set (a Config
  // built in code, e.g. by tests: keys then live under a per-process secret).
  std::string key_secret_path() const;
};

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Either a Config to run with, or an exit code (after --help/--version printed, or bad flags).
using ConfigOutcome = std::variant<Config, int>;

// Throws ConfigError for a bad value, an unreadable file or an unknown key.
ConfigOutcome load_config(int argc, const char* const* argv,
                          const std::map<std::string, std::string>& environment);

std::map<std::string, std::string> current_environment();

// "ALIAS=PATH" (each 1-64 of letters, digits, '_', '-', '.'): an RTSP camera alias.
std::optional<std::pair<std::string, std::string>> parse_rtsp_alias(std::string_view item);

}  // namespace sluice
