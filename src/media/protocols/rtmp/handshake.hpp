#pragma once
// The RTMP handshake (RTMP specification 1.0, section 5.2), sans I/O, both ends.
//
// The server answers the plain handshake (C1 bytes 4-7 zero: S2 echoes C1) and the digest
// variant Flash Player 9+, ffmpeg and OBS may send (C1 carries an HMAC-SHA256 digest keyed with
// "Genuine Adobe Flash Player 001" at one of two offsets): then S1 carries the server's digest
// and S2 is signed with a key derived from the client's digest, which players such as ffplay
// verify. C2 is read and ignored, as every server does.
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "core/error.hpp"

namespace sluice::rtmp {

inline constexpr std::size_t kHandshakeSize = 1536;  // C1, C2, S1 and S2
inline constexpr std::uint8_t kRtmpVersion = 3;

// Server side. feed() may be called with any split of the received bytes:
//  * It consumes handshake bytes only and returns how many of `in` it used; the bytes after
//    that belong to the chunk stream (a client may send its first chunks right after C2).
//  * Once C0+C1 arrived it appends S0+S1+S2 to `out` (exactly once).
//  * done() turns true when C2 has been read.
//  * A C0 other than version 3 (e.g. 6, RTMPE) is an error (status 400); after an error every
//    call returns the same error. Memory: two 1536-byte buffers.
class ServerHandshake {
 public:
  Result<std::size_t> feed(std::span<const std::uint8_t> in, std::string& out);
  bool done() const { return stage_ == Stage::kDone; }
  // True when the client used the digest variant (known after S0-S2 were produced).
  bool digest_variant() const { return digest_; }

 private:
  enum class Stage { kC0C1, kC2, kDone, kFailed };
  void answer(std::string& out);

  Stage stage_ = Stage::kC0C1;
  std::array<std::uint8_t, 1 + kHandshakeSize> c0c1_{};
  std::size_t have_ = 0;
  bool digest_ = false;
};

// Client side (plain handshake, accepted by every server): start() appends C0+C1; feed()
// consumes S0+S1+S2, appends C2 (an echo of S1) and reports done(). Same return contract as
// ServerHandshake::feed(). A server version other than 3 is an error.
class ClientHandshake {
 public:
  void start(std::string& out);
  Result<std::size_t> feed(std::span<const std::uint8_t> in, std::string& out);
  bool done() const { return done_; }

 private:
  std::array<std::uint8_t, 1 + 2 * kHandshakeSize> s0s1s2_{};
  std::size_t have_ = 0;
  bool done_ = false;
  bool failed_ = false;
};

// Exposed for tests: the digest offset a C1/S1 would carry under scheme 0 (base 8) or scheme 1
// (base 772), and whether `block` carries a valid digest at that offset under `key`.
std::size_t handshake_digest_offset(std::span<const std::uint8_t, kHandshakeSize> block,
                                    std::size_t base);
bool handshake_digest_valid(std::span<const std::uint8_t, kHandshakeSize> block, std::size_t offset,
                            std::span<const std::uint8_t> key);
// Writes a digest keyed with `key` into `block` at `offset` (test helper and server S1).
void handshake_write_digest(std::span<std::uint8_t, kHandshakeSize> block, std::size_t offset,
                            std::span<const std::uint8_t> key);
// The first 30 bytes: the key a client signs C1 with.
std::span<const std::uint8_t> flash_player_key();

}  // namespace sluice::rtmp
