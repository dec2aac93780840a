// The Registry's ownership rules (issue 12; docs/security.md, "Ownership"): who may heartbeat,
// withdraw or answer for a stream and its sessions and subscribers. A record's owner is the
// identity that created it (Actor::owner); an actor that manages all (admin, operator) may act on
// anything; a stream's owner binding lives in the store and outlives the stream.

#include "registry/registry.hpp"

namespace sluice::registry {

Status Registry::may_heartbeat(Kind kind, const std::string& id, const Actor& actor) {
  if (actor.manages_all) return {};
  switch (kind) {
    case Kind::kStream:
      return check_stream_owner(id, actor, "heartbeat");
    case Kind::kSession: {
      auto found = store_.get_session(id);
      if (!found) return fail(found.error());
      if (!*found) return {};
      return check_child_owner((*found)->stream_id, (*found)->owner, actor, "Session " + id);
    }
    case Kind::kSubscriber: {
      auto found = store_.get_subscriber(id);
      if (!found) return fail(found.error());
      if (!*found) return {};
      return check_child_owner((*found)->stream_id, (*found)->owner, actor, "Subscriber " + id);
    }
  }
  return {};
}

bool Registry::may_answer(const std::string& stream_id, const Actor& actor) {
  if (actor.manages_all) return true;
  auto owner = store_.get_owner(stream_id);
  return owner && *owner && **owner == actor.owner;
}

Status Registry::check_owner(const Actor& actor, std::initializer_list<std::string_view> owners,
                             std::string_view what) {
  if (actor.manages_all) return {};
  for (auto o : owners) {
    if (o.empty() || o == actor.owner) return {};
  }
  return fail(Error::forbidden(std::string(what) + " belongs to another client"));
}

Status Registry::check_stream_owner(const std::string& stream_id, const Actor& actor,
                                    std::string_view what) {
  if (actor.manages_all) return {};
  auto owner = store_.get_owner(stream_id);
  if (!owner) return fail(owner.error());
  if (!*owner || **owner == actor.owner) return {};
  return fail(Error::forbidden("Stream " + stream_id +
                               " belongs to another client: only its owner may " +
                               std::string(what) + " it"));
}

Status Registry::check_child_owner(const std::string& stream_id, const std::string& child_owner,
                                   const Actor& actor, std::string_view what) {
  if (actor.manages_all || child_owner.empty() || child_owner == actor.owner) return {};
  auto stream_owner = store_.get_owner(stream_id);
  if (!stream_owner) return fail(stream_owner.error());
  if (*stream_owner && **stream_owner == actor.owner) return {};
  return fail(Error::forbidden(std::string(what) +
                               " belongs to another client: only its owner or the stream's may "
                               "change it"));
}

// ---- expiry ----------------------------------------------------------------------------------

}  // namespace sluice::registry
