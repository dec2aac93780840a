#pragma once
// Helpers shared by the relay integration tests (relay_test, relay_ws_test,
// embedded_server_test): `eventually`, and writing and reading raw wire frames.
#include <cstdint>
#include <span>
#include <string>

#include "eventually.hpp"
#include "wire/frame.hpp"

namespace sluice::testing {

// The error code of a GOAWAY or RESET payload; 0xffffffff when it is too short to hold one.
inline std::uint32_t goaway_code(const std::string& payload) {
  if (payload.size() < 4) return 0xffffffff;
  auto bytes = std::span(reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size());
  return static_cast<std::uint32_t>(wire::decode_error_payload(bytes).code);
}

// An anonymous HELLO frame announcing protocol `version`.
inline std::string hello_frame(int version = 1, const std::string& client = "raw-test") {
  std::string body =
      R"({"version":)" + std::to_string(version) + R"(,"client":")" + client + R"("})";
  return wire::encode_frame(wire::FrameType::kHello, 0, 0, body);
}

}  // namespace sluice::testing
