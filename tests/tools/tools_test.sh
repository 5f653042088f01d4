#!/bin/sh
# glidectl and glide-bench against a real glided (credential_secret, memory store), all on
# loopback with port 0: two `glidectl chat` terminals (named pipes) exchange a message and its
# acks, in JSON and protobuf, with tickets; glidectl's errors; a one-second glide-bench chat
# that must acknowledge messages and report sane figures; the bench's --baseline echo.
set -u
B=${B:-build}
BIN=$(cd "$B" && pwd)
T=$(mktemp -d /tmp/glide-tools-test.XXXXXX)
GLIDED_PID=
cleanup() {
    exec 3>&- 4>&- 2>/dev/null
    [ -n "$GLIDED_PID" ] && kill "$GLIDED_PID" 2>/dev/null && wait "$GLIDED_PID" 2>/dev/null
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
