#!/usr/bin/env bash
# The running milter survives another process dying inside the store: after a
# writer is killed with SIGKILL and the next process runs recovery, the
# milter reopens the environment and goes on refusing what it must — never an
# accept of a blacklisted recipient meanwhile.
set -u
T=$(mktemp -d /tmp/bg-milter-rec.XXXXXX)
MILTER_PORT=2518
SMTPD=2515
SINK=2516
. "$TOP/tests/integration/lib.sh"
trap 'stop_all; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
W=$BIN/tools/store_writer

CONF=$T/bounceguard.conf
write_milter_conf "$CONF" "quota_limit=0"
mkdir -p "$T/db"
"$W" write "$T/db" victim 1 now > /dev/null || { notok "seeded the store"; exit 1; }
start_sink $SINK || { notok "smtp-sink started"; exit 1; }
start_milter "$CONF" || { notok "milter started"; exit 1; }
start_postfix $SMTPD $SINK "inet:127.0.0.1:$MILTER_PORT" || { notok "postfix started"; exit 1; }

r=$(rcpt_reply "$(smtp $SMTPD app@app.example victim-0@example.com --quit-after RCPT)")
check "before: blacklisted recipient refused ($r)" grep -q '^550 5.7.1' <<<"$r"

bad=0 refused=0 tempfail=0
for round in 1 2 3; do
    "$W" write "$T/db" "k$round" 100000 now > /dev/null 2>&1 &
    pk=$!
    sleep 0.5
    kill -9 $pk; wait $pk 2>/dev/null
    # The next process to open the store runs recovery.
    echo "victim-0@example.com" | "$W" verify "$T/db" > /dev/null 2>&1
    for i in 1 2 3; do
        r=$(rcpt_reply "$(smtp $SMTPD app@app.example victim-0@example.com --quit-after RCPT)")
        case $r in
        550\ 5.7.1*) refused=$((refused + 1)) ;;
        4*) tempfail=$((tempfail + 1)) ;;
        *) bad=$((bad + 1)); echo "# round $round: got: $r" ;;
        esac
    done
done
check "after 3 crashes + recoveries: blacklisted recipient never accepted ($refused refused, $tempfail tempfail, $bad other)" [ $bad -eq 0 ]
check "the milter recovered and answers from the store again" [ $refused -ge 3 ]
r=$(rcpt_reply "$(smtp $SMTPD app@app.example fine@example.com --quit-after RCPT)")
check "valid recipient accepted after recovery ($r)" grep -q '^250' <<<"$r"
check "the milter is still the same process" kill -0 "$MILTER_PID"
check "the milter went through its reopen-after-recovery path" \
    grep -q 'recovering after another process failed' "$T/log/warning.log"
