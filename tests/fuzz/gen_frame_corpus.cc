// Writes seed inputs for the transport fuzzers from the conformance tables:
//   gen_frame_corpus DIR   ->  DIR/ws_frame/, DIR/ws_handshake/, DIR/tcp_frame/
// Each seed is the fuzzer's parameter byte followed by a case's bytes; cases larger than 4 KiB
// are skipped (libFuzzer's default -max_len).
#include <cstdio>
#include <string>

#include "frame/ws_cases.h"
#include "frame/ws_handshake_cases.h"
#include "frame/tcp_frame.h"

namespace {

void write(const std::string &dir, int i, char param, const std::string &bytes) {
    char name[32];
    std::snprintf(name, sizeof name, "/seed-%03d", i);
    std::FILE *f = std::fopen((dir + name).c_str(), "wb");
    if (!f) {
        std::perror((dir + name).c_str());
        return;
    }
    std::fputc(param, f);
    std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
}

} // namespace

int main(int argc, char **argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: gen_frame_corpus DIR\n");
        return 2;
    }
    const std::string dir = argv[1];
    int i = 0;
    for (const auto &c : glide::frame::cases::ws_cases())
        if (c.input.size() <= 4096 && i < 400)
            write(dir + "/ws_frame", i++, 12, c.input); // 64 KiB limit
    i = 0;
    for (const auto &c : glide::frame::cases::handshake_cases())
        if (c.request.size() <= 4096)
            write(dir + "/ws_handshake", i++, 0, c.request + c.trailing);
    i = 0;
    auto msg = [](const std::string &b) {
        uint8_t h[4];
        glide::frame::encode_tcp_header(h, static_cast<uint32_t>(b.size()));
        return std::string(reinterpret_cast<char *>(h), 4) + b;
    };
    write(dir + "/tcp_frame", i++, 10, msg("{\"action\":\"heartbeat\",\"seq\":1}"));
    write(dir + "/tcp_frame", i++, 10, msg("a") + msg("bb") + msg(std::string(300, 'c')));
    write(dir + "/tcp_frame", i++, 10, std::string("\0\0\0\0", 4));
    write(dir + "/tcp_frame", i++, 4, msg(std::string(17, 'x')));
    write(dir + "/tcp_frame", i++, 10, msg("ok") + std::string("\xff\xff\xff\xff", 4));
    write(dir + "/tcp_frame", i++, 10, msg("partial").substr(0, 6));
    return 0;
}
