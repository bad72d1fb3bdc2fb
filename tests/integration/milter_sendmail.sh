#!/usr/bin/env bash
# bounceguard-milter behind a real, private Sendmail (INPUT_MAIL_FILTER) on
# loopback, relaying to an smtp-sink.
set -u
T=$(mktemp -d /tmp/bg-milter-sm.XXXXXX)
MILTER_PORT=2548
SMTPD=2547
SINK=2546
. "$TOP/tests/integration/lib.sh"
trap 'stop_all; rm -rf "$T"' EXIT

CONF=$T/bounceguard.conf
write_milter_conf "$CONF" "sender_identity=envelope" "quota_limit=3"
start_sink $SINK || { notok "smtp-sink started"; exit 1; }
start_milter "$CONF" || { notok "milter started: $(cat "$T/milter.out")"; exit 1; }

start_sendmail $SMTPD $SINK $MILTER_PORT || exit 1

out=$(smtp $SMTPD app@app.example good@example.com --body "sm-pass-marker")
check "Sendmail: valid mail accepted" grep -q '<-  250 2.0.0 .* Message accepted for delivery' <<<"$out"
wait_for 30 sink_has sm-pass-marker
check "Sendmail: valid mail reached the sink" sink_has sm-pass-marker

r=$(rcpt_reply "$(smtp $SMTPD app@app.example user@example.invalidtld --quit-after RCPT)")
check "Sendmail: unknown TLD refused 550 5.1.2 ($r)" grep -Eq '^550 5.1.2 (<[^>]*>\.\.\. )?Email address format is not valid.' <<<"$r"

bg block victim@example.com > /dev/null
r=$(rcpt_reply "$(smtp $SMTPD app@app.example victim@example.com --quit-after RCPT)")
check "Sendmail: recipient blocked by hand refused 550 5.7.1, saying so ($r)" \
    grep -Eq '^550 5.7.1 (<[^>]*>\.\.\. )?Email send failed. Recipient is blocked by the mail administrator.' <<<"$r"

codes=
for i in 1 2 3 4; do
    out=$(smtp $SMTPD quota@app.example "q$i@example.com" --body "smq-$i")
    if grep -q 'Message accepted for delivery' <<<"$out"; then codes="$codes ok"; else codes="$codes refused"; fi
    last=$out
done
check "Sendmail: quota 3 accepted then refused (got:$codes)" [ "$codes" = " ok ok ok refused" ]
r=$(mail_reply "$last")
check "Sendmail: over quota answered 450 4.7.1 ($r)" grep -Eq '^450 4.7.1 (<[^>]*>\.\.\. )?Your appliance exhausted email quota.' <<<"$r"
