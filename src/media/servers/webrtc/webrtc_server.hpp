#pragma once
// WebrtcServer: the one UDP port every WebRTC session shares (--webrtc-udp), on the media thread.
// Datagrams are told apart by their first byte (RFC 7983): STUN (0-3) goes to the session whose
// ICE ufrag its USERNAME names — a valid check also routes that source address to the session —
// DTLS (20-63) and SRTP/SRTCP (128-191) to the session of their source address; anything else,
// or from an address no session knows, is dropped and counted. Sessions are kept by id (the WHEP
// resource) and ended by tick() when they lapse. Peers whose UDP is blocked reach the same
// demultiplexing over ICE-TCP connections (ice_tcp.hpp), keyed by the connection's address (a
// TCP and a UDP peer on the same address and port number would share a key: not seen in
// practice, as each comes from its own ephemeral port).
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace sluice::media {

class WebrtcSession;
class OpusFromAac;
class MediaHub;
class MediaSink;

// A peer reached over a stream (ICE-TCP, ice_tcp.hpp) instead of the UDP socket: send() writes
// datagrams for its address here. Media thread only.
class FramedLink {
 public:
  virtual ~FramedLink() = default;
  // Queues one datagram, framed; false when it was dropped (queue full, link closed).
  virtual bool write(std::span<const std::uint8_t> datagram) = 0;
  virtual void close() = 0;
};

class WebrtcServer : public std::enable_shared_from_this<WebrtcServer> {
 public:
  using udp = boost::asio::ip::udp;

  // Binds `address`:`port` (0: any free port). Throws std::system_error naming the port.
  WebrtcServer(boost::asio::io_context& io, const boost::asio::ip::address& address,
               std::uint16_t port);
  ~WebrtcServer();
  std::uint16_t port() const { return port_; }

  void start();
  void close();  // ends every session

  // Media thread only.
  void add(std::shared_ptr<WebrtcSession> session);
  std::shared_ptr<WebrtcSession> find(const std::string& id) const;
  // Forgets the session (it has closed itself, or is about to).
  void forget(const WebrtcSession& session);
  void route(const udp::endpoint& from, const std::shared_ptr<WebrtcSession>& session);
  // Sends without waiting; a datagram the kernel cannot take now is dropped (false, counted).
  // An address covered by a FramedLink is written to that link instead.
  bool send(std::span<const std::uint8_t> datagram, const udp::endpoint& to);
  // A datagram from `from`, over UDP or a FramedLink: demultiplexed as the class comment says.
  void dispatch(std::span<const std::uint8_t> datagram, const udp::endpoint& from);
  // ICE-TCP connections: `peer` is the connection's remote address (as a udp::endpoint key).
  void add_link(const udp::endpoint& peer, std::shared_ptr<FramedLink> link);
  void remove_link(const udp::endpoint& peer);
  std::size_t links() const { return links_.size(); }
  std::size_t links_from(const boost::asio::ip::address& address) const;
  // Whether `peer` has passed a STUN check (a session is routed to it).
  bool routed(const udp::endpoint& peer) const { return by_address_.contains(peer); }
  // Once a second: ends lapsed sessions.
  void tick();
  // The path's AAC→Opus transcoder, shared by its WebRTC viewers (made on first use), and a
  // viewer leaving it (an idle transcoder is dropped).
  OpusFromAac& transcoder_for(const std::string& path, MediaHub& hub);
  void leave_transcoder(const std::string& path, MediaSink* viewer);
  std::size_t sessions() const { return by_id_.size(); }
  // Sessions whose offer came from `client` (the HTTP client's address).
  std::size_t sessions_from(const std::string& client) const;

  struct Counters {
    std::uint64_t datagrams_in = 0, unknown_in = 0, stun_refused = 0, dropped_out = 0;
  };
  const Counters& counters() const { return counters_; }

 private:
  void receive();

  udp::socket socket_;
  std::uint16_t port_ = 0;
  std::array<std::uint8_t, 65536> buffer_{};
  udp::endpoint from_;
  std::map<std::string, std::shared_ptr<WebrtcSession>> by_id_;
  std::map<std::string, std::weak_ptr<WebrtcSession>> by_ufrag_;
  std::map<udp::endpoint, std::weak_ptr<WebrtcSession>> by_address_;
  std::map<std::string, std::unique_ptr<OpusFromAac>> transcoders_;
  std::map<udp::endpoint, std::shared_ptr<FramedLink>> links_;
  Counters counters_;
  bool closed_ = false;
};

}  // namespace sluice::media
