#include "redis/redis_client.hpp"

#include <hiredis/hiredis.h>
#include <openssl/sha.h>

#include <charconv>
#include <optional>

#include "core/ids.hpp"

namespace sluice::redis {

namespace {

timeval to_timeval(std::chrono::milliseconds ms) {
  return timeval{static_cast<time_t>(ms.count() / 1000),
                 static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
}

Reply convert(const redisReply* r) {
  Reply out;
  if (!r) return out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = Reply::Type::kString;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = Reply::Type::kStatus;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = Reply::Type::kError;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = Reply::Type::kInteger;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::kArray;
      out.elements.reserve(r->elements);
      for (std::size_t i = 0; i < r->elements; ++i)
        out.elements.push_back(convert(r->element[i]));
      break;
    default:
      break;  // nil
  }
  return out;
}

struct ArgVectors {
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  explicit ArgVectors(std::span<const std::string> args) {
    for (const auto& a : args) {
      argv.push_back(a.data());
      lengths.push_back(a.size());
    }
  }
};

}  // namespace

std::string Endpoint::to_string() const {
  return host + ":" + std::to_string(port) + "/" + std::to_string(db);
}

Result<Endpoint> parse_redis_url(std::string_view url) {
  constexpr std::string_view kScheme = "redis://";
  auto bad = [&](const std::string& why) {
    return fail(Error::bad_request("store URL '" + std::string(url.substr(0, 200)) + "': " + why +
                                   " (expected redis://[:PASSWORD@]HOST[:PORT][/DB])"));
  };
  if (!url.starts_with(kScheme)) return bad("not a redis:// URL");
  std::string_view rest = url.substr(kScheme.size());
  Endpoint e;
  if (auto at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view user_info = rest.substr(0, at);
    if (auto colon = user_info.find(':'); colon != std::string_view::npos) {
      e.password = std::string(user_info.substr(colon + 1));
    } else {
      e.password = std::string(user_info);
    }
    rest = rest.substr(at + 1);
  }
  std::string_view authority = rest.substr(0, rest.find('/'));
  std::string_view path = rest.size() > authority.size() ? rest.substr(authority.size() + 1) : "";
  std::string_view host = authority;
  if (authority.starts_with('[')) {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return bad("unclosed '['");
    host = authority.substr(1, close - 1);
    authority = authority.substr(close + 1);
    if (!authority.empty() && authority.front() != ':') return bad("junk after ']'");
    authority = authority.empty() ? authority : authority.substr(1);
    if (!authority.empty()) {
      unsigned port = 0;
      auto [p, ec] = std::from_chars(authority.data(), authority.data() + authority.size(), port);
      if (ec != std::errc{} || p != authority.data() + authority.size() || port == 0 ||
          port > 65535)
        return bad("bad port");
      e.port = static_cast<std::uint16_t>(port);
    }
  } else if (auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    std::string_view port_text = authority.substr(colon + 1);
    unsigned port = 0;
    auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc{} || p != port_text.data() + port_text.size() || port == 0 || port > 65535)
      return bad("bad port");
    e.port = static_cast<std::uint16_t>(port);
  }
  if (host.empty()) return bad("no host");
  e.host = std::string(host);
  if (!path.empty()) {
    int db = -1;
    auto [p, ec] = std::from_chars(path.data(), path.data() + path.size(), db);
    if (ec != std::errc{} || p != path.data() + path.size() || db < 0 || db > 15)
      return bad("database must be 0..15");
    e.db = db;
  }
  return e;
}

Script::Script(std::string src) : source(std::move(src)) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(source.data()), source.size(), digest);
  sha1 = to_hex({reinterpret_cast<const char*>(digest), sizeof digest});
}

RedisClient::RedisClient(Endpoint endpoint, ClientOptions options)
    : endpoint_(std::move(endpoint)), options_(options), backoff_(options.backoff_min) {}

RedisClient::~RedisClient() {
  drop();
}

void RedisClient::drop() {
  if (ctx_) redisFree(ctx_);
  ctx_ = nullptr;
}

Error RedisClient::unavailable(const std::string& why) {
  {
    std::lock_guard status(status_mutex_);
    last_error_ = why;
    healthy_ = false;
  }
  return Error::unavailable("redis " + endpoint_.host + ":" + std::to_string(endpoint_.port) +
                            " is unavailable: " + why);
}

Status RedisClient::ensure_connected() {
  if (ctx_) return {};
  const auto now = std::chrono::steady_clock::now();
  std::string waiting;  // non-empty while the backoff holds
  {
    std::lock_guard status(status_mutex_);
    if (now < next_attempt_) waiting = last_error_.empty() ? "reconnecting" : last_error_;
  }
  if (!waiting.empty()) {
    return fail(unavailable(waiting));
  }
  const timeval connect = to_timeval(options_.connect_timeout);
  redisContext* c = redisConnectWithTimeout(endpoint_.host.c_str(), endpoint_.port, connect);
  auto give_up = [&](std::string why) -> Status {
    if (c) redisFree(c);
    {
      std::lock_guard status(status_mutex_);
      next_attempt_ = now + backoff_;
      backoff_ = std::min(backoff_ * 2, options_.backoff_max);
    }
    return fail(unavailable(std::move(why)));
  };
  if (!c) return give_up("out of memory");
  if (c->err) return give_up(c->errstr);
  const timeval command = to_timeval(options_.command_timeout);
  redisSetTimeout(c, command);
  auto simple = [&](std::vector<std::string> args) -> std::optional<std::string> {
    ArgVectors v(args);
    auto* r = static_cast<redisReply*>(
        redisCommandArgv(c, static_cast<int>(args.size()), v.argv.data(), v.lengths.data()));
    if (!r) return std::string(c->errstr);
    std::optional<std::string> err;
    if (r->type == REDIS_REPLY_ERROR) err = std::string(r->str, r->len);
    freeReplyObject(r);
    return err;
  };
  if (!endpoint_.password.empty()) {
    if (auto err = simple({"AUTH", endpoint_.password})) return give_up("AUTH: " + *err);
  }
  if (endpoint_.db != 0) {
    if (auto err = simple({"SELECT", std::to_string(endpoint_.db)})) return give_up(*err);
  }
  ctx_ = c;
  std::lock_guard status(status_mutex_);
  backoff_ = options_.backoff_min;
  return {};
}

Result<Reply> RedisClient::command(std::span<const std::string> args) {
  std::lock_guard lock(mutex_);
  if (auto st = ensure_connected(); !st) return fail(st.error());
  ArgVectors v(args);
  auto* r = static_cast<redisReply*>(
      redisCommandArgv(ctx_, static_cast<int>(args.size()), v.argv.data(), v.lengths.data()));
  if (!r) {
    std::string why = ctx_->errstr;
    drop();
    return fail(unavailable(why));
  }
  Reply reply = convert(r);
  freeReplyObject(r);
  set_healthy();
  return reply;
}

Result<std::vector<Reply>> RedisClient::pipeline(
    std::span<const std::vector<std::string>> commands) {
  std::lock_guard lock(mutex_);
  if (auto st = ensure_connected(); !st) return fail(st.error());
  for (const auto& args : commands) {
    ArgVectors v(args);
    if (redisAppendCommandArgv(ctx_, static_cast<int>(args.size()), v.argv.data(),
                               v.lengths.data()) != REDIS_OK) {
      std::string why = ctx_->errstr;
      drop();
      return fail(unavailable(why));
    }
  }
  std::vector<Reply> replies;
  replies.reserve(commands.size());
  for (std::size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(ctx_, &raw) != REDIS_OK || !raw) {
      std::string why = ctx_->errstr;
      drop();
      return fail(unavailable(why));
    }
    replies.push_back(convert(static_cast<redisReply*>(raw)));
    freeReplyObject(raw);
  }
  set_healthy();
  return replies;
}

Result<Reply> RedisClient::eval(const Script& script, std::span<const std::string> keys,
                                std::span<const std::string> args) {
  std::vector<std::string> argv{"EVALSHA", script.sha1, std::to_string(keys.size())};
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), args.begin(), args.end());
  auto reply = command(argv);
  if (!reply || !reply->error() || !reply->str.starts_with("NOSCRIPT")) return reply;
  argv[0] = "EVAL";
  argv[1] = script.source;
  return command(argv);
}

void RedisClient::set_healthy() {
  std::lock_guard status(status_mutex_);
  healthy_ = true;
}

void RedisClient::retry_now() {
  std::lock_guard status(status_mutex_);
  next_attempt_ = {};
  backoff_ = options_.backoff_min;
}

bool RedisClient::healthy() const {
  std::lock_guard status(status_mutex_);
  return healthy_;
}

std::string RedisClient::last_error() const {
  std::lock_guard status(status_mutex_);
  return last_error_;
}

}  // namespace sluice::redis
