// The OpenAPI document's named schemas (components.schemas).
#include "http/openapi_schema.hpp"

namespace sluice::http::openapi_schema {

json::object component_schemas() {
  json::object c;
  c["StreamProtocol"] =
      describe(enum_of({"tcp", "udp", "ndi", "srt", "webrtc", "spout", "syphon", "shared_memory",
                        "rtmp", "rtsp", "hls", "http", "websocket", "mqtt", "sluice"}),
               "Data-plane transport of a stream.");
  c["ConfigField"] = object_of(
      {{"type",
        with_default(enum_of({"string", "integer", "number", "boolean", "object", "array", "any"}),
                     "any"),
        false},
       {"required", with_default(typed("boolean"), false), false},
       {"min", describe(typed("number"), "Inclusive lower bound for numbers."), false},
       {"max", describe(typed("number"), "Inclusive upper bound for numbers."), false},
       {"enum", Schema{{"type", "array"}, {"minItems", 1}, {"items", Schema{}}}, false}},
      "Constraint on one config field of a stream type.");
  c["ConfigSchema"] = Schema{
      {"type", "object"},
      {"additionalProperties", ref("ConfigField")},
      {"description",
       "Map of config field name to its constraint. Advertised configs (after default_config is "
       "merged in) are checked against it; a violation is a 422 whose loc is "
       "[\"body\", \"config\", <field>]."}};

  c["StreamAdvertise"] = object_of(
      {{"name", str(1, 255)},
       {"stream_type",
        describe(str(1, 100),
                 "Name of a known stream type, built-in or custom (GET /streams/types)."
                 " Unknown names are a 422 listing the known types.")},
       {"publisher_id", str(1, 255)},
       {"protocol", ref("StreamProtocol")},
       {"address", describe(str(1, 255), "Publisher IP address or hostname.")},
       {"port", describe(port(), "0 is allowed (spout, syphon, webrtc, ...).")},
       {"entity_id", nullable(uuid()), false},
       {"device_id", nullable(uuid()), false},
       {"config", with_default(any_object(), json::object{}), false},
       {"metadata", with_default(any_object(), json::object{}), false},
       {"multicast_group",
        describe(nullable(str()),
                 "IPv4 multicast address (224.0.0.0/4). Set together with "
                 "multicast_port, or neither."),
        false},
       {"multicast_port", nullable(port()), false}},
      "Advertising is idempotent per (publisher_id, name): the stream id is a name-based UUID of "
      "that pair, so advertising again refreshes the same stream (children kept) and the id "
      "survives daemon restarts.");

  c["StreamInfo"] = object_of(
      {{"id", uuid()},
       {"name", str()},
       {"stream_type", str()},
       {"publisher_id", str()},
       {"protocol", ref("StreamProtocol")},
       {"address", str()},
       {"port", port()},
       {"entity_id", nullable(uuid())},
       {"device_id", nullable(uuid())},
       {"config", describe(any_object(),
                           "The type's default_config with the advertised config "
                           "laid over it.")},
       {"metadata", any_object()},
       {"advertised_at", date_time()},
       {"last_heartbeat", date_time()},
       {"active_sessions", describe(integer(0), "Exact number of live unicast sessions.")},
       {"active_subscribers", describe(integer(0), "Exact number of live multicast subscribers.")},
       {"multicast_group", nullable(str())},
       {"multicast_port", nullable(port())},
       {"delivery_mode", enum_of({"unicast", "multicast"})}});

  c["StreamRequest"] = object_of(
      {{"consumer_id", str(1, 255)},
       {"consumer_address", str(1, 255)},
       {"consumer_port", describe(nullable(port()), "0 for any."), false},
       {"config", describe(with_default(any_object(), json::object{}), "Consumer preferences."),
        false}});

  c["StreamOffer"] = object_of(
      {{"session_id", uuid()},
       {"stream_id", uuid()},
       {"stream_name", str()},
       {"stream_type", str()},
       {"protocol", describe(str(), "The publisher's reply may override the advertised one.")},
       {"publisher_address", str()},
       {"publisher_port", port()},
       {"transport_config", any_object()},
       {"auto_offer",
        describe(typed("boolean"),
                 "sluice: present (true) when no responder answered and sluiced offered the "
                 "advertised address, port and transport config (auto_offer)."),
        false}});

  c["StreamSession"] =
      object_of({{"session_id", uuid()},
                 {"stream_id", uuid()},
                 {"stream_name", str()},
                 {"stream_type", str()},
                 {"publisher_id", str()},
                 {"publisher_address", str()},
                 {"consumer_id", str()},
                 {"consumer_address", str()},
                 {"protocol", str()},
                 {"transport_config", any_object()},
                 {"started_at", date_time()},
                 {"status", with_default(str(), "active")},
                 {"last_heartbeat", date_time()},
                 {"bytes_transferred",
                  describe(int64(), "Latest running total reported by session heartbeats.")},
                 {"auto_offer", describe(typed("boolean"), "sluice: as in StreamOffer."), false}});

  c["StreamSessionHistory"] =
      object_of({{"time", describe(date_time(), "When the session started.")},
                 {"session_id", uuid()},
                 {"stream_id", uuid()},
                 {"stream_name", str()},
                 {"stream_type", str()},
                 {"publisher_id", str()},
                 {"consumer_id", str()},
                 {"protocol", str()},
                 {"status", enum_of({"active", "stopped", "expired"})},
                 {"duration_seconds", nullable(typed("number"))},
                 {"bytes_transferred", int64()},
                 {"error_message", nullable(str())},
                 {"ended_at", nullable(date_time())}});

  c["StreamTypeInfo"] = object_of(
      {{"id", uuid()},
       {"name", str()},
       {"display_name", str()},
       {"description", nullable(str())},
       {"icon", nullable(str())},
       {"default_config", any_object()},
       {"metadata", any_object()},
       {"config_schema", ref("ConfigSchema")},
       {"builtin", describe(typed("boolean"), "Built-in types cannot be changed or deleted.")},
       {"created_at", date_time()},
       {"updated_at", date_time()}});
  c["StreamTypeCreate"] = type_spec(true);
  c["StreamTypeUpdate"] = type_spec(false);

  c["StreamJoinRequest"] = object_of({{"consumer_id", str(1, 255)},
                                      {"consumer_address", str(1, 255)},
                                      {"metadata", any_object(), false}});
  c["StreamJoinResponse"] =
      object_of({{"subscriber_id", uuid()},
                 {"stream_id", uuid()},
                 {"stream_name", str()},
                 {"stream_type", str()},
                 {"protocol", str()},
                 {"multicast_group", str()},
                 {"multicast_port", port()},
                 {"config", describe(any_object(), "Copied from the stream.")}});
  c["StreamSubscriber"] = object_of({{"subscriber_id", uuid()},
                                     {"stream_id", uuid()},
                                     {"stream_name", str()},
                                     {"stream_type", str()},
                                     {"consumer_id", str()},
                                     {"consumer_address", str()},
                                     {"joined_at", date_time()},
                                     {"metadata", any_object()},
                                     {"last_heartbeat", date_time()}});
  c["StreamRegistryState"] = object_of({{"streams", array_of(ref("StreamInfo"))},
                                        {"sessions", array_of(ref("StreamSession"))},
                                        {"stream_types", array_of(ref("StreamTypeInfo"))},
                                        {"subscribers", array_of(ref("StreamSubscriber"))}});

  c["SessionHeartbeat"] = object_of(
      {{"bytes_transferred",
        describe(int64(), "Running total of bytes moved in this session so far (not a delta)."),
        false}},
      "Optional body of a session heartbeat.");
  c["BusEvent"] = object_of(
      {{"subject", str()}, {"data", describe(Schema{}, "The event payload, as published.")}},
      "One message of GET /streams/events: the subject it was published on and its payload.");
  c["Health"] = object_of({{"status", enum_of({"ok", "degraded"})},
                           {"version", str()},
                           {"uptime_seconds", typed("number")},
                           {"stream_ttl_seconds", typed("number")},
                           {"request_timeout_seconds", typed("number")},
                           {"components", describe(any_object(),
                                                   "Per-component state (registry store, history, "
                                                   "event hub...).")}});
  c["StreamKeyCreate"] = object_of(
      {{"stream", describe(str(1, 128), "Stream name: A-Z a-z 0-9 . _ -")},
       {"kind", with_default(enum_of({"publish", "read"}), "publish"), false},
       {"expires_in", describe(integer(1, 315360000), "Seconds until the key expires"), false},
       {"allowed_ips", describe(array_of(str()), "IP addresses or CIDRs (at most 64)"), false},
       {"alias", describe(str(1, 128), "Unique name for the key"), false},
       {"note", str(0, 1024), false}});
  c["TokenCreate"] = object_of(
      {{"name", describe(str(1, 64), "Token name: letters, digits, _ . @ -")},
       {"role", describe(str(1, 64), "Role the token acts with")},
       {"expires_in", describe(integer(1, 2147483647), "Seconds until the token expires"), false}});
  c["UserCreate"] = object_of({{"name", str(1, 64)},
                               {"password", describe(str(8, 1024), "Stored as verifiers only")},
                               {"role", str(1, 64)}});
  c["UserUpdate"] = object_of({{"password", str(8, 1024), false}, {"role", str(1, 64), false}});
  c["RoleDefinition"] =
      object_of({{"permissions",
                  describe(array_of(str()), "e.g. streams_rw, media_r:stage*, channels_rw:show.>")},
                 {"scope", with_default(enum_of({"own", "any"}), "own"), false},
                 {"description", str(0, 1024), false}});
  c["SettingValue"] = object_of({{"value", describe(Schema{}, "Typed as the setting says")}});
  c["HTTPError"] = object_of({{"detail", str()}});
  c["ValidationError"] = object_of(
      {{"loc", array_of(Schema{{"anyOf", json::array{typed("string"), typed("integer")}}})},
       {"msg", str()},
       {"type", str()}});
  c["HTTPValidationError"] = object_of({{"detail", array_of(ref("ValidationError"))}});
  return c;
}

}  // namespace sluice::http::openapi_schema
