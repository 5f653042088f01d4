#include "cluster/bus.h"

#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <hiredis/sds.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "cluster/scripts.h"

namespace glide::cluster {

namespace {

constexpr std::string_view kPrefix = "glide:";
constexpr std::string_view kGroups = "glide:g";
constexpr std::string_view kNodes = "glide:nodes";

// Payloads: one kind byte, then fields (append_field, common/strings.h); the last one is the
// rest.
//   inbox   'E' uid json | 'D' uid uid2 json | 'L' uid device name | 'K' uid device | 'A' query-id node body
//   groups  'G' origin gid seq json | 'I' origin gid | 'R' origin | 'Q' origin query-id what arg
struct Script {
    const char *text;
    char sha[41];
};
Script g_scripts[] = {{scripts::join, {}},
                      {scripts::leave, {}},
                      {scripts::route, {}},
                      {scripts::heartbeat, {}}};
enum ScriptId { kJoin, kLeave, kRoute, kHeartbeat };

void init_scripts() {
    static bool done = [] {
        for (Script &s : g_scripts) {
            unsigned char md[SHA_DIGEST_LENGTH];
            SHA1(reinterpret_cast<const unsigned char *>(s.text), strlen(s.text), md);
            for (int i = 0; i < SHA_DIGEST_LENGTH; i++)
                snprintf(s.sha + 2 * i, 3, "%02x", md[i]);
        }
        return true;
    }();
    (void)done;
}

std::string_view reply_text(const redisReply *r) {
    return r && r->str ? std::string_view(r->str, r->len) : std::string_view();
}

} // namespace

int64_t now_ms() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

uint32_t shard_of(std::string_view key, uint32_t n) {
    if (n <= 1)
        return 0;
    uint64_t h = 1469598103934665603ull;
    for (unsigned char c : key) {
        h ^= c;
        h *= 1099511628211ull;
    }
    // Jump consistent hash (Lamping, Veach 2014).
    int64_t b = -1, j = 0;
    while (j < static_cast<int64_t>(n)) {
        b = j;
        h = h * 2862933555777941757ull + 1;
        j = static_cast<int64_t>(static_cast<double>(b + 1) *
                                 (static_cast<double>(1ll << 31) /
                                  static_cast<double>((h >> 33) + 1)));
    }
    return static_cast<uint32_t>(b);
}

// --- one shard -------------------------------------------------------------------------

struct Bus::Shard {
    Bus *bus;
    uint32_t index;
    RedisUrl url;
    redisAsyncContext *cmd = nullptr, *sub = nullptr;
    bool cmd_ready = false;
    int sub_confirms = 0; // the inbox and the group channel: 2 when subscribed
    bool up = false, ever_up = false, logged_down = false;
    bool tearing = false; // inside teardown: callbacks of the contexts being freed are ignored
    uint32_t backoff_ms = 0;
    EventPtr retry, teardown_ev, timeout;
    // (uid, device, last_here) that left while the shard was down: removed when it returns.
    // Bounded: past BusConfig::max_pending_leaves (a long outage with much churn) the list is
    // dropped and the shard's return removes all of this node's entries instead
    // (reset_on_return), before the sessions still here register again (rejoin).
    struct Leave {
        std::string uid, device;
        bool last_here;
    };
    std::vector<Leave> pending_leaves;
    // The shard's (next) contact removes this node's entries first: true until the first
    // contact (entries an earlier process with the same node id left), and again once
    // pending_leaves overflowed.
    bool reset_on_return = true;

    void connect();
    void fail(const std::string &why);
    void teardown();
    void check_ready();
    bool usable() const { return cmd && cmd_ready && !tearing; }
    void command(int argc, const char **argv, const size_t *lens,
                 redisCallbackFn *cb = nullptr, void *priv = nullptr);

    static void on_connect(const redisAsyncContext *ac, int status);
    static void on_disconnect(const redisAsyncContext *ac, int status);
    static void on_setup_reply(redisAsyncContext *ac, void *reply, void *priv);
    static void on_ping(redisAsyncContext *ac, void *reply, void *priv);
    static void on_sub(redisAsyncContext *ac, void *reply, void *priv);
    static void on_retry(evutil_socket_t, short, void *self);
    static void on_teardown(evutil_socket_t, short, void *self);
    static void on_timeout(evutil_socket_t, short, void *self);
};

static Bus::Shard *shard_of_context(const redisAsyncContext *ac) {
    return static_cast<Bus::Shard *>(ac->data);
}

void Bus::Shard::command(int argc, const char **argv, const size_t *lens, redisCallbackFn *cb,
                         void *priv) {
    redisAsyncCommandArgv(cmd, cb, priv, argc, argv, lens);
    // A Redis that accepts the connection but stops reading would make the output grow without
    // bound: past the limit the shard counts as failed (what it carried waits in the store, and
    // its return replays it).
    if (cmd && cmd->c.obuf && sdslen(cmd->c.obuf) > bus->conf_.max_pending_bytes && !tearing)
        fail("Redis is not keeping up (" + std::to_string(sdslen(cmd->c.obuf) >> 20) +
             " MiB waiting to be written)");
}

void Bus::Shard::connect() {
    cmd_ready = false;
    sub_confirms = 0;
    auto open = [&](redisAsyncContext **out) {
        redisAsyncContext *ac = redisAsyncConnect(url.host.c_str(), url.port);
        if (!ac)
            return false;
        if (ac->err) {
            std::string why = ac->errstr;
            redisAsyncFree(ac);
            fail(why);
            return false;
        }
        ac->data = this;
        redisLibeventAttach(ac, bus->base_);
        redisAsyncSetConnectCallback(ac, on_connect);
        redisAsyncSetDisconnectCallback(ac, on_disconnect);
        *out = ac;
        // Queued until connected: authentication first.
        if (!url.password.empty()) {
            if (url.user.empty())
                redisAsyncCommand(ac, on_setup_reply, this, "AUTH %b", url.password.data(),
                                  url.password.size());
            else
                redisAsyncCommand(ac, on_setup_reply, this, "AUTH %b %b", url.user.data(),
                                  url.user.size(), url.password.data(), url.password.size());
        }
        // Named for operators (CLIENT LIST shows which node each connection is).
        redisAsyncCommand(ac, on_setup_reply, this, "CLIENT SETNAME %b", bus->client_name_.data(),
                          bus->client_name_.size());
        return true;
    };
    if (!open(&cmd) || !open(&sub))
        return;
    if (url.db)
        redisAsyncCommand(cmd, on_setup_reply, this, "SELECT %u", url.db);
    for (const Script &s : g_scripts)
        redisAsyncCommand(cmd, on_setup_reply, this, "SCRIPT LOAD %s", s.text);
    redisAsyncCommand(cmd, on_ping, this, "PING");
    redisAsyncCommand(sub, on_sub, this, "SUBSCRIBE %b %b", bus->inbox_.data(),
                      bus->inbox_.size(), kGroups.data(), kGroups.size());
    timeval tv{bus->conf_.connect_timeout_ms / 1000,
               static_cast<suseconds_t>(bus->conf_.connect_timeout_ms % 1000) * 1000};
    evtimer_add(timeout.get(), &tv);
}

void Bus::Shard::on_connect(const redisAsyncContext *ac, int status) {
    Shard *sh = shard_of_context(ac);
    if (status == REDIS_OK || sh->tearing)
        return;
    // hiredis frees the context after this callback.
    (ac == sh->cmd ? sh->cmd : sh->sub) = nullptr;
    sh->fail(ac->errstr);
}

void Bus::Shard::on_disconnect(const redisAsyncContext *ac, int status) {
    Shard *sh = shard_of_context(ac);
    if (sh->tearing)
        return;
    (ac == sh->cmd ? sh->cmd : sh->sub) = nullptr;
    sh->fail(status == REDIS_OK ? "connection closed" : ac->errstr);
}

void Bus::Shard::on_setup_reply(redisAsyncContext *, void *reply, void *priv) {
    auto *sh = static_cast<Shard *>(priv);
    auto *r = static_cast<redisReply *>(reply);
    if (!r || sh->tearing || sh->bus->stopping_)
        return;
    if (r->type == REDIS_REPLY_ERROR)
        sh->fail(std::string(reply_text(r)));
}

void Bus::Shard::on_ping(redisAsyncContext *, void *reply, void *priv) {
    auto *sh = static_cast<Shard *>(priv);
    auto *r = static_cast<redisReply *>(reply);
    if (!r || sh->tearing || sh->bus->stopping_)
        return;
    if (r->type == REDIS_REPLY_ERROR) { // NOAUTH, LOADING: not ready
        sh->fail(std::string(reply_text(r)));
        return;
    }
    sh->cmd_ready = true;
    sh->check_ready();
}

void Bus::Shard::on_sub(redisAsyncContext *, void *reply, void *priv) {
    auto *sh = static_cast<Shard *>(priv);
    auto *r = static_cast<redisReply *>(reply);
    if (!r || sh->tearing || sh->bus->stopping_)
        return;
    if (r->type == REDIS_REPLY_ERROR) {
        sh->fail(std::string(reply_text(r)));
        return;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 3)
        return;
    std::string_view kind = reply_text(r->element[0]);
    std::string_view channel = reply_text(r->element[1]);
    Bus *bus = sh->bus;
    if (kind == "message") {
        bus->received(*sh, channel, reply_text(r->element[2]));
    } else if (kind == "subscribe") {
        if (channel == bus->inbox_ || channel == kGroups) {
            sh->sub_confirms++;
            sh->check_ready();
        } else {
            bus->watch_reply(channel.substr(kPrefix.size() + 2), true);
        }
    } else if (kind == "unsubscribe") {
        bus->watch_reply(channel.substr(kPrefix.size() + 2), false);
    }
}

void Bus::Shard::check_ready() {
    if (up || !cmd_ready || sub_confirms < 2)
        return;
    evtimer_del(timeout.get());
    bus->shard_up(*this);
}

void Bus::Shard::fail(const std::string &why) {
    if (bus->stopping_)
        return;
    if (up || !logged_down) {
        bus->log_->log(up ? GLIDE_LOG_ERROR : GLIDE_LOG_WARN,
                       "cluster bus %s: %s%s", url.text.c_str(), why.c_str(),
                       up ? "; remote deliveries wait in the store until it returns"
                          : "; connecting again");
        logged_down = true;
    }
    if (up) {
        up = false;
        bus->counters_.shards_up--;
    }
    cmd_ready = false;
    sub_confirms = 0;
    // Not from inside hiredis' own callbacks: the contexts are freed on a later turn.
    event_active(teardown_ev.get(), 0, 0);
}

void Bus::Shard::teardown() {
    tearing = true;
    evtimer_del(timeout.get());
    for (redisAsyncContext **ac : {&cmd, &sub})
        if (*ac) {
            redisAsyncFree(*ac); // pending callbacks get a null reply, ignored while tearing
            *ac = nullptr;
        }
    tearing = false;
    if (bus->stopping_)
        return;
    backoff_ms = backoff_ms == 0 ? bus->conf_.min_backoff_ms
                                 : std::min(backoff_ms * 2, bus->conf_.max_backoff_ms);
    timeval tv{backoff_ms / 1000, static_cast<suseconds_t>(backoff_ms % 1000) * 1000};
    evtimer_add(retry.get(), &tv);
}

void Bus::Shard::on_retry(evutil_socket_t, short, void *self) {
    static_cast<Shard *>(self)->connect();
}

void Bus::Shard::on_teardown(evutil_socket_t, short, void *self) {
    static_cast<Shard *>(self)->teardown();
}

void Bus::Shard::on_timeout(evutil_socket_t, short, void *self) {
    static_cast<Shard *>(self)->fail("no answer within the connect timeout");
}

// --- the bus -----------------------------------------------------------------------------

Bus::Bus(event_base *base, BusConfig conf, port::ClusterSink *sink, Logger *log)
    : base_(base), conf_(std::move(conf)), sink_(sink), log_(log) {
    init_scripts();
    inbox_ = std::string(kPrefix) + "n:" + conf_.node_id;
    client_name_ = "glide:" + conf_.node_id; // node ids have no spaces (glide_node_id)
    for (uint32_t i = 0; i < conf_.shards.size(); i++) {
        auto sh = std::make_unique<Shard>();
        sh->bus = this;
        sh->index = i;
        sh->url = conf_.shards[i];
        sh->retry.reset(evtimer_new(base_, Shard::on_retry, sh.get()));
        sh->teardown_ev.reset(event_new(base_, -1, 0, Shard::on_teardown, sh.get()));
        sh->timeout.reset(evtimer_new(base_, Shard::on_timeout, sh.get()));
        shards_.push_back(std::move(sh));
    }
    heartbeat_.reset(event_new(base_, -1, EV_PERSIST, on_heartbeat, this));
    replay_.reset(evtimer_new(base_, on_replay, this));
}

Bus::~Bus() {
    stopping_ = true;
    for (auto &sh : shards_) {
        sh->tearing = true;
        for (redisAsyncContext **ac : {&sh->cmd, &sh->sub})
            if (*ac) {
                redisAsyncFree(*ac);
                *ac = nullptr;
            }
    }
}

Status Bus::start() {
    for (auto &sh : shards_)
        if (!sh->retry || !sh->teardown_ev || !sh->timeout)
            return make_error("event_new() failed");
    if (!heartbeat_ || !replay_)
        return make_error("event_new() failed");
    timeval tv{conf_.heartbeat_ms / 1000, static_cast<suseconds_t>(conf_.heartbeat_ms % 1000) *
                                              1000};
    evtimer_add(heartbeat_.get(), &tv);
    for (auto &sh : shards_)
        sh->connect();
    return {};
}

bool Bus::up() const {
    return counters_.shards_up == shards_.size();
}

void Bus::leave_cluster(std::function<void()> done) {
    struct Flush {
        Bus *bus;
        size_t pending = 1;
        std::function<void()> done;
        void release() {
            if (--pending == 0) {
                if (!bus->stopping_)
                    done();
                delete this;
            }
        }
    };
    auto *f = new Flush{this, 1, std::move(done)};
    for (auto &sh : shards_) {
        if (!sh->up)
            continue;
        const char *argv[] = {"ZREM", kNodes.data(), conf_.node_id.data()};
        const size_t lens[] = {4, kNodes.size(), conf_.node_id.size()};
        f->pending++;
        // Replies come in order: this one's means everything sent before was applied. A null
        // reply (the connection went away) ends the wait too.
        sh->command(
            3, argv, lens,
            [](redisAsyncContext *, void *, void *priv) { static_cast<Flush *>(priv)->release(); },
            f);
    }
    f->release();
}

Bus::Shard &Bus::shard_for(std::string_view key) {
    return *shards_[shard_of(key, static_cast<uint32_t>(shards_.size()))];
}

void Bus::shard_up(Shard &sh) {
    const bool returned = sh.ever_up;
    sh.up = true;
    sh.backoff_ms = 0;
    counters_.shards_up++;
    if (returned)
        counters_.reconnects++;
    log_->log(GLIDE_LOG_NOTICE, "cluster bus %s: %s as node %s", sh.url.text.c_str(),
              returned ? "connected again" : "connected", conf_.node_id.c_str());
    sh.logged_down = false;
    send_heartbeat(sh, sh.reset_on_return, false);
    sh.ever_up = true;
    sh.reset_on_return = false;
    for (Shard::Leave &l : sh.pending_leaves)
        left(l.uid, l.device, l.last_here);
    std::vector<Shard::Leave>().swap(sh.pending_leaves);
    // Sessions that logged in while the shard was down were not routed to: their backlog too.
    const bool any = rejoin(sh);
    for (auto it = watches_.begin(); it != watches_.end();) {
        auto &[uid, w] = *it;
        if (&shard_for(uid) != &sh) {
            ++it;
            continue;
        }
        // Unwatched while the shard was down, or while the lost connection's (UN)SUBSCRIBE
        // was unanswered: its state speaks of that connection, and the new one has nothing
        // subscribed. Kept, a later watch() would find it "subscribed" and send nothing.
        if (w.refs == 0) {
            it = watches_.erase(it);
            continue;
        }
        w.state = Watch::State::none;
        subscribe_state(sh, uid, true);
        ++it;
    }
    if (any && !returned)
        request_replay();
    if (returned) {
        // What other nodes routed to this one meanwhile is lost, and so is what this one routed
        // to them: replay here, and ask them to.
        publish_groups(sh, 'R', {}, {});
        request_replay();
    }
}

bool Bus::rejoin(Shard &sh) {
    bool any = false;
    sink_->each_identity([&](std::string_view uid, std::string_view dev, std::string_view name) {
        if (&shard_for(uid) != &sh)
            return;
        any = true;
        send_join(sh, uid, dev, name, true, nullptr);
    });
    return any;
}

namespace {

struct JoinCall {
    Bus::Shard *shard;
    std::string uid, device;
    bool rejoin;
    std::shared_ptr<Bus::Ready> ready;
};

} // namespace

void Bus::send_join(Shard &sh, std::string_view uid, std::string_view device,
                    std::string_view name, bool rejoin, std::function<void()> ready) {
    key_.assign(kPrefix).append("d:").append(uid);
    key2_.assign(kPrefix).append("nu:").append(conf_.node_id);
    channel_.assign(kPrefix).append("s:").append(uid);
    payload_.assign(1, 'L');
    append_field(payload_, uid);
    append_field(payload_, device);
    payload_ += name;
    std::string inbox_prefix = std::string(kPrefix) + "n:";
    const char *argv[] = {"EVALSHA",      g_scripts[kJoin].sha, "2",
                          key_.data(),    key2_.data(),         device.data(),
                          conf_.node_id.data(), uid.data(),     channel_.data(),
                          inbox_prefix.data(),  payload_.data(), rejoin ? "1" : "0"};
    const size_t lens[] = {7,
                           40,
                           1,
                           key_.size(),
                           key2_.size(),
                           device.size(),
                           conf_.node_id.size(),
                           uid.size(),
                           channel_.size(),
                           inbox_prefix.size(),
                           payload_.size(),
                           1};
    std::shared_ptr<Ready> once;
    if (ready) {
        once = std::make_shared<Ready>();
        once->fn = std::move(ready);
        once->since_ms = now_ms();
        waiting_ready_.push_back(once);
    }
    auto *call = new JoinCall{&sh, std::string(uid), std::string(device), rejoin, once};
    sh.command(12, argv, lens,
               [](redisAsyncContext *, void *reply, void *priv) {
                   std::unique_ptr<JoinCall> c(static_cast<JoinCall *>(priv));
                   Bus *bus = c->shard->bus;
                   if (bus->stopping_)
                       return;
                   auto *r = static_cast<redisReply *>(reply);
                   if (r && r->type == REDIS_REPLY_ERROR)
                       bus->log_->log(GLIDE_LOG_ERROR, "cluster bus: join %s: %.*s",
                                      c->uid.c_str(), static_cast<int>(r->len), r->str);
                   // A registration after the bus returned found the device taken by a newer
                   // login elsewhere: the one here is the older, it goes.
                   if (c->rejoin && r && r->type == REDIS_REPLY_INTEGER && r->integer == 0)
                       bus->sink_->kicked_out(c->uid, c->device, {});
                   // Routed here from now on (or the bus failed meanwhile, and its return
                   // replays): the caller's replay may start.
                   if (c->ready)
                       c->ready->fire();
               },
               call);
}

void Bus::joined(std::string_view uid, std::string_view device_id,
                 std::string_view device_name, std::function<void()> ready) {
    Shard &sh = shard_for(uid);
    if (stopping_ || !sh.usable() || !sh.up) {
        // Registered when the shard comes back; the replay then covers what was missed.
        if (ready)
            ready();
        return;
    }
    send_join(sh, uid, device_id, device_name, false, std::move(ready));
}

void Bus::left(std::string_view uid, std::string_view device_id, bool last_here) {
    if (stopping_)
        return;
    Shard &sh = shard_for(uid);
    if (!sh.usable() || !sh.up) {
        if (sh.reset_on_return)
            return; // the return removes every entry of this node anyway
        if (sh.pending_leaves.size() >= conf_.max_pending_leaves) {
            log_->log(GLIDE_LOG_WARN,
                      "cluster bus %s: more than %zu sessions left while it is down: this "
                      "node's directory entries are all removed when it returns, and those of "
                      "the sessions still here registered again",
                      sh.url.text.c_str(), conf_.max_pending_leaves);
            std::vector<Shard::Leave>().swap(sh.pending_leaves);
            sh.reset_on_return = true;
            return;
        }
        sh.pending_leaves.push_back({std::string(uid), std::string(device_id), last_here});
        return;
    }
    key_.assign(kPrefix).append("d:").append(uid);
    key2_.assign(kPrefix).append("nu:").append(conf_.node_id);
    channel_.assign(kPrefix).append("s:").append(uid);
    const char *argv[] = {"EVALSHA",       g_scripts[kLeave].sha, "2",          key_.data(),
                          key2_.data(),    device_id.data(),      conf_.node_id.data(),
                          uid.data(),      channel_.data(),       last_here ? "1" : "0"};
    const size_t lens[] = {7,
                           40,
                           1,
                           key_.size(),
                           key2_.size(),
                           device_id.size(),
                           conf_.node_id.size(),
                           uid.size(),
                           channel_.size(),
                           1};
    sh.command(10, argv, lens);
}

void Bus::route(std::string_view uid, char kind, std::string_view a, std::string_view b) {
    Shard &sh = shard_for(uid);
    if (stopping_ || !sh.up) {
        counters_.not_sent++;
        return;
    }
    key_.assign(kPrefix).append("d:").append(uid);
    payload_.assign(1, kind);
    append_field(payload_, uid);
    if (kind == 'E') {
        payload_ += a;
    } else {
        append_field(payload_, a);
        payload_ += b;
    }
    send_route(sh, 1);
}

void Bus::send_route(Shard &sh, int keys) {
    constexpr std::string_view inbox_prefix = "glide:n:";
    const char *argv[] = {"EVALSHA",           g_scripts[kRoute].sha, keys == 1 ? "1" : "2",
                          key_.data(),         key2_.data(),          conf_.node_id.data(),
                          inbox_prefix.data(), payload_.data()};
    const size_t lens[] = {7, 40, 1, key_.size(), key2_.size(), conf_.node_id.size(),
                           inbox_prefix.size(), payload_.size()};
    if (keys == 1) { // no second key: shift the arguments down over it
        const char *a1[] = {argv[0], argv[1], argv[2], argv[3], argv[5], argv[6], argv[7]};
        const size_t l1[] = {lens[0], lens[1], lens[2], lens[3], lens[5], lens[6], lens[7]};
        sh.command(7, a1, l1);
    } else {
        sh.command(8, argv, lens);
    }
    counters_.published++;
}

void Bus::to_user(std::string_view uid, std::string_view json) {
    route(uid, 'E', json, {});
}

void Bus::to_users(std::string_view uid, std::string_view uid2, std::string_view json) {
    Shard &sh = shard_for(uid);
    if (&shard_for(uid2) != &sh) { // their keys live apart: one route each
        to_user(uid, json);
        to_user(uid2, json);
        return;
    }
    if (stopping_ || !sh.up) {
        counters_.not_sent++;
        return;
    }
    // One script for both: half the Redis work of a chat's delivery and sender copies.
    key_.assign(kPrefix).append("d:").append(uid);
    key2_.assign(kPrefix).append("d:").append(uid2);
    payload_.assign(1, 'D');
    append_field(payload_, uid);
    append_field(payload_, uid2);
    payload_ += json;
    send_route(sh, 2);
}

void Bus::kick(std::string_view uid, std::string_view device_id) {
    route(uid, 'K', device_id, {});
}

void Bus::publish_groups(Shard &sh, char kind, std::string_view gid, std::string_view body) {
    if (stopping_ || !sh.up) {
        counters_.not_sent++;
        return;
    }
    payload_.assign(1, kind);
    append_field(payload_, conf_.node_id);
    if (kind != 'R')
        append_field(payload_, gid);
    payload_ += body;
    const char *argv[] = {"PUBLISH", kGroups.data(), payload_.data()};
    const size_t lens[] = {7, kGroups.size(), payload_.size()};
    sh.command(3, argv, lens);
    counters_.published++;
}

void Bus::to_group(std::string_view gid, int64_t seq, std::string_view json) {
    std::string body;
    append_field(body, std::to_string(seq));
    body += json;
    publish_groups(shard_for(gid), 'G', gid, body);
}

void Bus::group_invalidate(std::string_view gid) {
    publish_groups(shard_for(gid), 'I', gid, {});
}

// --- state subscriptions -----------------------------------------------------------------

void Bus::subscribe_state(Shard &sh, const std::string &uid, bool on) {
    auto it = watches_.find(uid);
    if (it == watches_.end())
        return;
    if (!sh.sub || sh.tearing || !sh.up)
        return; // subscribed when the shard comes back
    channel_.assign(kPrefix).append("s:").append(uid);
    it->second.state = on ? Watch::State::subscribing : Watch::State::unsubscribing;
    const char *argv[] = {on ? "SUBSCRIBE" : "UNSUBSCRIBE", channel_.data()};
    const size_t lens[] = {on ? size_t{9} : size_t{11}, channel_.size()};
    redisAsyncCommandArgv(sh.sub, Shard::on_sub, &sh, 2, argv, lens);
}

void Bus::watch(std::string_view uid) {
    auto [it, fresh] = watches_.try_emplace(std::string(uid));
    Watch &w = it->second;
    if (w.refs++ == 0 && w.state == Watch::State::none)
        subscribe_state(shard_for(uid), it->first, true);
}

void Bus::unwatch(std::string_view uid) {
    auto it = watches_.find(uid);
    if (it == watches_.end() || it->second.refs == 0)
        return;
    Watch &w = it->second;
    if (--w.refs > 0)
        return;
    if (w.state == Watch::State::subscribed)
        subscribe_state(shard_for(uid), it->first, false);
    else if (w.state == Watch::State::none)
        watches_.erase(it);
    // subscribing / unsubscribing: settled by the reply (watch_reply).
}

void Bus::watch_reply(std::string_view uid, bool subscribed) {
    auto it = watches_.find(uid);
    if (it == watches_.end())
        return;
    Watch &w = it->second;
    w.state = subscribed ? Watch::State::subscribed : Watch::State::none;
    if (subscribed && w.refs == 0)
        subscribe_state(shard_for(uid), it->first, false);
    else if (!subscribed && w.refs > 0)
        subscribe_state(shard_for(uid), it->first, true);
    else if (!subscribed)
        watches_.erase(it);
}

namespace {

struct Query {
    std::vector<bool> online;
    size_t pending = 0;
    bool failed = false;
    std::function<void(std::vector<bool>)> done;
};
struct QueryItem {
    std::shared_ptr<Query> q;
    size_t i;
    Bus *bus;
};

} // namespace

void Bus::query_online(std::vector<std::string> uids,
                       std::function<void(std::vector<bool>)> done) {
    auto q = std::make_shared<Query>();
    q->online.assign(uids.size(), false);
    q->done = std::move(done);
    bool all_up = !stopping_;
    for (const std::string &uid : uids)
        all_up = all_up && shard_for(uid).up;
    if (!all_up || uids.empty()) {
        // Answered on the next turn, as promised: "no answer", the caller's local view.
        auto *held = new std::shared_ptr<Query>(q);
        event_base_once(
            base_, -1, EV_TIMEOUT,
            [](evutil_socket_t, short, void *p) {
                std::unique_ptr<std::shared_ptr<Query>> h(
                    static_cast<std::shared_ptr<Query> *>(p));
                (*h)->done({});
            },
            held, nullptr);
        (void)uids;
        return;
    }
    q->pending = uids.size();
    for (size_t i = 0; i < uids.size(); i++) {
        key_.assign(kPrefix).append("d:").append(uids[i]);
        const char *argv[] = {"EXISTS", key_.data()};
        const size_t lens[] = {6, key_.size()};
        shard_for(uids[i]).command(
            2, argv, lens,
            [](redisAsyncContext *, void *reply, void *priv) {
                std::unique_ptr<QueryItem> it(static_cast<QueryItem *>(priv));
                auto *r = static_cast<redisReply *>(reply);
                Query &query = *it->q;
                if (r && r->type == REDIS_REPLY_INTEGER)
                    query.online[it->i] = r->integer > 0;
                else
                    query.failed = true;
                if (--query.pending == 0 && !it->bus->stopping_)
                    query.done(query.failed ? std::vector<bool>{} : std::move(query.online));
            },
            new QueryItem{q, i, this});
    }
}

// --- input -------------------------------------------------------------------------------

void Bus::received(Shard &sh, std::string_view channel, std::string_view payload) {
    (void)sh;
    if (payload.empty())
        return;
    if (channel.size() > kPrefix.size() + 2 && channel.substr(kPrefix.size(), 2) == "s:") {
        sink_->state(channel.substr(kPrefix.size() + 2), payload == "1");
        return;
    }
    counters_.received++;
    const char kind = payload[0];
    std::string_view in = payload.substr(1), a, b;
    if (channel == inbox_) {
        if (!take_field(in, &a))
            goto bad;
        switch (kind) {
        case 'E':
            sink_->deliver(a, in);
            return;
        case 'D':
            if (!take_field(in, &b))
                goto bad;
            sink_->deliver(a, in);
            sink_->deliver(b, in);
            return;
        case 'L':
            if (!take_field(in, &b))
                goto bad;
            sink_->kicked_out(a, b, in);
            return;
        case 'K':
            if (!take_field(in, &b))
                goto bad;
            sink_->kick(a, b);
            return;
        case 'A':
            if (!take_field(in, &b))
                goto bad;
            answered(a, b, in);
            return;
        }
        goto bad;
    }
    if (channel == kGroups) {
        if (!take_field(in, &a))
            goto bad;
        if (a == conf_.node_id)
            return; // our own
        if (kind == 'R') {
            request_replay();
            return;
        }
        if (kind == 'Q') {
            std::string_view what;
            if (!take_field(in, &b) || !take_field(in, &what) || what.size() != 1)
                goto bad;
            answer(a, b, what, in);
            return;
        }
        if (!take_field(in, &b))
            goto bad;
        std::string_view seq;
        if (kind == 'G' && take_field(in, &seq))
            sink_->group(b, strtoll(std::string(seq).c_str(), nullptr, 10), in);
        else if (kind == 'I')
            sink_->group_invalidate(b);
        else
            goto bad;
        return;
    }
bad:
    log_->log(GLIDE_LOG_WARN, "cluster bus: ignored a malformed message on %.*s",
              static_cast<int>(channel.size()), channel.data());
}

// --- cluster-wide queries ----------------------------------------------------------------

void Bus::ask_all(char what, std::string_view arg, uint32_t timeout_ms, AnswerFn each,
                  AskDone done) {
    auto a = std::make_unique<Ask>();
    a->bus = this;
    a->id = next_ask_++;
    a->each = std::move(each);
    a->done = std::move(done);
    a->timer.reset(evtimer_new(
        base_, [](evutil_socket_t, short, void *p) {
            auto *ask = static_cast<Ask *>(p);
            ask->bus->finish_ask(ask->id);
        },
        a.get()));
    Ask *ask = a.get();
    asks_.emplace(ask->id, std::move(a));
    Shard &sh = *shards_[0];
    timeval tv{timeout_ms / 1000, static_cast<suseconds_t>(timeout_ms % 1000) * 1000};
    if (stopping_ || !sh.up) {
        tv = {0, 0};
        ask->nodes = 0;
        evtimer_add(ask->timer.get(), &tv);
        return;
    }
    evtimer_add(ask->timer.get(), &tv);
    // How many will answer: the other nodes of the heartbeat set.
    const char *zargv[] = {"ZRANGE", kNodes.data(), "0", "-1"};
    const size_t zlens[] = {6, kNodes.size(), 1, 2};
    sh.command(
        4, zargv, zlens,
        [](redisAsyncContext *, void *reply, void *priv) {
            auto *held = static_cast<std::pair<Bus *, uint64_t> *>(priv);
            auto [bus, id] = *held;
            delete held;
            auto *r = static_cast<redisReply *>(reply);
            if (bus->stopping_)
                return;
            auto it = bus->asks_.find(id);
            if (it == bus->asks_.end())
                return;
            int64_t n = 0;
            if (r && r->type == REDIS_REPLY_ARRAY)
                for (size_t i = 0; i < r->elements; i++)
                    n += reply_text(r->element[i]) != bus->conf_.node_id;
            it->second->nodes = n;
            if (it->second->answered >= n)
                bus->finish_ask(id);
        },
        new std::pair<Bus *, uint64_t>(this, ask->id));
    std::string id = std::to_string(ask->id);
    payload_.assign(1, 'Q');
    append_field(payload_, conf_.node_id);
    append_field(payload_, id);
    append_field(payload_, std::string_view(&what, 1));
    payload_ += arg;
    const char *argv[] = {"PUBLISH", kGroups.data(), payload_.data()};
    const size_t lens[] = {7, kGroups.size(), payload_.size()};
    sh.command(3, argv, lens);
}

void Bus::answer(std::string_view origin, std::string_view id, std::string_view what,
                 std::string_view arg) {
    Shard &sh = *shards_[0];
    if (!answerer_ || !sh.up)
        return;
    std::string body = answerer_(what[0], arg);
    std::string out(1, 'A');
    append_field(out, id);
    append_field(out, conf_.node_id);
    out += body;
    channel_.assign(kPrefix).append("n:").append(origin);
    const char *argv[] = {"PUBLISH", channel_.data(), out.data()};
    const size_t lens[] = {7, channel_.size(), out.size()};
    sh.command(3, argv, lens);
}

void Bus::answered(std::string_view id, std::string_view node, std::string_view body) {
    auto it = asks_.find(strtoull(std::string(id).c_str(), nullptr, 10));
    if (it == asks_.end())
        return; // late: the query ended
    Ask &a = *it->second;
    a.answered++;
    const uint64_t key = a.id;
    a.each(node, body);
    // each may have re-entered (a host callback): look the query up again.
    if (auto again = asks_.find(key);
        again != asks_.end() && again->second->nodes >= 0 &&
        again->second->answered >= again->second->nodes)
        finish_ask(key);
}

void Bus::finish_ask(uint64_t id) {
    auto it = asks_.find(id);
    if (it == asks_.end())
        return;
    std::unique_ptr<Ask> a = std::move(it->second);
    asks_.erase(it);
    const uint32_t nodes =
        static_cast<uint32_t>(std::max<int64_t>(a->nodes, static_cast<int64_t>(a->answered)));
    a->done(nodes, a->answered);
}

// --- heartbeat, replay -------------------------------------------------------------------

void Bus::send_heartbeat(Shard &sh, bool reset_self, bool check) {
    std::string ttl = std::to_string(conf_.node_ttl_ms);
    const char *argv[] = {"EVALSHA",    g_scripts[kHeartbeat].sha, "1",
                          kNodes.data(), conf_.node_id.data(),     ttl.data(),
                          kPrefix.data(), reset_self ? "1" : "0"};
    const size_t lens[] = {7, 40, 1, kNodes.size(), conf_.node_id.size(), ttl.size(),
                           kPrefix.size(), 1};
    sh.command(8, argv, lens, check ? on_heartbeat_reply : nullptr, &sh);
}

void Bus::on_heartbeat_reply(redisAsyncContext *, void *reply, void *priv) {
    auto *sh = static_cast<Shard *>(priv);
    auto *r = static_cast<redisReply *>(reply);
    Bus *bus = sh->bus;
    if (!r || sh->tearing || bus->stopping_)
        return;
    if (r->type == REDIS_REPLY_ERROR) {
        bus->log_->log(GLIDE_LOG_ERROR, "cluster bus: heartbeat: %.*s", static_cast<int>(r->len),
                       r->str);
    } else if (r->type == REDIS_REPLY_INTEGER && r->integer == 1) {
        // Removed as silent (this node stalled) or Redis lost its data: register again, and
        // replay what was not routed here.
        bus->log_->log(GLIDE_LOG_WARN,
                       "cluster bus %s: this node was not in the directory, registering its "
                       "sessions again",
                       sh->url.text.c_str());
        bus->rejoin(*sh);
        bus->request_replay();
    }
}

void Bus::on_heartbeat(evutil_socket_t, short, void *self) {
    auto *bus = static_cast<Bus *>(self);
    // A join Redis has not answered in time (it stalled with the connection open): the login's
    // replay starts anyway, rather than never.
    const int64_t now = now_ms();
    std::vector<std::shared_ptr<Ready>> due;
    std::erase_if(bus->waiting_ready_, [&](const std::weak_ptr<Ready> &w) {
        auto r = w.lock();
        if (!r || r->fired)
            return true;
        if (now - r->since_ms < static_cast<int64_t>(bus->conf_.join_timeout_ms))
            return false;
        due.push_back(std::move(r));
        return true;
    });
    for (auto &r : due)
        r->fire();
    for (auto &sh : bus->shards_)
        if (sh->up)
            bus->send_heartbeat(*sh, false, true);
}

void Bus::request_replay() {
    if (evtimer_pending(replay_.get(), nullptr))
        return;
    timeval tv{conf_.replay_delay_ms / 1000,
               static_cast<suseconds_t>(conf_.replay_delay_ms % 1000) * 1000};
    evtimer_add(replay_.get(), &tv);
}

void Bus::on_replay(evutil_socket_t, short, void *self) {
    static_cast<Bus *>(self)->sink_->bus_returned();
}

} // namespace glide::cluster
