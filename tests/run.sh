#!/bin/sh
# Runs every test program (B/tests/*/test_*) and end-to-end script (tests/*/*_test.sh, tests/*/*_test.py),
# each with a time limit, and prints one line per test and the closing "N passed, N failed".
# TESTS="conf abi" limits the run to those folders.
set -u
B=${B:-build}
export B
limit=${TEST_TIMEOUT:-600}
logdir="$B/test-logs"
mkdir -p "$logdir"
pass=0
fail=0
failed=""

run_one() { # name command...
    name=$1; shift
    log="$logdir/$(printf '%s' "$name" | tr '/' '_').log"
    start=$(date +%s)
    if timeout -k 10 "$limit" "$@" >"$log" 2>&1; then
        pass=$((pass + 1)); status=ok
    else
        fail=$((fail + 1)); status=FAIL; failed="$failed $name"
    fi
    printf '%-48s %s (%ss)\n' "$name" "$status" "$(( $(date +%s) - start ))"
    if [ "$status" = FAIL ]; then
        sed 's/^/    | /' "$log" | tail -60
    fi
}

want() { # folder
    [ -z "${TESTS:-}" ] && return 0
    case " $TESTS " in *" $1 "*) return 0 ;; esac
    return 1
}

for t in $(find "$B/tests" -type f -name 'test_*' -perm -u+x 2>/dev/null | sort); do
    dir=$(basename "$(dirname "$t")")
    want "$dir" || continue
    run_one "${t#"$B"/tests/}" "$t"
done
for t in $(find tests -type f \( -name '*_test.sh' -o -name '*_test.py' \) 2>/dev/null | sort); do
    dir=$(basename "$(dirname "$t")")
    want "$dir" || continue
    case "$t" in
    *.sh) run_one "${t#tests/}" sh "$t" ;;
    *.py) run_one "${t#tests/}" "${PYTHON:-/usr/bin/python3}" "$t" ;;
    esac
done

echo
[ -n "$failed" ] && echo "failed:$failed"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
