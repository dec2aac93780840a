#pragma once
// HubAccess: the trust rules for one hub client (/ws today; the relay's wire clients use the same
// subject rules, auth/subjects.hpp). Reading needs the subject's permission; requests
// (`maestra.stream.request.{id}`) reach only the stream's owner, also through wildcards;
// `maestra.*` and `sluice.*` are published by sluiced alone, except heartbeats of what the client
// owns; channels need channels_r / channels_rw on their subject.
#include <memory>

#include "audit/audit_log.hpp"
#include "auth/access_policy.hpp"
#include "hub/client_session.hpp"
#include "registry/registry.hpp"

namespace sluice::server {

class HubAccess final : public hub::ClientPolicy {
 public:
  // `policy`, `registry` and `audit` (may be null) must outlive this object. `door` names the
  // client's way in for the audit trail ("ws", "wire").
  HubAccess(const auth::AccessPolicy& policy, registry::Registry& registry, auth::Identity who,
            audit::AuditLog* audit = nullptr, std::string door = "ws");

  Status subscribe(std::string_view pattern) override;
  bool deliver(std::string_view subject) override;
  Status publish(std::string_view subject) override;

 private:
  registry::Actor actor() const { return {who_.owner(), manages_all_}; }
  Status check_subscribe(std::string_view pattern);
  Status check_publish(std::string_view subject);
  // Records a refusal in the audit trail and passes it on.
  Status audited(Status verdict, std::string_view action, std::string_view subject) const;

  const auth::AccessPolicy& policy_;
  registry::Registry& registry_;
  const auth::Identity who_;
  const bool manages_all_;
  audit::AuditLog* audit_;
  std::string door_;
};

}  // namespace sluice::server
