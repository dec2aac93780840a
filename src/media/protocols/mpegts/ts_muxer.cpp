#include "media/protocols/mpegts/ts_muxer.hpp"

#include "media/protocols/mpegts/opus_ts.hpp"

#include <algorithm>

namespace sluice::media::mpegts {

namespace {

constexpr std::size_t kPayloadRoom = kPacketSize - 4;  // after the 4-byte packet header
constexpr std::int64_t kMask33 = (std::int64_t{1} << 33) - 1;

void put_header(std::string& out, std::uint16_t pid, bool unit_start, bool adaptation) {
  out.push_back(0x47);
  out.push_back(static_cast<char>((unit_start ? 0x40 : 0x00) | ((pid >> 8) & 0x1F)));
  out.push_back(static_cast<char>(pid & 0xFF));
  out.push_back(static_cast<char>(adaptation ? 0x30 : 0x10));  // payload; counter 0
}

// One PSI section (table_id, section bytes after section_length, CRC appended) in one packet.
void append_section(std::string& out, std::uint16_t pid, std::uint8_t table_id,
                    const std::string& body) {
  std::string section;
  section.push_back(static_cast<char>(table_id));
  const std::size_t length = body.size() + 4;  // + CRC
  section.push_back(static_cast<char>(0xB0 | ((length >> 8) & 0x0F)));
  section.push_back(static_cast<char>(length & 0xFF));
  section += body;
  const std::uint32_t crc =
      crc32_mpeg2({reinterpret_cast<const std::uint8_t*>(section.data()), section.size()});
  for (int shift = 24; shift >= 0; shift -= 8)
    section.push_back(static_cast<char>((crc >> shift) & 0xFF));
  put_header(out, pid, true, false);
  out.push_back(0);  // pointer_field
  out += section;
  out.append(kPayloadRoom - 1 - section.size(), static_cast<char>(0xFF));
}

void put_u16(std::string& s, unsigned v) {
  s.push_back(static_cast<char>((v >> 8) & 0xFF));
  s.push_back(static_cast<char>(v & 0xFF));
}

void put_timestamp(std::string& s, unsigned prefix, std::int64_t t) {
  t &= kMask33;
  s.push_back(static_cast<char>((prefix << 4) | (((t >> 30) & 0x07) << 1) | 1));
  s.push_back(static_cast<char>((t >> 22) & 0xFF));
  s.push_back(static_cast<char>((((t >> 15) & 0x7F) << 1) | 1));
  s.push_back(static_cast<char>((t >> 7) & 0xFF));
  s.push_back(static_cast<char>(((t & 0x7F) << 1) | 1));
}

}  // namespace

std::uint32_t crc32_mpeg2(std::span<const std::uint8_t> bytes) {
  std::uint32_t crc = 0xFFFFFFFF;
  for (std::uint8_t b : bytes) {
    crc ^= static_cast<std::uint32_t>(b) << 24;
    for (int i = 0; i < 8; ++i)
      crc = (crc & 0x80000000) ? (crc << 1) ^ 0x04C11DB7 : crc << 1;
  }
  return crc;
}

void append_program_tables(const TsProgram& program, std::uint8_t version, std::string& out) {
  const auto version_byte = static_cast<char>(0xC1 | ((version & 0x1F) << 1));  // current
  std::string pat;
  put_u16(pat, 1);  // transport_stream_id
  pat.push_back(version_byte);
  pat.push_back(0);  // section_number
  pat.push_back(0);  // last_section_number
  put_u16(pat, 1);   // program_number
  put_u16(pat, 0xE000 | kPmtPid);
  append_section(out, 0, 0x00, pat);

  std::string pmt;
  put_u16(pmt, 1);  // program_number
  pmt.push_back(version_byte);
  pmt.push_back(0);
  pmt.push_back(0);
  put_u16(pmt, 0xE000 | program.pcr_pid());
  put_u16(pmt, 0xF000);  // program_info_length 0
  auto stream = [&](StreamType type, std::uint16_t pid, const std::string& descriptors) {
    pmt.push_back(static_cast<char>(type));
    put_u16(pmt, 0xE000 | pid);
    put_u16(pmt, 0xF000 | static_cast<unsigned>(descriptors.size()));  // ES_info_length
    pmt += descriptors;
  };
  if (program.video) stream(*program.video, kVideoPid, {});
  if (program.audio) {
    stream(*program.audio, kAudioPid,
           *program.audio == StreamType::kOpus ? opus_descriptors(program.audio_channels) : "");
  }
  append_section(out, kPmtPid, 0x02, pmt);
}

void append_pes(const PesPacket& pes, std::span<const std::uint8_t> payload, std::string& out) {
  std::string header{0, 0, 1, static_cast<char>(pes.stream_id)};
  const bool with_dts = pes.dts && (*pes.dts & kMask33) != (pes.pts & kMask33);
  const std::size_t optional_bytes = 3 + (with_dts ? 10 : 5);
  const std::size_t length = optional_bytes + payload.size();
  put_u16(header, length > 0xFFFF ? 0 : static_cast<unsigned>(length));
  header.push_back(static_cast<char>(0x80));                    // '10', no scrambling
  header.push_back(static_cast<char>(with_dts ? 0xC0 : 0x80));  // PTS (and DTS)
  header.push_back(static_cast<char>(with_dts ? 10 : 5));
  put_timestamp(header, with_dts ? 0x3 : 0x2, pes.pts);
  if (with_dts) put_timestamp(header, 0x1, *pes.dts);

  const std::size_t total = header.size() + payload.size();
  // Appends `n` bytes of header-then-payload starting at `from`.
  auto copy = [&](std::size_t from, std::size_t n) {
    if (from < header.size()) {
      const std::size_t k = std::min(n, header.size() - from);
      out.append(header, from, k);
      from += k;
      n -= k;
    }
    if (n > 0)
      out.append(reinterpret_cast<const char*>(payload.data()) + (from - header.size()), n);
  };
  out.reserve(out.size() + (total / kPayloadRoom + 1) * kPacketSize);
  std::size_t pos = 0;
  bool first = true;
  while (pos < total) {
    std::string adaptation;  // the adaptation field after its length byte
    bool has_adaptation = false;
    if (first && (pes.pcr || pes.random_access)) {
      has_adaptation = true;
      adaptation.push_back(
          static_cast<char>((pes.random_access ? 0x40 : 0) | (pes.pcr ? 0x10 : 0)));
      if (pes.pcr) {
        const std::int64_t base = *pes.pcr & kMask33;
        adaptation.push_back(static_cast<char>((base >> 25) & 0xFF));
        adaptation.push_back(static_cast<char>((base >> 17) & 0xFF));
        adaptation.push_back(static_cast<char>((base >> 9) & 0xFF));
        adaptation.push_back(static_cast<char>((base >> 1) & 0xFF));
        adaptation.push_back(static_cast<char>(((base & 1) << 7) | 0x7E));  // extension 0
        adaptation.push_back(0);
      }
    }
    std::size_t room = kPayloadRoom - (has_adaptation ? 1 + adaptation.size() : 0);
    const std::size_t left = total - pos;
    if (left < room) {  // the last packet: stuff the adaptation field
      std::size_t stuffing = room - left;
      if (!has_adaptation) {
        has_adaptation = true;
        --stuffing;  // the length byte
        if (stuffing > 0) {
          adaptation.push_back(0);  // no flags
          --stuffing;
        }
      }
      adaptation.append(stuffing, static_cast<char>(0xFF));
      room = left;
    }
    put_header(out, pes.pid, first, has_adaptation);
    if (has_adaptation) {
      out.push_back(static_cast<char>(adaptation.size()));
      out += adaptation;
    }
    copy(pos, room);
    pos += room;
    first = false;
  }
}

std::uint8_t& TsContinuity::counter(std::uint16_t pid) {
  for (std::size_t i = 0; i < used_; ++i)
    if (counters_[i].first == pid) return counters_[i].second;
  if (used_ == counters_.size()) used_ = 0;  // more PIDs than sluiced writes: reuse a slot
  counters_[used_] = {pid, 0};
  return counters_[used_++].second;
}

void TsContinuity::number(std::span<std::uint8_t> bytes) {
  for (std::size_t at = 0; at + kPacketSize <= bytes.size(); at += kPacketSize) {
    std::uint8_t* p = bytes.data() + at;
    if (!(p[3] & 0x10)) continue;  // no payload: the counter does not advance
    const auto pid = static_cast<std::uint16_t>(((p[1] & 0x1F) << 8) | p[2]);
    std::uint8_t& c = counter(pid);
    p[3] = static_cast<std::uint8_t>((p[3] & 0xF0) | c);
    c = (c + 1) & 0x0F;
  }
}

}  // namespace sluice::media::mpegts
