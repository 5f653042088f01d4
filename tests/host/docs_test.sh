#!/bin/sh
# The directive records are the single source of truth: man/glided.conf.5 and conf/glided.conf
# must be exactly what build/gen-docs makes of them (run `make docs` after changing a record).
set -u
B=${B:-build}
pass=0
fail=0
for kind in man conf; do
    case $kind in man) file=man/glided.conf.5 ;; conf) file=conf/glided.conf ;; esac
    if "$B/gen-docs" $kind | diff -u "$file" - >/dev/null; then
        echo "ok - $file matches the directive records"
        pass=$((pass + 1))
    else
        echo "not ok - $file differs from the directive records (run 'make docs'):"
        "$B/gen-docs" $kind | diff -u "$file" - | head -40
        fail=$((fail + 1))
    fi
done
# Every directive of both tables appears in the man page and in the example configuration.
for name in $("$B/gen-docs" conf | sed -n 's/^# \([a-z_]*\) .*;$/\1/p; s/^# \([a-z_]*\);$/\1/p'); do
    if grep -q "^\.It Ic $name\b" man/glided.conf.5; then
        pass=$((pass + 1))
    else
        echo "not ok - $name missing from man page"
        fail=$((fail + 1))
    fi
done
# The mdoc pages are well-formed.
if command -v mandoc >/dev/null 2>&1; then
    for m in man/*.[1-8]; do
        if mandoc -T lint -W warning "$m" >/dev/null 2>&1; then
            pass=$((pass + 1))
        else
            echo "not ok - mandoc lint $m"
            mandoc -T lint -W warning "$m"
            fail=$((fail + 1))
        fi
    done
fi
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
