#pragma once
// SRTP and SRTCP (RFC 3711, RFC 7714 AES-GCM) with Debian's libsrtp2, for one DTLS-SRTP session:
// what sluiced sends is protected with its own key, what it receives is checked and decrypted
// with the peer's. Packets are changed in place (protect adds the authentication tag,
// unprotect removes it). Retransmitting a packet already sent (a NACK answer) is allowed; a
// received packet that fails authentication or replays one already taken is refused (400) and
// changes nothing. Not thread-safe: one owner (the WebRTC session's thread).
#include <memory>
#include <string>

#include "core/error.hpp"
#include "media/protocols/webrtc/dtls.hpp"

namespace sluice::media::webrtc {

class SrtpSession {
 public:
  // 400 for a profile libsrtp2 is not given here, or keys of the wrong size.
  static Result<std::unique_ptr<SrtpSession>> create(const SrtpKeys& keys);
  ~SrtpSession();
  SrtpSession(const SrtpSession&) = delete;
  SrtpSession& operator=(const SrtpSession&) = delete;

  Status protect_rtp(std::string& packet);
  Status protect_rtcp(std::string& packet);
  Status unprotect_rtp(std::string& packet);
  Status unprotect_rtcp(std::string& packet);

 private:
  SrtpSession() = default;
  struct Native;
  std::unique_ptr<Native> native_;
};

}  // namespace sluice::media::webrtc
