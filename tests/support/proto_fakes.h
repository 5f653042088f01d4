// Fakes for the I/O-free protocol core: a transport (FakeLink), a clock with timers advanced by
// hand (FakeTimers), and a fixture wiring them to a Hub and a Dispatcher over the in-memory
// store. The fixture plays the transport's part of the statistics too (connections, frames and
// bytes), as the module's transport glue does.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "codec/json.h"
#include "codec/payload.h"
#include "common/stats.h"
#include "dispatch/dispatch.h"
#include "hub/hub.h"
#include "session/link.h"
#include "session/timer.h"
#include "support/memory_store.h"

namespace fakes {

class FakeTimers final : public glide::session::TimerService {
public:
    Handle schedule(uint64_t ms, std::function<void()> fn) override {
        Handle h = next_++;
        timers_.emplace(h, Timer{now_ + static_cast<int64_t>(ms), h, std::move(fn)});
        return h;
    }
    void cancel(Handle h) override { timers_.erase(h); }
    int64_t clock_ms() const override { return now_; }
    int64_t wall_ms() const override { return 1720000000000LL + now_; }

    // Moves the clock forward by ms, firing every timer that falls due, in order (timers
    // scheduled meanwhile included).
    void advance(int64_t ms) {
        int64_t target = now_ + ms;
        for (;;) {
            const Timer *first = nullptr;
            for (auto &[h, t] : timers_)
                if (t.due <= target &&
                    (!first || t.due < first->due || (t.due == first->due && t.h < first->h)))
                    first = &t;
            if (!first)
                break;
            if (first->due > now_)
                now_ = first->due;
            auto fn = std::move(timers_.at(first->h).fn);
            timers_.erase(first->h);
            fn();
        }
        now_ = target;
    }
    // Runs what is due now (the "next loop turn").
    void turn() { advance(0); }
    size_t pending() const { return timers_.size(); }

private:
    struct Timer {
        int64_t due;
        Handle h;
        std::function<void()> fn;
    };
    int64_t now_ = 1000;
    Handle next_ = 1;
    std::map<Handle, Timer> timers_;
};

class FakeLink final : public glide::session::Link {
public:
    explicit FakeLink(glide::codec::Codec c = glide::codec::Codec::json) : codec_(c) {}

    glide::codec::Codec codec() const override { return codec_; }
    // Queues by reference, like the transport does for large messages: a fan-out's recipients
    // share one buffer.
    glide::session::SendResult send(glide::session::Encoded &msg) override {
        if (closed)
            return glide::session::SendResult::closed;
        const auto &encoded = msg.share();
        if (stats) {
            stats->messages_out++;
            stats->bytes_out += encoded->size();
        }
        buffers.push_back(encoded);
        frames.push_back(*encoded);
        if (stalled)
            buffered_ += encoded->size();
        return buffered_ > soft_mark ? glide::session::SendResult::above_soft
                                     : glide::session::SendResult::ok;
    }
    size_t buffered() const override { return buffered_; }
    void close(uint16_t code, std::string_view why) override {
        if (closed)
            return;
        closed = true;
        close_code = code;
        reason = why;
    }
    void pause_reading(bool p) override { paused = p; }
    std::string peer() const override { return "127.0.0.1:5555"; }
    std::string source() const override { return source_address; }

    // The peer reads everything: the buffer empties.
    void drain() { buffered_ = 0; }

    // Decoded frames (in this link's codec).
    glide::codec::Envelope frame(size_t i) const {
        glide::codec::Envelope e;
        if (!glide::codec::decode(codec_, frames.at(i), &e).ok())
            e.action = "<undecodable>";
        return e;
    }
    // Indexes of frames with `action`.
    std::vector<size_t> find(std::string_view action) const {
        std::vector<size_t> out;
        for (size_t i = 0; i < frames.size(); i++)
            if (frame(i).action == action)
                out.push_back(i);
        return out;
    }
    size_t count(std::string_view action) const { return find(action).size(); }
    // The JSON text of the last frame with `action` ("" when none); protobuf frames are
    // re-encoded as JSON.
    std::string last_json(std::string_view action) const {
        auto v = find(action);
        if (v.empty())
            return "";
        if (codec_ == glide::codec::Codec::json)
            return frames[v.back()];
        std::string out;
        (void)glide::codec::encode_json(frame(v.back()), &out);
        return out;
    }
    void clear() {
        frames.clear();
        buffers.clear();
    }

    glide::codec::Codec codec_;
    std::vector<std::string> frames;
    std::vector<std::shared_ptr<const std::string>> buffers;
    bool closed = false;
    uint16_t close_code = 0;
    std::string reason;
    bool paused = false;
    bool stalled = false;        // sent bytes stay buffered until drain()
    size_t soft_mark = SIZE_MAX; // sends answer above_soft past it (the transport's half limit)
    size_t buffered_ = 0;
    glide::Stats *stats = nullptr; // where a transport counts frames and bytes out
    std::string source_address = "127.0.0.1"; // source(): per-address limits
};

// One client connection.
struct Client {
    explicit Client(glide::codec::Codec c = glide::codec::Codec::json) : link(c) {}
    FakeLink link;
    glide::session::Session *s = nullptr;
};

// The directives' defaults (module/directives.cc), set explicitly: HubConfig has none.
inline glide::hub::HubConfig test_conf() {
    glide::hub::HubConfig c;
    c.node_id = "node1";
    c.server_version = "test";
    c.heartbeat_interval_ms = 30000;
    c.heartbeat_lost = 3;
    c.send_buffer_limit = 1 << 20;
    c.callback_timeout_ms = 5000;
    c.limits.message_rate = {100, 200, 1000};
    c.limits.user_message_rate = {200, 400, 1000};
    c.limits.message_rate_close_ms = 10000;
    c.limits.auth_failures = 5;
    c.limits.auth_failures_per_address = {60, 60, 60000};
    return c;
}

struct World {
    explicit World(glide::hub::HubConfig conf = test_conf())
        : store(&timers, "secret_key"), hub(&store, &timers, conf, &counters),
          dispatcher(hub, counters) {}

    std::unique_ptr<Client> connect(glide::codec::Codec c = glide::codec::Codec::json) {
        auto cl = std::make_unique<Client>(c);
        cl->link.stats = &counters;
        counters.connections_accepted++;
        counters.connections++;
        cl->s = hub.open(&cl->link);
        return cl;
    }
    void send(Client &c, std::string_view bytes) {
        counters.messages_in++;
        counters.bytes_in += bytes.size();
        dispatcher.on_frame(c.s, bytes);
    }
    // Sends an envelope in the client's codec.
    void send(Client &c, const glide::codec::Envelope &e) {
        std::string b;
        (void)glide::codec::encode(c.link.codec(), e, &b);
        send(c, b);
    }
    // The peer read everything: the link drained.
    void drained(Client &c) {
        c.link.drain();
        dispatcher.on_drained(c.s);
    }
    void token(const std::string &tok, const std::string &uid, const std::string &dev,
               const std::string &secret = "") {
        glide::port::AuthResult r;
        r.uid = uid;
        r.device_id = dev;
        r.device_name = "name-" + dev;
        r.message_deliver_secret = secret;
        store.add_token(tok, r);
    }
    // Connects and authenticates with a token registered by token().
    std::unique_ptr<Client> login(const std::string &tok,
                                  glide::codec::Codec c = glide::codec::Codec::json) {
        auto cl = connect(c);
        send(*cl, glide::codec::make_message(1, glide::codec::action::authenticate,
                                             glide::codec::EncryptedCredential{1, tok}));
        timers.turn();
        return cl;
    }
    void close(Client &c) {
        counters.connections--;
        counters.connections_closed++;
        hub.on_closed(c.s);
        timers.turn();
    }

    FakeTimers timers;
    glide::Stats counters; // the instance's one set, as the module keeps it
    glide::store::MemoryStore store;
    glide::hub::Hub hub;
    glide::dispatch::Dispatcher dispatcher;
};

} // namespace fakes
