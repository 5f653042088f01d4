// The cluster bus over Redis: port::ClusterPort on the module's event_base, with hiredis and its
// libevent adapter. Keys, channels and scripts: README.md and scripts.h.
//
// Each shard (one glide_cluster URL) has two connections: commands (the scripts, PUBLISH,
// EXISTS) and subscriptions (this node's inbox, the group channel, the state channels of
// watched uids). A shard is up once both are connected, authenticated and subscribed. A shard
// that fails (refused, reset, an AUTH error, no answer within the connect timeout) is torn down
// and connected again after a back-off (100 ms doubling to 1 s); the log says so once per
// change of state. While a shard is down, what would go through it is not sent: routed
// messages wait as undelivered in the store (the bus only routes, design.md §7).
#pragma once

#include <event2/event.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "cluster/redis_url.h"
#include "common/log.h"
#include "common/strings.h"
#include "port/cluster_port.h"

struct redisAsyncContext;

namespace glide::cluster {

struct BusConfig {
    std::string node_id;
    std::vector<RedisUrl> shards; // every node lists the same URLs in the same order
    uint32_t heartbeat_ms = 1000;
    uint32_t node_ttl_ms = 5000;        // a node silent this long is removed from the directory
    uint32_t connect_timeout_ms = 3000; // connected, authenticated and subscribed within
    uint32_t min_backoff_ms = 100;
    uint32_t max_backoff_ms = 1000;
    uint32_t replay_delay_ms = 200; // replay requests within this window are one replay
    uint32_t join_timeout_ms = 2000; // a join's `ready` fires by then even without an answer
    size_t max_pending_bytes = 64u << 20; // commands not yet written to a shard: past it, fail
    // Sessions that left while a shard was down, kept to be removed when it returns: past it,
    // the return removes all of this node's entries instead and registers the sessions here.
    size_t max_pending_leaves = 65536;
};

// A monotonic clock in milliseconds.
int64_t now_ms();

// The shard of `key` among n: Lamping and Veach's jump consistent hash of its FNV-1a hash.
uint32_t shard_of(std::string_view key, uint32_t n);

// What the bus counts (the module's statistics).
struct BusCounters {
    uint64_t published = 0;   // commands that publish (route, group, kick)
    uint64_t received = 0;    // messages taken from the inbox and the group channel
    uint64_t not_sent = 0;    // publishes skipped while their shard was down
    uint64_t reconnects = 0;  // shards that came back after being down
    uint32_t shards_up = 0;
};

class Bus final : public port::ClusterPort {
public:
    // `sink` and `log` outlive the bus.
    Bus(event_base *base, BusConfig conf, port::ClusterSink *sink, Logger *log);
    ~Bus() override;
    Bus(const Bus &) = delete;
    Bus &operator=(const Bus &) = delete;

    // Starts connecting every shard; usable at once.
    Status start();
    // Every shard is up.
    bool up() const;
    // The node is going away (a drain, after its sessions closed): leaves the heartbeat set
    // and calls done once every shard has taken what was sent before (the directory updates of
    // the closed sessions), or at once for shards that are down.
    void leave_cluster(std::function<void()> done);
    const BusCounters &counters() const { return counters_; }

    // -- cluster-wide queries (the control API's statistics and sessions) --

    // Computes this node's answer to another node's query (what and arg as given to ask_all).
    using Answerer = std::function<std::string(char what, std::string_view arg)>;
    void set_answerer(Answerer a) { answerer_ = std::move(a); }
    // Asks every other node in the heartbeat set: each(node, body) per answer as it arrives,
    // then done(nodes asked, nodes that answered) once, when all answered or after timeout_ms
    // (at once, on a later turn, with 0 and 0 when the bus is down). Never called after the
    // bus is destroyed.
    using AnswerFn = std::function<void(std::string_view node, std::string_view body)>;
    using AskDone = std::function<void(uint32_t nodes, uint32_t answered)>;
    void ask_all(char what, std::string_view arg, uint32_t timeout_ms, AnswerFn each,
                 AskDone done);

    // port::ClusterPort
    const std::string &node_id() const override { return conf_.node_id; }
    bool connected() const override { return up(); }
    void joined(std::string_view uid, std::string_view device_id, std::string_view device_name,
                std::function<void()> ready) override;
    void left(std::string_view uid, std::string_view device_id, bool last_here) override;
    void to_user(std::string_view uid, std::string_view json) override;
    void to_users(std::string_view uid, std::string_view uid2, std::string_view json) override;
    void kick(std::string_view uid, std::string_view device_id) override;
    void to_group(std::string_view gid, int64_t seq, std::string_view json) override;
    void group_invalidate(std::string_view gid) override;
    void watch(std::string_view uid) override;
    void unwatch(std::string_view uid) override;
    void query_online(std::vector<std::string> uids,
                      std::function<void(std::vector<bool>)> done) override;

    struct Shard; // internal (bus.cc)
    // A join's `ready`, called once: at the answer, or after join_timeout_ms.
    struct Ready {
        std::function<void()> fn;
        int64_t since_ms = 0;
        bool fired = false;
        void fire() {
            if (fired)
                return;
            fired = true;
            fn();
        }
    };

private:
    friend struct Shard;
    struct Watch {
        uint32_t refs = 0;
        enum class State : uint8_t { none, subscribing, subscribed, unsubscribing } state =
            State::none;
    };
    struct EventFree {
        void operator()(event *e) const { event_free(e); }
    };
    using EventPtr = std::unique_ptr<event, EventFree>;

    Shard &shard_for(std::string_view key);
    void shard_up(Shard &sh);
    // Registers the local sessions of the shard again; false when there are none.
    bool rejoin(Shard &sh);
    void send_join(Shard &sh, std::string_view uid, std::string_view device,
                   std::string_view name, bool rejoin, std::function<void()> ready);
    // check: a reply saying this node was not in the set registers its sessions again.
    void send_heartbeat(Shard &sh, bool reset_self, bool check);
    void route(std::string_view uid, char kind, std::string_view a, std::string_view b);
    // The route script over key_ (and key2_ when keys is 2) with payload_.
    void send_route(Shard &sh, int keys);
    void publish_groups(Shard &sh, char kind, std::string_view gid, std::string_view body);
    void subscribe_state(Shard &sh, const std::string &uid, bool on);
    void received(Shard &sh, std::string_view channel, std::string_view payload);
    void watch_reply(std::string_view uid, bool subscribed);
    void request_replay();
    static void on_heartbeat(evutil_socket_t, short, void *self);
    static void on_heartbeat_reply(redisAsyncContext *, void *reply, void *priv);
    static void on_replay(evutil_socket_t, short, void *self);
    struct Ask {
        Bus *bus;
        uint64_t id;
        AnswerFn each;
        AskDone done;
        int64_t nodes = -1; // other nodes, once the heartbeat set answered
        uint32_t answered = 0;
        EventPtr timer;
    };
    void answer(std::string_view origin, std::string_view id, std::string_view what,
                std::string_view arg);
    void answered(std::string_view id, std::string_view node, std::string_view body);
    void finish_ask(uint64_t id);

    event_base *base_;
    BusConfig conf_;
    port::ClusterSink *sink_;
    Logger *log_;
    std::vector<std::unique_ptr<Shard>> shards_;
    StringMap<Watch> watches_;
    EventPtr heartbeat_;
    EventPtr replay_;
    Answerer answerer_;
    std::vector<std::weak_ptr<Ready>> waiting_ready_;
    std::unordered_map<uint64_t, std::unique_ptr<Ask>> asks_;
    uint64_t next_ask_ = 1;
    bool stopping_ = false;
    BusCounters counters_;
    // Names built per call, kept to reuse their memory.
    std::string key_, key2_, channel_, payload_;
    std::string inbox_;       // glide:n:NODE
    std::string client_name_; // CLIENT SETNAME
};

} // namespace glide::cluster
