// Relay wire frames and control payloads from arbitrary bytes: decode_frame() walks the input
// (skipping a byte after an error, to find frames further on), and every payload goes through
// every payload decoder. What decodes must re-encode to the same bytes or values.
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "wire/control.hpp"
#include "wire/frame.hpp"

namespace {

using namespace sluice::wire;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

bool same_settings(const Settings& a, const Settings& b) {
  return a.stream_window == b.stream_window && a.connection_window == b.connection_window &&
         a.max_frame == b.max_frame && a.max_message == b.max_message && a.lease_ms == b.lease_ms;
}

void decode_payload(std::span<const std::uint8_t> bytes) {
  std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  if (auto h = decode_hello(text)) {
    auto again = decode_hello(encode(*h));
    check(again.has_value());
    check(again->version == h->version && again->client == h->client &&
          again->mechanism == h->mechanism && again->user == h->user && again->token == h->token &&
          again->auth_data == h->auth_data && same_settings(again->settings, h->settings));
  }
  if (auto w = decode_welcome(text)) {
    auto again = decode_welcome(encode(*w));
    check(again.has_value());
    check(again->session == w->session && again->server == w->server &&
          again->auth_data == w->auth_data && same_settings(again->settings, w->settings));
  }
  if (auto o = decode_open(text)) {
    auto again = decode_open(encode(*o));
    check(again.has_value());
    check(again->channel == o->channel && again->role == o->role && again->priority == o->priority);
    if (o->role == Role::kSubscribe) {
      check(again->buffer.max_messages == o->buffer.max_messages &&
            again->buffer.max_bytes == o->buffer.max_bytes &&
            again->buffer.policy == o->buffer.policy &&
            again->buffer.max_stall == o->buffer.max_stall);
    }
    if (o->role == Role::kPublish) check(again->metadata == o->metadata);
  }
  if (auto a = decode_auth(text)) {
    auto again = decode_auth(encode_auth(*a));
    check(again.has_value() && *again == *a);
  }
  (void)decode_subscription_event(text);  // EVENT payloads
  (void)decode_closed_event(text);
  auto e = decode_error_payload(bytes);
  if (bytes.size() >= 4) {
    check(e.reason.size() <= 1024);
    auto re = encode_error_payload(e.code, e.reason);
    auto again =
        decode_error_payload({reinterpret_cast<const std::uint8_t*>(re.data()), re.size()});
    check(again.code == e.code && again.reason == e.reason);
  } else {
    check(e.code == ErrorCode::kProtocol);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::uint8_t> input(data, size);
  decode_payload(input);  // the whole input as one payload

  for (std::uint32_t max_payload : {kDefaultMaxFramePayload, std::uint32_t{1024}}) {
    std::size_t at = 0;
    int errors = 0;
    while (at < size) {
      auto rest = input.subspan(at);
      auto d = decode_frame(rest, max_payload);
      if (d.status == Decoded::Status::kNeedMore) {
        check(d.size > rest.size() && d.size >= kHeaderSize);
        check(d.error == ErrorCode::kNoError);
        break;
      }
      if (d.status == Decoded::Status::kError) {
        check(rest.size() >= kHeaderSize);
        check(d.error != ErrorCode::kNoError && !d.detail.empty());
        if (++errors > 64) break;  // enough of the error path for one input
        ++at;                      // resynchronise one byte later
        continue;
      }
      check(d.size == kHeaderSize + d.header.length && d.size <= rest.size());
      check(d.payload.data() == rest.data() + kHeaderSize);
      check(d.header.type == FrameType::kData ? d.header.length <= max_payload
                                              : d.header.length <= kMaxControlPayload);
      std::uint8_t header[kHeaderSize];
      encode_header(d.header, header);
      check(std::memcmp(header, rest.data(), kHeaderSize) == 0);
      if (max_payload == kDefaultMaxFramePayload) decode_payload(d.payload);
      at += d.size;
    }
  }
  return 0;
}
