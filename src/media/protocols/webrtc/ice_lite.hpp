#pragma once
// ICE-lite (RFC 8445 2.5, 7.3) for one WebRTC peer, sans I/O: sluiced announces host candidates
// only and never sends checks of its own; the browser (the full, controlling agent) sends Binding
// requests to sluiced's one UDP port. Each request whose USERNAME is "OUR-UFRAG:THEIR-UFRAG" and
// whose MESSAGE-INTEGRITY is keyed with our password is answered with a success response carrying
// the address it came from (XOR-MAPPED-ADDRESS: the peer-reflexive address, which is how a
// browser hiding its host candidate behind an mDNS name is reached). USE-CANDIDATE nominates the
// address the request came from: media goes there (and moves when a later nomination comes from
// elsewhere). Every valid request refreshes consent (RFC 7675); without one for `consent_timeout`
// the peer is gone. Requests that fail the checks get an error response (400, 401) and change
// nothing.
#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "media/protocols/webrtc/stun.hpp"

namespace sluice::media::webrtc {

struct IceCredentials {
  std::string ufrag;  // 8 characters of the ICE alphabet (RFC 8839 5.4: at least 4)
  std::string pwd;    // 24 characters (at least 22)
};

// Fresh random credentials (OpenSSL's RAND_bytes).
IceCredentials make_ice_credentials();

// The first part of a STUN USERNAME ("OUR-UFRAG:THEIR-UFRAG"): which peer a request is for.
std::string_view local_ufrag_of(std::string_view username);

class IceLiteAgent {
 public:
  using Clock = std::chrono::steady_clock;
  // `remote_ufrag` from the offer (a=ice-ufrag); consent runs from `started`.
  IceLiteAgent(IceCredentials local, std::string remote_ufrag, Clock::time_point started,
               std::chrono::milliseconds consent_timeout = std::chrono::seconds(30));

  struct Answer {
    std::string response;        // the STUN response to send back to `from`
    bool valid = false;          // the request passed the checks
    bool nominated_now = false;  // it moved (or set) the selected address
  };
  // A Binding request (`bytes`, already parsed into `request`) that came from `from` at `now`.
  Answer on_request(std::span<const std::uint8_t> bytes, const stun::Message& request,
                    const stun::Address& from, Clock::time_point now);

  // Where media goes: the last nominated address; nullopt before the first nomination.
  const std::optional<stun::Address>& selected() const { return selected_; }
  // Whether the peer let consent lapse: no valid request for the timeout since the last one (or
  // since `started`, before any).
  bool consent_expired(Clock::time_point now) const;
  const IceCredentials& local() const { return local_; }
  std::uint64_t valid_requests() const { return valid_; }
  std::uint64_t refused_requests() const { return refused_; }

 private:
  IceCredentials local_;
  std::string remote_ufrag_;
  std::chrono::milliseconds consent_timeout_;
  Clock::time_point started_;
  std::optional<Clock::time_point> last_valid_;
  std::optional<stun::Address> selected_;
  std::uint64_t valid_ = 0, refused_ = 0;
};

}  // namespace sluice::media::webrtc
