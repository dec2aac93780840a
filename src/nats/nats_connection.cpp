#include "nats/nats_connection.hpp"

#include <nats/nats.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <utility>

#include "nats/gate.hpp"

namespace sluice::nats {

struct NatsConnection::State {
  ConnectionOptions options;
  Gate gate;  // closed by shutdown(): no handler or callback of ours runs afterwards
  natsConnection* nc = nullptr;
  std::once_flag shut;
  mutable std::mutex mutex;
  std::string error;  // why the last connect failed or the connection was lost
};

namespace {

using State = NatsConnection::State;
using StatePtr = std::shared_ptr<State>;

// The closure of one subscription; freed by libnats' "subscription complete" callback, which
// runs after the last message handler has returned.
struct SubClosure {
  StatePtr state;
  MessageHandler handler;
};

std::string status_text(natsStatus s) {
  const char* detail = nats_GetLastError(nullptr);  // this thread's last error, more precise
  if (detail && *detail) return detail;
  return natsStatus_GetText(s);
}

// A NUL-terminated copy of a short string without allocating (subjects are short).
class CString {
 public:
  explicit CString(std::string_view s) {
    if (s.size() < sizeof small_) {
      std::memcpy(small_, s.data(), s.size());
      small_[s.size()] = '\0';
      ptr_ = small_;
    } else {
      large_.assign(s);
      ptr_ = large_.c_str();
    }
  }
  const char* c_str() const { return ptr_; }

 private:
  char small_[256];
  std::string large_;
  const char* ptr_;
};

void on_message(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  auto* c = static_cast<SubClosure*>(closure);
  if (GateGuard guard(c->state->gate); guard) {
    const char* reply = natsMsg_GetReply(msg);
    const char* data = natsMsg_GetData(msg);
    IncomingMessage m{
        natsMsg_GetSubject(msg), reply ? std::string_view(reply) : std::string_view(),
        std::string_view(data ? data : "", static_cast<std::size_t>(natsMsg_GetDataLength(msg))),
        natsMsg_IsNoResponders(msg)};
    try {
      c->handler(m);
    } catch (...) {  // never unwind into C
    }
  }
  natsMsg_Destroy(msg);
}

void on_subscription_complete(void* closure) {
  delete static_cast<SubClosure*>(closure);
}

// Connection callbacks get a heap StatePtr, freed by the closed callback (always the last one
// libnats delivers for a connection).
State* state_of(void* closure) {
  return static_cast<StatePtr*>(closure)->get();
}

void remember_error(State& state, natsConnection* nc, const char* fallback) {
  const char* text = nullptr;
  natsStatus s = natsConnection_GetLastError(nc, &text);
  std::lock_guard lock(state.mutex);
  state.error = s != NATS_OK && text && *text ? text : fallback;
}

void on_connected(natsConnection* nc, void* closure) {
  State* state = state_of(closure);
  GateGuard guard(state->gate);
  if (!guard) return;
  {
    std::lock_guard lock(state->mutex);
    state->error.clear();
  }
  if (state->options.on_connected) state->options.on_connected();
}

void on_disconnected(natsConnection* nc, void* closure) {
  State* state = state_of(closure);
  GateGuard guard(state->gate);
  if (!guard) return;
  remember_error(*state, nc, "connection lost");
  if (state->options.on_disconnected) state->options.on_disconnected();
}

void on_closed(natsConnection*, void* closure) {
  delete static_cast<StatePtr*>(closure);
}

void on_async_error(natsConnection* nc, natsSubscription*, natsStatus err, void* closure) {
  // Slow consumers and protocol errors: remembered for problem() while disconnected only.
  (void)nc;
  (void)err;
  (void)closure;
}

// Backoff between rounds over the server list: min, 2*min, ... up to max. The bounds travel in
// the closure pointer itself, so the callback never touches memory that could be gone.
std::int64_t reconnect_delay(natsConnection*, int attempts, void* closure) {
  const auto packed = reinterpret_cast<std::uintptr_t>(closure);
  const std::int64_t min = static_cast<std::int64_t>(packed & 0xffffffffu);
  const std::int64_t max = static_cast<std::int64_t>(packed >> 32);
  std::int64_t delay = min;
  for (int i = 1; i < attempts && delay < max; ++i)
    delay *= 2;
  return std::min(delay, max);
}

}  // namespace

NatsConnection::NatsConnection(ConnectionOptions options) : state_(std::make_shared<State>()) {
  state_->options = std::move(options);
  const auto& o = state_->options;
  natsOptions* opts = nullptr;
  if (natsOptions_Create(&opts) != NATS_OK) {
    state_->error = "cannot create NATS options: " + status_text(NATS_NO_MEMORY);
    return;
  }
  std::vector<const char*> urls;
  for (const auto& s : o.servers)
    urls.push_back(s.c_str());
  auto* holder = new StatePtr(state_);
  const auto packed = (static_cast<std::uintptr_t>(o.reconnect_wait_max.count()) << 32) |
                      static_cast<std::uintptr_t>(o.reconnect_wait_min.count() & 0xffffffff);
  natsStatus s = natsOptions_SetServers(opts, urls.data(), static_cast<int>(urls.size()));
  if (s == NATS_OK) s = natsOptions_SetName(opts, o.name.c_str());
  if (s == NATS_OK) s = natsOptions_SetNoEcho(opts, o.no_echo);
  if (s == NATS_OK) s = natsOptions_SetTimeout(opts, o.connect_timeout.count());
  if (s == NATS_OK) s = natsOptions_SetPingInterval(opts, o.ping_interval.count());
  if (s == NATS_OK) s = natsOptions_SetMaxPingsOut(opts, 2);
  if (s == NATS_OK) s = natsOptions_SetAllowReconnect(opts, true);
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts, -1);
  if (s == NATS_OK) s = natsOptions_SetReconnectWait(opts, o.reconnect_wait_min.count());
  if (s == NATS_OK) {
    s = natsOptions_SetCustomReconnectDelay(opts, reconnect_delay,
                                            reinterpret_cast<void*>(packed));  // NOLINT
  }
  if (s == NATS_OK) s = natsOptions_UseGlobalMessageDelivery(opts, true);
  if (s == NATS_OK) s = natsOptions_SetRetryOnFailedConnect(opts, true, on_connected, holder);
  if (s == NATS_OK) s = natsOptions_SetReconnectedCB(opts, on_connected, holder);
  if (s == NATS_OK) s = natsOptions_SetDisconnectedCB(opts, on_disconnected, holder);
  if (s == NATS_OK) s = natsOptions_SetErrorHandler(opts, on_async_error, holder);
  if (s == NATS_OK) s = natsOptions_SetClosedCB(opts, on_closed, holder);
  if (s != NATS_OK) {
    state_->error = "invalid NATS options: " + status_text(s);
    natsOptions_Destroy(opts);
    delete holder;
    return;
  }
  s = natsConnection_Connect(&state_->nc, opts);
  natsOptions_Destroy(opts);
  if (s == NATS_NOT_YET_CONNECTED) {
    // Connecting in the background; remember why the first attempt failed.
    const char* detail = nats_GetLastError(nullptr);
    std::lock_guard lock(state_->mutex);
    if (!connected())
      state_->error = detail && *detail ? detail : natsStatus_GetText(NATS_NO_SERVER);
  } else if (s != NATS_OK) {
    state_->error = status_text(s);
    state_->nc = nullptr;
    delete holder;  // no connection, so no closed callback will free it
  }
}

NatsConnection::~NatsConnection() {
  shutdown();
  if (state_->nc) natsConnection_Destroy(state_->nc);
}

void NatsConnection::shutdown() {
  std::call_once(state_->shut, [this] {
    state_->gate.close();
    if (state_->nc) natsConnection_Close(state_->nc);
  });
}

bool NatsConnection::connected() const {
  return state_->nc && natsConnection_Status(state_->nc) == NATS_CONN_STATUS_CONNECTED;
}

std::string NatsConnection::last_error() const {
  std::lock_guard lock(state_->mutex);
  return state_->error;
}

std::string NatsConnection::new_inbox() {
  natsInbox* inbox = nullptr;
  if (natsInbox_Create(&inbox) != NATS_OK) return {};
  std::string result(inbox);
  natsInbox_Destroy(inbox);
  return result;
}

std::expected<NatsConnection::Subscription, std::string> NatsConnection::subscribe(
    const std::string& subject, const std::string& queue, MessageHandler handler) {
  if (!state_->nc) return std::unexpected(last_error());
  auto* closure = new SubClosure{state_, std::move(handler)};
  natsSubscription* sub = nullptr;
  natsStatus s = queue.empty() ? natsConnection_Subscribe(&sub, state_->nc, subject.c_str(),
                                                          on_message, closure)
                               : natsConnection_QueueSubscribe(&sub, state_->nc, subject.c_str(),
                                                               queue.c_str(), on_message, closure);
  if (s != NATS_OK) {
    delete closure;
    return std::unexpected(status_text(s));
  }
  // Fails only when the subscription is already closed (the connection closing under us); the
  // closure is then left alone rather than freed under a handler that may still run.
  (void)natsSubscription_SetOnCompleteCB(sub, on_subscription_complete, closure);
  return Subscription(sub);
}

bool NatsConnection::publish(std::string_view subject, std::string_view data,
                             std::string_view reply) {
  if (!connected() || data.size() > static_cast<std::size_t>(INT_MAX)) return false;
  CString subj(subject);
  natsStatus s;
  if (reply.empty()) {
    s = natsConnection_Publish(state_->nc, subj.c_str(), data.data(),
                               static_cast<int>(data.size()));
  } else {
    CString rep(reply);
    s = natsConnection_PublishRequest(state_->nc, subj.c_str(), rep.c_str(), data.data(),
                                      static_cast<int>(data.size()));
  }
  return s == NATS_OK;
}

NatsConnection::Subscription::Subscription(Subscription&& other) noexcept
    : handle_(std::exchange(other.handle_, nullptr)) {}

NatsConnection::Subscription& NatsConnection::Subscription::operator=(
    Subscription&& other) noexcept {
  if (this != &other) {
    reset();
    handle_ = std::exchange(other.handle_, nullptr);
  }
  return *this;
}

NatsConnection::Subscription::~Subscription() {
  reset();
}

void NatsConnection::Subscription::reset() {
  if (!handle_) return;
  auto* sub = static_cast<natsSubscription*>(std::exchange(handle_, nullptr));
  (void)natsSubscription_Unsubscribe(sub);  // fails harmlessly once the connection is closed
  natsSubscription_Destroy(sub);
}

}  // namespace sluice::nats
