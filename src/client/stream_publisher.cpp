#include "client/stream_publisher.hpp"

namespace sluice::client {
namespace json = boost::json;

namespace {

constexpr std::string_view kRequestSid = "stream-requests";

std::string str_field(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_string() ? std::string(it->value().as_string()) : "";
}

}  // namespace

json::object decision_to_json(const Decision& decision) {
  if (const auto* reject = std::get_if<RejectRequest>(&decision)) {
    return json::object{{"accepted", false}, {"reason", reject->reason}};
  }
  const auto& accept = std::get<AcceptRequest>(decision);
  json::object reply{{"accepted", true}, {"transport_config", accept.transport_config}};
  if (accept.address) reply["address"] = *accept.address;
  if (accept.port) reply["port"] = *accept.port;
  if (accept.protocol) reply["protocol"] = *accept.protocol;
  return reply;
}

IncomingStreamRequest incoming_request_from_json(const json::value& data) {
  IncomingStreamRequest r;
  if (!data.is_object()) return r;
  const auto& o = data.as_object();
  r.stream_id = str_field(o, "stream_id");
  r.consumer_id = str_field(o, "consumer_id");
  r.consumer_address = str_field(o, "consumer_address");
  if (auto it = o.find("consumer_port"); it != o.end() && it->value().is_number()) {
    r.consumer_port = it->value().to_number<int>();
  }
  if (auto it = o.find("config"); it != o.end() && it->value().is_object()) {
    r.config = it->value().as_object();
  }
  r.timestamp = str_field(o, "timestamp");
  return r;
}

const char* to_string(PublisherState state) {
  switch (state) {
    case PublisherState::kStopped:
      return "stopped";
    case PublisherState::kActive:
      return "active";
    case PublisherState::kReconnecting:
      return "reconnecting";
  }
  return "unknown";
}

StreamPublisher::StreamPublisher(Client& client, AdvertiseRequest advert, Options options)
    : client_(client), advert_(std::move(advert)), options_(std::move(options)) {}

StreamPublisher::StreamPublisher(std::string base_url, AdvertiseRequest advert, Options options)
    : owned_client_(std::make_unique<Client>(std::move(base_url))),
      client_(*owned_client_),
      advert_(std::move(advert)),
      options_(std::move(options)) {}

StreamPublisher::~StreamPublisher() {
  stop();
}

std::string StreamPublisher::stream_id() const {
  std::lock_guard lock(mutex_);
  return stream_id_;
}

PublisherState StreamPublisher::state() const {
  std::lock_guard lock(mutex_);
  return state_;
}

std::string StreamPublisher::request_subject() const {
  return "maestra.stream.request." + stream_id();
}

void StreamPublisher::set_state(PublisherState state, const std::string& detail) {
  {
    std::lock_guard lock(mutex_);
    if (state_ == state) return;
    state_ = state;
  }
  if (options_.on_state) options_.on_state(state, detail);
}

Result<StreamView> StreamPublisher::start() {
  if (worker_.joinable()) {
    std::lock_guard lock(mutex_);
    return *view_;
  }
  stop_.reset();
  interval_ = options_.heartbeat_interval.value_or(default_heartbeat_interval(client_));
  auto view = client_.advertise(advert_);
  if (!view) return fail(view.error());
  {
    std::lock_guard lock(mutex_);
    stream_id_ = view->stream.id;
    view_ = *view;
  }
  if (auto hub = connect_hub(); !hub) {
    (void)client_.withdraw(view->stream.id);
    std::lock_guard lock(mutex_);
    stream_id_.clear();
    view_.reset();
    return fail(hub.error());
  }
  set_state(PublisherState::kActive, "advertised " + view->stream.id);
  worker_ = std::thread([this] { run_heartbeats(); });
  return *view;
}

void StreamPublisher::stop() {
  stop_.stop();
  if (worker_.joinable()) worker_.join();
  if (hub_) {
    hub_->close();
    hub_.reset();
  }
  std::string id;
  {
    std::lock_guard lock(mutex_);
    if (!view_) return;  // never started, or already stopped
    id = stream_id_;
    view_.reset();
  }
  auto withdrawn = client_.withdraw(id);
  set_state(PublisherState::kStopped,
            withdrawn ? "withdrawn " + id : "withdraw failed: " + withdrawn.error().detail);
}

Status StreamPublisher::connect_hub() {
  if (hub_) {
    hub_->close();
    hub_.reset();
  }
  hub_lost_ = false;
  HubConnection::Callbacks callbacks;
  callbacks.on_message = [this](HubConnection& self, const HubMessage& m) {
    if (!m.reply) return;  // requests always carry a reply inbox
    const IncomingStreamRequest request = incoming_request_from_json(m.data);
    const Decision decision = options_.on_request ? options_.on_request(request) : AcceptRequest{};
    (void)self.publish(*m.reply, decision_to_json(decision));
  };
  callbacks.on_closed = [this](const std::string&) {
    hub_lost_ = true;
    stop_.notify();
  };
  auto hub = HubConnection::open(client_.base_url(), std::move(callbacks), client_.timeout());
  if (!hub) return fail(hub.error());
  if (auto sub = (*hub)->subscribe(std::string(kRequestSid), request_subject(), client_.timeout());
      !sub) {
    return sub;
  }
  hub_ = std::move(*hub);
  return {};
}

void StreamPublisher::run_heartbeats() {
  using Clock = std::chrono::steady_clock;
  Backoff backoff;
  bool need_advertise = false;
  bool registry_ok = true;  // the last advertise/heartbeat succeeded
  auto next_heartbeat = Clock::now() + interval_;
  auto retry_later = [&](const std::string& detail) {
    set_state(PublisherState::kReconnecting, detail);
    return stop_.wait_for(backoff.next());
  };

  for (;;) {
    if (need_advertise) {
      auto view = client_.advertise(advert_);
      if (!view) {
        registry_ok = false;
        if (!retry_later("advertise failed: " + view.error().detail)) break;
        continue;
      }
      bool id_changed;
      {
        std::lock_guard lock(mutex_);
        id_changed = stream_id_ != view->stream.id;
        stream_id_ = view->stream.id;
        view_ = *view;
      }
      if (id_changed) hub_lost_ = true;  // re-subscribe on the new request subject
      need_advertise = false;
      registry_ok = true;
      next_heartbeat = Clock::now() + interval_;
    }
    if (hub_lost_ || !hub_) {
      if (auto hub = connect_hub(); !hub) {
        if (!retry_later("hub connection failed: " + hub.error().detail)) break;
        continue;
      }
      next_heartbeat = Clock::now();  // the daemon may have restarted: check the stream now
    }
    if (registry_ok && hub_) {
      backoff.reset();
      set_state(PublisherState::kActive, "stream " + stream_id());
    }
    if (!stop_.wait_until(next_heartbeat, [&] { return hub_lost_.load(); })) break;
    if (hub_lost_) {
      set_state(PublisherState::kReconnecting, "hub connection lost");
      continue;
    }
    auto beat = client_.heartbeat(stream_id());
    if (beat) {
      registry_ok = true;
      next_heartbeat = Clock::now() + interval_;
    } else if (beat.error().status == 404) {
      need_advertise = true;
    } else {
      registry_ok = false;
      set_state(PublisherState::kReconnecting, "heartbeat failed: " + beat.error().detail);
      next_heartbeat = Clock::now() + backoff.next();
    }
  }
}

}  // namespace sluice::client
