#include "media/protocols/rtmp/handshake.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <chrono>
#include <cstring>

namespace sluice::rtmp {

namespace {

constexpr std::size_t kDigestSize = 32;

// "Genuine Adobe Flash Player 001" / "Genuine Adobe Flash Media Server 001" followed by the same
// 32 constant bytes; the partial keys (without the tail) sign C1 and S1.
constexpr std::uint8_t kKeyTail[32] = {
    0xF0, 0xEE, 0xC2, 0x4A, 0x80, 0x68, 0xBE, 0xE8, 0x2E, 0x00, 0xD0, 0xD1, 0x02, 0x9E, 0x7E, 0x57,
    0x6E, 0xEC, 0x5D, 0x2D, 0x29, 0x80, 0x6F, 0xAB, 0x93, 0xB8, 0xE6, 0x36, 0xCF, 0xEB, 0x31, 0xAE};

template <std::size_t N>
constexpr std::array<std::uint8_t, N + 32> with_tail(const char (&text)[N + 1]) {
  std::array<std::uint8_t, N + 32> key{};
  for (std::size_t i = 0; i < N; ++i)
    key[i] = static_cast<std::uint8_t>(text[i]);
  for (std::size_t i = 0; i < 32; ++i)
    key[N + i] = kKeyTail[i];
  return key;
}

constexpr auto kPlayerKey = with_tail<30>("Genuine Adobe Flash Player 001");
constexpr auto kServerKey = with_tail<36>("Genuine Adobe Flash Media Server 001");
constexpr std::size_t kPlayerPartial = 30;
constexpr std::size_t kServerPartial = 36;
constexpr std::uint8_t kServerVersion[4] = {0x0D, 0x0E, 0x0A, 0x0D};

void hmac_sha256(std::span<const std::uint8_t> key, std::span<const std::uint8_t> a,
                 std::span<const std::uint8_t> b, std::uint8_t* digest) {
  std::uint8_t joined[2 * kHandshakeSize];  // a and b are parts of one handshake block
  std::memcpy(joined, a.data(), a.size());
  if (!b.empty()) std::memcpy(joined + a.size(), b.data(), b.size());
  unsigned len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), joined, a.size() + b.size(), digest,
       &len);
}

void fill_random(std::uint8_t* p, std::size_t n) {
  if (RAND_bytes(p, static_cast<int>(n)) != 1) {
    // The handshake's random bytes carry no secret; any filler will do.
    for (std::size_t i = 0; i < n; ++i)
      p[i] = static_cast<std::uint8_t>(i * 131 + 7);
  }
}

void put_time(std::uint8_t* p) {
  const auto ms =
      static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::steady_clock::now().time_since_epoch())
                                     .count());
  p[0] = static_cast<std::uint8_t>(ms >> 24);
  p[1] = static_cast<std::uint8_t>(ms >> 16);
  p[2] = static_cast<std::uint8_t>(ms >> 8);
  p[3] = static_cast<std::uint8_t>(ms);
}

}  // namespace

std::span<const std::uint8_t> flash_player_key() {
  return std::span<const std::uint8_t>(kPlayerKey.data(), kPlayerPartial);
}

std::size_t handshake_digest_offset(std::span<const std::uint8_t, kHandshakeSize> block,
                                    std::size_t base) {
  const std::size_t sum =
      std::size_t{block[base]} + block[base + 1] + block[base + 2] + block[base + 3];
  return sum % 728 + base + 4;
}

bool handshake_digest_valid(std::span<const std::uint8_t, kHandshakeSize> block, std::size_t offset,
                            std::span<const std::uint8_t> key) {
  if (offset + kDigestSize > kHandshakeSize) return false;
  std::uint8_t digest[kDigestSize];
  hmac_sha256(key, block.first(offset), block.subspan(offset + kDigestSize), digest);
  return CRYPTO_memcmp(digest, block.data() + offset, kDigestSize) == 0;
}

void handshake_write_digest(std::span<std::uint8_t, kHandshakeSize> block, std::size_t offset,
                            std::span<const std::uint8_t> key) {
  std::uint8_t digest[kDigestSize];
  hmac_sha256(key, block.first(offset), block.subspan(offset + kDigestSize), digest);
  std::memcpy(block.data() + offset, digest, kDigestSize);
}

Result<std::size_t> ServerHandshake::feed(std::span<const std::uint8_t> in, std::string& out) {
  std::size_t used = 0;
  if (stage_ == Stage::kFailed) return fail(Error::bad_request("RTMP handshake already failed"));
  if (stage_ == Stage::kC0C1) {
    const std::size_t take = std::min(in.size(), c0c1_.size() - have_);
    std::copy_n(in.data(), take, c0c1_.data() + have_);
    have_ += take;
    used += take;
    if (have_ >= 1 && c0c1_[0] != kRtmpVersion) {
      stage_ = Stage::kFailed;
      return fail(Error::bad_request("RTMP handshake: unsupported version " +
                                     std::to_string(c0c1_[0]) + " (only plain RTMP 3)"));
    }
    if (have_ < c0c1_.size()) return used;
    answer(out);
    stage_ = Stage::kC2;
    have_ = 0;
  }
  if (stage_ == Stage::kC2) {
    const std::size_t take = std::min(in.size() - used, kHandshakeSize - have_);
    have_ += take;
    used += take;
    if (have_ == kHandshakeSize) stage_ = Stage::kDone;
  }
  return used;
}

void ServerHandshake::answer(std::string& out) {
  const std::span<const std::uint8_t, kHandshakeSize> c1(c0c1_.data() + 1, kHandshakeSize);
  const std::span<const std::uint8_t> player_key(kPlayerKey.data(), kPlayerPartial);
  std::size_t client_digest = 0;
  const bool client_versioned = c1[4] | c1[5] | c1[6] | c1[7];
  if (client_versioned) {
    for (std::size_t base : {std::size_t{772}, std::size_t{8}}) {
      const std::size_t offset = handshake_digest_offset(c1, base);
      if (handshake_digest_valid(c1, offset, player_key)) {
        client_digest = offset;
        digest_ = true;
        break;
      }
    }
  }

  std::array<std::uint8_t, 1 + 2 * kHandshakeSize> reply{};
  reply[0] = kRtmpVersion;
  std::span<std::uint8_t, kHandshakeSize> s1(reply.data() + 1, kHandshakeSize);
  std::span<std::uint8_t, kHandshakeSize> s2(reply.data() + 1 + kHandshakeSize, kHandshakeSize);
  if (!digest_) {
    put_time(s1.data());  // bytes 4-7 stay zero: the plain handshake
    fill_random(s1.data() + 8, kHandshakeSize - 8);
    std::copy(c1.begin(), c1.end(), s2.begin());
  } else {
    put_time(s1.data());
    std::memcpy(s1.data() + 4, kServerVersion, 4);
    fill_random(s1.data() + 8, kHandshakeSize - 8);
    handshake_write_digest(s1, handshake_digest_offset(s1, 8),
                           std::span<const std::uint8_t>(kServerKey.data(), kServerPartial));
    fill_random(s2.data(), kHandshakeSize);
    std::uint8_t key[kDigestSize];
    hmac_sha256(kServerKey, c1.subspan(client_digest, kDigestSize), {}, key);
    std::uint8_t signature[kDigestSize];
    hmac_sha256(key, s2.first(kHandshakeSize - kDigestSize), {}, signature);
    std::memcpy(s2.data() + kHandshakeSize - kDigestSize, signature, kDigestSize);
  }
  out.append(reinterpret_cast<const char*>(reply.data()), reply.size());
}

void ClientHandshake::start(std::string& out) {
  std::array<std::uint8_t, 1 + kHandshakeSize> c0c1{};
  c0c1[0] = kRtmpVersion;
  put_time(c0c1.data() + 1);
  fill_random(c0c1.data() + 9, kHandshakeSize - 8);
  out.append(reinterpret_cast<const char*>(c0c1.data()), c0c1.size());
}

Result<std::size_t> ClientHandshake::feed(std::span<const std::uint8_t> in, std::string& out) {
  if (failed_) return fail(Error::bad_request("RTMP handshake already failed"));
  if (done_) return std::size_t{0};
  const std::size_t take = std::min(in.size(), s0s1s2_.size() - have_);
  std::copy_n(in.data(), take, s0s1s2_.data() + have_);
  have_ += take;
  if (have_ >= 1 && s0s1s2_[0] != kRtmpVersion) {
    failed_ = true;
    return fail(Error::bad_request("RTMP handshake: server answered version " +
                                   std::to_string(s0s1s2_[0])));
  }
  if (have_ == s0s1s2_.size()) {
    out.append(reinterpret_cast<const char*>(s0s1s2_.data() + 1), kHandshakeSize);  // C2 = S1
    done_ = true;
  }
  return take;
}

}  // namespace sluice::rtmp
