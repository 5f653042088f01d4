# Sourced by the end-to-end scripts (". tests/support/checks.sh" from the repository root):
# ok and not_ok count and print one check each, wait_for polls a file for a text, finish
# prints the closing "N passed, N failed" and exits non-zero when a check failed; run_checks
# counts the checks of a program that prints them in the same format.
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
# not_ok NAME [DETAILS]: DETAILS are printed indented under the line.
not_ok() {
    fail=$((fail + 1))
    echo "not ok - $1"
    [ $# -gt 1 ] && printf '%s\n' "$2" | sed 's/^/    # /'
    return 0
}
# wait_for FILE TEXT [SECONDS]: whether TEXT appears in FILE within SECONDS (default 10).
wait_for() {
    i=0
    while [ $i -lt $((${3:-10} * 20)) ]; do
        grep -qF -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.05
        i=$((i + 1))
    done
    return 1
}
# run_checks NAME SECONDS COMMAND...: runs COMMAND (killed after SECONDS), which prints
# "ok - …" and "not ok - …" lines with "    # " details, and counts its checks as ok and not_ok
# do; whatever else it prints becomes details. A non-zero exit without a "not ok" line (a crash,
# the time limit) is a failed check of its own.
run_checks() {
    name=$1
    secs=$2
    shift 2
    out=$(mktemp)
    timeout -k 5 "$secs" "$@" >"$out" 2>&1
    rc=$?
    failed_before=$fail
    while IFS= read -r line; do
        case "$line" in
        "ok - "*) ok "${line#ok - }" ;;
        "not ok - "*) not_ok "${line#not ok - }" ;;
        *) printf '    # %s\n' "${line#    # }" ;;
        esac
    done <"$out"
    rm -f "$out"
    if [ $rc -ne 0 ] && [ "$fail" -eq "$failed_before" ]; then
        not_ok "$name exits 0" "rc=$rc$([ $rc -eq 124 ] && echo " (killed after ${secs} s)")"
    fi
    return 0
}
finish() {
    echo "$pass passed, $fail failed"
    [ "$fail" -eq 0 ]
    exit
}
