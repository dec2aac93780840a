#include "mdns/dns_message.hpp"

#include <algorithm>

// Parsing, Name and Record::type(); writing is in dns_build.cpp.
namespace sluice::mdns {
namespace {

constexpr std::uint16_t kTopBit = 0x8000;
constexpr std::size_t kMinQuestionSize = 5;  // root name, type, class
constexpr std::size_t kMinRecordSize = 11;   // root name, type, class, ttl, rdlength

std::unexpected<Error> malformed(std::string what) {
  return fail(Error::bad_request("DNS message: " + std::move(what)));
}

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// Reads big-endian fields and names from one datagram; every read is checked against `end`.
class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> data) : data_(data) {}

  std::size_t offset() const { return at_; }
  std::size_t left() const { return data_.size() - at_; }

  bool u8(std::uint8_t& v, std::size_t end) {
    if (at_ + 1 > end) return false;
    v = data_[at_++];
    return true;
  }
  bool u16(std::uint16_t& v, std::size_t end) {
    if (at_ + 2 > end) return false;
    v = static_cast<std::uint16_t>(data_[at_] << 8 | data_[at_ + 1]);
    at_ += 2;
    return true;
  }
  bool u32(std::uint32_t& v, std::size_t end) {
    std::uint16_t hi = 0, lo = 0;
    if (at_ + 4 > end || !u16(hi, end) || !u16(lo, end)) return false;
    v = static_cast<std::uint32_t>(hi) << 16 | lo;
    return true;
  }
  bool bytes(std::uint8_t* out, std::size_t n, std::size_t end) {
    if (at_ + n > end) return false;
    std::copy_n(data_.begin() + static_cast<std::ptrdiff_t>(at_), n, out);
    at_ += n;
    return true;
  }
  bool text(std::string& out, std::size_t n, std::size_t end) {
    if (at_ + n > end) return false;
    out.assign(reinterpret_cast<const char*>(data_.data()) + at_, n);
    at_ += n;
    return true;
  }

  // A name starting here whose own bytes end by `end`; pointers may reach anywhere before it.
  // Each pointer must point before the previous one's target (or before the name), which rules
  // out loops; kMaxPointerHops bounds the work besides.
  Result<Name> name(std::size_t end) {
    const std::size_t start = at_;
    Name name;
    std::size_t wire = 1;  // the root label
    std::size_t at = at_, bound = end, earliest = start, resume = 0;
    int hops = 0;
    for (;;) {
      if (at >= bound) {
        return malformed("name at byte " + std::to_string(start) + " runs past the end");
      }
      const std::uint8_t length = data_[at];
      if ((length & 0xC0) == 0xC0) {
        if (at + 2 > bound) {
          return malformed("compression pointer at byte " + std::to_string(at) + " is cut short");
        }
        const std::size_t target = (length & 0x3Fu) << 8 | data_[at + 1];
        if (hops == 0) resume = at + 2;
        if (target >= earliest) {
          return malformed("compression pointer at byte " + std::to_string(at) +
                           " does not point backwards");
        }
        if (++hops > kMaxPointerHops) {
          return malformed("name at byte " + std::to_string(start) +
                           " has too many compression pointers");
        }
        earliest = target;
        at = target;
        bound = data_.size();
        continue;
      }
      if (length & 0xC0) {
        return malformed("label at byte " + std::to_string(at) + " is of a reserved kind");
      }
      if (length == 0) {
        if (hops == 0) resume = at + 1;
        break;
      }
      wire += length + 1u;
      if (wire > kMaxNameLength) {
        return malformed("name at byte " + std::to_string(start) + " is over 255 bytes");
      }
      if (at + 1 + length > bound) {
        return malformed("label at byte " + std::to_string(at) + " runs past the end");
      }
      name.labels.emplace_back(reinterpret_cast<const char*>(data_.data()) + at + 1, length);
      at += 1u + length;
    }
    at_ = resume;
    return name;
  }

 private:
  std::span<const std::uint8_t> data_;
  std::size_t at_ = 0;
};

Result<RecordData> read_rdata(Reader& in, RecordType type, std::size_t end, std::size_t length) {
  const std::string where = " record at byte " + std::to_string(in.offset());
  auto name_filling = [&](Name& out, const char* what) -> Status {
    auto name = in.name(end);
    if (!name) return std::unexpected(name.error());
    if (in.offset() != end) {
      return malformed(std::string(what) + where + " has bytes after its name");
    }
    out = std::move(*name);
    return {};
  };
  switch (type) {
    case RecordType::a: {
      AData d;
      if (length != 4 || !in.bytes(d.address.data(), 4, end)) {
        return malformed("A" + where + " is not 4 bytes");
      }
      return d;
    }
    case RecordType::aaaa: {
      AaaaData d;
      if (length != 16 || !in.bytes(d.address.data(), 16, end)) {
        return malformed("AAAA" + where + " is not 16 bytes");
      }
      return d;
    }
    case RecordType::ptr: {
      PtrData d;
      if (auto ok = name_filling(d.target, "PTR"); !ok) return std::unexpected(ok.error());
      return d;
    }
    case RecordType::srv: {
      SrvData d;
      if (!in.u16(d.priority, end) || !in.u16(d.weight, end) || !in.u16(d.port, end)) {
        return malformed("SRV" + where + " is cut short");
      }
      if (auto ok = name_filling(d.target, "SRV"); !ok) return std::unexpected(ok.error());
      return d;
    }
    case RecordType::txt: {
      TxtData d;
      while (in.offset() < end) {
        std::uint8_t n = 0;
        std::string s;
        if (!in.u8(n, end) || !in.text(s, n, end)) {
          return malformed("TXT" + where + " has a string running past its end");
        }
        d.strings.push_back(std::move(s));
      }
      return d;
    }
    case RecordType::nsec: {
      NsecData d;
      auto next = in.name(end);
      if (!next) return std::unexpected(next.error());
      d.next = std::move(*next);
      int last_window = -1;
      while (in.offset() < end) {
        std::uint8_t window = 0, size = 0;
        std::uint8_t bits[32];
        if (!in.u8(window, end) || !in.u8(size, end) || size == 0 || size > 32 ||
            window <= last_window || !in.bytes(bits, size, end)) {
          return malformed("NSEC" + where + " has a bad type bitmap");
        }
        last_window = window;
        for (int i = 0; i < size * 8; ++i) {
          if (bits[i / 8] & (0x80 >> (i % 8))) {
            d.types.push_back(static_cast<RecordType>(window * 256 + i));
          }
        }
      }
      return d;
    }
    default: {
      OpaqueData d{type, {}};
      in.text(d.bytes, length, end);
      return d;
    }
  }
}

Result<Record> read_record(Reader& in, std::size_t size) {
  auto name = in.name(size);
  if (!name) return std::unexpected(name.error());
  Record r;
  r.name = std::move(*name);
  std::uint16_t type = 0, klass = 0, length = 0;
  if (!in.u16(type, size) || !in.u16(klass, size) || !in.u32(r.ttl, size) ||
      !in.u16(length, size)) {
    return malformed("record of " + r.name.to_dotted() + " is cut short");
  }
  r.dns_class = klass & 0x7FFF;
  r.cache_flush = (klass & kTopBit) != 0;
  if (length > in.left()) {
    return malformed("record of " + r.name.to_dotted() + " runs past the end");
  }
  auto data = read_rdata(in, static_cast<RecordType>(type), in.offset() + length, length);
  if (!data) return std::unexpected(data.error());
  r.data = std::move(*data);
  return r;
}

}  // namespace

Result<Name> Name::from_dotted(std::string_view dotted) {
  Name name;
  if (!dotted.empty() && dotted.back() == '.') dotted.remove_suffix(1);
  while (!dotted.empty()) {
    const std::size_t dot = dotted.find('.');
    name.labels.emplace_back(dotted.substr(0, dot));
    dotted = dot == std::string_view::npos ? std::string_view{} : dotted.substr(dot + 1);
    if (dot != std::string_view::npos && dotted.empty()) name.labels.emplace_back();
  }
  if (auto ok = check_name(name); !ok) return std::unexpected(ok.error());
  return name;
}

std::string Name::to_dotted() const {
  if (labels.empty()) return ".";
  std::string out;
  for (const auto& label : labels) {
    if (!out.empty()) out += '.';
    for (const char c : label) {
      const auto byte = static_cast<unsigned char>(c);
      if (c == '.' || c == '\\') {
        out += '\\';
        out += c;
      } else if (byte < 0x20 || byte > 0x7E) {
        out += '\\';
        out += static_cast<char>('0' + byte / 100);
        out += static_cast<char>('0' + byte / 10 % 10);
        out += static_cast<char>('0' + byte % 10);
      } else {
        out += c;
      }
    }
  }
  return out;
}

std::size_t Name::wire_length() const {
  std::size_t n = 1;
  for (const auto& label : labels)
    n += 1 + label.size();
  return n;
}

bool same_name(const Name& a, const Name& b) {
  return std::equal(a.labels.begin(), a.labels.end(), b.labels.begin(), b.labels.end(),
                    [](const std::string& x, const std::string& y) {
                      return std::equal(x.begin(), x.end(), y.begin(), y.end(),
                                        [](char p, char q) { return lower(p) == lower(q); });
                    });
}

Status check_name(const Name& name) {
  for (const auto& label : name.labels) {
    if (label.empty()) return malformed("name " + name.to_dotted() + " has an empty label");
    if (label.size() > kMaxLabelLength) {
      return malformed("name " + name.to_dotted() + " has a label over 63 bytes");
    }
  }
  if (name.wire_length() > kMaxNameLength) {
    return malformed("name " + name.to_dotted() + " is over 255 bytes");
  }
  return {};
}

RecordType Record::type() const {
  struct Type {
    RecordType operator()(const AData&) const { return RecordType::a; }
    RecordType operator()(const AaaaData&) const { return RecordType::aaaa; }
    RecordType operator()(const PtrData&) const { return RecordType::ptr; }
    RecordType operator()(const SrvData&) const { return RecordType::srv; }
    RecordType operator()(const TxtData&) const { return RecordType::txt; }
    RecordType operator()(const NsecData&) const { return RecordType::nsec; }
    RecordType operator()(const OpaqueData& d) const { return d.type; }
  };
  return std::visit(Type{}, data);
}

Result<Message> parse_message(std::span<const std::uint8_t> datagram) {
  const std::size_t size = datagram.size();
  if (size > kMaxDatagram) {
    return malformed(std::to_string(size) + " bytes is over the 9000-byte limit");
  }
  if (size < kHeaderSize) {
    return malformed(std::to_string(size) + " bytes is shorter than the header");
  }
  Reader in(datagram);
  Message m;
  std::uint16_t counts[4] = {};
  in.u16(m.id, size);
  in.u16(m.flags, size);
  for (auto& c : counts)
    in.u16(c, size);
  const std::size_t records = std::size_t{counts[1]} + counts[2] + counts[3];
  if (counts[0] * kMinQuestionSize + records * kMinRecordSize > in.left()) {
    return malformed(std::to_string(counts[0]) + " questions and " + std::to_string(records) +
                     " records cannot fit in " + std::to_string(size) + " bytes");
  }
  m.questions.reserve(counts[0]);
  for (int i = 0; i < counts[0]; ++i) {
    auto name = in.name(size);
    if (!name) return std::unexpected(name.error());
    std::uint16_t type = 0, klass = 0;
    if (!in.u16(type, size) || !in.u16(klass, size)) {
      return malformed("question " + name->to_dotted() + " is cut short");
    }
    m.questions.push_back(Question{std::move(*name), static_cast<RecordType>(type),
                                   static_cast<std::uint16_t>(klass & 0x7FFF),
                                   (klass & kTopBit) != 0});
  }
  std::vector<Record>* sections[3] = {&m.answers, &m.authorities, &m.additionals};
  for (int s = 0; s < 3; ++s) {
    sections[s]->reserve(counts[s + 1]);
    for (int i = 0; i < counts[s + 1]; ++i) {
      auto record = read_record(in, size);
      if (!record) return std::unexpected(record.error());
      sections[s]->push_back(std::move(*record));
    }
  }
  return m;
}

}  // namespace sluice::mdns
