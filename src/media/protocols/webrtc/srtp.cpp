#include "media/protocols/webrtc/srtp.hpp"

#include <srtp2/srtp.h>

#include <mutex>

namespace sluice::media::webrtc {

struct SrtpSession::Native {
  srtp_t outbound = nullptr;
  srtp_t inbound = nullptr;
  ~Native() {
    if (outbound) srtp_dealloc(outbound);
    if (inbound) srtp_dealloc(inbound);
  }
};

namespace {

constexpr std::uint16_t kAes128CmSha1_80 = 0x0001;
constexpr std::uint16_t kAeadAes128Gcm = 0x0007;

bool libsrtp_ready() {
  static std::once_flag once;
  static bool ok = false;
  std::call_once(once, [] { ok = srtp_init() == srtp_err_status_ok; });
  return ok;
}

Error srtp_error(const char* what, srtp_err_status_t status) {
  const char* why = status == srtp_err_status_auth_fail     ? "authentication failed"
                    : status == srtp_err_status_replay_fail ? "replayed packet"
                    : status == srtp_err_status_replay_old  ? "packet too old"
                    : status == srtp_err_status_bad_param   ? "malformed packet"
                                                            : "rejected";
  return Error::bad_request(std::string("SRTP: ") + what + ": " + why);
}

Result<srtp_t> make_session(std::uint16_t profile, const std::string& key, bool outbound) {
  srtp_policy_t policy{};
  std::size_t expected = 0;
  if (profile == kAes128CmSha1_80) {
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtp);
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
    expected = 30;
  } else if (profile == kAeadAes128Gcm) {
    srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
    srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
    expected = 28;
  } else {
    return fail(Error::bad_request("SRTP: unsupported protection profile"));
  }
  if (key.size() != expected) return fail(Error::bad_request("SRTP: key of the wrong size"));
  std::string copy = key;  // libsrtp2 reads the key; it does not keep the pointer
  policy.ssrc.type = outbound ? ssrc_any_outbound : ssrc_any_inbound;
  policy.key = reinterpret_cast<unsigned char*>(copy.data());
  policy.window_size = 1024;
  policy.allow_repeat_tx = 1;  // NACK answers resend packets already protected once
  srtp_t session = nullptr;
  if (const auto status = srtp_create(&session, &policy); status != srtp_err_status_ok) {
    return fail(srtp_error("session not created", status));
  }
  return session;
}

template <class Fn>
Status apply(std::string& packet, bool grows, const char* what, Fn fn) {
  if (packet.empty() || packet.size() > 65535) return fail(Error::bad_request("SRTP: bad size"));
  int length = static_cast<int>(packet.size());
  if (grows) packet.resize(packet.size() + SRTP_MAX_TRAILER_LEN);
  const auto status = fn(packet.data(), &length);
  if (status != srtp_err_status_ok) {
    if (grows) packet.resize(packet.size() - SRTP_MAX_TRAILER_LEN);
    return fail(srtp_error(what, status));
  }
  packet.resize(static_cast<std::size_t>(length));
  return {};
}

}  // namespace

SrtpSession::~SrtpSession() = default;

Result<std::unique_ptr<SrtpSession>> SrtpSession::create(const SrtpKeys& keys) {
  if (!libsrtp_ready()) return fail(Error::internal("SRTP: libsrtp2 did not initialize"));
  std::unique_ptr<SrtpSession> s(new SrtpSession());
  s->native_ = std::make_unique<Native>();
  auto out = make_session(keys.profile, keys.local_key, true);
  if (!out) return fail(out.error());
  s->native_->outbound = *out;
  auto in = make_session(keys.profile, keys.remote_key, false);
  if (!in) return fail(in.error());
  s->native_->inbound = *in;
  return s;
}

Status SrtpSession::protect_rtp(std::string& packet) {
  return apply(packet, true, "protect", [this](char* data, int* length) {
    return srtp_protect(native_->outbound, data, length);
  });
}

Status SrtpSession::protect_rtcp(std::string& packet) {
  return apply(packet, true, "protect RTCP", [this](char* data, int* length) {
    return srtp_protect_rtcp(native_->outbound, data, length);
  });
}

Status SrtpSession::unprotect_rtp(std::string& packet) {
  return apply(packet, false, "unprotect", [this](char* data, int* length) {
    return srtp_unprotect(native_->inbound, data, length);
  });
}

Status SrtpSession::unprotect_rtcp(std::string& packet) {
  return apply(packet, false, "unprotect RTCP", [this](char* data, int* length) {
    return srtp_unprotect_rtcp(native_->inbound, data, length);
  });
}

}  // namespace sluice::media::webrtc
