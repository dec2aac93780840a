#include <gtest/gtest.h>

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "wire/scram.hpp"

namespace sluice::wire::scram {
namespace {

// RFC 7677 section 3.
constexpr const char* kRfcClientNonce = "rOprNGfwEbeRWgbNEkqO";
constexpr const char* kRfcServerNoncePart = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
constexpr const char* kRfcSalt = "W22ZaJ0SNY7soEsUEjb6gQ==";
constexpr const char* kRfcClientFirst = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
constexpr const char* kRfcServerFirst =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
constexpr const char* kRfcClientFinal =
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
// The RFC's value (also reproduced with Python hashlib/hmac); beware of copies that differ after
// "mMh".
constexpr const char* kRfcServerFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";
// Computed independently (Python hashlib) for password "pencil" and the RFC salt.
constexpr const char* kRfcCredentialsText =
    "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:"
    "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=";

StoredCredentials rfc_credentials() {
  return derive_credentials("pencil", base64_decode(kRfcSalt).value(), 4096);
}

ServerExchange::Lookup users(std::map<std::string, StoredCredentials> table) {
  return [table = std::move(table)](std::string_view name) -> std::optional<StoredCredentials> {
    auto it = table.find(std::string(name));
    if (it == table.end()) return std::nullopt;
    return it->second;
  };
}

// Field of a server-first message, e.g. field(msg, 's').
std::string field(std::string_view msg, char name) {
  std::string key = std::string(1, name) + "=";
  std::size_t pos = 0;
  while (pos <= msg.size()) {
    std::size_t comma = msg.find(',', pos);
    std::string_view f = msg.substr(pos, comma == std::string_view::npos ? msg.npos : comma - pos);
    if (f.starts_with(key)) return std::string(f.substr(2));
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return {};
}

TEST(Scram, Rfc7677ClientSide) {
  ClientExchange client("user", "pencil", kRfcClientNonce);
  EXPECT_EQ(client.client_first(), kRfcClientFirst);
  EXPECT_EQ(client.client_first(), kRfcClientFirst);  // idempotent
  auto final = client.handle_server_first(kRfcServerFirst);
  ASSERT_TRUE(final) << final.error().detail;
  EXPECT_EQ(*final, kRfcClientFinal);
  auto verified = client.verify_server_final(kRfcServerFinal);
  EXPECT_TRUE(verified) << verified.error().detail;
}

TEST(Scram, Rfc7677ServerSide) {
  ServerExchange server(users({{"user", rfc_credentials()}}), kRfcServerNoncePart);
  EXPECT_FALSE(server.authenticated());
  auto first = server.handle_client_first(kRfcClientFirst);
  ASSERT_TRUE(first) << first.error().detail;
  EXPECT_EQ(*first, kRfcServerFirst);
  EXPECT_EQ(server.username(), "user");
  EXPECT_FALSE(server.authenticated());
  auto final = server.handle_client_final(kRfcClientFinal);
  ASSERT_TRUE(final) << final.error().detail;
  EXPECT_EQ(*final, kRfcServerFinal);
  EXPECT_TRUE(server.authenticated());
  // Done is terminal: a replayed client-final is an error, not a second success.
  auto again = server.handle_client_final(kRfcClientFinal);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().status, 400);
  EXPECT_FALSE(server.authenticated());
}

TEST(Scram, CredentialsTextMatchesIndependentDerivation) {
  EXPECT_EQ(to_string(rfc_credentials()), kRfcCredentialsText);
  auto parsed = parse_credentials(kRfcCredentialsText);
  ASSERT_TRUE(parsed) << parsed.error().detail;
  EXPECT_EQ(*parsed, rfc_credentials());
}

TEST(Scram, FullExchangeWithRandomNoncesAndSalt) {
  StoredCredentials creds = make_credentials("s3cret, really");
  EXPECT_EQ(creds.salt.size(), kSaltBytes);
  EXPECT_EQ(creds.iterations, kDefaultIterations);
  EXPECT_NE(make_credentials("s3cret, really").salt, creds.salt);

  ClientExchange client("alice", "s3cret, really");
  ServerExchange server(users({{"alice", creds}}));
  std::string client_first = client.client_first();
  EXPECT_TRUE(client_first.starts_with("n,,n=alice,r="));
  EXPECT_EQ(field(client_first, 'r').size(), 32u);  // 24 random bytes, base64
  auto server_first = server.handle_client_first(client_first);
  ASSERT_TRUE(server_first) << server_first.error().detail;
  EXPECT_EQ(field(*server_first, 'r').size(), 64u);
  auto client_final = client.handle_server_first(*server_first);
  ASSERT_TRUE(client_final) << client_final.error().detail;
  auto server_final = server.handle_client_final(*client_final);
  ASSERT_TRUE(server_final) << server_final.error().detail;
  EXPECT_TRUE(server.authenticated());
  EXPECT_TRUE(client.verify_server_final(*server_final));
}

TEST(Scram, UsernamesAreEscapedOnTheWire) {
  const std::string name = "we,ird=name";
  ClientExchange client(name, "pw");
  ServerExchange server(users({{name, make_credentials("pw")}}));
  std::string client_first = client.client_first();
  EXPECT_TRUE(client_first.starts_with("n,,n=we=2Cird=3Dname,r=")) << client_first;
  auto server_first = server.handle_client_first(client_first);
  ASSERT_TRUE(server_first) << server_first.error().detail;
  EXPECT_EQ(server.username(), name);
  auto client_final = client.handle_server_first(*server_first);
  ASSERT_TRUE(client_final);
  auto server_final = server.handle_client_final(*client_final);
  ASSERT_TRUE(server_final) << server_final.error().detail;
  EXPECT_TRUE(client.verify_server_final(*server_final));
}

TEST(Scram, WrongPasswordFailsAtClientFinal) {
  ClientExchange client("user", "pencil-not");
  ServerExchange server(users({{"user", rfc_credentials()}}));
  auto server_first = server.handle_client_first(client.client_first());
  ASSERT_TRUE(server_first);
  auto client_final = client.handle_server_first(*server_first);
  ASSERT_TRUE(client_final);
  auto server_final = server.handle_client_final(*client_final);
  ASSERT_FALSE(server_final);
  EXPECT_EQ(server_final.error().status, 401);
  EXPECT_FALSE(server.authenticated());
  // No retry on the same exchange.
  auto retry = server.handle_client_final(*client_final);
  ASSERT_FALSE(retry);
  EXPECT_FALSE(server.authenticated());
}

TEST(Scram, UnknownUserGetsPlausibleServerFirstThenFailsLikeAWrongPassword) {
  auto lookup = users({{"user", rfc_credentials()}});

  ServerExchange server(lookup);
  ClientExchange client("mallory", "pencil", "clientnonce");
  auto server_first = server.handle_client_first(client.client_first());
  ASSERT_TRUE(server_first) << server_first.error().detail;
  EXPECT_TRUE(field(*server_first, 'r').starts_with("clientnonce"));
  EXPECT_GT(field(*server_first, 'r').size(), std::string("clientnonce").size());
  auto salt = base64_decode(field(*server_first, 's'));
  ASSERT_TRUE(salt);
  EXPECT_EQ(salt->size(), kSaltBytes);
  EXPECT_EQ(field(*server_first, 'i'), "4096");
  EXPECT_EQ(server.username(), "mallory");

  // Stable per name within the process (a probe cannot spot a fresh random salt)...
  ServerExchange again(lookup);
  auto again_first = again.handle_client_first("n,,n=mallory,r=other");
  ASSERT_TRUE(again_first);
  EXPECT_EQ(field(*again_first, 's'), field(*server_first, 's'));
  // ...and different between names.
  ServerExchange other(lookup);
  auto other_first = other.handle_client_first("n,,n=eve,r=other");
  ASSERT_TRUE(other_first);
  EXPECT_NE(field(*other_first, 's'), field(*server_first, 's'));

  auto client_final = client.handle_server_first(*server_first);
  ASSERT_TRUE(client_final) << client_final.error().detail;
  auto unknown = server.handle_client_final(*client_final);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().status, 401);
  EXPECT_FALSE(server.authenticated());

  // Same error as a wrong password for a known user.
  ServerExchange known(lookup);
  ClientExchange wrong("user", "nope");
  auto known_first = known.handle_client_first(wrong.client_first());
  ASSERT_TRUE(known_first);
  auto wrong_final = wrong.handle_server_first(*known_first);
  ASSERT_TRUE(wrong_final);
  auto wrong_result = known.handle_client_final(*wrong_final);
  ASSERT_FALSE(wrong_result);
  EXPECT_EQ(wrong_result.error().status, unknown.error().status);
  EXPECT_EQ(wrong_result.error().detail, unknown.error().detail);
}

TEST(Scram, ClientRejectsTamperedServerSignature) {
  ClientExchange client("user", "pencil", kRfcClientNonce);
  client.client_first();
  ASSERT_TRUE(client.handle_server_first(kRfcServerFirst));
  auto r = client.verify_server_final("v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 401);
  // Failed is terminal: the right signature afterwards does not rescue it.
  EXPECT_FALSE(client.verify_server_final(kRfcServerFinal));
}

TEST(Scram, ClientReportsServerError) {
  ClientExchange client("user", "pencil", kRfcClientNonce);
  client.client_first();
  ASSERT_TRUE(client.handle_server_first(kRfcServerFirst));
  auto r = client.verify_server_final("e=invalid-proof");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 401);
  EXPECT_NE(r.error().detail.find("invalid-proof"), std::string::npos) << r.error().detail;
}

TEST(Scram, ClientRejectsMalformedServerFinal) {
  const std::vector<std::string> cases = {
      "",
      "x=abc",
      "v=",
      "v=not base64",
      "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl9",  // wrong length
      "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=,v=6rriTRBi23WpRR/"
      "wtup+mMhUZUn/dB5nLTJRsjl95G4=",
      "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
      std::string(kMaxMessageBytes + 1, 'v'),
  };
  for (const auto& msg : cases) {
    ClientExchange client("user", "pencil", kRfcClientNonce);
    client.client_first();
    ASSERT_TRUE(client.handle_server_first(kRfcServerFirst));
    auto r = client.verify_server_final(msg);
    ASSERT_FALSE(r) << msg;
    EXPECT_EQ(r.error().status, 400) << msg << ": " << r.error().detail;
  }
}

TEST(Scram, ClientAcceptsServerFinalExtensions) {
  ClientExchange client("user", "pencil", kRfcClientNonce);
  client.client_first();
  ASSERT_TRUE(client.handle_server_first(kRfcServerFirst));
  EXPECT_TRUE(client.verify_server_final(std::string(kRfcServerFinal) + ",x=ignored"));
}

TEST(Scram, ServerRejectsMalformedClientFirst) {
  struct Case {
    std::string msg;
    int status;
  };
  const std::vector<Case> cases = {
      {"", 400},
      {std::string(kMaxMessageBytes + 1, 'n'), 400},
      {"n,,n=user,r=abc" + std::string(kMaxMessageBytes, 'x'), 400},
      {"p=tls-server-end-point,,n=user,r=abc", 400},  // channel binding
      {"n,a=admin,n=user,r=abc", 400},                // authzid
      {"x,,n=user,r=abc", 400},
      {"n,n=user,r=abc", 400},
      {"n,,", 400},
      {"n,,n=user", 400},
      {"n,,r=abc,n=user", 400},
      {"n,,n=,r=abc", 400},
      {"n,,n=us=2Xer,r=abc", 400},  // bad escape
      {"n,,n=us=2,r=abc", 400},     // truncated escape
      {"n,,n=user,r=", 400},
      {"n,,n=user,r=a b", 400},  // space is not printable per RFC 5802
      {"n,,n=user,r=abc,", 400},
      {"n,,n=user,r=abc,r=def", 400},  // duplicate nonce
      {"n,,n=user,r=abc,zz", 400},     // malformed extension
      {"n,,m=ext,n=user,r=abc", 400},  // mandatory extension
      {"n,,n=" + std::string(kMaxUsernameBytes + 1, 'u') + ",r=abc", 400},
      {std::string("n,,n=us\0er,r=abc", 16), 400},
      {"n,,n=user,r=ab\x7f", 400},
  };
  for (const auto& c : cases) {
    ServerExchange server(users({{"user", rfc_credentials()}}), "snonce");
    auto r = server.handle_client_first(c.msg);
    ASSERT_FALSE(r) << c.msg;
    EXPECT_EQ(r.error().status, c.status) << c.msg << ": " << r.error().detail;
    EXPECT_FALSE(r.error().detail.empty());
    EXPECT_FALSE(server.handle_client_final(kRfcClientFinal)) << c.msg;  // terminal
  }
}

TEST(Scram, ServerAcceptsEdgesOfClientFirst) {
  const std::vector<std::string> cases = {
      "y,,n=user,r=abc", "n,,n=user,r=abc,x=extension",
      "n,,n=" + std::string(kMaxUsernameBytes, 'u') + ",r=abc",
      "n,,n=\xc3\xa9l\xc3\xa8ve,r=abc",  // UTF-8 bytes as given (no SASLprep)
  };
  for (const auto& msg : cases) {
    ServerExchange server(users({}), "snonce");
    auto r = server.handle_client_first(msg);
    EXPECT_TRUE(r) << msg << ": " << (r ? "" : r.error().detail);
  }
}

TEST(Scram, ServerChecksChannelBindingAgainstTheGs2Header) {
  // "y,," must come back as c=eSws (base64 of "y,,"); c=biws is a downgrade.
  ServerExchange server(users({{"user", rfc_credentials()}}), kRfcServerNoncePart);
  ASSERT_TRUE(server.handle_client_first("y,,n=user,r=rOprNGfwEbeRWgbNEkqO"));
  auto r = server.handle_client_final(kRfcClientFinal);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 401);
}

TEST(Scram, ServerRejectsMalformedClientFinal) {
  const std::string nonce = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
  const std::string proof = "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
  struct Case {
    std::string msg;
    int status;
  };
  const std::vector<Case> cases = {
      {"", 400},
      {std::string(kMaxMessageBytes + 1, 'c'), 400},
      {"c=biws," + nonce, 400},                    // no proof
      {"c=biws," + proof, 400},                    // no nonce
      {nonce + "," + proof, 400},                  // no channel binding
      {"r=x,c=biws," + nonce + "," + proof, 400},  // wrong order
      {"c=biws," + proof + "," + nonce, 400},      // proof not last
      {"c=biws," + nonce + ",p=" + proof, 400},    // duplicate proof (p=p=...)
      {"c=biws," + nonce + "," + proof + "," + proof, 400},
      {"c=biws," + nonce + ",r=x," + proof, 400},  // duplicate nonce
      {"c=biws," + nonce + ",p=", 400},
      {"c=biws," + nonce + ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndV", 400},  // bad base64
      {"c=biws," + nonce + ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgs", 400},            // 24 bytes
      {"c=biws!," + nonce + "," + proof, 400},
      {"c=eSws," + nonce + "," + proof, 401},           // claims "y,," after "n,,"
      {"c=biws,r=rOprNGfwEbeRWgbNEkqO," + proof, 401},  // server part missing
      {"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k1," + proof, 401},
      {"c=biws," + nonce + ",p=eHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", 401},  // bad proof
  };
  for (const auto& c : cases) {
    ServerExchange server(users({{"user", rfc_credentials()}}), kRfcServerNoncePart);
    ASSERT_TRUE(server.handle_client_first(kRfcClientFirst));
    auto r = server.handle_client_final(c.msg);
    ASSERT_FALSE(r) << c.msg;
    EXPECT_EQ(r.error().status, c.status) << c.msg << ": " << r.error().detail;
    EXPECT_FALSE(server.authenticated());
  }
}

TEST(Scram, ServerAcceptsClientFinalExtensions) {
  // Extensions are signed too, so the RFC proof no longer matches: it must fail on the proof
  // (401), not on the syntax (400).
  ServerExchange server(users({{"user", rfc_credentials()}}), kRfcServerNoncePart);
  ASSERT_TRUE(server.handle_client_first(kRfcClientFirst));
  auto r = server.handle_client_final(
      "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,x=ext,"
      "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 401);
}

TEST(Scram, ClientRejectsMalformedServerFirst) {
  struct Case {
    std::string msg;
    int status;
  };
  const std::string r = "r=rOprNGfwEbeRWgbNEkqOsrv";
  const std::string s = "s=W22ZaJ0SNY7soEsUEjb6gQ==";
  const std::vector<Case> cases = {
      {"", 400},
      {std::string(kMaxMessageBytes + 1, 'r'), 400},
      {"r=XXXXNGfwEbeRWgbNEkqOsrv," + s + ",i=4096", 401},  // wrong nonce prefix
      {"r=rOprNGfwEbeRWgbNEkq," + s + ",i=4096", 401},      // truncated client nonce
      {"r=rOprNGfwEbeRWgbNEkqO," + s + ",i=4096", 401},     // no server part
      {"r=rOprNGfwEbeRWgbNEkqO sp," + s + ",i=4096", 400},
      {r + ",i=4096", 400},  // missing salt
      {r + "," + s, 400},    // missing iterations
      {s + "," + r + ",i=4096", 400},
      {r + ",s=,i=4096", 400},
      {r + ",s=W22ZaJ0SNY7soEsUEjb6gQ,i=4096", 400},    // unpadded
      {r + ",s=W22ZaJ0SNY7soEsUEjb6gR==,i=4096", 400},  // non-canonical
      {r + ",s=W22Za J0SNY7soEsUEjb6gQ==,i=4096", 400},
      {r + "," + s + ",i=4095", 400},
      {r + "," + s + ",i=1000001", 400},
      {r + "," + s + ",i=99999999999999999999", 400},
      {r + "," + s + ",i=0", 400},
      {r + "," + s + ",i=04096", 400},
      {r + "," + s + ",i=-4096", 400},
      {r + "," + s + ",i=4096x", 400},
      {r + "," + s + ",i=", 400},
      {r + "," + s + ",i=4096,i=8192", 400},
      {"m=ext," + r + "," + s + ",i=4096", 400},
      {"e=other-error", 400},
  };
  for (const auto& c : cases) {
    ClientExchange client("user", "pencil", kRfcClientNonce);
    client.client_first();
    auto result = client.handle_server_first(c.msg);
    ASSERT_FALSE(result) << c.msg;
    EXPECT_EQ(result.error().status, c.status) << c.msg << ": " << result.error().detail;
    EXPECT_FALSE(client.verify_server_final(kRfcServerFinal)) << c.msg;  // terminal
  }
}

TEST(Scram, ClientAcceptsIterationBounds) {
  for (std::uint32_t i : {kMinClientIterations, 10000u}) {
    ClientExchange client("user", "pencil", kRfcClientNonce);
    client.client_first();
    auto r = client.handle_server_first("r=rOprNGfwEbeRWgbNEkqOsrv,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=" +
                                        std::to_string(i) + ",x=extension");
    EXPECT_TRUE(r) << i;
  }
}

TEST(Scram, StateMachineMisuseIsAnError) {
  {
    ClientExchange client("user", "pencil", kRfcClientNonce);
    auto r = client.handle_server_first(kRfcServerFirst);  // before client_first
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().status, 400);
  }
  {
    ClientExchange client("user", "pencil", kRfcClientNonce);
    client.client_first();
    EXPECT_FALSE(client.verify_server_final(kRfcServerFinal));  // before handle_server_first
  }
  {
    ClientExchange client("user", "pencil", kRfcClientNonce);
    client.client_first();
    ASSERT_TRUE(client.handle_server_first(kRfcServerFirst));
    EXPECT_FALSE(client.handle_server_first(kRfcServerFirst));  // twice
  }
  {
    ServerExchange server(users({{"user", rfc_credentials()}}), kRfcServerNoncePart);
    auto r = server.handle_client_final(kRfcClientFinal);  // before client-first
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().status, 400);
    EXPECT_FALSE(server.handle_client_first(kRfcClientFirst));  // failed is terminal
    EXPECT_FALSE(server.authenticated());
    EXPECT_TRUE(server.username().empty());
  }
  {
    ServerExchange server(users({{"user", rfc_credentials()}}), kRfcServerNoncePart);
    ASSERT_TRUE(server.handle_client_first(kRfcClientFirst));
    EXPECT_FALSE(server.handle_client_first(kRfcClientFirst));  // twice
  }
}

TEST(Scram, ConstructorsRejectProgrammingErrors) {
  EXPECT_THROW(ClientExchange("", "pw"), std::invalid_argument);
  EXPECT_THROW(ClientExchange(std::string(kMaxUsernameBytes + 1, 'u'), "pw"),
               std::invalid_argument);
  EXPECT_THROW(ClientExchange(std::string("a\0b", 3), "pw"), std::invalid_argument);
  EXPECT_THROW(ClientExchange("user", "pw", "has,comma"), std::invalid_argument);
  EXPECT_THROW(ClientExchange("user", "pw", "has space"), std::invalid_argument);
  EXPECT_THROW(ServerExchange(users({}), "has,comma"), std::invalid_argument);
  EXPECT_THROW(ServerExchange(ServerExchange::Lookup{}), std::invalid_argument);
  EXPECT_THROW(derive_credentials("pw", "", 4096), std::invalid_argument);
  EXPECT_THROW(derive_credentials("pw", "salt", 0), std::invalid_argument);
}

TEST(Scram, ServerReportsBrokenStoredCredentials) {
  StoredCredentials broken;  // empty salt
  ServerExchange server(users({{"user", broken}}));
  auto r = server.handle_client_first("n,,n=user,r=abc");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 500);
}

TEST(Scram, CredentialsRoundTrip) {
  for (std::uint32_t iterations : {1u, 4096u, 100000u}) {
    StoredCredentials c = derive_credentials("pw", "salty", iterations);
    auto parsed = parse_credentials(to_string(c));
    ASSERT_TRUE(parsed) << to_string(c);
    EXPECT_EQ(*parsed, c);
  }
  StoredCredentials random = make_credentials("pw");
  auto parsed = parse_credentials(to_string(random));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*parsed, random);
}

TEST(Scram, ParseCredentialsRejectsBadText) {
  const std::string keys =
      "WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=";
  const std::vector<std::string> cases = {
      "",
      "SCRAM-SHA-256",
      "SCRAM-SHA-1$4096:W22ZaJ0SNY7soEsUEjb6gQ==$" + keys,
      "scram-sha-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$" + keys,
      "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==",
      "SCRAM-SHA-256$4096W22ZaJ0SNY7soEsUEjb6gQ==$" + keys,
      "SCRAM-SHA-256$:W22ZaJ0SNY7soEsUEjb6gQ==$" + keys,
      "SCRAM-SHA-256$0:W22ZaJ0SNY7soEsUEjb6gQ==$" + keys,
      "SCRAM-SHA-256$-1:W22ZaJ0SNY7soEsUEjb6gQ==$" + keys,
      "SCRAM-SHA-256$04096:W22ZaJ0SNY7soEsUEjb6gQ==$" + keys,
      "SCRAM-SHA-256$4294967296:W22ZaJ0SNY7soEsUEjb6gQ==$" + keys,
      "SCRAM-SHA-256$4096:$" + keys,
      "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ$" + keys,
      "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=",
      "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcX:"
      "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
      "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$" + keys + "$extra",
      "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$" + keys + ":extra",
      "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$" + keys + "\n",
      " SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$" + keys,
  };
  for (const auto& text : cases) {
    auto r = parse_credentials(text);
    ASSERT_FALSE(r) << text;
    EXPECT_EQ(r.error().status, 400) << text;
    EXPECT_NE(r.error().detail.find("SCRAM credentials"), std::string::npos) << r.error().detail;
  }
}

TEST(Scram, Base64) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode("n,,"), "biws");
  EXPECT_EQ(base64_decode("Zm9vYg==").value(), "foob");
  EXPECT_EQ(base64_decode("Zm9vYmE=").value(), "fooba");
  EXPECT_EQ(base64_decode("").value(), "");
  std::string all;
  for (int i = 0; i < 256; ++i)
    all += static_cast<char>(i);
  EXPECT_EQ(base64_decode(base64_encode(all)).value(), all);
  for (const char* bad : {"Zg", "Zg=", "Z===", "====", "Zh==", "Zm9=", "Zm=v", "Zm9v\n", "Zm 9",
                          "Zm9v====", "Zm9vYg=A"}) {
    EXPECT_FALSE(base64_decode(bad)) << bad;
  }
}

}  // namespace
}  // namespace sluice::wire::scram
