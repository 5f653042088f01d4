// The admin API's group endpoints, over the host's store (host/store/store.h):
//   POST   /v1/groups                      {"gid": "g1", "members": ["u1", ...]}  → 201
//   GET    /v1/groups                      → {"groups": [...]}
//   GET    /v1/groups/{gid}                → {"gid", "members": [...]}
//   DELETE /v1/groups/{gid}                → {"gid", "deleted": true}
//   PUT    /v1/groups/{gid}/members/{uid}  → {"gid", "uid", "member": true}
//   DELETE /v1/groups/{gid}/members/{uid}  → {"gid", "uid", "member": false}
// Unknown group or member: 404; creating an existing group: 409. Every change is answered
// after the store has it and the modules have forgotten their cached membership
// (glide_api.group_invalidate).
#pragma once

#include "host/admin/admin.h"
#include "host/store/store.h"

namespace glide::host {

// Adds the routes to `admin`. `store` must outlive the admin server's requests (glided closes
// the store after the admin server).
void add_group_routes(AdminServer &admin, store::Store *store);

// HTTP status for a store outcome: 404 not found, 409 exists, 500 otherwise.
int store_status(int glide_status);

} // namespace glide::host
