#include "media/protocols/mpegts/ts_demuxer.hpp"

#include <algorithm>
#include <utility>

#include "media/protocols/mpegts/opus_ts.hpp"

namespace sluice::media::mpegts {
namespace {

constexpr std::uint8_t kSync = 0x47;
constexpr std::size_t kMaxStreams = 4;  // each may hold a PES of up to max_pes_bytes

std::int64_t timestamp_at(const std::uint8_t* b) {
  return (std::int64_t(b[0] & 0x0E) << 29) | (std::int64_t(b[1]) << 22) |
         (std::int64_t(b[2] & 0xFE) << 14) | (std::int64_t(b[3]) << 7) | (b[4] >> 1);
}

bool followed(std::uint8_t type) {
  return type == static_cast<std::uint8_t>(StreamType::kH264) ||
         type == static_cast<std::uint8_t>(StreamType::kH265) ||
         type == static_cast<std::uint8_t>(StreamType::kAacAdts);
}

// Whether the PES being gathered has reached its PES_packet_length (0: unbounded, never).
bool complete(const std::string& pes) {
  if (pes.size() < 6) return false;
  const std::size_t length =
      (std::size_t(static_cast<std::uint8_t>(pes[4])) << 8) | static_cast<std::uint8_t>(pes[5]);
  return length != 0 && pes.size() >= 6 + length;
}

}  // namespace

void Demuxer::feed(std::span<const std::uint8_t> bytes, std::vector<PesFrame>& out) {
  out_ = &out;
  pending_.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  std::size_t at = 0;
  while (pending_.size() - at >= kPacketSize) {
    if (static_cast<std::uint8_t>(pending_[at]) != kSync) {
      ++stats_.resyncs;
      const auto next = pending_.find(static_cast<char>(kSync), at + 1);
      at = next == std::string::npos ? pending_.size() : next;
      continue;
    }
    packet(reinterpret_cast<const std::uint8_t*>(pending_.data() + at));
    at += kPacketSize;
  }
  pending_.erase(0, at);
  out_ = nullptr;
}

void Demuxer::flush(std::vector<PesFrame>& out) {
  for (auto& [pid, s] : streams_) {
    if (s.gathering) finish_pes(pid, s, out);
  }
  charge_.settle(0);
}

void Demuxer::packet(const std::uint8_t* p) {
  ++stats_.packets;
  if (p[1] & 0x80) return;  // transport_error_indicator
  const bool unit_start = p[1] & 0x40;
  const auto pid = static_cast<std::uint16_t>(((p[1] & 0x1F) << 8) | p[2]);
  const unsigned adaptation = (p[3] >> 4) & 3;
  const std::uint8_t continuity = p[3] & 0x0F;
  std::size_t offset = 4;
  if (adaptation & 2) offset += 1 + std::size_t(p[4]);
  if (!(adaptation & 1) || offset >= kPacketSize) return;  // no payload
  const std::span<const std::uint8_t> payload(p + offset, kPacketSize - offset);
  if (pid == 0 || (pmt_pid_ && pid == *pmt_pid_)) return section(pid, payload, unit_start);
  auto it = streams_.find(pid);
  if (it == streams_.end()) return;
  Stream& s = it->second;
  if (s.continuity && continuity != ((*s.continuity + 1) & 0x0F)) {
    if (continuity == *s.continuity) return;  // a duplicate packet
    ++stats_.continuity_errors;
    s.pes.clear();
    s.gathering = false;
    s.after_loss = true;
  }
  s.continuity = continuity;
  if (unit_start) {
    if (s.gathering && out_) finish_pes(pid, s, *out_);
    s.pes.assign(payload.begin(), payload.end());
    s.gathering = true;
    settle_budget(s);
    if (s.gathering && complete(s.pes) && out_) finish_pes(pid, s, *out_);
    return;
  }
  if (!s.gathering) return;
  if (s.pes.size() + payload.size() > max_pes_) {
    ++stats_.oversized;
    s.pes.clear();
    s.gathering = false;
    s.after_loss = true;
    return;
  }
  s.pes.append(payload.begin(), payload.end());
  settle_budget(s);
  if (s.gathering && complete(s.pes) && out_) finish_pes(pid, s, *out_);
}

void Demuxer::settle_budget(Stream& growing) {
  std::size_t held = 0;
  for (const auto& [pid, s] : streams_)
    held += s.pes.size();
  if (charge_.settle(held)) return;
  ++stats_.over_budget;
  held -= growing.pes.size();
  growing.pes.clear();
  growing.gathering = false;
  growing.after_loss = true;
  charge_.settle(held);
}

void Demuxer::section(std::uint16_t pid, std::span<const std::uint8_t> payload, bool unit_start) {
  if (!unit_start || payload.empty()) return;  // sections spanning packets are not needed
  const std::size_t pointer = payload[0];
  if (1 + pointer + 3 > payload.size()) return;
  const auto b = payload.subspan(1 + pointer);
  const std::size_t length = ((std::size_t(b[1]) & 0x0F) << 8) | b[2];
  if (3 + length > b.size() || length < 9) return;
  const std::size_t end = 3 + length - 4;  // before the CRC
  if (pid == 0 && b[0] == 0x00) {          // PAT: the first program's PMT
    for (std::size_t i = 8; i + 4 <= end; i += 4) {
      const unsigned program = (unsigned(b[i]) << 8) | b[i + 1];
      if (program == 0) continue;  // the network PID
      pmt_pid_ = static_cast<std::uint16_t>(((b[i + 2] & 0x1F) << 8) | b[i + 3]);
      return;
    }
    return;
  }
  if (b[0] != 0x02 || length < 13) return;  // PMT
  const std::size_t program_info = ((std::size_t(b[10]) & 0x0F) << 8) | b[11];
  for (std::size_t i = 12 + program_info; i + 5 <= end;) {
    const std::uint8_t type = b[i];
    const auto es_pid = static_cast<std::uint16_t>(((b[i + 1] & 0x1F) << 8) | b[i + 2]);
    const std::size_t info = ((std::size_t(b[i + 3]) & 0x0F) << 8) | b[i + 4];
    if (i + 5 + info > end) break;
    unsigned channels = 0;
    if (type == static_cast<std::uint8_t>(StreamType::kOpus)) {
      channels = opus_channels_of(b.subspan(i + 5, info));
    }
    if ((followed(type) || channels) && !streams_.contains(es_pid) &&
        streams_.size() < kMaxStreams) {
      Stream s;
      s.type = static_cast<StreamType>(type);
      s.channels = channels;
      streams_.emplace(es_pid, std::move(s));
    }
    i += 5 + info;
  }
}

void Demuxer::finish_pes(std::uint16_t pid, Stream& s, std::vector<PesFrame>& out) {
  s.gathering = false;
  const std::string pes = std::move(s.pes);
  s.pes.clear();
  const auto* b = reinterpret_cast<const std::uint8_t*>(pes.data());
  if (pes.size() < 9 || b[0] != 0 || b[1] != 0 || b[2] != 1) return;
  const std::size_t header = 9 + std::size_t(b[8]);
  if (header > pes.size()) return;
  PesFrame f;
  f.pid = pid;
  f.type = s.type;
  f.channels = s.channels;
  const unsigned flags = (b[7] >> 6) & 3;
  if ((flags & 2) && header >= 14) f.pts = timestamp_at(b + 9);
  if (flags == 3 && header >= 19) f.dts = timestamp_at(b + 14);
  const std::size_t length = (std::size_t(b[4]) << 8) | b[5];
  const std::size_t end = length != 0 && 6 + length <= pes.size() ? 6 + length : pes.size();
  if (header > end) return;
  f.data = pes.substr(header, end - header);
  f.after_loss = std::exchange(s.after_loss, false);
  if (!f.data.empty()) out.push_back(std::move(f));
}

}  // namespace sluice::media::mpegts
