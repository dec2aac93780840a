#pragma once
// Validation of request bodies into typed requests. Every problem is reported as a FastAPI-style
// field error (422), all at once, so a client can fix its request in one go.
#include <boost/json/object.hpp>

#include "core/error.hpp"
#include "registry/model.hpp"

namespace sluice::registry {

// Protocols accepted in adverts: Maestra's eight plus the transports sluice itself serves.
bool is_known_protocol(std::string_view protocol);
std::string known_protocols_text();

// Checks fields, types, lengths and the multicast rules (reference §2.2). The stream type is
// checked against the catalog by Registry, not here.
Result<AdvertiseRequest> parse_advertise(const boost::json::object& body);
Result<StreamRequest> parse_stream_request(const boost::json::object& body);
Result<JoinRequest> parse_join_request(const boost::json::object& body);
// For PUT, `name` may be omitted (the path names the type) but must match when present.
Result<StreamTypeSpec> parse_type_spec(const boost::json::object& body,
                                       const std::string* path_name = nullptr);

}  // namespace sluice::registry
