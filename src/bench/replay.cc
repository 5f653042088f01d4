// glide-bench replay: how long a member who missed --messages group messages waits for them at
// login. A group of two (created through the admin API): the publisher sends the messages,
// --window in flight, until every one is acknowledged (stored); the other member, offline until
// then, logs in, and the time from its authenticate to the last message.group is the figure.
// It also checks that every message came, once, in sequence order.
#include <unistd.h>

#include <memory>

#include "bench/bench.h"
#include "client/admin.h"
#include "client/connection.h"
#include "client/protocol.h"
#include "codec/credential.h"
#include "codec/payload.h"

namespace glide::bench {

namespace {

namespace act = codec::action;
using client::now_ns;

constexpr int64_t kAuthSeq = 1;
constexpr uint64_t kLimitNs = 120ull * 1000000000; // the whole run: a stuck server fails it

// One member's connection; the run's steps move on from its messages.
struct Member final : client::ConnectionHandler {
    std::string uid, credential;
    std::unique_ptr<client::Connection> conn;
    bool authed = false, closed = false;
    std::string error;
    uint64_t auth_sent_ns = 0, authed_ns = 0;
    // The publisher: messages sent and acknowledged; the reader: what it received.
    int64_t sent = 0, acked = 0;
    int64_t received = 0, last_seq = 0, out_of_order = 0;
    uint64_t first_ns = 0, last_ns = 0;
    bool reader = false;

    void on_open(client::Connection &c) override {
        auth_sent_ns = now_ns();
        c.send(client::authenticate_message(kAuthSeq, credential));
    }
    void on_message(client::Connection &c, std::string_view payload) override {
        codec::Envelope e;
        if (!codec::decode(c.codec(), payload, &e)) {
            error = "a message that does not decode";
            return;
        }
        if (!authed) {
            if (e.action == act::notify_success && e.seq == kAuthSeq) {
                authed = true;
                authed_ns = now_ns();
            } else if (e.seq == kAuthSeq && e.action == act::notify_error) {
                auto t = codec::decode_payload<codec::Text>(e);
                error = "authentication failed: " + (t ? t->text : e.action);
            }
            return;
        }
        if (e.action == act::ack_message) {
            acked++;
        } else if (e.action == act::group && reader) {
            auto m = codec::decode_payload<codec::ChatMessage>(e);
            if (!m) {
                error = "a message.group whose data does not decode";
                return;
            }
            out_of_order += m->seq != last_seq + 1;
            last_seq = m->seq;
            if (!received++)
                first_ns = now_ns();
            last_ns = now_ns();
        } else if (e.action == act::notify_error) {
            auto t = codec::decode_payload<codec::Text>(e);
            error = "notify.error: " + (t ? t->text : std::string());
        }
    }
    void on_close(client::Connection &, const client::CloseInfo &info) override {
        closed = true;
        if (error.empty())
            error = "closed: " + std::to_string(info.code) + " " + info.reason;
    }
};

// Runs the loop until done() or the member failed or the time ran out; false on the latter.
template <typename Done> bool run_until(event_base *base, Member &m, uint64_t deadline, Done done) {
    while (!done()) {
        if (!m.error.empty() || m.closed || now_ns() > deadline)
            return false;
        event_base_loop(base, EVLOOP_ONCE);
    }
    return true;
}

std::string ms_text(uint64_t ns) {
    char b[64];
    snprintf(b, sizeof b, "%.1f ms", static_cast<double>(ns) / 1e6);
    return b;
}

} // namespace

int run_replay(const Config &cfg, const std::string &codec_name, const std::string &report) {
    const std::string tag = cfg.uid_prefix + "-" + std::to_string(getpid());
    const std::string gid = tag + "-replay";
    Member pub, rd;
    pub.uid = tag + "-pub";
    rd.uid = tag + "-rd";
    rd.reader = true;
    for (Member *m : {&pub, &rd}) {
        codec::ClientAuthCredentials c;
        c.type = 2;
        c.user_id = m->uid;
        c.device_id = "bench";
        c.timestamp = client::wall_ms();
        auto sealed = codec::seal_credential(cfg.secret, c);
        if (!sealed) {
            fprintf(stderr, "glide-bench: %s\n", sealed.error().c_str());
            return 1;
        }
        m->credential = *sealed;
    }
    auto made = client::admin_call(cfg.admin_url, cfg.admin_token, "POST", "/v1/groups",
                                   "{\"gid\":\"" + gid + "\",\"members\":[\"" + pub.uid + "\",\"" +
                                       rd.uid + "\"]}");
    if (!made || made->status != 201) {
        fprintf(stderr, "glide-bench: creating the group failed: %s\n",
                made ? made->body.c_str() : made.error().c_str());
        return 1;
    }
    event_base *base = event_base_new();
    const uint64_t deadline = now_ns() + kLimitNs;
    auto connect = [&](Member &m) {
        m.conn = std::make_unique<client::Connection>(base, &m);
        client::ConnectOptions opt;
        opt.endpoint = cfg.targets[0].endpoint; // one server: the first of the list
        opt.address = cfg.targets[0].address;
        opt.codec = cfg.codec;
        opt.max_message_size = 16 << 20;
        Status st = m.conn->connect(opt);
        if (!st)
            m.error = st.error();
        return run_until(base, m, deadline, [&] { return m.authed; });
    };

    // The publisher sends everything while the reader is away.
    const std::string content(static_cast<size_t>(cfg.size), 'r');
    bool ok = connect(pub);
    const uint64_t pub_start = now_ns();
    ok = ok && run_until(base, pub, deadline, [&] {
             while (pub.sent < cfg.messages && pub.sent - pub.acked < cfg.window) {
                 pub.sent++;
                 pub.conn->send(client::group_message(pub.sent, pub.uid, gid,
                                                      "r-" + std::to_string(pub.sent), content,
                                                      client::wall_ms(), ""));
             }
             return pub.acked >= cfg.messages;
         });
    const uint64_t pub_ns = now_ns() - pub_start;
    // The reader logs in: its replay, timed from its authenticate to the last message.
    auto server_cpu = [&] {
        uint64_t ns = 0;
        for (pid_t p : cfg.server_pids)
            ns += proc_cpu_ns(p);
        return ns;
    };
    uint64_t cpu0 = server_cpu();
    ok = ok && connect(rd) &&
         run_until(base, rd, deadline, [&] { return rd.received >= cfg.messages; });
    uint64_t cpu1 = server_cpu();
    for (Member *m : {&pub, &rd})
        if (m->conn)
            m->conn.reset();
    event_base_free(base);
    auto deleted = client::admin_call(cfg.admin_url, cfg.admin_token, "DELETE",
                                      "/v1/groups/" + client::url_escape(gid), "");
    if (!deleted || deleted->status / 100 != 2)
        fprintf(stderr, "glide-bench: deleting the group failed\n");

    Rows rows;
    auto row = [&](std::string k, std::string v) { rows.emplace_back(std::move(k), std::move(v)); };
    row("server", cfg.url);
    row("codec", codec_name);
    row("published", std::to_string(pub.acked) + " group messages of " + std::to_string(cfg.size) +
                         " bytes acknowledged in " + ms_text(pub_ns) + " (window " +
                         std::to_string(cfg.window) + "), the reader offline");
    const uint64_t total = rd.last_ns > rd.auth_sent_ns ? rd.last_ns - rd.auth_sent_ns : 0;
    row("group replay at login",
        std::to_string(rd.received) + " messages in " + ms_text(total) +
            " from authenticate to the last (" +
            (total ? std::to_string(static_cast<int64_t>(rd.received * 1e9 / total)) : "0") +
            " msg/s; authenticated after " + ms_text(rd.authed_ns - rd.auth_sent_ns) +
            ", first message after " +
            ms_text(rd.first_ns > rd.auth_sent_ns ? rd.first_ns - rd.auth_sent_ns : 0) + ")");
    row("replay order", rd.out_of_order == 0 && rd.received == cfg.messages
                            ? std::string("every message once, in sequence order")
                            : std::to_string(rd.out_of_order) + " out of order, " +
                                  std::to_string(rd.received) + " received");
    if (!cfg.server_pids.empty() && rd.received) {
        // /proc counts in clock ticks (10 ms at 100 Hz): a short replay reads coarsely.
        char b[96];
        snprintf(b, sizeof b, "%.1f µs (%.0f ms in all, read in clock ticks of %.0f ms)",
                 static_cast<double>(cpu1 - cpu0) / 1e3 / rd.received,
                 static_cast<double>(cpu1 - cpu0) / 1e6, 1000.0 / sysconf(_SC_CLK_TCK));
        row("server CPU per replay msg", b);
    }
    if (!ok)
        row("errors", !pub.error.empty()  ? "publisher: " + pub.error
                      : !rd.error.empty() ? "reader: " + rd.error
                                          : std::string("timed out"));
    if (!write_report(cfg, "replay", codec_name, rows, report))
        return 1;
    return ok && rd.out_of_order == 0 && rd.received == cfg.messages ? 0 : 1;
}

} // namespace glide::bench
