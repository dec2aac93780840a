#include "media/servers/webrtc/webrtc_server.hpp"

#include <system_error>

#include "media/protocols/webrtc/stun.hpp"
#include "media/servers/webrtc/opus_from_aac.hpp"
#include "media/servers/webrtc/webrtc_session.hpp"

namespace sluice::media {

WebrtcServer::WebrtcServer(boost::asio::io_context& io, const boost::asio::ip::address& address,
                           std::uint16_t port)
    : socket_(io) {
  boost::system::error_code ec;
  const udp::endpoint endpoint(address, port);
  socket_.open(endpoint.protocol(), ec);
  if (!ec) socket_.set_option(boost::asio::socket_base::reuse_address(true), ec);
  if (!ec) socket_.bind(endpoint, ec);
  if (!ec) socket_.non_blocking(true, ec);
  if (ec) {
    throw std::system_error(
        ec, "cannot bind the WebRTC UDP port " + address.to_string() + ":" + std::to_string(port));
  }
  port_ = socket_.local_endpoint().port();
}

WebrtcServer::~WebrtcServer() = default;

OpusFromAac& WebrtcServer::transcoder_for(const std::string& path, MediaHub& hub) {
  auto& t = transcoders_[path];
  if (!t) t = std::make_unique<OpusFromAac>(path, hub);
  return *t;
}

void WebrtcServer::leave_transcoder(const std::string& path, MediaSink* viewer) {
  auto it = transcoders_.find(path);
  if (it == transcoders_.end()) return;
  it->second->remove(viewer);
  if (it->second->idle()) transcoders_.erase(it);
}

void WebrtcServer::start() {
  receive();
}

void WebrtcServer::close() {
  closed_ = true;
  boost::system::error_code ec;
  socket_.close(ec);
  auto all = by_id_;
  for (auto& [id, s] : all)
    s->close("the server stops");
  by_id_.clear();
  by_ufrag_.clear();
  by_address_.clear();
  transcoders_.clear();
  auto links = std::move(links_);
  for (auto& [peer, link] : links)
    link->close();
}

void WebrtcServer::add(std::shared_ptr<WebrtcSession> session) {
  by_ufrag_[session->local_ufrag()] = session;
  by_id_[session->id()] = std::move(session);
}

std::shared_ptr<WebrtcSession> WebrtcServer::find(const std::string& id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : it->second;
}

void WebrtcServer::forget(const WebrtcSession& session) {
  by_ufrag_.erase(session.local_ufrag());
  std::vector<std::shared_ptr<FramedLink>> links;  // the session's ICE-TCP connections
  for (auto it = by_address_.begin(); it != by_address_.end();) {
    auto s = it->second.lock();
    if (!s || s.get() == &session) {
      if (auto link = links_.find(it->first); link != links_.end()) links.push_back(link->second);
      it = by_address_.erase(it);
    } else {
      ++it;
    }
  }
  by_id_.erase(session.id());
  for (auto& link : links)
    link->close();  // re-enters remove_link: the routes are gone already
}

std::size_t WebrtcServer::sessions_from(const std::string& client) const {
  std::size_t n = 0;
  for (const auto& [id, s] : by_id_)
    n += s->client() == client ? 1 : 0;
  return n;
}

void WebrtcServer::route(const udp::endpoint& from, const std::shared_ptr<WebrtcSession>& session) {
  by_address_[from] = session;
}

bool WebrtcServer::send(std::span<const std::uint8_t> datagram, const udp::endpoint& to) {
  if (closed_) return false;
  if (!links_.empty()) {
    if (auto it = links_.find(to); it != links_.end()) {
      const bool queued = it->second->write(datagram);
      if (!queued) ++counters_.dropped_out;
      return queued;
    }
  }
  boost::system::error_code ec;
  socket_.send_to(boost::asio::buffer(datagram.data(), datagram.size()), to, 0, ec);
  if (ec) ++counters_.dropped_out;
  return !ec;
}

void WebrtcServer::add_link(const udp::endpoint& peer, std::shared_ptr<FramedLink> link) {
  links_[peer] = std::move(link);
}

void WebrtcServer::remove_link(const udp::endpoint& peer) {
  links_.erase(peer);
  auto it = by_address_.find(peer);
  if (it == by_address_.end()) return;
  auto session = it->second.lock();
  by_address_.erase(it);
  // The session's transport is gone: it ends now rather than when consent lapses.
  if (session && !session->closed() && session->sends_to(peer)) {
    session->close("its ICE-TCP connection closed");
    forget(*session);
  }
}

std::size_t WebrtcServer::links_from(const boost::asio::ip::address& address) const {
  std::size_t n = 0;
  for (const auto& [peer, link] : links_)
    n += peer.address() == address ? 1 : 0;
  return n;
}

void WebrtcServer::tick() {
  const auto now = WebrtcSession::Clock::now();
  std::vector<std::shared_ptr<WebrtcSession>> all;
  for (auto& [id, s] : by_id_)
    all.push_back(s);
  for (auto& s : all) {
    if (!s->tick(now)) forget(*s);
  }
}

void WebrtcServer::receive() {
  if (closed_) return;
  socket_.async_receive_from(
      boost::asio::buffer(buffer_), from_,
      [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
        if (ec == boost::asio::error::operation_aborted || self->closed_) return;
        if (!ec) self->dispatch({self->buffer_.data(), n}, self->from_);
        self->receive();
      });
}

void WebrtcServer::dispatch(std::span<const std::uint8_t> d, const udp::endpoint& from) {
  ++counters_.datagrams_in;
  if (d.empty()) return;
  const std::uint8_t first = d[0];
  if (first < 4) {  // STUN
    auto message = webrtc::stun::parse(d);
    if (!message || message->type != webrtc::stun::kBindingRequest || !message->username) {
      ++counters_.stun_refused;
      return;
    }
    auto it = by_ufrag_.find(std::string(webrtc::local_ufrag_of(*message->username)));
    auto session = it == by_ufrag_.end() ? nullptr : it->second.lock();
    if (!session) {
      ++counters_.stun_refused;
      return;
    }
    if (session->on_stun(d, *message, from)) {
      route(from, session);
    } else {
      ++counters_.stun_refused;
    }
    return;
  }
  auto it = by_address_.find(from);
  auto session = it == by_address_.end() ? nullptr : it->second.lock();
  if (!session) {
    ++counters_.unknown_in;
    return;
  }
  if (first >= 20 && first <= 63) {
    session->on_dtls(d, from);
  } else if (first >= 128 && first <= 191) {
    session->on_srtp(d);
  } else {
    ++counters_.unknown_in;
  }
}

}  // namespace sluice::media
