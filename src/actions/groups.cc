#include "actions/groups.h"

#include "actions/context.h"

namespace glide::actions {

using codec::Envelope;
using codec::make_message;
using codec::Text;
namespace wire = codec::action;
using session::Outbound;
using session::Session;

void on_group(Context &ctx, Session &s, Envelope &e) {
    codec::ChatMessage m;
    if (!chat_input(ctx, s, e, &m))
        return;
    m.mid = 0;
    m.seq = 0;
    ctx.groups.publish(ctx, s, e, std::move(m));
}

void Groups::publish(Context &ctx, Session &s, const Envelope &req, codec::ChatMessage msg) {
    std::string gid = msg.to;
    Group &g = groups_[gid];
    auto p = std::make_unique<Publish>();
    p->sid = s.id();
    p->env.seq = req.seq;
    p->env.action = wire::group;
    p->env.from = s.uid();
    p->env.to = gid;
    p->env.extra = req.extra;
    Publish *pp = p.get();
    g.fifo.push_back(std::move(p));
    auto m = std::make_shared<codec::ChatMessage>(std::move(msg));
    int64_t seq = req.seq;
    ctx.call(
        port::HostRequest::Kind::group_publish,
        [c = &ctx, gid, pp, m, seq](port::HostRequest &r) {
            // pp is settled first and not touched after the sends: a send may reach the host
            // (a slow consumer's presence), whose calls may pump this group and free pp.
            const bool ok = !r.timed_out() && r.status() >= 0;
            pp->done = true;
            pp->ok = ok;
            if (ok) {
                m->mid = r.store_result().mid;
                m->seq = r.store_result().seq;
                pp->seq = m->seq;
                pp->mid = m->mid;
                pp->env.data = *m;
                // Other nodes deliver to their members (published in completion order, which
                // is sequence order for this node's publishes).
                // The JSON made for them serves this node's JSON members too (pump).
                if (port::ClusterPort *bus = c->hub.cluster()) {
                    if (codec::encode_json(pp->env, &pp->json))
                        bus->to_group(gid, m->seq, pp->json);
                    else
                        pp->json.clear();
                }
            }
            if (Session *t = c->hub.find(pp->sid)) {
                if (ok)
                    t->send(make_message(0, wire::ack_message,
                                         codec::AckMessage{m->cli_mid, m->mid, {}, m->seq}));
                else
                    t->send(make_message(seq, wire::notify_error, Text{store_failure(r)}));
            }
            c->groups.pump(*c, gid);
        },
        [&ctx, m](const port::RequestPtr &r) { return ctx.host.group_publish(r, *m); });
}

// Delivers finished publishes from the head of the group's queue, in call order (= sequence
// order), once the membership is known. A delivery's sends may reach the host (a slow
// consumer's presence), which may call back: complete another publish or membership of this
// group (a nested pump, which leaves the delivering to the one on the stack, so the order
// holds), invalidate it or kick. So the publish leaves the queue before it is delivered, the
// members are walked through a reference of their own, and the group is looked up again after
// each delivery.
void Groups::pump(Context &ctx, const std::string &gid) {
    for (;;) {
        auto it = groups_.find(gid);
        if (it == groups_.end())
            return;
        Group &g = it->second;
        if (g.pumping)
            return;
        if (g.fifo.empty() || !g.fifo.front()->done) {
            // Nothing queued and nothing cached: forget the entry, so publishes to made-up
            // group ids (refused by the host) leave no state behind.
            if (g.fifo.empty() && g.members == Group::Members::unknown)
                groups_.erase(it);
            return;
        }
        // The done run at the head goes out lowest sequence first: with the cluster bus another
        // node's publish may arrive while an earlier-called one of this node is completing.
        auto pick = g.fifo.begin();
        for (auto i = pick + 1; i != g.fifo.end() && (*i)->done; ++i)
            if ((*i)->ok && (!(*pick)->ok || (*i)->seq < (*pick)->seq))
                pick = i;
        if ((*pick)->ok && g.members != Group::Members::ready) {
            load_members(ctx, gid);
            return;
        }
        // Across nodes sequences are dense (the shared store assigns them): a gap is a message
        // still on its way from another node. It gets a short wait, then the order gives way.
        if ((*pick)->ok && ctx.hub.cluster() && g.delivered_seq > 0 &&
            (*pick)->seq > g.delivered_seq + 1 && !g.gap_waited) {
            if (!g.gap_timer)
                g.gap_timer = ctx.timers.schedule(gap_wait_ms, [c = &ctx, gid] {
                    auto &groups = c->groups.groups_;
                    if (auto w = groups.find(gid); w != groups.end()) {
                        w->second.gap_timer = 0;
                        w->second.gap_waited = true;
                        c->groups.pump(*c, gid);
                    }
                });
            return;
        }
        std::unique_ptr<Publish> p = std::move(*pick);
        g.fifo.erase(pick);
        if (!p->ok)
            continue;
        g.delivered_seq = std::max(g.delivered_seq, p->seq);
        g.gap_waited = false;
        if (g.gap_timer) {
            ctx.timers.cancel(g.gap_timer);
            g.gap_timer = 0;
        }
        std::shared_ptr<const std::vector<std::string>> uids = g.uids;
        g.pumping = true;
        Outbound out(std::move(p->env));
        if (!p->json.empty())
            out.set_encoded(codec::Codec::json, std::move(p->json));
        const bool receipts = p->mid > 0 && ctx.host.group_receipts();
        for (const std::string &uid : *uids)
            ctx.hub.for_each_device(uid, [&](Session &d) {
                if (!receipts) {
                    d.send(out);
                    return;
                }
                if (!d.open() || sent_before(d.id(), gid, p->mid, p->seq))
                    return; // the replay sent it to this connection already
                const bool flushed = d.link()->buffered() == 0;
                if (d.send(out))
                    written(ctx, d, gid, p->mid, p->seq, flushed);
            });
        if (auto again = groups_.find(gid); again != groups_.end())
            again->second.pumping = false;
    }
}

void Groups::load_members(Context &ctx, const std::string &gid) {
    Group &g = groups_[gid];
    if (g.members == Group::Members::loading)
        return;
    g.members = Group::Members::loading;
    ctx.call(
        port::HostRequest::Kind::group_members,
        [c = &ctx, gid](port::HostRequest &r) {
            auto &groups = c->groups.groups_;
            auto it = groups.find(gid);
            if (it == groups.end())
                return;
            Group &grp = it->second;
            if (r.timed_out() || r.status() < 0) {
                // Without members nobody can be reached: the queued messages stay in the
                // store; the next publish asks again. Logged last: the host's log callback
                // may call back (group_invalidate erases grp).
                grp.members = Group::Members::unknown;
                while (!grp.fifo.empty() && grp.fifo.front()->done)
                    grp.fifo.pop_front();
                c->hub.log(GLIDE_LOG_ERROR, "group_members " + gid + " failed: " + r.error());
                return;
            }
            grp.uids = std::make_shared<const std::vector<std::string>>(std::move(r.members()));
            grp.members = Group::Members::ready;
            c->groups.pump(*c, gid);
        },
        [&ctx, &gid](const port::RequestPtr &r) { return ctx.host.group_members(r, gid); });
}

void Groups::remote(Context &ctx, std::string_view gid, int64_t seq, codec::Envelope env,
                    std::string_view json) {
    auto [it, fresh] = groups_.try_emplace(std::string(gid));
    auto p = std::make_unique<Publish>();
    p->sid = 0;
    p->done = p->ok = true;
    p->seq = seq;
    // The mid, for the group receipts (0: none is sent for this message).
    if (ctx.host.group_receipts())
        if (auto m = codec::decode_payload<codec::ChatMessage>(env))
            p->mid = m->mid;
    p->env = std::move(env);
    p->json = json;
    it->second.fifo.push_back(std::move(p));
    pump(ctx, std::string(gid)); // a copy: the pump may erase the entry
}

void Groups::invalidate(std::string_view gid) {
    for (auto &[sid, rs] : runs_)
        for (Run &r : rs.runs)
            if (r.gid == gid)
                r.closed = true;
    auto it = groups_.find(gid);
    if (it == groups_.end())
        return;
    if (it->second.fifo.empty() && it->second.members != Group::Members::loading) {
        groups_.erase(it);
        return;
    }
    if (it->second.members == Group::Members::ready) {
        it->second.members = Group::Members::unknown;
        it->second.uids.reset(); // a delivery walking them keeps its own reference
    }
}

// --- group receipts ---------------------------------------------------------------------------

void Groups::written(Context &ctx, const Session &s, std::string_view gid, int64_t mid, int64_t seq,
                     bool flushed) {
    if (mid <= 0 || seq <= 0 || !ctx.host.group_receipts())
        return;
    auto [it, fresh] = runs_.try_emplace(s.id());
    Runs &rs = it->second;
    if (fresh) {
        rs.uid = s.uid();
        rs.device_id = s.device_id();
    }
    if (flushed)
        for (Run &r : rs.runs) {
            r.sealed_mid = r.last_mid;
            r.sealed_seq = r.last_seq;
        }
    size_t grown = rs.runs.size();
    for (size_t i = 0; i < rs.runs.size(); i++) {
        const Run &r = rs.runs[i];
        if (r.gid != gid)
            continue;
        if (r.has(mid, seq))
            return; // written again (a replay of a connection that dropped): covered already
        if (!r.closed && seq == r.last_seq + 1 && mid > r.last_mid)
            grown = i;
    }
    if (grown < rs.runs.size()) {
        rs.runs[grown].last_seq = seq;
        rs.runs[grown].last_mid = mid;
    } else {
        if (rs.runs.size() >= max_runs)
            rs.runs.erase(rs.runs.begin());
        rs.runs.push_back({std::string(gid), mid, seq, mid, seq});
        grown = rs.runs.size() - 1;
    }
    merge_following(rs, grown);
    arm_receipts(ctx);
}

void Groups::merge_following(Runs &rs, size_t i) {
    for (size_t j = 0; j < rs.runs.size();) {
        Run &r = rs.runs[i], &q = rs.runs[j];
        if (j == i || q.gid != r.gid || r.closed || q.closed || q.first_seq != r.last_seq + 1 ||
            q.first_mid <= r.last_mid) {
            j++;
            continue;
        }
        // The sealed part goes on into q when all of r is sealed; what was reported stays r's
        // (q's receipts did not follow on: the merged run's will, from r's first message).
        if (r.sealed_seq == r.last_seq && q.sealed_seq > 0) {
            r.sealed_seq = q.sealed_seq;
            r.sealed_mid = q.sealed_mid;
        }
        r.last_seq = q.last_seq;
        r.last_mid = q.last_mid;
        rs.runs.erase(rs.runs.begin() + static_cast<std::ptrdiff_t>(j));
        if (j < i)
            i--;
        j = 0; // another may follow on from the longer run
    }
}

bool Groups::sent_before(uint64_t sid, std::string_view gid, int64_t mid, int64_t seq) const {
    auto it = runs_.find(sid);
    if (it == runs_.end())
        return false;
    for (const Run &r : it->second.runs)
        if (r.gid == gid && r.has(mid, seq))
            return true;
    return false;
}

void Groups::arm_receipts(Context &ctx) {
    if (runs_.empty() || receipt_timer_)
        return;
    receipt_timer_ = ctx.timers.schedule(receipt_interval_ms, [c = &ctx] {
        c->groups.receipt_timer_ = 0;
        c->groups.send_receipts(*c);
    });
}

size_t Groups::send_receipts(Context &ctx) {
    // Taken out of runs_ first: the host calls below may call back (a completion that writes
    // to a session again).
    struct Receipt {
        std::string uid, device_id;
        int64_t first_mid, mid;
    };
    std::vector<Receipt> ready;
    for (auto it = runs_.begin(); it != runs_.end();) {
        Runs &rs = it->second;
        Session *s = ctx.hub.find(it->first);
        const bool gone = !s || !s->authenticated() || s->uid() != rs.uid;
        const bool empty = !gone && s->link()->buffered() == 0;
        for (Run &r : rs.runs) {
            if (empty) {
                r.sealed_mid = r.last_mid;
                r.sealed_seq = r.last_seq;
            }
            // From the run's first message again: the store takes a run that overlaps its
            // cursor, and one whose earlier receipt failed follows on all the same.
            if (r.sealed_seq > r.reported_seq) {
                ready.push_back({rs.uid, rs.device_id, r.first_mid, r.sealed_mid});
                r.reported_seq = r.sealed_seq;
            }
        }
        // A closed run fully reported has nothing more to say (it grows no more; what it
        // was sent, the store has): only its memory would stay.
        std::erase_if(rs.runs,
                      [](const Run &r) { return r.closed && r.reported_seq == r.last_seq; });
        if (gone || rs.runs.empty())
            it = runs_.erase(it); // what was not sealed is not counted: sent again later
        else
            ++it;
    }
    receipt_failure_logged_ = false;
    for (const Receipt &rc : ready)
        ctx.call(
            port::HostRequest::Kind::mark_delivered,
            [c = &ctx](port::HostRequest &r) {
                if ((r.timed_out() || r.status() < 0) && !c->groups.receipt_failure_logged_) {
                    c->groups.receipt_failure_logged_ = true;
                    c->hub.log(GLIDE_LOG_WARN,
                               "group receipts failed: " +
                                   (r.timed_out() ? std::string("timed out") : r.error()) +
                                   " (those messages are sent again at the member's next "
                                   "login)");
                }
            },
            [&](const port::RequestPtr &r) {
                return ctx.host.group_delivered(r, rc.uid, rc.device_id, rc.first_mid, rc.mid);
            });
    arm_receipts(ctx);
    return ready.size();
}

} // namespace glide::actions
