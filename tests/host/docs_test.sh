#!/bin/sh
# The directive records are the single source of truth: man/glided.conf.5 must be exactly what
# build/gen-docs makes of them, and conf/glided.conf's descriptions too (run `make docs` after
# changing a record). Which directives conf/glided.conf sets or leaves commented out is the
# user's to change: lines that set a directive ("name ...;" or "#name ...;") are left out of
# that comparison on both sides.
set -u
B=${B:-build}
pass=0
fail=0
settings() { grep -Ev '^#?[a-z_]+( .*)?;$'; }
for kind in man conf; do
    case $kind in
    man) file=man/glided.conf.5 filter=cat ;;
    conf) file=conf/glided.conf filter=settings ;;
    esac
    $filter <"$file" >"$B/docs_test.$kind.have"
    "$B/gen-docs" $kind | $filter >"$B/docs_test.$kind.want"
    if diff -u "$B/docs_test.$kind.have" "$B/docs_test.$kind.want" >/dev/null; then
        echo "ok - $file matches the directive records"
        pass=$((pass + 1))
    else
        echo "not ok - $file differs from the directive records (run 'make docs'):"
        diff -u "$B/docs_test.$kind.have" "$B/docs_test.$kind.want" | head -40
        fail=$((fail + 1))
    fi
done
# The settings of the example conf are ones the records know.
for name in $(sed -n 's/^\([a-z_]*\) .*;$/\1/p' conf/glided.conf); do
    if "$B/gen-docs" conf | grep -q "^# $name\b"; then
        pass=$((pass + 1))
    else
        echo "not ok - conf/glided.conf sets \"$name\", which no directive record describes"
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
