#!/bin/sh
# Builds the codec fuzz targets (fuzz_json, fuzz_protobuf) with libFuzzer, ASan and UBSan into
# $B/fuzz/, straight from the sources. Run from the repository root:
#   sh tests/fuzz/build_codec.sh && build/fuzz/fuzz_json -max_total_time=60 tests/fuzz/corpus/json
set -eu
B=${B:-build}
CXX=${CXX:-clang++}
CC=${CC:-clang}
SAN="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
out="$B/fuzz"
gen="$out/gen"
mkdir -p "$out" "$gen"
protoc-c --proto_path=proto --c_out="$gen" proto/glide.proto
$CC -std=c11 -g -O1 -fsanitize=address,undefined -I"$gen" -c "$gen/glide.pb-c.c" -o "$out/glide.pb-c.o"
for t in fuzz_json fuzz_protobuf; do
    $CXX -std=c++20 -g -O1 $SAN -Iinclude -Isrc -I"$gen" tests/fuzz/$t.cc src/codec/*.cc \
        "$out/glide.pb-c.o" -lprotobuf-c -lcrypto -o "$out/$t"
done
echo "built $out/fuzz_json $out/fuzz_protobuf"
