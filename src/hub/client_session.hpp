#pragma once
// One remote hub client speaking the JSON ops protocol of /ws (docs/api.md, "WebSocket /ws").
// Sans-I/O: the transport feeds each text frame to on_frame() and ships what `send` is given.
// on_frame() and close() are called by the transport's strand only; `send` is called from any
// thread (hub deliveries) and must be thread-safe and non-blocking — the transport bounds it.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "hub/hub.hpp"

namespace sluice::hub {

class ClientSession {
 public:
  using Send = std::function<void(std::string frame)>;
  static constexpr std::size_t kMaxSubscriptions = 1024;

  ClientSession(Hub& hub, Send send);
  ~ClientSession();

  // The greeting frame to send first.
  std::string hello() const;
  // Handles one client frame; answers (ok, err, pong) go through `send`.
  void on_frame(std::string_view text);
  // Drops every subscription; later deliveries are ignored.
  void close();

 private:
  void subscribe(const std::string& sid, const std::string& pattern);
  void error(std::string_view sid, std::string detail);

  Hub& hub_;
  std::shared_ptr<Send> send_;  // shared with the per-subscription forwarders
  std::map<std::string, Hub::Subscription, std::less<>> subscriptions_;
};

}  // namespace sluice::hub
