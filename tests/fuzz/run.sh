#!/bin/sh
# `make fuzz`: builds every libFuzzer target (clang, ASan+UBSan) and runs each for FUZZ_SECONDS
# (default 60), FUZZ_JOBS (default 2) at a time so that each has a core of its own, on its
# checked-in seeds; new inputs go to $B/fuzz/work-NAME, the seeds stay untouched. Fails when a
# target finds a crash, a leak or a sanitizer report.
set -u
cd "$(dirname "$0")/../.."
B=${B:-build}
secs=${FUZZ_SECONDS:-60}

if [ "${1:-}" = --one ]; then # --one TARGET: run one built target, print its line
    t=$2
    mkdir -p "$B/fuzz/work-$t"
    log="$B/fuzz/fuzz_$t.log"
    if "$B/fuzz/fuzz_$t" -max_total_time="$secs" -print_final_stats=1 -rss_limit_mb=2048 \
        -artifact_prefix="$B/fuzz/crash-$t-" "$B/fuzz/work-$t" "tests/fuzz/corpus/$t" \
        >"$log" 2>&1; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
        echo "fuzz_$t: ok, $runs runs in ${secs}s"
    else
        echo "fuzz_$t: FINDING (see $log and $B/fuzz/crash-$t-*)"
        tail -30 "$log"
        echo "$t" >>"$B/fuzz/findings"
    fi
    exit 0
fi

# The three builds at once: each compiles its own sources.
mkdir -p "$B/fuzz"
for b in codec frame host; do
    sh tests/fuzz/build_$b.sh >"$B/fuzz/build_$b.log" 2>&1 &
done
wait
built=yes
for b in codec frame host; do
    grep -q '^built' "$B/fuzz/build_$b.log" || { cat "$B/fuzz/build_$b.log"; built=no; }
done
[ $built = yes ] || exit 1

rm -f "$B/fuzz/findings"
targets="json protobuf ws_handshake ws_frame tcp_frame admin_http"
echo $targets | tr ' ' '\n' | xargs -P "${FUZZ_JOBS:-2}" -I{} sh "$0" --one {}
fail=0
[ -f "$B/fuzz/findings" ] && fail=$(wc -l <"$B/fuzz/findings")
echo "$(($(echo $targets | wc -w) - fail)) passed, $fail failed"
[ "$fail" -eq 0 ]
