// Micro-benchmark: the codec work glided does per chat message, JSON and protobuf, in ns per
// operation and heap allocations per operation (counted by wrapping glibc's malloc).
//
// One chat message costs the server: decoding the sender's message.chat and its ChatMessage
// data, encoding ack.message to the sender, encoding the delivered message.chat, decoding the
// receiver's ack.request and its AckRequest data, encoding ack.notify to the sender. Each step
// is timed alone and the whole round trip together. Encodes go to a fresh std::string, as
// session::Outbound does. Content is 150 bytes of ASCII text, as `glide-bench chat` sends by
// default. Times are the thread's CPU time (the machine is shared, so wall time would count
// the time other processes ran), best of 3 runs.
//
//   taskset -c 1 build/bench/codec_bench [iterations [json|protobuf]]
//
// Under callgrind, instruction counts per decode are those of decode_with_payload<T> divided by
// its calls (e.g. --toggle-collect='*decode_with_payload<glide::codec::ChatMessage>*').
#include "codec/json.h"
#include "codec/payload.h"
#include "codec/protobuf.h"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <time.h>

// Count every heap allocation in the process (operator new ends in malloc too).
static unsigned long long g_allocs = 0;
extern "C" void *__libc_malloc(size_t);
extern "C" void *__libc_calloc(size_t, size_t);
extern "C" void *__libc_realloc(void *, size_t);
extern "C" void *malloc(size_t n) {
    ++g_allocs;
    return __libc_malloc(n);
}
extern "C" void *calloc(size_t n, size_t m) {
    ++g_allocs;
    return __libc_calloc(n, m);
}
extern "C" void *realloc(void *p, size_t n) {
    ++g_allocs;
    return __libc_realloc(p, n);
}

using namespace glide::codec;

namespace {

struct Report {
    double ns;
    double allocs;
};

double cpu_ns() {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) * 1e9 + double(ts.tv_nsec);
}

template <typename F> Report measure(long iters, F once) {
    for (int i = 0; i < 1000; ++i)
        once();
    Report best{1e30, 0};
    for (int round = 0; round < 3; ++round) {
        unsigned long long a0 = g_allocs;
        double t0 = cpu_ns();
        for (long i = 0; i < iters; ++i)
            once();
        double ns = (cpu_ns() - t0) / double(iters);
        if (ns < best.ns)
            best = {ns, double(g_allocs - a0) / double(iters)};
    }
    return best;
}

void print(const char *name, Report r) {
    printf("%-46s %10.0f %12.2f\n", name, r.ns, r.allocs);
}

// What the server sees and sends for one chat message, in the message types of the codec.
struct Messages {
    std::string chat_in;        // the sender's message.chat
    std::string ack_request_in; // the receiver's ack.request
    Envelope delivered;         // message.chat as delivered
    Envelope ack_message;       // ack.message to the sender
    Envelope ack_notify;        // ack.notify to the sender
};

Messages make_messages(Codec c) {
    ChatMessage m;
    m.cli_mid = "1732600000123456.4242";
    m.seq = 4242;
    m.from = "100042";
    m.to = "100043";
    m.type = 1;
    std::string content = "The quick brown fox jumps over the lazy dog; ";
    while (content.size() < 150)
        content += content;
    m.content = content.substr(0, 150);
    m.send_at = 1732600000123;
    Envelope chat = make_message(m.seq, action::chat, m);
    chat.to = m.to;
    chat.ticket = "937116764d1d428c8e47b0d8f985b1d543363f1d";

    AckRequest a;
    a.mid = 1732600000999;
    a.from = m.to;
    a.to = m.from;
    Envelope ack_req = make_message(0, action::ack_request, a);
    ack_req.to = m.from;

    Messages r;
    if (!encode(c, chat, &r.chat_in).ok() || !encode(c, ack_req, &r.ack_request_in).ok())
        abort();
    ChatMessage d = m;
    d.mid = a.mid;
    r.delivered = make_message(0, action::chat, d);
    r.ack_message = make_message(0, action::ack_message, AckMessage{m.cli_mid, a.mid, {}, m.seq});
    r.ack_notify =
        make_message(0, action::ack_notify, AckNotify{a.cli_mid, a.seq, a.mid, a.from, a.to});
    return r;
}

// As the hub does it: the data pre-decoded with the envelope when the codec did, else
// decode_payload.
template <typename T> void decode_with_payload(Codec c, const std::string &in) {
    static PreDecoded pre;
    Envelope e;
    if (!decode(c, in, &e, nullptr, &pre).ok())
        abort();
    T p;
    if (!take_pre_decoded(&pre, &p) && !decode_payload(e, &p).ok())
        abort();
}

void encode_fresh(Codec c, const Envelope &e) {
    std::string out;
    if (!encode(c, e, &out).ok() || out.empty())
        abort();
}

void run_codec(Codec c, const char *label, long iters) {
    Messages m = make_messages(c);
    std::string d, am, an;
    (void)encode(c, m.delivered, &d);
    (void)encode(c, m.ack_message, &am);
    (void)encode(c, m.ack_notify, &an);
    printf("\n%s: message.chat in %zu bytes, ack.request in %zu, message.chat out %zu, "
           "ack.message %zu, ack.notify %zu\n",
           label, m.chat_in.size(), m.ack_request_in.size(), d.size(), am.size(), an.size());
    printf("%-46s %10s %12s\n", "operation", "ns/op", "allocs/op");
    print("decode message.chat + ChatMessage data",
          measure(iters, [&] { decode_with_payload<ChatMessage>(c, m.chat_in); }));
    print("encode ack.message (fresh buffer)",
          measure(iters, [&] { encode_fresh(c, m.ack_message); }));
    print("encode delivered message.chat (fresh buffer)",
          measure(iters, [&] { encode_fresh(c, m.delivered); }));
    print("decode ack.request + AckRequest data",
          measure(iters, [&] { decode_with_payload<AckRequest>(c, m.ack_request_in); }));
    print("encode ack.notify (fresh buffer)", measure(iters, [&] { encode_fresh(c, m.ack_notify); }));
    print("round trip (all five)", measure(iters, [&] {
              decode_with_payload<ChatMessage>(c, m.chat_in);
              encode_fresh(c, m.ack_message);
              encode_fresh(c, m.delivered);
              decode_with_payload<AckRequest>(c, m.ack_request_in);
              encode_fresh(c, m.ack_notify);
          }));
    // message.cli style forwarding: data never parsed, re-encoded raw.
    print("decode + raw forward encode of message.chat", measure(iters, [&] {
              Envelope e;
              if (!decode(c, m.chat_in, &e).ok())
                  abort();
              e.from = "100042";
              encode_fresh(c, e);
          }));
}

} // namespace

int main(int argc, char **argv) {
    long iters = argc > 1 ? atol(argv[1]) : 300000;
    std::string only = argc > 2 ? argv[2] : "";
    if (iters <= 0 || (!only.empty() && only != "json" && only != "protobuf")) {
        fprintf(stderr, "usage: codec_bench [iterations [json|protobuf]]\n");
        return 2;
    }
    printf("codec_bench: %ld iterations per figure, thread CPU time, best of 3\n", iters);
    if (only != "protobuf")
        run_codec(Codec::json, "JSON", iters);
    if (only != "json")
        run_codec(Codec::protobuf, "protobuf", iters);
    return 0;
}
