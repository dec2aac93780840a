// The writing half of dns_message.hpp: build_message() and Record::wire_length().
#include "mdns/dns_message.hpp"

#include <algorithm>
#include <unordered_map>

namespace sluice::mdns {
namespace {

constexpr std::uint16_t kTopBit = 0x8000;
constexpr std::size_t kMaxPointerTarget = 0x3FFF;

std::unexpected<Error> malformed(std::string what) {
  return fail(Error::bad_request("DNS message: " + std::move(what)));
}

// Writes a message, remembering where each name (and each tail of one) was written.
class Writer {
 public:
  std::vector<std::uint8_t> out;

  void u8(std::uint8_t v) { out.push_back(v); }
  void u16(std::uint16_t v) {
    out.push_back(static_cast<std::uint8_t>(v >> 8));
    out.push_back(static_cast<std::uint8_t>(v));
  }
  void u32(std::uint32_t v) {
    u16(static_cast<std::uint16_t>(v >> 16));
    u16(static_cast<std::uint16_t>(v));
  }
  void text(std::string_view s) { out.insert(out.end(), s.begin(), s.end()); }

  Status name(const Name& name, bool compress) {
    if (auto ok = check_name(name); !ok) return ok;
    for (std::size_t i = 0; i < name.labels.size(); ++i) {
      std::string key;
      for (std::size_t j = i; j < name.labels.size(); ++j) {
        key += static_cast<char>(name.labels[j].size());
        key += name.labels[j];
      }
      if (compress) {
        if (auto it = written_.find(key); it != written_.end()) {
          u16(static_cast<std::uint16_t>(0xC000 | it->second));
          return {};
        }
      }
      if (out.size() <= kMaxPointerTarget) {
        written_.emplace(std::move(key), static_cast<std::uint16_t>(out.size()));
      }
      u8(static_cast<std::uint8_t>(name.labels[i].size()));
      text(name.labels[i]);
    }
    u8(0);
    return {};
  }

 private:
  std::unordered_map<std::string, std::uint16_t> written_;
};

Status write_rdata(Writer& w, const RecordData& data) {
  if (auto* a = std::get_if<AData>(&data)) {
    w.out.insert(w.out.end(), a->address.begin(), a->address.end());
  } else if (auto* aaaa = std::get_if<AaaaData>(&data)) {
    w.out.insert(w.out.end(), aaaa->address.begin(), aaaa->address.end());
  } else if (auto* ptr = std::get_if<PtrData>(&data)) {
    return w.name(ptr->target, true);
  } else if (auto* srv = std::get_if<SrvData>(&data)) {
    w.u16(srv->priority);
    w.u16(srv->weight);
    w.u16(srv->port);
    return w.name(srv->target, true);
  } else if (auto* txt = std::get_if<TxtData>(&data)) {
    for (const auto& s : txt->strings) {
      if (s.size() > 255) return malformed("TXT string over 255 bytes");
      w.u8(static_cast<std::uint8_t>(s.size()));
      w.text(s);
    }
  } else if (auto* nsec = std::get_if<NsecData>(&data)) {
    if (!std::is_sorted(nsec->types.begin(), nsec->types.end()) ||
        std::adjacent_find(nsec->types.begin(), nsec->types.end()) != nsec->types.end()) {
      return malformed("NSEC types are not ascending");
    }
    if (auto ok = w.name(nsec->next, false); !ok) return ok;  // RFC 4034 4.1.1: not compressed
    for (std::size_t i = 0; i < nsec->types.size();) {
      const unsigned window = static_cast<unsigned>(nsec->types[i]) >> 8;
      std::uint8_t bits[32] = {};
      std::size_t used = 0;
      for (; i < nsec->types.size() && (static_cast<unsigned>(nsec->types[i]) >> 8) == window;
           ++i) {
        const unsigned low = static_cast<unsigned>(nsec->types[i]) & 0xFF;
        bits[low / 8] |= static_cast<std::uint8_t>(0x80 >> (low % 8));
        used = low / 8 + 1;
      }
      w.u8(static_cast<std::uint8_t>(window));
      w.u8(static_cast<std::uint8_t>(used));
      w.out.insert(w.out.end(), bits, bits + used);
    }
  } else {
    w.text(std::get<OpaqueData>(data).bytes);
  }
  return {};
}

Status write_record(Writer& w, const Record& r) {
  if (auto ok = w.name(r.name, true); !ok) return ok;
  w.u16(static_cast<std::uint16_t>(r.type()));
  w.u16(static_cast<std::uint16_t>((r.dns_class & 0x7FFF) | (r.cache_flush ? kTopBit : 0)));
  w.u32(r.ttl);
  const std::size_t length_at = w.out.size();
  w.u16(0);
  if (auto ok = write_rdata(w, r.data); !ok) return ok;
  const std::size_t length = w.out.size() - length_at - 2;
  if (length > 0xFFFF) return malformed("rdata of " + r.name.to_dotted() + " is over 65535 bytes");
  w.out[length_at] = static_cast<std::uint8_t>(length >> 8);
  w.out[length_at + 1] = static_cast<std::uint8_t>(length);
  return {};
}

std::size_t rdata_length(const RecordData& data) {
  struct Length {
    std::size_t operator()(const AData&) const { return 4; }
    std::size_t operator()(const AaaaData&) const { return 16; }
    std::size_t operator()(const PtrData& d) const { return d.target.wire_length(); }
    std::size_t operator()(const SrvData& d) const { return 6 + d.target.wire_length(); }
    std::size_t operator()(const TxtData& d) const {
      std::size_t n = 0;
      for (const auto& s : d.strings)
        n += 1 + s.size();
      return n;
    }
    std::size_t operator()(const NsecData& d) const {
      std::size_t windows = 0;  // each: number, length and at most 32 bytes of bits
      for (std::size_t i = 0; i < d.types.size(); ++i) {
        const auto window = static_cast<unsigned>(d.types[i]) >> 8;
        windows += i == 0 || window != static_cast<unsigned>(d.types[i - 1]) >> 8;
      }
      return d.next.wire_length() + 34 * windows;
    }
    std::size_t operator()(const OpaqueData& d) const { return d.bytes.size(); }
  };
  return std::visit(Length{}, data);
}

}  // namespace

std::size_t Record::wire_length() const {
  return name.wire_length() + 10 + rdata_length(data);
}

Result<std::vector<std::uint8_t>> build_message(const Message& message) {
  const std::vector<Record>* sections[3] = {&message.answers, &message.authorities,
                                            &message.additionals};
  if (message.questions.size() > 0xFFFF || message.answers.size() > 0xFFFF ||
      message.authorities.size() > 0xFFFF || message.additionals.size() > 0xFFFF) {
    return malformed("more than 65535 entries in a section");
  }
  Writer w;
  w.u16(message.id);
  w.u16(message.flags);
  w.u16(static_cast<std::uint16_t>(message.questions.size()));
  for (const auto* section : sections)
    w.u16(static_cast<std::uint16_t>(section->size()));
  for (const auto& q : message.questions) {
    if (auto ok = w.name(q.name, true); !ok) return std::unexpected(ok.error());
    w.u16(static_cast<std::uint16_t>(q.type));
    w.u16(static_cast<std::uint16_t>((q.dns_class & 0x7FFF) | (q.unicast_response ? kTopBit : 0)));
  }
  for (const auto* section : sections) {
    for (const auto& r : *section) {
      if (auto ok = write_record(w, r); !ok) return std::unexpected(ok.error());
    }
  }
  return std::move(w.out);
}

}  // namespace sluice::mdns
