// Micro-benchmark of the WebSocket frame decoder: nanoseconds per 128-byte masked text frame,
// decoded and UTF-8 validated, with many frames in one input buffer (the way a busy connection's
// read buffer looks). Payloads are mostly ASCII chat JSON with some multi-byte characters.
//
//   make build/bench/frame_parse && build/bench/frame_parse [FRAMES] [ROUNDS]
//
// Every round restores the masked input from a pristine copy (the decoder unmasks in place);
// that memcpy is timed separately and subtracted.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "frame/tcp_frame.h"
#include "frame/ws_frame.h"

using namespace glide::frame;
using Clock = std::chrono::steady_clock;

namespace {

std::string payload128() {
    std::string p = "{\"action\":\"message.chat\",\"seq\":42,\"data\":{\"content\":\"h\xc3\xa9llo "
                    "w\xc3\xb6rld \xe4\xbd\xa0\xe5\xa5\xbd\",\"cliMid\":\"";
    while (p.size() < 126)
        p += 'x';
    p += "\"}";
    return p.substr(0, 128);
}

double seconds(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
}

} // namespace

int main(int argc, char **argv) {
    const size_t frames = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 8192;
    const int rounds = argc > 2 ? std::atoi(argv[2]) : 200;
    const std::string p = payload128();
    if (p.size() != 128 || !utf8_valid(p.data(), p.size())) {
        std::fprintf(stderr, "bad payload\n");
        return 1;
    }
    std::vector<uint8_t> pristine;
    uint32_t key = 0x9e3779b9;
    for (size_t i = 0; i < frames; i++) {
        key = key * 1664525u + 1013904223u;
        const uint8_t k[4] = {uint8_t(key >> 24), uint8_t(key >> 16), uint8_t(key >> 8),
                              uint8_t(key)};
        pristine.push_back(0x81);
        pristine.push_back(0x80 | 126);
        pristine.push_back(0);
        pristine.push_back(128);
        pristine.insert(pristine.end(), k, k + 4);
        for (size_t j = 0; j < p.size(); j++)
            pristine.push_back(static_cast<uint8_t>(p[j]) ^ k[j & 3]);
    }
    std::vector<uint8_t> buf(pristine.size());

    // Copy cost alone.
    auto c0 = Clock::now();
    for (int r = 0; r < rounds; r++) {
        std::memcpy(buf.data(), pristine.data(), pristine.size());
        asm volatile("" ::"r"(buf.data()) : "memory");
    }
    auto c1 = Clock::now();

    size_t events = 0, bytes = 0;
    auto t0 = Clock::now();
    for (int r = 0; r < rounds; r++) {
        std::memcpy(buf.data(), pristine.data(), pristine.size());
        FrameDecoder dec({1 << 20});
        size_t off = 0;
        for (;;) {
            FrameEvent ev;
            DecodeResult res = dec.decode({buf.data() + off, buf.size() - off}, &ev);
            off += res.consumed;
            if (res.status == DecodeStatus::need_more)
                break;
            if (ev.type != FrameEventType::text) {
                std::fprintf(stderr, "unexpected event %d\n", static_cast<int>(ev.type));
                return 1;
            }
            events++;
            bytes += ev.payload.size();
        }
    }
    auto t1 = Clock::now();
    const double total = seconds(t0, t1), copy = seconds(c0, c1);
    const double n = static_cast<double>(events);
    std::printf("ws frame_parse: %zu frames x %d rounds, 128-byte masked text, UTF-8 checked\n",
                frames, rounds);
    std::printf("  %.1f ns/frame (%.1f ns/frame including the input memcpy), %.2f GB/s payload\n",
                (total - copy) * 1e9 / n, total * 1e9 / n,
                static_cast<double>(bytes) / (total - copy) / 1e9);

    // TCP framing of the same payloads, for comparison.
    std::vector<uint8_t> tcp;
    for (size_t i = 0; i < frames; i++) {
        uint8_t h[4];
        encode_tcp_header(h, 128);
        tcp.insert(tcp.end(), h, h + 4);
        tcp.insert(tcp.end(), p.begin(), p.end());
    }
    events = 0;
    auto u0 = Clock::now();
    for (int r = 0; r < rounds; r++) {
        TcpDecoder dec({1 << 20});
        size_t off = 0;
        for (;;) {
            TcpEvent ev;
            DecodeResult res = dec.decode({tcp.data() + off, tcp.size() - off}, &ev);
            off += res.consumed;
            if (res.status == DecodeStatus::need_more)
                break;
            events++;
        }
    }
    auto u1 = Clock::now();
    std::printf("tcp frame_parse: %.1f ns/message (128 bytes, no UTF-8 check)\n",
                seconds(u0, u1) * 1e9 / static_cast<double>(events));
    return 0;
}
