#!/bin/sh
# Builds glided's admin HTTP parser fuzzer with libFuzzer, AddressSanitizer and
# UndefinedBehaviorSanitizer, straight from the sources, into ${B:-build}/fuzz/:
#
#   sh tests/fuzz/build_host.sh
#   mkdir -p build/fuzz/work-admin_http
#   build/fuzz/fuzz_admin_http -max_total_time=60 build/fuzz/work-admin_http \
#       tests/fuzz/corpus/admin_http
set -eu
cd "$(dirname "$0")/../.."
B=${B:-build}
out="$B/fuzz"
mkdir -p "$out"
CXX=${FUZZ_CXX:-clang++}
flags="-std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
$CXX $flags -Iinclude -Isrc -Itests -o "$out/fuzz_admin_http" tests/fuzz/fuzz_admin_http.cc \
    src/host/admin/admin_http.cc
echo "built $out/fuzz_admin_http"
