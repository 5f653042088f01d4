#!/bin/sh
# examples/minimal-host.c against real clients: two `glidectl chat` terminals authenticate
# (answered later by the host: GLIDE_PENDING) and exchange a message with its acks through
# the host's in-memory store; a wrong secret is refused with glide's text; SIGTERM drains and
# the host exits 0. Then the same example built outside the tree from an installed DESTDIR
# with pkg-config, as a host author would build it, loads the installed module.
set -u
. tests/support/checks.sh
. tests/support/chat_checks.sh

start_host() { # HOST_BINARY MODULE: starts it on a free port, sets HOST_PID and URL
    : >"$T/host.out"
    "$1" "$2" example-secret 127.0.0.1:0 >"$T/host.out" 2>&1 &
    HOST_PID=$!
    if ! wait_for "$T/host.out" "listening on 127.0.0.1:"; then
        not_ok "$1 starts" "$(cat "$T/host.out")"
        finish
    fi
    URL="ws://127.0.0.1:$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$T/host.out")/ws"
    ok "$(basename "$1") listens: $URL"
}

chat() { # a message from alice to bob, both authenticated by the host
    bob_joins "bob authenticates (the host answers later: GLIDE_PENDING)"
    alice_sends "hello from a minimal host"
    bob_leaves
}

# 1. The example as make builds it, with the built module.
start_host "$BIN/examples/minimal-host" "$BIN/libglide.so"
chat
wrong_secret_refused
stop_host 1

# 2. Installed into a DESTDIR; built outside the tree with pkg-config.
D="$T/dest"
if make -s --no-print-directory B="$B" install DESTDIR="$D" PREFIX=/opt/glide >"$T/install.log" 2>&1; then
    ok "make install DESTDIR"
else
    not_ok "make install DESTDIR" "$(tail -20 "$T/install.log")"
    finish
fi
export PKG_CONFIG_PATH="$D/opt/glide/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$D"
mkdir -p "$T/out-of-tree"
cp "$D/opt/glide/share/doc/glide/examples/minimal-host.c" "$T/out-of-tree/"
# A sanitizer build's module needs its runtime loaded first: the host gets the same flags.
san=$(sed -n 's/^SAN := //p' "$B/config.mk" 2>/dev/null)
if (cd "$T/out-of-tree" && cc $san -o minimal-host minimal-host.c $(pkg-config --cflags --libs glide)) \
    >"$T/cc.log" 2>&1; then
    ok "cc minimal-host.c \$(pkg-config --cflags --libs glide) outside the tree"
else
    not_ok "cc minimal-host.c \$(pkg-config --cflags --libs glide) outside the tree" "$(cat "$T/cc.log")"
    finish
fi
module=$(pkg-config --variable=module glide)
[ -e "$module" ] || module="$D$module" # pkgconf may or may not put the sysroot in front
so=$(readelf -d "$module" 2>/dev/null | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
if [ "$so" = "libglide.so.1" ] && [ -L "$D/opt/glide/lib/glide/libglide.so" ]; then
    ok "the installed module $(basename "$(readlink -f "$module")") has soname $so and the usual links"
else
    not_ok "the installed module has soname libglide.so.1 and the usual links" "soname '$so'; $(ls -l "$D/opt/glide/lib/glide")"
fi
start_host "$T/out-of-tree/minimal-host" "$module"
chat
stop_host 1
finish
