// DTLS-SRTP (media/protocols/webrtc/dtls) between two in-process endpoints, datagrams carried
// by hand: the handshake completes, both sides agree on the SRTP profile and hold mirrored keys;
// a peer whose certificate does not match the announced fingerprint fails the session; records
// that do not parse are dropped (RFC 6347 4.1.2.7) without harming the handshake.
#include <gtest/gtest.h>

#include "media/protocols/webrtc/dtls.hpp"

namespace sluice::media::webrtc {
namespace {

std::span<const std::uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// Carries datagrams between the two until neither has anything to say (at most 20 rounds).
void pump(DtlsEndpoint& client, DtlsEndpoint& server) {
  std::vector<std::string> to_server, to_client;
  ASSERT_TRUE(client.start(to_server));
  for (int round = 0; round < 20 && (!to_server.empty() || !to_client.empty()); ++round) {
    std::vector<std::string> next_to_client, next_to_server;
    for (const auto& d : to_server) {
      if (server.failed()) break;
      (void)server.on_datagram(bytes_of(d), next_to_client);
    }
    for (const auto& d : to_client) {
      if (client.failed()) break;
      (void)client.on_datagram(bytes_of(d), next_to_server);
    }
    to_client = std::move(next_to_client);
    to_server = std::move(next_to_server);
  }
}

TEST(Dtls, HandshakeAgreesOnSrtpKeys) {
  auto server_cert = DtlsCertificate::generate();
  auto client_cert = DtlsCertificate::generate();
  ASSERT_TRUE(server_cert && client_cert);
  EXPECT_EQ((*server_cert)->fingerprint_sha256().size(), 32u * 3 - 1);
  EXPECT_NE((*server_cert)->fingerprint_sha256(), (*client_cert)->fingerprint_sha256());
  auto server = DtlsEndpoint::create(DtlsEndpoint::Role::kServer, *server_cert,
                                     "sha-256 " + (*client_cert)->fingerprint_sha256());
  auto client = DtlsEndpoint::create(DtlsEndpoint::Role::kClient, *client_cert,
                                     "SHA-256 " + (*server_cert)->fingerprint_sha256());
  ASSERT_TRUE(server && client);
  pump(**client, **server);
  ASSERT_TRUE((*server)->connected());
  ASSERT_TRUE((*client)->connected());
  const auto& s = *(*server)->keys();
  const auto& c = *(*client)->keys();
  EXPECT_EQ(s.profile, 0x0007);  // AEAD_AES_128_GCM preferred
  EXPECT_EQ(s.profile, c.profile);
  EXPECT_EQ(s.local_key.size(), 28u);
  EXPECT_EQ(s.local_key, c.remote_key);
  EXPECT_EQ(s.remote_key, c.local_key);
  EXPECT_NE(s.local_key, s.remote_key);
  EXPECT_FALSE((*server)->next_timeout().has_value() && (*server)->failed());
}

TEST(Dtls, AWrongFingerprintFailsTheSessionAndGarbageIsDropped) {
  auto server_cert = DtlsCertificate::generate();
  auto client_cert = DtlsCertificate::generate();
  auto other = DtlsCertificate::generate();
  auto server = DtlsEndpoint::create(DtlsEndpoint::Role::kServer, *server_cert,
                                     "sha-256 " + (*other)->fingerprint_sha256());
  auto client = DtlsEndpoint::create(DtlsEndpoint::Role::kClient, *client_cert,
                                     "sha-256 " + (*server_cert)->fingerprint_sha256());
  pump(**client, **server);
  EXPECT_TRUE((*server)->failed());
  EXPECT_FALSE((*server)->connected());

  auto fresh = DtlsEndpoint::create(DtlsEndpoint::Role::kServer, *server_cert,
                                    "sha-256 " + (*client_cert)->fingerprint_sha256());
  std::vector<std::string> out;
  const std::string garbage = std::string("\x16\xfe\xfd", 3) + std::string(40, '\x7f');
  EXPECT_TRUE((*fresh)->on_datagram(bytes_of(garbage), out));
  EXPECT_TRUE(out.empty());
  EXPECT_FALSE((*fresh)->failed());
  auto again = DtlsEndpoint::create(DtlsEndpoint::Role::kClient, *client_cert,
                                    "sha-256 " + (*server_cert)->fingerprint_sha256());
  pump(**again, **fresh);
  EXPECT_TRUE((*fresh)->connected());
}

}  // namespace
}  // namespace sluice::media::webrtc
