// Micro-benchmark: decode + encode cost of a typical ~150-byte chat envelope, JSON and protobuf,
// in ns/op and heap allocations per message (counted by wrapping glibc's malloc).
//
//   build/bench/codec_bench [iterations]
#include "codec/json.h"
#include "codec/payload.h"
#include "codec/protobuf.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

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

const char chat_json[] =
    "{\"seq\":7,\"action\":\"message.chat\",\"to\":\"1002\",\"ticket\":"
    "\"937116764d1d428c8e47b0d8f985b1d543363f1d\",\"data\":{\"cliMid\":\"c-1\",\"type\":1,"
    "\"content\":\"hi\",\"sendAt\":1720000000}}";

struct Report {
    double ns;
    double allocs;
};

// One message through a broker's codec work: decode the envelope, decode the chat payload,
// encode the delivery (typed payload with from/to/mid set) into a reused output buffer.
template <typename Decode, typename Encode>
Report run(const std::string &input, long iters, Decode decode, Encode encode) {
    std::string out;
    out.reserve(512);
    auto once = [&] {
        Envelope e;
        if (!decode(input, &e).ok())
            abort();
        auto chat = decode_payload<ChatMessage>(e);
        if (!chat)
            abort();
        chat->from = "1001";
        chat->to = e.to;
        chat->mid = 1720000000123;
        Envelope d;
        d.action = std::move(e.action);
        d.data = std::move(chat.value());
        out.clear();
        if (!encode(d, &out).ok())
            abort();
    };
    for (int i = 0; i < 1000; ++i)
        once();
    unsigned long long a0 = g_allocs;
    auto t0 = std::chrono::steady_clock::now();
    for (long i = 0; i < iters; ++i)
        once();
    auto t1 = std::chrono::steady_clock::now();
    unsigned long long a1 = g_allocs;
    double ns = std::chrono::duration<double, std::nano>(t1 - t0).count() / double(iters);
    return {ns, double(a1 - a0) / double(iters)};
}

// Decode + raw re-encode only (message.cli style forwarding, data never parsed).
template <typename Decode, typename Encode>
Report run_forward(const std::string &input, long iters, Decode decode, Encode encode) {
    std::string out;
    out.reserve(512);
    auto once = [&] {
        Envelope e;
        if (!decode(input, &e).ok())
            abort();
        e.from = "1001";
        out.clear();
        if (!encode(e, &out).ok())
            abort();
    };
    for (int i = 0; i < 1000; ++i)
        once();
    unsigned long long a0 = g_allocs;
    auto t0 = std::chrono::steady_clock::now();
    for (long i = 0; i < iters; ++i)
        once();
    auto t1 = std::chrono::steady_clock::now();
    double ns = std::chrono::duration<double, std::nano>(t1 - t0).count() / double(iters);
    return {ns, double(g_allocs - a0) / double(iters)};
}

} // namespace

int main(int argc, char **argv) {
    long iters = argc > 1 ? atol(argv[1]) : 1000000;
    std::string js = chat_json;
    Envelope e;
    if (!decode_json(js, &e).ok())
        return 1;
    std::string pb;
    if (!encode_protobuf(e, &pb).ok())
        return 1;

    auto jd = [](std::string_view in, Envelope *o) { return decode_json(in, o); };
    auto je = [](const Envelope &x, std::string *o) { return encode_json(x, o); };
    auto pd = [](std::string_view in, Envelope *o) { return decode_protobuf(in, o); };
    auto pe = [](const Envelope &x, std::string *o) { return encode_protobuf(x, o); };

    printf("chat envelope: JSON %zu bytes, protobuf %zu bytes, %ld iterations\n", js.size(),
           pb.size(), iters);
    printf("%-44s %10s %14s\n", "case", "ns/op", "allocs/msg");
    Report r = run(js, iters, jd, je);
    printf("%-44s %10.0f %14.2f\n", "json: decode+payload decode+typed encode", r.ns, r.allocs);
    r = run(pb, iters, pd, pe);
    printf("%-44s %10.0f %14.2f\n", "protobuf: decode+payload decode+typed encode", r.ns, r.allocs);
    r = run_forward(js, iters, jd, je);
    printf("%-44s %10.0f %14.2f\n", "json: decode+raw forward encode", r.ns, r.allocs);
    r = run_forward(pb, iters, pd, pe);
    printf("%-44s %10.0f %14.2f\n", "protobuf: decode+raw forward encode", r.ns, r.allocs);
    return 0;
}
