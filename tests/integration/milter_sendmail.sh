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

SM=$SENDMAIL_ROOT/usr/libexec/sendmail/sendmail
CF=$SENDMAIL_ROOT/usr/share/sendmail/cf
if [ ! -x "$SM" ]; then
    notok "private Sendmail unpacked at $SENDMAIL_ROOT (run scripts/install-deps)"
    exit 1
fi

CONF=$T/bounceguard.conf
write_milter_conf "$CONF" "sender_identity=envelope" "quota_limit=3"
start_sink $SINK || { notok "smtp-sink started"; exit 1; }
start_milter "$CONF" || { notok "milter started: $(cat "$T/milter.out")"; exit 1; }

mkdir -p "$T/q" && chmod 700 "$T/q"
cat > "$T/test.mc" <<EOC
include(\`$CF/m4/cf.m4')dnl
OSTYPE(\`linux')dnl
define(\`confDONT_PROBE_INTERFACES', \`True')dnl
define(\`QUEUE_DIR', \`$T/q')dnl
define(\`confPID_FILE', \`$T/sendmail.pid')dnl
define(\`SMART_HOST', \`[127.0.0.1]')dnl
define(\`RELAY_MAILER_ARGS', \`TCP \$h $SINK')dnl
define(\`ESMTP_MAILER_ARGS', \`TCP \$h $SINK')dnl
define(\`confMILTER_MACROS_ENVFROM', \`i, {auth_authen}, {auth_type}')dnl
define(\`confMILTER_MACROS_EOM', \`i, {msg_id}')dnl
define(\`confTO_IDENT', \`0s')dnl
DAEMON_OPTIONS(\`Port=$SMTPD, Addr=127.0.0.1, Name=MTA, Listen=256')dnl
INPUT_MAIL_FILTER(\`bounceguard', \`S=inet:$MILTER_PORT@127.0.0.1, F=T, T=S:10s;R:10s;E:1m')dnl
FEATURE(\`no_default_msa')dnl
FEATURE(\`accept_unresolvable_domains')dnl
FEATURE(\`promiscuous_relay')dnl
MAILER(\`smtp')dnl
EOC
m4 "$T/test.mc" > "$T/test.cf" 2> "$T/m4.err" || { notok "m4 built sendmail.cf: $(cat "$T/m4.err")"; exit 1; }
unshare --uts sh -c "hostname smtest.example && exec $SM -bD -C $T/test.cf" > "$T/sendmail.out" 2>&1 &
SENDMAIL_PID=$!
PIDS+=($SENDMAIL_PID)
if ! wait_port $SMTPD 30; then
    notok "sendmail started: $(cat "$T/sendmail.out")"
    exit 1
fi

out=$(smtp $SMTPD app@app.example good@example.com --body "sm-pass-marker")
check "Sendmail: valid mail accepted" grep -q '<-  250 2.0.0 .* Message accepted for delivery' <<<"$out"
wait_for 30 sink_has sm-pass-marker
check "Sendmail: valid mail reached the sink" sink_has sm-pass-marker

r=$(rcpt_reply "$(smtp $SMTPD app@app.example user@example.invalidtld --quit-after RCPT)")
check "Sendmail: unknown TLD refused 550 5.1.2 ($r)" grep -Eq '^550 5.1.2 (<[^>]*>\.\.\. )?Email address format is not valid.' <<<"$r"

bg block victim@example.com > /dev/null
r=$(rcpt_reply "$(smtp $SMTPD app@app.example victim@example.com --quit-after RCPT)")
check "Sendmail: blacklisted recipient refused 550 5.7.1 ($r)" \
    grep -Eq '^550 5.7.1 (<[^>]*>\.\.\. )?Email send failed. Recipient is blacklisted due to bounce messages.' <<<"$r"

codes=
for i in 1 2 3 4; do
    out=$(smtp $SMTPD quota@app.example "q$i@example.com" --body "smq-$i")
    if grep -q 'Message accepted for delivery' <<<"$out"; then codes="$codes ok"; else codes="$codes refused"; fi
    last=$out
done
check "Sendmail: quota 3 accepted then refused (got:$codes)" [ "$codes" = " ok ok ok refused" ]
r=$(mail_reply "$last")
check "Sendmail: over quota answered 450 4.7.1 ($r)" grep -Eq '^450 4.7.1 (<[^>]*>\.\.\. )?Your appliance exhausted email quota.' <<<"$r"
