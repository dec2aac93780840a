// Trust parsers fed by clients and operators: Authorization headers and ?token= values through
// the Authenticator (Basic base64, Bearer, tokens, stream keys), permission grants of custom
// roles, subject classification and patterns, setting values, Origin checks, X-Forwarded-For,
// and the state file's key records. None may crash; an identity never comes from garbage.
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/json/parse.hpp>

#include "auth/access_policy.hpp"
#include "auth/authenticator.hpp"
#include "auth/directory.hpp"
#include "auth/subjects.hpp"
#include "http/gate.hpp"
#include "settings/settings.hpp"
#include "state/state_journal.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace sluice;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  static FakeClock clock;
  static auth::Directory directory(nullptr, clock);
  static auth::Authenticator authenticator(
      directory, clock, auth::AuthenticatorOptions{"fuzz-admin-token-0123", false});
  static const auth::AccessPolicy policy(auth::AccessOptions{});
  clock.advance(std::chrono::seconds(1));  // no backoff between inputs

  auto who = authenticator.authenticate({text, {}, "10.0.0.1"});
  // The directory is empty: only the admin token can make an identity.
  if (who && who->authenticated() && text.find("fuzz-admin-token-0123") == std::string_view::npos) {
    __builtin_trap();
  }
  (void)authenticator.authenticate({{}, text, "10.0.0.2"});

  if (auto g = auth::parse_grant(text)) {
    auth::Role role{"r", "", {*g}, auth::Scope::kOwn, false};
    (void)role.allows(auth::Need{g->resource, g->access, std::string(text)});
    (void)auth::parse_grant(auth::to_string(*g)).value();  // what it prints parses back
  }
  (void)auth::glob_match(text, "stage-left");
  (void)auth::classify_subject(text);
  (void)auth::read_need(text);
  (void)auth::subscribe_need(text);
  (void)http::origin_allowed(text, "127.0.0.1:8080", {"https://console.example"});
  (void)http::client_address("127.0.0.1", text, {*keys::parse_ip_rule("127.0.0.0/8")});
  (void)auth::token_id_of(text);

  boost::system::error_code ec;
  auto value = boost::json::parse(text, ec);
  if (!ec) {
    settings::Spec spec;
    spec.name = "fuzz";
    for (auto type :
         {settings::Type::kInteger, settings::Type::kNumber, settings::Type::kBoolean,
          settings::Type::kString, settings::Type::kStringList, settings::Type::kEnum}) {
      spec.type = type;
      spec.minimum = 1;
      spec.maximum = 100;
      spec.choices = {"a", "b"};
      (void)settings::Settings::validate(spec, value);
    }
  }
  (void)state::key_from_json(text);
  return 0;
}
