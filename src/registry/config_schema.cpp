#include "registry/config_schema.hpp"

#include <algorithm>
#include <array>

#include "core/json.hpp"
#include "core/json_text.hpp"

namespace sluice::registry {
namespace json = boost::json;
namespace {

constexpr std::array<std::string_view, 7> kTypes = {"string", "integer", "number", "boolean",
                                                    "object", "array",   "any"};

bool has_type(const json::value& v, const std::string& type) {
  if (type == "any") return true;
  if (type == "string") return v.is_string();
  if (type == "integer") {
    return v.is_int64() || v.is_uint64() ||
           (v.is_double() &&
            v.as_double() == static_cast<double>(static_cast<long long>(v.as_double())));
  }
  if (type == "number") return v.is_number();
  if (type == "boolean") return v.is_bool();
  if (type == "object") return v.is_object();
  if (type == "array") return v.is_array();
  return false;
}

}  // namespace

Result<std::vector<ConfigField>> parse_config_schema(const json::object& schema) {
  std::vector<FieldError> errors;
  std::vector<ConfigField> fields;
  auto bad = [&](const std::string& field, std::string msg) {
    errors.push_back(FieldError{
        {"body", "config_schema", field}, "config_schema." + field + ": " + msg, "value_error"});
  };
  for (const auto& [key, spec] : schema) {
    std::string name(key);
    if (!spec.is_object()) {
      bad(name, "must be an object like {\"type\": \"integer\", \"required\": true}");
      continue;
    }
    const auto& o = spec.as_object();
    ConfigField f;
    f.name = name;
    f.type = "any";
    if (auto it = o.find("type"); it != o.end()) {
      if (!it->value().is_string() ||
          std::find(kTypes.begin(), kTypes.end(), it->value().as_string()) == kTypes.end()) {
        bad(name, "'type' must be one of string, integer, number, boolean, object, array, any");
        continue;
      }
      f.type = std::string(it->value().as_string());
    }
    if (auto it = o.find("required"); it != o.end()) {
      if (!it->value().is_bool()) {
        bad(name, "'required' must be a boolean");
        continue;
      }
      f.required = it->value().as_bool();
    }
    for (auto [bound, target] : {std::pair{"min", &f.minimum}, std::pair{"max", &f.maximum}}) {
      if (auto it = o.find(bound); it != o.end()) {
        if (!it->value().is_number()) {
          bad(name, std::string("'") + bound + "' must be a number");
          continue;
        }
        *target = it->value().to_number<double>();
      }
    }
    if (auto it = o.find("enum"); it != o.end()) {
      if (!it->value().is_array() || it->value().as_array().empty()) {
        bad(name, "'enum' must be a non-empty array");
        continue;
      }
      f.allowed.assign(it->value().as_array().begin(), it->value().as_array().end());
    }
    fields.push_back(std::move(f));
  }
  if (!errors.empty()) return fail(Error::invalid(std::move(errors)));
  return fields;
}

Status validate_config(const std::vector<ConfigField>& fields, const json::object& config,
                       const std::vector<std::string>& loc, bool check_required) {
  std::vector<FieldError> errors;
  auto bad = [&](const ConfigField& f, std::string msg, std::string type) {
    auto l = loc;
    l.push_back(f.name);
    errors.push_back(FieldError{std::move(l), "config." + f.name + ": " + msg, std::move(type)});
  };
  for (const auto& f : fields) {
    auto it = config.find(f.name);
    if (it == config.end() || it->value().is_null()) {
      if (f.required && check_required) bad(f, "field required by the stream type", "missing");
      continue;
    }
    const auto& v = it->value();
    if (!has_type(v, f.type)) {
      bad(f, "should be of type " + f.type + ", got " + std::string(json_kind(v)),
          f.type + "_type");
      continue;
    }
    if (v.is_number()) {
      double n = v.to_number<double>();
      if ((f.minimum && n < *f.minimum) || (f.maximum && n > *f.maximum)) {
        std::string range = (f.minimum ? to_json_text(json::value(*f.minimum)) : "-inf") + ".." +
                            (f.maximum ? to_json_text(json::value(*f.maximum)) : "inf");
        bad(f, "should be within " + range + ", got " + to_json_text(v), "range");
        continue;
      }
    }
    if (!f.allowed.empty() && std::find(f.allowed.begin(), f.allowed.end(), v) == f.allowed.end()) {
      std::string options;
      for (const auto& a : f.allowed)
        options += (options.empty() ? "" : ", ") + to_json_text(a);
      bad(f, "should be one of " + options + ", got " + to_json_text(v), "enum");
    }
  }
  if (!errors.empty()) return fail(Error::invalid(std::move(errors)));
  return {};
}

json::object merge_config(const json::object& defaults, const json::object& overrides) {
  json::object out = defaults;
  for (const auto& [key, value] : overrides) {
    auto it = out.find(key);
    if (it != out.end() && it->value().is_object() && value.is_object()) {
      it->value() = merge_config(it->value().as_object(), value.as_object());
    } else {
      out[key] = value;
    }
  }
  return out;
}

}  // namespace sluice::registry
