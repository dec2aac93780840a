#include "media/protocols/webrtc/ice_lite.hpp"

#include "core/crypto.hpp"

namespace sluice::media::webrtc {
namespace {

// ice-char (RFC 8839 5.4): ALPHA / DIGIT / "+" / "/".
constexpr char kIceChars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string random_ice_string(std::size_t n) {
  const std::string bytes = crypto::random_bytes(n);
  std::string out;
  out.reserve(n);
  for (unsigned char b : bytes)
    out.push_back(kIceChars[b % 64]);  // 256 is a multiple of 64: uniform
  return out;
}

}  // namespace

IceCredentials make_ice_credentials() {
  return {random_ice_string(8), random_ice_string(24)};
}

std::string_view local_ufrag_of(std::string_view username) {
  return username.substr(0, username.find(':'));
}

IceLiteAgent::IceLiteAgent(IceCredentials local, std::string remote_ufrag,
                           Clock::time_point started, std::chrono::milliseconds consent_timeout)
    : local_(std::move(local)),
      remote_ufrag_(std::move(remote_ufrag)),
      consent_timeout_(consent_timeout),
      started_(started) {}

IceLiteAgent::Answer IceLiteAgent::on_request(std::span<const std::uint8_t> bytes,
                                              const stun::Message& request,
                                              const stun::Address& from, Clock::time_point now) {
  Answer a;
  if (request.type != stun::kBindingRequest) {
    ++refused_;
    a.response = stun::binding_error(request.transaction, 400, "Bad Request");
    return a;
  }
  const std::string expected = local_.ufrag + ":" + remote_ufrag_;
  const bool named =
      request.username && (remote_ufrag_.empty() ? local_ufrag_of(*request.username) == local_.ufrag
                                                 : *request.username == expected);
  if (!named || request.integrity_at == 0 || !request.fingerprint) {
    ++refused_;
    a.response = stun::binding_error(request.transaction, 400, "Bad Request");
    return a;
  }
  if (!stun::integrity_ok(bytes, request, local_.pwd)) {
    ++refused_;
    a.response = stun::binding_error(request.transaction, 401, "Unauthorized");
    return a;
  }
  ++valid_;
  a.valid = true;
  last_valid_ = now;
  if (request.use_candidate && selected_ != from) {
    selected_ = from;
    a.nominated_now = true;
  }
  a.response = stun::binding_success(request.transaction, from, local_.pwd);
  return a;
}

bool IceLiteAgent::consent_expired(Clock::time_point now) const {
  return now - last_valid_.value_or(started_) > consent_timeout_;
}

}  // namespace sluice::media::webrtc
