#include "relay/relay_connection.hpp"

#include <openssl/crypto.h>
#include <boost/json/serialize.hpp>

#include <algorithm>

#include "hub/subject.hpp"

namespace sluice::relay {

using wire::ErrorCode;
using wire::HandshakeStep;
namespace flag = wire::flag;

namespace {

// The longest a responder may take: the largest request timeout a client can ask for.
constexpr auto kReplyWindow = std::chrono::minutes(10);

wire::SessionOptions with_id(wire::SessionOptions o, const std::string& id) {
  o.session_id = id;
  return o;
}

bool is_wildcard(std::string_view pattern) {
  for (auto token : hub::split_tokens(pattern)) {
    if (token == "*" || token == ">") return true;
  }
  return false;
}

}  // namespace

// ------------------------------------------------------------------------- WireSubscriber

void WireSubscriber::deliver(const hub::MessagePtr& message) {
  auto enqueue = [self = shared_from_this(), message] {
    if (!self->connection_) return;
    hub::MessageView view{message->subject, message->reply, message->data, {}};
    self->deliver_view(view);
  };
  if (relay_.loop().in_loop()) return enqueue();
  relay_.loop().post(std::move(enqueue));
}

bool WireSubscriber::deliver_view(const hub::MessageView& message) {
  if (!relay_.loop().in_loop()) {
    deliver(message.shared());
    return true;
  }
  if (!connection_) return false;
  if (filter_ && !filter_->deliver(message.subject)) return true;  // not for this session
  bool took = connection_->enqueue(stream_, message, wildcard_, responder_);
  // Only wire publishers can be stalled; for anyone else "block" must still be bounded.
  if (took && policy_ == wire::OverflowPolicy::kBlock && !message.can_wait && over_limit()) {
    trim(message.subject);
  }
  return took;
}

bool WireSubscriber::over_limit() const {
  return connection_ && connection_->session().queue_over_limit(stream_);
}

void WireSubscriber::trim(std::string_view subject) {
  if (!connection_) return;
  const std::size_t n = connection_->session().trim_queue(stream_);
  relay_.mutable_stats().dropped += n;
  if (auto* e = subject.empty() ? nullptr : relay_.directory().find(subject)) e->info.dropped += n;
}

// ------------------------------------------------------------------------ RelayConnection

RelayConnection::RelayConnection(Relay& relay, Transport& transport, std::string id)
    : relay_(relay),
      transport_(transport),
      id_(std::move(id)),
      session_(wire::Side::kServer, with_id(relay.config().session, id_), *this,
               relay.clock().mono_now()),
      handle_(std::make_shared<ConnectionHandle>(ConnectionHandle{this})) {}

RelayConnection::~RelayConnection() {
  handle_->connection = nullptr;
  for (auto& [stream, s] : subscriptions_) {
    s.subscriber->detach();
    relay_.subscription_changed(s.pattern, id_, false);
  }
  for (auto& [stream, p] : publishers_) {
    if (p.entry && p.entry->owner_connection == this) p.entry->owner_connection = nullptr;
    relay_.publisher_closed(p.entry, id_);
  }
}

void RelayConnection::wake() {
  if (write_requested_) return;
  write_requested_ = true;
  transport_.request_write();
}

// ------------------------------------------------------------------------- handshake

HandshakeStep RelayConnection::on_hello(const wire::Hello& hello) {
  const AuthConfig& auth = relay_.config().auth;
  if (hello.mechanism.empty()) {
    if (auth.allow_anonymous) return HandshakeStep::accept();  // principal stays anonymous
    relay_.mutable_stats().auth_failures++;
    return HandshakeStep::reject(
        "anonymous access is disabled; authenticate with a token or "
        "SCRAM-SHA-256");
  }
  if (hello.mechanism == "token") {
    if (!transport_.secure() && !auth.allow_tokens_without_tls) {
      relay_.mutable_stats().auth_failures++;
      return HandshakeStep::reject("tokens are accepted only over TLS");
    }
    for (const auto& t : auth.tokens) {
      if (t.size() == hello.token.size() &&
          CRYPTO_memcmp(t.data(), hello.token.data(), t.size()) == 0) {
        principal_kind_ = "token";
        principal_name_ = "file";
        return HandshakeStep::accept();
      }
    }
    if (auth.token_name) {
      if (auto name = auth.token_name(hello.token)) {
        principal_kind_ = "token";
        principal_name_ = *name;
        return HandshakeStep::accept();
      }
    }
    relay_.mutable_stats().auth_failures++;
    return HandshakeStep::reject("authentication failed");
  }
  if (hello.mechanism == "SCRAM-SHA-256") {
    scram_ = std::make_unique<wire::scram::ServerExchange>(
        [&auth](std::string_view user) -> std::optional<wire::scram::StoredCredentials> {
          auto it = auth.users.find(user);
          if (it != auth.users.end()) return it->second;
          return auth.find_user ? auth.find_user(user) : std::nullopt;
        });
    auto first = scram_->handle_client_first(hello.auth_data);
    if (!first) {
      relay_.mutable_stats().auth_failures++;
      return HandshakeStep::reject(first.error().detail);
    }
    return HandshakeStep::next(*first);
  }
  relay_.mutable_stats().auth_failures++;
  return HandshakeStep::reject("unknown authentication mechanism '" + hello.mechanism +
                               "' (use token or SCRAM-SHA-256)");
}

HandshakeStep RelayConnection::on_auth(std::string_view data) {
  if (!scram_) return HandshakeStep::reject("unexpected AUTH");
  auto final_message = scram_->handle_client_final(data);
  if (!final_message) {
    relay_.mutable_stats().auth_failures++;
    return HandshakeStep::reject("authentication failed");
  }
  principal_kind_ = "user";
  principal_name_ = scram_->username();
  return HandshakeStep::accept(*final_message);
}

hub::ClientPolicy* RelayConnection::access() {
  if (!access_made_) {
    access_made_ = true;
    const auto& make = relay_.config().auth.policy_for;
    if (make) access_ = make(principal_kind_, principal_name_, transport_.remote_address());
  }
  return access_.get();
}

bool RelayConnection::refuse(std::uint32_t stream, const Status& verdict) {
  if (verdict) return false;
  session_.reset(stream, ErrorCode::kForbidden, verdict.error().detail);
  wake();
  return true;
}

// ---------------------------------------------------------------------------- streams

void RelayConnection::on_open(std::uint32_t stream, wire::OpenRequest request) {
  switch (request.role) {
    case wire::Role::kPublish:
      return open_publisher(stream, request);
    case wire::Role::kSubscribe:
      return open_subscriber(stream, request);
    case wire::Role::kRequest: {
      if (auto* a = access(); a && refuse(stream, a->publish(request.channel))) return;
      session_.accept_stream(stream, request.priority, {});
      requesters_[stream] = Requester{request.channel, request.timeout_ms};
      return;
    }
  }
}

void RelayConnection::open_publisher(std::uint32_t stream, const wire::OpenRequest& request) {
  if (auto* a = access(); a && refuse(stream, a->publish(request.channel))) return;
  session_.accept_stream(stream, request.priority, {});
  auto* entry = relay_.publisher_opened(request.channel, id_, request);
  if (!entry) {
    session_.reset(stream, ErrorCode::kLimit, "too many channels");
    return wake();
  }
  if (!entry->owner_connection && !entry->server_owned && entry->info.owner == id_) {
    entry->owner_connection = this;
    entry->owner_stream = stream;
    relay_.announce_subscribers(*this, stream, request.channel);
  }
  Publisher p;
  p.channel = request.channel;
  p.entry = entry;
  publishers_.emplace(stream, std::move(p));
}

void RelayConnection::open_subscriber(std::uint32_t stream, const wire::OpenRequest& request) {
  auto* a = access();
  if (a && refuse(stream, a->subscribe(request.channel))) return;
  // A `block` subscriber stalls the publishers it hears: only one channel's, and only for a
  // session that may publish there itself (so one client on `>` cannot stall everyone).
  if (request.buffer.policy == wire::OverflowPolicy::kBlock) {
    if (is_wildcard(request.channel)) {
      session_.reset(stream, ErrorCode::kInvalid,
                     "the block overflow policy needs one channel, not a wildcard pattern; use "
                     "drop-oldest, drop-newest or disconnect for patterns");
      return wake();
    }
    if (a && refuse(stream, a->publish(request.channel))) return;
  }
  if (const auto cap = relay_.config().max_subscriber_buffer; request.buffer.max_bytes > cap) {
    const std::string why = "buffer_bytes " + std::to_string(request.buffer.max_bytes) +
                            " is over this server's limit of " + std::to_string(cap) +
                            " bytes (relay-buffer-max-bytes)";
    relay_.count_refusal(
        Refusal::kRelayBufferBytes,
        "subscription of " + transport_.remote_address() + " to '" + request.channel + "': " + why);
    session_.reset(stream, ErrorCode::kLimit, why);
    return wake();
  }
  session_.accept_stream(stream, request.priority, request.buffer);
  // Patterns that may match reserved subjects are filtered per message; plain channel patterns
  // were fully judged by subscribe() and cost nothing more per message.
  const bool spans = request.channel.starts_with("*") || request.channel.starts_with(">") ||
                     request.channel.starts_with("maestra") ||
                     request.channel.starts_with("sluice");
  auto subscriber = std::make_shared<WireSubscriber>(
      relay_, this, stream, is_wildcard(request.channel), request.responder, request.buffer,
      a && spans ? access_ : nullptr);
  auto handle = relay_.hub().subscribe(
      request.channel, subscriber,
      request.responder ? hub::Interest::kResponder : hub::Interest::kObserver);
  if (!handle) {
    session_.reset(stream, ErrorCode::kInvalid, handle.error().detail);
    return wake();
  }
  if (request.last_value) {
    relay_.directory().for_each([&](const ChannelEntry& e) {
      if (e.last_value && hub::subject_matches(request.channel, e.info.name)) {
        hub::MessageView view{e.info.name, {}, *e.last_value, {}};
        enqueue(stream, view, is_wildcard(request.channel), false);
      }
    });
  }
  subscriptions_.emplace(stream,
                         Subscription{request.channel, std::move(subscriber), std::move(*handle)});
  relay_.subscription_changed(request.channel, id_, true);
}

void RelayConnection::close_stream(std::uint32_t stream) {
  if (auto it = publishers_.find(stream); it != publishers_.end()) {
    auto* entry = it->second.entry;
    if (entry && entry->owner_connection == this && entry->owner_stream == stream) {
      entry->owner_connection = nullptr;
    }
    publishers_.erase(it);
    relay_.publisher_closed(entry, id_);
  }
  if (auto it = subscriptions_.find(stream); it != subscriptions_.end()) {
    it->second.subscriber->detach();
    std::string pattern = std::move(it->second.pattern);
    subscriptions_.erase(it);
    relay_.subscription_changed(pattern, id_, false);
  }
  requesters_.erase(stream);
  std::erase_if(reply_inboxes_, [stream](const auto& kv) { return kv.second.stream == stream; });
  // Credit withheld for a stream that is gone still belongs to the connection window.
  std::erase_if(stalls_, [&](const Stall& s) {
    if (s.stream != stream) return false;
    session_.consume(stream, s.credit);
    return true;
  });
}

void RelayConnection::on_finished(std::uint32_t stream) {
  close_stream(stream);
  session_.finish(stream);
  wake();
}

void RelayConnection::on_reset(std::uint32_t stream, ErrorCode code, std::string_view reason,
                               bool by_peer) {
  if (!by_peer) relay_.mutable_stats().protocol_errors += code == ErrorCode::kSlowConsumer ? 0 : 1;
  close_stream(stream);
  wake();
}

void RelayConnection::on_closed(ErrorCode code, std::string_view reason, bool by_peer) {
  // Authentication failures are counted where they are decided (on_hello/on_auth).
  const bool protocol_error = code != ErrorCode::kNoError && code != ErrorCode::kGoingAway &&
                              code != ErrorCode::kAuthFailed;
  if (!by_peer && protocol_error) relay_.mutable_stats().protocol_errors++;
  wake();
}

// --------------------------------------------------------------------------- messages

void RelayConnection::on_message(const wire::InboundMessage& m) {
  auto& stats = relay_.mutable_stats();
  stats.messages_in++;
  stats.bytes_in += m.body.size();
  if (auto it = publishers_.find(m.stream); it != publishers_.end()) {
    return publish(m.stream, it->second, m);
  }
  session_.consume(m.stream, m.credit);
  if (requesters_.contains(m.stream)) return request(m.stream, m);
  if ((m.flags & flag::kReply) && subscriptions_.contains(m.stream)) return reply(m);
  // Anything else (DATA on stream 0, plain data on a subscription) has no destination.
}

void RelayConnection::refresh_route(Publisher& p) {
  relay_.hub().refresh(p.channel, p.route);
  p.blockers.clear();
  for (const auto& s : p.route.subscribers) {
    auto* w = dynamic_cast<WireSubscriber*>(s.get());
    if (w && w->policy() == wire::OverflowPolicy::kBlock) {
      p.blockers.push_back(std::static_pointer_cast<WireSubscriber>(s));
    }
  }
}

void RelayConnection::publish(std::uint32_t stream, Publisher& p, const wire::InboundMessage& m) {
  if (p.route.generation != relay_.hub().generation()) refresh_route(p);
  hub::MessageView view{p.channel, {}, m.body, id_};
  view.can_wait = true;
  std::size_t took = relay_.hub().publish(p.route, view);
  if (auto* e = p.entry) {
    e->info.message_count++;
    e->info.bytes += m.body.size();
    if (e->options.keep_last_value) e->last_value = std::make_shared<const std::string>(m.body);
  }
  if (m.flags & flag::kAckRequested) {
    session_.send_ack(stream, took);
    wake();
  }
  // Block policy: while a subscriber is past its limits, this publisher's credit is withheld
  // (for at most the subscriber's max_stall), which stops it at its window.
  Stall stall;
  auto stall_for = std::chrono::milliseconds::max();
  for (const auto& b : p.blockers) {
    if (!b->over_limit()) continue;
    stall.blockers.push_back(b);
    stall_for = std::min(stall_for, b->max_stall());
  }
  if (stall.blockers.empty()) return session_.consume(stream, m.credit);
  for (auto& s : stalls_) {
    if (s.stream == stream) {
      s.credit += m.credit;
      return;
    }
  }
  stall.stream = stream;
  stall.credit = m.credit;
  stall.deadline = relay_.clock().mono_now() + stall_for;
  stalls_.push_back(std::move(stall));
}

void RelayConnection::release_stalls(MonoTime now) {
  std::erase_if(stalls_, [&](Stall& s) {
    bool blocked = false;
    for (auto& weak : s.blockers) {
      auto b = weak.lock();
      if (!b || !b->over_limit()) continue;
      if (now >= s.deadline) {
        b->trim();  // the stall expired: the subscriber loses its oldest messages (counted)
        if (auto* c = b->connection()) c->wake();
      } else {
        blocked = true;
      }
    }
    if (blocked) return false;
    session_.consume(s.stream, s.credit);
    wake();
    return true;
  });
}

void RelayConnection::on_drained(std::uint32_t stream) {
  relay_.release_all_stalls();
}

bool RelayConnection::enqueue(std::uint32_t stream, const hub::MessageView& message, bool wildcard,
                              bool responder) {
  wire::OutMessage out;
  if (wildcard || message.data.size() > wire::OutMessage::kInlineCapacity) {
    const auto& shared = message.shared();  // built once, shared by every subscriber
    out = wire::shared_message(shared, shared->data);
    if (wildcard) out.subject = shared->subject;
  } else {
    out = wire::copy_message(message.data);
  }
  if (!message.reply.empty() && responder &&
      reply_inboxes_.size() < relay_.config().max_pending_requests) {
    out.token = relay_.next_token();
    out.flags |= flag::kRequest;
    reply_inboxes_.emplace(out.token, ReplyInbox{std::string(message.reply), stream,
                                                 relay_.clock().mono_now() + kReplyWindow});
  }
  auto offer = session_.send(stream, std::move(out));
  wake();
  relay_.mutable_stats().messages_out++;
  auto count_drop = [&] {
    relay_.mutable_stats().dropped++;
    if (auto* e = relay_.directory().find(message.subject)) e->info.dropped++;
  };
  switch (offer) {
    case wire::SendQueue::Offer::kDroppedNewest:
    case wire::SendQueue::Offer::kDisconnect:
      count_drop();
      return false;
    case wire::SendQueue::Offer::kDroppedOldest:
      count_drop();
      return true;
    default:
      return true;
  }
}

void RelayConnection::notify(std::uint32_t stream, std::string_view json) {
  session_.send_event(stream, json);
  wake();
}

void RelayConnection::channel_closed(std::string_view channel, std::string_view json) {
  for (auto& [stream, s] : subscriptions_) {
    if (hub::subject_matches(s.pattern, channel)) notify(stream, json);
  }
}

// --------------------------------------------------------------------- request / reply

void RelayConnection::request(std::uint32_t stream, const wire::InboundMessage& m) {
  if (!(m.flags & flag::kRequest)) return;
  const auto& r = requesters_.at(stream);
  auto answer_error = [&](std::string_view text) {
    wire::OutMessage out = wire::copy_message(text);
    out.flags = flag::kReply | flag::kError;
    out.token = m.token;
    session_.send(stream, std::move(out));
    wake();
  };
  if (pending_.size() >= relay_.config().max_pending_requests) {
    return answer_error(wire::error_reply_body(429, "too many requests in flight on this session"));
  }
  std::uint64_t token = relay_.next_token();
  auto handle = handle_;
  Relay* relay = &relay_;
  auto on_reply = [handle, relay, token](const hub::MessagePtr& reply) {
    auto complete = [handle, token, reply] {
      if (auto* c = handle->connection) c->complete_request(token, reply->data, reply->error);
    };
    if (relay->loop().in_loop()) return complete();
    relay->loop().post(std::move(complete));
  };
  // Stored before asking: an in-process responder may answer inside hub().request().
  pending_.emplace(
      token, PendingRequest{stream,
                            m.token,
                            {},
                            relay_.clock().mono_now() + std::chrono::milliseconds(r.timeout_ms)});
  auto pending = relay_.hub().request(r.channel, std::string(m.body), std::move(on_reply));
  if (!pending) {
    pending_.erase(token);
    return answer_error(wire::error_reply_body(503, "no responders on '" + r.channel + "'"));
  }
  if (auto it = pending_.find(token); it != pending_.end()) {
    it->second.hub_request = std::move(*pending);
  }
}

void RelayConnection::complete_request(std::uint64_t token, std::string_view data, bool error) {
  auto it = pending_.find(token);
  if (it == pending_.end()) return;  // timed out already
  wire::OutMessage out = wire::copy_message(data);
  out.flags = flag::kReply | (error ? flag::kError : 0);
  out.token = it->second.client_token;
  session_.send(it->second.stream, std::move(out));
  pending_.erase(it);
  wake();
}

void RelayConnection::reply(const wire::InboundMessage& m) {
  auto it = reply_inboxes_.find(m.token);
  if (it == reply_inboxes_.end()) return;  // late or unknown: the requester gave up
  std::string inbox = std::move(it->second.inbox);
  reply_inboxes_.erase(it);
  relay_.hub().reply(inbox, std::string(m.body), (m.flags & flag::kError) != 0);
}

void RelayConnection::tick(MonoTime now) {
  session_.on_timer(now);
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (now < it->second.deadline) {
      ++it;
      continue;
    }
    wire::OutMessage out = wire::copy_message(wire::error_reply_body(504, "request timed out"));
    out.flags = flag::kReply | flag::kError;
    out.token = it->second.client_token;
    session_.send(it->second.stream, std::move(out));
    it = pending_.erase(it);
  }
  if (!stalls_.empty()) release_stalls(now);
  // Requests this client never answered: the requester has long timed out.
  std::erase_if(reply_inboxes_, [now](const auto& kv) { return now >= kv.second.expires; });
  if (session_.wants_write() || session_.done()) wake();
}

}  // namespace sluice::relay
