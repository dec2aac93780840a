// STUN for ICE-lite (media/protocols/webrtc/stun), on RFC 5769's test vectors: the sample
// request's USERNAME, PRIORITY, ICE-CONTROLLED, MESSAGE-INTEGRITY and FINGERPRINT are read and
// checked with its password; the sample response's XOR-MAPPED-ADDRESS decodes to 192.0.2.1:32853;
// what sluiced writes passes its own checks; damaged messages are refused.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "media/protocols/webrtc/stun.hpp"

namespace sluice::media::webrtc::stun {
namespace {

std::vector<std::uint8_t> hex(const char* text) {
  std::vector<std::uint8_t> out;
  int nibble = -1;
  for (const char* p = text; *p; ++p) {
    int v = -1;
    if (*p >= '0' && *p <= '9') v = *p - '0';
    if (*p >= 'a' && *p <= 'f') v = *p - 'a' + 10;
    if (v < 0) continue;
    if (nibble < 0) {
      nibble = v;
    } else {
      out.push_back(static_cast<std::uint8_t>(nibble * 16 + v));
      nibble = -1;
    }
  }
  return out;
}

std::span<const std::uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// RFC 5769 2.1, "Sample Request".
const char* kSampleRequest =
    "00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae"
    "80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74"
    "00 24 00 04 6e 00 01 ff 80 29 00 08 93 2f f9 b1 51 26 3b 36"
    "00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20"
    "00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2"
    "80 28 00 04 e5 7a 3b cf";
// RFC 5769 2.2, "Sample IPv4 Response".
const char* kSampleResponse =
    "01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae"
    "80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20"
    "00 20 00 08 00 01 a1 47 e1 12 a6 43"
    "00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7"
    "80 28 00 04 c0 7d 4c 96";
const char* kPassword = "VOkJxbRl1RmTxUk/WvJxBt";

TEST(Stun, Rfc5769SampleRequestIsReadAndItsIntegrityChecked) {
  const auto bytes = hex(kSampleRequest);
  ASSERT_TRUE(looks_like_stun(bytes));
  auto m = parse(bytes);
  ASSERT_TRUE(m.has_value()) << m.error().detail;
  EXPECT_EQ(m->type, kBindingRequest);
  EXPECT_EQ(m->username, "evtj:h6vY");
  EXPECT_EQ(m->priority, 0x6e0001ffu);
  EXPECT_EQ(m->ice_controlled, 0x932ff9b151263b36ull);
  EXPECT_FALSE(m->ice_controlling.has_value());
  EXPECT_FALSE(m->use_candidate);
  EXPECT_TRUE(m->fingerprint);
  EXPECT_TRUE(integrity_ok(bytes, *m, kPassword));
  EXPECT_FALSE(integrity_ok(bytes, *m, "VOkJxbRl1RmTxUk/WvJxBu"));
}

TEST(Stun, Rfc5769SampleResponseMapsTheAddress) {
  const auto bytes = hex(kSampleResponse);
  auto m = parse(bytes);
  ASSERT_TRUE(m.has_value()) << m.error().detail;
  EXPECT_EQ(m->type, kBindingSuccess);
  ASSERT_TRUE(m->xor_mapped_address.has_value());
  EXPECT_FALSE(m->xor_mapped_address->v6);
  EXPECT_EQ(m->xor_mapped_address->port, 32853);
  EXPECT_EQ(m->xor_mapped_address->ip[0], 192);
  EXPECT_EQ(m->xor_mapped_address->ip[1], 0);
  EXPECT_EQ(m->xor_mapped_address->ip[2], 2);
  EXPECT_EQ(m->xor_mapped_address->ip[3], 1);
  EXPECT_TRUE(integrity_ok(bytes, *m, kPassword));
}

TEST(Stun, WhatSluicedWritesPassesItsChecks) {
  const TransactionId id{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  const std::string request = binding_request(
      id, {"abcd:efgh", "secretpassword12345678", 0x7e7f00ff, true, 42, std::nullopt});
  auto r = parse(bytes_of(request));
  ASSERT_TRUE(r.has_value()) << r.error().detail;
  EXPECT_EQ(r->username, "abcd:efgh");
  EXPECT_TRUE(r->use_candidate);
  EXPECT_EQ(r->ice_controlling, 42u);
  EXPECT_TRUE(integrity_ok(bytes_of(request), *r, "secretpassword12345678"));

  Address v6;
  v6.v6 = true;
  v6.ip = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  v6.port = 49152;
  const std::string response = binding_success(id, v6, "secretpassword12345678");
  auto s = parse(bytes_of(response));
  ASSERT_TRUE(s.has_value()) << s.error().detail;
  EXPECT_EQ(s->type, kBindingSuccess);
  EXPECT_EQ(s->transaction, id);
  EXPECT_EQ(s->xor_mapped_address, v6);
  EXPECT_TRUE(s->fingerprint);
  EXPECT_TRUE(integrity_ok(bytes_of(response), *s, "secretpassword12345678"));

  const std::string error = binding_error(id, 401, "Unauthorized");
  auto e = parse(bytes_of(error));
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->type, kBindingError);
  EXPECT_EQ(e->error_code, 401);
  EXPECT_EQ(e->integrity_at, 0u);
}

TEST(Stun, DamagedMessagesAreRefused) {
  auto bytes = hex(kSampleRequest);
  auto flipped = bytes;
  flipped[30] ^= 0x01;  // inside SOFTWARE: the FINGERPRINT no longer matches
  EXPECT_EQ(parse(flipped).error().status, 400);
  auto truncated = bytes;
  truncated.resize(bytes.size() - 4);  // the length field no longer matches
  EXPECT_FALSE(parse(truncated).has_value());
  auto lying = bytes;
  lying[22] = 0x7f;  // SOFTWARE claims more bytes than there are
  EXPECT_FALSE(parse(lying).has_value());
  auto cookie = bytes;
  cookie[4] = 0;
  EXPECT_FALSE(looks_like_stun(cookie));
  EXPECT_FALSE(parse(cookie).has_value());
  EXPECT_FALSE(parse(std::span<const std::uint8_t>(bytes.data(), 12)).has_value());
  const std::uint8_t dtls[] = {22, 254, 253, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_FALSE(looks_like_stun(dtls));
}

}  // namespace
}  // namespace sluice::media::webrtc::stun
