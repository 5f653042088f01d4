#include "hub/hub.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cstdio>
#include <random>

namespace glide::hub {

using codec::Envelope;
using codec::make_message;
namespace action = codec::action;
using session::Outbound;
using session::Session;

// --- life ------------------------------------------------------------------------------

session::TempId make_temp_id() {
    session::TempId id;
    uint8_t *b = id.bytes;
    if (RAND_bytes(b, sizeof id.bytes) != 1) {
        // No entropy from OpenSSL: an id need not be secret, only unique.
        static thread_local std::mt19937_64 rng{std::random_device{}()};
        for (int i = 0; i < 16; i++)
            b[i] = static_cast<uint8_t>(rng());
    }
    b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x40);
    b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);
    return id;
}

Hub::Hub(port::HostPort *host, session::TimerService *timers, HubConfig conf, Stats *stats)
    : host_(host), timers_(timers), conf_(std::move(conf)), stats_(stats),
      session_env_{timers, this,
                   {conf_.heartbeat_interval_ms, conf_.heartbeat_lost, conf_.send_buffer_limit}} {}

Hub::~Hub() {
    timers_->cancel(reap_timer_);
}

Session *Hub::open(session::Link *link) {
    if (stats_->draining) {
        link->close(session::close_code::going_away, "server shutting down");
        return nullptr;
    }
    uint64_t id = next_session_id_++;
    auto s = std::make_unique<Session>(id, link, &session_env_, make_temp_id());
    Session *p = s.get();
    sessions_.emplace(id, std::move(s));
    p->start();
    codec::ServerHello h;
    h.server_version = conf_.server_version;
    h.temp_id = p->temp_id();
    h.heartbeat_interval = static_cast<int64_t>(conf_.heartbeat_interval_ms / 1000);
    h.protocols = {"glide.json", "glide.protobuf"};
    p->send(make_message(0, action::hello, std::move(h)));
    return p;
}

void Hub::on_closed(Session *s) {
    if (!s || s->state() == session::State::closed)
        return;
    s->mark_closed();
    dead_.push_back(s->id());
    schedule_reap();
}

void Hub::schedule_reap() {
    if (reap_timer_)
        return;
    reap_timer_ = timers_->schedule(0, [this] {
        reap_timer_ = 0;
        reap();
    });
}

void Hub::reap() {
    for (uint64_t id : dead_)
        sessions_.erase(id);
    dead_.clear();
}

Session *Hub::find(uint64_t id) const {
    auto it = sessions_.find(id);
    return it != sessions_.end() && it->second->open() ? it->second.get() : nullptr;
}

void DeviceList::push_back(Session *s) {
    if (size_ == cap_) {
        const uint32_t cap = cap_ * 2;
        auto *p = new Session *[cap];
        std::copy(begin(), end(), p);
        if (cap_ > 1)
            delete[] many_;
        many_ = p;
        cap_ = cap;
    }
    data()[size_++] = s;
}

void DeviceList::erase(Session *const *pos) {
    Session **d = data();
    const size_t i = static_cast<size_t>(pos - d);
    std::copy(d + i + 1, d + size_, d + i);
    size_--;
}

const DeviceList &Hub::devices(std::string_view uid) const {
    static const DeviceList none;
    auto it = users_.find(uid);
    return it == users_.end() ? none : it->second;
}

void Hub::session_sent(Session &, std::string_view act, size_t) {
    stats_->messages_out_by_action.add(act);
}

void Hub::session_closing(Session &s) {
    unregister_identity(s);
    for (const std::string &uid : s.take_watching()) {
        auto it = watchers_.find(uid);
        if (it == watchers_.end())
            continue;
        std::erase(it->second, s.id());
        if (it->second.empty()) {
            watchers_.erase(it);
            if (cluster_)
                cluster_->unwatch(uid);
        }
    }
}

// --- identity ----------------------------------------------------------------------------

// The host may call back into the hub from presence (glide/host.h: a kick, a completion that
// registers another login, a drain), which edits users_ and the device lists. So each function
// below finishes its table update first and then reports, holding no reference into the tables
// across the call; what it does after a report it looks up again.

void Hub::unregister_identity(Session &s) {
    if (s.uid().empty())
        return;
    auto it = users_.find(s.uid());
    if (it == users_.end())
        return;
    auto &v = it->second;
    auto pos = std::find(v.begin(), v.end(), &s);
    if (pos == v.end())
        return;
    v.erase(pos);
    const bool last = v.empty();
    if (last)
        users_.erase(it);
    if (cluster_)
        cluster_->left(s.uid(), s.device_id(), last);
    if (last)
        local_state(s.uid(), false);
    host_->presence(s.uid(), s.device_id(), conf_.node_id, false);
}

// Takes the session logged in as (uid, device) other than `s` out of the tables, or null.
Session *Hub::take_device(std::string_view uid, std::string_view device_id, const Session &s) {
    auto it = users_.find(uid);
    if (it == users_.end())
        return nullptr;
    auto &v = it->second;
    for (Session *const *p = v.begin(); p != v.end(); ++p) {
        Session *old = *p;
        if (old == &s || old->device_id() != device_id)
            continue;
        v.erase(p);
        // No offline notify.state: the newcomer takes the place (it reports online).
        if (v.empty())
            users_.erase(it);
        return old;
    }
    return nullptr;
}

void Hub::register_identity(Session &s, const port::AuthResult &r) {
    const std::string &uid = r.uid;
    if (s.authenticated() && s.uid() == uid && s.device_id() == r.device_id) {
        // Re-authentication as the same identity: new secrets and settings, no presence flap.
        s.set_identity(uid, r.device_id, r.device_name, r.message_deliver_secret,
                       r.heartbeat_interval_ms, r.heartbeat_lost);
        return;
    }
    // Re-authentication as someone else on the same connection: leave the old identity first.
    unregister_identity(s);
    // A second login of the same (uid, device) kicks the first (design.md §5.4). The first is
    // out of the tables before it is closed, so its close reports nothing; it is reported
    // here, before the newcomer reports online.
    if (Session *old = take_device(uid, r.device_id, s)) {
        old->send(make_message(0, action::notify_kickout,
                               codec::KickOutNotify{r.device_id, r.device_name}));
        old->close(session::close_code::kicked_out, "kicked out");
        host_->presence(old->uid(), old->device_id(), conf_.node_id, false);
    }
    // The reports may have closed s (a drain): a closing session is never registered.
    if (!s.open())
        return;
    auto &v = users_[uid];
    const bool was_offline = v.empty();
    s.set_identity(uid, r.device_id, r.device_name, r.message_deliver_secret,
                   r.heartbeat_interval_ms, r.heartbeat_lost);
    v.push_back(&s);
    host_->presence(s.uid(), s.device_id(), conf_.node_id, true);
    // The host may have kicked s meanwhile (its offline told the subscribers).
    if (was_offline && online(s.uid()))
        local_state(s.uid(), true);
}

void Hub::notify_state(std::string_view uid, bool online) {
    auto it = watchers_.find(uid);
    if (it == watchers_.end())
        return;
    Outbound out(make_message(0, action::notify_state, codec::UserState{std::string(uid), online}));
    // Copy: a send may close a watcher, which edits the list.
    std::vector<uint64_t> ids = it->second;
    for (uint64_t id : ids)
        if (Session *w = find(id))
            w->send(out);
}

void Hub::watch(Session &s, const std::string &uid) {
    auto &w = watchers_[uid];
    if (std::find(w.begin(), w.end(), s.id()) == w.end()) {
        if (w.empty() && cluster_)
            cluster_->watch(uid);
        w.push_back(s.id());
        s.watch(uid);
    }
}

// --- control ----------------------------------------------------------------------------

uint32_t Hub::push(std::string_view uid, const Envelope &e) {
    Outbound out(e);
    if (cluster_)
        if (session::Encoded *json = out.encoded(codec::Codec::json))
            cluster_->to_user(uid, json->bytes());
    uint32_t n = 0;
    for_each_device(uid, [&](Session &d) { n += d.send(out); });
    return n;
}

uint32_t Hub::kick(std::string_view uid, std::string_view device_id) {
    if (cluster_)
        cluster_->kick(uid, device_id);
    return kick_here(uid, device_id);
}

void Hub::kicked_out(std::string_view uid, std::string_view device_id,
                     std::string_view device_name) {
    Outbound out(make_message(
        0, action::notify_kickout,
        codec::KickOutNotify{std::string(device_id), std::string(device_name)}));
    for_each_device(uid, [&](Session &d) {
        if (!d.open() || d.device_id() != device_id)
            return;
        d.send(out);
        d.close(session::close_code::kicked_out, "kicked out");
    });
}

uint32_t Hub::kick_here(std::string_view uid, std::string_view device_id) {
    uint32_t n = 0;
    Outbound out(make_message(0, action::notify_kickout, codec::KickOutNotify{}));
    for_each_device(uid, [&](Session &d) {
        // Closed meanwhile: a close reports presence, whose callback may kick too.
        if (!d.open() || (!device_id.empty() && d.device_id() != device_id))
            return;
        d.send(out);
        d.close(session::close_code::kicked_out, "kicked out");
        n++;
    });
    return n;
}

Stats Hub::stats() const {
    Stats st = *stats_;
    st.sessions_guest = st.sessions_authenticated = st.sessions_closing = 0;
    for (const auto &[id, s] : sessions_) {
        switch (s->state()) {
        case session::State::guest:
            st.sessions_guest++;
            break;
        case session::State::authenticated:
            st.sessions_authenticated++;
            break;
        case session::State::closing:
            st.sessions_closing++;
            break;
        case session::State::closed:
            break;
        }
    }
    return st;
}

uint32_t Hub::list_sessions(std::string_view uid,
                            const std::function<bool(const SessionInfo &)> &fn) const {
    // A snapshot: fn may call back into the hub (a kick edits the lists it walks); the
    // sessions stay allocated until reap(), and those fn closed are skipped.
    std::vector<const Session *> all;
    if (!uid.empty()) {
        const DeviceList &v = devices(uid);
        all.assign(v.begin(), v.end());
    } else {
        for (const auto &[u, v] : users_)
            all.insert(all.end(), v.begin(), v.end());
    }
    uint32_t n = 0;
    for (const Session *s : all) {
        if (!s->authenticated())
            continue;
        SessionInfo i{s->id(),          s->uid(),          s->device_id(),
                      s->device_name(), s->link()->peer(), s->codec(),
                      s->started_ms(), s->link()->buffered()};
        n++;
        if (!fn(i))
            break;
    }
    return n;
}

void Hub::count_close(uint16_t code) {
    char text[8];
    snprintf(text, sizeof text, "%u", static_cast<unsigned>(code));
    stats_->closes_by_code.add(text);
}

void Hub::drain() {
    stats_->draining = true;
    std::vector<Session *> all;
    all.reserve(sessions_.size());
    for (auto &[id, s] : sessions_)
        all.push_back(s.get());
    for (Session *s : all)
        s->close(session::close_code::going_away, "server shutting down");
}

} // namespace glide::hub
