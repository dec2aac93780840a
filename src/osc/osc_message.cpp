#include "osc/osc_message.hpp"

#include <bit>
#include <cstring>

// Parsing, type tags and messages_of(); writing is in osc_encode.cpp.
namespace sluice::osc {
namespace {

constexpr std::string_view kBundleHead{"#bundle\0", 8};

std::unexpected<Error> malformed(std::size_t at, std::string what) {
  return fail(
      Error::bad_request("OSC packet: byte " + std::to_string(at) + ": " + std::move(what)));
}

std::string tag_text(char tag) {
  const auto c = static_cast<unsigned char>(tag);
  if (c >= 0x21 && c <= 0x7e) return std::string("'") + tag + "'";
  static constexpr char kHex[] = "0123456789abcdef";
  return std::string("0x") + kHex[c >> 4] + kHex[c & 0xF];
}

// Reads one datagram; every read is checked against the end of the element being read.
class Parser {
 public:
  explicit Parser(std::span<const std::uint8_t> data) : data_(data) {}

  Result<OscPacket> packet() {
    if (data_.empty()) return malformed(0, "empty datagram");
    if (data_.size() > kMaxDatagram) {
      return malformed(0, "datagram of " + std::to_string(data_.size()) + " bytes (over " +
                              std::to_string(kMaxDatagram) + ")");
    }
    return element(0, data_.size(), 0);
  }

 private:
  // The element in [begin, end): a message or a bundle. `depth`: bundles around it.
  Result<OscPacket> element(std::size_t begin, std::size_t end, int depth) {
    if (++elements_ > kMaxElements) {
      return malformed(begin, "more than " + std::to_string(kMaxElements) +
                                  " messages and bundles in one datagram");
    }
    if (data_[begin] == '/') {
      auto m = message(begin, end);
      if (!m) return std::unexpected(std::move(m.error()));
      return OscPacket{std::move(*m)};
    }
    if (data_[begin] == '#') {
      auto b = bundle(begin, end, depth + 1);
      if (!b) return std::unexpected(std::move(b.error()));
      return OscPacket{std::move(*b)};
    }
    return malformed(begin, "neither a message ('/') nor a bundle (\"#bundle\")");
  }

  Result<OscBundle> bundle(std::size_t begin, std::size_t end, int depth) {
    if (depth > kMaxBundleDepth) {
      return malformed(begin, "bundles nested deeper than " + std::to_string(kMaxBundleDepth));
    }
    if (end - begin < 16 ||
        std::memcmp(data_.data() + begin, kBundleHead.data(), kBundleHead.size()) != 0) {
      return malformed(begin, "not a bundle (\"#bundle\\0\" and an 8-byte time tag)");
    }
    OscBundle out;
    out.time.ntp = u64(begin + 8);
    std::size_t at = begin + 16;
    while (at < end) {
      if (end - at < 4) return malformed(at, "bundle element size cut short");
      const std::uint32_t size = u32(at);
      if (size == 0 || size % 4 != 0 || size > end - at - 4) {
        return malformed(at, "bundle element size " + std::to_string(size) +
                                 (size > end - at - 4 ? " runs past the end of the bundle"
                                                      : " is not a positive multiple of 4"));
      }
      auto e = element(at + 4, at + 4 + size, depth);
      if (!e) return std::unexpected(std::move(e.error()));
      out.elements.push_back(std::move(*e));
      at += 4 + size;
    }
    return out;
  }

  Result<OscMessage> message(std::size_t begin, std::size_t end) {
    OscMessage out;
    std::size_t at = begin;
    auto address = string(at, end, "the address");
    if (!address) return std::unexpected(std::move(address.error()));
    out.address = std::move(*address);
    if (at == end) return out;  // no type tag string: an old sender; no arguments
    if (data_[at] != ',') return malformed(at, "type tag string does not begin with ','");
    const std::size_t tags_at = at;
    auto tags = string(at, end, "the type tag string");
    if (!tags) return std::unexpected(std::move(tags.error()));
    const std::string_view tag_list = std::string_view(*tags).substr(1);
    arguments_ += tag_list.size();
    if (arguments_ > kMaxArguments) {
      return malformed(tags_at,
                       "more than " + std::to_string(kMaxArguments) + " arguments in one datagram");
    }
    out.arguments.reserve(tag_list.size());
    int array_depth = 0;
    for (std::size_t i = 0; i < tag_list.size(); ++i) {
      const char tag = tag_list[i];
      if (tag == '[' && ++array_depth > kMaxArrayDepth) {
        return malformed(tags_at + 1 + i,
                         "arrays nested deeper than " + std::to_string(kMaxArrayDepth));
      }
      if (tag == ']' && --array_depth < 0) {
        return malformed(tags_at + 1 + i, "']' without a '[' in the type tag string");
      }
      auto a = argument(tag, at, end);
      if (!a) return std::unexpected(std::move(a.error()));
      out.arguments.push_back(std::move(*a));
    }
    if (array_depth != 0) return malformed(tags_at, "'[' without a ']' in the type tag string");
    if (at != end) {
      return malformed(at, std::to_string(end - at) + " bytes left after the last argument");
    }
    return out;
  }

  Result<OscArgument> argument(char tag, std::size_t& at, std::size_t end) {
    auto fixed = [&](std::size_t n) -> bool {
      if (end - at < n) return false;
      at += n;
      return true;
    };
    const std::size_t start = at;
    auto cut = [&]() { return malformed(start, "argument " + tag_text(tag) + " cut short"); };
    switch (tag) {
      case 'i':
        if (!fixed(4)) return cut();
        return static_cast<std::int32_t>(u32(start));
      case 'f':
        if (!fixed(4)) return cut();
        return std::bit_cast<float>(u32(start));
      case 'h':
        if (!fixed(8)) return cut();
        return static_cast<std::int64_t>(u64(start));
      case 'd':
        if (!fixed(8)) return cut();
        return std::bit_cast<double>(u64(start));
      case 't':
        if (!fixed(8)) return cut();
        return TimeTag{u64(start)};
      case 'c': {
        if (!fixed(4)) return cut();
        const std::uint32_t code = u32(start);
        if (code > 0xFF) return malformed(start, "char " + std::to_string(code) + " over 255");
        return Char{static_cast<std::uint8_t>(code)};
      }
      case 'r':
        if (!fixed(4)) return cut();
        return Rgba{data_[start], data_[start + 1], data_[start + 2], data_[start + 3]};
      case 'm':
        if (!fixed(4)) return cut();
        return Midi{data_[start], data_[start + 1], data_[start + 2], data_[start + 3]};
      case 's':
      case 'S': {
        auto s = string(at, end, tag == 's' ? "a string argument" : "a symbol argument");
        if (!s) return std::unexpected(std::move(s.error()));
        if (tag == 'S') return Symbol{std::move(*s)};
        return std::move(*s);
      }
      case 'b':
        return blob(at, end);
      case 'T':
        return true;
      case 'F':
        return false;
      case 'N':
        return Nil{};
      case 'I':
        return Impulse{};
      case '[':
        return ArrayBegin{};
      case ']':
        return ArrayEnd{};
      default:
        return malformed(start, "unknown type tag " + tag_text(tag));
    }
  }

  Result<OscArgument> blob(std::size_t& at, std::size_t end) {
    const std::size_t start = at;
    if (end - at < 4) return malformed(start, "blob size cut short");
    const std::uint32_t size = u32(at);
    if (size > end - at - 4) {
      return malformed(start, "blob of " + std::to_string(static_cast<std::int32_t>(size)) +
                                  " bytes runs past the end");
    }
    at += 4;
    Blob out;
    out.bytes.assign(data_.begin() + static_cast<std::ptrdiff_t>(at),
                     data_.begin() + static_cast<std::ptrdiff_t>(at + size));
    at += size;
    if (auto ok = padding(at, end, "the blob"); !ok) return std::unexpected(std::move(ok.error()));
    return out;
  }

  // A NUL-terminated string at `at` padded with NULs to a multiple of 4, all before `end`.
  Result<std::string> string(std::size_t& at, std::size_t end, std::string_view what) {
    const std::size_t start = at;
    const auto* first = data_.data() + at;
    const auto* nul = static_cast<const std::uint8_t*>(std::memchr(first, 0, end - at));
    if (!nul) {
      return malformed(start, std::string(what) + " is not NUL-terminated within its element");
    }
    std::string out(reinterpret_cast<const char*>(first), static_cast<std::size_t>(nul - first));
    at += out.size() + 1;
    if (auto ok = padding(at, end, what); !ok) return std::unexpected(std::move(ok.error()));
    return out;
  }

  // Zero bytes up to the next multiple of 4 (offsets count from the datagram's start, which
  // every element keeps aligned).
  Status padding(std::size_t& at, std::size_t end, std::string_view what) {
    const std::size_t aligned = (at + 3) & ~std::size_t{3};
    if (aligned > end)
      return malformed(at, "padding after " + std::string(what) + " runs past the end");
    for (; at < aligned; ++at) {
      if (data_[at] != 0) return malformed(at, "non-zero padding after " + std::string(what));
    }
    return {};
  }

  std::uint32_t u32(std::size_t at) const {
    return static_cast<std::uint32_t>(data_[at]) << 24 |
           static_cast<std::uint32_t>(data_[at + 1]) << 16 |
           static_cast<std::uint32_t>(data_[at + 2]) << 8 | data_[at + 3];
  }
  std::uint64_t u64(std::size_t at) const {
    return static_cast<std::uint64_t>(u32(at)) << 32 | u32(at + 4);
  }

  std::span<const std::uint8_t> data_;
  std::size_t elements_ = 0;
  std::size_t arguments_ = 0;
};

void collect(OscPacket& packet, std::vector<OscMessage>& out) {
  if (auto* m = std::get_if<OscMessage>(&packet.content)) {
    out.push_back(std::move(*m));
    return;
  }
  for (auto& e : std::get<OscBundle>(packet.content).elements)
    collect(e, out);
}

}  // namespace

char type_tag(const OscArgument& argument) {
  static constexpr char kTags[] = "ifsbhdtTNIcrmS[]";
  static_assert(sizeof kTags - 1 == std::variant_size_v<OscArgument>);
  if (const bool* b = std::get_if<bool>(&argument)) return *b ? 'T' : 'F';
  return kTags[argument.index()];
}

std::string OscMessage::type_tags() const {
  std::string out;
  out.reserve(arguments.size());
  for (const auto& a : arguments)
    out += type_tag(a);
  return out;
}

Result<OscPacket> parse_packet(std::span<const std::uint8_t> datagram) {
  return Parser(datagram).packet();
}

std::vector<OscMessage> messages_of(OscPacket packet) {
  std::vector<OscMessage> out;
  collect(packet, out);
  return out;
}

Result<std::vector<OscMessage>> parse_messages(std::span<const std::uint8_t> datagram) {
  auto packet = parse_packet(datagram);
  if (!packet) return std::unexpected(std::move(packet.error()));
  return messages_of(std::move(*packet));
}

}  // namespace sluice::osc
