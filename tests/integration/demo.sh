#!/usr/bin/env bash
# make demo, as README tells a new user to run it (on ports of its own): it
# ends well, shows a bounce learned from Postfix's log and then refused, and
# writes no terminal escapes into a pipe.
set -u
T=$(mktemp -d /tmp/bg-demo-test.XXXXXX)
chmod 755 "$T" # Postfix's processes reach the demo's instance inside
. "$TOP/tests/integration/lib.sh"
trap '[ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT

# scripts/demo is what `make demo` runs (make would rebuild in its own way)
out=$(BUILD=$BUILD DEMO_DIR="$T/demo" DEMO_SMTPD_PORT=2795 DEMO_SINK_PORT=2796 \
    DEMO_REFUSER_PORT=2797 DEMO_MILTER_PORT=2798 "$TOP/scripts/demo" 2>&1)
rc=$?
[ $rc -eq 0 ] || printf "%s\n" "$out" | tail -5 | sed "s/^/# /"
check "make demo ends with exit 0 ($rc)" [ $rc -eq 0 ]
learned=$(sed -n '/== 3\./,/== 4\./p' <<<"$out")
check "the bounce is in Postfix's log" grep -q 'maillog: .*to=<frank@dead.example.net>.*dsn=5.1.1' <<<"$learned"
check "the recipient learned from it is refused next time" \
    grep -q '550 5.7.1 Email send failed. Recipient is blacklisted due to bounce messages' <<<"$learned"
check "bounceguard show names the log as its source" grep -Eq '^ +source +log$' <<<"$learned"
check "no terminal escape in piped output" bash -c "! grep -q \$'\\033' <<<\"\$1\"" _ "$out"
check "the quota refuses the 4th message" grep -q '450 4.7.1' <<<"$out"
check "nothing left listening on the demo's ports" bash -c \
    'for p in 2795 2796 2797 2798; do (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null && exit 1; done; exit 0'
