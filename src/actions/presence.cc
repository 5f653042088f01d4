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
    for (const std::string &uid : sub.uids) {
        if (s.watching().size() >= max_watch) {
            s.send(
                make_message(0, wire::notify_error, codec::Text{"too many state subscriptions"}));
            return;
        }
        ctx.hub.watch(s, uid);
        if (!s.send(
                make_message(0, wire::notify_state, codec::UserState{uid, ctx.hub.online(uid)})))
            return;
    }
}

} // namespace glide::actions
