#pragma once
// The relay's wire frames (docs/protocol.md, "Frames"). Every frame is a fixed 12-byte header,
// big-endian, followed by `length` payload bytes:
//
//   u8 version | u8 type | u16 flags | u32 stream id | u32 length
//
// Sans-I/O: encode_header() writes into caller memory; decode_frame() looks at a byte span and
// says "frame", "need more" or "error" without consuming anything itself.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace sluice::wire {

inline constexpr std::uint8_t kProtocolVersion = 1;
inline constexpr std::size_t kHeaderSize = 12;
// Largest DATA payload per frame unless the peers agree otherwise; larger messages are
// fragmented (flag kMore on every fragment but the last).
inline constexpr std::uint32_t kDefaultMaxFramePayload = 64 * 1024;
// No peer may ask for frames larger than this, whatever it announces.
inline constexpr std::uint32_t kMaxFramePayloadCeiling = 16 * 1024 * 1024;
// Control payloads (HELLO, OPEN, EVENT, …) are small JSON documents.
inline constexpr std::uint32_t kMaxControlPayload = 16 * 1024;

enum class FrameType : std::uint8_t {
  kHello = 1,         // client → server, stream 0: version, windows, first auth step
  kAuth = 2,          // both ways, stream 0: further authentication steps
  kWelcome = 3,       // server → client, stream 0: session established, server settings
  kOpen = 4,          // opens stream N: channel, role, options
  kData = 5,          // a message or a fragment of one
  kWindowUpdate = 6,  // u32 credit increment; stream 0 = the connection window
  kReset = 7,         // u32 error code + UTF-8 reason; aborts stream N
  kPing = 8,          // 8 opaque bytes, answered by PONG with the same bytes
  kPong = 9,
  kGoAway = 10,    // u32 error code + UTF-8 reason; the session ends
  kAck = 11,       // u64 count: subscribers that took an acknowledged message
  kEvent = 12,     // JSON notification about stream N (subscribe/unsubscribe, …)
  kPriority = 13,  // u16: the sender asks the peer to schedule stream N's DATA at this priority
};
inline constexpr std::uint8_t kMaxFrameType = 13;

// Frame flags. DATA payload prefixes appear in this order, each only when its flag is set and
// only on the first fragment: GAP (u64), REQUEST or REPLY token (u64), SUBJECT (u16 + bytes).
namespace flag {
inline constexpr std::uint16_t kMore = 0x0001;     // DATA: more fragments of this message follow
inline constexpr std::uint16_t kFin = 0x0002;      // DATA/OPEN: the sender sends nothing more
inline constexpr std::uint16_t kGap = 0x0004;      // DATA: u64 messages dropped before this one
inline constexpr std::uint16_t kRequest = 0x0008;  // DATA: u64 token; answer with kReply + token
inline constexpr std::uint16_t kReply = 0x0010;    // DATA: u64 token of the request answered
inline constexpr std::uint16_t kSubject = 0x0020;  // DATA: u16 length + channel the message was on
inline constexpr std::uint16_t kAckRequested = 0x0040;  // DATA: answer with ACK (delivered count)
inline constexpr std::uint16_t kError = 0x0080;  // DATA with kReply: the request failed; UTF-8 text
inline constexpr std::uint16_t kKnownData = 0x00ff;
}  // namespace flag

enum class ErrorCode : std::uint32_t {
  kNoError = 0,
  kProtocol = 1,  // a frame that breaks the rules (wrong type, wrong stream, order)
  kInternal = 2,
  kFlowControl = 3,   // more data than the window allowed
  kFrameSize = 4,     // a frame above the agreed maximum
  kStreamClosed = 5,  // data on a stream already finished or reset
  kRefused = 6,       // the stream was not accepted (limits, shutting down)
  kCancel = 7,        // the opener no longer wants the stream
  kAuthFailed = 8,
  kUnsupportedVersion = 9,
  kMessageTooLarge = 10,  // reassembly past the maximum message size
  kSlowConsumer = 11,     // the disconnect overflow policy fired
  kNotFound = 12,         // no such channel
  kForbidden = 13,
  kTimeout = 14,
  kLeaseExpired = 15,  // nothing heard from the peer within the lease
  kGoingAway = 16,     // the server is shutting down
  kInvalid = 17,       // an OPEN or control payload that does not validate
  kLimit = 18,         // too many streams, subscriptions or pending requests
};
std::string_view to_string(ErrorCode code);

struct FrameHeader {
  std::uint8_t version = kProtocolVersion;
  FrameType type = FrameType::kData;
  std::uint16_t flags = 0;
  std::uint32_t stream = 0;
  std::uint32_t length = 0;
};

// Writes the 12 header bytes at `out`.
void encode_header(const FrameHeader& header, std::uint8_t* out);
// Header + payload as one string (control frames, tests).
std::string encode_frame(FrameType type, std::uint16_t flags, std::uint32_t stream,
                         std::string_view payload);

struct Decoded {
  enum class Status { kFrame, kNeedMore, kError } status = Status::kNeedMore;
  FrameHeader header;
  std::span<const std::uint8_t> payload;  // points into the input span
  std::size_t size = 0;                   // bytes the frame occupies (kFrame), or needed in total
  ErrorCode error = ErrorCode::kNoError;
  std::string detail;
};

// Looks at the start of `input`. Errors: unknown version (kUnsupportedVersion), unknown type
// (kProtocol), payload over `max_payload` (kFrameSize; control frames are held to
// kMaxControlPayload). Never reads past `input`.
Decoded decode_frame(std::span<const std::uint8_t> input, std::uint32_t max_payload);

// Big-endian helpers for payload prefixes.
inline void put_u16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
inline void put_u32(std::uint8_t* p, std::uint32_t v) {
  for (int i = 3; i >= 0; --i, v >>= 8)
    p[i] = static_cast<std::uint8_t>(v);
}
inline void put_u64(std::uint8_t* p, std::uint64_t v) {
  for (int i = 7; i >= 0; --i, v >>= 8)
    p[i] = static_cast<std::uint8_t>(v);
}
inline std::uint16_t get_u16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>(p[0] << 8 | p[1]);
}
inline std::uint32_t get_u32(const std::uint8_t* p) {
  return std::uint32_t(p[0]) << 24 | std::uint32_t(p[1]) << 16 | std::uint32_t(p[2]) << 8 | p[3];
}
inline std::uint64_t get_u64(const std::uint8_t* p) {
  return std::uint64_t(get_u32(p)) << 32 | get_u32(p + 4);
}

// RESET and GOAWAY payloads: u32 code + reason text (at most 1 KiB is kept).
std::string encode_error_payload(ErrorCode code, std::string_view reason);
struct ErrorPayload {
  ErrorCode code = ErrorCode::kNoError;
  std::string reason;
};
// A payload shorter than 4 bytes reads as kProtocol "malformed".
ErrorPayload decode_error_payload(std::span<const std::uint8_t> payload);

}  // namespace sluice::wire
