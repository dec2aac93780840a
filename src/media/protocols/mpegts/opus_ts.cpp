#include "media/protocols/mpegts/opus_ts.hpp"

namespace sluice::media::mpegts {
namespace {

constexpr std::uint8_t kRegistrationDescriptor = 0x05;
constexpr std::uint8_t kExtensionDescriptor = 0x7F;
constexpr std::uint8_t kOpusExtension = 0x80;
constexpr std::uint8_t kTrimStart = 0x10;
constexpr std::uint8_t kTrimEnd = 0x08;
constexpr std::uint8_t kControlExtension = 0x04;

}  // namespace

std::string opus_descriptors(unsigned channels) {
  std::string out{static_cast<char>(kRegistrationDescriptor), 4, 'O', 'p', 'u', 's'};
  out += {static_cast<char>(kExtensionDescriptor), 2, static_cast<char>(kOpusExtension),
          static_cast<char>(channels)};
  return out;
}

unsigned opus_channels_of(std::span<const std::uint8_t> d) {
  bool registered = false;
  unsigned channels = 2;  // without the extension descriptor: what ffmpeg assumes
  for (std::size_t i = 0; i + 2 <= d.size();) {
    const std::uint8_t tag = d[i];
    const std::size_t length = d[i + 1];
    if (i + 2 + length > d.size()) break;
    const auto body = d.subspan(i + 2, length);
    if (tag == kRegistrationDescriptor && length >= 4 && body[0] == 'O' && body[1] == 'p' &&
        body[2] == 'u' && body[3] == 's') {
      registered = true;
    }
    if (tag == kExtensionDescriptor && length >= 2 && body[0] == kOpusExtension) {
      channels = body[1] == 0 ? 2 : body[1];
    }
    i += 2 + length;
  }
  if (!registered || channels > 2) return 0;
  return channels;
}

void append_opus_access_unit(std::string_view packet, std::string& out) {
  out.push_back(0x7F);
  out.push_back(static_cast<char>(0xE0));
  std::size_t n = packet.size();
  while (n >= 255) {
    out.push_back(static_cast<char>(0xFF));
    n -= 255;
  }
  out.push_back(static_cast<char>(n));
  out.append(packet);
}

Status split_opus_access_units(std::string_view pes, std::vector<std::string_view>& out) {
  const auto* b = reinterpret_cast<const std::uint8_t*>(pes.data());
  std::size_t at = 0;
  while (at < pes.size()) {
    if (pes.size() - at < 3 || b[at] != 0x7F || (b[at + 1] & 0xE0) != 0xE0) {
      return fail(Error::bad_request("Opus in MPEG-TS: no control header"));
    }
    const std::uint8_t flags = b[at + 1];
    at += 2;
    std::size_t size = 0;
    while (at < pes.size() && b[at] == 0xFF) {
      size += 255;
      ++at;
    }
    if (at == pes.size()) return fail(Error::bad_request("Opus in MPEG-TS: truncated size"));
    size += b[at++];
    std::size_t skip = ((flags & kTrimStart) ? 2 : 0) + ((flags & kTrimEnd) ? 2 : 0);
    if (pes.size() - at < skip) return fail(Error::bad_request("Opus in MPEG-TS: truncated trim"));
    at += skip;
    if (flags & kControlExtension) {
      if (at == pes.size() || pes.size() - at - 1 < b[at]) {
        return fail(Error::bad_request("Opus in MPEG-TS: truncated control extension"));
      }
      at += 1 + std::size_t(b[at]);
    }
    if (size > pes.size() - at)
      return fail(Error::bad_request("Opus in MPEG-TS: packet runs past the PES"));
    out.push_back(pes.substr(at, size));
    at += size;
  }
  return {};
}

}  // namespace sluice::media::mpegts
