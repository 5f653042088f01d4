#include "host/admin/admin_groups.h"

#include <memory>

#include "host/admin/admin_json.h"

namespace glide::host {

int store_status(int glide_status) {
    switch (glide_status) {
    case GLIDE_ENOTFOUND: return 404;
    case GLIDE_ESTATE: return 409;
    default: return 500;
    }
}

namespace {

AdminResponse store_error(const store::Outcome &o) {
    return admin_error(store_status(o.status),
                       o.error.empty() ? "store failed" : o.error);
}

// The gid/uid strings of a path are limited like the protocol's ids.
bool valid_id(const std::string &s) { return !s.empty() && s.size() <= 256; }

constexpr size_t max_members = 10000; // per creating request

// A group being created: its members are added one after the other, then the answer. A
// backend may complete inside the call (memory): the loop goes on without recursing, so a long
// member list cannot exhaust the stack.
struct Creation {
    AdminServer *admin;
    std::weak_ptr<bool> alive; // the admin server's
    store::Store *store;
    std::string gid;
    std::vector<std::string> members;
    size_t next = 0;
    bool failed = false;
    AdminServer::Respond respond;

    static void run(const std::shared_ptr<Creation> &c) {
        while (!c->failed) {
            if (c->next == c->members.size()) {
                c->admin->invalidate_group(c->gid);
                JsonPtr o(json_object());
                json_object_set_new(o.get(), "gid", json_stringn(c->gid.data(), c->gid.size()));
                json_object_set_new(o.get(), "members",
                                    json_integer(static_cast<json_int_t>(c->members.size())));
                c->respond({201, json_text(o.get())});
                return;
            }
            // 0: the call has not returned, 1: answered inside it, 2: it returned first.
            auto state = std::make_shared<int>(0);
            c->store->add_member(c->gid, c->members[c->next++], [c, state](store::Outcome o) {
                if (c->alive.expired())
                    return;
                if (!o.ok()) {
                    c->failed = true;
                    c->admin->invalidate_group(c->gid);
                    c->respond(store_error(o));
                    return;
                }
                if (*state == 0)
                    *state = 1;
                else
                    run(c);
            });
            if (*state != 1) {
                *state = 2;
                return;
            }
        }
    }
};

AdminResponse group_json(const std::string &gid, const char *key, json_t *value) {
    JsonPtr o(json_object());
    json_object_set_new(o.get(), "gid", json_stringn(gid.data(), gid.size()));
    json_object_set_new(o.get(), key, value);
    return {200, json_text(o.get())};
}

} // namespace

void add_group_routes(AdminServer &admin, store::Store *store) {
    AdminServer *a = &admin;
    admin.route("POST", "v1/groups", [a, store](AdminServer::Call &call) {
        auto doc = parse_json_object(call.body);
        if (!doc)
            return call.respond(admin_error(400, doc.error()));
        auto gid = string_field(doc->get(), "gid", true);
        if (!gid)
            return call.respond(admin_error(400, gid.error()));
        if (!valid_id(*gid))
            return call.respond(admin_error(400, "\"gid\" is longer than 256 bytes"));
        auto c = std::make_shared<Creation>();
        json_t *members = json_object_get(doc->get(), "members");
        if (members && !json_is_null(members)) {
            if (!json_is_array(members))
                return call.respond(
                    admin_error(400, "\"members\" must be an array of uid strings"));
            size_t i;
            json_t *m;
            json_array_foreach(members, i, m) {
                if (!json_is_string(m) || json_string_length(m) == 0 ||
                    json_string_length(m) > 256)
                    return call.respond(admin_error(
                        400, "\"members\" must be an array of non-empty uid strings"));
                c->members.emplace_back(json_string_value(m), json_string_length(m));
            }
            if (c->members.size() > max_members)
                return call.respond(admin_error(
                    400, "\"members\" lists more than " + std::to_string(max_members) +
                             " uids; add the rest with PUT /v1/groups/{gid}/members/{uid}"));
        }
        c->admin = a;
        c->alive = a->alive();
        c->store = store;
        c->gid = *gid;
        c->respond = call.respond;
        store->create_group(c->gid, [c](store::Outcome o) {
            if (c->alive.expired())
                return;
            if (!o.ok())
                return c->respond(store_error(o));
            Creation::run(c);
        });
    });
    admin.route("GET", "v1/groups", [store](AdminServer::Call &call) {
        auto respond = call.respond;
        store->list_groups([respond](store::Outcome o, std::vector<std::string> gids) {
            if (!o.ok())
                return respond(store_error(o));
            JsonPtr arr(json_array());
            for (const std::string &g : gids)
                json_array_append_new(arr.get(), json_stringn(g.data(), g.size()));
            JsonPtr r(json_object());
            json_object_set(r.get(), "groups", arr.get());
            respond({200, json_text(r.get())});
        });
    });
    admin.route("GET", "v1/groups/*", [store](AdminServer::Call &call) {
        std::string gid = call.segments[2];
        auto respond = call.respond;
        store->group_members(gid, [respond, gid](store::Outcome o,
                                                 std::vector<std::string> uids) {
            if (!o.ok())
                return respond(store_error(o));
            json_t *arr = json_array();
            for (const std::string &u : uids)
                json_array_append_new(arr, json_stringn(u.data(), u.size()));
            respond(group_json(gid, "members", arr));
        });
    });
    admin.route("DELETE", "v1/groups/*", [a, store](AdminServer::Call &call) {
        std::string gid = call.segments[2];
        auto respond = call.respond;
        store->delete_group(gid, [a, alive = a->alive(), respond, gid](store::Outcome o) {
            if (alive.expired())
                return;
            if (!o.ok())
                return respond(store_error(o));
            a->invalidate_group(gid);
            respond(group_json(gid, "deleted", json_true()));
        });
    });
    auto member = [a, store](AdminServer::Call &call, bool add) {
        std::string gid = call.segments[2], uid = call.segments[4];
        if (!valid_id(uid))
            return call.respond(admin_error(400, "the uid is longer than 256 bytes"));
        auto respond = call.respond;
        auto done = [a, alive = a->alive(), respond, gid, uid, add](store::Outcome o) {
            if (alive.expired())
                return;
            if (!o.ok())
                return respond(store_error(o));
            a->invalidate_group(gid);
            JsonPtr r(json_object());
            json_object_set_new(r.get(), "gid", json_stringn(gid.data(), gid.size()));
            json_object_set_new(r.get(), "uid", json_stringn(uid.data(), uid.size()));
            json_object_set_new(r.get(), "member", json_boolean(add));
            respond({200, json_text(r.get())});
        };
        if (add)
            store->add_member(gid, uid, done);
        else
            store->remove_member(gid, uid, done);
    };
    admin.route("PUT", "v1/groups/*/members/*",
                [member](AdminServer::Call &call) { member(call, true); });
    admin.route("DELETE", "v1/groups/*/members/*",
                [member](AdminServer::Call &call) { member(call, false); });
}

} // namespace glide::host
