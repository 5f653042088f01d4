#!/bin/sh
# The first run as a newcomer makes it, on a clean clone (CI runs this before `make check`):
# `make run` in the background (it installs what is missing, configures, builds only glided,
# the module and glidectl, and starts glided on conf/glided.conf), then the README's two
# `build/glidectl chat` lines, taken from the README itself, exchange a message; then glided
# stops. Prints how long `make run` took to listen, and "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
. tests/support/checks.sh
T=$(mktemp -d /tmp/glide-newcomer.XXXXXX)
RUN_PID=
cleanup() {
    exec 3>&- 2>/dev/null
    [ -n "$RUN_PID" ] && kill "$RUN_PID" 2>/dev/null
    pkill -f 'glided -c conf/glided.conf' 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT

[ -e conf/data ] && { echo "conf/data exists: not a first run (remove it to try)"; exit 1; }
bob=$(grep '^build/glidectl chat .*--uid bob$' README.md | head -1)
alice=$(grep '^build/glidectl chat .*--uid alice --to bob$' README.md | head -1)
[ -n "$bob" ] && [ -n "$alice" ] && ok "the README shows the two chat commands" ||
    { not_ok "the README shows the two chat commands"; finish; }

start=$(date +%s)
make run >"$T/run.log" 2>&1 &
RUN_PID=$!
if wait_for "$T/run.log" "listening on 127.0.0.1:8083" 900; then
    ok "make run: glided listens after $(($(date +%s) - start)) s"
else
    not_ok "make run: glided listens" "$(tail -30 "$T/run.log")"
    finish
fi
grep -q "made a new credential secret in" "$T/run.log" && ok "glided made a credential secret" ||
    not_ok "glided made a credential secret" "$(tail -5 "$T/run.log")"

mkfifo "$T/bob.in"
sh -c "$bob" <"$T/bob.in" >"$T/bob.out" 2>&1 &
bob_pid=$!
exec 3>"$T/bob.in"
wait_for "$T/bob.out" "* authenticated as bob" && ok "bob's terminal authenticates" ||
    not_ok "bob's terminal authenticates" "$(cat "$T/bob.out")"
echo "hello from the README" | sh -c "$alice" >"$T/alice.out" 2>&1
grep -q '^\* delivered mid=' "$T/alice.out" && ok "alice's line is acknowledged and delivered" ||
    not_ok "alice's line is acknowledged and delivered" "$(cat "$T/alice.out")"
wait_for "$T/bob.out" "[alice] hello from the README" && ok "bob's terminal shows it" ||
    not_ok "bob's terminal shows it" "$(cat "$T/bob.out")"
exec 3>&-
wait $bob_pid

pkill -TERM -f 'glided -c conf/glided.conf'
wait $RUN_PID 2>/dev/null
RUN_PID=
rm -rf conf/data
finish
