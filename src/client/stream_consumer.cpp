#include "client/stream_consumer.hpp"

namespace sluice::client {

const char* to_string(ConsumerState state) {
  switch (state) {
    case ConsumerState::kConnecting:
      return "connecting";
    case ConsumerState::kActive:
      return "active";
    case ConsumerState::kReconnecting:
      return "reconnecting";
    case ConsumerState::kReconnected:
      return "reconnected";
    case ConsumerState::kStreamLost:
      return "stream-lost";
    case ConsumerState::kStopped:
      return "stopped";
  }
  return "unknown";
}

StreamConsumer::StreamConsumer(Client& client, std::string stream_id, StreamRequest request,
                               Options options)
    : client_(client),
      stream_id_(std::move(stream_id)),
      request_(std::move(request)),
      options_(std::move(options)) {}

StreamConsumer::StreamConsumer(std::string base_url, std::string stream_id, StreamRequest request,
                               Options options)
    : owned_client_(std::make_unique<Client>(std::move(base_url))),
      client_(*owned_client_),
      stream_id_(std::move(stream_id)),
      request_(std::move(request)),
      options_(std::move(options)) {}

StreamConsumer::~StreamConsumer() {
  disconnect();
}

std::optional<StreamOffer> StreamConsumer::offer() const {
  std::lock_guard lock(mutex_);
  return offer_;
}

std::string StreamConsumer::session_id() const {
  std::lock_guard lock(mutex_);
  return offer_ ? offer_->session_id : std::string();
}

ConsumerState StreamConsumer::state() const {
  std::lock_guard lock(mutex_);
  return state_;
}

bool StreamConsumer::is_active() const {
  auto s = state();
  return s == ConsumerState::kActive || s == ConsumerState::kReconnected;
}

void StreamConsumer::set_state(ConsumerState state, const std::string& detail) {
  {
    std::lock_guard lock(mutex_);
    if (state_ == state) return;
    state_ = state;
  }
  if (options_.on_state) options_.on_state(state, detail);
}

Result<StreamOffer> StreamConsumer::connect() {
  if (worker_.joinable()) {
    std::lock_guard lock(mutex_);
    return *offer_;
  }
  stop_.reset();
  interval_ = options_.heartbeat_interval.value_or(default_heartbeat_interval(client_));
  set_state(ConsumerState::kConnecting, "requesting stream " + stream_id_);
  auto offer = client_.request_stream(stream_id_, request_);
  if (!offer) {
    set_state(ConsumerState::kStopped, offer.error().detail);
    return fail(offer.error());
  }
  {
    std::lock_guard lock(mutex_);
    offer_ = *offer;
  }
  set_state(ConsumerState::kActive, "session " + offer->session_id);
  worker_ = std::thread([this] { run_heartbeats(); });
  return *offer;
}

void StreamConsumer::disconnect() {
  stop_.stop();
  if (worker_.joinable()) worker_.join();
  std::string session;
  {
    std::lock_guard lock(mutex_);
    if (!offer_) return;
    session = offer_->session_id;
    offer_.reset();
  }
  (void)client_.stop_session(session);
  set_state(ConsumerState::kStopped, "session " + session + " stopped");
}

bool StreamConsumer::stream_is_gone() {
  auto stream = client_.get_stream(stream_id_);
  return !stream && stream.error().status == 404;
}

bool StreamConsumer::rerequest(Backoff& backoff) {
  for (;;) {
    auto offer = client_.request_stream(stream_id_, request_);
    if (offer) {
      {
        std::lock_guard lock(mutex_);
        offer_ = *offer;
      }
      set_state(ConsumerState::kReconnected, "new session " + offer->session_id);
      if (options_.on_offer) options_.on_offer(*offer);
      backoff.reset();
      return true;
    }
    const Error& e = offer.error();
    std::chrono::milliseconds wait = interval_;
    if (e.status == 0) {
      set_state(ConsumerState::kReconnecting, e.detail);
      wait = backoff.next();
    } else if (e.status == 404 && stream_is_gone()) {
      set_state(ConsumerState::kStreamLost, e.detail);  // the stream, not the publisher, is gone
    } else {
      // Publisher rejected, no responder yet (504), …: the stream exists; keep asking.
      set_state(ConsumerState::kReconnecting, std::to_string(e.status) + " " + e.detail);
    }
    if (!stop_.wait_for(wait)) return false;
  }
}

void StreamConsumer::run_heartbeats() {
  Backoff backoff;
  std::chrono::milliseconds wait = interval_;
  while (stop_.wait_for(wait)) {
    auto beat = client_.session_heartbeat(session_id());
    if (beat) {
      wait = interval_;
      backoff.reset();
      auto current = state();
      if (current != ConsumerState::kActive && current != ConsumerState::kReconnected) {
        set_state(ConsumerState::kActive, "session " + session_id());
      }
    } else if (beat.error().status == 404) {
      set_state(ConsumerState::kReconnecting, "session expired; requesting the stream again");
      if (!rerequest(backoff)) return;
      wait = interval_;
    } else {
      set_state(ConsumerState::kReconnecting, beat.error().detail);
      wait = backoff.next();
    }
  }
}

}  // namespace sluice::client
