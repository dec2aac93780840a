#include "http/openapi.hpp"

#include "core/json_text.hpp"
#include "http/openapi_schema.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cctype>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sluice::http {
namespace json = boost::json;
namespace {

using namespace openapi_schema;  // NOLINT: the schema vocabulary

// ---- operations ------------------------------------------------------------------------------

struct Param {
  std::string_view name;
  std::string_view in;  // "path" or "query"
  Schema schema;
  std::string_view description;
  bool repeated = false;  // query parameter that may be given several times
};

Param path_id(std::string_view name, std::string_view what) {
  return {name, "path", uuid(), what};
}
Param query(std::string_view name, Schema s, std::string_view description) {
  return {name, "query", std::move(s), description};
}

struct Reply {
  int status;
  std::string_view description;
};

// One route. Built with op() and the chainable setters below, so the table reads one line per
// fact. 413/422 for bodies and 422 for path ids and typed query parameters are added
// automatically by operation().
struct Op {
  std::string_view method, path, id, tag, summary;
  Schema schema;  // of the success body; empty for none
  std::string_view description = {};
  std::vector<Param> params = {};
  std::string_view body = {};  // a component schema name; empty when the route takes no body
  bool body_required = true;
  int status = 200;
  std::string_view success = "Success";
  std::string_view content_type = "application/json";
  std::vector<Reply> errors = {};

  Op about(std::string_view d) && { return description = d, std::move(*this); }
  Op with(std::vector<Param> p) && { return params = std::move(p), std::move(*this); }
  Op takes(std::string_view b, bool required = true) && {
    body = b;
    body_required = required;
    return std::move(*this);
  }
  Op gives(int st, std::string_view d) && {
    status = st;
    success = d;
    return std::move(*this);
  }
  Op as(std::string_view type) && { return content_type = type, std::move(*this); }
  Op fails(std::vector<Reply> e) && { return errors = std::move(e), std::move(*this); }
};

Op op(std::string_view method, std::string_view path, std::string_view id, std::string_view tag,
      std::string_view summary, Schema schema = {}) {
  return Op{method, path, id, tag, summary, std::move(schema)};
}

json::object content(std::string_view type, Schema schema) {
  return json::object{{type, json::object{{"schema", std::move(schema)}}}};
}

json::object operation(const Op& op) {
  json::object o{{"operationId", op.id}, {"summary", op.summary}, {"tags", json::array{op.tag}}};
  if (!op.description.empty()) o["description"] = op.description;

  json::array params;
  bool uuid_path = false;
  bool validated_query = false;
  for (const auto& p : op.params) {
    json::object po{
        {"name", p.name}, {"in", p.in}, {"required", p.in == "path"}, {"schema", p.schema}};
    if (p.repeated) {  // the default belongs to the array, not to its items
      Schema item = p.schema;
      json::value def = item.contains("default") ? item["default"] : json::value();
      item.erase("default");
      po["schema"] = array_of(std::move(item));
      if (!def.is_null()) po["schema"].as_object()["default"] = json::array{def};
    }
    if (!p.description.empty()) po["description"] = p.description;
    if (p.repeated) {
      po["style"] = "form";
      po["explode"] = true;
    }
    bool typed_param = p.schema.contains("format") || p.schema.contains("minimum");
    (p.in == "path" ? uuid_path : validated_query) |= typed_param;
    params.push_back(std::move(po));
  }
  if (!params.empty()) o["parameters"] = std::move(params);
  if (!op.body.empty()) {
    o["requestBody"] = json::object{{"required", op.body_required},
                                    {"content", content("application/json", ref(op.body))}};
  }

  std::map<int, std::string> errors;
  for (const auto& e : op.errors) {
    errors[e.status] = e.description;
  }
  if (!op.body.empty()) {
    errors.try_emplace(413, "Request body larger than the limit (setting max-body, default 1 MiB)");
  }
  // Everything kept in the registry store (and the history) can be on another machine.
  const bool stored = (op.path.starts_with("/streams") && op.path != "/streams/events" &&
                       !op.path.ends_with("/preview")) ||
                      op.path.starts_with("/keys");
  if (stored) {
    errors.try_emplace(503,
                       "A shared service this node needs is unreachable (Redis for the "
                       "registry and keys, PostgreSQL for history, NATS for a publisher on "
                       "another node); detail names it");
  }
  // The trust rules answer on every route but the public ones (docs/security.md).
  if (op.path != "/health" && op.path != "/openapi.json" && op.path != "/auth/whoami" &&
      op.tag != "console") {
    errors.try_emplace(401,
                       "No credentials where the route needs an identity, or wrong ones "
                       "(with WWW-Authenticate)");
    errors.try_emplace(403,
                       "The caller's role lacks the route's permission, or the record "
                       "belongs to another client");
  }
  if (!errors.contains(422) && (uuid_path || validated_query || !op.body.empty())) {
    std::string d;
    auto add = [&d](std::string_view part) { d += (d.empty() ? "" : "; ") + std::string(part); };
    if (uuid_path) add("a path id is not a valid UUID");
    if (validated_query) add("a query parameter is malformed or out of range");
    if (!op.body.empty()) add("the body is not JSON or fails validation");
    d[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(d[0])));
    errors[422] = d;
  }

  json::object responses;
  json::object ok{{"description", op.success}};
  if (!op.schema.empty()) ok["content"] = content(op.content_type, op.schema);
  responses[std::to_string(op.status)] = std::move(ok);
  for (const auto& [status, description] : errors) {
    responses[std::to_string(status)] = json::object{
        {"description", description},
        {"content",
         content("application/json", ref(status == 422 ? "HTTPValidationError" : "HTTPError"))}};
  }
  o["responses"] = std::move(responses);
  return o;
}

constexpr std::string_view kEventsDescription =
    "Server-sent events carrying the messages published on the event hub. Each SSE message's "
    "`data` is a JSON object `{\"subject\": ..., \"data\": {...}}` (schema BusEvent), e.g. "
    "`{\"subject\": \"maestra.stream.withdraw.<id>\", \"data\": {\"type\": \"stream_withdrawn\", "
    "...}}`. Filter with one or more `subject` patterns ('*' matches one token, '>' the rest); "
    "without any, `maestra.stream.>` is used. A client that reads too slowly loses the oldest "
    "queued events.";

constexpr std::string_view kPreviewDescription =
    "Server-sent events for the dashboard preview. Event names: `info` (connection details; "
    "`status` is `connected` or `connection_info`), `preview` (decoded data with a `_seq` field), "
    "`heartbeat` (keep-alive) and `error`. sluice: a `sensor`, `data`, `osc`, `midi` or `audio` "
    "stream whose config says `\"preview\": true` has its UDP packets relayed as `preview` events "
    "(at most 20 a second; 503 past 32 previews at once).";

constexpr std::string_view kRequestDescription =
    "Negotiates a unicast session: sends the request payload to the publisher on "
    "`maestra.stream.request.{stream_id}` and waits for its reply (default timeout 5 s). The reply "
    "must be a JSON object with `accepted: true`; optional `address`, `port`, `protocol` and "
    "`transport_config` override the advertised values in the offer. On success a session is "
    "created and `maestra.stream.session.started` is published.";

constexpr std::string_view kWsDescription =
    "Upgrades to a WebSocket speaking JSON text frames, giving direct access to the event hub "
    "(the same subjects as NATS).\n\n"
    "Client to server:\n"
    "- `{\"op\":\"sub\",\"sid\":\"s1\",\"subject\":\"maestra.stream.>\"}` subscribe `subject` "
    "(wildcards allowed) under the client-chosen id `sid`; answered by `ok` or `err`.\n"
    "- `{\"op\":\"unsub\",\"sid\":\"s1\"}` drop a subscription.\n"
    "- `{\"op\":\"pub\",\"subject\":...,\"data\":{...},\"reply\":\"<inbox>\"}` publish; `reply` "
    "is optional (used to answer a request: publish to the inbox received in a `msg`).\n"
    "- `{\"op\":\"ping\"}`.\n\n"
    "Server to client:\n"
    "- `{\"op\":\"hello\",\"version\":\"...\"}` first frame.\n"
    "- `{\"op\":\"ok\",\"sid\":\"s1\"}` / `{\"op\":\"err\",\"sid\":\"s1\",\"detail\":\"...\"}` "
    "(`sid` absent when the error is not about a subscription).\n"
    "- `{\"op\":\"msg\",\"sid\":\"s1\",\"subject\":...,\"data\":{...},\"reply\":\"<inbox>\"}` a "
    "message on a subscription; `reply` present when the sender expects an answer.\n"
    "- `{\"op\":\"dropped\",\"count\":n}` n messages were dropped because the client read too "
    "slowly.\n"
    "- `{\"op\":\"pong\"}`.\n\n"
    "A publisher answers stream requests by subscribing to `maestra.stream.request.{stream_id}` "
    "and publishing `{\"accepted\":true,...}` to the `reply` inbox of each `msg`; it can heartbeat "
    "by publishing to `maestra.stream.heartbeat.{stream_id}`.";

constexpr std::string_view kKeysDescription =
    "Creates a key `sk_<16 hex id><43 base64url chars>` granting `stream`: `kind` `publish` "
    "(default; the RTMP publish name) or `read` (while a stream has an active read key, playback "
    "needs one). Optional `expires_in` (seconds), `allowed_ips` (addresses or CIDRs, IPv4 rules "
    "also match IPv4-mapped IPv6 peers), `alias` (unique; usable wherever an id is) and `note`. "
    "Only an HMAC of the key is stored: the `key` field of this answer (and of rotate) is the "
    "only time it is shown. `rtmp_url` (also in rotate's answer) is the daemon's RTMP "
    "application URL, `rtmp://HOST:PORT/live` with its real RTMP port (`null` when RTMP is off): "
    "OBS's Server for a publish key; players add `/STREAM` (and `?key=KEY` for a read key). "
    "Names starting with `sk_` are refused (keys start so). Every /keys route needs the keys_rw "
    "permission.";

std::vector<Op> operations() {
  const Param stream_id = path_id("stream_id", "Stream id");
  const Param session_id = path_id("session_id", "Session id");
  const Param subscriber_id = path_id("subscriber_id", "Subscriber id");
  const Param type_name{"name", "path", str(), "Stream type name"};
  const Param stream_filter = query("stream_id", uuid(), "Only those of this stream");
  const Reply stream_404{404, "Stream not found or expired"};
  const Schema sse = describe(typed("string"), "A text/event-stream; see the description.");
  std::vector<Op> ops;
  // Types.
  ops.push_back(op("get", "/streams/types", "list_stream_types", "types", "List stream types",
                   array_of(ref("StreamTypeInfo")))
                    .about("Built-in and custom types, ordered by name."));
  ops.push_back(op("post", "/streams/types", "create_stream_type", "types",
                   "Create a custom stream type", ref("StreamTypeInfo"))
                    .takes("StreamTypeCreate")
                    .gives(201, "Created")
                    .fails({{409, "A type with this name already exists"},
                            {422,
                             "Invalid body, or default_config, metadata or config_schema over "
                             "max-stream-config (64 KiB by default) as JSON"},
                            {507,
                             "Too many custom types (setting max-stream-types, default "
                             "1000)"}}));
  ops.push_back(op("put", "/streams/types/{name}", "update_stream_type", "types",
                   "Replace a custom stream type", ref("StreamTypeInfo"))
                    .about("Replaces display_name, description, icon, default_config, metadata "
                           "and config_schema. Streams already advertised keep their config.")
                    .with({type_name})
                    .takes("StreamTypeUpdate")
                    .fails({{403, "The type is built in"}, {404, "No such type"}}));
  ops.push_back(op("delete", "/streams/types/{name}", "delete_stream_type", "types",
                   "Delete a custom stream type", status_reply("deleted", "name", false))
                    .with({type_name})
                    .fails({{403, "The type is built in"},
                            {404, "No such type"},
                            {409, "Live streams still use the type"}}));
  // Streams.
  ops.push_back(op("get", "/streams/state", "get_registry_state", "streams",
                   "Full registry snapshot", ref("StreamRegistryState"))
                    .about("Streams, sessions, types and subscribers in one document."));
  ops.push_back(
      op("get", "/streams", "list_streams", "streams", "List live streams",
         array_of(ref("StreamInfo")))
          .about("Every live stream, oldest first (Maestra's list). With `limit` and/or `offset` "
                 "one page of that list, and header X-Total-Count with the number of streams in "
                 "all. A large list may be answered 503 (Retry-After) while large replies to "
                 "other clients hold the server's reply budget: ask for pages then.")
          .with({query("stream_type", str(), "Only streams of this type"),
                 query("offset", with_default(integer(0), 0), "Streams to skip"),
                 query("limit", integer(0), "Streams to return (default: all)")}));
  ops.push_back(
      op("post", "/streams/advertise", "advertise_stream", "streams",
         "Advertise a stream (idempotent per publisher_id and name)", ref("StreamInfo"))
          .about("Creates the stream, or refreshes it when the same publisher_id advertises the "
                 "same name again (same id, sessions and subscribers kept). The type's "
                 "default_config is merged under `config`, and the result is checked against the "
                 "type's config_schema.")
          .takes("StreamAdvertise")
          .gives(201, "Advertised")
          .fails({{422,
                   "Invalid body, unknown stream_type, config violating the type's "
                   "config_schema, or config or metadata over max-stream-config (64 KiB by "
                   "default) as JSON (loc names the field)"},
                  {507, "A new stream, and the registry holds max-streams (default 100000)"}}));
  ops.push_back(op("get", "/streams/{stream_id}", "get_stream", "streams", "Get one stream",
                   ref("StreamInfo"))
                    .with({stream_id})
                    .fails({stream_404}));
  ops.push_back(op("delete", "/streams/{stream_id}", "withdraw_stream", "streams",
                   "Withdraw a stream", status_reply("withdrawn", "stream_id"))
                    .about("Also stops its sessions and removes its subscribers, publishing "
                           "session_stopped / subscriber_left with reason `stream_withdrawn`.")
                    .with({stream_id})
                    .fails({stream_404}));
  ops.push_back(op("post", "/streams/{stream_id}/heartbeat", "stream_heartbeat", "streams",
                   "Keep a stream alive", status_reply("ok", "stream_id"))
                    .with({stream_id})
                    .fails({stream_404}));
  ops.push_back(op("get", "/streams/{stream_id}/preview", "preview_stream", "streams",
                   "Live preview (server-sent events)", sse)
                    .about(kPreviewDescription)
                    .with({stream_id})
                    .gives(200, "Event stream")
                    .as("text/event-stream")
                    .fails({stream_404}));
  // Unicast sessions.
  ops.push_back(op("post", "/streams/{stream_id}/request", "request_stream", "sessions",
                   "Request a unicast stream", ref("StreamOffer"))
                    .about(kRequestDescription)
                    .with({stream_id})
                    .takes("StreamRequest")
                    .gives(200, "Offer accepted by the publisher")
                    .fails({{400, "This is a multicast stream; use /join"},
                            {404,
                             "Stream not found or expired, or the publisher rejected the "
                             "request (detail is the publisher's reason)"},
                            {502, "The publisher's reply is not a JSON object"},
                            {504,
                             "No responder is listening on the request subject (at once; "
                             "detail names the subject), or the publisher did not answer "
                             "in time"}}));
  ops.push_back(op("get", "/streams/sessions", "list_sessions", "sessions",
                   "List live unicast sessions", array_of(ref("StreamSession")))
                    .with({stream_filter}));
  ops.push_back(
      op("get", "/streams/sessions/history", "session_history", "sessions", "Query session history",
         array_of(ref("StreamSessionHistory")))
          .about("Sessions newest first, including ended ones (status stopped or expired).")
          .with({stream_filter, query("publisher_id", str(), ""), query("consumer_id", str(), ""),
                 query("status", str(), "active, stopped or expired"),
                 query("since", date_time(), "Sessions started at or after (ISO-8601)"),
                 query("until", date_time(), "Sessions started before (ISO-8601)"),
                 query("offset", with_default(integer(0), 0), "Rows to skip"),
                 query("limit", with_default(integer(1, 500), 50), "Rows to return")}));
  ops.push_back(op("delete", "/streams/sessions/{session_id}", "stop_session", "sessions",
                   "Stop a session", status_reply("stopped", "session_id"))
                    .with({session_id})
                    .fails({{404, "Session not found or expired"}}));
  ops.push_back(op("post", "/streams/sessions/{session_id}/heartbeat", "session_heartbeat",
                   "sessions", "Keep a session alive", status_reply("ok", "session_id"))
                    .about("Resets the session TTL; optionally records bytes_transferred.")
                    .with({session_id})
                    .takes("SessionHeartbeat", false)
                    .fails({{404, "Session not found or expired"}}));
  // Multicast subscribers.
  ops.push_back(op("post", "/streams/{stream_id}/join", "join_stream", "subscribers",
                   "Join a multicast stream", ref("StreamJoinResponse"))
                    .with({stream_id})
                    .takes("StreamJoinRequest")
                    .gives(201, "Joined")
                    .fails({{400, "Stream not found or expired, or not a multicast stream"}}));
  ops.push_back(op("delete", "/streams/{stream_id}/leave/{subscriber_id}", "leave_stream",
                   "subscribers", "Leave a multicast stream", status_reply("left", "subscriber_id"))
                    .with({stream_id, subscriber_id})
                    .fails({{404, "Subscriber not found or expired"}}));
  ops.push_back(op("get", "/streams/{stream_id}/subscribers", "list_stream_subscribers",
                   "subscribers", "Subscribers of one stream", array_of(ref("StreamSubscriber")))
                    .with({stream_id}));
  ops.push_back(op("get", "/streams/subscribers", "list_subscribers", "subscribers",
                   "List multicast subscribers", array_of(ref("StreamSubscriber")))
                    .with({stream_filter}));
  ops.push_back(op("post", "/streams/subscribers/{subscriber_id}/heartbeat", "subscriber_heartbeat",
                   "subscribers", "Keep a subscriber alive", status_reply("ok", "subscriber_id"))
                    .with({subscriber_id})
                    .fails({{404, "Subscriber not found or expired"}}));
  // Events.
  ops.push_back(op("get", "/streams/events", "stream_events", "events",
                   "Server-sent events of the event hub", sse)
                    .about(kEventsDescription)
                    .with({{"subject", "query", with_default(str(1), "maestra.stream.>"),
                            "Subject pattern; repeat for several", true}})
                    .gives(200, "Event stream")
                    .as("text/event-stream")
                    .fails({{422, "A subject pattern is not valid"}}));
  ops.push_back(op("get", "/ws", "websocket", "events", "WebSocket access to the event hub")
                    .about(kWsDescription)
                    .gives(101, "Switching Protocols (WebSocket)"));
  ops.push_back(op("get", "/mqtt", "mqtt_websocket", "events", "MQTT over WebSockets")
                    .about("The MQTT 3.1.1/5 broker (subprotocol \"mqtt\"; credentials in the "
                           "CONNECT). See docs/api.md, \"MQTT\". 503 with --mqtt off.")
                    .gives(101, "Switching Protocols (WebSocket)"));
  // Relay channels.
  ops.push_back(op("get", "/channels", "list_channels", "relay",
                   "Relay channels with owner and counters", array_of(typed("object")))
                    .about("name, owner, message_count, bytes, dropped, subscribers, publishers, "
                           "active, "
                           "stream_id (the registry stream, or null) and created_at per channel. "
                           "See docs/protocol.md."));
  ops.push_back(
      op("get", "/channels/{name}", "get_channel", "relay", "One relay channel", typed("object"))
          .with({Param{"name", "path", str(), "Channel name"}})
          .fails({{404, "No such channel"}}));
  // Stream keys.
  const Param key_id{"id", "path", str(1, 128), "Key id (16 hex characters) or alias"};
  const Reply keys_denied{403,
                          "The caller's role lacks keys_rw (401 when no credentials were sent)"};
  ops.push_back(op("post", "/keys", "create_key", "keys", "Create a stream key", typed("object"))
                    .about(kKeysDescription)
                    .takes("StreamKeyCreate")
                    .gives(201, "Created; `key` is in this answer only")
                    .fails({keys_denied,
                            {409, "The alias is used by another key"},
                            {507, "Too many keys (100000); revoked keys are purged 24 h later"}}));
  ops.push_back(op("get", "/keys", "list_keys", "keys", "List stream keys (never their secrets)",
                   array_of(typed("object")))
                    .fails({keys_denied}));
  ops.push_back(op("get", "/keys/{id}", "get_key", "keys", "One stream key", typed("object"))
                    .with({key_id})
                    .fails({keys_denied, {404, "No key with this id or alias"}}));
  ops.push_back(
      op("delete", "/keys/{id}", "revoke_key", "keys", "Revoke a stream key", typed("object"))
          .about("Idempotent; the record stays listed as `revoked` for 24 h.")
          .with({key_id})
          .fails({keys_denied, {404, "No key with this id or alias"}}));
  ops.push_back(op("post", "/keys/{id}/rotate", "rotate_key", "keys",
                   "New secret for a key (same id and settings)", typed("object"))
                    .about("The answer carries the new `key`; the old one stops working at once.")
                    .with({key_id})
                    .fails({keys_denied,
                            {404, "No key with this id or alias"},
                            {409, "The key is revoked or expired"}}));
  // Media.
  const Param path_name{"name", "path", str(1, 128), "Live path name"};
  const Reply not_live{404, "No one is publishing this path"};
  ops.push_back(op("get", "/media/paths", "list_media_paths", "media",
                   "Live media paths: publisher, codecs, counters, readers", array_of(any_object()))
                    .fails({{503, "The media server is stopping or not answering"}}));
  ops.push_back(
      op("get", "/media/paths/{name}", "get_media_path", "media", "One live path", any_object())
          .with({path_name})
          .fails({not_live}));
  ops.push_back(op("delete", "/media/paths/{name}", "kick_publisher", "media",
                   "Kick the publisher of a live path", any_object())
                    .about("Needs media_rw.")
                    .with({path_name})
                    .fails({keys_denied, not_live}));
  ops.push_back(op("delete", "/media/paths/{name}/readers/{id}", "kick_reader", "media",
                   "Kick one reader of a live path", any_object())
                    .about("Administrative like DELETE /media/paths/{name}; `id` from the path's "
                           "readers.")
                    .with({path_name, Param{"id", "path", str(1, 128), "Reader id"}})
                    .fails({keys_denied, {404, "No such path or reader"}}));
  ops.push_back(op("get", "/live/{name}/index.m3u8", "hls_playlist", "media",
                   "HLS live playlist (started on demand)", typed("string"))
                    .about("The first request of a path waits (up to 15 s) for its first segment. "
                           "A private path (one with a read key) needs `?key=`. HTTP-FLV is "
                           "`GET /live/{name}.flv` on the same port.")
                    .with({path_name, query("key", str(), "Read key of a private path")})
                    .gives(200, "application/vnd.apple.mpegurl")
                    .as("application/vnd.apple.mpegurl")
                    .fails({{401, "A private path and no read key (WWW-Authenticate: StreamKey)"},
                            {403,
                             "A read key that is refused (wrong, expired, revoked, another "
                             "stream's, not allowed from this address)"},
                            not_live,
                            {504, "No segment came in time (no keyframe yet)"}}));
  ops.push_back(op("get", "/live/{name}/{file}", "hls_segment", "media", "HLS segment seg-N.ts",
                   typed("string"))
                    .with({path_name, Param{"file", "path", str(1, 26), "seg-N.ts"},
                           query("key", str(), "Read key of a private path")})
                    .gives(200, "video/mp2t")
                    .as("video/mp2t")
                    .fails({{401, "A private path and no read key (WWW-Authenticate: StreamKey)"},
                            {403, "A read key that is refused"},
                            {404, "No such segment (any more)"}}));
  // WebRTC (docs/api.md, "WebRTC: WHEP, WHIP and the camera's offer endpoint").
  const Param webrtc_id{"id", "path", str(1, 64), "WebRTC session id (from Location)"};
  const Reply webrtc_off{503, "WebRTC is off (webrtc-udp), or too many sessions"};
  ops.push_back(op("post", "/live/{name}/whep", "whep_offer", "media",
                   "Play a live path over WebRTC (WHEP): SDP offer in, SDP answer out",
                   typed("string"))
                    .about("Body: the SDP offer (`application/sdp`). The answer is ICE-lite, "
                           "`a=setup:passive`, with host candidates on the webrtc-udp port; "
                           "`Location` names the session; a `Link` header lists STUN/TURN "
                           "servers. A private path needs `?key=`.")
                    .with({path_name, query("key", str(), "Read key of a private path")})
                    .gives(201, "application/sdp")
                    .as("application/sdp")
                    .fails({{400,
                             "An offer that does not parse, or lacks ICE credentials or a "
                             "DTLS fingerprint"},
                            {401, "A private path and no read key"},
                            {403, "A read key that is refused"},
                            not_live,
                            {406, "No offered section can carry the path's codecs (named)"},
                            webrtc_off}));
  ops.push_back(op("delete", "/live/{name}/whep/{id}", "whep_end", "media", "End a WHEP session",
                   any_object())
                    .with({path_name, webrtc_id})
                    .fails({{404, "No such session"}}));
  ops.push_back(op("patch", "/live/{name}/whep/{id}", "whep_trickle", "media",
                   "Trickled ICE candidates (accepted; ICE-lite needs none)")
                    .with({path_name, webrtc_id})
                    .gives(204, "No Content"));
  ops.push_back(op("post", "/live/{name}/whip", "whip_offer", "media",
                   "Publish a live path over WebRTC (WHIP)", typed("string"))
                    .about("Body: the SDP offer (`application/sdp`), H.264 and/or Opus. "
                           "`Authorization: Bearer <stream key>` (or an identity with media_rw "
                           "on the path).")
                    .with({path_name})
                    .gives(201, "application/sdp")
                    .as("application/sdp")
                    .fails({{400, "An offer that does not parse"},
                            {401, "No or an unknown credential"},
                            {403, "A key for another stream"},
                            {406, "No H.264 or Opus offered"},
                            {409, "The path is already live (and takeover is off)"},
                            webrtc_off}));
  ops.push_back(op("delete", "/live/{name}/whip/{id}", "whip_end", "media",
                   "End a WHIP session (the path ends)", any_object())
                    .with({path_name, webrtc_id})
                    .fails({{404, "No such session"}}));
  ops.push_back(op("post", "/api/webrtc/offer", "camera_webrtc_offer", "media",
                   "The C Pro camera's offer endpoint: JSON {type, sdp} in and out", any_object())
                    .about("Body `{\"type\": \"offer\", \"sdp\": \"...\"}` with any or no "
                           "Content-Type; answers `{\"type\": \"answer\", \"sdp\": ..., "
                           "\"iceServers\": [...]}`.")
                    .with({query("path", str(1, 256), "Live path to play (default stream1)"),
                           query("key", str(), "Read key of a private path")})
                    .fails({{400, "Not JSON {type, sdp}, or a bad offer"},
                            not_live,
                            {406, "No offered section can carry the path's codecs"},
                            webrtc_off}));
  ops.push_back(op("get", "/live/{name}/snapshot.jpg", "snapshot", "media",
                   "A JPEG of the path's latest video keyframe", typed("string"))
                    .about("What ONVIF's GetSnapshotUri hands out, and a preview. Play rights as "
                           "for every door (`?key=` for a private path). `?width=` (16-4096) "
                           "scales it down.")
                    .with({path_name, query("key", str(), "Read key of a private path"),
                           query("width", integer(16, 4096), "Largest width in pixels")})
                    .gives(200, "image/jpeg")
                    .as("image/jpeg")
                    .fails({{404, "Not live, or no keyframe yet"},
                            {415, "A codec the snapshot decoder does not have"},
                            {503, "Two snapshots are being made already"}}));
  ops.push_back(op("get", "/live/{name}/mjpeg", "mjpeg", "media",
                   "The path's pictures as Motion JPEG over HTTP", typed("string"))
                    .about("multipart/x-mixed-replace; boundary=sluiceframe, one JPEG per part, "
                           "for a browser's <img>, NVRs and OpenCV. Only paths of pipelines with "
                           "an `mjpeg` output have it. Play rights as for every door.")
                    .with({path_name, query("key", str(), "Read key of a private path")})
                    .gives(200, "multipart/x-mixed-replace")
                    .as("multipart/x-mixed-replace")
                    .fails({{404, "No pipeline makes MJPEG of this path"},
                            {503, "64 viewers watch it already"}}));
  constexpr std::string_view kSoapAbout =
      "A SOAP envelope; credentials are a WS-Security UsernameToken in it (docs/security.md, "
      "\"ONVIF\"). Faults: 400 (env:Sender: ter:NotAuthorized, ter:ActionNotSupported, "
      "ter:NoProfile, ter:WellFormed), 500 (env:Receiver).";
  ops.push_back(op("post", "/onvif/device_service", "onvif_device", "onvif",
                   "ONVIF Profile S device service (SOAP 1.2)", typed("string"))
                    .about(kSoapAbout)
                    .gives(200, "application/soap+xml")
                    .as("application/soap+xml"));
  ops.push_back(op("post", "/onvif/media_service", "onvif_media", "onvif",
                   "ONVIF Profile S media service (SOAP 1.2)", typed("string"))
                    .about(kSoapAbout)
                    .gives(200, "application/soap+xml")
                    .as("application/soap+xml"));
  ops.push_back(op("get", "/recordings", "list_recordings", "media",
                   "Recorded paths: segments, bytes, first and last time", any_object()));
  ops.push_back(op("get", "/recordings/{path}", "play_recording", "media",
                   "An MP4 of a recorded span", typed("string"))
                    .with({Param{"path", "path", str(1, 128), "Recorded path"},
                           query("start", date_time(), "Start of the span (RFC 3339)"),
                           query("duration", typed("number"), "Seconds (at most 86400)")})
                    .gives(200, "video/mp4")
                    .as("video/mp4")
                    .fails({{404, "Nothing recorded then"}, {413, "A span over 512 MiB"}}));
  const Param pipeline_id{"id", "path", str(1, 32), "Pipeline id"};
  ops.push_back(
      op("post", "/pipelines", "create_pipeline", "pipelines",
         "Create a pipeline: a source encoded into live paths", any_object())
          .about("Body `{\"name\", \"source\": {\"type\": \"testsrc\", \"width\", "
                 "\"height\", \"fps\", \"clock\"}, \"encoder\": {\"codec\": "
                 "\"h264\", \"bitrate_kbps\", \"preset\", \"profile\", \"gop\", "
                 "\"zerolatency\"}, \"renditions\": [{\"path\", \"width\", "
                 "\"height\", \"bitrate_kbps\"}]}`. Each rendition is a live path.")
          .gives(201, "The pipeline with its id and state")
          .fails({{409, "The name or a path is another pipeline's"}, {503, "Too many pipelines"}}));
  ops.push_back(
      op("get", "/pipelines", "list_pipelines", "pipelines", "Every pipeline", any_object()));
  ops.push_back(op("get", "/pipelines/{id}", "get_pipeline", "pipelines",
                   "One pipeline with its state (starting, running, retrying, stopped)",
                   any_object())
                    .with({pipeline_id})
                    .fails({{404, "No such pipeline"}}));
  ops.push_back(op("patch", "/pipelines/{id}", "patch_pipeline", "pipelines",
                   "Change a running pipeline's encoder bitrate", any_object())
                    .about("Body `{\"encoder\": {\"bitrate_kbps\": 800}}`: from the next picture.")
                    .with({pipeline_id})
                    .fails({{404, "No such pipeline"}}));
  ops.push_back(op("delete", "/pipelines/{id}", "delete_pipeline", "pipelines",
                   "Stop a pipeline (its paths end)", any_object())
                    .with({pipeline_id})
                    .fails({{404, "No such pipeline"}}));
  // Identities and settings (docs/security.md).
  const Param principal{"name", "path", str(1, 64), "User or role name"};
  ops.push_back(op("get", "/auth/whoami", "whoami", "auth",
                   "Who sluiced takes the caller for, and what it may do", any_object()));
  ops.push_back(
      op("get", "/auth/roles", "list_roles", "auth", "Roles and permission names", any_object()));
  ops.push_back(op("put", "/auth/roles/{name}", "put_role", "auth",
                   "Create or replace a custom role", any_object())
                    .about("Body `{\"permissions\": [\"media_r:stage*\", ...], \"scope\": "
                           "\"own\"|\"any\", \"description\": ...}`.")
                    .with({principal})
                    .takes("RoleDefinition")
                    .fails({{409, "A built-in role's name"}}));
  ops.push_back(op("delete", "/auth/roles/{name}", "delete_role", "auth", "Delete a custom role",
                   any_object())
                    .with({principal})
                    .fails({{404, "No such role"}, {409, "Built in, or held by a user or token"}}));
  ops.push_back(op("get", "/auth/users", "list_users", "auth", "Users (never their verifiers)",
                   array_of(any_object())));
  ops.push_back(op("post", "/auth/users", "create_user", "auth", "Create a user", any_object())
                    .about("Body `{\"name\", \"password\", \"role\"}`; the password is stored "
                           "as argon2id and SCRAM verifiers only.")
                    .takes("UserCreate")
                    .gives(201, "Created")
                    .fails({{409, "The name exists"}}));
  ops.push_back(op("patch", "/auth/users/{name}", "update_user", "auth",
                   "Change a user's password and/or role", any_object())
                    .with({principal})
                    .takes("UserUpdate")
                    .fails({{404, "No such user"}}));
  ops.push_back(
      op("delete", "/auth/users/{name}", "delete_user", "auth", "Delete a user", any_object())
          .with({principal})
          .fails({{404, "No such user"}}));
  ops.push_back(op("get", "/auth/tokens", "list_tokens", "auth", "API tokens (never their secrets)",
                   array_of(any_object())));
  ops.push_back(
      op("post", "/auth/tokens", "create_token", "auth", "Create an API token", any_object())
          .about("Body `{\"name\", \"role\", \"expires_in\"?}`; the answer's "
                 "`token` is shown this once (stored as SHA-256).")
          .takes("TokenCreate")
          .gives(201, "Created; `token` is in this answer only")
          .fails({{409, "A token of this name exists"}}));
  ops.push_back(op("delete", "/auth/tokens/{id}", "delete_token", "auth",
                   "Delete an API token by id or name", any_object())
                    .with({Param{"id", "path", str(1, 64), "Token id or name"}})
                    .fails({{404, "No such token"}}));
  const Param setting{"name", "path", str(1, 64), "Setting name, e.g. stream_ttl"};
  ops.push_back(op("get", "/settings", "list_settings", "settings",
                   "The settings the caller may read", array_of(any_object())));
  ops.push_back(
      op("get", "/settings/{name}", "get_setting", "settings", "One setting", any_object())
          .with({setting})
          .fails({{404, "No such setting"}}));
  ops.push_back(op("put", "/settings/{name}", "put_setting", "settings",
                   "Change a setting; applied live, stored, published on sluice.settings.{name}",
                   any_object())
                    .about("Body `{\"value\": ...}`; a value breaking the setting's type, range "
                           "or enum is a 422 naming the rule and the old value stays.")
                    .with({setting})
                    .takes("SettingValue")
                    .fails({{404, "No such setting"}}));
  // The web console's files (http/console_routes.hpp): public, they hold no data.
  const Param console_file{"file", "path", str(1, 255), "File name"};
  ops.push_back(
      op("get", "/", "console", "console", "The web console (index.html)", typed("string"))
          .about("The console reads the API with the credentials it is given at sign-in "
                 "(docs/operations.md, \"Web console\"). Revalidated on each load "
                 "(`Cache-Control: no-cache`).")
          .gives(200, "text/html")
          .as("text/html"));
  ops.push_back(op("get", "/console/{file}", "console_file", "console", "A file of the web console",
                   typed("string"))
                    .with({console_file})
                    .about("gzip when the client accepts it (`Content-Encoding: gzip`).")
                    .gives(200, "The file, with its content type")
                    .as("application/octet-stream")
                    .fails({{404, "No such file"}}));
  ops.push_back(op("get", "/console/assets/{file}", "console_asset", "console",
                   "A hashed asset of the web console (script, style sheet)", typed("string"))
                    .with({console_file})
                    .about("Named by its content's hash, so cached as immutable for a year; gzip "
                           "when the client accepts it.")
                    .gives(200, "The file, with its content type")
                    .as("application/octet-stream")
                    .fails({{404, "No such file"}}));
  // Operations.
  ops.push_back(
      op("get", "/health", "health", "operations", "Health and effective settings", ref("Health")));
  ops.push_back(
      op("get", "/metrics", "metrics", "operations", "Prometheus metrics", typed("string"))
          .gives(200, "Prometheus text exposition format")
          .as("text/plain"));
  ops.push_back(op("get", "/openapi.json", "openapi", "operations", "This OpenAPI document",
                   typed("object")));
  return ops;
}

constexpr std::string_view kInfoDescription =
    "sluiced's HTTP API: the Maestra Streams API (wire compatible: same paths, field names, "
    "status codes and `{\"detail\": ...}` errors) plus sluice extensions (type update/delete, "
    "config_schema, history filters, event streams, WebSocket hub access, health, metrics).\n\n"
    "Timestamps are UTC ISO-8601 with a `Z` suffix. Streams, sessions and subscribers expire "
    "after the stream TTL (default 30 s) without a heartbeat.\n\n"
    "Errors on every route: 404 for an unknown path, 405 (with an Allow header) for a known path "
    "with another method, 413 for a body over the limit (default 1 MiB); all as "
    "`{\"detail\": \"...\"}`. Validation errors are 422 `{\"detail\": [{\"loc\", \"msg\", "
    "\"type\"}]}`.";

}  // namespace

std::string openapi_document(std::string_view version) {
  json::object paths;
  for (const auto& op : operations()) {
    auto& item = paths[op.path];
    if (!item.is_object()) item = json::object{};
    item.as_object()[op.method] = operation(op);
  }
  json::array tags;
  for (auto [name, text] :
       {std::pair{"streams", "Advertise, discover, heartbeat and withdraw streams"},
        std::pair{"sessions", "Unicast negotiation, sessions and their history"},
        std::pair{"subscribers", "Multicast join, leave and subscribers"},
        std::pair{"types", "The stream type catalog"},
        std::pair{"events", "Live registry events (SSE and WebSocket)"},
        std::pair{"keys", "Stream keys for RTMP publishing and private playback"},
        std::pair{"operations", "Health, metrics and this document"},
        std::pair{"console", "The web console's files (public: no data in them)"}}) {
    tags.push_back(json::object{{"name", name}, {"description", text}});
  }
  json::object doc{
      {"openapi", "3.0.3"},
      {"info",
       json::object{{"title", "sluice"}, {"version", version}, {"description", kInfoDescription}}},
      {"tags", std::move(tags)},
      {"paths", std::move(paths)},
      {"components", json::object{{"schemas", component_schemas()}}},
  };
  return to_json_text(doc);
}

}  // namespace sluice::http
