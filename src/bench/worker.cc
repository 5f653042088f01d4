// A glide-bench worker process: its share of the scenario's connections on one event loop.
//
// Setup opens and authenticates the connections (a bounded number in flight), then reports
// ready. On the parent's go, senders start: open loop (a 1 ms timer sends what the --rate
// schedule says is due; in connect, the 5 ms tick starts the cycles that are due) or saturation (each sender keeps --window messages waiting for the
// server's ack). Every message carries its send time (CLOCK_MONOTONIC ns) in data.sendAt and
// in its cliMid, so ack.message gives the server-ack latency and the receiver's copy the
// end-to-end latency. On stop, senders stop, in-flight messages get up to two seconds, and
// the worker exits.
//
// flood: the chat pairs at their open-loop rate, and in a worker of its own (niced, so that it
// never takes the load generator's CPU from the others) one flooder that keeps --flood-window
// messages in flight to a receiver (in a worker of its own too) that acknowledges them, as fast
// as the server answers. The flooder's figures are kept apart from the pairs'.
#include <arpa/inet.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>

#include "bench/bench.h"
#include "client/connection.h"
#include "client/protocol.h"
#include "codec/credential.h"
#include "codec/payload.h"

namespace glide::bench {

namespace {

namespace act = codec::action;
using client::now_ns;

enum class Role : uint8_t {
    idle,
    sender,
    receiver,
    group_sender,
    member,
    slow_receiver,
    cycle,
    flooder,
    flood_receiver
};

constexpr int64_t kAuthSeq = 1;
// Open-loop senders never queue more than this many unacknowledged messages each: the
// schedule then counts them as missed rather than growing memory without bound.
constexpr int64_t kMaxInFlight = 4096;
// Open loop: how often the send timer sends what the schedule says is due. A short tick keeps
// the bursts small; each tick costs the loop one timer wake-up.
constexpr suseconds_t kSendTickUs = 1000;

class Worker;

struct User final : client::ConnectionHandler {
    Worker *w = nullptr;
    int64_t index = 0;
    Role role = Role::idle;
    std::string uid, target, credential;
    std::unique_ptr<client::Connection> conn;
    uint64_t started_ns = 0;
    bool authed = false;
    bool counted_done = false; // setup: counted as authenticated or failed
    bool in_setup = false;     // connecting or authenticating, counted in Worker::in_setup_
    int64_t in_flight = 0;
    uint64_t counter = 0;

    void on_open(client::Connection &c) override;
    void on_message(client::Connection &c, std::string_view payload) override;
    void on_close(client::Connection &c, const client::CloseInfo &info) override;
};

class Worker {
public:
    Worker(const Config &cfg, int index, Shared *sh, WorkerShared *out)
        : cfg_(cfg), index_(index), sh_(sh), out_(out) {}

    int run(int64_t first, int64_t count);

    // Called by users.
    void authenticated(User &u);
    void setup_failed(User &u, const std::string &why);
    void send_one(User &u);
    void record_ack(uint64_t sent_ns);
    void record_e2e(uint64_t sent_ns);
    void ack_received(User &u);
    void cycle_done(User &u);
    bool measuring() const { return going_; }
    bool recording(uint64_t now) const { return going_ && now >= record_from_; }
    const Config &cfg() const { return cfg_; }
    WorkerShared *out() { return out_; }
    bool stopping() const { return stopping_; }

private:
    static void on_tick(evutil_socket_t, short, void *self);
    static void on_send_timer(evutil_socket_t, short, void *self);
    static void on_heartbeat(evutil_socket_t, short, void *self);
    static void on_restart(evutil_socket_t, short, void *self);
    void start_more();
    void start_user(User &u);
    void go();
    void stop();
    void make_user(int64_t i, User &u);

    const Config &cfg_;
    int index_;
    Shared *sh_;
    WorkerShared *out_;
    event_base *base_ = nullptr;
    std::deque<User> users_;
    std::vector<User *> senders_;
    std::vector<User *> flooders_;
    size_t next_start_ = 0;
    int64_t in_setup_ = 0;
    int64_t setup_done_ = 0;
    bool going_ = false, stopping_ = false, finished_ = false;
    uint64_t go_ns_ = 0, record_from_ = 0, stop_ns_ = 0, cpu_start_ = 0;
    uint64_t scheduled_ = 0; // open loop: messages (connect: cycles) due so far
    size_t rr_ = 0;          // open loop: next sender
    std::string content_;
    std::string slow_content_; // the slow pair's messages: large, so the backlog builds fast
    std::vector<client::SockAddr> sources_;
    net::EventPtr tick_, send_timer_, heartbeat_;
    std::unique_ptr<client::FlushQueue> flush_; // every connection's writes, once per turn
    std::vector<User *> restart_;
    uint64_t cycle_serial_ = 0;
};

void User::on_open(client::Connection &c) {
    if (w->cfg().baseline) {
        // The echo server returns the authenticate message itself: that is the "success".
        c.send(client::authenticate_message(kAuthSeq, "baseline"));
        return;
    }
    c.send(client::authenticate_message(kAuthSeq, credential));
}

// Parses the send time out of a cliMid "<ns>.<counter>".
uint64_t cli_mid_time(std::string_view cli_mid) {
    uint64_t v = 0;
    for (char ch : cli_mid) {
        if (ch < '0' || ch > '9')
            break;
        v = v * 10 + static_cast<uint64_t>(ch - '0');
    }
    return v;
}

void User::on_message(client::Connection &c, std::string_view payload) {
    codec::Envelope e;
    if (!codec::decode(c.codec(), payload, &e)) {
        w->out()->errors++;
        return;
    }
    const std::string &a = e.action;
    if (!authed) {
        if ((a == act::notify_success && e.seq == kAuthSeq) ||
            (w->cfg().baseline && a == act::authenticate)) {
            authed = true;
            w->authenticated(*this);
        } else if (a == act::notify_error && e.seq == kAuthSeq) {
            auto t = codec::decode_payload<codec::Text>(e);
            w->setup_failed(*this, "authentication failed: " + (t ? t->text : e.action));
            c.close();
        }
        return;
    }
    if (role == Role::flooder) {
        if (a == act::ack_message) {
            w->out()->flood_acked++;
            w->ack_received(*this);
        } else if (a == act::notify_error) {
            w->out()->flood_refused++; // the server's rate limit: the message was not handled
            w->ack_received(*this);
        }
        return;
    }
    if (role == Role::flood_receiver) {
        if (a == act::chat) {
            auto m = codec::decode_payload<codec::ChatMessage>(e);
            if (m)
                c.send(client::ack_request_message(m->mid, uid, e.from.empty() ? m->from : e.from));
        }
        return;
    }
    if (a == act::ack_message) {
        auto m = codec::decode_payload<codec::AckMessage>(e);
        if (m)
            w->record_ack(cli_mid_time(m->cli_mid));
        w->ack_received(*this);
    } else if (a == act::chat || a == act::group) {
        auto m = codec::decode_payload<codec::ChatMessage>(e);
        if (!m) {
            w->out()->errors++;
            return;
        }
        // The slow receiver reads its backlog only after the run: not a latency sample.
        if (role != Role::slow_receiver) {
            w->record_e2e(static_cast<uint64_t>(m->send_at));
            w->out()->delivered++;
        }
        if (w->cfg().baseline && role == Role::sender) {
            // The echo is both the server's ack and the delivery.
            w->record_ack(static_cast<uint64_t>(m->send_at));
            w->ack_received(*this);
            return;
        }
        if (a == act::chat)
            c.send(client::ack_request_message(m->mid, uid, e.from.empty() ? m->from : e.from));
    } else if (a == act::ack_notify) {
        w->out()->notified++;
    } else if (a == act::heartbeat || a == act::hello) {
        // nothing
    } else if (a == act::notify_error || a == act::notify_forbidden ||
               a == act::notify_unknown_action || a == act::notify_unauthenticated) {
        w->out()->errors++;
        auto t = codec::decode_payload<codec::Text>(e);
        if (w->out()->error[0] == '\0')
            snprintf(w->out()->error, sizeof w->out()->error, "%s: %s", a.c_str(),
                     t ? t->text.c_str() : "");
    }
}

void User::on_close(client::Connection &, const client::CloseInfo &info) {
    if (!authed && !counted_done) {
        w->setup_failed(*this, info.reason.empty() ? "closed during setup" : info.reason);
        return;
    }
    if (role == Role::cycle) {
        w->cycle_done(*this);
        return;
    }
    if (role == Role::slow_receiver) {
        w->out()->slow_closed_code = info.code;
        return;
    }
    if (role == Role::flooder || role == Role::flood_receiver) {
        if (!w->stopping()) {
            w->out()->flood_closed_code = info.code;
            w->out()->flood_closed_ns = now_ns();
            w->out()->flood_closed_receiver = role == Role::flood_receiver;
        }
        return;
    }
    if (!w->stopping()) {
        w->out()->closed++;
        if (w->out()->error[0] == '\0')
            snprintf(w->out()->error, sizeof w->out()->error, "connection %s closed: %u %s",
                     uid.c_str(), info.code, info.reason.c_str());
    }
}

void Worker::make_user(int64_t i, User &u) {
    u.w = this;
    u.index = i;
    u.uid = user_uid(cfg_, i);
    switch (cfg_.scenario) {
    case Scenario::idle:
    case Scenario::replay: // runs in the parent (bench/replay.cc), never in a worker
        u.role = Role::idle;
        break;
    case Scenario::connect:
        u.role = Role::cycle;
        break;
    case Scenario::chat:
    case Scenario::slow:
    case Scenario::flood: {
        const int64_t extra_first = cfg_.pairs * 2;
        if (cfg_.scenario == Scenario::slow && i >= extra_first)
            u.role = i == extra_first ? Role::sender : Role::slow_receiver;
        else if (cfg_.scenario == Scenario::flood && i >= extra_first)
            u.role = i == extra_first ? Role::flooder : Role::flood_receiver;
        else
            u.role = i % 2 == 0 ? Role::sender : Role::receiver;
        if (u.role == Role::sender || u.role == Role::flooder)
            u.target = user_uid(cfg_, i + 1);
        break;
    }
    case Scenario::group:
        u.role = i % cfg_.members == 0 ? Role::group_sender : Role::member;
        u.target = group_id(cfg_, i / cfg_.members);
        break;
    }
    codec::ClientAuthCredentials c;
    c.type = 2;
    c.user_id = u.uid;
    c.timestamp = client::wall_ms();
    auto sealed = codec::seal_credential(cfg_.secret, c);
    if (sealed)
        u.credential = *sealed;
}

void Worker::start_user(User &u) {
    u.conn = std::make_unique<client::Connection>(base_, &u);
    u.started_ns = now_ns();
    u.authed = false;
    u.counted_done = false;
    client::ConnectOptions opt;
    const Target &t = cfg_.targets[user_target(cfg_, u.index)];
    opt.endpoint = t.endpoint;
    opt.address = t.address;
    opt.codec = cfg_.codec;
    opt.flush = flush_.get();
    // Every target gets every source address (user i's target is i % n, mostly): each
    // (source, server) pair has its own range of ephemeral ports.
    if (!sources_.empty())
        opt.source = &sources_[static_cast<size_t>(u.index) / cfg_.targets.size() %
                               sources_.size()];
    Status st = u.conn->connect(opt);
    if (!st) {
        // No callback will come: count it now.
        setup_failed(u, st.error());
        return;
    }
    u.in_setup = true;
    in_setup_++;
}

void Worker::start_more() {
    const int64_t limit = cfg_.scenario == Scenario::connect ? cfg_.concurrency : 256;
    while (in_setup_ < limit && next_start_ < users_.size()) {
        User &u = users_[next_start_++];
        start_user(u);
    }
}

void Worker::authenticated(User &u) {
    if (u.in_setup) {
        u.in_setup = false;
        in_setup_--;
    }
    u.counted_done = true;
    out_->authenticated++;
    if (u.role == Role::cycle) {
        if (recording(now_ns()))
            out_->connect.record(now_ns() - u.started_ns);
        out_->acked++; // a completed connect + authenticate
        u.conn->close();
        return;
    }
    out_->connected++;
    if (u.role == Role::sender || u.role == Role::group_sender)
        senders_.push_back(&u);
    if (u.role == Role::flooder)
        flooders_.push_back(&u);
    setup_done_++;
    start_more();
}

void Worker::setup_failed(User &u, const std::string &why) {
    if (u.counted_done)
        return;
    u.counted_done = true;
    if (u.in_setup) {
        u.in_setup = false;
        in_setup_--;
    }
    out_->failed++;
    if (out_->error[0] == '\0')
        snprintf(out_->error, sizeof out_->error, "%s: %s", u.uid.c_str(), why.c_str());
    if (u.role == Role::cycle) {
        restart_.push_back(&u);
        return;
    }
    setup_done_++;
    start_more();
}

void Worker::cycle_done(User &u) {
    restart_.push_back(&u);
}

void Worker::on_restart(evutil_socket_t, short, void *self) {
    auto *w = static_cast<Worker *>(self);
    std::vector<User *> again;
    again.swap(w->restart_);
    if (w->cfg_.rate > 0 && w->going_ && !w->stopping_) {
        // connect --rate: this worker's share of the cycles that are due start now, the other
        // users wait for the next tick. Cycles that find no free user (--concurrency too low,
        // or a stall) are missed, not made up later in a burst.
        const double per_ns = static_cast<double>(w->cfg_.rate) /
                              static_cast<double>(w->cfg_.procs) / 1e9;
        const uint64_t due =
            static_cast<uint64_t>(per_ns * static_cast<double>(now_ns() - w->go_ns_));
        const uint64_t want = due > w->scheduled_ ? due - w->scheduled_ : 0;
        const size_t n = static_cast<size_t>(std::min<uint64_t>(want, again.size()));
        w->scheduled_ = n == again.size() ? due : w->scheduled_ + n;
        w->restart_.assign(again.begin() + static_cast<std::ptrdiff_t>(n), again.end());
        again.resize(n);
    }
    for (User *u : again) {
        if (!w->going_ || w->stopping_)
            continue;
        u->uid = w->cfg_.uid_prefix + "-c" + std::to_string(w->index_) + "-" +
                 std::to_string(++w->cycle_serial_);
        codec::ClientAuthCredentials c;
        c.type = 2;
        c.user_id = u->uid;
        c.timestamp = client::wall_ms();
        auto sealed = codec::seal_credential(w->cfg_.secret, c);
        if (sealed)
            u->credential = *sealed;
        w->start_user(*u);
    }
}

void Worker::send_one(User &u) {
    if (!u.conn || !u.conn->is_open())
        return;
    const uint64_t t = now_ns();
    const uint64_t n = ++u.counter;
    char cli_mid[48];
    snprintf(cli_mid, sizeof cli_mid, "%llu.%llu", static_cast<unsigned long long>(t),
             static_cast<unsigned long long>(n));
    const bool to_slow = cfg_.scenario == Scenario::slow && u.index == cfg_.pairs * 2;
    const std::string &content = to_slow ? slow_content_ : content_;
    codec::Envelope e =
        u.role == Role::group_sender
            ? client::group_message(static_cast<int64_t>(n), u.uid, u.target, cli_mid, content,
                                    static_cast<int64_t>(t), "")
            : client::chat_message(static_cast<int64_t>(n), u.uid, u.target, cli_mid, content,
                                   static_cast<int64_t>(t), "");
    u.conn->send(e);
    u.in_flight++;
    if (u.role == Role::flooder)
        out_->flood_sent++;
    else
        out_->sent++;
}

void Worker::record_ack(uint64_t sent_ns) {
    uint64_t now = now_ns();
    if (sent_ns && recording(now) && sent_ns <= now)
        out_->ack.record(now - sent_ns);
}

void Worker::record_e2e(uint64_t sent_ns) {
    uint64_t now = now_ns();
    if (sent_ns && recording(now) && sent_ns <= now)
        out_->e2e.record(now - sent_ns);
}

void Worker::ack_received(User &u) {
    if (u.in_flight > 0)
        u.in_flight--;
    if (u.role == Role::flooder) {
        // As fast as the server answers: the window refilled at every answer.
        while (going_ && !stopping_ && u.in_flight < cfg_.flood_window && u.conn &&
               u.conn->is_open())
            send_one(u);
        return;
    }
    out_->acked++;
    if (going_ && !stopping_ && cfg_.rate == 0 && u.in_flight < cfg_.window)
        send_one(u);
}

void Worker::go() {
    going_ = true;
    go_ns_ = sh_->go_ns.load();
    record_from_ = go_ns_ + static_cast<uint64_t>(cfg_.warmup_ms) * 1000000ull;
    cpu_start_ = self_cpu_ns();
    for (User &u : users_)
        if (u.role == Role::slow_receiver && u.conn)
            u.conn->set_reading(false);
    if (cfg_.scenario == Scenario::connect) {
        for (User &u : users_)
            restart_.push_back(&u);
        on_restart(-1, 0, this);
        return;
    }
    for (User *u : flooders_)
        while (u->in_flight < cfg_.flood_window && u->conn && u->conn->is_open())
            send_one(*u);
    if (senders_.empty())
        return;
    if (cfg_.rate == 0) {
        for (User *u : senders_)
            for (int64_t k = 0; k < cfg_.window; k++)
                send_one(*u);
    } else {
        send_timer_.reset(event_new(base_, -1, EV_PERSIST, on_send_timer, this));
        timeval tv{0, kSendTickUs};
        event_add(send_timer_.get(), &tv);
    }
}

void Worker::on_send_timer(evutil_socket_t, short, void *self) {
    auto *w = static_cast<Worker *>(self);
    if (w->stopping_ || w->senders_.empty())
        return;
    // This worker's share of the rate, in proportion to its senders.
    const double share = static_cast<double>(w->cfg_.rate) * static_cast<double>(w->senders_.size());
    const double total_senders = [&] {
        switch (w->cfg_.scenario) {
        case Scenario::group: return static_cast<double>(w->cfg_.groups);
        case Scenario::slow: return static_cast<double>(w->cfg_.pairs + 1);
        default: return static_cast<double>(w->cfg_.pairs);
        }
    }();
    const double per_ns = share / total_senders / 1e9;
    const uint64_t due = static_cast<uint64_t>(per_ns * static_cast<double>(now_ns() - w->go_ns_));
    while (w->scheduled_ < due) {
        User *u = w->senders_[w->rr_++ % w->senders_.size()];
        w->scheduled_++;
        if (u->in_flight < kMaxInFlight)
            w->send_one(*u);
        else
            w->out_->errors++;
    }
}

void Worker::on_heartbeat(evutil_socket_t, short, void *self) {
    auto *w = static_cast<Worker *>(self);
    codec::Envelope hb = client::heartbeat_message();
    for (User &u : w->users_)
        if (u.authed && u.conn && u.conn->is_open() && u.role != Role::slow_receiver)
            u.conn->send(hb);
}

void Worker::stop() {
    stopping_ = true;
    stop_ns_ = now_ns();
    out_->cpu_ns = self_cpu_ns() - cpu_start_;
    send_timer_.reset();
    for (User &u : users_)
        if (u.role == Role::slow_receiver && u.conn)
            u.conn->set_reading(true); // to read how the server closed it
}

void Worker::on_tick(evutil_socket_t, short, void *self) {
    auto *w = static_cast<Worker *>(self);
    int cmd = w->sh_->command.load();
    if (!w->going_ && cmd >= kGo)
        w->go();
    if (!w->stopping_ && cmd == kStop)
        w->stop();
    if (w->out_->ready.load() == 0 && w->setup_done_ >= static_cast<int64_t>(w->users_.size()) &&
        w->cfg_.scenario != Scenario::connect)
        w->out_->ready = 1;
    if (w->cfg_.scenario == Scenario::connect && w->out_->ready.load() == 0)
        w->out_->ready = 1;
    if (!w->restart_.empty() && w->going_)
        on_restart(-1, 0, w);
    if (w->stopping_) {
        // In-flight messages get two seconds to arrive.
        bool idle = true; // (the flooder is not waited for)
        for (User *u : w->senders_)
            if (u->in_flight > 0 && u->conn && u->conn->is_open())
                idle = false;
        if (idle || now_ns() - w->stop_ns_ > 2000000000ull)
            event_base_loopbreak(w->base_);
    }
}

int Worker::run(int64_t first, int64_t count) {
    // libevent's clock is CLOCK_MONOTONIC_COARSE unless told otherwise: a jiffy (4 ms here), so
    // a 1 ms send timer would fire every 4 ms and send bursts four times as large.
    event_config *ec = event_config_new();
    if (!ec)
        return 1;
    event_config_set_flag(ec, EVENT_BASE_FLAG_PRECISE_TIMER);
    base_ = event_base_new_with_config(ec);
    event_config_free(ec);
    if (!base_)
        return 1;
    flush_ = std::make_unique<client::FlushQueue>(base_);
    if (!flush_->ok())
        return 1;
    content_.assign(static_cast<size_t>(cfg_.size), 'x');
    slow_content_.assign(std::max<size_t>(static_cast<size_t>(cfg_.size), 8192), 'x');
    if (cfg_.loopback && !cfg_.baseline) {
        for (int64_t s = 0; s < cfg_.sources; s++) {
            client::SockAddr a;
            auto *sin = reinterpret_cast<sockaddr_in *>(&a.ss);
            sin->sin_family = AF_INET;
            sin->sin_addr.s_addr = htonl(0x7F000001u + static_cast<uint32_t>(s));
            a.len = sizeof(sockaddr_in);
            sources_.push_back(a);
        }
    }
    if (cfg_.scenario == Scenario::connect)
        count = cfg_.concurrency;
    // The flooder's worker yields the load generator's CPU to the others, its receiver's to
    // the pairs' when those run with a raised priority (make bench's flood section).
    if (cfg_.scenario == Scenario::flood && first == cfg_.pairs * 2)
        setpriority(PRIO_PROCESS, 0, 19);
    if (cfg_.scenario == Scenario::flood && first == cfg_.pairs * 2 + 1) {
        errno = 0;
        const int nice_now = getpriority(PRIO_PROCESS, 0);
        if (errno == 0 && nice_now < 0)
            setpriority(PRIO_PROCESS, 0, 0);
    }
    for (int64_t i = 0; i < count; i++) {
        users_.emplace_back();
        make_user(first + i, users_.back());
    }
    tick_.reset(event_new(base_, -1, EV_PERSIST, on_tick, this));
    timeval tv = net::ms_to_tv(5);
    event_add(tick_.get(), &tv);
    heartbeat_.reset(event_new(base_, -1, EV_PERSIST, on_heartbeat, this));
    timeval hb = net::ms_to_tv(static_cast<uint64_t>(cfg_.heartbeat_ms));
    event_add(heartbeat_.get(), &hb);
    if (cfg_.scenario != Scenario::connect)
        start_more();
    event_base_dispatch(base_);
    tick_.reset();
    send_timer_.reset();
    heartbeat_.reset();
    users_.clear();
    flush_.reset();
    event_base_free(base_);
    out_->ready = 2;
    return 0;
}

} // namespace

int run_worker(const Config &cfg, int index, int64_t first, int64_t count, Shared *shared,
               WorkerShared *out) {
    Worker w(cfg, index, shared, out);
    return w.run(first, count);
}

std::string user_uid(const Config &cfg, int64_t i) {
    return cfg.uid_prefix + "-" + std::to_string(i);
}

size_t user_target(const Config &cfg, int64_t i) {
    const size_t n = cfg.targets.size();
    if (n <= 1)
        return 0;
    const auto u = static_cast<size_t>(i);
    if (cfg.scenario == Scenario::chat || cfg.scenario == Scenario::slow)
        return (u / 2 + u % 2) % n; // pair u / 2: sender (even) on p % n, receiver on p + 1
    return u % n;
}

std::string group_id(const Config &cfg, int64_t g) {
    return cfg.uid_prefix + "-g" + std::to_string(g);
}

int64_t scenario_users(const Config &cfg) {
    switch (cfg.scenario) {
    case Scenario::idle: return cfg.conns;
    case Scenario::connect: return cfg.concurrency * cfg.procs;
    case Scenario::chat: return cfg.pairs * 2;
    case Scenario::slow: return cfg.pairs * 2 + 2;
    case Scenario::flood: return cfg.pairs * 2 + 2;
    case Scenario::group: return cfg.groups * cfg.members;
    case Scenario::replay: return 2;
    }
    return 0;
}

} // namespace glide::bench
