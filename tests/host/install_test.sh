#!/bin/sh
# make install / uninstall into a DESTDIR: the installed glided tests the installed
# configuration (whose load_module points at the installed module); the systemd unit names the
# installed glided and its configuration, and `systemd-analyze verify` accepts it (when there is
# a systemd-analyze); the Grafana dashboard is valid JSON; uninstall removes everything but an
# edited configuration.
set -u
B=${B:-build}
T=$(mktemp -d /tmp/glide-install.XXXXXX)
trap 'rm -rf "$T"' EXIT
. tests/support/checks.sh

make -s --no-print-directory B="$B" install DESTDIR="$T" PREFIX=/opt/glide >"$T.log" 2>&1 ||
    { cat "$T.log"; not_ok "make install"; }
[ $fail -eq 0 ] && ok "make install"
rm -f "$T.log"
for f in sbin/glided bin/glidectl bin/glide-bench share/man/man1/glidectl.1 \
    share/man/man1/glide-bench.1 lib/glide/libglide.so include/glide/glide.h include/glide/module.h \
    etc/glide/glided.conf etc/glide/glided.conf.default share/man/man8/glided.8 \
    share/man/man5/glided.conf.5 share/man/man3/libglide.3 lib/systemd/system/glided.service \
    share/glide/grafana/glide.json; do
    [ -e "$T/opt/glide/$f" ] && ok "installed $f" || not_ok "installed $f"
done
grep -q "^load_module /opt/glide/lib/glide/libglide.so;" "$T/opt/glide/etc/glide/glided.conf" &&
    ok "installed conf loads the installed module" || not_ok "installed conf names the module"

# The installed configuration works once its module path is rewritten into the DESTDIR.
sed "s|^load_module .*|load_module $T/opt/glide/lib/glide/libglide.so;|" \
    "$T/opt/glide/etc/glide/glided.conf" >"$T/check.conf"
"$T/opt/glide/sbin/glided" -t -c "$T/check.conf" >/dev/null 2>&1 &&
    ok "installed glided -t" || not_ok "installed glided -t"

unit="$T/opt/glide/lib/systemd/system/glided.service"
grep -qx "ExecStart=/opt/glide/sbin/glided -c /opt/glide/etc/glide/glided.conf" "$unit" &&
    ! grep -q @PREFIX@ "$unit" && ok "the unit runs the installed glided on the installed conf" ||
    not_ok "the unit's paths" "$(grep -n '/opt/glide\|@PREFIX@' "$unit")"
# systemd-analyze verify wants the programs the unit runs and the man pages it names: a copy of
# the unit with the DESTDIR in its paths, and man looking in the DESTDIR. Warnings (an unknown
# key, a bad value) do not change its exit status, so any line about the unit fails too.
if command -v systemd-analyze >/dev/null 2>&1; then
    mkdir "$T/verify"
    sed "s|/opt/glide/|$T/opt/glide/|g" "$unit" >"$T/verify/glided.service"
    out=$(MANPATH="$T/opt/glide/share/man" systemd-analyze verify "$T/verify/glided.service" 2>&1)
    rc=$?
    said=$(printf '%s\n' "$out" | grep 'glided\.service')
    [ $rc -eq 0 ] && [ -z "$said" ] && ok "systemd-analyze verify accepts the unit" ||
        not_ok "systemd-analyze verify (exit $rc)" "$out"
else
    echo "ok - # SKIP systemd-analyze verify: no systemd-analyze on this system"
fi
"${PYTHON:-/usr/bin/python3}" -c 'import json, sys; json.load(open(sys.argv[1]))' \
    "$T/opt/glide/share/glide/grafana/glide.json" 2>"$T/json.err" &&
    ok "the installed dashboard is JSON" || not_ok "the installed dashboard" "$(cat "$T/json.err")"
rm -f "$T/json.err"

echo "# edited" >>"$T/opt/glide/etc/glide/glided.conf"
make -s --no-print-directory B="$B" uninstall DESTDIR="$T" PREFIX=/opt/glide >/dev/null 2>&1 &&
    ok "make uninstall" || not_ok "make uninstall"
left=$(cd "$T/opt/glide" && find . -type f | sort | tr '\n' ' ')
[ "$left" = "./etc/glide/glided.conf " ] && ok "uninstall keeps only the edited conf" ||
    not_ok "uninstall left: $left"
finish
