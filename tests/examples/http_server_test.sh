#!/bin/sh
# examples/http-server: one port serves the server's own routes and glide. curl gets / and
# /api/health; two `glidectl chat` clients authenticate and chat through ws://…/ws on that
# same port (the server hands the connection to the module: glide_api.handoff); a wrong
# secret is refused with glide's text; unknown routes are 404. Then two clients that talk as
# glide's TypeScript SDK does (tests/examples/sdk_shape_client.py: a browser's upgrade, its
# frames, the replies it relies on) authenticate and chat through the same /ws. SIGTERM
# drains and exits 0.
set -u
. tests/support/checks.sh
. tests/support/chat_checks.sh

"$BIN/examples/http-server" "$BIN/libglide.so" example-secret 127.0.0.1:0 >"$T/host.out" 2>&1 &
HOST_PID=$!
if ! wait_for "$T/host.out" "listening on 127.0.0.1:"; then
    not_ok "http-server starts" "$(cat "$T/host.out")"
    finish
fi
PORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$T/host.out")
HTTP="http://127.0.0.1:$PORT"
URL="ws://127.0.0.1:$PORT/ws"
ok "http-server listens on port $PORT"

# 1. The server's own routes.
if curl -sS -o "$T/page" -w '%{http_code}' "$HTTP/" >"$T/code" 2>&1 &&
    [ "$(cat "$T/code")" = 200 ] && grep -q '<h1>glide on this port</h1>' "$T/page"; then
    ok "GET / serves the page"
else
    not_ok "GET / serves the page" "$(cat "$T/code" "$T/page" 2>&1)"
fi
health() { curl -sS "$HTTP/api/health" 2>&1; }
h=$(health)
if [ "$h" = '{"status":"ok","connections":0,"sessions":0}' ]; then
    ok "GET /api/health answers JSON: $h"
else
    not_ok "GET /api/health answers JSON" "$h"
fi
code=$(curl -sS -o /dev/null -w '%{http_code}' "$HTTP/nowhere" 2>&1)
if [ "$code" = 404 ]; then ok "an unknown route is 404"; else not_ok "an unknown route is 404" "$code"; fi

# 2. glide on the same port.
bob_joins "bob authenticates through $URL"
h=$(health)
if [ "$h" = '{"status":"ok","connections":1,"sessions":1}' ]; then
    ok "/api/health counts bob's session: $h"
else
    not_ok "/api/health counts bob's session" "$h"
fi
alice_sends "hello on a shared port"
wrong_secret_refused
bob_leaves

# 3. glide's TypeScript SDK on the same port, as its compatibility test emulates it; carol and
# dave's credentials are minted as glidectl chat mints them (glidectl credential).
mint() { "$BIN/glidectl" credential --secret example-secret --uid "$1" --device web 2>&1; }
if carol=$(mint carol) && dave=$(mint dave); then
    run_checks "the SDK-shaped clients" 120 "${PYTHON:-/usr/bin/python3}" \
        tests/examples/sdk_shape_client.py "$URL" carol "$carol" dave "$dave"
else
    not_ok "glidectl credential mints carol's and dave's credentials" "$carol ${dave:-}"
fi

# 4. SIGTERM: drain, exit 0 (alice's message and carol's).
stop_host 2
finish
