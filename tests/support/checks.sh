# Sourced by the end-to-end scripts (". tests/support/checks.sh" from the repository root):
# ok and not_ok count and print one check each, wait_for polls a file for a text, finish
# prints the closing "N passed, N failed" and exits non-zero when a check failed.
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
finish() {
    echo "$pass passed, $fail failed"
    [ "$fail" -eq 0 ]
    exit
}
