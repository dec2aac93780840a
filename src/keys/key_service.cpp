#include "keys/key_service.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <stdexcept>

#include "keys/ip_rules.hpp"
#include "keys/key_format.hpp"

namespace sluice::keys {
namespace {

constexpr std::size_t kSecretBytes = 32;
constexpr int kIdAttempts = 4;

// The peer as shown in logs: its canonical form when it parses, else a truncated copy.
std::string peer_text(std::string_view peer_ip) {
  if (auto a = parse_ip(peer_ip)) return a->to_string();
  return "'" + std::string(peer_ip.substr(0, 64)) + "'";
}

bool ip_allowed(const KeyRecord& r, std::string_view peer_ip) {
  if (r.allowed_ips.empty()) return true;
  auto peer = parse_ip(peer_ip);
  if (!peer) return false;
  return std::any_of(r.allowed_ips.begin(), r.allowed_ips.end(), [&](const std::string& rule) {
    auto net = parse_ip_rule(rule);
    return net && net->contains(*peer);
  });
}

}  // namespace

std::string_view to_string(RefusalReason reason) {
  switch (reason) {
    case RefusalReason::kMissing:
      return "missing";
    case RefusalReason::kMalformed:
      return "malformed";
    case RefusalReason::kUnknown:
      return "unknown";
    case RefusalReason::kWrong:
      return "wrong";
    case RefusalReason::kExpired:
      return "expired";
    case RefusalReason::kRevoked:
      return "revoked";
    case RefusalReason::kIpForbidden:
      return "ip_forbidden";
    case RefusalReason::kWrongKind:
      return "wrong_kind";
    case RefusalReason::kWrongStream:
      return "wrong_stream";
    case RefusalReason::kUnavailable:
      return "unavailable";
  }
  return "unknown";
}

std::string_view to_string(KeyState state) {
  switch (state) {
    case KeyState::kActive:
      return "active";
    case KeyState::kExpired:
      return "expired";
    case KeyState::kRevoked:
      return "revoked";
  }
  return "active";
}

std::string_view to_string(KeyKind kind) {
  return kind == KeyKind::kRead ? "read" : "publish";
}

Error KeyRefusal::to_error() const {
  switch (reason) {
    case RefusalReason::kMissing:
      return Error{401, detail, {}, std::string(kReadKeyChallenge)};
    case RefusalReason::kUnavailable:
      return Error::unavailable(detail);
    default:
      return Error::forbidden(detail);
  }
}

bool is_valid_key_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

bool is_valid_stream_name(std::string_view name) {
  return is_valid_key_name(name) && !name.starts_with(kKeyPrefix);
}

std::vector<FieldError> validate_create(CreateKeyRequest& request) {
  std::vector<FieldError> errors;
  auto add = [&errors](std::vector<std::string> loc, std::string msg) {
    loc.insert(loc.begin(), "body");
    errors.push_back(FieldError{std::move(loc), std::move(msg), "value_error"});
  };
  const std::string name_rule = "1-128 characters of A-Z a-z 0-9 . _ -";
  if (!is_valid_key_name(request.stream)) {
    add({"stream"}, "stream must be " + name_rule);
  } else if (!is_valid_stream_name(request.stream)) {
    add({"stream"}, "stream must not start with 'sk_' (that is how stream keys start)");
  }
  if (request.expires_in && (*request.expires_in < 1 || *request.expires_in > kMaxExpiresIn)) {
    add({"expires_in"},
        "expires_in must be between 1 and " + std::to_string(kMaxExpiresIn) + " seconds");
  }
  if (request.allowed_ips.size() > kMaxAllowedIps) {
    add({"allowed_ips"}, "at most " + std::to_string(kMaxAllowedIps) + " entries");
  } else {
    for (std::size_t i = 0; i < request.allowed_ips.size(); ++i) {
      std::string why;
      auto net = parse_ip_rule(request.allowed_ips[i], &why);
      if (net) {
        request.allowed_ips[i] = net->to_string();
      } else {
        add({"allowed_ips", std::to_string(i)}, why);
      }
    }
  }
  if (request.alias) {
    if (!is_valid_key_name(*request.alias)) {
      add({"alias"}, "alias must be " + name_rule);
    } else if (is_key_id(*request.alias)) {
      add({"alias"}, "alias must not look like a key id (16 hex characters)");
    }
  }
  if (request.note.size() > kMaxNoteLength) {
    add({"note"}, "note must be at most " + std::to_string(kMaxNoteLength) + " characters");
  }
  return errors;
}

KeyService::KeyService(registry::RegistryStore& store, const Clock& clock, std::string secret,
                       KeyServiceOptions options)
    : store_(store), clock_(clock), secret_(std::move(secret)), options_(options) {
  if (secret_.size() < 16) throw std::invalid_argument("stream key secret shorter than 16 bytes");
}

KeyState KeyService::state_of(const KeyRecord& r) const {
  if (r.revoked_at) return KeyState::kRevoked;
  if (r.expires_at && *r.expires_at <= clock_.wall_now()) return KeyState::kExpired;
  return KeyState::kActive;
}

Result<CreatedKey> KeyService::create(CreateKeyRequest request) {
  if (auto errors = validate_create(request); !errors.empty()) {
    return fail(Error::invalid(std::move(errors)));
  }
  KeyRecord r;
  r.stream = request.stream;
  r.kind = request.kind;
  r.created_at = clock_.wall_now();
  if (request.expires_in) r.expires_at = r.created_at + std::chrono::seconds(*request.expires_in);
  r.allowed_ips = std::move(request.allowed_ips);
  r.alias = std::move(request.alias);
  r.note = std::move(request.note);
  bool purged = false;
  for (int attempt = 0; attempt < kIdAttempts; ++attempt) {
    std::string key;
    try {
      r.id = random_key_id();
      key = format_key(r.id, random_bytes(kSecretBytes));
      r.hmac = hmac_sha256(secret_, key);
    } catch (const std::exception& e) {
      return fail(Error::internal(std::string("cannot make a key: ") + e.what()));
    }
    auto put = store_.put_key(r, options_.max_keys);
    if (put) {
      created_.fetch_add(1, std::memory_order_relaxed);
      spdlog::info("stream key {} created for stream '{}' ({}{}{})", r.id, r.stream,
                   to_string(r.kind), r.alias ? ", alias " + *r.alias : "",
                   r.expires_at ? ", expiring" : "");
      return CreatedKey{std::move(r), std::move(key)};
    }
    if (put.error().status == 507 && !purged) {
      purged = true;
      next_purge_.store(0);
      if (purge_due() > 0) continue;
    }
    // A 409 with our fresh id taken is a (2^-64) collision: draw again. Anything else is final.
    if (put.error().status != 409) return fail(put.error());
    auto taken = store_.get_key(r.id);
    if (!taken || !*taken) return fail(put.error());
  }
  return fail(Error::internal("cannot allocate a unique key id"));
}

Result<std::vector<KeyRecord>> KeyService::list() const {
  return store_.list_keys();
}

Result<std::optional<std::string>> KeyService::resolve(std::string_view id_or_alias) const {
  std::string text(id_or_alias);
  if (is_key_id(text)) {
    auto found = store_.get_key(text);
    if (!found) return fail(found.error());
    if (*found) return text;
  }
  if (!is_valid_key_name(text)) return std::nullopt;
  return store_.find_key_id_by_alias(text);
}

Result<KeyRecord> KeyService::get(std::string_view id_or_alias) const {
  auto resolved = resolve(id_or_alias);
  if (!resolved) return fail(resolved.error());
  const auto& id = *resolved;
  if (!id) {
    return fail(Error::not_found("no stream key with id or alias '" +
                                 std::string(id_or_alias.substr(0, 128)) + "'"));
  }
  auto r = store_.get_key(*id);
  if (!r) return fail(r.error());
  if (!*r) return fail(Error::not_found("no stream key with id " + *id));
  return **r;
}

Result<KeyRecord> KeyService::revoke(std::string_view id_or_alias) {
  auto found = get(id_or_alias);
  if (!found) return found;
  const WallTime now = clock_.wall_now();
  auto done = store_.update_key(found->id, [now](KeyRecord& r) -> Status {
    if (!r.revoked_at) r.revoked_at = now;
    return {};
  });
  if (done) spdlog::info("stream key {} (stream '{}') revoked", done->id, done->stream);
  return done;
}

Result<CreatedKey> KeyService::rotate(std::string_view id_or_alias) {
  auto found = get(id_or_alias);
  if (!found) return fail(found.error());
  std::string key, mac;
  try {
    key = format_key(found->id, random_bytes(kSecretBytes));
    mac = hmac_sha256(secret_, key);
  } catch (const std::exception& e) {
    return fail(Error::internal(std::string("cannot make a key: ") + e.what()));
  }
  auto done = store_.update_key(found->id, [this, &mac](KeyRecord& r) -> Status {
    switch (state_of(r)) {
      case KeyState::kRevoked:
        return fail(Error::conflict("stream key " + r.id + " is revoked; create a new one"));
      case KeyState::kExpired:
        return fail(Error::conflict("stream key " + r.id + " has expired; create a new one"));
      case KeyState::kActive:
        break;
    }
    r.hmac = mac;
    return {};
  });
  if (!done) return fail(done.error());
  spdlog::info("stream key {} (stream '{}') rotated; the previous secret no longer works", done->id,
               done->stream);
  return CreatedKey{std::move(*done), std::move(key)};
}

// One line per refusal (docs/operations.md, "What is logged"):
//   stream key refused: publish of 'cam1' from 203.0.113.5 reason=wrong key_id=3f9a0c1d2e4b5a69
// The stream is "-" when the publisher named none (OBS sends only the key).
KeyRefusal KeyService::refuse(RefusalReason reason, std::string key_id, std::string detail,
                              std::string_view peer_ip, KeyKind kind,
                              std::optional<std::string_view> stream) {
  refused_[static_cast<std::size_t>(reason)].fetch_add(1, std::memory_order_relaxed);
  spdlog::info("stream key refused: {} of {} from {} reason={} key_id={}",
               kind == KeyKind::kPublish ? "publish" : "play",
               stream ? "'" + redact_keys(stream->substr(0, kMaxNameLength)) + "'" : "-",
               peer_text(peer_ip), to_string(reason), key_id.empty() ? "-" : key_id);
  return KeyRefusal{reason, std::move(key_id), std::move(detail)};
}

KeyOutcome<KeyGrant> KeyService::check(std::string_view presented_key, std::string_view peer_ip,
                                       KeyKind kind, std::optional<std::string_view> stream) {
  auto refused = [&](RefusalReason reason, std::string id, std::string detail) {
    return std::unexpected(refuse(reason, std::move(id), std::move(detail), peer_ip, kind, stream));
  };
  if (presented_key.empty()) {
    return refused(RefusalReason::kMissing, "", "a stream key is required");
  }
  auto id_view = parse_key_id(presented_key);
  if (!id_view) {
    return refused(RefusalReason::kMalformed, "",
                   "not a stream key (expected sk_ followed by 59 characters)");
  }
  const std::string id(*id_view);
  std::string mac;
  try {
    mac = hmac_sha256(secret_, presented_key);
  } catch (const std::exception&) {
    return refused(RefusalReason::kWrong, id, "stream key " + id + " cannot be verified");
  }
  const WallTime now = clock_.wall_now();
  RefusalReason reason = RefusalReason::kUnknown;
  std::string detail;
  auto updated = store_.update_key(id, [&](KeyRecord& r) -> Status {
    auto no = [&](RefusalReason why, std::string text) -> Status {
      reason = why;
      detail = "stream key " + id + " " + std::move(text);
      return fail(Error::forbidden(detail));
    };
    // The secret first: only a holder of the key learns its state.
    if (!equal_constant_time(mac, r.hmac)) return no(RefusalReason::kWrong, "does not match");
    if (r.revoked_at) return no(RefusalReason::kRevoked, "is revoked");
    if (r.expires_at && *r.expires_at <= now) return no(RefusalReason::kExpired, "has expired");
    if (r.kind != kind) {
      return no(RefusalReason::kWrongKind, "is a " + std::string(to_string(r.kind)) +
                                               " key, not a " + std::string(to_string(kind)) +
                                               " key");
    }
    if (stream && r.stream != *stream) {
      return no(RefusalReason::kWrongStream,
                kind == KeyKind::kPublish ? "is for stream '" + r.stream + "', not '" +
                                                redact_keys(stream->substr(0, kMaxNameLength)) + "'"
                                          : "is for another stream");
    }
    if (!ip_allowed(r, peer_ip)) {
      return no(RefusalReason::kIpForbidden, "is not allowed from " + peer_text(peer_ip));
    }
    r.last_used_at = now;
    ++r.uses;
    return {};
  });
  if (!updated) {
    if (updated.error().status == 503 || updated.error().status == 502) {
      reason = RefusalReason::kUnavailable;
      detail = "stream key " + id + " cannot be checked now: " + updated.error().detail;
    } else if (reason == RefusalReason::kUnknown) {
      detail = "unknown stream key " + id;
    }
    return refused(reason, id, std::move(detail));
  }
  accepted_.fetch_add(1, std::memory_order_relaxed);
  return KeyGrant{updated->id, updated->stream, updated->kind};
}

KeyOutcome<KeyGrant> KeyService::check_publish(std::string_view presented_key,
                                               std::string_view peer_ip,
                                               std::optional<std::string_view> stream) {
  return check(presented_key, peer_ip, KeyKind::kPublish, stream);
}

Result<bool> KeyService::is_private(std::string_view stream) {
  auto found = store_.keys_of_stream(std::string(stream));
  if (!found) return fail(found.error());
  return std::any_of(found->begin(), found->end(), [this](const KeyRecord& r) {
    return r.kind == KeyKind::kRead && state_of(r) == KeyState::kActive;
  });
}

KeyOutcome<std::optional<KeyGrant>> KeyService::check_read(
    std::string_view stream, std::optional<std::string_view> presented_key,
    std::string_view peer_ip) {
  auto found = store_.keys_of_stream(std::string(stream));
  if (!found) {
    return std::unexpected(refuse(
        RefusalReason::kUnavailable, "",
        "stream '" + redact_keys(stream) + "' cannot be checked now: " + found.error().detail,
        peer_ip, KeyKind::kRead, stream));
  }
  const auto& keys = *found;
  bool is_private = std::any_of(keys.begin(), keys.end(), [this](const KeyRecord& r) {
    return r.kind == KeyKind::kRead && state_of(r) == KeyState::kActive;
  });
  if (!is_private) return std::optional<KeyGrant>{};
  if (!presented_key || presented_key->empty()) {
    return std::unexpected(refuse(RefusalReason::kMissing, "",
                                  "stream '" + redact_keys(stream) + "' needs a read key", peer_ip,
                                  KeyKind::kRead, stream));
  }
  auto grant = check(*presented_key, peer_ip, KeyKind::kRead, stream);
  if (!grant) return std::unexpected(std::move(grant.error()));
  return std::optional<KeyGrant>(std::move(*grant));
}

std::size_t KeyService::purge_due() {
  const auto mono = clock_.mono_now().time_since_epoch().count();
  auto due = next_purge_.load();
  if (mono < due) return 0;
  const auto next = mono + std::chrono::duration_cast<Duration>(options_.purge_interval).count();
  if (!next_purge_.compare_exchange_strong(due, next)) return 0;  // another thread sweeps
  auto purged = store_.purge_keys(clock_.wall_now() - options_.purge_after);
  if (!purged) {
    next_purge_.store(0);  // try again on the next sweep
    return 0;
  }
  std::size_t n = *purged;
  if (n) {
    spdlog::info("purged {} stream key(s) revoked or expired more than {} s ago", n,
                 options_.purge_after.count());
  }
  return n;
}

KeyStats KeyService::stats() const {
  KeyStats s;
  s.created = created_.load(std::memory_order_relaxed);
  s.accepted = accepted_.load(std::memory_order_relaxed);
  for (std::size_t i = 0; i < kRefusalReasonCount; ++i)
    s.refused[i] = refused_[i].load(std::memory_order_relaxed);
  return s;
}

}  // namespace sluice::keys
