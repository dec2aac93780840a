#include "wire/frame.hpp"

#include <algorithm>

namespace sluice::wire {

std::string_view to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::kNoError:
      return "no_error";
    case ErrorCode::kProtocol:
      return "protocol_error";
    case ErrorCode::kInternal:
      return "internal_error";
    case ErrorCode::kFlowControl:
      return "flow_control_error";
    case ErrorCode::kFrameSize:
      return "frame_size_error";
    case ErrorCode::kStreamClosed:
      return "stream_closed";
    case ErrorCode::kRefused:
      return "refused";
    case ErrorCode::kCancel:
      return "cancel";
    case ErrorCode::kAuthFailed:
      return "auth_failed";
    case ErrorCode::kUnsupportedVersion:
      return "unsupported_version";
    case ErrorCode::kMessageTooLarge:
      return "message_too_large";
    case ErrorCode::kSlowConsumer:
      return "slow_consumer";
    case ErrorCode::kNotFound:
      return "not_found";
    case ErrorCode::kForbidden:
      return "forbidden";
    case ErrorCode::kTimeout:
      return "timeout";
    case ErrorCode::kLeaseExpired:
      return "lease_expired";
    case ErrorCode::kGoingAway:
      return "going_away";
    case ErrorCode::kInvalid:
      return "invalid";
    case ErrorCode::kLimit:
      return "limit";
  }
  return "unknown_error";
}

void encode_header(const FrameHeader& header, std::uint8_t* out) {
  out[0] = header.version;
  out[1] = static_cast<std::uint8_t>(header.type);
  put_u16(out + 2, header.flags);
  put_u32(out + 4, header.stream);
  put_u32(out + 8, header.length);
}

std::string encode_frame(FrameType type, std::uint16_t flags, std::uint32_t stream,
                         std::string_view payload) {
  std::string out(kHeaderSize + payload.size(), '\0');
  auto* p = reinterpret_cast<std::uint8_t*>(out.data());
  encode_header({kProtocolVersion, type, flags, stream, static_cast<std::uint32_t>(payload.size())},
                p);
  std::copy(payload.begin(), payload.end(), out.begin() + kHeaderSize);
  return out;
}

Decoded decode_frame(std::span<const std::uint8_t> input, std::uint32_t max_payload) {
  Decoded d;
  if (input.size() < kHeaderSize) {
    d.size = kHeaderSize;
    return d;
  }
  const std::uint8_t* p = input.data();
  d.header.version = p[0];
  d.header.flags = get_u16(p + 2);
  d.header.stream = get_u32(p + 4);
  d.header.length = get_u32(p + 8);
  auto fail = [&](ErrorCode code, std::string detail) {
    d.status = Decoded::Status::kError;
    d.error = code;
    d.detail = std::move(detail);
    return d;
  };
  if (d.header.version != kProtocolVersion) {
    return fail(
        ErrorCode::kUnsupportedVersion,
        "protocol version " + std::to_string(d.header.version) + " is not supported (1 is)");
  }
  if (p[1] == 0 || p[1] > kMaxFrameType) {
    return fail(ErrorCode::kProtocol, "unknown frame type " + std::to_string(p[1]));
  }
  d.header.type = static_cast<FrameType>(p[1]);
  std::uint32_t limit = d.header.type == FrameType::kData ? max_payload : kMaxControlPayload;
  if (d.header.length > limit) {
    return fail(ErrorCode::kFrameSize, "frame payload of " + std::to_string(d.header.length) +
                                           " bytes exceeds the limit of " + std::to_string(limit));
  }
  d.size = kHeaderSize + d.header.length;
  if (input.size() < d.size) return d;
  d.status = Decoded::Status::kFrame;
  d.payload = input.subspan(kHeaderSize, d.header.length);
  return d;
}

std::string encode_error_payload(ErrorCode code, std::string_view reason) {
  reason = reason.substr(0, 1024);
  std::string out(4 + reason.size(), '\0');
  put_u32(reinterpret_cast<std::uint8_t*>(out.data()), static_cast<std::uint32_t>(code));
  std::copy(reason.begin(), reason.end(), out.begin() + 4);
  return out;
}

ErrorPayload decode_error_payload(std::span<const std::uint8_t> payload) {
  if (payload.size() < 4) return {ErrorCode::kProtocol, "malformed error payload"};
  auto reason = payload.subspan(4, std::min<std::size_t>(payload.size() - 4, 1024));
  return {static_cast<ErrorCode>(get_u32(payload.data())),
          std::string(reinterpret_cast<const char*>(reason.data()), reason.size())};
}

}  // namespace sluice::wire
