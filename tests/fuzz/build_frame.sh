#!/bin/sh
# Builds the transport-layer fuzzers (WebSocket handshake, WebSocket frames, TCP frames) with
# libFuzzer, AddressSanitizer and UndefinedBehaviorSanitizer, straight from the sources, into
# ${B:-build}/fuzz/. Run one for a minute with its seeds (new inputs go to the first folder, the
# checked-in seeds stay untouched):
#
#   sh tests/fuzz/build_frame.sh
#   mkdir -p build/fuzz/work-ws_frame
#   build/fuzz/fuzz_ws_frame -max_total_time=60 build/fuzz/work-ws_frame tests/fuzz/corpus/ws_frame
#
# `sh tests/fuzz/build_frame.sh run [SECONDS]` builds and runs all three that way.
set -eu
cd "$(dirname "$0")/../.."
B=${B:-build}
out="$B/fuzz"
mkdir -p "$out"
CXX=${FUZZ_CXX:-clang++}
flags="-std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
inc="-Iinclude -Isrc -Itests"

$CXX $flags $inc -o "$out/fuzz_ws_frame" tests/fuzz/fuzz_ws_frame.cc src/frame/ws_frame.cc \
    src/frame/utf8.cc
$CXX $flags $inc -o "$out/fuzz_tcp_frame" tests/fuzz/fuzz_tcp_frame.cc src/frame/tcp_frame.cc \
    src/frame/ws_frame.cc src/frame/utf8.cc
$CXX $flags $inc -o "$out/fuzz_ws_handshake" tests/fuzz/fuzz_ws_handshake.cc \
    src/frame/ws_handshake.cc -lcrypto
# The seed generator (not fuzzed): writes the conformance tables out as seeds.
$CXX -std=c++20 -O1 $inc -o "$out/gen_frame_corpus" tests/fuzz/gen_frame_corpus.cc \
    src/frame/ws_frame.cc src/frame/utf8.cc -lcrypto
echo "built $out/fuzz_ws_frame $out/fuzz_tcp_frame $out/fuzz_ws_handshake"

if [ "${1:-}" = run ]; then
    secs=${2:-60}
    for t in ws_handshake ws_frame tcp_frame; do
        mkdir -p "$out/work-$t"
        "$out/fuzz_$t" -max_total_time="$secs" -print_final_stats=1 \
            "$out/work-$t" "tests/fuzz/corpus/$t" 2>&1 | tail -15
    done
fi
