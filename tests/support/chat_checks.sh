# Sourced after checks.sh by the scripts that run an example host against `glidectl chat`
# clients. It sets BIN (the built programs) and T (a scratch folder, removed at exit with the
# host HOST_PID and bob's fifo); the script sets URL (ws://…) and HOST_PID.
B=${B:-build}
BIN=$(cd "$B" && pwd)
T=$(mktemp -d /tmp/glide-example-test.XXXXXX)
HOST_PID=
example_cleanup() {
    exec 3>&- 2>/dev/null
    [ -n "$HOST_PID" ] && kill "$HOST_PID" 2>/dev/null && wait "$HOST_PID" 2>/dev/null
    rm -rf "$T"
}
trap example_cleanup EXIT

# bob_joins NAME: bob's terminal starts (its input a fifo held open on fd 3) and authenticates.
bob_joins() {
    rm -f "$T/bob.in" "$T/bob.out" "$T/alice.out"
    mkfifo "$T/bob.in"
    "$BIN/glidectl" chat "$URL" --secret example-secret --uid bob <"$T/bob.in" >"$T/bob.out" 2>&1 &
    bob=$!
    exec 3>"$T/bob.in"
    if wait_for "$T/bob.out" "* authenticated as bob"; then
        ok "$1"
    else
        not_ok "$1" "$(cat "$T/bob.out")"
    fi
}

# alice_sends TEXT: alice's message to bob is stored (mid 1), acknowledged, delivered, shown.
alice_sends() {
    printf '%s\n' "$1" | "$BIN/glidectl" chat "$URL" --secret example-secret \
        --uid alice --to bob >"$T/alice.out" 2>&1
    rc=$?
    if [ $rc -eq 0 ] && grep -q '^\* sent mid=1\b' "$T/alice.out" &&
        grep -q '^\* delivered mid=1\b' "$T/alice.out"; then
        ok "alice's message is stored (mid 1), acknowledged and delivered"
    else
        not_ok "alice's message is stored (mid 1), acknowledged and delivered" \
            "rc=$rc; $(cat "$T/alice.out")"
    fi
    if grep -qxF "[alice] $1" "$T/bob.out"; then
        ok "bob's terminal shows it"
    else
        not_ok "bob's terminal shows it" "$(cat "$T/bob.out")"
    fi
}

# bob_leaves: his input ends, his terminal exits.
bob_leaves() {
    exec 3>&-
    wait $bob
}

# wrong_secret_refused: a credential sealed with another secret gets glide's text.
wrong_secret_refused() {
    if printf 'x\n' | "$BIN/glidectl" chat "$URL" --secret wrong-secret --uid eve --to bob \
        >"$T/eve.out" 2>&1; then
        not_ok "a credential sealed with another secret is refused" "$(cat "$T/eve.out")"
    elif grep -q 'invalid authenticate message' "$T/eve.out"; then
        ok "a credential sealed with another secret is refused (glide's text)"
    else
        not_ok "a credential sealed with another secret is refused (glide's text)" \
            "$(cat "$T/eve.out")"
    fi
}

# stop_host N: SIGTERM drains, the host exits 0 and says it stored N messages.
stop_host() {
    kill -TERM "$HOST_PID"
    i=0
    while kill -0 "$HOST_PID" 2>/dev/null && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
    if wait "$HOST_PID"; then rc=0; else rc=$?; fi
    HOST_PID=
    if [ $rc -eq 0 ] && grep -q "^stopped: $1 messages stored" "$T/host.out"; then
        ok "SIGTERM drains and the host exits 0 ($1 stored)"
    else
        not_ok "SIGTERM drains and the host exits 0 ($1 stored)" "rc=$rc; $(cat "$T/host.out")"
    fi
}
