#include "registry/requests.hpp"

#include <boost/asio/ip/address.hpp>

#include <algorithm>
#include <array>

#include "core/ids.hpp"
#include "core/json.hpp"
#include "registry/config_schema.hpp"

namespace sluice::registry {
namespace {

constexpr std::array<std::string_view, 15> kProtocols = {
    "tcp",  "udp",  "ndi", "srt",  "webrtc",    "spout", "syphon", "shared_memory",
    "rtmp", "rtsp", "hls", "http", "websocket", "mqtt",  "sluice"};

std::optional<std::string> uuid_field(FieldReader& r, std::string_view key) {
  auto text = r.string(key, false);
  if (!text) return std::nullopt;
  auto id = canonical_uuid(*text);
  if (!id) r.add_error(key, "'" + std::string(key) + "' should be a valid UUID", "uuid_parsing");
  return id;
}

}  // namespace

bool is_known_protocol(std::string_view protocol) {
  return std::find(kProtocols.begin(), kProtocols.end(), protocol) != kProtocols.end();
}

std::string known_protocols_text() {
  std::string out;
  for (auto p : kProtocols) {
    if (!out.empty()) out += ", ";
    out += p;
  }
  return out;
}

Result<AdvertiseRequest> parse_advertise(const boost::json::object& body) {
  FieldReader r(body, {"body"});
  AdvertiseRequest a;
  auto name = r.string("name", true, 1, 255);
  auto type = r.string("stream_type", true, 1, 100);
  auto publisher = r.string("publisher_id", true, 1, 255);
  auto protocol = r.string("protocol", true, 1, 50);
  auto address = r.string("address", true, 1, 255);
  auto port = r.integer("port", true, 0, 65535);
  a.entity_id = uuid_field(r, "entity_id");
  a.device_id = uuid_field(r, "device_id");
  auto config = r.object("config", false);
  auto metadata = r.object("metadata", false);
  a.multicast_group = r.string("multicast_group", false, 0, 64);
  auto mport = r.integer("multicast_port", false, 0, 65535);
  if (protocol && !is_known_protocol(*protocol)) {
    r.add_error("protocol", "Input should be one of: " + known_protocols_text(), "enum");
  }
  if (a.multicast_group && a.multicast_group->empty()) a.multicast_group.reset();
  if (a.multicast_group.has_value() != mport.has_value()) {
    r.add_error("multicast_group",
                "multicast_group and multicast_port must both be set or both be None");
  } else if (a.multicast_group) {
    boost::system::error_code ec;
    auto ip = boost::asio::ip::make_address(*a.multicast_group, ec);
    if (ec) {
      r.add_error("multicast_group", "Invalid IP address: " + *a.multicast_group);
    } else if (!ip.is_v4() || !ip.is_multicast()) {
      r.add_error("multicast_group",
                  "Address " + *a.multicast_group +
                      " is not a valid multicast address (must be in 224.0.0.0/4)");
    }
  }
  if (!r.ok()) return fail(Error::invalid(r.take_errors()));
  a.name = *name;
  a.stream_type = *type;
  a.publisher_id = *publisher;
  a.protocol = *protocol;
  a.address = *address;
  a.port = static_cast<int>(*port);
  a.config = std::move(*config);
  a.metadata = std::move(*metadata);
  if (mport) a.multicast_port = static_cast<int>(*mport);
  return a;
}

Result<StreamRequest> parse_stream_request(const boost::json::object& body) {
  FieldReader r(body, {"body"});
  auto consumer = r.string("consumer_id", true, 1, 255);
  auto address = r.string("consumer_address", true, 1, 255);
  auto port = r.integer("consumer_port", false, 0, 65535);
  auto config = r.object("config", false);
  if (!r.ok()) return fail(Error::invalid(r.take_errors()));
  StreamRequest q{*consumer, *address, std::nullopt, std::move(*config)};
  if (port) q.consumer_port = static_cast<int>(*port);
  return q;
}

Result<JoinRequest> parse_join_request(const boost::json::object& body) {
  FieldReader r(body, {"body"});
  auto consumer = r.string("consumer_id", true, 1, 255);
  auto address = r.string("consumer_address", true, 1, 255);
  auto metadata = r.object("metadata", false);
  if (!r.ok()) return fail(Error::invalid(r.take_errors()));
  return JoinRequest{*consumer, *address, std::move(*metadata)};
}

Result<StreamTypeSpec> parse_type_spec(const boost::json::object& body,
                                       const std::string* path_name) {
  FieldReader r(body, {"body"});
  StreamTypeSpec t;
  auto name = r.string("name", path_name == nullptr, 1, 100);
  auto display = r.string("display_name", true, 1, 255);
  t.description = r.string("description", false, 0, 4096);
  t.icon = r.string("icon", false, 0, 50);
  auto defaults = r.object("default_config", false);
  auto metadata = r.object("metadata", false);
  auto schema = r.object("config_schema", false);
  if (name) {
    bool slug = std::all_of(name->begin(), name->end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    });
    if (!slug) {
      r.add_error("name", "'name' may contain only lowercase letters, digits, '_' and '-'");
    }
    if (path_name && *name != *path_name) {
      r.add_error("name", "'name' in the body must match the type named in the path");
    }
  }
  if (schema) {
    if (auto fields = parse_config_schema(*schema); !fields) {
      for (auto& f : fields.error().fields)
        r.add_error("config_schema", f.msg);
    } else if (defaults) {
      // The defaults must themselves satisfy the schema's types and ranges.
      if (auto check = validate_config(*fields, *defaults, {"body", "default_config"}, false);
          !check) {
        for (auto& f : check.error().fields)
          r.add_error("default_config", f.msg);
      }
    }
  }
  if (!r.ok()) return fail(Error::invalid(r.take_errors()));
  t.name = name ? *name : *path_name;
  t.display_name = *display;
  t.default_config = std::move(*defaults);
  t.metadata = std::move(*metadata);
  t.config_schema = std::move(*schema);
  return t;
}

}  // namespace sluice::registry
