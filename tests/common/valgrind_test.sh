#!/bin/sh
# Runs the unit-test programs of the I/O-free layers (configuration, codecs, framing, sessions,
# dispatch, hub, store) under valgrind's memcheck: no invalid access, no leak. Skipped in a
# sanitizer build (ASan and valgrind do not mix) and where valgrind is missing.
set -u
B=${B:-build}
if grep -q '^SANITIZERS := yes' "$B/config.mk" 2>/dev/null || ! command -v valgrind >/dev/null; then
    echo "skipped: sanitizer build or no valgrind"
    echo "0 passed, 0 failed, 1 skipped"
    exit 0
fi
pass=0
fail=0
for t in "$B"/tests/conf/test_* "$B"/tests/codec/test_* "$B"/tests/frame/test_* \
    "$B"/tests/session/test_* "$B"/tests/dispatch/test_* "$B"/tests/hub/test_* \
    "$B"/tests/store/test_*; do
    [ -x "$t" ] || continue
    if valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
        "$t" >"$t.valgrind.log" 2>&1; then
        pass=$((pass + 1))
        echo "ok - ${t#"$B"/} under valgrind"
    else
        fail=$((fail + 1))
        echo "not ok - ${t#"$B"/} under valgrind"
        grep -E '==[0-9]+==' "$t.valgrind.log" | head -30
    fi
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
