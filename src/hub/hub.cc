#include "hub/hub.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cstdio>
#include <random>

#include "codec/payload.h"
#include "common/per_thread.h"
#include "dispatch/dispatch.h"

namespace glide::hub {

using codec::Envelope;
using codec::make_message;
using codec::Text;
namespace action = codec::action;
using session::Outbound;
using session::SendClass;
using session::Session;

// --- requests ----------------------------------------------------------------------------

bool HostRequest::auth_done(AuthResult r) {
    if (finished_ || kind_ != Kind::auth)
        return false;
    auth_ = std::move(r);
    finish(GLIDE_OK, {}, false);
    return true;
}

bool HostRequest::store_done(StoreResult r) {
    if (finished_ || (kind_ != Kind::store_message && kind_ != Kind::group_publish))
        return false;
    int st = r.status;
    std::string err = r.error;
    store_ = std::move(r);
    finish(st, std::move(err), false);
    return true;
}

bool HostRequest::page_add(codec::ChatMessage m) {
    if (finished_ || kind_ != Kind::load_undelivered)
        return false;
    page_.push_back(std::move(m));
    return true;
}

bool HostRequest::member_add(std::string uid) {
    if (finished_ || kind_ != Kind::group_members)
        return false;
    members_.push_back(std::move(uid));
    return true;
}

bool HostRequest::request_done(int status, std::string error) {
    if (finished_ || kind_ == Kind::auth || kind_ == Kind::store_message ||
        kind_ == Kind::group_publish)
        return false;
    finish(status, std::move(error), false);
    return true;
}

void HostRequest::finish(int status, std::string error, bool timed_out) {
    finished_ = true;
    status_ = status;
    error_ = std::move(error);
    timed_out_ = timed_out;
    if (hub_)
        hub_->request_finished(*this);
}

// --- statistics ------------------------------------------------------------------------------

LabelCounts &LabelCounts::operator=(const LabelCounts &o) {
    m_ = o.m_;
    std::fill(std::begin(cache_), std::end(cache_), Cached{});
    return *this;
}

size_t LabelCounts::cache_slot(std::string_view label) {
    const size_t n = label.size();
    if (n == 0)
        return 0;
    auto at = [&](size_t i) { return static_cast<size_t>(static_cast<uint8_t>(label[i])); };
    return (n + at(0) * 5 + at(n / 2) + at(n - 1) * 4) % cache_size;
}

void LabelCounts::add(std::string_view label, uint64_t n) {
    Cached &c = cache_[cache_slot(label)];
    if (c.count && c.label == label) {
        *c.count += n;
        return;
    }
    auto it = m_.find(label);
    if (it == m_.end()) {
        // Keep a slot for "other"; a label counted there is not cached (it has no key).
        if (m_.size() + 1 >= max_labels) {
            m_.emplace("other", 0).first->second += n;
            return;
        }
        it = m_.emplace(std::string(label), 0).first;
    }
    c = {it->first, &it->second};
    it->second += n;
}

uint64_t LabelCounts::get(std::string_view label) const {
    auto it = m_.find(label);
    return it == m_.end() ? 0 : it->second;
}

void Latency::add(uint64_t ms, bool failed) {
    size_t i = 0;
    while (i < std::size(bounds_ms) && ms > bounds_ms[i])
        i++;
    buckets[i]++;
    count++;
    sum_ms += ms;
    if (failed)
        failures++;
}

// Request memory: allocate_shared puts a HostRequest and its reference counts in one block of a
// fixed size, and finished blocks wait in a per-thread free list for the next request, so a
// steady stream of host calls does not allocate. Per thread, not per hub: the host may hold a
// request after its hub is gone. Off under AddressSanitizer, which then sees every request's
// use after free.
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kPoolRequests = false;
#else
constexpr bool kPoolRequests = true;
#endif
constexpr size_t kPooledRequests = 256;

struct RequestPool {
    void *head = nullptr; // free blocks, linked through their first word
    size_t size = 0;      // the block size (one type is ever allocated)
    size_t count = 0;
    ~RequestPool();
};
// Null once the thread's pool is destroyed (thread exit): later blocks go back to the heap.
using Pool = PerThread<RequestPool>;

RequestPool::~RequestPool() {
    while (head) {
        void *next = *static_cast<void **>(head);
        ::operator delete(head);
        head = next;
    }
}

template <typename T> struct RequestAllocator {
    using value_type = T;
    RequestAllocator() = default;
    template <typename U> RequestAllocator(const RequestAllocator<U> &) {}
    T *allocate(size_t n) {
        static_assert(sizeof(T) >= sizeof(void *));
        RequestPool *p = Pool::get();
        size_t bytes = n * sizeof(T);
        if (p && p->head && p->size == bytes) {
            void *b = p->head;
            p->head = *static_cast<void **>(b);
            p->count--;
            return static_cast<T *>(b);
        }
        return static_cast<T *>(::operator new(bytes));
    }
    void deallocate(T *b, size_t n) {
        RequestPool *p = kPoolRequests ? Pool::get() : nullptr;
        size_t bytes = n * sizeof(T);
        if (!p || p->count >= kPooledRequests || (p->size && p->size != bytes)) {
            ::operator delete(b);
            return;
        }
        p->size = bytes;
        *reinterpret_cast<void **>(b) = p->head;
        p->head = b;
        p->count++;
    }
    template <typename U> bool operator==(const RequestAllocator<U> &) const { return true; }
};

} // namespace

RequestPtr Hub::begin_request(HostRequest::Kind kind, HostRequest::Continuation k) {
    auto req = std::allocate_shared<HostRequest>(RequestAllocator<HostRequest>{}, this, kind,
                                                 std::move(k));
    HostRequest *r = req.get();
    r->started_ms_ = timers_->now_ms();
    r->deadline_ms_ = r->started_ms_ + static_cast<int64_t>(conf_.callback_timeout_ms);
    r->pending_ref_ = req;
    // Insert by deadline from the tail: with one timeout for all, that is the tail itself.
    HostRequest *after = pending_tail_;
    while (after && after->deadline_ms_ > r->deadline_ms_)
        after = after->prev_;
    r->prev_ = after;
    r->next_ = after ? after->next_ : pending_head_;
    (r->next_ ? r->next_->prev_ : pending_tail_) = r;
    (after ? after->next_ : pending_head_) = r;
    arm_deadline();
    return req;
}

void Hub::unlink_pending(HostRequest &r) {
    (r.prev_ ? r.prev_->next_ : pending_head_) = r.next_;
    (r.next_ ? r.next_->prev_ : pending_tail_) = r.prev_;
    r.prev_ = r.next_ = nullptr;
}

// The deadline timer stays armed for the earliest deadline it was set for; finished requests
// leave the list without touching it, and expire_requests() re-arms it for the new head.
void Hub::arm_deadline() {
    if (!pending_head_)
        return;
    int64_t due = pending_head_->deadline_ms_;
    if (deadline_timer_) {
        if (due >= deadline_timer_at_)
            return;
        timers_->cancel(deadline_timer_);
    }
    int64_t now = timers_->now_ms();
    deadline_timer_at_ = due;
    deadline_timer_ = timers_->schedule(due > now ? static_cast<uint64_t>(due - now) : 0, [this] {
        deadline_timer_ = 0;
        expire_requests();
    });
}

void Hub::expire_requests() {
    int64_t now = timers_->now_ms();
    // finish() unlinks the head (request_finished), and its continuation may add requests at
    // the tail, whose deadlines are later.
    while (pending_head_ && pending_head_->deadline_ms_ <= now)
        pending_head_->finish(GLIDE_ECLOSED, "deadline", true);
    arm_deadline();
}

void Hub::request_finished(HostRequest &r) {
    if (!r.pending_ref_)
        return;
    RequestPtr keep = std::move(r.pending_ref_); // the host may hold only a raw pointer
    unlink_pending(r);
    r.hub_ = nullptr;
    // Read the clock: the host may have answered inside the event that made the call.
    const int64_t now = timers_->refresh_now();
    if (r.kind_ != HostRequest::Kind::auth) {
        int64_t took = now - r.started_ms_;
        bool failed = r.timed_out_ || (r.status_ < 0 && r.status_ != GLIDE_ENOTFOUND);
        stats_.store_latency.add(took > 0 ? static_cast<uint64_t>(took) : 0, failed);
    }
    auto k = std::move(r.k_);
    if (k)
        k(r);
}

// --- life ------------------------------------------------------------------------------

std::string make_temp_id() {
    uint8_t b[16];
    if (RAND_bytes(b, sizeof b) != 1) {
        // No entropy from OpenSSL: an id need not be secret, only unique.
        static thread_local std::mt19937_64 rng{std::random_device{}()};
        for (auto &x : b)
            x = static_cast<uint8_t>(rng());
    }
    b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x40);
    b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);
    char out[64];
    snprintf(out, sizeof out,
             "tmp@%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
    return out;
}

Hub::Hub(HostPort *host, session::TimerService *timers, HubConfig conf)
    : host_(host), timers_(timers), conf_(std::move(conf)) {}

Hub::~Hub() {
    // Outstanding requests outlive us in the host's hands: detach them so a late completion
    // is ignored.
    while (HostRequest *r = pending_head_) {
        unlink_pending(*r);
        r->hub_ = nullptr;
        r->finished_ = true;
        r->k_ = nullptr;
        r->pending_ref_.reset(); // may free r
    }
    timers_->cancel(deadline_timer_);
    timers_->cancel(reap_timer_);
}

Session *Hub::open(session::Link *link) {
    if (stats_.draining) {
        link->close(session::close_code::going_away, "server shutting down");
        return nullptr;
    }
    session::SessionConfig sc{conf_.heartbeat_interval_ms, conf_.heartbeat_lost,
                              conf_.send_buffer_limit};
    uint64_t id = next_session_id_++;
    auto s = std::make_unique<Session>(id, link, timers_, this, sc, make_temp_id());
    Session *p = s.get();
    sessions_.emplace(id, std::move(s));
    stats_.connections_accepted++;
    p->start();
    codec::ServerHello h;
    h.server_version = conf_.server_version;
    h.temp_id = std::string(p->temp_id());
    h.heartbeat_interval = static_cast<int64_t>(conf_.heartbeat_interval_ms / 1000);
    h.protocols = {"glide.json", "glide.protobuf"};
    p->send(make_message(0, action::hello, std::move(h)));
    return p;
}

void Hub::on_frame(Session *s, std::string_view bytes) {
    if (!s || !s->open())
        return;
    if (s->auth_pending()) {
        // Reading is paused; these were parsed before the pause took effect. A transport
        // honours the pause within one read, so a long queue means it does not: refuse it.
        if (s->deferred().size() >= max_deferred) {
            s->close(session::close_code::policy_violation, "too many frames during auth");
            return;
        }
        s->deferred().emplace_back(bytes);
        return;
    }
    stats_.messages_in++;
    stats_.bytes_in += bytes.size();
    Envelope e;
    Status st = codec::decode(s->codec(), bytes, &e, &raw_spare_, &pre_decoded_);
    const dispatch::ActionSpec *spec = st ? dispatch::find_action(e.action) : nullptr;
    stats_.messages_in_by_action.add(!st ? "invalid" : spec ? e.action : "other");
    if (!st) {
        s->send(make_message(0, action::notify_error, Text{st.error()}));
        return;
    }
    s->touch_read();
    pre_decoded_for_ = &e;
    dispatch::dispatch(*this, *s, e, spec);
    pre_decoded_for_ = nullptr;
    // The handlers are done with the data (what outlives them was copied or moved out): its
    // buffer serves the next frame's.
    if (auto *raw = std::get_if<codec::RawData>(&e.data);
        raw && raw->bytes.capacity() > raw_spare_.capacity() &&
        raw->bytes.capacity() <= max_raw_spare)
        raw_spare_ = std::move(raw->bytes);
}

void Hub::process_deferred(uint64_t sid) {
    Session *s = find(sid);
    while (s && !s->auth_pending() && !s->deferred().empty()) {
        std::string f = std::move(s->deferred().front());
        s->deferred().erase(s->deferred().begin()); // at most max_deferred: cheap
        on_frame(s, f);
        s = find(sid);
    }
}

void Hub::on_drained(Session *s) {
    if (!s || !s->open())
        return;
    s->drained();
    auto &rp = s->replay();
    if (rp.active && rp.waiting_drain) {
        rp.waiting_drain = false;
        replay_next(*s);
    }
}

void Hub::on_closed(Session *s) {
    if (!s || s->state() == session::State::closed)
        return;
    s->mark_closed();
    stats_.connections_closed++;
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

void Hub::session_sent(Session &, std::string_view act, size_t bytes) {
    stats_.messages_out_by_action.add(act);
    stats_.messages_out++;
    stats_.bytes_out += bytes;
}

void Hub::session_closing(Session &s) {
    unregister_identity(s);
    for (const std::string &uid : s.watching()) {
        auto it = watchers_.find(uid);
        if (it == watchers_.end())
            continue;
        std::erase(it->second, s.id());
        if (it->second.empty())
            watchers_.erase(it);
    }
    s.watching().clear();
    s.deferred().clear();
}

// --- identity ----------------------------------------------------------------------------

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
    host_->presence(s.uid(), s.device_id(), conf_.node_id, false);
    if (v.empty()) {
        users_.erase(it);
        notify_state(s.uid(), false);
    }
}

void Hub::register_identity(Session &s, std::string uid, const AuthResult &r) {
    if (s.authenticated() && s.uid() == uid && s.device_id() == r.device_id) {
        // Re-authentication as the same identity: new secrets and settings, no presence flap.
        s.set_identity(std::move(uid), r.device_id, r.device_name, r.message_deliver_secret,
                       r.heartbeat_interval_ms, r.heartbeat_lost);
        return;
    }
    // Re-authentication as someone else on the same connection: leave the old identity first.
    unregister_identity(s);
    auto &v = users_[uid];
    // A second login of the same (uid, device) kicks the first (design.md §5.4).
    for (size_t i = 0; i < v.size(); i++) {
        Session *old = v[i];
        if (old == &s || old->device_id() != r.device_id)
            continue;
        v.erase(v.begin() + static_cast<ptrdiff_t>(i));
        host_->presence(old->uid(), old->device_id(), conf_.node_id, false);
        old->send(make_message(0, action::notify_kickout,
                               codec::KickOutNotify{r.device_id, r.device_name}));
        old->close(session::close_code::kicked_out, "kicked out");
        break;
    }
    bool was_offline = v.empty();
    s.set_identity(uid, r.device_id, r.device_name, r.message_deliver_secret,
                   r.heartbeat_interval_ms, r.heartbeat_lost);
    v.push_back(&s);
    host_->presence(s.uid(), s.device_id(), conf_.node_id, true);
    if (was_offline)
        notify_state(s.uid(), true);
}

void Hub::notify_state(const std::string &uid, bool online) {
    auto it = watchers_.find(uid);
    if (it == watchers_.end())
        return;
    Outbound out(make_message(0, action::notify_state, codec::UserState{uid, online}));
    // Copy: a send may close a watcher, which edits the list.
    std::vector<uint64_t> ids = it->second;
    for (uint64_t id : ids)
        if (Session *w = find(id))
            w->send(out);
}

void Hub::subscribe_state(Session &s, const std::vector<std::string> &uids) {
    uint64_t sid = s.id();
    for (const std::string &uid : uids) {
        if (s.watching().size() >= max_watch) {
            s.send(make_message(0, action::notify_error, Text{"too many state subscriptions"}));
            return;
        }
        auto &w = watchers_[uid];
        if (std::find(w.begin(), w.end(), sid) == w.end()) {
            w.push_back(sid);
            s.watching().push_back(uid);
        }
        if (!s.send(make_message(0, action::notify_state,
                                 codec::UserState{uid, users_.count(uid) != 0})))
            return;
    }
}

// --- authenticate --------------------------------------------------------------------------

void Hub::authenticate(Session &s, int64_t seq, const codec::EncryptedCredential &c) {
    s.set_auth_pending(true);
    uint64_t sid = s.id();
    AuthInput in{c.credential, c.version, s.link()->peer(), s.temp_id()};
    call(
        HostRequest::Kind::auth,
        [this, sid, seq](HostRequest &r) {
            Session *t = find(sid);
            if (!t)
                return;
            t->set_auth_pending(false);
            AuthResult &a = r.auth_result();
            if (r.timed_out()) {
                t->send(make_message(seq, action::notify_error, Text{"authentication timed out"}));
            } else if (r.status() < 0 || !a.accepted || a.uid.empty()) {
                std::string why = a.error.empty() ? "invalid authenticate message" : a.error;
                t->send(make_message(seq, action::notify_error, Text{std::move(why)}));
            } else {
                register_identity(*t, a.uid, a);
                t->send(make_message(seq, action::notify_success, codec::Null{}));
                if (t->open()) {
                    t->replay() = Session::Replay{};
                    t->replay().active = true;
                    replay_next(*t);
                }
            }
            // Frames that arrived while the auth was pending, on the next loop turn: never
            // re-enter dispatch from inside a host completion.
            if (find(sid) && !find(sid)->deferred().empty())
                timers_->schedule(0, [this, sid] { process_deferred(sid); });
        },
        [this, &in](const RequestPtr &r) { return host_->auth(r, in); });
}

// --- offline replay --------------------------------------------------------------------------

void Hub::replay_next(Session &s) {
    auto &rp = s.replay();
    if (!rp.active || rp.loading)
        return;
    rp.loading = true;
    uint64_t sid = s.id();
    std::string uid = s.uid(), dev = s.device_id();
    int64_t after = rp.cursor;
    call(
        HostRequest::Kind::load_undelivered, [this, sid](HostRequest &r) { replay_page(sid, r); },
        [&](const RequestPtr &r) {
            return host_->load_undelivered(r, uid, dev, after, conf_.replay_page);
        });
}

// Replay is paced by the send buffer: messages are sent until the transport answers a send
// above its soft mark (half of glide_send_buffer_limit, so the transport's limit is never
// reached by the replay itself), then the replay waits for the link to report it drained and
// loads again from the last mid sent. Its bytes never count against the slow-consumer limit.
void Hub::replay_page(uint64_t sid, HostRequest &r) {
    Session *s = find(sid);
    if (!s)
        return;
    auto &rp = s->replay();
    rp.loading = false;
    if (r.status() < 0) {
        log(GLIDE_LOG_WARN, "offline replay for " + s->uid() + " stopped: " + r.error());
        rp.active = false;
        return;
    }
    for (codec::ChatMessage &m : r.page()) {
        if (m.mid <= rp.cursor)
            continue;
        int64_t mid = m.mid;
        if (!s->send(make_message(0, action::chat, std::move(m)), SendClass::replay))
            return;
        rp.cursor = mid;
        if (s->backpressured()) {
            rp.waiting_drain = true;
            return;
        }
    }
    if (r.page().size() < conf_.replay_page) {
        rp.active = false;
        return;
    }
    timers_->schedule(0, [this, sid] {
        if (Session *t = find(sid))
            replay_next(*t);
    });
}

// The notify.error text for a store or publish that did not succeed.
static std::string store_failure(const HostRequest &r) {
    if (r.timed_out())
        return "message store timed out";
    return r.error().empty() ? "message store failed" : r.error();
}

// --- chat ----------------------------------------------------------------------------------

uint32_t Hub::deliver_chat(codec::ChatMessage &&msg, const Session *sender) {
    Outbound out(0, action::chat, std::move(msg));
    const auto &m = std::get<codec::ChatMessage>(out.envelope().data);
    uint32_t reached = 0;
    for_each_device(m.to, [&](Session &d) { reached += d.send(out); });
    if (m.from != m.to)
        for_each_device(m.from, [&](Session &d) {
            if (&d != sender)
                d.send(out);
        });
    // Sent (the encodings are made): the message's buffers serve the next inbound chat.
    spare_message_ = std::move(std::get<codec::ChatMessage>(out.envelope().data));
    return reached;
}

void Hub::chat(Session &s, int64_t seq, codec::ChatMessage &&msg) {
    call(
        HostRequest::Kind::store_message,
        [this](HostRequest &r) {
            Session *t = find(r.session_id);
            if (r.timed_out() || r.status() < 0) {
                if (t)
                    t->send(make_message(r.seq, action::notify_error, Text{store_failure(r)}));
                return;
            }
            const StoreResult &res = r.store_result();
            codec::ChatMessage &m = r.message;
            m.mid = res.mid;
            // Only now, the store having committed, is the sender acknowledged (§5.7). The ack
            // borrows cli_mid and gives it back once sent (encoded), sparing a copy.
            if (t) {
                codec::AckMessage a{std::move(m.cli_mid), m.mid, {}, m.seq};
                Outbound ack(0, action::ack_message, std::move(a));
                t->send(ack);
                m.cli_mid = std::move(std::get<codec::AckMessage>(ack.envelope().data).cli_mid);
            }
            if (!res.duplicate)
                deliver_chat(std::move(m), t);
        },
        [&](const RequestPtr &r) {
            r->session_id = s.id();
            r->seq = seq;
            r->message = std::move(msg);
            return host_->store_message(r, r->message);
        });
}

void Hub::ack_request(Session &s, const codec::AckRequest &a) {
    // v1.6 clients send {mid, from: original sender}; later ones {mid, from: receiver,
    // to: sender}.
    const std::string &sender = a.to.empty() ? a.from : a.to;
    Outbound out(0, action::ack_notify, codec::AckNotify{a.cli_mid, a.seq, a.mid, a.from, a.to});
    for_each_device(sender, [&](Session &d) { d.send(out); });
    if (a.mid <= 0)
        return;
    call(
        HostRequest::Kind::mark_delivered,
        [this](HostRequest &r) {
            if (r.timed_out() || r.status() < 0)
                log(GLIDE_LOG_WARN, "mark_delivered " + r.message.to + " " +
                                        std::to_string(r.message.mid) + " failed: " + r.error());
        },
        [&](const RequestPtr &r) {
            r->message.to = s.uid(); // kept for the log line
            r->message.mid = a.mid;
            return host_->mark_delivered(r, s.uid(), s.device_id(), a.mid);
        });
}

// --- groups --------------------------------------------------------------------------------

void Hub::group(Session &s, const Envelope &req, codec::ChatMessage msg) {
    std::string gid = msg.to;
    Group &g = groups_[gid];
    auto p = std::make_unique<Publish>();
    p->sid = s.id();
    p->env.seq = req.seq;
    p->env.action = action::group;
    p->env.from = s.uid();
    p->env.to = gid;
    p->env.extra = req.extra;
    Publish *pp = p.get();
    g.fifo.push_back(std::move(p));
    auto m = std::make_shared<codec::ChatMessage>(std::move(msg));
    int64_t seq = req.seq;
    call(
        HostRequest::Kind::group_publish,
        [this, gid, pp, m, seq](HostRequest &r) {
            pp->done = true;
            Session *t = find(pp->sid);
            if (r.timed_out() || r.status() < 0) {
                if (t) {
                    t->send(make_message(seq, action::notify_error, Text{store_failure(r)}));
                }
            } else {
                pp->ok = true;
                m->mid = r.store_result().mid;
                m->seq = r.store_result().seq;
                if (t)
                    t->send(make_message(0, action::ack_message,
                                         codec::AckMessage{m->cli_mid, m->mid, {}, m->seq}));
                pp->env.data = *m;
            }
            pump_group(gid);
        },
        [this, m](const RequestPtr &r) { return host_->group_publish(r, *m); });
}

// Delivers finished publishes from the head of the group's queue, in call order (= sequence
// order), once the membership is known.
void Hub::pump_group(const std::string &gid) {
    auto it = groups_.find(gid);
    if (it == groups_.end())
        return;
    Group &g = it->second;
    while (!g.fifo.empty() && g.fifo.front()->done) {
        Publish &p = *g.fifo.front();
        if (p.ok) {
            if (g.members != Group::Members::ready) {
                load_members(gid);
                return;
            }
            Outbound out(std::move(p.env));
            for (const std::string &uid : g.uids)
                for_each_device(uid, [&](Session &d) { d.send(out); });
        }
        g.fifo.pop_front();
    }
    // Nothing queued and nothing cached: forget the entry, so publishes to made-up group ids
    // (refused by the host) leave no state behind.
    if (g.fifo.empty() && g.members == Group::Members::unknown)
        groups_.erase(it);
}

void Hub::load_members(const std::string &gid) {
    Group &g = groups_[gid];
    if (g.members == Group::Members::loading)
        return;
    g.members = Group::Members::loading;
    call(
        HostRequest::Kind::group_members,
        [this, gid](HostRequest &r) {
            auto it = groups_.find(gid);
            if (it == groups_.end())
                return;
            Group &grp = it->second;
            if (r.timed_out() || r.status() < 0) {
                // Without members nobody can be reached: the queued messages stay in the
                // store; the next publish asks again.
                log(GLIDE_LOG_ERROR, "group_members " + gid + " failed: " + r.error());
                grp.members = Group::Members::unknown;
                while (!grp.fifo.empty() && grp.fifo.front()->done)
                    grp.fifo.pop_front();
                return;
            }
            grp.uids = std::move(r.members());
            grp.members = Group::Members::ready;
            pump_group(gid);
        },
        [this, &gid](const RequestPtr &r) { return host_->group_members(r, gid); });
}

void Hub::group_invalidate(std::string_view gid) {
    auto it = groups_.find(gid);
    if (it == groups_.end())
        return;
    if (it->second.fifo.empty() && it->second.members != Group::Members::loading) {
        groups_.erase(it);
        return;
    }
    if (it->second.members == Group::Members::ready) {
        it->second.members = Group::Members::unknown;
        it->second.uids.clear();
    }
}

// --- control ----------------------------------------------------------------------------

uint32_t Hub::push(std::string_view uid, const Envelope &e) {
    Outbound out(e);
    uint32_t n = 0;
    for_each_device(uid, [&](Session &d) { n += d.send(out); });
    return n;
}

uint32_t Hub::kick(std::string_view uid, std::string_view device_id) {
    uint32_t n = 0;
    Outbound out(make_message(0, action::notify_kickout, codec::KickOutNotify{}));
    for_each_device(uid, [&](Session &d) {
        if (!device_id.empty() && d.device_id() != device_id)
            return;
        d.send(out);
        d.close(session::close_code::kicked_out, "kicked out");
        n++;
    });
    return n;
}

Stats Hub::stats() const {
    Stats st = stats_;
    st.connections = st.sessions_guest = st.sessions_authenticated = st.sessions_closing = 0;
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
            continue;
        }
        st.connections++;
    }
    return st;
}

uint32_t Hub::list_sessions(std::string_view uid,
                            const std::function<bool(const SessionInfo &)> &fn) const {
    uint32_t n = 0;
    auto visit = [&](const DeviceList &v) {
        for (const Session *s : v) {
            SessionInfo i{s->id(),       &s->uid(),         &s->device_id(),
                          &s->device_name(), s->link()->peer(), s->codec(),
                          s->started_ms(), s->link()->buffered()};
            n++;
            if (!fn(i))
                return false;
        }
        return true;
    };
    if (!uid.empty()) {
        auto it = users_.find(uid);
        if (it != users_.end())
            visit(it->second);
        return n;
    }
    for (const auto &[u, v] : users_)
        if (!visit(v))
            break;
    return n;
}

void Hub::count_close(uint16_t code) {
    char text[8];
    snprintf(text, sizeof text, "%u", static_cast<unsigned>(code));
    stats_.closes_by_code.add(text);
}

void Hub::drain() {
    stats_.draining = true;
    std::vector<Session *> all;
    all.reserve(sessions_.size());
    for (auto &[id, s] : sessions_)
        all.push_back(s.get());
    for (Session *s : all)
        s->close(session::close_code::going_away, "server shutting down");
}

} // namespace glide::hub
