#include <bit>
#include <cstring>

#include "osc/osc_message.hpp"

// Writing packets (encode_packet, encode_message); parsing is in osc_message.cpp.
namespace sluice::osc {
namespace {

std::unexpected<Error> refused(std::string what) {
  return fail(Error::bad_request("OSC packet: " + std::move(what)));
}

// Writes big-endian fields and padded strings, keeping the limits parse_packet() enforces, so
// that whatever it writes parses back.
class Writer {
 public:
  Result<std::vector<std::uint8_t>> packet(const OscPacket& packet) {
    return finish(element(packet, 0));
  }
  Result<std::vector<std::uint8_t>> lone_message(const OscMessage& m) {
    ++elements_;
    return finish(message(m));
  }

 private:
  Result<std::vector<std::uint8_t>> finish(Status written) {
    if (!written) return std::unexpected(std::move(written.error()));
    if (out_.size() > kMaxDatagram) {
      return refused("encoded packet is " + std::to_string(out_.size()) + " bytes (over " +
                     std::to_string(kMaxDatagram) + ")");
    }
    return std::move(out_);
  }

  Status element(const OscPacket& packet, int depth) {
    if (++elements_ > kMaxElements) {
      return refused("more than " + std::to_string(kMaxElements) + " messages and bundles");
    }
    if (const auto* m = std::get_if<OscMessage>(&packet.content)) return message(*m);
    return bundle(std::get<OscBundle>(packet.content), depth + 1);
  }

  Status bundle(const OscBundle& b, int depth) {
    if (depth > kMaxBundleDepth) {
      return refused("bundles nested deeper than " + std::to_string(kMaxBundleDepth));
    }
    bytes("#bundle\0", 8);
    u64(b.time.ntp);
    for (const auto& e : b.elements) {
      const std::size_t size_at = out_.size();
      u32(0);
      if (auto ok = element(e, depth); !ok) return ok;
      if (out_.size() > kMaxDatagram)
        return refused("bundle over " + std::to_string(kMaxDatagram) + " bytes");
      const auto size = static_cast<std::uint32_t>(out_.size() - size_at - 4);
      for (int i = 0; i < 4; ++i)
        out_[size_at + i] = static_cast<std::uint8_t>(size >> (24 - 8 * i));
    }
    return {};
  }

  Status message(const OscMessage& m) {
    if (m.address.empty() || m.address[0] != '/') {
      return refused("address '" + m.address.substr(0, 64) + "' does not begin with '/'");
    }
    if (auto ok = string(m.address, "the address"); !ok) return ok;
    arguments_ += m.arguments.size();
    if (arguments_ > kMaxArguments) {
      return refused("more than " + std::to_string(kMaxArguments) + " arguments");
    }
    std::string tags = ",";
    int depth = 0;
    for (const auto& a : m.arguments) {
      const char tag = type_tag(a);
      if (tag == '[' && ++depth > kMaxArrayDepth) {
        return refused("arrays nested deeper than " + std::to_string(kMaxArrayDepth));
      }
      if (tag == ']' && --depth < 0) return refused("an array end without its beginning");
      tags += tag;
    }
    if (depth != 0) return refused("an array beginning without its end");
    (void)string(tags, "the type tags");
    for (const auto& a : m.arguments) {
      if (auto ok = argument(a); !ok) return ok;
      if (out_.size() > kMaxDatagram)
        return refused("message over " + std::to_string(kMaxDatagram) + " bytes");
    }
    return {};
  }

  Status argument(const OscArgument& a) {
    return std::visit(
        [this](const auto& v) -> Status {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::int32_t>) {
            u32(static_cast<std::uint32_t>(v));
          } else if constexpr (std::is_same_v<T, float>) {
            u32(std::bit_cast<std::uint32_t>(v));
          } else if constexpr (std::is_same_v<T, std::int64_t>) {
            u64(static_cast<std::uint64_t>(v));
          } else if constexpr (std::is_same_v<T, double>) {
            u64(std::bit_cast<std::uint64_t>(v));
          } else if constexpr (std::is_same_v<T, TimeTag>) {
            u64(v.ntp);
          } else if constexpr (std::is_same_v<T, std::string>) {
            return string(v, "a string argument");
          } else if constexpr (std::is_same_v<T, Symbol>) {
            return string(v.text, "a symbol argument");
          } else if constexpr (std::is_same_v<T, Blob>) {
            if (v.bytes.size() > kMaxDatagram) {
              return refused("blob of " + std::to_string(v.bytes.size()) + " bytes");
            }
            u32(static_cast<std::uint32_t>(v.bytes.size()));
            bytes(v.bytes.data(), v.bytes.size());
            pad();
          } else if constexpr (std::is_same_v<T, Char>) {
            u32(v.code);
          } else if constexpr (std::is_same_v<T, Rgba>) {
            const std::uint8_t four[] = {v.r, v.g, v.b, v.a};
            bytes(four, 4);
          } else if constexpr (std::is_same_v<T, Midi>) {
            const std::uint8_t four[] = {v.port, v.status, v.data1, v.data2};
            bytes(four, 4);
          }
          // bool, Nil, Impulse and the array marks live in the type tags alone.
          return {};
        },
        a);
  }

  Status string(std::string_view s, std::string_view what) {
    if (s.find('\0') != std::string_view::npos) {
      return refused(std::string(what) + " holds a NUL byte");
    }
    if (s.size() > kMaxDatagram) return refused(std::string(what) + " is too long");
    bytes(s.data(), s.size());
    out_.push_back(0);
    pad();
    return {};
  }

  void pad() {
    while (out_.size() % 4 != 0)
      out_.push_back(0);
  }
  void bytes(const void* p, std::size_t n) {
    const auto* b = static_cast<const std::uint8_t*>(p);
    out_.insert(out_.end(), b, b + n);
  }
  void u32(std::uint32_t v) {
    const std::uint8_t four[] = {static_cast<std::uint8_t>(v >> 24),
                                 static_cast<std::uint8_t>(v >> 16),
                                 static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
    bytes(four, 4);
  }
  void u64(std::uint64_t v) {
    u32(static_cast<std::uint32_t>(v >> 32));
    u32(static_cast<std::uint32_t>(v));
  }

  std::vector<std::uint8_t> out_;
  std::size_t elements_ = 0;
  std::size_t arguments_ = 0;
};

}  // namespace

Result<std::vector<std::uint8_t>> encode_packet(const OscPacket& packet) {
  return Writer().packet(packet);
}

Result<std::vector<std::uint8_t>> encode_message(const OscMessage& message) {
  return Writer().lone_message(message);
}

}  // namespace sluice::osc
