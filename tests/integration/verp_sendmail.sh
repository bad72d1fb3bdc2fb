#!/usr/bin/env bash
# Return-path rewriting end to end through a real, private Sendmail: the
# milter (INPUT_MAIL_FILTER) turns the envelope sender into
# bounces+TOKEN@verp.relay.test; a DSN sent back to that address is routed
# by the LOCAL_RULE_0 rule of conf/sendmail.mc to its "bounceguard" delivery
# agent, which runs `bounceguard-dsn pipe` with the envelope recipient, the
# client address and the HELO name (what an alias program is not told); the
# token is verified, the recipient blacklisted, the DSN passed on to the
# original sender; a damaged token blacklists nobody.
# Ports 2886-2888.  The milter and the delivery agent run as user nobody.
set -u
T=$(mktemp -d /tmp/bg-verp-sm.XXXXXX)
MILTER_PORT=2888
SMTPD=2887
SINK=2886
VERP_DOMAIN=verp.relay.test
. "$TOP/tests/integration/lib.sh"
SEED=$BIN/tools/intake_seed
trap 'stop_all; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT

verp_setup sender_identity=envelope

# The delivery agent passes DSNs on by SMTP here (a private Sendmail cannot
# be reached by sendmail -C as nobody); production uses /usr/sbin/sendmail.
cat > "$T/reinject.sh" <<EOS
#!/bin/sh
# called as: reinject.sh -f '' -- ORIGINAL_SENDER, the DSN on stdin
for a; do to=\$a; done
exec swaks --server 127.0.0.1:$SMTPD --from '<>' --to "\$to" --data - --silent 2
EOS
chmod 755 "$T/reinject.sh"

start_sink $SINK || { notok "smtp-sink started"; exit 1; }
start_milter "$CONF" || { notok "milter started: $(cat "$T/milter.out")"; exit 1; }

# conf/sendmail.mc's lines, with this test's paths and ports (the mailer runs
# as nobody: the programs copied where it can reach them).
open_bin
sed -n '/^dnl BEGIN VERP/,/^dnl END VERP/p' "$TOP/conf/sendmail.mc" |
    sed -e "s|/usr/local/sbin/bounceguard-dsn|$OBIN/bounceguard-dsn|" \
        -e "s|bounceguard-dsn pipe|bounceguard-dsn -c $CONF pipe --reinject=$T/reinject.sh|" \
        -e "s|U=bounceguard|U=nobody|" \
        -e "s|verp\.example\.com|$VERP_DOMAIN|g" > "$T/verp.mc"
if ! grep -q "Mbounceguard" "$T/verp.mc"; then
    notok "conf/sendmail.mc has the VERP lines between 'dnl BEGIN VERP' and 'dnl END VERP'"
    exit 1
fi
start_sendmail $SMTPD $SINK $MILTER_PORT "$T/verp.mc" || exit 1

# 1. A message from an appliance: Sendmail sends it with a VERP sender.
out=$(smtp $SMTPD app@customer.example far@remote.example.com \
    --header "Message-ID: <verp-sm-1@app.customer.example>")
check "Sendmail: the message is accepted" grep -q "Message accepted for delivery" <<<"$out"
check "Sendmail: it reaches the sink" wait_for 30 sink_has "verp-sm-1@app.customer.example"
file=$(grep -rl "verp-sm-1@app.customer.example" "$T/sink" | head -1)
rp=$(sed -n 's/^X-Mail-Args: <\([^>]*\)>.*/\1/p' "$file" | head -1)
check "Sendmail: the envelope sender seen outside is bounces+TOKEN@$VERP_DOMAIN ($rp)" \
    grep -Eq "^bounces\+[a-z2-7]+@$VERP_DOMAIN\$" <<<"$rp"

# 2. The remote server's DSN comes back to the VERP address.
verp_dsn "$rp" far@remote.example.com MARKER-SM-GOOD verp-sm-1@app.customer.example > "$T/dsn-good.eml"
swaks --server 127.0.0.1:$SMTPD --from '<>' --to "$rp" --data "$T/dsn-good.eml" \
    > "$T/swaks-dsn.out" 2>&1
check "Sendmail: the DSN to the VERP address is accepted" \
    grep -q "Message accepted for delivery" "$T/swaks-dsn.out"
is_blacklisted() { [ "$("$SEED" "$T/db" rcpt "$1" | cut -d' ' -f1)" = blacklisted ]; }
check "the delivery agent (bounceguard-dsn pipe) blacklists the recipient" \
    wait_for 30 is_blacklisted far@remote.example.com
check "... against the sender that sent the message" \
    [ "$("$SEED" "$T/db" rcpt far@remote.example.com | cut -d' ' -f3)" = env:app@customer.example ]
check "the DSN is passed on to the original sender" \
    wait_for 30 bash -c "grep -l 'MARKER-SM-GOOD' -r '$T/sink' | xargs -r grep -l '^X-Rcpt-Args: <app@customer.example>' | grep -q ."
out=$(smtp $SMTPD app@customer.example far@remote.example.com --quit-after RCPT)
check "Sendmail: the next RCPT to the recipient is refused 550 5.7.1" \
    grep -q "^550 5.7.1" <<<"$(rcpt_reply "$out")"

# 3. A forged DSN: the token has one character changed.
tok=${rp#bounces+}; tok=${tok%@*}
last=${tok: -1}; [ "$last" = a ] && new=b || new=a
bad="bounces+${tok%?}$new@$VERP_DOMAIN"
verp_dsn "$bad" victim@remote.example.com MARKER-SM-FORGED verp-sm-1@app.customer.example > "$T/dsn-forged.eml"
swaks --server 127.0.0.1:$SMTPD --from '<>' --to "$bad" --data "$T/dsn-forged.eml" \
    > "$T/swaks-forged.out" 2>&1
check "Sendmail: the forged DSN is refused at RCPT by the milter (550 5.1.1)" \
    grep -q "^<\*\* *550 5.1.1" "$T/swaks-forged.out"
check "... and logged as such" \
    wait_for 30 grep -q "Operation failed Recipient $bad: No such bounce address" "$T/log/warning.log"
check "Sendmail: the forged DSN blacklists nobody" \
    [ "$("$SEED" "$T/db" rcpt victim@remote.example.com)" = none ]
check "Sendmail: the forged DSN is not passed on" bash -c "! grep -rq MARKER-SM-FORGED '$T/sink'"
exit 0
