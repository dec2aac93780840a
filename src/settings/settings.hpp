#pragma once
// Settings as observables (the C Pro camera's `initObservable`): every daemon option that can
// change while sluiced runs is a named, typed setting with a default, a range or an enum, and the
// permissions to read and to write it. A change is validated (422 naming the rule; the old value
// stays), written to the state::Records home (the node's StateDb, or Redis shared by a
// cluster), applied by the module that owns it, then announced (the
// server publishes it on `sluice.settings.{name}`). Values written earlier are restored at start
// and win over the configuration's defaults. Thread-safe: one mutex per change, never held
// while applying or announcing.
#include <boost/json/value.hpp>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "auth/permissions.hpp"
#include "core/error.hpp"

namespace sluice::state {
class Records;
}

namespace sluice::settings {

enum class Type { kInteger, kNumber, kBoolean, kString, kStringList, kEnum };

struct Spec {
  std::string name;  // snake_case, e.g. "stream_ttl"
  Type type = Type::kString;
  std::string description;
  std::string unit;                  // "s", "bytes", … (display only)
  std::optional<double> minimum;     // integer, number
  std::optional<double> maximum;     // integer, number; string length for strings
  std::vector<std::string> choices;  // enum
  // A secret (a passphrase): readers, announcements and logs see "********" for a value that is
  // set, never the value.
  bool secret = false;
  auth::Need read{auth::Resource::kSettings, auth::Access::kRead, {}};
  auth::Need write{auth::Resource::kSettings, auth::Access::kWrite, {}};
  // Extra check beyond the type and range (e.g. "an http:// URL"); an error names the rule.
  std::function<Status(const boost::json::value&)> check;
  // Makes the value take effect; called after it is stored. An error is reported to the caller
  // (the value stays stored and is applied again at the next start).
  std::function<Status(const boost::json::value&)> apply;
};

struct Setting {
  const Spec* spec = nullptr;
  boost::json::value value;
  boost::json::value default_value;
};

// What a change announces.
using Announce = std::function<void(const Setting& setting, const boost::json::value& previous,
                                    const std::string& by)>;

// The value as anyone may see it: a secret's is masked.
boost::json::value shown_value(const Spec& spec, const boost::json::value& value);

class Settings {
 public:
  // `db` may be null (nothing persists).
  explicit Settings(state::Records* db);

  // Registers a setting with its default (the configuration's value). When the home holds a
  // value for it, that value is used and applied. Start-up only; throws on a duplicate name.
  // A shared home (Redis) that cannot be read yet leaves the default until reload().
  void define(Spec spec, boost::json::value default_value);
  // Takes every stored value that differs from the one in force (another node changed it):
  // applies and announces it as changed by `by`. On failure nothing changes.
  Status reload(const std::string& by);
  void set_announce(Announce announce) { announce_ = std::move(announce); }

  std::vector<Setting> list() const;  // by name
  std::optional<Setting> get(std::string_view name) const;
  // Validates, stores, applies and announces. 404 unknown, 422 naming the rule.
  Result<Setting> put(std::string_view name, const boost::json::value& value,
                      const std::string& by);

  // Checks `value` against `spec` (exposed for tests and forms).
  static Status validate(const Spec& spec, const boost::json::value& value);
  static boost::json::object describe(const Setting& s);

 private:
  // The stored values by name (read once, at the first define()); empty when unreadable.
  const std::map<std::string, boost::json::value, std::less<>>& stored();

  state::Records* db_;
  Announce announce_;
  std::optional<std::map<std::string, boost::json::value, std::less<>>> stored_;  // define() only
  mutable std::mutex mutex_;
  std::map<std::string, Setting, std::less<>> settings_;
  std::vector<std::unique_ptr<Spec>> specs_;  // stable addresses for Setting::spec
};

}  // namespace sluice::settings
