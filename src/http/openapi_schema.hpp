#pragma once
// Internal to the OpenAPI document (http/openapi*.cpp): the JSON-schema building blocks shared by
// the component schemas and the operations.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::http::openapi_schema {
namespace json = boost::json;

using Schema = json::object;

// ---- schema building blocks ------------------------------------------------------------------

inline Schema typed(std::string_view type) {
  return Schema{{"type", type}};
}

inline Schema str(std::int64_t min_length = -1, std::int64_t max_length = -1) {
  Schema s = typed("string");
  if (min_length >= 0) s["minLength"] = min_length;
  if (max_length >= 0) s["maxLength"] = max_length;
  return s;
}
inline Schema uuid() {
  return Schema{{"type", "string"}, {"format", "uuid"}};
}
inline Schema date_time() {
  return Schema{{"type", "string"}, {"format", "date-time"}};
}
inline Schema integer(std::optional<std::int64_t> min = {}, std::optional<std::int64_t> max = {}) {
  Schema s = typed("integer");
  if (min) s["minimum"] = *min;
  if (max) s["maximum"] = *max;
  return s;
}
inline Schema int64() {
  return Schema{{"type", "integer"}, {"format", "int64"}, {"minimum", 0}};
}
inline Schema port() {
  return integer(0, 65535);
}
inline Schema any_object() {
  return Schema{{"type", "object"}, {"additionalProperties", true}};
}
inline Schema ref(std::string_view name) {
  return Schema{{"$ref", "#/components/schemas/" + std::string(name)}};
}
inline Schema array_of(Schema items) {
  return Schema{{"type", "array"}, {"items", std::move(items)}};
}
inline Schema nullable(Schema s) {
  s["nullable"] = true;
  return s;
}
inline Schema describe(Schema s, std::string_view text) {
  s["description"] = text;
  return s;
}
inline Schema with_default(Schema s, json::value v) {
  s["default"] = std::move(v);
  return s;
}
inline Schema enum_of(std::initializer_list<std::string_view> values) {
  json::array a;
  for (auto v : values) {
    a.emplace_back(v);
  }
  return Schema{{"type", "string"}, {"enum", std::move(a)}};
}

struct Field {
  std::string_view name;
  Schema schema;
  bool required = true;
};

inline Schema object_of(std::initializer_list<Field> fields, std::string_view description = {}) {
  Schema props;
  json::array required;
  for (const auto& f : fields) {
    props[f.name] = f.schema;
    if (f.required) required.emplace_back(f.name);
  }
  Schema s{{"type", "object"}, {"properties", std::move(props)}};
  if (!required.empty()) s["required"] = std::move(required);
  if (!description.empty()) s["description"] = description;
  return s;
}

// {"status": "<status>", "<id_field>": "<uuid or name>"}: the small replies of delete/heartbeat.
inline Schema status_reply(std::string_view status, std::string_view id_field,
                           bool id_is_uuid = true) {
  return object_of({{"status", enum_of({status})}, {id_field, id_is_uuid ? uuid() : str()}});
}

// ---- components.schemas ----------------------------------------------------------------------

inline Schema type_spec(bool name_required) {
  Schema name = str(1, 100);
  name["pattern"] = "^[a-z0-9_-]+$";
  return object_of(
      {{"name",
        describe(std::move(name), name_required
                                      ? "Unique type name: lowercase letters, digits, '_' and '-'."
                                      : "Optional; when given it must equal the name in the path."),
        name_required},
       {"display_name", str(1, 255)},
       {"description", nullable(str(0, 4096)), false},
       {"icon", nullable(str(0, 50)), false},
       {"default_config",
        describe(any_object(),
                 "Merged under every advertised config of this type (advertised "
                 "values win, nested objects merge). Must satisfy config_schema."),
        false},
       {"metadata", any_object(), false},
       {"config_schema", ref("ConfigSchema"), false}});
}

// The `components.schemas` object: every named schema the operations refer to.
json::object component_schemas();

}  // namespace sluice::http::openapi_schema
