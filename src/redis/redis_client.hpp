#pragma once
// RedisClient: one synchronous connection to a Redis server (Debian's hiredis), shared by the
// threads of a RegistryStore: every call holds the client's mutex for one round trip.
//
// Resilience contract (issue 5): a client never throws and never blocks longer than its
// timeouts. When the server is unreachable, calls fail at once with 503 naming the server and the
// reason; the client reconnects by itself on a later call, no more often than the backoff allows
// (doubling from backoff_min to backoff_max, reset by a successful connect). A Redis error reply
// (e.g. WRONGTYPE) is a Reply of type kError, not a failure: the connection is fine.
#include <chrono>
#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

struct redisContext;

namespace sluice::redis {

struct Reply {
  enum class Type { kNil, kString, kInteger, kArray, kStatus, kError };
  Type type = Type::kNil;
  std::string str;  // kString, kStatus, kError
  long long integer = 0;
  std::vector<Reply> elements;  // kArray

  bool nil() const { return type == Type::kNil; }
  bool error() const { return type == Type::kError; }
};

struct Endpoint {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  int db = 0;
  std::string password;           // AUTH after connecting when non-empty
  std::string to_string() const;  // "host:port/db", never the password
};

// redis://[:PASSWORD@]HOST[:PORT][/DB] (PORT default 6379, DB 0..15). 400 naming the problem.
Result<Endpoint> parse_redis_url(std::string_view url);

struct ClientOptions {
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds command_timeout{2000};
  std::chrono::milliseconds backoff_min{100};
  std::chrono::milliseconds backoff_max{5000};
};

// A Lua script run with EVALSHA, falling back to EVAL when the server does not know it yet
// (NOSCRIPT: a fresh or restarted Redis).
struct Script {
  explicit Script(std::string source);
  std::string source;
  std::string sha1;  // hex
};

class RedisClient {
 public:
  explicit RedisClient(Endpoint endpoint, ClientOptions options = {});
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // One command; arguments are binary-safe.
  Result<Reply> command(std::span<const std::string> args);
  Result<Reply> command(std::initializer_list<std::string> args) {
    return command(std::span<const std::string>(args.begin(), args.size()));
  }
  // Several commands in one round trip; the replies in order.
  Result<std::vector<Reply>> pipeline(std::span<const std::vector<std::string>> commands);
  Result<Reply> eval(const Script& script, std::span<const std::string> keys,
                     std::span<const std::string> args);

  // Lets the next call try to connect at once, whatever the backoff says (another connection to
  // the same server just succeeded, so waiting out this one's backoff would only prolong 503s).
  void retry_now();

  // Whether the last call reached the server; the reason when it did not.
  bool healthy() const;
  std::string last_error() const;
  const Endpoint& endpoint() const { return endpoint_; }

 private:
  Status ensure_connected();  // with mutex_ held
  Error unavailable(const std::string& why);
  void set_healthy();
  void drop();

  Endpoint endpoint_;
  ClientOptions options_;
  mutable std::mutex mutex_;  // the connection: held for one round trip
  redisContext* ctx_ = nullptr;
  // The state below is read by /health and other connections' retry_now() while a round trip
  // may be waiting for its timeout: its own mutex, never held across I/O.
  mutable std::mutex status_mutex_;
  std::chrono::steady_clock::time_point next_attempt_{};
  std::chrono::milliseconds backoff_;
  std::string last_error_;
  bool healthy_ = false;
};

}  // namespace sluice::redis
