// glidectl admin: glided's admin HTTP API from the command line. Prints the answer's body
// (pretty or not, as the server sent it) and exits 0 for a 2xx status, 1 otherwise.
#include <cstdio>

#include <jansson.h>

#include "client/admin.h"
#include "glidectl/glidectl.h"

namespace glide::ctl {

namespace {

// A JSON string literal for `s` (jansson escapes it).
std::string json_string(const std::string &s) {
    json_t *j = json_stringn(s.data(), s.size());
    if (!j)
        return "\"\"";
    char *text = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
    std::string out = text ? text : "\"\"";
    free(text);
    json_decref(j);
    return out;
}

struct Call {
    std::string method, path, body;
};

Result<Call> build(const std::vector<std::string> &a) {
    auto arity = [&](size_t min, size_t max) { return a.size() >= min && a.size() <= max; };
    const std::string &what = a[0];
    if (what == "groups" && a.size() >= 3 && a[1] == "create") {
        std::string members = "[";
        for (size_t i = 3; i < a.size(); i++)
            members += (i > 3 ? "," : "") + json_string(a[i]);
        members += "]";
        return Call{"POST", "/v1/groups",
                    "{\"gid\":" + json_string(a[2]) + ",\"members\":" + members + "}"};
    }
    if (what == "groups" && a.size() == 3 && a[1] == "delete")
        return Call{"DELETE", "/v1/groups/" + client::url_escape(a[2]), ""};
    if (what == "members" && a.size() == 4 && (a[1] == "add" || a[1] == "remove"))
        return Call{a[1] == "add" ? "PUT" : "DELETE",
                    "/v1/groups/" + client::url_escape(a[2]) + "/members/" +
                        client::url_escape(a[3]),
                    ""};
    if (what == "push" && a.size() == 3) {
        json_error_t err;
        json_t *env = json_loads(a[2].c_str(), JSON_DECODE_ANY, &err);
        if (!env || !json_is_object(env)) {
            json_decref(env);
            return make_error("push: the envelope is not a JSON object: " +
                              std::string(env ? "not an object" : err.text));
        }
        json_decref(env);
        return Call{"POST", "/v1/push", "{\"to\":" + json_string(a[1]) + ",\"envelope\":" + a[2] + "}"};
    }
    if (what == "kick" && arity(2, 3)) {
        std::string body = "{\"uid\":" + json_string(a[1]);
        if (a.size() == 3)
            body += ",\"device\":" + json_string(a[2]);
        return Call{"POST", "/v1/kick", body + "}"};
    }
    if (what == "sessions" && a.size() == 2)
        return Call{"GET", "/v1/sessions?uid=" + client::url_escape(a[1]), ""};
    return make_error("unknown admin command; expected groups create GID [UID...], groups "
                      "delete GID, members add|remove GID UID, push UID JSON, kick UID "
                      "[DEVICE] or sessions UID");
}

} // namespace

int cmd_admin(int argc, char **argv) {
    auto o = client::Options::parse(argc, argv, 2, {"token", "timeout"}, {});
    if (!o)
        return usage_error(o.error());
    const auto &pos = o->positional();
    if (pos.size() < 2)
        return usage_error("admin needs a URL and a command");
    auto timeout = o->number("timeout", 10000, 1, 3600000, true);
    if (!timeout)
        return usage_error(timeout.error());
    std::vector<std::string> rest(pos.begin() + 1, pos.end());
    auto call = build(rest);
    if (!call)
        return usage_error(call.error());
    auto r = client::admin_call(pos[0], o->get("token"), call->method, call->path, call->body,
                                static_cast<int>(*timeout));
    if (!r)
        return fail(r.error());
    if (!r->body.empty())
        printf("%s%s", r->body.c_str(), r->body.back() == '\n' ? "" : "\n");
    if (r->status < 200 || r->status > 299) {
        fprintf(stderr, "glidectl: admin API answered %d\n", r->status);
        return 1;
    }
    return 0;
}

} // namespace glide::ctl
