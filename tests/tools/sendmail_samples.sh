#!/usr/bin/env bash
# sendmail_samples.sh OUTDIR — make real Sendmail 8.17 bounces and log lines
# for the test data (tests/data/dsn-families/lhost-sendmail817-*.eml and the
# log lines in tests/unit/test_mtalog.c and test_dsn.c).
#
# A private Sendmail (unpacked by scripts/install-deps, no milter) on
# 127.0.0.1:$SM_PORT relays everything to tests/tools/refusing_smtp.py on
# 127.0.0.1:$RF_PORT, which refuses recipients by their local part with the
# bare and enhanced replies of real providers (quota full, relay denied, SPF,
# RBL, user unknown with and without 5.1.1, greylisting) and keeps the bounces
# Sendmail sends back to the sender.  Sendmail's syslog lines reach a datagram
# socket of ours, /dev/log in a mount namespace of its own (as in
# tests/integration/attack_log.sh).  Temporary refusals expire after
# Timeout.queuereturn=1m.  Run as root; takes about three minutes.
#   OUTDIR/bounces/msg-N.eml   the DSNs, OUTDIR/maillog   Sendmail's log
# PIPELINING=1: the server offers PIPELINING and only the messages with
# several recipients are sent (their transcripts differ).
set -u
OUT=${1:?usage: sendmail_samples.sh OUTDIR}
TOP=$(cd "$(dirname "$0")/../.." && pwd)
SENDMAIL_ROOT=${SENDMAIL_ROOT:-/var/cache/bounceguard/sendmail/root}
SM_PORT=${SM_PORT:-2896}
RF_PORT=${RF_PORT:-2897}
sm=$SENDMAIL_ROOT/usr/libexec/sendmail/sendmail
cf=$SENDMAIL_ROOT/usr/share/sendmail/cf
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd)
T=$OUT/run
rm -rf "$T" "$OUT/bounces" && mkdir -p "$T/q" "$T/smdev" "$T/smns" "$OUT/bounces"
chmod 700 "$T/q"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done' EXIT

python3 "$TOP/tests/tools/refusing_smtp.py" "$RF_PORT" "$OUT/bounces" ${PIPELINING:+pipelining} &
pids+=($!)
python3 "$TOP/tests/tools/syslog_sink.py" "$T/smdev/log" "$OUT/maillog" &
pids+=($!)
for n in null zero random urandom; do : > "$T/smns/$n"; done
sleep 1
ln -sf "$T/smdev/log" "$T/smns/log"
cat > "$T/test.mc" <<EOC
include(\`$cf/m4/cf.m4')dnl
OSTYPE(\`linux')dnl
define(\`confDONT_PROBE_INTERFACES', \`True')dnl
define(\`QUEUE_DIR', \`$T/q')dnl
define(\`confPID_FILE', \`$T/sendmail.pid')dnl
define(\`SMART_HOST', \`[127.0.0.1]')dnl
define(\`RELAY_MAILER_ARGS', \`TCP \$h $RF_PORT')dnl
define(\`ESMTP_MAILER_ARGS', \`TCP \$h $RF_PORT')dnl
define(\`confTO_IDENT', \`0s')dnl
define(\`confTO_QUEUERETURN', \`1m')dnl
define(\`confREFUSE_LA', \`1000')dnl
define(\`confQUEUE_LA', \`1000')dnl
DAEMON_OPTIONS(\`Port=$SM_PORT, Addr=127.0.0.1, Name=MTA')dnl
FEATURE(\`no_default_msa')dnl
FEATURE(\`accept_unresolvable_domains')dnl
FEATURE(\`promiscuous_relay')dnl
MAILER(\`smtp')dnl
EOC
m4 "$T/test.mc" > "$T/test.cf" || exit 1
cat > "$T/ns.sh" <<EOC
for n in null zero random urandom; do mount --bind /dev/\$n $T/smns/\$n || exit 1; done
mount --rbind $T/smns /dev || exit 1
hostname smtest.example && exec $sm -bD -q15s -C $T/test.cf
EOC
unshare --uts --mount sh "$T/ns.sh" > "$T/sendmail.out" 2>&1 &
pids+=($!)
for _ in $(seq 600); do (exec 3<>/dev/tcp/127.0.0.1/"$SM_PORT") 2>/dev/null && break; sleep 0.1; done

# send FROM RCPT...: one message to the recipients, in one SMTP transaction
send() {
    local from=$1; shift
    python3 - "$SM_PORT" "$from" "$@" <<'PY'
import smtplib, sys
port, frm, rcpts = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
msg = ("From: <%s>\r\nTo: %s\r\nSubject: sample for bounceguard\r\n"
       "Message-ID: <%s.%s@app.customer.example>\r\n\r\nHello.\r\n"
       % (frm, ", ".join("<%s>" % r for r in rcpts), rcpts[0].split("@")[0], len(rcpts)))
with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
    s.sendmail(frm, rcpts, msg)
PY
}
want=18
if [ -n "${PIPELINING:-}" ]; then
    # refused and accepted recipients, then a refusal after DATA
    send "app@customer.example" unknown@pipe.example ok1@pipe.example quota@pipe.example \
        rbl@pipe.example
    send "app@customer.example" unknown@pipe2.example data-spam@pipe2.example
    want=3 # two bounces and the message accepted for ok1
else
for lp in quota quota-enh relay spf rbl rbl-enh unknown unknown-enh moved policy \
    data-spam data-unknown data-size data-spf; do
    send "app@customer.example" "$lp@dest.example"
done
# several recipients in one message: the transcript names each one's reply
send "app@customer.example" quota@multi.example unknown@multi.example rbl@multi.example \
    unknown-enh@multi.example
for lp in grey grey-enh full-temp; do
    send "app@customer.example" "$lp@dest.example"
done
fi
# the bounces of the permanent refusals at once, the expired ones after 1m
for _ in $(seq 300); do
    [ "$(ls "$OUT/bounces" | wc -l)" -ge "$want" ] && break
    sleep 1
done
sleep 2
ls "$OUT/bounces" | wc -l
