#pragma once
// Control payloads of the relay protocol (docs/protocol.md, "Control frames"): small JSON
// documents carried by HELLO, AUTH, WELCOME, OPEN and EVENT frames. Parsing is strict and
// bounded (kMaxControlPayload); every failure is an Error naming the field.
#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "wire/send_queue.hpp"

namespace sluice::wire {

// Flow-control and size settings one side announces for what it is willing to receive.
struct Settings {
  std::uint32_t stream_window = 4 * 1024 * 1024;       // initial credit per stream
  std::uint32_t connection_window = 16 * 1024 * 1024;  // initial credit for the whole session
  std::uint32_t max_frame = 64 * 1024;                 // largest DATA payload per frame
  std::uint64_t max_message = 64ull * 1024 * 1024;     // largest reassembled message
  std::uint32_t lease_ms = 30'000;  // silence after which the peer is considered gone
};

struct Hello {
  std::uint32_t version = 1;
  std::string client;     // free text, e.g. "sluice-cpp/0.2"
  std::string mechanism;  // "" (anonymous), "token" or "SCRAM-SHA-256"
  std::string user;       // informational for tokens; SCRAM carries it in `auth_data`
  std::string token;      // only with mechanism "token" (refused outside TLS unless allowed)
  std::string auth_data;  // first SCRAM message
  Settings settings;
};

struct Welcome {
  std::string session;    // server-assigned id, for logs
  std::string server;     // e.g. "sluiced/0.1.0"
  std::string auth_data;  // SCRAM server-final, verified by the client
  Settings settings;
};

enum class Role { kPublish, kSubscribe, kRequest };
std::string_view to_string(Role role);

struct OpenRequest {
  std::string channel;  // subject for publish/request; pattern (with * and >) for subscribe
  Role role = Role::kSubscribe;
  std::uint16_t priority = 500;  // 0..1000; higher is sent first under contention
  // subscribe
  QueueLimits buffer;
  bool responder = false;   // also receives requests on the channel
  bool last_value = false;  // receive the channel's last value first, when it keeps one
  // publish
  bool keep_last_value = false;  // late subscribers with last_value get the latest message
  bool advertise = true;         // appear in the registry as a stream while open
  std::string stream_type = "data";
  boost::json::object metadata;  // becomes the registry stream's metadata
  // request
  std::uint32_t timeout_ms = 5000;
};

std::string encode(const Hello& hello);
std::string encode(const Welcome& welcome);
std::string encode(const OpenRequest& open);
std::string encode_auth(std::string_view data);

Result<Hello> decode_hello(std::string_view json);
Result<Welcome> decode_welcome(std::string_view json);
Result<OpenRequest> decode_open(std::string_view json);
Result<std::string> decode_auth(std::string_view json);

// The body of a REPLY|ERROR message is "<status> <reason>" (docs/protocol.md, Request/reply).
using sluice::error_reply_body;
using sluice::parse_error_reply;

// An owner's subscription notification (EVENT on its publish stream).
struct SubscriptionEvent {
  bool subscribed = true;
  std::string pattern;     // the subscription's pattern (may be a wildcard)
  std::string subscriber;  // the subscriber's relay session id
};
// Nullopt for other EVENTs ("closed") and malformed JSON.
std::optional<SubscriptionEvent> decode_subscription_event(std::string_view json);
// A subscriber's "channel closed" notification: the channel's name, or nullopt for other EVENTs.
std::optional<std::string> decode_closed_event(std::string_view json);

}  // namespace sluice::wire
