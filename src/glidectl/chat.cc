// glidectl chat: a terminal client. It authenticates, prints what arrives (acknowledging every
// chat message with ack.request, as a glide client must), and sends each typed line as
// message.chat to the current peer. Lines starting with '/' are commands: /to UID, /quit.
//
// Output, one line per event, so that scripts can read it:
//   * connected (server glide/0.1.0)        status
//   [1001] hello                            a chat message from 1001
//   [group 7] [1001] hello                  a group message
//   * sent mid=12 cliMid=...                the server stored our message (ack.message)
//   * delivered mid=12                      the receiver acknowledged it (ack.notify)
//   ! error text                            notify.error, notify.forbidden, ...
// At the end of standard input it waits (up to --linger) for the server's ack of every
// message sent and for their delivery notices, then closes the connection.
#include <unistd.h>

#include <csignal>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <map>

#include "client/connection.h"
#include "client/protocol.h"
#include "codec/credential.h"
#include "codec/payload.h"
#include "glidectl/glidectl.h"

namespace glide::ctl {

namespace {

using codec::Envelope;
namespace act = codec::action;

class Chat : public client::ConnectionHandler {
public:
    event_base *base = nullptr;
    std::unique_ptr<client::Connection> conn;
    std::string credential, uid, deliver_secret, peer;
    int64_t linger_ms = 5000;
    int exit_code = 0;

    void start_stdin() {
        stdin_ev_.reset(event_new(base, STDIN_FILENO, EV_READ | EV_PERSIST, on_stdin, this));
        event_add(stdin_ev_.get(), nullptr);
        heartbeat_.reset(event_new(base, -1, EV_PERSIST, on_heartbeat, this));
        timeval tv = net::ms_to_tv(20000);
        event_add(heartbeat_.get(), &tv);
    }

    // Frees the events before their event_base goes.
    void release_events() {
        stdin_ev_.reset();
        heartbeat_.reset();
        linger_.reset();
    }

    void on_open(client::Connection &c) override {
        c.send(client::authenticate_message(kAuthSeq, credential));
    }

    void on_message(client::Connection &c, std::string_view payload) override {
        Envelope e;
        Status st = codec::decode(c.codec(), payload, &e);
        if (!st) {
            say("! undecodable message from the server: %s", st.error().c_str());
            return;
        }
        const std::string &a = e.action;
        if (a == act::hello) {
            auto h = codec::decode_payload<codec::ServerHello>(e);
            say("* connected (server %s)", h ? h->server_version.c_str() : "?");
        } else if (a == act::notify_success && e.seq == kAuthSeq && !authenticated_) {
            authenticated_ = true;
            say("* authenticated%s%s", uid.empty() ? "" : " as ", uid.c_str());
            if (!peer.empty())
                say("* talking to %s", peer.c_str());
            start_stdin();
        } else if (a == act::chat || a == act::group) {
            auto m = codec::decode_payload<codec::ChatMessage>(e);
            if (!m) {
                say("! %s with bad data: %s", a.c_str(), m.error().c_str());
                return;
            }
            const std::string &from = !e.from.empty() ? e.from : m->from;
            if (a == act::group)
                say("[group %s] [%s] %s", e.to.c_str(), from.c_str(), m->content.c_str());
            else
                say("[%s] %s", from.c_str(), m->content.c_str());
            if (a == act::chat)
                c.send(client::ack_request_message(m->mid, uid, from));
        } else if (a == act::ack_message) {
            auto m = codec::decode_payload<codec::AckMessage>(e);
            if (m) {
                if (unacked_.erase(m->cli_mid))
                    undelivered_[m->mid] = true;
                say("* sent mid=%lld cliMid=%s", static_cast<long long>(m->mid),
                    m->cli_mid.c_str());
            }
        } else if (a == act::ack_notify) {
            auto m = codec::decode_payload<codec::AckNotify>(e);
            if (m) {
                undelivered_.erase(m->mid);
                say("* delivered mid=%lld", static_cast<long long>(m->mid));
            }
        } else if (a == act::notify_kickout) {
            auto k = codec::decode_payload<codec::KickOutNotify>(e);
            if (k && !k->device_id.empty())
                say("! kicked out by another login (device %s)", k->device_id.c_str());
            else
                say("! kicked out");
        } else if (a == act::heartbeat) {
            // nothing to show
        } else if (a == act::notify_error || a == act::notify_forbidden ||
                   a == act::notify_unauthenticated || a == act::notify_unknown_action) {
            auto t = codec::decode_payload<codec::Text>(e);
            std::string text = t ? t->text : std::string(payload);
            if (!authenticated_ && e.seq == kAuthSeq) {
                fprintf(stderr, "glidectl: authentication failed: %s\n", text.c_str());
                exit_code = 1;
                quitting_ = true;
                c.close();
                return;
            }
            say("! %s: %s", a.c_str(), text.c_str());
        } else {
            say("* %s %.*s", a.c_str(), static_cast<int>(payload.size()), payload.data());
        }
        maybe_finish();
    }

    void on_close(client::Connection &, const client::CloseInfo &info) override {
        if (!info.connected) {
            fprintf(stderr, "glidectl: %s\n", info.reason.c_str());
            exit_code = 1;
        } else if (!quitting_) {
            say("* connection closed: %u %s", info.code, info.reason.c_str());
            if (exit_code == 0)
                exit_code = 1;
        }
        event_base_loopbreak(base);
    }

private:
    static constexpr int64_t kAuthSeq = 1;

    void say(const char *fmt, ...) __attribute__((format(printf, 2, 3))) {
        va_list ap;
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        putchar('\n');
        fflush(stdout);
    }

    void line(std::string_view l) {
        while (!l.empty() && (l.back() == '\r' || l.back() == ' '))
            l.remove_suffix(1);
        if (l.empty())
            return;
        if (l == "/quit") {
            eof();
            return;
        }
        if (l.starts_with("/to ")) {
            peer = std::string(l.substr(4));
            say("* talking to %s", peer.c_str());
            return;
        }
        if (l.starts_with('/')) {
            say("! unknown command (/to UID, /quit)");
            return;
        }
        if (peer.empty()) {
            say("! no peer: type /to UID first");
            return;
        }
        std::string cli_mid = "ctl-" + std::to_string(client::now_ns());
        std::string ticket;
        if (!deliver_secret.empty() && !uid.empty())
            ticket = codec::compute_ticket(deliver_secret, uid, peer);
        unacked_[cli_mid] = true;
        conn->send(client::chat_message(++seq_, uid, peer, cli_mid, l, client::wall_ms(), ticket));
    }

    static void on_stdin(evutil_socket_t fd, short, void *self) {
        auto *c = static_cast<Chat *>(self);
        char buf[4096];
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0) {
            c->eof();
            return;
        }
        c->pending_.append(buf, static_cast<size_t>(n));
        size_t nl;
        while ((nl = c->pending_.find('\n')) != std::string::npos) {
            std::string l = c->pending_.substr(0, nl);
            c->pending_.erase(0, nl + 1);
            c->line(l);
            if (c->quitting_)
                return;
        }
    }

    static void on_heartbeat(evutil_socket_t, short, void *self) {
        auto *c = static_cast<Chat *>(self);
        c->conn->send(client::heartbeat_message());
    }

    static void on_linger(evutil_socket_t, short, void *self) {
        auto *c = static_cast<Chat *>(self);
        if (!c->unacked_.empty())
            c->say("! %zu message(s) not acknowledged by the server", c->unacked_.size());
        if (!c->undelivered_.empty())
            c->say("* %zu message(s) not yet delivered", c->undelivered_.size());
        if (!c->unacked_.empty())
            c->exit_code = 1;
        c->finish();
    }

    void eof() {
        if (quitting_)
            return;
        quitting_ = true;
        if (!pending_.empty()) {
            std::string l = std::move(pending_);
            pending_.clear();
            quitting_ = false;
            line(l);
            quitting_ = true;
        }
        stdin_ev_.reset();
        linger_.reset(evtimer_new(base, on_linger, this));
        timeval tv = net::ms_to_tv(static_cast<uint64_t>(linger_ms));
        evtimer_add(linger_.get(), &tv);
        maybe_finish();
    }

    void maybe_finish() {
        if (quitting_ && unacked_.empty() && undelivered_.empty())
            finish();
    }

    void finish() {
        linger_.reset();
        heartbeat_.reset();
        conn->close();
    }

    bool authenticated_ = false;
    bool quitting_ = false;
    int64_t seq_ = kAuthSeq;
    std::string pending_;
    std::map<std::string, bool> unacked_;  // cliMid → sent, no ack.message yet
    std::map<int64_t, bool> undelivered_;  // mid → acked by the server, no ack.notify yet
    net::EventPtr stdin_ev_, heartbeat_, linger_;
};

} // namespace

int cmd_chat(int argc, char **argv) {
    auto o = client::Options::parse(argc, argv, 2,
                                    {"credential", "secret", "uid", "device", "deliver-secret",
                                     "to", "codec", "linger"},
                                    {});
    if (!o)
        return usage_error(o.error());
    if (o->positional().size() != 1)
        return usage_error("chat needs one URL (ws://HOST:PORT/ws or tcp://HOST:PORT)");
    auto ep = client::parse_endpoint(o->positional()[0]);
    if (!ep)
        return usage_error(ep.error());
    std::string codec_name = o->get("codec", "json");
    if (codec_name != "json" && codec_name != "protobuf")
        return usage_error("--codec is json or protobuf");
    auto linger = o->number("linger", 5000, 0, 3600000, true);
    if (!linger)
        return usage_error(linger.error());

    Chat chat;
    chat.linger_ms = *linger;
    chat.peer = o->get("to");
    chat.deliver_secret = o->get("deliver-secret");
    chat.uid = o->get("uid");
    if (o->has("credential")) {
        chat.credential = o->get("credential");
        if (o->has("secret")) {
            // With the server's secret we can read our uid and deliver secret from it.
            auto c = codec::open_credential(o->get("secret"), chat.credential);
            if (!c)
                return fail("the credential does not open with --secret: " + c.error());
            chat.uid = c->user_id;
            if (c->has_secrets && chat.deliver_secret.empty())
                chat.deliver_secret = c->secrets.message_deliver_secret;
        }
    } else if (o->has("secret") && o->has("uid")) {
        codec::ClientAuthCredentials c;
        c.type = 2;
        c.user_id = chat.uid;
        c.device_id = o->get("device");
        if (!chat.deliver_secret.empty()) {
            c.has_secrets = true;
            c.secrets.message_deliver_secret = chat.deliver_secret;
        }
        c.timestamp = client::wall_ms();
        auto sealed = codec::seal_credential(o->get("secret"), c);
        if (!sealed)
            return fail("cannot mint the credential: " + sealed.error());
        chat.credential = *sealed;
    } else {
        return usage_error("chat needs --credential C, or --secret S (or --secret-file F) and --uid U");
    }

    auto addr = client::resolve(ep->host, ep->port);
    if (!addr)
        return fail(addr.error());
    signal(SIGPIPE, SIG_IGN);
    chat.base = event_base_new();
    chat.conn = std::make_unique<client::Connection>(chat.base, &chat);
    client::ConnectOptions opt;
    opt.endpoint = *ep;
    opt.address = *addr;
    opt.codec = codec_name == "protobuf" ? codec::Codec::protobuf : codec::Codec::json;
    Status st = chat.conn->connect(opt);
    if (!st) {
        event_base_free(chat.base);
        return fail(st.error());
    }
    event_base_dispatch(chat.base);
    int rc = chat.exit_code;
    chat.conn.reset();
    chat.release_events();
    event_base_free(chat.base);
    return rc;
}

} // namespace glide::ctl
