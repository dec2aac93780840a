#include "settings/settings.hpp"

#include <spdlog/spdlog.h>
#include <boost/json/parse.hpp>

#include <cmath>
#include <stdexcept>

#include "core/json_text.hpp"
#include "state/records.hpp"

namespace sluice::settings {
namespace json = boost::json;
namespace {

constexpr const char* kKind = "setting";

const char* type_name(Type t) {
  switch (t) {
    case Type::kInteger:
      return "integer";
    case Type::kNumber:
      return "number";
    case Type::kBoolean:
      return "boolean";
    case Type::kString:
      return "string";
    case Type::kStringList:
      return "string_list";
    case Type::kEnum:
      return "enum";
  }
  return "string";
}

Error rule(const Spec& spec, const std::string& msg) {
  return Error::invalid_field({"body", "value"}, spec.name + ": " + msg);
}

std::string number_text(double v) {
  return to_json_text(json::value(v));
}

}  // namespace

Settings::Settings(state::Records* db) : db_(db) {}

namespace {

// The stored values in `db` by name; an unparsable record is skipped with a warning.
Result<std::map<std::string, json::value, std::less<>>> load_values(const state::Records& db) {
  auto rows = db.load(kKind);
  if (!rows) return fail(rows.error());
  std::map<std::string, json::value, std::less<>> out;
  for (const auto& [id, body] : *rows) {
    boost::system::error_code ec;
    auto stored = json::parse(body, ec);
    if (ec || !stored.is_object() || !stored.as_object().contains("value")) {
      spdlog::warn("setting {}: the stored record is not valid JSON; ignored", id);
      continue;
    }
    out[id] = stored.as_object().at("value");
  }
  return out;
}

}  // namespace

const std::map<std::string, json::value, std::less<>>& Settings::stored() {
  if (!stored_) {
    stored_.emplace();
    if (db_) {
      auto values = load_values(*db_);
      if (values) {
        *stored_ = std::move(*values);
      } else if (db_->shared()) {
        spdlog::warn("stored settings not loaded yet ({}); retrying every second",
                     values.error().detail);
      } else {
        throw std::runtime_error(values.error().detail);
      }
    }
  }
  return *stored_;
}

Status Settings::reload(const std::string& by) {
  if (!db_) return {};
  auto values = load_values(*db_);
  if (!values) return fail(values.error());
  for (const auto& [name, value] : *values) {
    const Spec* spec = nullptr;
    json::value previous;
    Setting now;
    {
      std::lock_guard lock(mutex_);
      auto it = settings_.find(name);
      if (it == settings_.end() || it->second.value == value) continue;
      spec = it->second.spec;
      if (!validate(*spec, value)) continue;
      previous = it->second.value;
      it->second.value = value;
      now = it->second;
    }
    if (spec->apply) {
      if (auto ok = spec->apply(value); !ok) {
        spdlog::warn("setting {}: not applied: {}", name, ok.error().detail);
      }
    }
    if (announce_) announce_(now, previous, by);
  }
  return {};
}

Status Settings::validate(const Spec& spec, const json::value& v) {
  auto range = [&](double x) -> Status {
    if (spec.minimum && x < *spec.minimum) {
      return fail(rule(spec, "must be at least " + number_text(*spec.minimum)));
    }
    if (spec.maximum && x > *spec.maximum) {
      return fail(rule(spec, "must be at most " + number_text(*spec.maximum)));
    }
    return {};
  };
  switch (spec.type) {
    case Type::kInteger: {
      if (!v.is_int64() && !v.is_uint64()) return fail(rule(spec, "must be an integer"));
      if (auto ok = range(v.to_number<double>()); !ok) return ok;
      break;
    }
    case Type::kNumber: {
      if (!v.is_number()) return fail(rule(spec, "must be a number"));
      const double x = v.to_number<double>();
      if (!std::isfinite(x)) return fail(rule(spec, "must be finite"));
      if (auto ok = range(x); !ok) return ok;
      break;
    }
    case Type::kBoolean:
      if (!v.is_bool()) return fail(rule(spec, "must be true or false"));
      break;
    case Type::kString:
      if (!v.is_string()) return fail(rule(spec, "must be a string"));
      if (spec.maximum && static_cast<double>(v.as_string().size()) > *spec.maximum) {
        return fail(rule(spec, "must be at most " + number_text(*spec.maximum) + " characters"));
      }
      break;
    case Type::kStringList:
      if (!v.is_array()) return fail(rule(spec, "must be a list of strings"));
      if (v.as_array().size() > 256) return fail(rule(spec, "must list at most 256 items"));
      for (const auto& item : v.as_array()) {
        if (!item.is_string() || item.as_string().empty() || item.as_string().size() > 1024) {
          return fail(rule(spec, "must be a list of non-empty strings"));
        }
      }
      break;
    case Type::kEnum: {
      if (!v.is_string()) return fail(rule(spec, "must be a string"));
      bool known = false;
      std::string list;
      for (const auto& c : spec.choices) {
        known = known || c == v.as_string();
        list += (list.empty() ? "" : ", ") + c;
      }
      if (!known) return fail(rule(spec, "must be one of " + list));
      break;
    }
  }
  return spec.check ? spec.check(v) : Status{};
}

json::value shown_value(const Spec& spec, const json::value& value) {
  if (!spec.secret || (value.is_string() && value.as_string().empty()) ||
      (value.is_array() && value.as_array().empty())) {
    return value;
  }
  return json::string("********");
}

json::object Settings::describe(const Setting& s) {
  const Spec& spec = *s.spec;
  json::object o{{"name", spec.name},
                 {"value", shown_value(spec, s.value)},
                 {"default", shown_value(spec, s.default_value)},
                 {"type", type_name(spec.type)},
                 {"description", spec.description},
                 {"read", json::array{json::value(auth::permission_name(spec.read))}},
                 {"write", json::array{json::value(auth::permission_name(spec.write))}}};
  if (!spec.unit.empty()) o["unit"] = spec.unit;
  if (spec.minimum) o["minimum"] = *spec.minimum;
  if (spec.maximum) o["maximum"] = *spec.maximum;
  if (!spec.choices.empty()) {
    json::array c;
    for (const auto& x : spec.choices)
      c.emplace_back(x);
    o["enum"] = std::move(c);
  }
  return o;
}

void Settings::define(Spec spec, json::value default_value) {
  if (auto ok = validate(spec, default_value); !ok) {
    throw std::invalid_argument("setting " + spec.name + ": bad default: " + ok.error().detail);
  }
  json::value value = default_value;
  if (auto it = stored().find(spec.name); it != stored().end()) {
    if (validate(spec, it->second)) {
      value = it->second;
      if (value != default_value) {
        spdlog::info("setting {} = {} (stored by PUT /settings; overrides the configuration)",
                     spec.name, to_json_text(value));
      }
    } else {
      spdlog::warn("setting {}: the stored value is not valid any more; using {}", spec.name,
                   to_json_text(default_value));
    }
  }
  auto owned = std::make_unique<Spec>(std::move(spec));
  const Spec* p = owned.get();
  {
    std::lock_guard lock(mutex_);
    if (settings_.contains(p->name)) throw std::logic_error("setting defined twice: " + p->name);
    specs_.push_back(std::move(owned));
    settings_[p->name] = Setting{p, value, std::move(default_value)};
  }
  if (value != settings_[p->name].default_value && p->apply) {
    if (auto ok = p->apply(value); !ok) {
      spdlog::warn("setting {}: not applied: {}", p->name, ok.error().detail);
    }
  }
}

std::vector<Setting> Settings::list() const {
  std::lock_guard lock(mutex_);
  std::vector<Setting> out;
  for (const auto& [_, s] : settings_)
    out.push_back(s);
  return out;
}

std::optional<Setting> Settings::get(std::string_view name) const {
  std::lock_guard lock(mutex_);
  auto it = settings_.find(name);
  if (it == settings_.end()) return std::nullopt;
  return it->second;
}

Result<Setting> Settings::put(std::string_view name, const json::value& value,
                              const std::string& by) {
  const Spec* spec = nullptr;
  {
    std::lock_guard lock(mutex_);
    auto it = settings_.find(name);
    if (it == settings_.end()) {
      return fail(Error::not_found("no setting named '" + std::string(name) +
                                   "' (GET /settings lists them)"));
    }
    spec = it->second.spec;
  }
  if (auto ok = validate(*spec, value); !ok) return fail(ok.error());
  json::value previous;
  Setting now;
  {
    std::lock_guard lock(mutex_);
    if (db_) {
      auto stored = db_->put(kKind, spec->name,
                             to_json_text(json::object{{"value", value}}, DoubleStyle::kKeepKind));
      if (!stored) return fail(stored.error());
    }
    auto& s = settings_[spec->name];
    previous = s.value;
    s.value = value;
    now = s;
  }
  if (spec->apply) {
    if (auto ok = spec->apply(value); !ok) return fail(ok.error());
  }
  if (announce_) announce_(now, previous, by);
  return now;
}

}  // namespace sluice::settings
