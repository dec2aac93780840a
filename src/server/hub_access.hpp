#pragma once
// HubAccess: the trust rules for one hub client (/ws today; the relay's wire clients use the same
// subject rules, auth/subjects.hpp). Reading needs the subject's permission; requests
// (`maestra.stream.request.{id}`) reach only the stream's owner, also through wildcards;
// `maestra.*` and `sluice.*` are published by sluiced alone, except heartbeats of what the client
// owns; channels need channels_r / channels_rw on their subject.
#include <memory>

#include "auth/access_policy.hpp"
#include "hub/client_session.hpp"
#include "registry/registry.hpp"

namespace sluice::server {

class HubAccess final : public hub::ClientPolicy {
 public:
  // `policy` and `registry` must outlive this object.
  HubAccess(const auth::AccessPolicy& policy, registry::Registry& registry, auth::Identity who);

  Status subscribe(std::string_view pattern) override;
  bool deliver(std::string_view subject) override;
  Status publish(std::string_view subject) override;

 private:
  registry::Actor actor() const { return {who_.owner(), manages_all_}; }

  const auth::AccessPolicy& policy_;
  registry::Registry& registry_;
  const auth::Identity who_;
  const bool manages_all_;
};

}  // namespace sluice::server
