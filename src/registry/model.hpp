#pragma once
// The registry's records and the JSON shapes of the Maestra Streams API (reference §2.2).
// Shared by the daemon and the client SDK: to_json writes exactly Maestra's field names;
// *_from_json reads them back (leniently: unknown fields ignored, missing ones defaulted).
#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"

namespace sluice::registry {

struct StreamRecord {
  std::string id;
  std::string name;
  std::string stream_type;
  std::string publisher_id;
  std::string protocol;
  std::string address;
  int port = 0;
  std::optional<std::string> entity_id;
  std::optional<std::string> device_id;
  boost::json::object config;
  boost::json::object metadata;
  std::optional<std::string> multicast_group;
  std::optional<int> multicast_port;
  WallTime advertised_at{};
  WallTime last_heartbeat{};
  // Who owns the stream (auth::Identity::owner(): "user:NAME", "addr:IP", …). sluice-internal:
  // kept by the stores, never in the Maestra JSON shapes.
  std::string owner;

  bool is_multicast() const { return multicast_group && !multicast_group->empty(); }
  std::string delivery_mode() const { return is_multicast() ? "multicast" : "unicast"; }
};

// A stream as the API shows it: the record plus its exact live child counts.
struct StreamView {
  StreamRecord stream;
  std::size_t active_sessions = 0;
  std::size_t active_subscribers = 0;
};

struct SessionRecord {
  std::string session_id;
  std::string stream_id;
  std::string stream_name;
  std::string stream_type;
  std::string publisher_id;
  std::string publisher_address;
  int publisher_port = 0;
  std::string consumer_id;
  std::string consumer_address;
  std::optional<int> consumer_port;
  std::string protocol;
  boost::json::object transport_config;
  WallTime started_at{};
  WallTime last_heartbeat{};
  std::string status = "active";
  std::int64_t bytes_transferred = 0;
  std::string owner;  // who opened the session (sluice-internal, as StreamRecord::owner)
  // No responder answered: sluiced offered the advertised address, port and transport config
  // (JSON "auto_offer": true, only when set).
  bool auto_offered = false;
};

struct SubscriberRecord {
  std::string subscriber_id;
  std::string stream_id;
  std::string stream_name;
  std::string stream_type;
  std::string publisher_id;
  std::string consumer_id;
  std::string consumer_address;
  std::string multicast_group;
  int multicast_port = 0;
  WallTime joined_at{};
  WallTime last_heartbeat{};
  boost::json::object metadata;
  std::string owner;  // who joined (sluice-internal, as StreamRecord::owner)
};

// A value constraint of a type's config_schema (sluice extension).
struct ConfigField {
  std::string name;
  std::string type;  // "string" | "integer" | "number" | "boolean" | "object" | "array" | "any"
  bool required = false;
  std::optional<double> minimum;
  std::optional<double> maximum;
  std::vector<boost::json::value> allowed;  // enum; empty means any value of the type
};

struct StreamTypeRecord {
  std::string id;
  std::string name;
  std::string display_name;
  std::optional<std::string> description;
  std::optional<std::string> icon;
  boost::json::object default_config;
  boost::json::object metadata;
  boost::json::object config_schema;  // as given; parsed form below
  std::vector<ConfigField> schema_fields;
  bool builtin = false;
  WallTime created_at{};
  WallTime updated_at{};
  std::string owner;  // who created a custom type (sluice-internal, as StreamRecord::owner)
};

struct StreamOffer {
  std::string session_id;
  std::string stream_id;
  std::string stream_name;
  std::string stream_type;
  std::string protocol;
  std::string publisher_address;
  int publisher_port = 0;
  boost::json::object transport_config;
  bool auto_offered = false;  // as SessionRecord::auto_offered
};

struct JoinResult {
  std::string subscriber_id;
  std::string stream_id;
  std::string stream_name;
  std::string stream_type;
  std::string protocol;
  std::string multicast_group;
  int multicast_port = 0;
  boost::json::object config;
};

struct SessionHistoryRow {
  WallTime time{};
  std::string session_id;
  std::string stream_id;
  std::string stream_name;
  std::string stream_type;
  std::string publisher_id;
  std::string consumer_id;
  std::string protocol;
  std::string status;
  std::optional<double> duration_seconds;
  std::int64_t bytes_transferred = 0;
  std::optional<std::string> error_message;
  std::optional<WallTime> ended_at;
};

// Request bodies.
struct AdvertiseRequest {
  std::string name;
  std::string stream_type;
  std::string publisher_id;
  std::string protocol;
  std::string address;
  int port = 0;
  std::optional<std::string> entity_id;
  std::optional<std::string> device_id;
  boost::json::object config;
  boost::json::object metadata;
  std::optional<std::string> multicast_group;
  std::optional<int> multicast_port;
};

struct StreamRequest {
  std::string consumer_id;
  std::string consumer_address;
  std::optional<int> consumer_port;
  boost::json::object config;
};

struct JoinRequest {
  std::string consumer_id;
  std::string consumer_address;
  boost::json::object metadata;
};

struct StreamTypeSpec {  // body of POST /streams/types and PUT /streams/types/{name}
  std::string name;
  std::string display_name;
  std::optional<std::string> description;
  std::optional<std::string> icon;
  boost::json::object default_config;
  boost::json::object metadata;
  boost::json::object config_schema;
};

boost::json::object to_json(const StreamView& v);
boost::json::object to_json(const SessionRecord& s);
boost::json::object to_json(const SubscriberRecord& s);
boost::json::object to_json(const StreamTypeRecord& t);
boost::json::object to_json(const StreamOffer& o);
boost::json::object to_json(const JoinResult& j);
boost::json::object to_json(const SessionHistoryRow& h);
boost::json::object to_json(const AdvertiseRequest& a);
boost::json::object to_json(const StreamRequest& r);
boost::json::object to_json(const JoinRequest& r);
boost::json::object to_json(const StreamTypeSpec& t);

StreamView stream_from_json(const boost::json::object& o);
SessionRecord session_from_json(const boost::json::object& o);
SubscriberRecord subscriber_from_json(const boost::json::object& o);
StreamTypeRecord type_from_json(const boost::json::object& o);
StreamOffer offer_from_json(const boost::json::object& o);
JoinResult join_from_json(const boost::json::object& o);
SessionHistoryRow history_from_json(const boost::json::object& o);

}  // namespace sluice::registry
