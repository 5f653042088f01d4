#!/bin/sh
# Runs every test program ($B/tests/*/test_*), the I/O-free layers', the transport's and the C
# hosts' programs a second time under valgrind's memcheck (no invalid access, no leak; not in a
# sanitizer build), and every end-to-end script (tests/*/*_test.sh, tests/*/*_test.py), each
# with a time limit, TEST_JOBS at a time (default 2). Prints one line per test as it ends, the
# output of each failed one, and the closing "N passed, N failed".
# TESTS="conf abi" limits the run to those folders.
set -u
B=${B:-build}
export B

if [ "${1:-}" = --one ]; then # --one NAME COMMAND...: run one test, print its line
    shift
    name=$1
    shift
    log="$B/test-logs/$(printf '%s' "$name" | tr '/ ()' '____').log"
    start=$(date +%s)
    if timeout -k 10 "${TEST_TIMEOUT:-600}" "$@" >"$log" 2>&1; then
        status=ok
    else
        status=FAIL
        echo "$name" >>"$B/test-logs/failed"
    fi
    printf '%-52s %s (%ss)\n' "$name" "$status" "$(($(date +%s) - start))"
    exit 0
fi

# The folders whose test programs also run under valgrind (abi: the C hosts that dlopen the
# module, among them the re-entrancy scenarios of test_host_reentry).
VALGRIND_DIRS="conf codec frame session dispatch hub host/store net common abi"
valgrind=yes
if grep -q '^SANITIZERS := yes' "$B/config.mk" 2>/dev/null || ! command -v valgrind >/dev/null; then
    valgrind=no
fi

want() { # folder (below tests/): wanted when TESTS names it or a folder above it
    [ -z "${TESTS:-}" ] && return 0
    case " $TESTS " in *" $1 "* | *" ${1%%/*} "*) return 0 ;; esac
    return 1
}

logdir="$B/test-logs"
rm -rf "$logdir"
mkdir -p "$logdir"
list="$logdir/list"
: >"$list"
# One line per test: its name, then the command (words without spaces). The slow ones first,
# so that parallel runs end together: the scripts, then valgrind, then the programs.
for t in $(find tests -type f \( -name '*_test.sh' -o -name '*_test.py' \) 2>/dev/null | sort); do
    dir=$(dirname "${t#tests/}")
    want "$dir" || continue
    case "$t" in
    *.sh) echo "${t#tests/} sh $t" >>"$list" ;;
    *.py) echo "${t#tests/} ${PYTHON:-/usr/bin/python3} $t" >>"$list" ;;
    esac
done
progs=$(find "$B/tests" -type f -name 'test_*' -perm -u+x 2>/dev/null | sort)
if [ $valgrind = yes ]; then
    for t in $progs; do
        dir=$(dirname "${t#"$B"/tests/}")
        want "$dir" || continue
        case " $VALGRIND_DIRS " in *" $dir "*) ;; *) continue ;; esac
        echo "${t#"$B"/tests/}(valgrind) env GLIDE_TEST_VALGRIND=1 valgrind -q" \
            "--error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect $t" \
            >>"$list"
    done
fi
for t in $progs; do
    dir=$(dirname "${t#"$B"/tests/}")
    want "$dir" || continue
    echo "${t#"$B"/tests/} $t" >>"$list"
done

xargs -P "${TEST_JOBS:-2}" -L 1 sh "$0" --one <"$list"

total=$(wc -l <"$list")
fail=0
if [ -f "$logdir/failed" ]; then
    fail=$(wc -l <"$logdir/failed")
    for name in $(cat "$logdir/failed"); do
        echo
        echo "== $name"
        tail -60 "$logdir/$(printf '%s' "$name" | tr '/ ()' '____').log" | sed 's/^/    | /'
    done
    echo
    echo "failed: $(tr '\n' ' ' <"$logdir/failed")"
fi
echo
echo "$((total - fail)) passed, $fail failed"
[ "$fail" -eq 0 ]
