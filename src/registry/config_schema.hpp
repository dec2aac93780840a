#pragma once
// config_schema: a stream type may declare, per config field, its JSON type, whether it is
// required, a numeric range and an enumeration. Example:
//   {"fps": {"type": "integer", "required": true, "min": 1, "max": 240},
//    "codec": {"type": "string", "enum": ["h264", "hevc"]}}
#include <boost/json/object.hpp>

#include <string>
#include <vector>

#include "core/error.hpp"
#include "registry/model.hpp"

namespace sluice::registry {

Result<std::vector<ConfigField>> parse_config_schema(const boost::json::object& schema);

// Checks `config` against `fields`. Errors are located at `loc` + field name. With
// `check_required` false, missing required fields are not errors (used for default_config).
Status validate_config(const std::vector<ConfigField>& fields, const boost::json::object& config,
                       const std::vector<std::string>& loc, bool check_required = true);

// `defaults` with `overrides` laid over it, recursively for nested objects.
boost::json::object merge_config(const boost::json::object& defaults,
                                 const boost::json::object& overrides);

}  // namespace sluice::registry
