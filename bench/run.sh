#!/bin/sh
# make bench: the standard glide-bench suite against build/glided (< 12 minutes).
# glided runs pinned to CPU 0 and the load generator to CPU 1 (taskset) when the machine has
# two CPUs or more. Every figure goes to bench/results/<date>-<commit>.md with the command
# that produced it; a summary against the targets of issues #7 and #19 is printed at the end.
# BENCH_DURATION sets each run's measured time (10s); BENCH_ONLY=flood runs only the fairness
# section.
set -u
B=${B:-build}
BIN=$(cd "$B" && pwd)
DURATION=${BENCH_DURATION:-10s}
T=$(mktemp -d /tmp/glide-bench.XXXXXX)
GLIDED_PID=
stop_glided() {
    [ -n "$GLIDED_PID" ] && kill "$GLIDED_PID" 2>/dev/null && wait "$GLIDED_PID" 2>/dev/null
    GLIDED_PID=
}
trap 'stop_glided; rm -rf "$T"' EXIT
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

SERVER_CPU=
LOAD_CPU=
PRIO= # the flood section's: nice -n -10 where allowed
if command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ]; then
    SERVER_CPU="taskset -c 0"
    LOAD_CPU="taskset -c 1"
fi
mkdir -p bench/results
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
OUT=bench/results/$(date -u +%Y-%m-%d)-$commit.md
{
    echo "# glide-bench results, $(date -u '+%Y-%m-%d %H:%M UTC'), commit $commit"
    echo
    echo "Machine: $(nproc) CPU(s), $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1);"
    echo "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)."
    echo "glided pinned with \`${SERVER_CPU:-no taskset}\`, glide-bench with \`${LOAD_CPU:-no taskset}\`."
} >"$OUT"

# The limits of glided.conf(5) the runs turn off: the throughput runs send far above what a
# person sends (the rate limits' defaults), and idle opens 15,000 connections from four
# addresses. LIMITS="" keeps the defaults.
LIMITS_OFF='glide_limit_message_rate off;
glide_limit_user_message_rate off;
glide_limit_connections_per_address off;'
LIMITS=$LIMITS_OFF

# start_glided STORE-DIRECTIVE: glided with credential_secret, $LIMITS and, when the build has
# it, the admin API; sets GLIDED_PID, URL and ADMIN.
start_glided() {
    stop_glided
    : >"$T/glided.log"
    {
        echo "load_module $BIN/libglide.so;"
        echo "error_log $T/glided.log notice;"
        echo "$1"
        echo 'credential_secret "bench-secret";'
        echo "glide_listen 127.0.0.1:0;"
        echo "glide_heartbeat_interval 60s;"
        printf '%s\n' "$LIMITS"
    } >"$T/glided.conf"
    ADMIN=
    if printf 'admin_listen 127.0.0.1:0;\nadmin_token "bench-token";\n' >>"$T/glided.conf" &&
        ! "$BIN/glided" -t -c "$T/glided.conf" >/dev/null 2>&1; then
        # This glided has no admin API: drop the two lines.
        sed -i '/^admin_/d' "$T/glided.conf"
    fi
    $PRIO env LD_PRELOAD="${GLIDED_PRELOAD:-}" $SERVER_CPU "$BIN/glided" -c "$T/glided.conf" \
        2>>"$T/glided.log" &
    GLIDED_PID=$!
    i=0
    while ! grep -q "listening on 127.0.0.1:" "$T/glided.log" && [ $i -lt 100 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/glided.log" | head -1)
    [ -n "$PORT" ] || { echo "make bench: glided did not start:"; cat "$T/glided.log"; exit 1; }
    URL="ws://127.0.0.1:$PORT/ws"
    APORT=$(sed -n 's/.*admin.*127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$T/glided.log" | head -1)
    [ -n "$APORT" ] && ADMIN="http://127.0.0.1:$APORT"
}

# run NAME ARGS...: one glide-bench run, its figures appended to the results file.
run() {
    name=$1; shift
    echo "== $name: glide-bench $*" >&2
    $PRIO $LOAD_CPU "$BIN/glide-bench" "$@" --report "$OUT" >"$T/$name.out" 2>"$T/$name.err"
    rc=$?
    cat "$T/$name.out"
    [ $rc -eq 0 ] || { echo "   (exit $rc)"; tail -3 "$T/$name.err"; }
}

# fig NAME LABEL: the value column of LABEL in a run's output.
# (glide-bench prints each row as printf("  %-26s %s\n"): the label's column is fixed.)
fig() {
    awk -v p="$(printf '  %-26s ' "$2")" 'index($0, p) == 1 { print substr($0, length(p) + 1); exit }' \
        "$T/$1.out" 2>/dev/null
}
num() { printf '%s' "$1" | sed -n 's/^\([0-9.]*\).*/\1/p'; }

# fresh_glided: a new glided on the memory store. Every run that compares CPU per message starts
# from one (an open-loop run can leave a backlog and a store full of undelivered messages).
fresh_glided() {
    start_glided "store memory;"
    S="--secret bench-secret --server-pid $GLIDED_PID --duration $DURATION"
}

# Fairness (issue #19): 10 pairs chat at 100 msg/s in all (each pair 10 a second, as people do)
# while one connection sends as fast as the server answers it, 4096 messages in flight, to a
# receiver that acknowledges each (glide-bench flood; the flooder's worker process niced, so that
# it never takes the load generator's CPU from the pairs). With the rate limits off only the
# loop's fairness protects the pairs (each connection handles at most 64 frames per loop turn,
# net/connection.h), so the pairs' latency with the flooder is compared with the same chat
# without it (glide-bench chat). A server kept busy by the flooder shares its CPU with whatever
# else runs there, and on a shared machine the neighbours' time slices (4 ms each) decide the
# p99: glided and the load run at nice -10 where that is allowed, the two runs alternate three
# times and the lowest p99 of each counts. One more run keeps the default limits: the flooder
# is refused (notify.error), then closed (1008).
flood_section() {
    if nice -n -10 true 2>/dev/null; then PRIO="nice -n -10"; fi
    for k in 1 2 3; do
        fresh_glided
        run flood_base$k chat "$URL" $S --pairs 10 --rate 100
        fresh_glided
        run flood$k flood "$URL" $S --pairs 10 --rate 100 --flood-window 4096
    done
    LIMITS=
    fresh_glided
    LIMITS=$LIMITS_OFF
    run flood_limited flood "$URL" $S --pairs 10 --rate 100
    stop_glided
    PRIO=
}
p99_of() { fig "$1" 'end-to-end latency' | sed -n 's/.*p99 \([0-9.]*\) µs.*/\1/p'; }
p50_of() { fig "$1" 'end-to-end latency' | sed -n 's/.*p50 \([0-9.]*\) µs.*/\1/p'; }
# min_p99 RUN...: the lowest end-to-end p99 over the runs (µs).
min_p99() {
    for r in "$@"; do p99_of "$r"; done | awk '$1 != "" && (m == "" || $1 < m) { m = $1 } END { print m }'
}
flood_summary() {
    base=$(min_p99 flood_base1 flood_base2 flood_base3)
    with=$(min_p99 flood1 flood2 flood3)
    delta=$(awk -v a="${with:-0}" -v b="${base:-0}" 'BEGIN { if (a != "" && b != "") printf "%.2f", (a - b) / 1000 }')
    echo "| flood: pairs' end-to-end p50 / p99 without the flooder (3 runs) | $(for k in 1 2 3; do printf '%s / %s µs; ' "$(p50_of flood_base$k)" "$(p99_of flood_base$k)"; done)lowest p99 ${base:-n/a} µs | — |"
    echo "| flood: the same with the flooder, limits off (3 runs) | $(for k in 1 2 3; do printf '%s / %s µs; ' "$(p50_of flood$k)" "$(p99_of flood$k)"; done)lowest p99 ${with:-n/a} µs; flooder: $(fig flood1 flooder) | p99 within 5 ms of the run without: +${delta:-n/a} ms |"
    echo "| flood with the default limits: pairs' p50 / p99; the flooder | $(p50_of flood_limited) / $(p99_of flood_limited) µs; $(fig flood_limited flooder) | refused, then closed 1008 |"
}
# print_summary: $T/summary.md appended to the results file and printed.
print_summary() {
    cat "$T/summary.md" >>"$OUT"
    echo
    cat "$T/summary.md"
    echo
    echo "wrote $OUT"
}
if [ "${BENCH_ONLY:-}" = flood ]; then
    flood_section
    {
        echo
        echo "## Summary (fairness, issue #19)"
        echo
        echo "Load average after the runs: $(cut -d' ' -f1-3 /proc/loadavg)."
        echo
        echo "| figure | measured | target |"
        echo "| --- | --- | --- |"
        flood_summary
    } >"$T/summary.md"
    print_summary
    exit 0
fi

# The machine's speed drifts by tens of percent from one minute to the next (a shared VM): the
# JSON and protobuf runs alternate, twice each, and each codec's figure is its lower CPU per
# message, the run the neighbours disturbed least.
run baseline chat --baseline --pairs 100 --duration "$DURATION" --server-cpu 0
for k in 1 2; do
    fresh_glided
    run chat_json$k chat "$URL" $S --pairs 100 --codec json
    fresh_glided
    run chat_pb$k chat "$URL" $S --pairs 100 --codec protobuf
done
# min_fig LABEL RUN...: the lowest number in LABEL over the runs, and the run it came from.
min_fig() {
    label=$1; shift
    for r in "$@"; do echo "$(num "$(fig "$r" "$label")") $r"; done | awk '$1 != "" && (m == "" || $1 < m) { m = $1; r = $2 } END { print m, r }'
}
set -- $(min_fig 'server CPU per message' chat_json1 chat_json2); cpu_json=${1:-}; json_run=${2:-chat_json1}
set -- $(min_fig 'server CPU per message' chat_pb1 chat_pb2); cpu_pb=${1:-}
sat=$(num "$(fig "$json_run" messages | sed 's/.*acked \([0-9]*\)\/s.*/\1/')")
half=$(( ${sat:-2000} / 2 ))
[ "$half" -gt 0 ] || half=1000
fresh_glided
run chat_half chat "$URL" $S --pairs 100 --codec json --rate "$half"
# The same open-loop rate against the bare echo: what the machine's sockets and scheduling
# alone give at that rate, the floor under the p99 above.
run baseline_half chat --baseline --pairs 100 --rate "$half" --duration "$DURATION" --server-cpu 0
fresh_glided
if [ -n "${ADMIN:-}" ]; then
    run group group "$URL" $S --groups 10 --members 100 --admin "$ADMIN" --admin-token bench-token
else
    echo "== group: skipped (this glided has no admin API to create groups)" >&2
    printf '\n### group\n\nskipped: this glided has no admin API (admin_listen) to create groups.\n' >>"$OUT"
fi
run connect connect "$URL" $S --concurrency 32
run slow slow "$URL" $S --pairs 20
flood_section
# RSS per connection from a fresh glided: one that served the runs above keeps their freed heap
# resident, and new connections reuse it without growing RSS (the figure would read low).
fresh_glided
run idle idle "$URL" --secret bench-secret --server-pid "$GLIDED_PID" --conns 15000 --procs 2 \
    --duration 5s
stop_glided

if "$BIN/glided" -t -c /dev/null >/dev/null 2>&1 || true; then
    printf 'load_module %s/libglide.so;\nstore sqlite %s/bench.db;\n' "$BIN" "$T" >"$T/probe.conf"
    if "$BIN/glided" -t -c "$T/probe.conf" >/dev/null 2>&1; then
        start_glided "store sqlite $T/bench.db;"
        run chat_sqlite chat "$URL" --secret bench-secret --server-pid "$GLIDED_PID" \
            --duration "$DURATION" --pairs 100 --window 32
        stop_glided
    else
        echo "== chat_sqlite: skipped (this glided has no sqlite store)" >&2
        printf '\n### chat (sqlite store)\n\nskipped: this glided has no `store sqlite`.\n' >>"$OUT"
    fi
fi

# chat on store postgresql: a throwaway server (initdb in $T, unix socket only, fsync on as in
# production; as root it runs as the postgres user), skipped when PostgreSQL is not installed.
# The server's processes' CPU (utime + stime of the postmaster and its children) over the run is
# divided by the messages acknowledged over the run (warm-up included).
PGBIN=$(pg_config --bindir 2>/dev/null)
pg_ctl_as() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$PGBIN/pg_ctl" "$@"; else "$PGBIN/pg_ctl" "$@"; fi
}
pg_cpu() {
    pm=$(head -1 "$T/pg/data/postmaster.pid")
    for p in $pm $(pgrep -P "$pm"); do cat "/proc/$p/stat" 2>/dev/null; done |
        awk '{ s += $14 + $15 } END { print s + 0 }'
}
pg_cpu_us=
if [ -n "$PGBIN" ] && [ -x "$PGBIN/initdb" ]; then
    mkdir -p "$T/pg" && chmod 711 "$T"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$T/pg"
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$PGBIN/initdb" -D "$T/pg/data" -U glide -A trust >"$T/initdb.log" 2>&1
    else
        "$PGBIN/initdb" -D "$T/pg/data" -U glide -A trust >"$T/initdb.log" 2>&1
    fi
    trap 'stop_glided; pg_ctl_as -D "$T/pg/data" -m immediate stop >/dev/null 2>&1; rm -rf "$T"' EXIT
    if pg_ctl_as -D "$T/pg/data" -o "-k $T/pg -p 5432 -c listen_addresses=" -l "$T/pg/server.log" \
        -w -t 120 start >/dev/null 2>&1 &&
        "$PGBIN/psql" -X -q -h "$T/pg" -U glide -d postgres -c "CREATE DATABASE glide" >/dev/null; then
        start_glided "store postgresql:///glide?host=$T/pg&user=glide;"
        c0=$(pg_cpu)
        run chat_pg chat "$URL" --secret bench-secret --server-pid "$GLIDED_PID" \
            --duration "$DURATION" --pairs 100 --window 32
        c1=$(pg_cpu)
        stop_glided
        acked=$("$PGBIN/psql" -X -At -h "$T/pg" -U glide -d glide -c \
            "SELECT count(*) FROM glide_messages WHERE kind = 0")
        pg_cpu_us=$(awk -v t=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" -v n="$acked" \
            'BEGIN { if (n > 0) printf "%.1f", t / hz * 1e6 / n }')
        printf '\nPostgreSQL server processes: %s CPU ticks (1/%s s) for %s acknowledged messages: %s µs per message.\n' \
            $((c1 - c0)) "$(getconf CLK_TCK)" "$acked" "${pg_cpu_us:-n/a}" >>"$OUT"
        pg_ctl_as -D "$T/pg/data" -m fast stop >/dev/null 2>&1
    else
        echo "== chat_pg: PostgreSQL did not start (see $T/pg/server.log)" >&2
    fi
else
    echo "== chat_pg: skipped (no PostgreSQL: apt-get install postgresql)" >&2
    printf '\n### chat (postgresql store)\n\nskipped: PostgreSQL is not installed.\n' >>"$OUT"
fi

# Heap allocations per acknowledged chat message: glided with a counting malloc, counted
# between two signals 3 s apart in the middle of a 2,000 msg/s run (6,000 messages).
allocs=
if ${CC:-cc} -O2 -shared -fPIC -o "$T/malloc_count.so" bench/malloc_count.c 2>/dev/null; then
    GLIDED_PRELOAD="$T/malloc_count.so" start_glided "store memory;"
    echo "== allocs: glide-bench chat --pairs 5 --rate 2000 (glided with bench/malloc_count.c)" >&2
    $LOAD_CPU "$BIN/glide-bench" chat "$URL" --secret bench-secret --pairs 5 --rate 2000 \
        --duration 7s --warmup 0s >"$T/allocs.out" 2>&1 &
    bp=$!
    sleep 2; kill -USR2 "$GLIDED_PID"; sleep 3; kill -USR2 "$GLIDED_PID"
    wait "$bp"
    stop_glided
    allocs=$(grep '^MALLOCS ' "$T/glided.log" | awk '{ n[NR] = $2 } END { if (NR >= 2) printf "%.1f", (n[2] - n[1]) / 6000 }')
    {
        echo
        echo "### heap allocations per chat message"
        echo
        echo "glided (store memory) preloaded with bench/malloc_count.c; \`glide-bench chat --pairs 5 --rate 2000\`;"
        echo "malloc+calloc+realloc calls over 3 s (6,000 messages, JSON): ${allocs:-n/a} per message."
    } >>"$OUT"
fi

# Summary against the targets of issues #7 and #19.
ratio=$(awk -v a="${cpu_pb:-0}" -v b="${cpu_json:-0}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
{
    echo
    echo "## Summary (targets of issues #7 and #19)"
    echo
    echo "| figure | measured | target |"
    echo "| --- | --- | --- |"
    echo "| idle: server RSS per connection (15,000 conns) | $(fig idle 'server RSS per connection' | sed 's/ *(.*//') | ≤ 2 KiB |"
    echo "| chat JSON: server CPU per message (lower of two runs) | ${cpu_json:-n/a} µs (runs: $(fig chat_json1 'server CPU per message'), $(fig chat_json2 'server CPU per message')) | ≤ 6 µs |"
    # When the load generator saturates first, the acked rate is its limit, not the server's:
    # one server core's rate at the measured CPU per message says what the server would carry.
    cap=$(awk -v c="${cpu_json:-0}" 'BEGIN { if (c > 0) printf "%d", 1000000 / c; else print "n/a" }')
    echo "| chat JSON: saturation throughput | ${sat:-n/a} acked msg/s ($(fig "$json_run" saturated); server $(fig "$json_run" 'server CPU' | sed 's/ *(.*//'); one core at ${cpu_json:-n/a} µs/msg: $cap msg/s) | ≥ 150,000/s |"
    echo "| chat JSON at half saturation ($half msg/s): p99 end to end | $(p99_of chat_half) µs (server $(fig chat_half 'server CPU per message'), $(fig chat_half 'server CPU' | sed 's/ *(.*//')) | < 1000 µs |"
    echo "| bare echo (--baseline) at the same rate: p99 | $(p99_of baseline_half) µs (server $(fig baseline_half 'server CPU per message'), $(fig baseline_half 'server CPU' | sed 's/ *(.*//')) | — |"
    echo "| group 10×100: server CPU per delivery | $(fig group 'server CPU per delivery') | ≤ 2 µs |"
    echo "| protobuf / JSON server CPU per message | $ratio (protobuf runs: $(fig chat_pb1 'server CPU per message'), $(fig chat_pb2 'server CPU per message')) | ≤ 0.8 |"
    echo "| sqlite store: acked messages/s (server CPU by thread: the store's share) | $(fig chat_sqlite messages | sed -n 's/.*acked \([0-9]*\/s\).*/\1/p') ($(fig chat_sqlite 'server CPU by thread')) | ≥ 50,000/s |"
    echo "| postgresql store: acked messages/s (server CPU by thread; PostgreSQL's CPU per message) | $(fig chat_pg messages | sed -n 's/.*acked \([0-9]*\/s\).*/\1/p') ($(fig chat_pg 'server CPU by thread'); PostgreSQL ${pg_cpu_us:-n/a} µs/msg) | — |"
    echo "| heap allocations per chat message (store, ack, delivery, ack.notify) | ${allocs:-n/a} | ≤ 2 |"
    echo "| baseline echo: server CPU per message | $(fig baseline 'server CPU per message') | — |"
    echo "| connect + authenticate rate | $(fig connect 'connect + authenticate') | — |"
    echo "| slow receiver | $(fig slow 'slow receiver'); server RSS max $(fig slow 'server RSS max') | closed, bounded |"
    flood_summary
} >"$T/summary.md"
print_summary
