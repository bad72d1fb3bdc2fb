#!/usr/bin/env bash
# Security issue 18, item 1: what a sender or a local user can put in the MTA
# log must not blacklist anybody.  Through a real private Postfix with the
# milter: Message-Id headers (logged verbatim by cleanup) and an envelope
# sender (logged by qmgr) that read like "to=<victim>, ..., status=bounced",
# and a quoted recipient holding a forged status; lines appended to the log as
# logger(1) would, for a queue ID the milter never saw and for a real one with
# a recipient it never had.  Then bounceguard-dsn log over Postfix's
# maillog_file: nobody is blacklisted.  Positive control: a real refusal by
# the "internet" of a recipient of a message that passed the milter IS
# learned from the same log, so the test can fail.  Also Sendmail, whose log
# lines come from syslog(3): a private /dev/log in a mount namespace of its
# own.  Ports 2740-2749.
set -u
T=$(mktemp -d /tmp/bg-attacklog-XXXXXX)
SMTPD=2740
SINK=2741
MILTER_PORT=2742
REFUSER=2743
SM_SMTPD=2744
. "$TOP/tests/integration/lib.sh"
DSN=$BIN/bounceguard-dsn
SEED=$BIN/tools/intake_seed
LOGSINK_PID=
cleanup() {
    [ -n "$LOGSINK_PID" ] && kill "$LOGSINK_PID" 2>/dev/null
    stop_all
    rm -rf "$T"
}
trap cleanup EXIT
chmod 755 "$T"

CONF=$T/bg.conf
write_milter_conf "$CONF" check_tld=no
state() { "$SEED" "$T/db" rcpt "$1" | cut -d' ' -f1; }
# every recipient blacklisted now, one per line
blacklisted() { "$BIN/bounceguard" -c "$CONF" list --blacklisted 2>/dev/null | grep -o '[^ ]*@[^ ]*' | sort -u; }
# raw_rcpt PORT FROM RCPT [HEADER]: one message to RCPT exactly as given (swaks
# splits --to at commas); prints the server's replies, "250 ... queued" last
raw_rcpt() {
    python3 - "$@" <<'PY'
import smtplib, sys
port, mfrom, rcpt = int(sys.argv[1]), sys.argv[2], sys.argv[3]
hdr = sys.argv[4] if len(sys.argv) > 4 else "Message-Id: <raw@app.customer.example>"
s = smtplib.SMTP("127.0.0.1", port, timeout=20)
s.ehlo("app.customer.example")
print(*s.docmd("MAIL FROM:<%s>" % mfrom))
code, msg = s.docmd("RCPT TO:<%s>" % rcpt)
print(code, msg.decode(errors="replace"))
if code == 250:
    code, msg = s.data(("From: <%s>\r\nTo: x@good.example\r\n%s\r\nSubject: quoted\r\n\r\nhi\r\n" % (mfrom, hdr)).encode())
    print(code, msg.decode(errors="replace"))
s.quit()
PY
}
ts() { date -u +%Y-%m-%dT%H:%M:%S.000000+00:00; }
FORGED_TAIL='relay=mx.victim.example[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, status=bounced (host mx.victim.example[192.0.2.1] said: 550 5.1.1 User unknown (in reply to RCPT TO command))'

start_sink "$SINK" || notok "sink started"
# "the internet" for bad.example.com refuses every RCPT
smtp-sink -u postfix -f RCPT -B "550 5.1.1 No such user here" 127.0.0.1:"$REFUSER" 64 \
    > "$T/refuser.log" 2>&1 &
PIDS+=($!)
wait_port "$REFUSER" || notok "refusing sink started"
start_milter "$CONF" || notok "milter started"
start_postfix "$SMTPD" "$SINK" "inet:127.0.0.1:$MILTER_PORT" || notok "postfix started"
echo "transport_maps = inline:{bad.example.com=smtp:[127.0.0.1]:$REFUSER}" >> "$T/pf/etc/main.cf"
postfix -c "$T/pf/etc" reload >/dev/null 2>&1
sleep 1
L=$T/pf/maillog

# ---- attacks through SMTP ------------------------------------------------------
# 1. one message with ten forged Message-Id headers (cleanup logs the first)
hdrs=(--header "Message-Id: <i0@x>, to=<victim0@example.net>, $FORGED_TAIL")
for i in 1 2 3 4 5 6 7 8 9; do
    hdrs+=(--add-header "Message-Id: <i$i@x>, to=<victim$i@example.net>, $FORGED_TAIL")
done
out=$(smtp "$SMTPD" app@customer.example ok1@good.example "${hdrs[@]}")
check "a message with ten forged Message-Id headers is accepted" grep -q "<- *250.*queued" <<<"$out"
# 2. a header that carries from= (and a to= after it), and an envelope sender
# whose quoted local part reads like a delivery record (qmgr logs from=<...>)
out=$(smtp "$SMTPD" app@customer.example ok2@good.example \
    --header "Message-Id: <m2@x>, from=<victimf@example.net>, to=<victimf@example.net>, $FORGED_TAIL")
check "a message with a forged from= in its Message-Id is accepted" grep -q "<- *250.*queued" <<<"$out"
out=$(smtp "$SMTPD" "\"x>, to=<victims@example.net>, $FORGED_TAIL\"@customer.example" ok3@good.example)
check "a message with a forged envelope sender is accepted" grep -q "<- *250.*queued" <<<"$out"
# 3. a quoted recipient that closes to=<...> early and forges the rest (the
# milter takes local parts of up to 64 octets: this one has 62); the parser
# before issue 18 read it as to=<victimq@example.net>, status=bounced
QUOTED='"v@e>, to=<victimq@example.net>, dsn=5.1.1, status=bounced (x"@good.example'
out=$(raw_rcpt "$SMTPD" app@customer.example "$QUOTED" 2>&1)
check "a message to a quoted recipient holding a forged status is accepted" \
    grep -q "^250.*queued" <<<"$out"
# the positive control: a real refusal of a recipient of a message that
# passed the milter
out=$(smtp "$SMTPD" app@customer.example user@bad.example.com)
check "control: a message to user@bad.example.com is accepted" grep -q "<- *250.*queued" <<<"$out"

check "control: the remote refusal is logged as status=bounced" \
    wait_for 30 grep -q "postfix/smtp\[[0-9]*\]: [0-9A-F]*: to=<user@bad.example.com>.*status=bounced" "$L"
check "the forged Message-Id reached the log as cleanup's message-id=<i0@x>, to=<victim0@..." \
    wait_for 10 grep -q "postfix/cleanup\[[0-9]*\]: [0-9A-F]*: message-id=<i0@x>, to=<victim0@example.net>, .*status=bounced" "$L"
check "the forged from= reached the log through cleanup" \
    grep -q "message-id=<m2@x>, from=<victimf@example.net>, to=<victimf@example.net>, .*status=bounced" "$L"
check "the forged envelope sender reached the log through qmgr" \
    wait_for 10 grep -q "postfix/qmgr\[[0-9]*\]: [0-9A-F]*: from=<\"x>, to=<victims@example.net>, .*status=bounced" "$L"
check "the quoted recipient reached the log as to=<\"v@e>, to=<victimq@example.net>, ... status=bounced (x\"@good.example>, ... status=sent" \
    wait_for 20 grep -qF "to=<$QUOTED>, relay=127.0.0.1[127.0.0.1]:$SINK," "$L"

# ---- attacks by a local user who can write the log ------------------------------
# 4. a delivery record for a queue ID the milter never recorded
echo "$(ts) relay.test.example postfix/smtp[4242]: 4FAKEQID1: to=<victiml@example.net>, $FORGED_TAIL" >> "$L"
# 5. the queue ID of a real, recorded message, a recipient it never had
real_qid=$(sed -n 's/.*postfix\/smtp\[[0-9]*\]: \([0-9A-F]*\): to=<ok1@good.example>.*/\1/p' "$L" | head -1)
check "the queue ID of a recorded message was found in the log ($real_qid)" [ -n "$real_qid" ]
echo "$(ts) relay.test.example postfix/smtp[4242]: $real_qid: to=<victimr@example.net>, $FORGED_TAIL" >> "$L"
# 6. look-alike tags with a real queue ID and recipient
for tag in postfix/cleanup postfix-evil/smtp xpostfix/smtp postfix/smtpd; do
    echo "$(ts) relay.test.example $tag[4242]: $real_qid: to=<ok1@good.example>, $FORGED_TAIL" >> "$L"
done
echo "$(ts) relay.test.example logger: postfix/smtp[4242]: $real_qid: to=<ok1@good.example>, $FORGED_TAIL" >> "$L"

"$DSN" -c "$CONF" log "$L" --from-start; rc=$?
check "bounceguard-dsn log over Postfix's maillog exits 0 ($rc)" [ "$rc" = 0 ]
check "control: the real refusal IS blacklisted from the log" \
    [ "$(state user@bad.example.com)" = blacklisted ]
for i in 0 1 2 3 4 5 6 7 8 9; do
    [ "$(state "victim$i@example.net")" = none ] || notok "victim$i@example.net blacklisted by a forged Message-Id"
done
check "none of the ten forged Message-Id victims is blacklisted" \
    bash -c "! grep -q '^victim[0-9]@' <<<'$(blacklisted)'"
check "the forged from= victim is not blacklisted" [ "$(state victimf@example.net)" = none ]
check "the forged envelope sender's victim is not blacklisted" [ "$(state victims@example.net)" = none ]
check "the quoted recipient's forged victim is not blacklisted" [ "$(state victimq@example.net)" = none ]
check "a logger line with an unknown queue ID blacklists nobody" [ "$(state victiml@example.net)" = none ]
check "... and is logged as ignored, no message recorded by the milter" \
    grep -q "Ignored bounce in log line of postfix/smtp 4FAKEQID1 for Recipient victiml@example.net.*no message recorded by the milter" "$T/log/warning.log"
check "a logger line with a real queue ID but another recipient blacklists nobody" \
    [ "$(state victimr@example.net)" = none ]
check "... and is logged as ignored, not a recipient of the recorded message" \
    grep -q "Ignored bounce in log line of postfix/smtp $real_qid for Recipient victimr@example.net.*not a recipient" "$T/log/warning.log"
check "look-alike tags (postfix/cleanup, postfix-evil/smtp, xpostfix/smtp, postfix/smtpd, logger:) blacklist nobody" \
    [ "$(state ok1@good.example)" = none ]
all=$(blacklisted | tr '\n' ' ')
check "nothing but the control is blacklisted (${all% })" [ "${all% }" = user@bad.example.com ]

# log_trust = any takes an unrecorded line (the choice is the admin's)
ANY=$T/any.conf
write_milter_conf "$ANY" check_tld=no log_trust=any
sed -i "s|^db_home = .*|db_home = $T/db-any|" "$ANY"
echo "$(ts) relay.test.example postfix/smtp[4242]: 4FAKEQID2: to=<unrecorded@example.net>, $FORGED_TAIL" > "$T/any.log"
echo "$(ts) relay.test.example postfix/cleanup[4242]: 4FAKEQID2: message-id=<i@x>, to=<cleanup@example.net>, $FORGED_TAIL" >> "$T/any.log"
"$DSN" -c "$ANY" log "$T/any.log" --from-start
check "log_trust = any: a delivery record without a recorded message blacklists" \
    [ "$("$SEED" "$T/db-any" rcpt unrecorded@example.net | cut -d' ' -f1)" = blacklisted ]
check "log_trust = any: a cleanup line still blacklists nobody" \
    [ "$("$SEED" "$T/db-any" rcpt cleanup@example.net | cut -d' ' -f1)" = none ]

# ---- postlog(1): can an unprivileged user write a postfix/smtp tag? ------------
# Informational: what INSTALL says about maillog_file rests on it.
before=$(wc -l < "$L")
setpriv --reuid=nobody --regid=nogroup --clear-groups \
    postlog -c "$T/pf/etc" -t postfix/smtp "4POSTLOG1: to=<plv@example.net>, $FORGED_TAIL" \
    > "$T/postlog.out" 2>&1
pl_rc=$?
sleep 1
if grep -q "4POSTLOG1" "$L"; then
    echo "# postlog as nobody wrote: $(grep 4POSTLOG1 "$L" | cut -c1-120)"
else
    echo "# postlog as nobody (exit $pl_rc) wrote nothing to maillog_file (postlog: $(stat -c %A "$(command -v postlog)"))"
fi
"$DSN" -c "$CONF" log "$L"
check "a postlog line from user nobody blacklists nobody" [ "$(state plv@example.net)" = none ]
stop_postfix

# ---- Sendmail ------------------------------------------------------------------
# Sendmail logs only through syslog(3) to /dev/log.  It runs in a mount
# namespace whose /dev holds null, zero, random, urandom and a log socket of
# ours; a small reader turns the datagrams into syslog file lines.
SM_LOG=$T/sm-maillog
mkdir -p "$T/smdev"
python3 "$TOP/tests/tools/syslog_sink.py" "$T/smdev/log" "$SM_LOG" > "$T/logsink.out" 2>&1 &
LOGSINK_PID=$!
wait_for 5 [ -S "$T/smdev/log" ] || notok "syslog socket for Sendmail"
# sm_ns.sh SENDMAIL CF: run in a new mount namespace: /dev becomes a directory
# of our own with the devices Sendmail needs and our log socket as /dev/log
d=$T/smns
mkdir -p "$d"
for n in null zero random urandom; do : > "$d/$n"; done
ln -sf "$T/smdev/log" "$d/log"
cat > "$T/sm_ns.sh" <<EOF
for n in null zero random urandom; do mount --bind /dev/\$n $d/\$n || exit 1; done
mount --rbind $d /dev || exit 1
hostname smtest.example && exec "\$1" -bD -C "\$2"
EOF
SM_CONF=$T/sm.conf
write_milter_conf "$SM_CONF" check_tld=no
sed -i "s|^db_home = .*|db_home = $T/db-sm|; s|^log_dir = .*|log_dir = $T/log-sm|" "$SM_CONF"
mkdir -p "$T/log-sm"
stop_milter
start_milter "$SM_CONF" || notok "milter for Sendmail started"
if [ -x "$SENDMAIL_ROOT/usr/libexec/sendmail/sendmail" ]; then
    # start_sendmail, its unshare line running sm_ns.sh in a mount namespace
    eval "$(declare -f start_sendmail | sed \
        -e "s|unshare --uts sh -c \"hostname smtest.example \&\& exec \$sm -bD -C \$T/test.cf\"|unshare --uts --mount sh $T/sm_ns.sh \$sm \$T/test.cf|")"
    declare -f start_sendmail | grep -q "sm_ns.sh" || notok "start_sendmail rewritten for the namespace"
    # Sendmail's smart host is the refusing sink: every delivery is a real
    # 550 5.1.1, the positive control for the recipients it was sent to
    if start_sendmail "$SM_SMTPD" "$REFUSER" "$MILTER_PORT"; then
        out=$(smtp "$SM_SMTPD" app@customer.example smok@good.example \
            --header "Message-Id: <sm1@x>, to=<smvictim@example.net>, dsn=5.1.1, stat=User unknown")
        check "sendmail: a message with a forged Message-Id (msgid=) is accepted" \
            grep -q "<- *250" <<<"$out"
        SM_QUOTED='"v@e>, to=<smquoted@example.net>, dsn=5.1.1, stat=User unknown"@good.example'
        out=$(raw_rcpt "$SM_SMTPD" app@customer.example "$SM_QUOTED" 2>&1)
        check "sendmail: a message to a quoted recipient holding a forged stat is accepted" \
            grep -q "^250.*accepted" <<<"$out"
        check "sendmail: its delivery lines (the real refusal) reach our syslog socket" \
            wait_for 30 grep -Eq "(sm-mta|sendmail)\[[0-9]+\]: [0-9A-Za-z]+: to=<smok@good.example>,.*dsn=5" "$SM_LOG"
        check "sendmail: the forged Message-Id reached the log as msgid=<sm1@x>, to=<smvictim..." \
            grep -q "msgid=<sm1@x>, to=<smvictim@example.net>" "$SM_LOG"
        check "sendmail: the quoted recipient reached the log as to=<\"v@e>, to=<smquoted@...>, dsn=5.1.1, stat=...\"@good.example>" \
            wait_for 20 grep -qF "to=<$SM_QUOTED>, " "$SM_LOG"
        sm_qid=$(sed -En 's/.*(sm-mta|sendmail)\[[0-9]+\]: ([0-9A-Za-z]+): to=<smok@good.example>.*/\2/p' "$SM_LOG" | head -1)
        echo "$(date '+%b %e %H:%M:%S') smtest sm-mta[77]: $sm_qid: to=<smforged@example.net>, delay=00:00:01, mailer=esmtp, pri=1, relay=mx. [192.0.2.1], dsn=5.1.1, stat=User unknown" >> "$SM_LOG"
        "$DSN" -c "$SM_CONF" log "$SM_LOG" --from-start; rc=$?
        check "sendmail: bounceguard-dsn log over its log exits 0 ($rc)" [ "$rc" = 0 ]
        check "sendmail: the forged msgid= victim is not blacklisted" \
            [ "$("$SEED" "$T/db-sm" rcpt smvictim@example.net | cut -d' ' -f1)" = none ]
        check "sendmail: the quoted recipient's forged victim is not blacklisted" \
            [ "$("$SEED" "$T/db-sm" rcpt smquoted@example.net | cut -d' ' -f1)" = none ]
        check "sendmail: a forged line with a real queue ID ($sm_qid) and another recipient blacklists nobody" \
            [ "$("$SEED" "$T/db-sm" rcpt smforged@example.net | cut -d' ' -f1)" = none ]
        check "sendmail control: the real refusal of the recorded recipient IS blacklisted" \
            [ "$("$SEED" "$T/db-sm" rcpt smok@good.example | cut -d' ' -f1)" = blacklisted ]
    fi
else
    echo "# sendmail not unpacked at $SENDMAIL_ROOT: Sendmail part skipped"
fi
exit 0
