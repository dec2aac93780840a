#pragma once
// The /auth routes (issue 12): who am I, roles, users and API tokens. Secrets never leave:
// users are listed without verifiers, tokens without hashes; a new token's text is in the 201
// answer of POST /auth/tokens and nowhere else.
//   GET    /auth/whoami            the caller's identity, role and permissions (public)
//   GET    /auth/roles             built-in and custom roles
//   PUT    /auth/roles/{name}      create or replace a custom role {"permissions": [...], ...}
//   DELETE /auth/roles/{name}
//   GET    /auth/users | POST /auth/users {"name","password","role"} (201)
//   PATCH  /auth/users/{name} {"password"?, "role"?} | DELETE /auth/users/{name}
//   GET    /auth/tokens | POST /auth/tokens {"name","role","expires_in"?} (201, with `token`)
//   DELETE /auth/tokens/{id}       by id or name
#include "http/router.hpp"

namespace sluice::auth {
class Directory;
class AccessPolicy;
}  // namespace sluice::auth

namespace sluice::http {

// Called after each change with (action, target) for the audit trail; may be empty.
using AuthAudit = std::function<void(const HttpRequest&, std::string_view action,
                                     std::string_view target, int status)>;

// `directory` and `policy` must outlive the router.
void add_auth_routes(Router& router, auth::Directory& directory, const auth::AccessPolicy& policy);

}  // namespace sluice::http
