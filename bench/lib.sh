# The helpers of make bench (bench/run.sh) and make soak (bench/soak.sh), sourced by both from
# the repository root with B set to the build directory. The sourcing script sets T (its
# temporary directory) and ME (its name, for messages) before it calls them.
B=${B:-build}
BIN=$(cd "$B" && pwd)
PRIO= # make bench's flood section: nice -n -10 where allowed
# The limits of glided.conf(5) the runs turn off: the throughput runs send far above what a
# person sends (the rate limits' defaults), and the idle runs open thousands of connections from
# a few addresses. LIMITS="" keeps the defaults.
LIMITS_OFF='glide_limit_message_rate off;
glide_limit_user_message_rate off;
glide_limit_connections_per_address off;'
LIMITS=$LIMITS_OFF
GLIDED_PID=     # the single glided
CLUSTER_PIDS=   # the cluster's glided nodes
stop_glided() {
    [ -n "$GLIDED_PID" ] && kill "$GLIDED_PID" 2>/dev/null && wait "$GLIDED_PID" 2>/dev/null
    GLIDED_PID=
}
stop_nodes() {
    for p in $CLUSTER_PIDS; do kill "$p" 2>/dev/null; done
    for p in $CLUSTER_PIDS; do wait "$p" 2>/dev/null; done
    CLUSTER_PIDS=
}
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# glided pinned to CPU 0 and the load generator to CPU 1 when the machine has two CPUs or more.
SERVER_CPU=
LOAD_CPU=
if command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ]; then
    SERVER_CPU="taskset -c 0"
    LOAD_CPU="taskset -c 1"
fi

# wait_log FILE TEXT PID: polls FILE for TEXT for up to 10 s; fails sooner when PID exits.
wait_log() {
    i=0
    while ! grep -qF -- "$2" "$1" 2>/dev/null; do
        kill -0 "$3" 2>/dev/null && [ $i -lt 100 ] || return 1
        sleep 0.1
        i=$((i + 1))
    done
}

# start_node NAME DIRECTIVES: a glided with credential_secret, DIRECTIVES (lines) and, when the
# build has it, the admin API, logging to $T/NAME.log; sets NODE_PID, NODE_URL and NODE_ADMIN.
start_node() {
    : >"$T/$1.log"
    {
        echo "load_module $BIN/libglide.so;"
        echo "error_log $T/$1.log notice;"
        echo "$2"
        echo 'credential_secret "bench-secret";'
        echo "glide_listen ${NODE_LISTEN:-127.0.0.1:0};"
        echo "glide_heartbeat_interval 60s;"
        printf '%s\n' "$LIMITS"
    } >"$T/$1.conf"
    NODE_ADMIN=
    if printf 'admin_listen 127.0.0.1:0;\nadmin_token "bench-token";\n' >>"$T/$1.conf" &&
        ! "$BIN/glided" -t -c "$T/$1.conf" >/dev/null 2>&1; then
        # This glided has no admin API: drop the two lines.
        sed -i '/^admin_/d' "$T/$1.conf"
    fi
    $PRIO env LD_PRELOAD="${GLIDED_PRELOAD:-}" $SERVER_CPU "$BIN/glided" -c "$T/$1.conf" \
        2>>"$T/$1.log" &
    NODE_PID=$!
    wait_log "$T/$1.log" "listening on 127.0.0.1:" "$NODE_PID"
    port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/$1.log" | head -1)
    if [ -z "$port" ]; then
        echo "$ME: glided ($1) did not start:"
        cat "$T/$1.log"
        kill "$NODE_PID" 2>/dev/null
        exit 1
    fi
    NODE_URL="ws://127.0.0.1:$port/ws"
    aport=$(sed -n 's/.*admin.*127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$T/$1.log" | head -1)
    [ -n "$aport" ] && NODE_ADMIN="http://127.0.0.1:$aport"
}

# start_glided STORE-DIRECTIVE: the single glided; sets GLIDED_PID, URL and ADMIN.
start_glided() {
    stop_glided
    stop_nodes
    start_node glided "$1"
    GLIDED_PID=$NODE_PID
    URL=$NODE_URL
    ADMIN=$NODE_ADMIN
}

# fig NAME LABEL: the value column of LABEL in a run's output.
# (glide-bench prints each row as printf("  %-26s %s\n"): the label's column is fixed.)
fig() {
    awk -v p="$(printf '  %-26s ' "$2")" 'index($0, p) == 1 { print substr($0, length(p) + 1); exit }' \
        "$T/$1.out" 2>/dev/null
}
num() { printf '%s' "$1" | sed -n 's/^\([0-9.]*\).*/\1/p'; }
