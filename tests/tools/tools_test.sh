#!/bin/sh
# glidectl and glide-bench against a real glided (credential_secret, memory store), all on
# loopback with port 0: two `glidectl chat` terminals (named pipes) exchange a message and its
# acks, in JSON and protobuf, with tickets; glidectl's errors; a one-second glide-bench chat
# that must acknowledge messages and report sane figures; its URL and --server-pid lists (over
# a second glided, not in a cluster with the first); a glide-bench group replay; the bench's
# --baseline echo.
set -u
B=${B:-build}
BIN=$(cd "$B" && pwd)
T=$(mktemp -d /tmp/glide-tools-test.XXXXXX)
GLIDED_PID=
GLIDED2_PID=
BENCH_PID=
cleanup() {
    exec 3>&- 4>&- 2>/dev/null
    for p in $BENCH_PID $GLIDED_PID $GLIDED2_PID; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
    rm -rf "$T"
}
trap cleanup EXIT
. tests/support/checks.sh

cat >"$T/glided.conf" <<CONF
load_module $BIN/libglide.so;
error_log $T/glided.log info;
store memory;
credential_secret "tools-secret";
glide_listen 127.0.0.1:0;
admin_listen 127.0.0.1:0;
admin_token "tools-token";
# glide-bench below sends far faster than a person does: the rate limits would refuse it.
glide_limit_message_rate off;
glide_limit_user_message_rate off;
CONF
"$BIN/glided" -c "$T/glided.conf" 2>>"$T/glided.log" &
GLIDED_PID=$!
if ! wait_for "$T/glided.log" "listening on 127.0.0.1:"; then
    not_ok "glided starts" "$(cat "$T/glided.log")"
    finish
fi
PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/glided.log" | head -1)
URL="ws://127.0.0.1:$PORT/ws"
ok "glided listens on port $PORT"

# chat CODEC EXTRA...: bob waits on a named pipe, alice sends one line and waits for its acks.
chat() {
    codec=$1; shift
    rm -f "$T/bob.in" "$T/bob.out" "$T/alice.out"
    mkfifo "$T/bob.in"
    "$BIN/glidectl" chat "$URL" --secret tools-secret --uid "bob-$codec" --codec "$codec" "$@" \
        <"$T/bob.in" >"$T/bob.out" 2>&1 &
    bob=$!
    exec 3>"$T/bob.in"
    if ! wait_for "$T/bob.out" "* authenticated as bob-$codec"; then
        not_ok "$codec: bob authenticates" "$(cat "$T/bob.out")"
        exec 3>&-
        wait $bob
        return
    fi
    printf 'hello bob <&>\n' | "$BIN/glidectl" chat "$URL" --secret tools-secret \
        --uid "alice-$codec" --to "bob-$codec" --codec "$codec" "$@" >"$T/alice.out" 2>&1
    rc=$?
    if [ $rc -eq 0 ] && grep -q '^\* sent mid=[1-9]' "$T/alice.out" &&
        grep -q '^\* delivered mid=[1-9]' "$T/alice.out"; then
        ok "$codec: alice's message is stored and delivered ($*)"
    else
        not_ok "$codec: alice's message is stored and delivered ($*)" "rc=$rc; $(cat "$T/alice.out")"
    fi
    if grep -qxF "[alice-$codec] hello bob <&>" "$T/bob.out"; then
        ok "$codec: bob's terminal shows it"
    else
        not_ok "$codec: bob's terminal shows it" "$(cat "$T/bob.out")"
    fi
    exec 3>&-
    wait $bob
    rc=$?
    [ $rc -eq 0 ] && ok "$codec: bob leaves cleanly at end of input" ||
        not_ok "$codec: bob leaves cleanly at end of input" "rc=$rc; $(cat "$T/bob.out")"
}

chat json
chat protobuf
# With a deliver secret in the credentials the server checks tickets; glidectl computes them.
chat json --deliver-secret ticket-secret

# A credential minted by `glidectl credential` is accepted as it is.
cred=$("$BIN/glidectl" credential --secret tools-secret --uid carol)
out=$(printf '' | "$BIN/glidectl" chat "$URL" --credential "$cred" 2>&1)
case "$out" in *"* authenticated"*) ok "glidectl credential output authenticates" ;;
*) not_ok "glidectl credential output authenticates" "$out" ;; esac

# Errors are clean: a wrong secret, a refused connection, a wrong path.
out=$(printf '' | "$BIN/glidectl" chat "$URL" --secret wrong --uid dave 2>&1)
rc=$?
case "$rc:$out" in 1:*"glidectl: authentication failed: invalid authenticate message"*)
    ok "wrong secret: authentication failed, exit 1" ;;
*) not_ok "wrong secret: authentication failed, exit 1" "rc=$rc; $out" ;; esac
out=$(printf '' | "$BIN/glidectl" chat "ws://127.0.0.1:$PORT/nope" --secret x --uid d 2>&1)
rc=$?
case "$rc:$out" in 1:*"upgrade refused: 404"*) ok "wrong path: 404 reported" ;;
*) not_ok "wrong path: 404 reported" "rc=$rc; $out" ;; esac

# glidectl admin: a live session is listed, receives a push and is kicked; errors exit 1.
APORT=$(sed -n 's/.*admin API on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/glided.log" | head -1)
ADMIN="http://127.0.0.1:$APORT"
rm -f "$T/erin.in"
mkfifo "$T/erin.in"
"$BIN/glidectl" chat "$URL" --secret tools-secret --uid erin <"$T/erin.in" >"$T/erin.out" 2>&1 &
erin=$!
exec 4>"$T/erin.in"
if wait_for "$T/erin.out" "* authenticated as erin"; then
    out=$("$BIN/glidectl" admin "$ADMIN" --token tools-token sessions erin 2>&1)
    case "$out" in *'"uid":"erin"'*) ok "admin sessions lists erin" ;;
    *) not_ok "admin sessions lists erin" "$out" ;; esac
    out=$("$BIN/glidectl" admin "$ADMIN" --token tools-token push erin \
        '{"action":"message.chat","data":{"mid":5,"from":"ops","content":"pushed"}}' 2>&1)
    wait_for "$T/erin.out" "[ops] pushed" && ok "admin push reaches erin's terminal" ||
        not_ok "admin push reaches erin's terminal" "$out; $(cat "$T/erin.out")"
    "$BIN/glidectl" admin "$ADMIN" --token tools-token kick erin >/dev/null 2>&1
    wait "$erin"
    rc=$?
    [ $rc -eq 1 ] && grep -q "connection closed: 4001" "$T/erin.out" &&
        ok "admin kick closes erin's session (4001, exit 1)" ||
        not_ok "admin kick closes erin's session" "rc=$rc; $(cat "$T/erin.out")"
else
    not_ok "erin authenticates" "$(cat "$T/erin.out")"
fi
exec 4>&-
out=$("$BIN/glidectl" admin "$ADMIN" --token wrong sessions erin 2>&1)
rc=$?
case "$rc:$out" in 1:*"answered 401"*) ok "admin with a wrong token: 401, exit 1" ;;
*) not_ok "admin with a wrong token: 401, exit 1" "rc=$rc; $out" ;; esac
out=$("$BIN/glidectl" admin "$ADMIN" --token tools-token push erin 'not json' 2>&1)
rc=$?
[ $rc -eq 2 ] && ok "admin push refuses a non-JSON envelope (exit 2)" ||
    not_ok "admin push refuses a non-JSON envelope" "rc=$rc; $out"

# glide-bench: one second of chat with a few pairs.
"$BIN/glide-bench" chat "$URL" --secret tools-secret --pairs 4 --duration 1s --warmup 200ms \
    --server-pid "$GLIDED_PID" --report "$T/report.md" >"$T/bench.out" 2>"$T/bench.err"
rc=$?
acked=$(sed -n 's/.*acked \([0-9]*\)\/s.*/\1/p' "$T/bench.out")
if [ $rc -eq 0 ] && [ "${acked:-0}" -gt 0 ] && grep -q "end-to-end latency  *p50 [0-9]" "$T/bench.out" &&
    grep -q "server CPU per message  *[0-9.]* µs" "$T/bench.out" &&
    grep -q "8 authenticated, 0 failed" "$T/bench.out" && ! grep -q "errors" "$T/bench.out"; then
    ok "glide-bench chat: $acked acked/s"
else
    not_ok "glide-bench chat" "rc=$rc; $(cat "$T/bench.out" "$T/bench.err")"
fi
grep -q '^| server CPU per message |' "$T/report.md" && ok "glide-bench --report writes a table" ||
    not_ok "glide-bench --report writes a table" "$(cat "$T/report.md")"
# Open loop: the schedule sends --rate messages per second whatever the timer's jitter (it
# sends what is due by the clock), every one acked; the window is 1 s.
"$BIN/glide-bench" chat "$URL" --secret tools-secret --pairs 4 --rate 400 --duration 1s \
    --warmup 200ms >"$T/bench.out" 2>"$T/bench.err"
rc=$?
sent=$(sed -n 's/.*sent \([0-9]*\)\/s.*/\1/p' "$T/bench.out")
if [ $rc -eq 0 ] && [ "${sent:-0}" -ge 300 ] && [ "${sent:-0}" -le 500 ] &&
    grep -q "open loop 400 msg/s" "$T/bench.out" && ! grep -q "errors" "$T/bench.out"; then
    ok "glide-bench chat --rate 400: sent $sent/s"
else
    not_ok "glide-bench chat --rate 400" "rc=$rc; $(cat "$T/bench.out" "$T/bench.err")"
fi
# Lists: a second glided, on its own (no cluster): in chat each pair's receiver is on the other
# node, so the first acknowledges every message and the second delivers none; idle users go
# round-robin over the two; CPU and RSS are summed over both pids and split by process.
sed -e "s#$T/glided.log#$T/glided2.log#" "$T/glided.conf" >"$T/glided2.conf"
"$BIN/glided" -c "$T/glided2.conf" 2>>"$T/glided2.log" &
GLIDED2_PID=$!
if wait_for "$T/glided2.log" "listening on 127.0.0.1:"; then
    PORT2=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/glided2.log" | head -1)
    URL2="ws://127.0.0.1:$PORT2/ws"
    ADMIN2="http://127.0.0.1:$(sed -n 's/.*admin API on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/glided2.log" | head -1)"
    "$BIN/glide-bench" chat "$URL,$URL2" --secret tools-secret --pairs 2 --duration 1s \
        --warmup 200ms --server-pid "$GLIDED_PID,$GLIDED2_PID" >"$T/bench.out" 2>"$T/bench.err"
    rc=$?
    acked=$(sed -n 's/.*acked \([0-9]*\)\/s.*/\1/p' "$T/bench.out")
    if [ $rc -eq 0 ] && [ "${acked:-0}" -gt 0 ] && grep -q "delivered 0/s" "$T/bench.out" &&
        grep -q "4 authenticated, 0 failed" "$T/bench.out" &&
        grep -q "server CPU by process  *glided\[$GLIDED_PID\] [0-9.]* µs/msg .*, glided\[$GLIDED2_PID\] " "$T/bench.out" &&
        grep -q "server RSS by process  *glided\[$GLIDED_PID\] .*, glided\[$GLIDED2_PID\] " "$T/bench.out" &&
        grep -q "server CPU  *[0-9.]* cores (pids $GLIDED_PID,$GLIDED2_PID)" "$T/bench.out"; then
        ok "glide-bench chat URL,URL2: receivers on the second node, figures over both pids"
    else
        not_ok "glide-bench chat URL,URL2 --server-pid P1,P2" "rc=$rc; $(cat "$T/bench.out" "$T/bench.err")"
    fi
    "$BIN/glide-bench" idle "$URL,$URL2" --secret tools-secret --conns 4 --duration 3s \
        --warmup 0 >"$T/bench.out" 2>&1 &
    BENCH_PID=$!
    # sessions NODE-ADMIN UID: whether that node has a session of UID.
    sessions() { "$BIN/glidectl" admin "$1" --token tools-token sessions "$2" 2>&1 | grep -q "\"uid\":\"$2\""; }
    i=0
    until sessions "$ADMIN2" bench-3 && sessions "$ADMIN" bench-2 || [ $i -ge 100 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    if sessions "$ADMIN" bench-0 && sessions "$ADMIN2" bench-1 && ! sessions "$ADMIN" bench-1 &&
        ! sessions "$ADMIN2" bench-2; then
        ok "glide-bench idle URL,URL2: users round-robin over the two nodes"
    else
        not_ok "glide-bench idle URL,URL2: users round-robin over the two nodes" "$(cat "$T/bench.out")"
    fi
    wait "$BENCH_PID"
    BENCH_PID=
else
    not_ok "a second glided starts" "$(cat "$T/glided2.log")"
fi
out=$("$BIN/glide-bench" chat "$URL" --secret tools-secret --server-pid "$GLIDED_PID,x" 2>&1)
rc=$?
[ $rc -eq 2 ] && echo "$out" | grep -q "server-pid takes process ids separated by commas" &&
    ok "glide-bench --server-pid with a bad item: usage error" ||
    not_ok "glide-bench --server-pid with a bad item: usage error" "rc=$rc; $out"
out=$("$BIN/glide-bench" chat "$URL," --secret tools-secret 2>&1)
rc=$?
[ $rc -eq 2 ] && echo "$out" | grep -q "an empty URL in the list" &&
    ok "glide-bench URL list with an empty item: usage error" ||
    not_ok "glide-bench URL list with an empty item: usage error" "rc=$rc; $out"
# The group replay at login: a member who missed 500 group messages gets them all, in order.
"$BIN/glide-bench" replay "$URL" --secret tools-secret --admin "$ADMIN" --admin-token tools-token \
    --messages 500 --window 64 --server-pid "$GLIDED_PID" --report "$T/report.md" \
    >"$T/bench.out" 2>"$T/bench.err"
rc=$?
if [ $rc -eq 0 ] && grep -q "group replay at login  *500 messages in [0-9.]* ms" "$T/bench.out" &&
    grep -q "every message once, in sequence order" "$T/bench.out" &&
    grep -q '^| group replay at login | 500 messages' "$T/report.md"; then
    ok "glide-bench replay: $(sed -n 's/.*group replay at login  *//p' "$T/bench.out" | cut -d'(' -f1)"
else
    not_ok "glide-bench replay" "rc=$rc; $(cat "$T/bench.out" "$T/bench.err")"
fi
"$BIN/glide-bench" chat "$URL" --secret wrong --pairs 1 --duration 200ms --warmup 0 \
    >"$T/bench.out" 2>&1
rc=$?
[ $rc -eq 1 ] && grep -q "authentication failed" "$T/bench.out" &&
    ok "glide-bench: a wrong secret fails the run" ||
    not_ok "glide-bench: a wrong secret fails the run" "rc=$rc; $(cat "$T/bench.out")"
"$BIN/glide-bench" chat --baseline --pairs 2 --duration 500ms --warmup 100ms \
    >"$T/bench.out" 2>&1
rc=$?
[ $rc -eq 0 ] && grep -q "end-to-end latency  *p50 [0-9]" "$T/bench.out" &&
    ok "glide-bench --baseline echo" ||
    not_ok "glide-bench --baseline echo" "rc=$rc; $(cat "$T/bench.out")"
# A usage error must not leave the echo server behind: it would hold the output pipe open.
timeout 20 "$BIN/glide-bench" chat --baseline "$URL" --pairs 1 >"$T/bench.out" 2>&1
rc=$?
out=$(cat "$T/bench.out")
[ $rc -eq 2 ] && echo "$out" | grep -q "takes no URL" &&
    ! pgrep -f "glide-bench chat --baseline $URL" >/dev/null &&
    ok "glide-bench --baseline with a URL: usage error, no echo server left" ||
    not_ok "glide-bench --baseline with a URL: usage error, no echo server left" "rc=$rc; $out"

finish
