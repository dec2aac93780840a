#include "media/protocols/rtp/nal_rtp.hpp"

#include <algorithm>
#include <utility>

namespace sluice::media::rtp {
namespace {

constexpr std::size_t kMaxNalUnits = 4096;

// H.264: 1-byte NAL header, type in the low 5 bits. H.265: 2-byte header, type in bits 1..6.
std::size_t header_size(NalCodec c) {
  return c == NalCodec::kH264 ? 1 : 2;
}
unsigned nal_type(NalCodec c, std::uint8_t first) {
  return c == NalCodec::kH264 ? (first & 0x1F) : ((first >> 1) & 0x3F);
}
// Packet types (RFC 6184 §5.4, RFC 7798 §4.4).
constexpr unsigned kStapA = 24, kFuA = 28;  // H.264
constexpr unsigned kAp = 48, kFu = 49;      // H.265

Error malformed(NalCodec c, std::string what) {
  return Error::bad_request(std::string(c == NalCodec::kH264 ? "RTP H.264: " : "RTP H.265: ") +
                            std::move(what));
}

}  // namespace

void packetize_nal_units(NalCodec codec, std::span<const std::string_view> nal_units,
                         std::size_t max_payload, std::vector<std::string>& out) {
  const std::size_t header = header_size(codec);
  const std::size_t fu_overhead = header + 1;  // FU indicator/payload header + FU header
  max_payload = std::max(max_payload, fu_overhead + 1);
  for (std::string_view nal : nal_units) {
    if (nal.size() <= header) continue;  // nothing but a header: not a NAL unit worth sending
    if (nal.size() <= max_payload) {
      out.emplace_back(nal);
      continue;
    }
    const auto* p = reinterpret_cast<const std::uint8_t*>(nal.data());
    std::string head;
    if (codec == NalCodec::kH264) {
      head.push_back(static_cast<char>((p[0] & 0xE0) | kFuA));
    } else {
      head.push_back(static_cast<char>((p[0] & 0x81) | (kFu << 1)));
      head.push_back(static_cast<char>(p[1]));
    }
    const std::uint8_t type = static_cast<std::uint8_t>(nal_type(codec, p[0]));
    std::size_t at = header;
    while (at < nal.size()) {
      const std::size_t n = std::min(max_payload - fu_overhead, nal.size() - at);
      std::uint8_t fu = type;
      if (at == header) fu |= 0x80;          // S
      if (at + n == nal.size()) fu |= 0x40;  // E
      std::string payload = head;
      payload.push_back(static_cast<char>(fu));
      payload.append(nal.substr(at, n));
      out.push_back(std::move(payload));
      at += n;
    }
  }
}

void NalDepacketizer::reset_access_unit() {
  current_ = {};
  current_bytes_ = 0;
  in_access_unit_ = false;
  oversized_ = false;
  fragment_.clear();
  fragmenting_ = false;
}

void NalDepacketizer::finish(std::vector<NalAccessUnit>& out) {
  if (in_access_unit_ && !oversized_ && !current_.nal_units.empty()) {
    out.push_back(std::move(current_));
  } else if (in_access_unit_ && (current_.damaged || oversized_)) {
    damage_pending_ = true;  // nothing of it is handed on: the next one tells the decoder
  }
  reset_access_unit();
}

Status NalDepacketizer::add_nal(std::string nal) {
  if (nal.size() <= header_size(codec_)) return {};  // empty NAL unit: nothing to decode
  const auto first = static_cast<std::uint8_t>(nal[0]);
  const unsigned type = nal_type(codec_, first);
  const bool valid =
      (first & 0x80) == 0 && (codec_ == NalCodec::kH264 ? type >= 1 && type <= 23 : type <= 47);
  if (!valid) {
    current_.damaged = true;
    return fail(malformed(codec_, "NAL unit of type " + std::to_string(type) +
                                      " (or with forbidden_zero_bit) dropped"));
  }
  current_bytes_ += nal.size();
  if (current_bytes_ > max_bytes_ || current_.nal_units.size() >= kMaxNalUnits) {
    if (!oversized_) {
      oversized_ = true;
      return fail(Error{413,
                        "RTP: access unit larger than " + std::to_string(max_bytes_) +
                            " bytes or " + std::to_string(kMaxNalUnits) + " NAL units; dropped",
                        {}});
    }
    return {};
  }
  current_.nal_units.push_back(std::move(nal));
  return {};
}

Status NalDepacketizer::push(const Packet& packet, std::vector<NalAccessUnit>& out) {
  const auto& h = packet.header;
  bool lost = false;
  if (have_sequence_ && h.sequence != static_cast<std::uint16_t>(last_sequence_ + 1)) {
    const auto behind = static_cast<std::uint16_t>(last_sequence_ - h.sequence);
    if (behind < 128) return {};  // late or duplicate: already past it
    lost = true;                  // a gap (or the sender restarted its sequence)
    fragment_.clear();
    fragmenting_ = false;
  }
  have_sequence_ = true;
  last_sequence_ = h.sequence;
  if (lost) current_.damaged = true;  // the access unit in progress, if any, is incomplete
  if (in_access_unit_ && h.timestamp != current_.timestamp) finish(out);  // marker was lost
  if (!in_access_unit_) {
    reset_access_unit();
    current_.timestamp = h.timestamp;
    // The lost packet may have been this one's first; or the previous one was dropped whole.
    current_.damaged = lost || std::exchange(damage_pending_, false);
    in_access_unit_ = true;
  }
  Status status;
  const auto payload = packet.payload;
  if (payload.size() < header_size(codec_)) {
    status = fail(malformed(codec_, "payload shorter than a NAL unit header"));
  } else if ((payload[0] & 0x80) != 0) {
    status = fail(malformed(codec_, "forbidden_zero_bit is set"));
  } else {
    const unsigned type = nal_type(codec_, payload[0]);
    const bool is_fragment = codec_ == NalCodec::kH264 ? type == kFuA : type == kFu;
    status = is_fragment ? fragment(payload) : single_or_aggregate(payload, type);
  }
  if (h.marker) finish(out);
  // What this publisher holds now is charged to the server-wide budget; an access unit the
  // budget cannot hold is dropped whole (the next one is marked damaged).
  if (!charge_.settle(current_bytes_ + fragment_.size())) {
    ++over_budget_;
    if (in_access_unit_) damage_pending_ = true;
    in_access_unit_ = false;
    reset_access_unit();
    charge_.settle(0);
    return fail(Error{503, "RTP: the media reassembly budget is full; access unit dropped", {}});
  }
  return status;
}

Status NalDepacketizer::single_or_aggregate(std::span<const std::uint8_t> payload, unsigned type) {
  if (fragmenting_) {  // a fragmented NAL unit never ended
    fragment_.clear();
    fragmenting_ = false;
    current_.damaged = true;
  }
  const bool h264 = codec_ == NalCodec::kH264;
  const bool aggregate = h264 ? type == kStapA : type == kAp;
  if (!aggregate) {
    if (h264 ? (type == 0 || type > 23) : type > 47) {
      return fail(Error{415,
                        std::string(h264 ? "RTP H.264" : "RTP H.265") + ": packet type " +
                            std::to_string(type) + " is not supported (packetization-mode 1)",
                        {}});
    }
    return add_nal(std::string(reinterpret_cast<const char*>(payload.data()), payload.size()));
  }
  std::size_t at = header_size(codec_);
  while (at < payload.size()) {
    if (payload.size() - at < 2) return fail(malformed(codec_, "truncated aggregation size"));
    const std::size_t size = (std::size_t(payload[at]) << 8) | payload[at + 1];
    at += 2;
    if (size > payload.size() - at) {
      return fail(malformed(codec_, "aggregated NAL unit past the end of the packet"));
    }
    if (auto ok = add_nal(std::string(reinterpret_cast<const char*>(&payload[at]), size)); !ok) {
      return ok;
    }
    at += size;
  }
  return {};
}

Status NalDepacketizer::fragment(std::span<const std::uint8_t> payload) {
  const std::size_t head = header_size(codec_);
  if (payload.size() < head + 1) return fail(malformed(codec_, "fragment without its FU header"));
  const std::uint8_t fu = payload[head];
  const bool start = fu & 0x80;
  const bool end = fu & 0x40;
  const auto data = payload.subspan(head + 1);
  if (start) {
    if (fragmenting_) current_.damaged = true;  // the previous one never ended
    fragment_.clear();
    if (codec_ == NalCodec::kH264) {
      fragment_.push_back(static_cast<char>((payload[0] & 0xE0) | (fu & 0x1F)));
    } else {
      fragment_.push_back(static_cast<char>((payload[0] & 0x81) | ((fu & 0x3F) << 1)));
      fragment_.push_back(static_cast<char>(payload[1]));
    }
    fragmenting_ = true;
  } else if (!fragmenting_) {
    return {};  // the start was lost: this NAL unit cannot be rebuilt (counted as damage)
  }
  if (fragment_.size() + data.size() > max_bytes_) {
    fragment_.clear();
    fragmenting_ = false;
    current_.damaged = true;
    return fail(Error{
        413,
        "RTP: fragmented NAL unit larger than " + std::to_string(max_bytes_) + " bytes; dropped",
        {}});
  }
  fragment_.append(reinterpret_cast<const char*>(data.data()), data.size());
  if (!end) return {};
  fragmenting_ = false;
  return add_nal(std::exchange(fragment_, {}));
}

}  // namespace sluice::media::rtp
