#pragma once
// KeyPolicy: the daemon's media policy. Stream keys (and users' media_rw/media_r through the
// access hook) decide who publishes and who plays private paths; media events go to the hub, the
// media_webhook and the rtmp_publish_attempts_total counters. Used by MediaWiring; no Asio here.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <spdlog/spdlog.h>

#include "core/json_text.hpp"
#include "core/time_format.hpp"
#include "hub/hub.hpp"
#include "keys/key_format.hpp"
#include "keys/key_service.hpp"
#include "media/media_policy.hpp"
#include "server/media_wiring.hpp"
#include "server/webhook_sender.hpp"

namespace sluice::server {

// The value of `name=` in a query string ("key=sk_…&x=y"); keys and tokens are URL-safe as
// issued.
inline std::optional<std::string_view> query_param(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    if (part.size() > name.size() && part.starts_with(name) && part[name.size()] == '=') {
      return part.substr(name.size() + 1);
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

inline std::optional<std::string_view> query_key(std::string_view query) {
  return query_param(query, "key");
}

// Stream keys decide who publishes and who plays private paths; events go to the hub, the
// webhook and the counters.
class KeyPolicy final : public media::MediaPolicy {
 public:
  KeyPolicy(keys::KeyService& keys, hub::Hub& hub, const std::string& webhook)
      : keys_(keys), hub_(hub) {
    set_webhook(webhook);
  }

  // The media_webhook setting: events from now on go to `url` (empty: none). Events queued
  // for the previous URL are dropped with its sender. Throws std::invalid_argument for a URL
  // WebhookSender refuses. Any thread.
  void set_webhook(const std::string& url) {
    auto sender = url.empty() ? nullptr : std::make_shared<WebhookSender>(url);
    std::lock_guard lock(mutex_);
    webhook_.swap(sender);  // the previous sender stops (joins) outside the lock, below
  }

  // OBS sends the key as the stream name (rtmp://HOST/live + key); ffmpeg may send
  // `NAME?key=KEY`, and then NAME must be the key's stream. Every outcome is one key check, so
  // sluice_stream_key_checks_total and rtmp_publish_attempts_total count refusals alike.
  Result<media::PublishGrant> authorize_publish(std::string_view, std::string_view name,
                                                std::string_view query, std::string_view peer_ip,
                                                const media::Credentials& credentials) override {
    const auto from_query = query_key(query);
    std::string_view key = from_query ? *from_query : std::string_view();
    if (!from_query && name.starts_with(keys::kKeyPrefix)) key = name;
    // No key but a user's credentials (rtsp://user:password@HOST/live/NAME): media_rw on NAME.
    if (key.empty() && !credentials.authorization.empty() && access_ && !name.empty()) {
      auto allowed = access_(name, true, credentials.authorization, credentials.method,
                             query_param(query, "token").value_or(""), peer_ip);
      if (!allowed) {
        count(allowed.error().status == 401 ? "unauthorized" : "forbidden");
        return fail(allowed.error());
      }
      return media::PublishGrant{std::string(name), {}};
    }
    std::optional<std::string_view> stream;
    if (from_query && !name.empty()) stream = name;
    auto grant = keys_.check_publish(key, peer_ip, stream);
    if (!grant) {
      count(std::string(keys::to_string(grant.error().reason)));
      Error error = grant.error().to_error();
      if (grant.error().reason == keys::RefusalReason::kMissing) {
        error.detail =
            "a stream key is required: use rtmp://HOST/live as server and the key from `sluice "
            "keys create NAME` as stream key";
      }
      return fail(std::move(error));
    }
    return media::PublishGrant{grant->stream, grant->key_id};
  }

  Status authorize_play(std::string_view path, std::string_view query, std::string_view peer_ip,
                        const media::Credentials& credentials) override {
    const auto key = query_key(query);
    auto read = keys_.check_read(path, key, peer_ip);
    if (!read) return fail(read.error().to_error());
    if (key) return {};  // a valid read key grants playback by itself
    // No read key on this path: the caller's identity needs media_r on it.
    return access_ ? access_(path, false, credentials.authorization, credentials.method,
                             query_param(query, "token").value_or(""), peer_ip)
                   : Status{};
  }

  // Whether `path` may be played without a read key (ONVIF lists only such paths).
  Status keyless(std::string_view path) {
    auto is_private = keys_.is_private(path);
    if (!is_private) return fail(is_private.error());
    if (*is_private) return fail(Error::forbidden("a private path"));
    return {};
  }

  std::vector<std::string> challenges() const override {
    return challenges_ ? challenges_() : media::MediaPolicy::challenges();
  }
  void set_challenges(std::function<std::vector<std::string>()> c) { challenges_ = std::move(c); }

  using MediaAccess = MediaWiring::MediaAccess;
  void set_media_access(MediaAccess check) { access_ = std::move(check); }

  void on_event(const media::MediaEvent& e) override {
    if (e.kind == media::MediaEventKind::kPostPublish) count("accepted");
    if (e.kind == media::MediaEventKind::kPrePublish && e.refused && !e.path.empty()) {
      count("busy");  // the key was good, the path is live
    }
    // What a client sent (a key pasted as application or path) is never echoed.
    boost::json::object o{{"event", media::event_name(e.kind)},
                          {"client_id", e.client_id},
                          {"protocol", e.protocol},
                          {"remote", e.remote},
                          {"app", keys::redact_keys(e.app)},
                          {"path", keys::redact_keys(e.path)},
                          {"key_id", e.key_id},
                          {"refused", e.refused},
                          {"reason", keys::redact_keys(e.reason)},
                          {"time", format_timestamp(std::chrono::system_clock::now())}};
    std::string json = to_json_text(o);
    if (auto hook = webhook()) hook->send(json);
    hub_.publish("sluice.media." + std::string(media::event_name(e.kind)), std::move(json));
  }

  std::map<std::string, std::uint64_t> attempts() const {
    std::lock_guard lock(mutex_);
    return attempts_;
  }
  std::shared_ptr<WebhookSender> webhook() const {
    std::lock_guard lock(mutex_);
    return webhook_;
  }

 private:
  void count(const std::string& status) {
    std::lock_guard lock(mutex_);
    attempts_[status]++;
  }

  keys::KeyService& keys_;
  hub::Hub& hub_;
  MediaAccess access_;                                    // set before the media thread starts
  std::function<std::vector<std::string>()> challenges_;  // likewise
  mutable std::mutex mutex_;
  std::shared_ptr<WebhookSender> webhook_;         // guarded by mutex_
  std::map<std::string, std::uint64_t> attempts_;  // rtmp_publish_attempts_total{status}
};

}  // namespace sluice::server
