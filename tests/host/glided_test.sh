#!/bin/sh
# glided end to end: -t on good and bad files (nginx-worded errors with file:line), -V, the
# shipped conf/glided.conf, signals (HUP reload good/bad, USR1 reopen, TERM drain and exit 0),
# the pid file and daemon mode. Everything on loopback with port 0.
set -u
B=${B:-build}
GLIDED=$(cd "$B" && pwd)/glided
MODULE=$(cd "$B" && pwd)/libglide.so
T=$(mktemp -d /tmp/glided-test.XXXXXX)
trap 'kill $(cat "$T"/*.pid 2>/dev/null) 2>/dev/null; rm -rf "$T"' EXIT
. tests/support/checks.sh

# expect_t NAME WANT-RC WANT-TEXT FILE: glided -t on FILE exits WANT-RC and prints WANT-TEXT.
expect_t() {
    out=$("$GLIDED" -t -c "$4" 2>&1)
    rc=$?
    if [ "$rc" = "$2" ] && printf '%s' "$out" | grep -qF -- "$3"; then ok "$1"; else
        not_ok "$1" "rc=$rc, wanted $2 and \"$3\"; got: $out"; fi
}

base_conf() { # FILE EXTRA...
    f=$1; shift
    {
        echo "load_module $MODULE;"
        echo "glide_listen 127.0.0.1:0;"
        for line in "$@"; do echo "$line"; done
    } >"$f"
}

# --- -V and -h ------------------------------------------------------------------------------
out=$("$GLIDED" -V 2>&1)
case "$out" in *"glided version: glided/"*"libevent"*) ok "-V prints version and build" ;;
*) not_ok "-V prints version and build" "$out" ;; esac
"$GLIDED" -x >/dev/null 2>&1 && not_ok "unknown option fails" || ok "unknown option fails"

# --- the shipped configuration --------------------------------------------------------------
sed "s|^load_module .*;|load_module $MODULE;|" conf/glided.conf >"$T/shipped.conf"
expect_t "conf/glided.conf syntax is ok" 0 \
    "glided: the configuration file $T/shipped.conf syntax is ok" "$T/shipped.conf"
expect_t "conf/glided.conf test is successful" 0 \
    "glided: configuration file $T/shipped.conf test is successful" "$T/shipped.conf"
if [ "$B" = build ]; then
    expect_t "build/glided -t -c conf/glided.conf" 0 "test is successful" conf/glided.conf
    for n in a b; do
        expect_t "conf/cluster/node-$n.conf (README \"Running a cluster\")" 0 \
            "test is successful" conf/cluster/node-$n.conf
    done
fi

# --- configuration errors -------------------------------------------------------------------
base_conf "$T/unknown.conf" "" "frobnicate 1;"
expect_t "unknown directive" 1 \
    "glided: [emerg] unknown directive \"frobnicate\" in $T/unknown.conf:4" "$T/unknown.conf"
expect_t "failed test says so" 1 "glided: configuration file $T/unknown.conf test failed" \
    "$T/unknown.conf"

base_conf "$T/size.conf" "glide_max_message_size 12q;"
expect_t "bad size" 1 \
    "invalid value \"12q\" in \"glide_max_message_size\" directive in $T/size.conf:3" \
    "$T/size.conf"

base_conf "$T/bounds.conf" "glide_heartbeat_lost 0;"
expect_t "number out of bounds" 1 \
    "invalid value \"0\" in \"glide_heartbeat_lost\" directive, it must be between 1 and 100 in $T/bounds.conf:3" \
    "$T/bounds.conf"

base_conf "$T/flag.conf" "daemon maybe;"
expect_t "bad flag" 1 \
    "invalid value \"maybe\" in \"daemon\" directive, it must be \"on\" or \"off\" in $T/flag.conf:3" \
    "$T/flag.conf"

printf 'load_module %s;\nglide_listen 127.0.0.1:0' "$MODULE" >"$T/semi.conf"
expect_t "missing ; at end of file" 1 \
    "unexpected end of file, expecting \";\" or \"}\" in $T/semi.conf:2" "$T/semi.conf"

printf 'load_module %s;\ndaemon off\npid x.pid;\n' "$MODULE" >"$T/semi2.conf"
expect_t "missing ; inside the file" 1 \
    "invalid number of arguments in \"daemon\" directive in $T/semi2.conf:2" "$T/semi2.conf"

printf 'load_module %s;\nglide_ws_path /ws {\n  x 1;\n' "$MODULE" >"$T/block.conf"
expect_t "unclosed block" 1 "unexpected end of file, expecting \"}\" in $T/block.conf:4" \
    "$T/block.conf"

printf 'load_module %s;\nglide_ws_path /ws {\n}\n' "$MODULE" >"$T/block2.conf"
expect_t "block on a simple directive" 1 \
    "directive \"glide_ws_path\" is not terminated by \";\" in $T/block2.conf:2" "$T/block2.conf"

base_conf "$T/inc.conf" "include missing.conf;"
expect_t "unreadable include" 1 \
    "open() \"$T/missing.conf\" failed (2: No such file or directory) in $T/inc.conf:3" \
    "$T/inc.conf"

mkdir -p "$T/conf.d"
echo "glide_heartbeat_interval 20s;" >"$T/conf.d/a.conf"
echo "glide_heartbeat_lost 4;" >"$T/conf.d/b.conf"
base_conf "$T/glob.conf" "include conf.d/*.conf;"
expect_t "include with a glob" 0 "test is successful" "$T/glob.conf"
echo "glide_heartbeat_lost 5;" >"$T/conf.d/c.conf"
expect_t "duplicate directive from an included file" 1 \
    "\"glide_heartbeat_lost\" directive is duplicate in $T/conf.d/c.conf:1" "$T/glob.conf"

expect_t "missing configuration file" 1 "open() \"$T/nope.conf\" failed (2: No such file or directory)" \
    "$T/nope.conf"

printf 'load_module %s;\n' "$T/nope.so" >"$T/mod.conf"
expect_t "missing module" 1 "dlopen() \"$T/nope.so\" failed" "$T/mod.conf"
printf 'load_module %s;\n' /lib/x86_64-linux-gnu/libz.so.1 >"$T/notmod.conf"
[ -f /lib/x86_64-linux-gnu/libz.so.1 ] && expect_t "a library that is not a module" 1 \
    "not a glide module in $T/notmod.conf:1" "$T/notmod.conf"

base_conf "$T/listen.conf" "glide_listen 127.0.0.1:99999;"
expect_t "bad listen port" 1 \
    "invalid port in \"127.0.0.1:99999\" of the \"glide_listen\" directive in $T/listen.conf:3" \
    "$T/listen.conf"

# --- credential_secret_file: made on first start, read after --------------------------------
base_conf "$T/both.conf" 'credential_secret "x";' "credential_secret_file s;"
expect_t "credential_secret and credential_secret_file together are refused" 1 \
    "\"credential_secret\" and \"credential_secret_file\" cannot both be given, in $T/both.conf:4" \
    "$T/both.conf"
base_conf "$T/secret.conf" "store memory;" "error_log secret.log info;" \
    "credential_secret_file data/secret;"
for round in first second; do
    "$GLIDED" -c "$T/secret.conf" 2>>"$T/secret.stderr" &
    spid=$!
    wait_for "$T/secret.log" "listening on 127.0.0.1:" || not_ok "glided starts ($round)" \
        "$(cat "$T/secret.log" "$T/secret.stderr")"
    kill $spid
    wait $spid
    if [ $round = first ]; then
        made=$(cat "$T/data/secret" 2>/dev/null)
        mode=$(stat -c %a "$T/data/secret" 2>/dev/null)
        if printf '%s' "$made" | grep -qxE '[0-9a-f]{64}' && [ "$mode" = 600 ] &&
            grep -q "made a new credential secret in $T/data/secret" "$T/secret.log"; then
            ok "credential_secret_file: made at first start (64 hex digits, mode 0600, logged)"
        else
            not_ok "credential_secret_file: made at first start" "'$made' mode $mode; $(cat "$T/secret.log")"
        fi
    elif [ "$(cat "$T/data/secret")" = "$made" ] &&
        [ "$(grep -c 'made a new credential secret' "$T/secret.log")" = 1 ]; then
        ok "credential_secret_file: read again at the next start, not made anew"
    else
        not_ok "credential_secret_file: read again at the next start" "$(cat "$T/secret.log")"
    fi
done

# --- running: pid file, reload, reopen, drain -----------------------------------------------
base_conf "$T/run.conf" "pid run.pid;" "error_log run.log info;"
"$GLIDED" -c "$T/run.conf" 2>"$T/run.stderr" &
pid=$!
if wait_for "$T/run.log" "glided 0." && wait_for "$T/run.log" "listening on 127.0.0.1:"; then
    ok "starts and logs its listeners"; else not_ok "starts and logs its listeners" "$(cat "$T/run.log" "$T/run.stderr")"; fi
[ "$(cat "$T/run.pid" 2>/dev/null)" = "$pid" ] && ok "pid file" || not_ok "pid file"

base_conf "$T/run.conf" "pid run.pid;" "error_log run.log info;" "glide_max_message_size 1m;"
kill -HUP $pid
wait_for "$T/run.log" "configuration reloaded" && ok "SIGHUP reloads" || not_ok "SIGHUP reloads" "$(cat "$T/run.log")"

base_conf "$T/run.conf" "pid run.pid;" "error_log run.log info;" "glide_node_id other;"
kill -HUP $pid
wait_for "$T/run.log" "\"glide_node_id\" cannot be changed by a reload" &&
    ok "reload warns about restart-only directives" || not_ok "reload warns about restart-only directives" "$(cat "$T/run.log")"

base_conf "$T/run.conf" "pid run.pid;" "error_log run.log info;" "glide_max_message_size lots;"
kill -HUP $pid
if wait_for "$T/run.log" "reload failed, the running configuration is kept" &&
    grep -qF "invalid value \"lots\" in \"glide_max_message_size\" directive in $T/run.conf:5" "$T/run.log" &&
    kill -0 $pid; then ok "invalid reload is refused and glided keeps running"; else
    not_ok "invalid reload is refused and glided keeps running" "$(cat "$T/run.log")"; fi

mv "$T/run.log" "$T/run.log.1"
kill -USR1 $pid
wait_for "$T/run.log" "log reopened" && ok "SIGUSR1 reopens the log" || not_ok "SIGUSR1 reopens the log"

start=$(date +%s%N)
kill -TERM $pid
wait $pid
rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ $rc -eq 0 ] && [ $ms -lt 2000 ] && ok "SIGTERM: exit 0 in ${ms} ms" || not_ok "SIGTERM: exit 0 within 2 s" "rc=$rc ms=$ms"
[ -e "$T/run.pid" ] && not_ok "pid file removed at exit" || ok "pid file removed at exit"
grep -qF "signal 15 received, draining" "$T/run.log" && ok "drain is logged" || not_ok "drain is logged"

base_conf "$T/int.conf" "error_log int.log;"
"$GLIDED" -c "$T/int.conf" &
pid=$!
wait_for "$T/int.log" "started"
kill -INT $pid
wait $pid
[ $? -eq 0 ] && ok "SIGINT: exit 0" || not_ok "SIGINT: exit 0"

# --- daemon mode ----------------------------------------------------------------------------
base_conf "$T/d.conf" "daemon on;" "pid d.pid;" "error_log d.log;"
"$GLIDED" -c "$T/d.conf"
rc=$?
if [ $rc -eq 0 ] && wait_for "$T/d.log" "started" && [ -s "$T/d.pid" ]; then
    dpid=$(cat "$T/d.pid")
    kill -0 "$dpid" && ok "daemon on: detaches, pid file names the daemon" || not_ok "daemon runs"
    kill -TERM "$dpid"
    i=0; while kill -0 "$dpid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
    kill -0 "$dpid" 2>/dev/null && not_ok "daemon stops on SIGTERM" || ok "daemon stops on SIGTERM"
else
    not_ok "daemon on: detaches" "rc=$rc $(cat "$T/d.log" 2>/dev/null)"
fi

finish
