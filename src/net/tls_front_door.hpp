#pragma once
// TlsFrontDoor: TLS in front of a plaintext server — HTTPS in front of the HTTP server (every
// route, SSE, /ws, /wire and HTTP-FLV), RTMPS in front of the RTMP server. Each accepted
// connection is handshaken (TLS 1.2/1.3, within 10 s), then paired with one end of a local
// socketpair whose other end is handed to the plaintext server together with the client's real
// address; bytes are pumped both ways, one read in flight per direction (the slower side
// paces the faster). The plaintext server treats the connection like any other, so there is
// one implementation of every protocol and one access check. Runs on the io_context it is
// given; no Beast in this header.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace boost::asio {
class io_context;
}

namespace sluice::net {

class TlsFrontDoor {
 public:
  // Takes ownership of `fd` (the plaintext end) for a client at `peer` (its address, no port).
  using Adopt = std::function<void(int fd, std::string peer)>;

  // `name` ("https", "rtmps") appears in logs. Throws std::runtime_error naming the file when
  // the certificate or key cannot be loaded.
  TlsFrontDoor(boost::asio::io_context& io, std::string name, const std::string& cert_file,
               const std::string& key_file, Adopt adopt);
  ~TlsFrontDoor();
  TlsFrontDoor(const TlsFrontDoor&) = delete;
  TlsFrontDoor& operator=(const TlsFrontDoor&) = delete;

  // Binds and starts accepting; returns the bound port. Throws std::system_error naming the
  // address when it cannot bind.
  std::uint16_t listen(const std::string& host, std::uint16_t port);
  // Stops accepting and closes every tunnel. Any thread.
  void stop();

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace sluice::net
