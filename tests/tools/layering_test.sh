#!/bin/sh
# The layering of src/: each folder is a layer whose README.md names, in its "Includes:" line,
# the other layers its files may include (the Makefile links by the same lines). Fails when
#  - a folder has no README.md or no "Includes:" line, or names a folder that does not exist;
#  - the named layers form a cycle (a lower layer naming a higher one);
#  - a file includes a header of a layer its folder does not name ("glide/" — the public
#    headers — may be included everywhere).
# A layer's subfolders (src/host/store, src/host/admin) are part of it: their files are checked
# against the layer's line. Prints one line per check and "N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
. tests/support/checks.sh

layers=$(for d in src/*/; do d=${d%/}; echo "${d#src/}"; done)
is_layer() { echo "$layers" | grep -qx "$1"; }
named() { # layer: the layers its README names
    sed -n 's/^Includes://p' "src/$1/README.md" 2>/dev/null | tr -c 'a-z_\n' ' ' | tr ' ' '\n' |
        while read -r w; do [ -n "$w" ] && is_layer "$w" && [ "$w" != "$1" ] && echo "$w"; done |
        sort -u
}

for l in $layers; do
    if [ ! -f "src/$l/README.md" ]; then
        not_ok "src/$l has no README.md"
        continue
    fi
    if ! grep -q '^Includes:' "src/$l/README.md"; then
        not_ok "src/$l/README.md has no \"Includes:\" line"
        continue
    fi
    ok "src/$l/README.md says what the layer may include: $(named "$l" | tr '\n' ' ')"
done

# Cycles: peel off layers that name nothing left, as long as there are any (Kahn's algorithm).
left=$layers
while :; do
    peeled=""
    for l in $left; do
        deps=$(named "$l" | while read -r d; do echo "$left" | grep -qx "$d" && echo "$d"; done)
        [ -z "$deps" ] && peeled="$peeled $l"
    done
    [ -z "$peeled" ] && break
    left=$(echo "$left" | while read -r l; do
        case " $peeled " in *" $l "*) ;; *) echo "$l" ;; esac
    done)
done
if [ -z "$left" ]; then
    ok "the layers form no cycle"
else
    not_ok "the layers form a cycle among: $(echo "$left" | tr '\n' ' ')"
fi

# Every include of every file against its folder's line.
for l in $layers; do
    allowed=" $l glide $(named "$l" | tr '\n' ' ') "
    wrong=$(grep -Hno '^#include "[a-z_]*/' src/"$l"/* src/"$l"/*/* 2>/dev/null | while IFS=: read -r f n inc; do
        x=${inc#\#include \"}
        x=${x%/}
        case "$allowed" in *" $x "*) ;; *) echo "$f:$n includes $x/" ;; esac
    done)
    if [ -z "$wrong" ]; then
        ok "src/$l includes only what its README names"
    else
        not_ok "src/$l includes layers its README does not name:"
        echo "$wrong" | sed 's/^/    /'
    fi
done

finish
