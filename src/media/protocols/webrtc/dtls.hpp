#pragma once
// DTLS for DTLS-SRTP (RFC 5763, RFC 5764) with OpenSSL, sans I/O: datagrams from the peer go in,
// datagrams to send come out (one per record flight write, never concatenated); no socket is
// touched. sluiced answers WebRTC offers with `a=setup:passive`, so it is the DTLS server; the
// client role exists for tests and for peers that answer. The certificate is self-signed (ECDSA
// P-256, made once per process) and trusted by fingerprint only: after the handshake the peer's
// certificate must hash (SHA-256) to the fingerprint its SDP announced, or the endpoint fails.
// Keys: the use_srtp extension negotiates SRTP_AEAD_AES_128_GCM or SRTP_AES128_CM_SHA1_80, and
// the keying material is exported as RFC 5764 4.2 lays it out.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace sluice::media::webrtc {

class DtlsCertificate {
 public:
  // A fresh ECDSA P-256 key and self-signed certificate (CN=sluice, valid 30 days from a day ago).
  static Result<std::shared_ptr<const DtlsCertificate>> generate();
  ~DtlsCertificate();
  DtlsCertificate(const DtlsCertificate&) = delete;
  DtlsCertificate& operator=(const DtlsCertificate&) = delete;
  // SHA-256 of the DER certificate as SDP writes it: "AB:CD:…" (32 upper-case hex pairs).
  const std::string& fingerprint_sha256() const { return fingerprint_; }

  struct Native;  // OpenSSL objects
  const Native& native() const { return *native_; }

 private:
  DtlsCertificate();
  std::unique_ptr<Native> native_;
  std::string fingerprint_;
};

// The SRTP protection profile and keys a handshake gave (RFC 5764 4.1.2 profile ids).
struct SrtpKeys {
  std::uint16_t profile = 0;  // 0x0001 AES128_CM_HMAC_SHA1_80, 0x0007 AEAD_AES_128_GCM
  std::string local_key;      // master key + master salt for what this endpoint sends
  std::string remote_key;     // … for what it receives
};

class DtlsEndpoint {
 public:
  enum class Role { kServer, kClient };
  // `remote_fingerprint`: the peer's a=fingerprint value ("sha-256 AB:CD:…").
  static Result<std::unique_ptr<DtlsEndpoint>> create(
      Role role, std::shared_ptr<const DtlsCertificate> certificate,
      std::string remote_fingerprint);
  ~DtlsEndpoint();

  // Client: the first flight (ClientHello). Server: nothing.
  Status start(std::vector<std::string>& out);
  // One datagram of DTLS records from the peer; what to send back is appended to `out`. 400
  // for records that break the handshake, or a peer certificate that does not match its
  // fingerprint; the endpoint is then failed and refuses everything.
  Status on_datagram(std::span<const std::uint8_t> datagram, std::vector<std::string>& out);
  // Retransmission: when to call on_timeout() next (nullopt: no timer needed).
  std::optional<std::chrono::milliseconds> next_timeout() const;
  void on_timeout(std::vector<std::string>& out);

  bool connected() const { return keys_.has_value(); }
  bool failed() const { return failed_; }
  const std::optional<SrtpKeys>& keys() const { return keys_; }

 private:
  DtlsEndpoint() = default;
  Status advance(std::vector<std::string>& out);
  struct Native;
  std::unique_ptr<Native> native_;
  std::shared_ptr<const DtlsCertificate> certificate_;
  std::string remote_fingerprint_;
  std::optional<SrtpKeys> keys_;
  bool failed_ = false;
};

}  // namespace sluice::media::webrtc
