#!/bin/sh
# make soak (issue 19 item 7; not in make check or CI): one fresh glided on store sqlite (a
# temporary directory; the limits make bench turns off, off) under mixed load at about half its
# capacity on this machine, for SOAK_DURATION (30m; 3m, 90s, 1h or bare seconds):
#   - chat: 100 pairs, open loop (glide-bench chat --rate), every message acknowledged;
#   - group: 10 groups of 10 members, open loop (glide-bench group --rate);
#   - churn: connect + authenticate + close at a steady pace (glide-bench connect --rate).
# Capacity is measured first: a 10 s saturation chat run on a glided of its own (SOAK_RATE=R
# skips it and takes R msg/s as the capacity; on a quiet machine it is 67-71k, the figure of
# make bench's sqlite run, which this one repeats). The chat runs at 35 % of it (70 % of the
# half), the group messages at 0.5 % (each delivered to 10 members: 5 % in deliveries), the
# churn at 2 connections/s per 1,000 msg/s.
# Every SOAK_INTERVAL (60s) a row: glided's RSS and open fds, the chat's end-to-end p50 and
# p99 over that interval, acked and delivered counts of chat and group, the connections made,
# errors, the database's size, the load average. At the end a verdict, "flat" when RSS, fds
# and p99 are (see verdict below), and the report bench/results/soak-DATE-COMMIT.md.
# As make bench: glided on CPU 0, the load on CPU 1 (taskset). Exit status 0 only when flat
# and the load ran without errors.
set -u
. "$(dirname "$0")/lib.sh"
ME="make soak"
DURATION=${SOAK_DURATION:-30m}
INTERVAL=${SOAK_INTERVAL:-60s}

# seconds TIME: 30m, 90s, 1h or a bare number of seconds, in seconds.
seconds() {
    case "$1" in
    *h) n=${1%h}; m=3600 ;;
    *m) n=${1%m}; m=60 ;;
    *s) n=${1%s}; m=1 ;;
    *) n=$1; m=1 ;;
    esac
    case "$n" in '' | *[!0-9]*) echo "$ME: \"$1\" is not a time (30m, 90s, 1h)" >&2; exit 2 ;; esac
    echo $((n * m))
}
SECS=$(seconds "$DURATION")
ISECS=$(seconds "$INTERVAL")
[ "$SECS" -ge "$ISECS" ] && [ "$ISECS" -gt 0 ] || {
    echo "$ME: SOAK_DURATION ($DURATION) must be at least one SOAK_INTERVAL ($INTERVAL)" >&2
    exit 2
}

T=$(mktemp -d /tmp/glide-soak.XXXXXX)
LOADS= # the glide-bench processes
cleanup() {
    for p in $LOADS; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
    stop_glided
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
fds_of() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
rss_of() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null; }

mkdir -p bench/results
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
OUT=bench/results/soak-$(date -u +%Y-%m-%d)-$commit.md
{
    echo "# glide soak, $(date -u '+%Y-%m-%d %H:%M UTC'), commit $commit"
    echo
    echo "Machine: $(nproc) CPU(s), $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1);"
    echo "load average before the run: $(loadavg)."
    echo "glided pinned with \`${SERVER_CPU:-no taskset}\`, glide-bench with \`${LOAD_CPU:-no taskset}\`;"
    echo "store sqlite in a temporary directory; limits off: $(printf '%s' "$LIMITS" | tr '\n' ' ')"
} >"$OUT"

# Capacity: the acknowledged rate of a saturation chat run on a glided of its own.
if [ -n "${SOAK_RATE:-}" ]; then
    CAP=$SOAK_RATE
    how="SOAK_RATE"
else
    start_glided "store sqlite $T/capacity.db;"
    echo "== capacity: glide-bench chat, saturation, 10 s" >&2
    $LOAD_CPU "$BIN/glide-bench" chat "$URL" --secret bench-secret --server-pid "$GLIDED_PID" \
        --pairs 100 --window 32 --duration 10s --uid-prefix soakcap >"$T/capacity.out" \
        2>"$T/capacity.err"
    stop_glided
    rm -f "$T"/capacity.db*
    CAP=$(fig capacity messages | sed -n 's/.*acked \([0-9]*\)\/s.*/\1/p')
    how="a 10 s saturation chat run (pairs 100, window 32): $(fig capacity saturated)"
    [ -n "$CAP" ] && [ "$CAP" -gt 0 ] || {
        echo "$ME: the capacity run failed:" >&2
        cat "$T/capacity.out" "$T/capacity.err" >&2
        exit 1
    }
fi
CHAT_RATE=$((CAP * 35 / 100))
GROUP_RATE=$((CAP * 5 / 100 / 10))
CONNECT_RATE=$((CAP / 1000 * 2 + 1))
{
    echo
    echo "Capacity: $CAP acknowledged chat msg/s ($how). The soak runs at about half of it:"
    echo "chat $CHAT_RATE msg/s (100 pairs), group $GROUP_RATE msg/s (10 groups of 10: $((GROUP_RATE * 10)) deliveries/s),"
    echo "$CONNECT_RATE connect + authenticate + close per second; for $DURATION, a row every $INTERVAL."
} >>"$OUT"
tail -3 "$OUT"

# The soak's glided, and what it holds before any load.
start_glided "store sqlite $T/soak.db;"
sleep 1
FDS0=$(fds_of "$GLIDED_PID")
RSS0=$(rss_of "$GLIDED_PID")
echo "glided pid $GLIDED_PID: $RSS0 MiB, $FDS0 fds before the load" | tee -a "$OUT"

# The three loads, started together, each printing a line per interval.
common="--secret bench-secret --server-pid $GLIDED_PID --duration ${SECS}s --interval ${ISECS}s"
load() {
    name=$1; shift
    echo "== $name: glide-bench $*" >&2
    echo "    glide-bench $*" >>"$T/commands"
    $LOAD_CPU "$BIN/glide-bench" "$@" --report "$T/$name.md" >"$T/$name.out" 2>"$T/$name.err" &
    LOADS="$LOADS $!"
}
load chat chat "$URL" $common --pairs 100 --rate "$CHAT_RATE" --uid-prefix soakchat
CHAT_PID=$!
load group group "$URL" $common --groups 10 --members 10 --rate "$GROUP_RATE" \
    --admin "$ADMIN" --admin-token bench-token --uid-prefix soakgroup
load churn connect "$URL" $common --rate "$CONNECT_RATE" --concurrency 8 --uid-prefix soakconn

# line RUN K: the K-th interval line of a run; field LINE SED-EXPR: a figure out of it.
line() { sed -n "/^interval $2 (/p" "$T/$1.out" 2>/dev/null; }
field() { printf '%s' "$1" | sed -n "s/$2/\\1/p"; }
ms() { awk -v u="$1" 'BEGIN { if (u != "") printf "%.2f", u / 1000; else printf "n/a" }'; }
intervals() { c=$(grep -c '^interval ' "$T/$1.out" 2>/dev/null); echo "${c:-0}"; }
{
    echo
    echo "| interval | glided RSS MiB | fds | chat e2e p50 ms | chat e2e p99 ms | chat acked / delivered | group acked / delivered | connects (failed) | errors, closes | db MiB | load avg |"
    echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
} | tee -a "$OUT"
: >"$T/rows"
k=0
db=
while :; do
    n=$(intervals chat)
    while [ "$k" -lt "$n" ]; do
        k=$((k + 1))
        # The other runs started with the chat: their K-th line comes within seconds.
        w=0
        while [ $w -lt 40 ] && { [ "$(intervals group)" -lt $k ] || [ "$(intervals churn)" -lt $k ]; }; do
            sleep 0.5
            w=$((w + 1))
        done
        c=$(line chat $k)
        g=$(line group $k)
        x=$(line churn $k)
        span=$(field "$c" '^interval [0-9]* (\([0-9-]*\) s).*')
        rss=$(field "$c" '.*server RSS \([0-9.]*\) MiB.*')
        fds=$(field "$c" '.*MiB, \([0-9]*\) fds.*')
        p50=$(field "$c" '.*e2e p50 \([0-9.]*\) µs.*')
        p99=$(field "$c" '.*e2e p50 [0-9.]* µs p99 \([0-9.]*\) µs.*')
        errs=0
        for l in "$c" "$g"; do
            e=$(field "$l" '.*errors \([0-9]*\), closed \([0-9]*\);.*')
            cl=$(field "$l" '.*closed \([0-9]*\);.*')
            errs=$((errs + ${e:-0} + ${cl:-0}))
        done
        db=$(du -cm "$T"/soak.db* 2>/dev/null | tail -1 | cut -f1)
        printf '%s %s %s %s %s\n' "$k" "${rss:--}" "${fds:--}" "${p99:--}" "$errs" >>"$T/rows"
        printf '| %s (%s s) | %s | %s | %s | %s | %s / %s | %s / %s | %s (%s) | %s | %s | %s |\n' \
            "$k" "$span" "${rss:-n/a}" "${fds:-n/a}" "$(ms "$p50")" "$(ms "$p99")" \
            "$(field "$c" '.* acked \([0-9]*\),.*')" "$(field "$c" '.* delivered \([0-9]*\),.*')" \
            "$(field "$g" '.* acked \([0-9]*\),.*')" "$(field "$g" '.* delivered \([0-9]*\),.*')" \
            "$(field "$x" '.*connected \([0-9]*\),.*')" "$(field "$x" '.*failed \([0-9]*\);.*')" \
            "$errs" "$db" "$(loadavg)" | tee -a "$OUT"
    done
    grep -q '^glide-bench chat' "$T/chat.out" 2>/dev/null && break
    kill -0 "$CHAT_PID" 2>/dev/null || break
    sleep 2
done
rcs=
for p in $LOADS; do
    wait "$p"
    rcs="$rcs $?"
done
LOADS=
# Every connection closed: what glided holds once the load is gone.
sleep 3
FDS1=$(fds_of "$GLIDED_PID")
RSS1=$(rss_of "$GLIDED_PID")
# What the RSS is made of: the heap's (anonymous), mapped files', shared memory's (SQLite's
# -shm index) parts.
RSS_PARTS=$(awk '/^Rss(Anon|File|Shmem):/ { printf "%s%s %.1f MiB", n++ ? ", " : "", substr($1, 4, length($1) - 4), $2 / 1024 }' \
    "/proc/$GLIDED_PID/status" 2>/dev/null)
logged=$(grep -c '\[\(error\|crit\|alert\|emerg\)\]' "$T/glided.log")
stop_glided

# The verdict. RSS: the last interval's within 10 % + 4 MiB of the second's (the first holds
# the start: buffers and caches growing to their working size). fds: back to the count before
# the load, within 4, once every connection closed. p99: not trending up: the median p99 of
# the later half of the intervals (from the second on) within 1.5 × the earlier half's + 1 ms.
verdict=$(awk -v fds0="$FDS0" -v fds1="$FDS1" '
    { rss[$1] = $2 == "-" ? "" : $2; p99[$1] = $4 == "-" ? "" : $4; n = $1 }
    function median(from, to,    i, k, v, t) {
        k = 0
        for (i = from; i <= to; i++) if (p99[i] != "") v[++k] = p99[i] + 0
        for (i = 2; i <= k; i++) for (j = i; j > 1 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
        if (k == 0) return -1
        return k % 2 ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2
    }
    END {
        first = n >= 3 ? 2 : 1
        ok = 1
        limit = rss[first] * 1.10 + 4
        r = (rss[n] != "" && rss[n] + 0 <= limit)
        printf "RSS: interval %d %s MiB, interval %d %s MiB (limit %.1f): %s\n", first, rss[first], n, rss[n], limit, r ? "flat" : "GREW"
        ok = ok && r
        f = (fds1 != "" && fds1 <= fds0 + 4)
        printf "fds: %s before the load, %s after it (limit %d): %s\n", fds0, fds1, fds0 + 4, f ? "back to baseline" : "LEAKED"
        ok = ok && f
        mid = first + int((n - first + 1) / 2) - 1
        if (mid < first) mid = first
        a = median(first, mid); b = median(mid + 1, n)
        if (b < 0) b = a
        p = (a >= 0 && b <= 1.5 * a + 1000)
        printf "p99: median %.2f ms over intervals %d-%d, %.2f ms over %d-%d (limit %.2f): %s\n", a / 1000, first, mid, b / 1000, (mid + 1 > n ? n : mid + 1), n, (1.5 * a + 1000) / 1000, p ? "not trending up" : "TRENDING UP"
        ok = ok && p
        printf "verdict: %s\n", ok ? "flat" : "not flat"
    }' "$T/rows")
clean=yes
for r in $rcs; do [ "$r" -eq 0 ] || clean=no; done
errs=$(awk '{ s += $5 } END { print s + 0 }' "$T/rows")
[ "$errs" -eq 0 ] && [ "$logged" -eq 0 ] || clean=no
{
    echo
    echo "## Verdict"
    echo
    printf '%s\n' "$verdict" | sed 's/^/- /'
    echo "- load: glide-bench exit statuses (chat, group, churn):$rcs; $errs error answers or unexpected closes; $logged error lines in glided's log: $([ $clean = yes ] && echo clean || echo NOT CLEAN)"
    echo "- glided after the load: $RSS1 MiB ($RSS_PARTS), $FDS1 fds (before it: $RSS0 MiB, $FDS0 fds); the database grew to $db MiB"
    echo
    echo "## The runs"
    echo
    echo "glided's configuration: \`store sqlite soak.db;\`, \`credential_secret\`, the admin API and the limits above."
    echo
    cat "$T/commands"
    cat "$T/chat.md" "$T/group.md" "$T/churn.md" 2>/dev/null
} >>"$OUT"
echo
sed -n '/^## Verdict/,/^## The runs/p' "$OUT" | sed '$d'
echo "wrote $OUT"
printf '%s\n' "$verdict" | grep -q '^verdict: flat' && [ $clean = yes ]
