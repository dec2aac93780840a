#include "client/multicast_consumer.hpp"

namespace sluice::client {

MulticastConsumer::MulticastConsumer(Client& client, std::string stream_id, JoinRequest request,
                                     Options options)
    : client_(client),
      stream_id_(std::move(stream_id)),
      request_(std::move(request)),
      options_(std::move(options)) {}

MulticastConsumer::MulticastConsumer(std::string base_url, std::string stream_id,
                                     JoinRequest request, Options options)
    : owned_client_(std::make_unique<Client>(std::move(base_url))),
      client_(*owned_client_),
      stream_id_(std::move(stream_id)),
      request_(std::move(request)),
      options_(std::move(options)) {}

MulticastConsumer::~MulticastConsumer() {
  leave();
}

std::optional<JoinResult> MulticastConsumer::result() const {
  std::lock_guard lock(mutex_);
  return result_;
}

std::string MulticastConsumer::subscriber_id() const {
  std::lock_guard lock(mutex_);
  return result_ ? result_->subscriber_id : std::string();
}

ConsumerState MulticastConsumer::state() const {
  std::lock_guard lock(mutex_);
  return state_;
}

bool MulticastConsumer::is_joined() const {
  auto s = state();
  return s == ConsumerState::kActive || s == ConsumerState::kReconnected;
}

void MulticastConsumer::set_state(ConsumerState state, const std::string& detail) {
  {
    std::lock_guard lock(mutex_);
    if (state_ == state) return;
    state_ = state;
  }
  if (options_.on_state) options_.on_state(state, detail);
}

Result<JoinResult> MulticastConsumer::join() {
  if (worker_.joinable()) {
    std::lock_guard lock(mutex_);
    return *result_;
  }
  stop_.reset();
  interval_ = options_.heartbeat_interval.value_or(default_heartbeat_interval(client_));
  set_state(ConsumerState::kConnecting, "joining stream " + stream_id_);
  auto joined = client_.join(stream_id_, request_);
  if (!joined) {
    set_state(ConsumerState::kStopped, joined.error().detail);
    return fail(joined.error());
  }
  {
    std::lock_guard lock(mutex_);
    result_ = *joined;
  }
  set_state(ConsumerState::kActive, "subscriber " + joined->subscriber_id);
  worker_ = std::thread([this] { run_heartbeats(); });
  return *joined;
}

void MulticastConsumer::leave() {
  stop_.stop();
  if (worker_.joinable()) worker_.join();
  std::string subscriber;
  {
    std::lock_guard lock(mutex_);
    if (!result_) return;
    subscriber = result_->subscriber_id;
    result_.reset();
  }
  (void)client_.leave(stream_id_, subscriber);
  set_state(ConsumerState::kStopped, "subscriber " + subscriber + " left");
}

void MulticastConsumer::run_heartbeats() {
  Backoff backoff;
  std::chrono::milliseconds wait = interval_;
  bool rejoining = false;
  while (stop_.wait_for(wait)) {
    if (rejoining) {
      auto joined = client_.join(stream_id_, request_);
      if (joined) {
        {
          std::lock_guard lock(mutex_);
          result_ = *joined;
        }
        rejoining = false;
        backoff.reset();
        set_state(ConsumerState::kReconnected, "new subscriber " + joined->subscriber_id);
        wait = interval_;
      } else if (joined.error().status == 0) {
        set_state(ConsumerState::kReconnecting, joined.error().detail);
        wait = backoff.next();
      } else {
        // Maestra answers 400 for a missing stream on join; sluice may answer 404.
        set_state(ConsumerState::kStreamLost, joined.error().detail);
        wait = interval_;
      }
      continue;
    }
    auto beat = client_.subscriber_heartbeat(subscriber_id());
    if (beat) {
      wait = interval_;
      backoff.reset();
      auto current = state();
      if (current != ConsumerState::kActive && current != ConsumerState::kReconnected) {
        set_state(ConsumerState::kActive, "subscriber " + subscriber_id());
      }
    } else if (beat.error().status == 404) {
      set_state(ConsumerState::kReconnecting, "subscriber expired; joining again");
      rejoining = true;
      wait = std::chrono::milliseconds(0);
    } else {
      set_state(ConsumerState::kReconnecting, beat.error().detail);
      wait = backoff.next();
    }
  }
}

}  // namespace sluice::client
