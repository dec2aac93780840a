#include "server/hub_access.hpp"

#include "auth/subjects.hpp"
#include "hub/subject.hpp"

namespace sluice::server {
namespace {

constexpr std::string_view kRequestPrefix = "maestra.stream.request.";

// The id a heartbeat subject names and the kind of record it is for.
std::pair<registry::Kind, std::string> heartbeat_target(std::string_view subject) {
  auto id = std::string(subject.substr(subject.rfind('.') + 1));
  if (subject.starts_with("maestra.stream.session.")) return {registry::Kind::kSession, id};
  if (subject.starts_with("maestra.stream.subscriber.")) return {registry::Kind::kSubscriber, id};
  return {registry::Kind::kStream, id};
}

}  // namespace

HubAccess::HubAccess(const auth::AccessPolicy& policy, registry::Registry& registry,
                     auth::Identity who, audit::AuditLog* audit, std::string door)
    : policy_(policy),
      registry_(registry),
      who_(std::move(who)),
      manages_all_(policy.manages_all(who_)),
      audit_(audit),
      door_(std::move(door)) {}

Status HubAccess::audited(Status verdict, std::string_view action, std::string_view subject) const {
  if (!verdict && audit_) {
    audit_->record(audit::Entry{who_.owner(), who_.address, door_, std::string(action),
                                std::string(subject), verdict.error().status,
                                verdict.error().detail});
  }
  return verdict;
}

Status HubAccess::subscribe(std::string_view pattern) {
  return audited(check_subscribe(pattern), "sub", pattern);
}

Status HubAccess::publish(std::string_view subject) {
  return audited(check_publish(subject), "pub", subject);
}

Status HubAccess::check_subscribe(std::string_view pattern) {
  // One stream's requests: only its owner may listen (a wildcard is filtered per message).
  if (pattern.starts_with(kRequestPrefix) && hub::is_valid_subject(pattern)) {
    if (!registry_.may_answer(std::string(pattern.substr(kRequestPrefix.size())), actor())) {
      return fail(Error::forbidden("only the owner of stream " +
                                   std::string(pattern.substr(kRequestPrefix.size())) +
                                   " may subscribe to its requests"));
    }
    return {};
  }
  if (auto need = auth::subscribe_need(pattern)) return policy_.authorize(who_, *need);
  return {};
}

bool HubAccess::deliver(std::string_view subject) {
  if (auth::classify_subject(subject) == auth::SubjectClass::kRequest) {
    return registry_.may_answer(std::string(subject.substr(kRequestPrefix.size())), actor());
  }
  auto need = auth::read_need(subject);
  return need && policy_.allows(who_, *need);
}

Status HubAccess::check_publish(std::string_view subject) {
  switch (auth::classify_subject(subject)) {
    case auth::SubjectClass::kHeartbeat: {
      auto [kind, id] = heartbeat_target(subject);
      auth::Need need{
          kind == registry::Kind::kStream ? auth::Resource::kStreams : auth::Resource::kSessions,
          auth::Access::kWrite,
          {}};
      if (auto ok = policy_.authorize(who_, need); !ok) return ok;
      return registry_.may_heartbeat(kind, id, actor());
    }
    case auth::SubjectClass::kRequest:
    case auth::SubjectClass::kRegistry:
    case auth::SubjectClass::kSluice:
      if (who_.kind == auth::Identity::Kind::kSystem) return {};
      return fail(Error::forbidden(
          "subject '" + std::string(subject) +
          "' is reserved: maestra.* and sluice.* are published by sluiced alone (clients may "
          "publish heartbeats of what they own)"));
    case auth::SubjectClass::kChannel:
      break;
  }
  return policy_.authorize(
      who_, auth::Need{auth::Resource::kChannels, auth::Access::kWrite, std::string(subject)});
}

}  // namespace sluice::server
