#include "media/protocols/webrtc/stun.hpp"

#include "core/crypto.hpp"

namespace sluice::media::webrtc::stun {
namespace {

constexpr std::uint16_t kUsername = 0x0006;
constexpr std::uint16_t kMessageIntegrity = 0x0008;
constexpr std::uint16_t kErrorCode = 0x0009;
constexpr std::uint16_t kXorMappedAddress = 0x0020;
constexpr std::uint16_t kPriority = 0x0024;
constexpr std::uint16_t kUseCandidate = 0x0025;
constexpr std::uint16_t kFingerprint = 0x8028;
constexpr std::uint16_t kIceControlled = 0x8029;
constexpr std::uint16_t kIceControlling = 0x802A;
constexpr std::uint32_t kFingerprintXor = 0x5354554E;
constexpr std::size_t kIntegritySize = 20;
constexpr std::size_t kMaxUsername = 513;

std::uint16_t be16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
std::uint32_t be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         p[3];
}
std::uint64_t be64(const std::uint8_t* p) {
  return (std::uint64_t{be32(p)} << 32) | be32(p + 4);
}
void put16(std::string& out, std::uint32_t v) {
  out.push_back(static_cast<char>((v >> 8) & 0xFF));
  out.push_back(static_cast<char>(v & 0xFF));
}
void put32(std::string& out, std::uint32_t v) {
  put16(out, v >> 16);
  put16(out, v & 0xFFFF);
}
void put64(std::string& out, std::uint64_t v) {
  put32(out, static_cast<std::uint32_t>(v >> 32));
  put32(out, static_cast<std::uint32_t>(v));
}
std::span<const std::uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

Error bad(const char* what) {
  return Error::bad_request(std::string("STUN: ") + what);
}

// A message being written: header, then attributes; the length field follows what is appended.
class Writer {
 public:
  Writer(std::uint16_t type, const TransactionId& transaction) {
    put16(out_, type);
    put16(out_, 0);
    put32(out_, kMagicCookie);
    out_.append(reinterpret_cast<const char*>(transaction.data()), transaction.size());
  }
  void attribute(std::uint16_t type, std::string_view value) {
    put16(out_, type);
    put16(out_, static_cast<std::uint32_t>(value.size()));
    out_.append(value);
    out_.append((4 - value.size() % 4) % 4, '\0');
    set_length(out_.size() - kHeaderSize);
  }
  // MESSAGE-INTEGRITY over the message so far, with the length counting the attribute itself.
  void integrity(std::string_view password) {
    set_length(out_.size() - kHeaderSize + 4 + kIntegritySize);
    attribute(kMessageIntegrity, crypto::hmac_sha1(password, out_));
  }
  std::string finish() {
    set_length(out_.size() - kHeaderSize + 8);
    std::string value;
    put32(value, crc32(bytes_of(out_)) ^ kFingerprintXor);
    attribute(kFingerprint, value);
    return std::move(out_);
  }

 private:
  void set_length(std::size_t n) {
    out_[2] = static_cast<char>((n >> 8) & 0xFF);
    out_[3] = static_cast<char>(n & 0xFF);
  }
  std::string out_;
};

std::string xor_address(const Address& a, const TransactionId& transaction) {
  std::string value;
  value.push_back(0);
  value.push_back(a.v6 ? 0x02 : 0x01);
  put16(value, a.port ^ (kMagicCookie >> 16));
  std::uint8_t key[16];
  for (int i = 0; i < 4; ++i)
    key[i] = static_cast<std::uint8_t>(kMagicCookie >> (24 - 8 * i));
  for (int i = 0; i < 12; ++i)
    key[4 + i] = transaction[i];
  for (int i = 0; i < (a.v6 ? 16 : 4); ++i)
    value.push_back(static_cast<char>(a.ip[i] ^ key[i]));
  return value;
}

std::optional<Address> read_xor_address(std::span<const std::uint8_t> v,
                                        const TransactionId& transaction) {
  if (v.size() < 8 || (v[1] != 0x01 && v[1] != 0x02)) return std::nullopt;
  Address a;
  a.v6 = v[1] == 0x02;
  if (a.v6 && v.size() < 20) return std::nullopt;
  a.port = static_cast<std::uint16_t>(be16(&v[2]) ^ (kMagicCookie >> 16));
  std::uint8_t key[16];
  for (int i = 0; i < 4; ++i)
    key[i] = static_cast<std::uint8_t>(kMagicCookie >> (24 - 8 * i));
  for (int i = 0; i < 12; ++i)
    key[4 + i] = transaction[i];
  for (int i = 0; i < (a.v6 ? 16 : 4); ++i)
    a.ip[i] = v[4 + i] ^ key[i];
  return a;
}

}  // namespace

std::uint32_t crc32(std::span<const std::uint8_t> bytes) {
  static const auto table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k)
        c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  std::uint32_t crc = 0xFFFFFFFFu;
  for (std::uint8_t b : bytes)
    crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

bool looks_like_stun(std::span<const std::uint8_t> bytes) {
  return bytes.size() >= kHeaderSize && bytes[0] < 4 && be32(&bytes[4]) == kMagicCookie;
}

Result<Message> parse(std::span<const std::uint8_t> b) {
  if (b.size() < kHeaderSize) return fail(bad("shorter than a header"));
  if ((b[0] & 0xC0) != 0) return fail(bad("not a STUN message (first two bits set)"));
  if (be32(&b[4]) != kMagicCookie) return fail(bad("no magic cookie"));
  const std::size_t length = be16(&b[2]);
  if (length % 4 != 0 || kHeaderSize + length != b.size()) {
    return fail(bad("message length does not match the datagram"));
  }
  Message m;
  m.type = be16(&b[0]);
  std::copy(b.begin() + 8, b.begin() + 20, m.transaction.begin());
  std::size_t at = kHeaderSize;
  bool after_integrity = false;
  while (at < b.size()) {
    if (b.size() - at < 4) return fail(bad("truncated attribute header"));
    const std::uint16_t type = be16(&b[at]);
    const std::size_t size = be16(&b[at + 2]);
    const std::size_t padded = (size + 3) & ~std::size_t{3};
    if (b.size() - at - 4 < padded) return fail(bad("attribute runs past the end"));
    const auto value = b.subspan(at + 4, size);
    if (type == kFingerprint) {
      if (size != 4 || at + 8 != b.size()) return fail(bad("FINGERPRINT not last or not 4 bytes"));
      if (be32(value.data()) != (crc32(b.first(at)) ^ kFingerprintXor)) {
        return fail(bad("FINGERPRINT does not match"));
      }
      m.fingerprint = true;
    } else if (after_integrity) {
      // RFC 8489 14.5: attributes after MESSAGE-INTEGRITY (but FINGERPRINT) are ignored.
    } else if (type == kMessageIntegrity) {
      if (size != kIntegritySize) return fail(bad("MESSAGE-INTEGRITY is not 20 bytes"));
      m.integrity_at = at;
      after_integrity = true;
    } else if (type == kUsername) {
      if (size > kMaxUsername) return fail(bad("USERNAME over 513 bytes"));
      m.username.emplace(reinterpret_cast<const char*>(value.data()), size);
    } else if (type == kPriority) {
      if (size != 4) return fail(bad("PRIORITY is not 4 bytes"));
      m.priority = be32(value.data());
    } else if (type == kUseCandidate) {
      m.use_candidate = true;
    } else if (type == kIceControlling || type == kIceControlled) {
      if (size != 8) return fail(bad("ICE-CONTROLLING/-CONTROLLED is not 8 bytes"));
      (type == kIceControlling ? m.ice_controlling : m.ice_controlled) = be64(value.data());
    } else if (type == kXorMappedAddress) {
      m.xor_mapped_address = read_xor_address(value, m.transaction);
      if (!m.xor_mapped_address) return fail(bad("malformed XOR-MAPPED-ADDRESS"));
    } else if (type == kErrorCode) {
      if (size < 4) return fail(bad("ERROR-CODE shorter than 4 bytes"));
      m.error_code = (value[2] & 0x07) * 100 + value[3];
    }
    at += 4 + padded;
  }
  return m;
}

bool integrity_ok(std::span<const std::uint8_t> b, const Message& m, std::string_view password) {
  if (m.integrity_at == 0 || m.integrity_at + 4 + kIntegritySize > b.size()) return false;
  std::string covered(reinterpret_cast<const char*>(b.data()), m.integrity_at);
  const std::size_t length = m.integrity_at - kHeaderSize + 4 + kIntegritySize;
  covered[2] = static_cast<char>((length >> 8) & 0xFF);
  covered[3] = static_cast<char>(length & 0xFF);
  const std::string expected = crypto::hmac_sha1(password, covered);
  const std::string_view got(reinterpret_cast<const char*>(b.data() + m.integrity_at + 4),
                             kIntegritySize);
  return crypto::equal_constant_time(expected, got);
}

std::string binding_success(const TransactionId& request, const Address& mapped,
                            std::string_view password) {
  Writer w(kBindingSuccess, request);
  w.attribute(kXorMappedAddress, xor_address(mapped, request));
  w.integrity(password);
  return w.finish();
}

std::string binding_error(const TransactionId& request, int code, std::string_view reason,
                          std::string_view password) {
  Writer w(kBindingError, request);
  std::string value{0, 0, static_cast<char>((code / 100) & 0x07), static_cast<char>(code % 100)};
  value.append(reason.substr(0, 127));
  w.attribute(kErrorCode, value);
  if (!password.empty()) w.integrity(password);
  return w.finish();
}

std::string binding_request(const TransactionId& transaction, const RequestFields& f) {
  Writer w(kBindingRequest, transaction);
  w.attribute(kUsername, f.username);
  std::string priority;
  put32(priority, f.priority);
  w.attribute(kPriority, priority);
  if (f.use_candidate) w.attribute(kUseCandidate, {});
  if (f.ice_controlling) {
    std::string v;
    put64(v, *f.ice_controlling);
    w.attribute(kIceControlling, v);
  }
  if (f.ice_controlled) {
    std::string v;
    put64(v, *f.ice_controlled);
    w.attribute(kIceControlled, v);
  }
  w.integrity(f.password);
  return w.finish();
}

}  // namespace sluice::media::webrtc::stun
