#!/usr/bin/env bash
# bounceguard-milter behind a real, private Postfix on loopback, relaying to
# an smtp-sink: every SMTP reply the product promises, asserted as the client
# sees it.
set -u
T=$(mktemp -d /tmp/bg-milter-pf.XXXXXX)
MILTER_PORT=2528
SMTPD=2525
SINK=2526
. "$TOP/tests/integration/lib.sh"
trap 'stop_all; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT

CONF=$T/bounceguard.conf
write_milter_conf "$CONF" "sender_identity=envelope" "quota_limit=5" \
    "sender_bounce_limit=2" "sender_override=env:conc@app.example quota_limit=10" \
    "sender_override=env:abort@app.example quota_limit=1"
start_sink $SINK || { notok "smtp-sink started"; exit 1; }
start_milter "$CONF" || { notok "milter started: $(cat "$T/milter.out")"; exit 1; }
start_postfix $SMTPD $SINK "inet:127.0.0.1:$MILTER_PORT" || { notok "postfix started"; exit 1; }

# 1. Mail that should pass reaches the sink.
out=$(smtp $SMTPD app@app.example good@example.com --body "pass-marker-1")
check "valid mail accepted at RCPT" grep -q '<-  250 2.1.5' <<<"$out"
wait_for 10 sink_has pass-marker-1
check "valid mail reached the sink" sink_has pass-marker-1

# 2. Unknown TLD and invalid syntax.
r=$(rcpt_reply "$(smtp $SMTPD app@app.example user@example.invalidtld --quit-after RCPT)")
check "unknown TLD refused 550 5.1.2 ($r)" grep -q '^550 5.1.2 Email address format is not valid.' <<<"$r"
r=$(rcpt_reply "$(smtp $SMTPD app@app.example 'a..b@example.com' --quit-after RCPT)")
check "invalid address refused 550 5.1.3 ($r)" grep -q '^550 5.1.3 Email address format is not valid.' <<<"$r"

# 3. A blacklisted recipient.
bg block victim@example.com --reason "test" > /dev/null
r=$(rcpt_reply "$(smtp $SMTPD app@app.example victim@example.com --quit-after RCPT)")
check "recipient blocked by hand refused 550 5.7.1, saying so ($r)" \
    grep -q '^550 5.7.1 Email send failed. Recipient is blocked by the mail administrator.' <<<"$r"
check "refusal logged in warning.log in the product's format" \
    grep -Eq "^\[[0-9]{2}/[A-Z][a-z]{2}/20[0-9]{2} [0-9:]+\] \{bounceguard-milter\[$MILTER_PID\]\} Operation failed Recipient victim@example.com: Email send failed.* queue ID NOQUEUE" "$T/log/warning.log"
check "the CLI's block is in warning.log too, naming the operator" \
    grep -Eq "\{bounceguard\[[0-9]+\]\} $(id -un) block victim@example.com for " "$T/log/warning.log"
check "a case variant of the address hits the same entry" \
    grep -q '^550 5.7.1' <<<"$(rcpt_reply "$(smtp $SMTPD app@app.example 'Victim@EXAMPLE.com' --quit-after RCPT)")"
r=$(rcpt_reply "$(smtp $SMTPD app@app.example postmaster@example.com --quit-after RCPT)")
bg block postmaster@example.com > /dev/null
r=$(rcpt_reply "$(smtp $SMTPD app@app.example postmaster@example.com --quit-after RCPT)")
check "postmaster@ accepted even when blacklisted ($r)" grep -q '^250' <<<"$r"

# 4. A sender that keeps trying blacklisted recipients is blocked, then released.
bg block gone1@example.com > /dev/null
bg block gone2@example.com > /dev/null
smtp $SMTPD bad@app.example gone1@example.com --quit-after RCPT > /dev/null
smtp $SMTPD bad@app.example gone2@example.com --quit-after RCPT > /dev/null
out=$(smtp $SMTPD bad@app.example fine@example.com --quit-after RCPT)
r="$(mail_reply "$out") $(rcpt_reply "$out")"
check "sender blocked after 2 distinct blacklisted recipients ($r)" \
    grep -q '550 5.7.1 Your appliance is not allowed to send emails due to too many bounced emails.' <<<"$r"
bg unblock gone1@example.com > /dev/null
r=$(rcpt_reply "$(smtp $SMTPD bad@app.example fine@example.com --quit-after RCPT)")
check "sender released when a tried recipient is unblocked ($r)" grep -q '^250' <<<"$r"

# 5. Quota edge: the 5th message passes, the 6th is refused.
codes=
for i in 1 2 3 4 5 6; do
    out=$(smtp $SMTPD quota@app.example "q$i@example.com" --body "quota-$i")
    if grep -q '<-  250 2.0.0 Ok: queued' <<<"$out"; then codes="$codes ok"; else codes="$codes refused"; fi
    last=$out
done
check "quota: 5 accepted then refused (got:$codes)" [ "$codes" = " ok ok ok ok ok refused" ]
r="$(mail_reply "$last")"
check "over quota answered 450 4.7.1 at MAIL FROM ($r)" \
    grep -q '^450 4.7.1 Your appliance exhausted email quota.' <<<"$r"

# 6. A transaction aborted before DATA gives its reservation back.
smtp $SMTPD abort@app.example a1@example.com --quit-after RCPT > /dev/null
out=$(smtp $SMTPD abort@app.example a2@example.com --body "abort-after")
check "aborted transaction gave its quota back" grep -q '<-  250 2.0.0 Ok: queued' <<<"$out"

# 7. Refused recipients do not count toward the quota.
for i in 1 2 3 4 5 6 7; do
    smtp $SMTPD refused@app.example victim@example.com --quit-after RCPT > /dev/null
done
out=$(smtp $SMTPD refused@app.example ok@example.com --body "refused-not-counted")
check "refused recipients did not use the quota" grep -q '<-  250 2.0.0 Ok: queued' <<<"$out"

# 8. Concurrency: 50 parallel sessions of one sender with quota 10.
mkdir -p "$T/conc"
for i in $(seq 1 50); do
    smtp $SMTPD conc@app.example "c$i@example.com" --body "conc-marker" > "$T/conc/$i" &
done
wait_for 120 bash -c "[ \$(grep -l -e 'Ok: queued' -e ' 4.7.1 ' $T/conc/* 2>/dev/null | wc -l) -ge 50 ]"
sleep 1
accepted=$(grep -l 'Ok: queued' "$T"/conc/* | wc -l)
check "50 parallel sessions, quota 10: exactly 10 accepted (got $accepted)" [ "$accepted" -eq 10 ]
wait_for 20 bash -c "[ \$(grep -rl conc-marker $T/sink | wc -l) -ge 10 ]"
sleep 1
delivered=$(grep -rl conc-marker "$T/sink" | wc -l)
check "exactly 10 of them reached the sink (got $delivered)" [ "$delivered" -eq 10 ]

# 9. Debug log switched at run time, without restart.
before=$(wc -l < "$T/log/debug.log" 2>/dev/null || echo 0)
bg debug on > /dev/null
sleep 2
smtp $SMTPD app@app.example dbg@example.com --quit-after RCPT > /dev/null
check "debug on: RCPT decisions appear in debug.log" grep -q 'RCPT TO <dbg@example.com>' "$T/log/debug.log"
bg debug off > /dev/null
sleep 2
n1=$(wc -l < "$T/log/debug.log")
smtp $SMTPD app@app.example dbg2@example.com --quit-after RCPT > /dev/null
n2=$(wc -l < "$T/log/debug.log")
check "debug off: nothing more in debug.log ($n1 -> $n2)" [ "$n1" -eq "$n2" ]

# 10. Reload with SIGUSR1: observe mode lets the blacklisted recipient through.
sed -i 's/^mode = .*//' "$CONF"; echo "mode = observe" >> "$CONF"
kill -USR1 "$MILTER_PID"
wait_for 5 grep -q 'reloaded' "$T/log/warning.log" "$T/milter.out"
check "a successful reload is in warning.log, tagged with the milter's pid" \
    grep -Eq "\{bounceguard-milter\[$MILTER_PID\]\} config .* reloaded" "$T/log/warning.log"
r=$(rcpt_reply "$(smtp $SMTPD app@app.example victim@example.com --quit-after RCPT)")
check "observe mode (after SIGUSR1 reload): blacklisted recipient accepted ($r)" grep -q '^250' <<<"$r"
check "observe mode logs what it would have refused" grep -q 'Observe mode: would refuse Recipient victim@example.com' "$T/log/warning.log"
echo "mode = bogus" >> "$CONF"
kill -USR1 "$MILTER_PID"
sleep 1
check "a bad reload is refused and named" grep -q 'reload refused.*mode' "$T/log/error.log"
check "the daemon survived the bad reload" kill -0 "$MILTER_PID"
sed -i 's/^mode = .*//' "$CONF"

# 11. The store failing: temporary failure, never an accept; recovery when it returns.
stop_milter
write_milter_conf "$CONF" "db_home=$T/missing/db"
start_milter "$CONF"
r=$(rcpt_reply "$(smtp $SMTPD app@app.example good2@example.com --quit-after RCPT)")
out=$(smtp $SMTPD app@app.example good2@example.com --quit-after RCPT)
check "store unavailable: tempfail, not accept ($(mail_reply "$out") / $(rcpt_reply "$out"))" \
    grep -Eq '(^| )451 4.3.0' <<<"$(mail_reply "$out") $(rcpt_reply "$out")"
mkdir -p "$T/missing"
sleep 3
r=$(rcpt_reply "$(smtp $SMTPD app@app.example good3@example.com --quit-after RCPT)")
check "store back: mail accepted again ($r)" grep -q '^250' <<<"$r"
