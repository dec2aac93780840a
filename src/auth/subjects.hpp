#pragma once
// What it takes to read and to publish each hub subject — the rule SSE, /ws and the relay share.
//   maestra.stream.request.{id}            requests: delivered to the stream's owner alone
//   maestra.stream.session.*, .subscriber.*  sessions_r to read
//   maestra.* (other registry events)      streams_r to read
//   sluice.media.*                         media_r;  sluice.settings.* settings_r;
//   sluice.audit                           users_rw; other sluice.* streams_r
//   anything else                          a relay channel: channels_r / channels_rw on it
// `maestra.*` and `sluice.*` are published by sluiced alone, except a client's heartbeats and
// replies for what it owns (checked by the registry, not here).
#include <optional>
#include <string_view>

#include "auth/permissions.hpp"

namespace sluice::auth {

enum class SubjectClass {
  kRequest,    // maestra.stream.request.{id}
  kHeartbeat,  // maestra.stream.{,session.,subscriber.}heartbeat.{id}
  kRegistry,   // other maestra.* subjects
  kSluice,     // sluice.*
  kChannel,    // everything else: relay channels
};

SubjectClass classify_subject(std::string_view subject);

// True for subjects under maestra.* and sluice.* (the reserved namespaces).
bool is_reserved_subject(std::string_view subject);

// What reading messages on `subject` needs. nullopt for requests (owner only).
std::optional<Need> read_need(std::string_view subject);

// What subscribing to `pattern` needs up front: channels_r on it for channel patterns, the
// class's read permission for a pattern inside one reserved class, nothing for patterns that
// span classes (`>`, `*.x`: filtered per message with read_need).
std::optional<Need> subscribe_need(std::string_view pattern);

}  // namespace sluice::auth
