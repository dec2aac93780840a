// ICE-lite for one peer (media/protocols/webrtc/ice_lite): what a browser's connectivity checks
// get — answers with the address they came from, nomination by USE-CANDIDATE (and moving with a
// later one), consent kept by valid checks and lost without — and what checks with the wrong
// password or username get: an error, and no change.
#include <gtest/gtest.h>

#include <set>

#include "media/protocols/webrtc/ice_lite.hpp"
#include "media/protocols/webrtc/ice_servers.hpp"

namespace sluice::media::webrtc {
namespace {

using namespace std::chrono_literals;
using Clock = IceLiteAgent::Clock;

struct Check {
  std::string bytes;
  stun::Message message;
};

Check check(const std::string& username, const std::string& password, bool use_candidate,
            std::uint8_t id = 1) {
  stun::TransactionId t{};
  t[0] = id;
  Check c;
  c.bytes = stun::binding_request(t, {username, password, 0x6e7f1eff, use_candidate, 7, {}});
  c.message = *stun::parse(
      {reinterpret_cast<const std::uint8_t*>(c.bytes.data()), c.bytes.size()});
  return c;
}

stun::Address address(std::uint8_t last, std::uint16_t port) {
  stun::Address a;
  a.ip = {192, 168, 1, last};
  a.port = port;
  return a;
}

stun::Message reply(const std::string& bytes) {
  return *stun::parse({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
}

TEST(IceLite, CredentialsAreFreshAndOfTheIceAlphabet) {
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    const auto c = make_ice_credentials();
    EXPECT_EQ(c.ufrag.size(), 8u);
    EXPECT_EQ(c.pwd.size(), 24u);
    for (char ch : c.ufrag + c.pwd)
      EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(ch)) || ch == '+' || ch == '/');
    seen.insert(c.pwd);
  }
  EXPECT_EQ(seen.size(), 50u);
  EXPECT_EQ(local_ufrag_of("abcd:wxyz"), "abcd");
}

TEST(IceLite, ChecksAreAnsweredAndUseCandidateNominates) {
  const auto t0 = Clock::now();
  IceLiteAgent agent({"ours", "oursoursoursoursoursours"}, "them", t0);
  const auto from = address(20, 50000);

  auto first = check("ours:them", "oursoursoursoursoursours", false);
  auto a = agent.on_request({reinterpret_cast<const std::uint8_t*>(first.bytes.data()),
                             first.bytes.size()},
                            first.message, from, t0 + 1s);
  EXPECT_TRUE(a.valid);
  EXPECT_FALSE(a.nominated_now);
  EXPECT_FALSE(agent.selected().has_value());
  auto r = reply(a.response);
  EXPECT_EQ(r.type, stun::kBindingSuccess);
  EXPECT_EQ(r.xor_mapped_address, from);
  EXPECT_TRUE(stun::integrity_ok(
      {reinterpret_cast<const std::uint8_t*>(a.response.data()), a.response.size()}, r,
      "oursoursoursoursoursours"));

  auto nominate = check("ours:them", "oursoursoursoursoursours", true, 2);
  const std::span<const std::uint8_t> nb(
      reinterpret_cast<const std::uint8_t*>(nominate.bytes.data()), nominate.bytes.size());
  EXPECT_TRUE(agent.on_request(nb, nominate.message, from, t0 + 2s).nominated_now);
  EXPECT_EQ(agent.selected(), from);
  EXPECT_FALSE(agent.on_request(nb, nominate.message, from, t0 + 3s).nominated_now);
  const auto moved = address(21, 50002);  // the browser moved to another network
  EXPECT_TRUE(agent.on_request(nb, nominate.message, moved, t0 + 4s).nominated_now);
  EXPECT_EQ(agent.selected(), moved);
  EXPECT_EQ(agent.valid_requests(), 4u);
}

TEST(IceLite, WrongCredentialsGetAnErrorAndChangeNothing) {
  const auto t0 = Clock::now();
  IceLiteAgent agent({"ours", "oursoursoursoursoursours"}, "them", t0);
  auto wrong_password = check("ours:them", "notournotournotournotour", true);
  auto a = agent.on_request({reinterpret_cast<const std::uint8_t*>(wrong_password.bytes.data()),
                             wrong_password.bytes.size()},
                            wrong_password.message, address(9, 9), t0);
  EXPECT_FALSE(a.valid);
  EXPECT_EQ(reply(a.response).error_code, 401);
  auto wrong_name = check("ours:someoneelse", "oursoursoursoursoursours", true);
  auto b = agent.on_request({reinterpret_cast<const std::uint8_t*>(wrong_name.bytes.data()),
                             wrong_name.bytes.size()},
                            wrong_name.message, address(9, 9), t0);
  EXPECT_FALSE(b.valid);
  EXPECT_EQ(reply(b.response).error_code, 400);
  EXPECT_FALSE(agent.selected().has_value());
  EXPECT_EQ(agent.refused_requests(), 2u);
}

TEST(IceLite, ConsentLapsesWithoutValidChecks) {
  const auto t0 = Clock::now();
  IceLiteAgent agent({"ours", "oursoursoursoursoursours"}, "them", t0, 30s);
  EXPECT_FALSE(agent.consent_expired(t0 + 29s));
  EXPECT_TRUE(agent.consent_expired(t0 + 31s));
  auto c = check("ours:them", "oursoursoursoursoursours", true);
  agent.on_request({reinterpret_cast<const std::uint8_t*>(c.bytes.data()), c.bytes.size()},
                   c.message, address(5, 5), t0 + 25s);
  EXPECT_FALSE(agent.consent_expired(t0 + 50s));
  EXPECT_TRUE(agent.consent_expired(t0 + 56s));
}

}  // namespace
}  // namespace sluice::media::webrtc

namespace sluice::media::webrtc {
namespace {

TEST(IceServers, StunAndTurnUrlsBecomeLinkHeaders) {
  auto stun = parse_ice_server("stun:stun.example.net:3478");
  ASSERT_TRUE(stun.has_value());
  EXPECT_EQ(link_header_value(*stun), "<stun:stun.example.net:3478>; rel=\"ice-server\"");
  auto turn = parse_ice_server("turn:ana:s3cret@turn.example.net:3478?transport=udp");
  ASSERT_TRUE(turn.has_value());
  EXPECT_EQ(turn->url, "turn:turn.example.net:3478?transport=udp");
  EXPECT_EQ(turn->username, "ana");
  EXPECT_EQ(turn->credential, "s3cret");
  EXPECT_EQ(link_header_value(*turn),
            "<turn:turn.example.net:3478?transport=udp>; rel=\"ice-server\"; username=\"ana\"; "
            "credential=\"s3cret\"; credential-type=\"password\"");
  EXPECT_FALSE(parse_ice_server("http://example.net").has_value());
  EXPECT_FALSE(parse_ice_server("stun:").has_value());
  EXPECT_FALSE(parse_ice_server("turn:nopassword@host").has_value());
  EXPECT_FALSE(parse_ice_server("stun:host\r\nSet-Cookie: x").has_value());
  EXPECT_FALSE(parse_ice_server("stun:user:pw@host").has_value());
}

}  // namespace
}  // namespace sluice::media::webrtc
