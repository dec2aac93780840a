#include "hub/client_session.hpp"

#include <boost/json/parse.hpp>

#include <algorithm>

#include "core/json.hpp"
#include "core/json_text.hpp"
#include "core/version.hpp"
#include "hub/subject.hpp"

namespace sluice::hub {
namespace json = boost::json;
namespace {

std::string quoted(std::string_view s) {
  return to_json_text(s);
}

// Turns hub messages for one subscription id into "msg" frames.
template <class Targets>
class Forwarder final : public Subscriber {
 public:
  Forwarder(std::string sid, std::weak_ptr<ClientSession::Send> send,
            std::shared_ptr<ClientPolicy> policy, std::shared_ptr<Targets> replies)
      : sid_(quoted(sid)),
        send_(std::move(send)),
        policy_(std::move(policy)),
        replies_(std::move(replies)) {}
  void deliver(const MessagePtr& m) override {
    auto send = send_.lock();
    if (!send) return;
    if (policy_ && !policy_->deliver(m->subject)) return;
    if (!m->reply.empty()) replies_->add(m->reply);
    std::string frame = "{\"op\":\"msg\",\"sid\":" + sid_ + ",\"subject\":" + quoted(m->subject) +
                        ",\"data\":" + payload_as_json(m->data);
    if (!m->reply.empty()) frame += ",\"reply\":" + quoted(m->reply);
    if (m->error) frame += ",\"error\":true";
    frame += "}";
    (*send)(std::move(frame));
  }

 private:
  std::string sid_;
  std::weak_ptr<ClientSession::Send> send_;
  std::shared_ptr<ClientPolicy> policy_;
  std::shared_ptr<Targets> replies_;
};

constexpr std::string_view kInboxRoot = "_INBOX.";

std::string string_field(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end()) return {};
  if (it->value().is_string()) return std::string(it->value().as_string());
  if (it->value().is_number()) return to_json_text(it->value());
  return {};
}

}  // namespace

ClientSession::ClientSession(Hub& hub, Send send, std::shared_ptr<ClientPolicy> policy)
    : hub_(hub), send_(std::make_shared<Send>(std::move(send))), policy_(std::move(policy)) {}

void ClientSession::ReplyTargets::add(const std::string& s) {
  std::lock_guard lock(mutex);
  if (!subjects.insert(s).second) return;
  order.push_back(s);
  if (order.size() > kMax) {
    subjects.erase(order.front());
    order.erase(order.begin());
  }
}

bool ClientSession::ReplyTargets::take(std::string_view s) {
  std::lock_guard lock(mutex);
  auto it = subjects.find(s);
  if (it == subjects.end()) return false;
  order.erase(std::find(order.begin(), order.end(), *it));
  subjects.erase(it);
  return true;
}

ClientSession::~ClientSession() {
  close();
}

std::string ClientSession::hello() const {
  return to_json_text(json::object{{"op", "hello"}, {"version", std::string(kVersion)}});
}

void ClientSession::close() {
  subscriptions_.clear();
  send_ = std::make_shared<Send>([](std::string) {});  // forwarders' weak_ptrs now expire
}

void ClientSession::error(std::string_view sid, std::string detail) {
  json::object o{{"op", "err"}, {"detail", std::move(detail)}};
  if (!sid.empty()) o["sid"] = sid;
  (*send_)(to_json_text(o));
}

void ClientSession::subscribe(const std::string& sid, const std::string& pattern) {
  if (sid.empty()) return error(sid, "'sub' needs a non-empty 'sid'");
  if (subscriptions_.count(sid))
    return error(sid, "subscription id '" + sid + "' is already in use");
  if (subscriptions_.size() >= kMaxSubscriptions) {
    return error(sid, "too many subscriptions (limit " + std::to_string(kMaxSubscriptions) + ")");
  }
  if (policy_ && is_valid_pattern(pattern)) {
    if (auto ok = policy_->subscribe(pattern); !ok) return error(sid, ok.error().detail);
  }
  auto sub = hub_.subscribe(
      pattern, std::make_shared<Forwarder<ReplyTargets>>(sid, send_, policy_, replies_));
  if (!sub) return error(sid, sub.error().detail);
  subscriptions_.emplace(sid, std::move(*sub));
  (*send_)("{\"op\":\"ok\",\"sid\":" + quoted(sid) + "}");
}

void ClientSession::on_frame(std::string_view text) {
  boost::system::error_code ec;
  json::parse_options options;
  options.max_depth = 64;
  json::value v = json::parse(text, ec, {}, options);
  if (ec || !v.is_object()) return error({}, "frames must be JSON objects with an 'op'");
  const auto& o = v.as_object();
  std::string op = string_field(o, "op");
  std::string sid = string_field(o, "sid");
  if (op == "sub") {
    subscribe(sid, string_field(o, "subject"));
  } else if (op == "unsub") {
    if (subscriptions_.erase(sid) == 0) return error(sid, "no subscription '" + sid + "'");
    (*send_)("{\"op\":\"ok\",\"sid\":" + quoted(sid) + "}");
  } else if (op == "pub") {
    std::string subject = string_field(o, "subject");
    if (!is_valid_subject(subject)) return error({}, "invalid subject '" + subject + "'");
    std::string reply = string_field(o, "reply");
    if (!reply.empty() && !is_valid_subject(reply)) return error({}, "invalid reply subject");
    if (subject.starts_with(kInboxRoot)) {
      if (!replies_->take(subject)) {
        return error({}, "'" + subject + "' is not the reply subject of a request you were sent");
      }
    } else if (policy_) {
      if (auto ok = policy_->publish(subject); !ok) return error({}, ok.error().detail);
    }
    auto data = o.find("data");
    hub_.publish(subject, data == o.end() ? std::string("null") : to_json_text(data->value()),
                 std::move(reply));
  } else if (op == "ping") {
    (*send_)(R"({"op":"pong"})");
  } else {
    error(sid, "unknown op '" + op + "': use sub, unsub, pub or ping");
  }
}

}  // namespace sluice::hub
