#!/bin/sh
# `make fuzz`: builds every libFuzzer target (clang, ASan+UBSan) and runs each for FUZZ_SECONDS
# (default 60) on its checked-in seeds; new inputs go to $B/fuzz/work-NAME, the seeds stay
# untouched. Fails when a target finds a crash, a leak or a sanitizer report.
set -u
cd "$(dirname "$0")/../.."
B=${B:-build}
secs=${FUZZ_SECONDS:-60}
sh tests/fuzz/build_codec.sh >/dev/null || exit 1
sh tests/fuzz/build_frame.sh >/dev/null || exit 1
sh tests/fuzz/build_host.sh >/dev/null || exit 1
pass=0
fail=0
for t in json protobuf ws_handshake ws_frame tcp_frame admin_http; do
    mkdir -p "$B/fuzz/work-$t"
    log="$B/fuzz/fuzz_$t.log"
    if "$B/fuzz/fuzz_$t" -max_total_time="$secs" -print_final_stats=1 -rss_limit_mb=2048 \
        -artifact_prefix="$B/fuzz/crash-$t-" "$B/fuzz/work-$t" "tests/fuzz/corpus/$t" \
        >"$log" 2>&1; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
        echo "fuzz_$t: ok, $runs runs in ${secs}s"
        pass=$((pass + 1))
    else
        echo "fuzz_$t: FINDING (see $log and $B/fuzz/crash-$t-*)"
        tail -30 "$log"
        fail=$((fail + 1))
    fi
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
