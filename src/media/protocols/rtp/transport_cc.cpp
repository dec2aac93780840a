#include "media/protocols/rtp/transport_cc.hpp"

namespace sluice::media::rtp {
namespace {

Error bad(const char* what) {
  return Error::bad_request(std::string("RTCP transport-cc: ") + what);
}

constexpr double kSmoothing = 0.3;  // weight of the newest feedback

}  // namespace

void append_transport_sequence(std::string& header, int id, std::uint16_t sequence) {
  header[0] = static_cast<char>(header[0] | 0x10);  // X
  const char block[] = {static_cast<char>(0xBE),
                        static_cast<char>(0xDE),
                        0,
                        1,                                 // one 32-bit word follows
                        static_cast<char>((id << 4) | 1),  // ID, length - 1
                        static_cast<char>(sequence >> 8),
                        static_cast<char>(sequence & 0xFF),
                        0};
  header.append(block, sizeof block);
}

Result<TransportFeedback> parse_transport_feedback(std::span<const std::uint8_t> fci) {
  if (fci.size() < 8) return fail(bad("shorter than its fixed part"));
  TransportFeedback out;
  out.base_sequence = static_cast<std::uint16_t>((fci[0] << 8) | fci[1]);
  const std::size_t count = (std::size_t{fci[2]} << 8) | fci[3];
  if (count > kMaxTransportStatuses) return fail(bad("too many packet statuses"));
  std::int32_t reference = (std::int32_t{fci[4]} << 16) | (fci[5] << 8) | fci[6];
  if (reference & 0x800000) reference -= 0x1000000;  // 24-bit signed, 64 ms units
  std::size_t at = 8;
  std::vector<std::uint8_t> symbols;
  symbols.reserve(count);
  while (symbols.size() < count) {
    if (at + 2 > fci.size()) return fail(bad("packet chunks past the end"));
    const unsigned chunk = (unsigned{fci[at]} << 8) | fci[at + 1];
    at += 2;
    if (!(chunk & 0x8000)) {  // run length: a symbol, repeated
      const auto symbol = static_cast<std::uint8_t>((chunk >> 13) & 3);
      const std::size_t run = chunk & 0x1FFF;
      if (symbol == 3) return fail(bad("reserved status"));
      for (std::size_t i = 0; i < run && symbols.size() < count; ++i)
        symbols.push_back(symbol);
    } else if (!(chunk & 0x4000)) {  // status vector of 14 one-bit symbols
      for (int bit = 13; bit >= 0 && symbols.size() < count; --bit)
        symbols.push_back(static_cast<std::uint8_t>((chunk >> bit) & 1));
    } else {  // status vector of 7 two-bit symbols
      for (int shift = 12; shift >= 0 && symbols.size() < count; shift -= 2) {
        const auto symbol = static_cast<std::uint8_t>((chunk >> shift) & 3);
        if (symbol == 3) return fail(bad("reserved status"));
        symbols.push_back(symbol);
      }
    }
  }
  std::int64_t arrival = std::int64_t{reference} * 64000;
  out.arrivals.reserve(count);
  for (const auto symbol : symbols) {
    if (symbol == 0) {
      out.arrivals.emplace_back();
      continue;
    }
    std::int64_t delta = 0;
    if (symbol == 1) {
      if (at + 1 > fci.size()) return fail(bad("receive deltas past the end"));
      delta = fci[at++];
    } else {
      if (at + 2 > fci.size()) return fail(bad("receive deltas past the end"));
      delta = static_cast<std::int16_t>((fci[at] << 8) | fci[at + 1]);
      at += 2;
    }
    arrival += delta * 250;
    out.arrivals.emplace_back(arrival);
  }
  return out;
}

void DeliveryEstimate::on_sent(std::uint16_t sequence, std::size_t bytes) {
  sent_[sequence % sent_.size()] = Sent{sequence, static_cast<std::uint32_t>(bytes), true};
}

void DeliveryEstimate::on_feedback(const TransportFeedback& feedback) {
  constexpr std::int64_t kWindowUs = 1'000'000;
  constexpr std::size_t kMaxArrivals = 4096;
  std::size_t reported = 0, lost = 0;
  for (std::size_t i = 0; i < feedback.arrivals.size(); ++i) {
    const auto sequence = static_cast<std::uint16_t>(feedback.base_sequence + i);
    const Sent& s = sent_[sequence % sent_.size()];
    if (!s.known || s.sequence != sequence) continue;  // not ours, or too old
    ++reported;
    if (!feedback.arrivals[i]) {
      ++lost;
      continue;
    }
    arrivals_.emplace_back(*feedback.arrivals[i], s.bytes);
  }
  if (reported == 0) return;
  const double loss = static_cast<double>(lost) / static_cast<double>(reported);
  loss_ = loss_ ? *loss_ + kSmoothing * (loss - *loss_) : loss;
  while (arrivals_.size() > kMaxArrivals ||
         (!arrivals_.empty() && arrivals_.back().first - arrivals_.front().first > kWindowUs)) {
    arrivals_.pop_front();
  }
  if (arrivals_.size() < 2) return;
  const std::int64_t span = arrivals_.back().first - arrivals_.front().first;
  if (span < 200'000) return;  // a rate over 200 ms at least, not a burst
  std::uint64_t bytes = 0;
  for (std::size_t i = 1; i < arrivals_.size(); ++i)  // the first one opens the interval
    bytes += arrivals_[i].second;
  delivered_bps_ = static_cast<double>(bytes) * 8e6 / static_cast<double>(span);
}

}  // namespace sluice::media::rtp
