#!/bin/sh
# The module/host boundary (design.md §3, the Makefile's "module/host boundary"):
#  - glided's sources (src/host and its subfolders) include only the public headers
#    (glide/*.h), their own (host/...) and the headers of the utility library
#    (libglide-util.a, the Makefile's UTIL_SRCS); any other internal header, e.g.
#    module/host_adapter.h or net/connection.h, fails. The check is run once on a copy of
#    src/host with such an include added, which it must refuse;
#  - glided holds none of the module's code (no symbol of its internal namespaces), and
#    libglide.so none of glided's;
#  - libglide.so needs no storage or JSON library: `readelf -d` lists no libsqlite3, no libpq,
#    no libjansson.
# Prints one line per check and "N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
B=${B:-build}
. tests/support/checks.sh

# The utility library's headers: keep in step with UTIL_SRCS in the Makefile (and
# src/host/README.md). Header-only helpers (result.h, intrusive_list.h, libevent.h) need no
# object.
UTIL_HEADERS="common/result.h common/log.h common/strings.h common/intrusive_list.h
conf/conf.h net/address.h net/listener.h net/libevent.h"

# Prints "file:line: header" for each include of DIR's files that is not allowed.
foreign_includes() {
    find "$1" -type f \( -name '*.cc' -o -name '*.h' -o -name '*.inl' \) | sort |
        while read -r f; do
            grep -Hn '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" |
                while IFS= read -r line; do
                    h=$(printf '%s\n' "$line" | sed 's/.*include[[:space:]]*"\([^"]*\)".*/\1/')
                    case "$h" in
                    glide/*.h | host/*) continue ;;
                    esac
                    case " $(echo $UTIL_HEADERS) " in *" $h "*) continue ;; esac
                    echo "${line%%:*}:$(printf '%s\n' "$line" | cut -d: -f2): $h"
                done
        done
}

wrong=$(foreign_includes src/host)
if [ -z "$wrong" ]; then
    ok "glided's sources include only glide/*.h, host/ and the utility library's headers"
else
    not_ok "glided's sources include module-internal headers" "$wrong"
fi

# The check itself catches what it is for.
T=$(mktemp -d /tmp/glide-boundary.XXXXXX)
trap 'rm -rf "$T"' EXIT
cp -R src/host "$T/host"
printf '#include "module/host_adapter.h"\n' >>"$T/host/store/store.h"
printf '#  include "net/connection.h"\n' >>"$T/host/server.cc"
bad=$(foreign_includes "$T/host" | sed "s|^$T/||")
if echo "$bad" | grep -q 'host/store/store.h:.*module/host_adapter.h' &&
    echo "$bad" | grep -q 'host/server.cc:.*net/connection.h'; then
    ok "the include check refuses module/host_adapter.h and net/connection.h in glided"
else
    not_ok "the include check lets module-internal headers through" "$bad"
fi

if [ ! -x "$B/glided" ] || [ ! -f "$B/libglide.so" ]; then
    not_ok "$B/glided and $B/libglide.so are built"
    finish
fi

# The module's namespaces; glide::net's connections are the module's too (glided uses only
# net::Address and net::Listener from that folder, through the utility library).
inside=$(nm -C "$B/glided" 2>/dev/null |
    grep -E ' glide::(hub|codec|session|dispatch|actions|cluster|port|frame|module)::| glide::(Module|HostAdapter)\b| glide::net::(Connection|FlushQueue|OutQueue|Tls)' |
    head -5)
if [ -z "$inside" ]; then
    ok "glided contains none of the module's code"
else
    not_ok "glided links module code" "$inside"
fi

# And the other way: the module holds none of glided's code (its store, admin API, services).
inside=$(nm -C "$B/libglide.so" 2>/dev/null | grep -E ' glide::(host|store)::' | head -5)
if [ -z "$inside" ]; then
    ok "libglide.so contains none of glided's code"
else
    not_ok "libglide.so links glided's code" "$inside"
fi

needed=$(readelf -d "$B/libglide.so" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
if [ -n "$needed" ] && ! echo "$needed" | grep -Eq '^lib(sqlite3|pq|jansson)\.'; then
    ok "libglide.so needs no libsqlite3, libpq or libjansson ($(echo $needed))"
else
    not_ok "libglide.so needs a library of glided's" "$needed"
fi
# (libevent_openssl comes with libevent's flags, and a link without --as-needed, such as the
# sanitizer build's, keeps it: only hiredis is the module's alone.)
needed=$(readelf -d "$B/glided" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
if ! echo "$needed" | grep -Eq '^libhiredis'; then
    ok "glided needs no library only the module uses (hiredis)"
else
    not_ok "glided needs a library only the module uses" "$needed"
fi

finish
