#!/bin/sh
# The public headers are plain C: each compiles alone with -std=c99 -pedantic -Wall -Werror, and
# as C++ (their extern "C" guards), and libglide.so exports only the documented symbols.
set -u
B=${B:-build}
CC=${CC:-cc}
CXX=${CXX:-c++}
T=$(mktemp -d /tmp/glide-headers.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail=0
n=0
for h in include/glide/*.h; do
    n=$((n + 1))
    printf '#include "glide/%s"\n#include "glide/%s"\nint main(void) { return 0; }\n' \
        "${h##*/}" "${h##*/}" >"$T/h.c"
    if ! $CC -std=c99 -pedantic -Wall -Wextra -Werror -Iinclude -c "$T/h.c" -o "$T/h.o" 2>"$T/err"; then
        echo "not ok - $h as C99"; cat "$T/err"; fail=$((fail + 1))
    fi
    cp "$T/h.c" "$T/h.cc"
    if ! $CXX -std=c++11 -pedantic -Wall -Wextra -Werror -Iinclude -c "$T/h.cc" -o "$T/h.o" 2>"$T/err"; then
        echo "not ok - $h as C++"; cat "$T/err"; fail=$((fail + 1))
    fi
done
exports=$(nm -D --defined-only "$B/libglide.so" | awk '$2 == "T" || $2 == "D" || $2 == "B" {print $3}' | sed 's/@.*//' | sort | tr '\n' ' ')
if [ "$exports" = "glide_negotiate glide_version " ]; then
    echo "ok - exports: $exports"
else
    echo "not ok - unexpected exports: $exports"; fail=$((fail + 1))
fi
# Every exported function is documented in a public header.
for sym in $exports; do
    grep -q "$sym(" include/glide/*.h || { echo "not ok - $sym undocumented"; fail=$((fail + 1)); }
done
echo "$((n * 2 + 1 - fail)) passed, $fail failed"
[ $fail -eq 0 ]
