#include "redis/redis_records.hpp"

#include <algorithm>
#include <charconv>
#include <string>
#include <vector>

namespace sluice::redis {
namespace {

constexpr std::string_view kVersion = "sluice:records:version";

std::string records_key(std::string_view kind) {
  return "sluice:records:" + std::string(kind);
}

// KEYS: the kind's hash, the version counter. ARGV: id, JSON. Returns the new version.
const Script& put_record() {
  static const Script s(R"lua(
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return redis.call('INCR', KEYS[2])
)lua");
  return s;
}

// KEYS: the kind's hash, the version counter. ARGV: id. Returns the new version.
const Script& remove_record() {
  static const Script s(R"lua(
redis.call('HDEL', KEYS[1], ARGV[1])
return redis.call('INCR', KEYS[2])
)lua");
  return s;
}

}  // namespace

RedisRecords::RedisRecords(const Endpoint& endpoint, ClientOptions options)
    : endpoint_(endpoint), client_(std::make_unique<RedisClient>(endpoint, options)) {}

Result<Reply> RedisRecords::checked(Result<Reply> reply, std::string_view what) const {
  if (!reply) return reply;
  if (reply->error()) {
    return fail(Error{
        502,
        "Redis " + endpoint_.to_string() + ": " + std::string(what) + " failed: " + reply->str,
        {}});
  }
  return reply;
}

Status RedisRecords::put(std::string_view kind, std::string_view id, std::string_view json) {
  const std::vector<std::string> keys{records_key(kind), std::string(kVersion)};
  const std::vector<std::string> args{std::string(id), std::string(json)};
  auto r = checked(client_->eval(put_record(), keys, args), "storing a record");
  if (!r) return fail(r.error());
  return {};
}

Status RedisRecords::remove(std::string_view kind, std::string_view id) {
  const std::vector<std::string> keys{records_key(kind), std::string(kVersion)};
  const std::vector<std::string> args{std::string(id)};
  auto r = checked(client_->eval(remove_record(), keys, args), "removing a record");
  if (!r) return fail(r.error());
  return {};
}

Result<std::vector<std::pair<std::string, std::string>>> RedisRecords::load(
    std::string_view kind) const {
  auto r = checked(client_->command({"HGETALL", records_key(kind)}), "HGETALL");
  if (!r) return fail(r.error());
  std::vector<std::pair<std::string, std::string>> out;
  for (std::size_t i = 0; i + 1 < r->elements.size(); i += 2)
    out.emplace_back(r->elements[i].str, r->elements[i + 1].str);
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::uint64_t> RedisRecords::version() const {
  auto r = checked(client_->command({"GET", std::string(kVersion)}), "GET");
  if (!r) return fail(r.error());
  std::uint64_t v = 0;
  if (!r->nil()) std::from_chars(r->str.data(), r->str.data() + r->str.size(), v);
  return v;
}

}  // namespace sluice::redis
