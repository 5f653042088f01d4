#include "actions/presence.h"

#include "actions/context.h"

namespace glide::actions {

using codec::make_message;
namespace wire = codec::action;
using session::Session;

void on_state_sub(Context &ctx, Session &s, codec::Envelope &e) {
    codec::StateSubscribe sub;
    if (!payload(ctx, s, e, &sub))
        return;
    std::vector<std::string> uids;
    bool too_many = false;
    for (std::string &uid : sub.uids) {
        if (s.watching() >= max_watch) {
            too_many = true;
            break;
        }
        ctx.hub.watch(s, uid);
        uids.push_back(std::move(uid));
    }
    // The current state of each, then every change. With the cluster bus the state is the
    // cluster's (asked of the directory after the watch began, so no change falls between).
    auto answer = [c = &ctx, sid = s.id(), too_many](const std::vector<std::string> &who,
                                                     const std::vector<bool> &online) {
        for (size_t i = 0; i < who.size(); i++) {
            Session *t = c->hub.find(sid);
            bool on = online.empty() ? c->hub.online(who[i]) : online[i];
            if (!t || !t->send(make_message(0, wire::notify_state, codec::UserState{who[i], on})))
                return;
        }
        if (too_many)
            if (Session *t = c->hub.find(sid))
                t->send(make_message(0, wire::notify_error,
                                     codec::Text{"too many state subscriptions"}));
    };
    port::ClusterPort *bus = ctx.hub.cluster();
    if (!bus || uids.empty()) {
        answer(uids, {});
        return;
    }
    std::vector<std::string> asked = uids;
    bus->query_online(std::move(asked),
                      [answer, uids = std::move(uids)](std::vector<bool> online) {
                          answer(uids, online);
                      });
}

} // namespace glide::actions
