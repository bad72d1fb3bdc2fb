#!/usr/bin/env bash
# make-lhost-samples.sh — make real MTAs write bounces on loopback, for the
# lhost-exim-*, lhost-opensmtpd-*, lhost-dma-* and lhost-nullmailer-* samples.
#
#   tests/data/dsn-families/make-lhost-samples.sh OUTDIR
#
# Run as root on Debian 12.  Not run by the tests: the samples it made are
# committed beside it (SOURCES.md says which is which).  The MTAs run
# privately as lhost-mtas.sh (beside this script) says.
#
# Every MTA relays to tests/tools/refusing_smtpd.py on 127.0.0.1:2626, which
# answers RCPT by the local part (unknown*: 550 5.1.1, full*: 552 5.2.2,
# rbl*: 554 5.7.1 ... blocked using zen.spamhaus.org, bare*: 550 without an
# enhanced code, temp*: 451 4.2.0, datarej*: 554 5.7.1 at the end of DATA)
# and keeps the messages sent to catch*@ — the bounces, since each test
# message is sent from catch-MTA@sink.test.  Bounce files are written to
# OUTDIR as MTA-CASE.eml.
set -eu
OUT=$(cd "${1:?usage: $0 OUTDIR}" && pwd)
TOP=$(cd "$(dirname "$0")/../../.." && pwd)
W=${WORK:-/tmp/bg-lhost-samples}
PORT=2626
. "$TOP/tests/data/dsn-families/lhost-mtas.sh"
lhost_unpack
mkdir -p "$W/caught"

python3 "$TOP/tests/tools/refusing_smtpd.py" $PORT "$W/caught" "$W/sink.log" &
SINK=$!
PIDS=$SINK
trap 'kill $PIDS 2>/dev/null; kill -KILL $NSPIDS 2>/dev/null; true' EXIT
sleep 1

CASES="unknown1 full1 rbl1 bare1 temp1 datarej1"

# A test message to the recipients $2.. from catch-$1@sink.test, on stdout.
message() {
    local m=$1; shift
    local to
    to=$(echo "$*" | sed 's/ /, /g')
    printf 'From: Appliance <catch-%s%s@sink.test>\nTo: %s\nSubject: test for %s\nMessage-ID: <%s.%s@%s.relay.test>\nDate: %s\n\nA test message.\n' \
        "$m" "$SUFFIX" "$to" "$*" "$(date +%s%N)" "$$" "$m" "$(date -R)"
}

# After the recipient cases, each MTA sends one message from
# catch-MTA-rejectme@sink.test, which the sink refuses at MAIL FROM (553 5.7.1
# ... Sender address rejected): the bounce names the sender's address in the
# reply, never the recipient's.
SUFFIX=


# ---- Exim 4 -------------------------------------------------------------
exim_setup
n=0
for c in $CASES nosuchuser@exim.relay.test "unknown2 full2"; do
    n=$((n + 1))
    rc=$(for a in $c; do case $a in *@*) echo "$a" ;; *) echo "$a@remote.test" ;; esac; done | tr '\n' ' ')
    message exim $rc | exim_send catch-exim$SUFFIX@sink.test $rc
    collect "$(printf 'exim-%02d' $n)"
done
# exim-09 is the success report (SOURCES.md)
SUFFIX=-rejectme
message exim ok1@remote.test | exim_send catch-exim$SUFFIX@sink.test ok1@remote.test
collect exim-10
SUFFIX=

# ---- OpenSMTPD ----------------------------------------------------------
opensmtpd_start 2531
n=0
for c in $CASES "unknown2 full2"; do
    n=$((n + 1))
    rc=$(for a in $c; do echo "$a@remote.test"; done | tr '\n' ' ')
    message opensmtpd $c | opensmtpd_send catch-opensmtpd$SUFFIX@sink.test $rc
    collect "$(printf 'opensmtpd-%02d' $n)"
    # temp1: a "delayed" report first, then the expiry's "failed" one
    [ "$c" = temp1 ] && { n=$((n + 1)); collect "$(printf 'opensmtpd-%02d' $n)"; }
done
SUFFIX=-rejectme
message opensmtpd ok1@remote.test | opensmtpd_send catch-opensmtpd$SUFFIX@sink.test ok1@remote.test
collect opensmtpd-09
SUFFIX=

# ---- DragonFly Mail Agent ---------------------------------------------
dma_setup
n=0
for c in $CASES "unknown2 full2"; do
    n=$((n + 1))
    rc=$(for a in $c; do echo "$a@remote.test"; done | tr '\n' ' ')
    # dma keeps temp1 in its queue (it retries for days): no bounce
    if [ "$c" = temp1 ]; then
        message dma $rc | DMA_LINGER=5 dma_send catch-dma$SUFFIX@sink.test $rc
        continue
    fi
    message dma $rc | dma_send catch-dma$SUFFIX@sink.test $rc
    collect "$(printf 'dma-%02d' $n)"
    # two recipients: one bounce each
    [ "$c" = "unknown2 full2" ] && { n=$((n + 1)); collect "$(printf 'dma-%02d' $n)"; }
done
SUFFIX=-rejectme
message dma ok1@remote.test | dma_send catch-dma$SUFFIX@sink.test ok1@remote.test
collect dma-09
SUFFIX=

# ---- nullmailer ---------------------------------------------------------
nullmailer_setup 5
n=0
for c in $CASES sender; do
    n=$((n + 1))
    # the sender case after the recipient ones
    [ "$c" = sender ] && { SUFFIX=-rejectme; c=ok1; }
    message nullmailer "$c@remote.test" | nullmailer_send catch-nullmailer$SUFFIX@sink.test "$c@remote.test"
    nm "su -s /bin/sh mail -c 'timeout 15 /usr/sbin/nullmailer-send'" >>"$N/send.log" 2>&1 &
    collect "$(printf 'nullmailer-%02d' $n)" 20
    wait $! || true
done
SUFFIX=
# ---- Courier ------------------------------------------------------------
# No temp case (Courier retries for a week) and no unknown local user
# (refused at submission: no bounce).
courier_start
CPID=$COURIER_PID
n=0
for c in unknown1 full1 rbl1 bare1 datarej1 "unknown2 full2" sender; do
    n=$((n + 1))
    from=catch-courier@sink.test rc=
    for a in $c; do
        case $a in
        sender) rc="$rc ok1@remote.test" from=catch-courier-rejectme@sink.test ;;
        *) rc="$rc $a@remote.test" ;;
        esac
    done
    printf 'From: Appliance <%s>\nTo: %s\nSubject: test for %s\n\nA test message.\n' "$from" \
        "$(echo $rc | sed 's/ /, /g')" "$c" | courier_send "$from" $rc
    collect "$(printf 'courier-%02d' $n)"
done
# courierd and its delivery modules live in a pid namespace of their own:
# ending unshare (--kill-child) ends them all
kill -KILL "$CPID" 2>/dev/null || true
echo "done"
