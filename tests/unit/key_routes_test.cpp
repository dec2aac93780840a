// The /keys routes without sockets, behind the HTTP gate: who may call them (keys_rw: the admin
// token, loopback with --loopback-admin), and that answers never carry an HMAC or, outside
// create/rotate, a key.
#include <gtest/gtest.h>

#include "auth/access_policy.hpp"
#include "auth/authenticator.hpp"
#include "auth/directory.hpp"
#include "http/gate.hpp"
#include "http/key_routes.hpp"
#include "keys/key_service.hpp"
#include "registry/memory_store.hpp"

namespace sluice::http {
namespace {

class KeyRoutesTest : public ::testing::Test {
 protected:
  HttpResponse call(const Router& router, std::string method, std::string path, std::string body,
                    std::string peer, std::string authorization = {}) {
    HttpRequest req;
    req.method = method;
    req.path = path;
    req.body = std::move(body);
    req.remote_address = std::move(peer);
    req.authorization = std::move(authorization);
    auto m = router.route(method, path);
    EXPECT_TRUE(m.handler) << method << " " << path;
    if (auto refused = router.admit(req, m.route_index)) return *refused;
    return std::get<HttpResponse>((*m.handler)(req, m.params));
  }

  // The /keys routes behind a gate with `admin_token` and the loopback rule.
  void guard(Router& r, std::string admin_token, bool loopback_admin) {
    authenticator = std::make_unique<auth::Authenticator>(
        directory, clock, auth::AuthenticatorOptions{std::move(admin_token), loopback_admin});
    declare_route_access(r);
    r.set_gate(
        make_gate(*authenticator, policy, GateOptions{std::make_shared<AllowedOrigins>(), {}}));
  }

  registry::MemoryStore store;
  FakeClock clock;
  auth::Directory directory{nullptr, clock};
  auth::AccessPolicy policy{auth::AccessOptions{}};
  std::unique_ptr<auth::Authenticator> authenticator;
  keys::KeyService keys{store, clock, std::string(32, 's')};
};

TEST_F(KeyRoutesTest, LoopbackIsAdminOnlyWhenAskedFor) {
  Router r;
  add_key_routes(r, keys, {});
  guard(r, {}, true);
  for (auto peer : {"127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"}) {
    EXPECT_EQ(call(r, "GET", "/keys", "", peer).status, 200) << peer;
  }
  for (auto peer : {"10.0.0.5", "::ffff:10.0.0.5", "2001:db8::1", "", "localhost"}) {
    auto res = call(r, "POST", "/keys", R"({"stream":"cam"})", peer);
    EXPECT_EQ(res.status, 401) << peer;
    EXPECT_NE(res.body.find("keys_rw"), std::string::npos);
  }
  EXPECT_TRUE(keys.list().value().empty());
  Router strict;
  add_key_routes(strict, keys, {});
  guard(strict, {}, false);
  EXPECT_EQ(call(strict, "GET", "/keys", "", "127.0.0.1").status, 401);
}

TEST_F(KeyRoutesTest, WithAdminTokenABearerIsNeededFromAnywhere) {
  Router r;
  add_key_routes(r, keys, {});
  guard(r, "the-admin-token-0123456789", false);
  auto none = call(r, "GET", "/keys", "", "127.0.0.1");
  EXPECT_EQ(none.status, 401);
  ASSERT_EQ(none.headers.size(), 1u);
  EXPECT_EQ(none.headers[0].first, "WWW-Authenticate");
  EXPECT_EQ(call(r, "GET", "/keys", "", "10.0.0.5", "Bearer wrong").status, 401);
  EXPECT_EQ(call(r, "GET", "/keys", "", "10.0.0.5", "Basic the-admin-token-0123456789").status,
            401);
  EXPECT_EQ(call(r, "GET", "/keys", "", "10.0.0.5", "Bearer the-admin-token-012345678").status,
            401);
  // Each failure makes the address wait 100 ms (no faster than 10 tries a second).
  EXPECT_EQ(call(r, "GET", "/keys", "", "10.0.0.5", "Bearer the-admin-token-0123456789").status,
            401);
  clock.advance(std::chrono::milliseconds(101));
  EXPECT_EQ(call(r, "GET", "/keys", "", "10.0.0.5", "Bearer the-admin-token-0123456789").status,
            200);
  auto created = call(r, "POST", "/keys", R"({"stream":"cam","alias":"a"})", "10.0.0.5",
                      "bearer the-admin-token-0123456789");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_NE(created.body.find("\"key\":\"sk_"), std::string::npos);
  auto listed = call(r, "GET", "/keys", "", "10.0.0.5", "Bearer the-admin-token-0123456789");
  EXPECT_EQ(listed.body.find("sk_"), std::string::npos);
  EXPECT_EQ(listed.body.find("hmac"), std::string::npos);
  auto shown = call(r, "GET", "/keys/a", "", "10.0.0.5", "Bearer the-admin-token-0123456789");
  EXPECT_EQ(shown.status, 200);
  EXPECT_EQ(shown.body.find("\"key\""), std::string::npos);
}

TEST_F(KeyRoutesTest, ValidationNamesEveryBadFieldInOneAnswer) {
  Router r;
  add_key_routes(r, keys, {});
  guard(r, {}, true);
  auto bad = call(r, "POST", "/keys",
                  R"({"stream":"no/slash","kind":"admin","expires_in":-5,)"
                  R"("allowed_ips":["10.0.0.0/8","banana",7],"alias":"0123456789abcdef",)"
                  R"("note":42})",
                  "127.0.0.1");
  ASSERT_EQ(bad.status, 422) << bad.body;
  for (auto loc : {R"(["body","stream"])", R"(["body","kind"])", R"(["body","expires_in"])",
                   R"(["body","allowed_ips","1"])", R"(["body","allowed_ips","2"])",
                   R"(["body","alias"])", R"(["body","note"])"}) {
    EXPECT_NE(bad.body.find(loc), std::string::npos) << loc << " in " << bad.body;
  }
  EXPECT_NE(bad.body.find("banana"), std::string::npos);
  EXPECT_EQ(call(r, "POST", "/keys", R"({"allowed_ips":"10.0.0.1"})", "::1").status, 422);
  EXPECT_TRUE(keys.list().value().empty());
}

}  // namespace
}  // namespace sluice::http
