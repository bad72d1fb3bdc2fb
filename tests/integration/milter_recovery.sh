#!/usr/bin/env bash
# The running milter survives another process dying inside the store: after a
# writer is killed with SIGKILL and the next process runs recovery, the
# milter reopens the environment and goes on refusing what it must — never an
# accept of a blacklisted recipient meanwhile.  A milter thread that was
# waiting for a mutex the killed writer held waits for ever (pthread mutexes
# in a shared region); then the milter's stall guard exits 75 and, as the
# unit's Restart=on-failure would, this test starts it again.
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

# supervise: start the milter again when its stall guard made it exit 75.
restarts=0 other_exit=
supervise() {
    local rc
    kill -0 "$MILTER_PID" 2>/dev/null && return 0
    wait "$MILTER_PID"; rc=$?
    if [ $rc -eq 75 ] && grep -q 'did not answer for' "$T/milter.out"; then
        restarts=$((restarts + 1))
        cp "$T/milter.out" "$T/milter.out.$restarts"
        wait_port_free "$MILTER_PORT"
        start_milter "$CONF"
    else
        other_exit="$other_exit $rc"
        return 1
    fi
}

bad=0 refused=0 tempfail=0 silent=0
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
        # no reply in the client's time: a milter stuck until its stall
        # guard, Postfix still waiting for it (not an accept)
        '') silent=$((silent + 1)) ;;
        *) bad=$((bad + 1)); echo "# round $round: got: $r" ;;
        esac
        supervise
    done
done
# A stuck milter answers again within its stall guard's 60 s and a restart.
for i in $(seq 1 60); do
    supervise
    r=$(rcpt_reply "$(smtp $SMTPD app@app.example victim-0@example.com --quit-after RCPT)")
    case $r in
    550\ 5.7.1*) refused=$((refused + 1)); break ;;
    4*) tempfail=$((tempfail + 1)); sleep 2 ;;
    '') silent=$((silent + 1)) ;;
    *) bad=$((bad + 1)); echo "# after the rounds: got: $r"; break ;;
    esac
done
check "after 3 crashes + recoveries: blacklisted recipient never accepted ($refused refused, $tempfail tempfail, $silent no reply in time, $bad other)" [ $bad -eq 0 ]
check "the milter recovered and answers from the store again" [ $refused -ge 4 ]
r=$(rcpt_reply "$(smtp $SMTPD app@app.example fine@example.com --quit-after RCPT)")
check "valid recipient accepted after recovery ($r)" grep -q '^250' <<<"$r"
echo "# the stall guard restarted the milter $restarts time(s)"
milter_up() { [ -z "$other_exit" ] && kill -0 "$MILTER_PID" 2>/dev/null; }
check "the milter is up: the same process, or restarted after its stall guard only (other exits:${other_exit:- none})" \
    milter_up
check "the milter went through its reopen-after-recovery path or its stall guard" \
    grep -rqs 'recovering after another process failed\|did not answer for' "$T/log"
