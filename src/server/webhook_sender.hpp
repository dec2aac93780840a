#pragma once
// WebhookSender: POSTs JSON events to one http:// URL from a thread of its own, so the media
// thread never waits on a slow receiver. Bounded: at most `capacity` events wait; when full the
// oldest is dropped and counted (policy drop-oldest). Each POST has a 5 s deadline; a failure is
// logged (at most once per 10 s) and counted, and the event is not retried.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

namespace sluice::server {

class WebhookSender {
 public:
  // `url` must be http://HOST[:PORT][/PATH]; throws std::invalid_argument otherwise.
  explicit WebhookSender(const std::string& url, std::size_t capacity = 1024);
  // Why `url` cannot be a webhook URL; empty when it can.
  static std::string url_problem(const std::string& url);
  ~WebhookSender();  // stops the thread; events still queued are dropped
  WebhookSender(const WebhookSender&) = delete;
  WebhookSender& operator=(const WebhookSender&) = delete;

  void send(std::string json);  // any thread; never blocks

  std::uint64_t sent() const { return sent_; }
  std::uint64_t failed() const { return failed_; }
  std::uint64_t dropped() const { return dropped_; }

 private:
  void run();
  bool post(const std::string& body);

  std::string host_;
  std::string port_;
  std::string target_;
  std::size_t capacity_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::string> queue_;
  bool stopping_ = false;
  std::atomic<std::uint64_t> sent_{0};
  std::atomic<std::uint64_t> failed_{0};
  std::atomic<std::uint64_t> dropped_{0};
  std::thread thread_;
};

}  // namespace sluice::server
