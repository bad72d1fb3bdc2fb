#!/usr/bin/env bash
# Return-path rewriting end to end through a real Postfix: the milter turns
# the envelope sender into bounces+TOKEN@verp.relay.test; a DSN sent back to
# that address is delivered by a pipe(8) transport to `bounceguard-dsn pipe`,
# which verifies the token, blacklists the recipient and passes the DSN on to
# the original sender; a DSN with a damaged token blacklists nobody; after
# the secret is rotated, tokens of the previous secret verify only with
# verp_previous_secret_file.
# Ports 2570-2572.  The milter and the pipe run as user nobody (pipe(8)
# refuses root), so the store and the logs belong to nobody.
set -u
T=$(mktemp -d /tmp/bg-verp-XXXXXX)
. "$TOP/tests/integration/lib.sh"
MILTER_PORT=2572
SEED=$BIN/tools/intake_seed
VERP_DOMAIN=verp.relay.test
trap 'stop_all; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT

verp_setup

# The pipe passes DSNs on by SMTP here (the private instance's sendmail -C
# is refused to non-root users); production uses /usr/sbin/sendmail.
cat > "$T/reinject.sh" <<EOF
#!/bin/sh
# called as: reinject.sh -f '' -- ORIGINAL_SENDER, the DSN on stdin
for a; do to=\$a; done
exec swaks --server 127.0.0.1:2570 --from '<>' --to "\$to" --data - --silent 2
EOF
chmod 755 "$T/reinject.sh"

start_sink 2571 || notok "sink started"
start_milter "$CONF" || notok "milter started"
start_postfix 2570 2571 "inet:127.0.0.1:$MILTER_PORT" || notok "postfix started"
# The transport of conf/postfix-master.cf, with this test's paths.
postfix_verp_transport

# 1. A message from an appliance: the relay sends it with a VERP sender.
out=$(smtp 2570 app@customer.example far@remote.example.com \
    --header "Message-ID: <verp-1@app.customer.example>")
check "the message is accepted" grep -q "<- *250.*queued" <<<"$out"
check "it reaches the sink" wait_for 20 sink_has "verp-1@app.customer.example"
file=$(grep -rl "verp-1@app.customer.example" "$T/sink" | head -1)
rp=$(sed -n 's/^X-Mail-Args: <\([^>]*\)>.*/\1/p' "$file" | head -1)
check "the envelope sender seen outside is bounces+TOKEN@$VERP_DOMAIN ($rp)" \
    grep -Eq "^bounces\+[a-z2-7]+@$VERP_DOMAIN\$" <<<"$rp"
check "the original sender is not visible in the envelope" \
    bash -c "! grep -q '^X-Mail-Args: <app@customer.example>' '$file'"

# 2. The remote server's DSN comes back to the VERP address.
verp_dsn "$rp" far@remote.example.com MARKER-GOOD verp-1@app.customer.example > "$T/dsn-good.eml"
swaks --server 127.0.0.1:2570 --from '<>' --to "$rp" --data "$T/dsn-good.eml" \
    > "$T/swaks-dsn.out" 2>&1
check "the DSN to the VERP address is accepted by Postfix" grep -q "<- *250.*queued" "$T/swaks-dsn.out"
is_blacklisted() { [ "$("$SEED" "$T/db" rcpt "$1" | cut -d' ' -f1)" = blacklisted ]; }
check "bounceguard-dsn pipe blacklists the recipient" wait_for 20 is_blacklisted far@remote.example.com
check "... against the sender that sent the message" \
    [ "$("$SEED" "$T/db" rcpt far@remote.example.com | cut -d' ' -f3)" = ip:127.0.0.1 ]
check "the pipe delivery is logged as delivered by Postfix" \
    wait_for 10 grep -q "relay=bounceguard.*status=sent" "$T/pf/maillog"
check "the DSN is passed on to the original sender" \
    wait_for 20 bash -c "grep -l 'MARKER-GOOD' -r '$T/sink' | xargs -r grep -l '^X-Rcpt-Args: <app@customer.example>' | grep -q ."
out=$(smtp 2570 app@customer.example far@remote.example.com)
check "the next RCPT to the recipient is refused 550 5.7.1" \
    grep -q "^550 5.7.1" <<<"$(rcpt_reply "$out")"

# 3. A forged DSN: the token has one character changed.
tok=${rp#bounces+}; tok=${tok%@*}
last=${tok: -1}; [ "$last" = a ] && new=b || new=a
bad="bounces+${tok%?}$new@$VERP_DOMAIN"
verp_dsn "$bad" victim@remote.example.com MARKER-FORGED verp-1@app.customer.example > "$T/dsn-forged.eml"
swaks --server 127.0.0.1:2570 --from '<>' --to "$bad" --data "$T/dsn-forged.eml" \
    > "$T/swaks-forged.out" 2>&1
check "the forged DSN is refused at RCPT by the milter (550 5.1.1)" \
    grep -q "^<\*\* *550 5.1.1.*No such bounce address" "$T/swaks-forged.out"
check "... and logged as such" \
    wait_for 20 grep -q "Operation failed Recipient $bad: No such bounce address" "$T/log/warning.log"
check "the forged DSN blacklists nobody" \
    [ "$("$SEED" "$T/db" rcpt victim@remote.example.com)" = none ]
check "the forged DSN is not passed on" bash -c "! grep -rq MARKER-FORGED '$T/sink'"

# 4. Rotating the secret.  A message signed with the old secret is on its
# way; the secret changes; its bounce comes back.
out=$(smtp 2570 app@customer.example far2@remote.example.com \
    --header "Message-ID: <verp-2@app.customer.example>")
check "a second message is accepted" wait_for 20 sink_has "verp-2@app.customer.example"
file=$(grep -rl "verp-2@app.customer.example" "$T/sink" | head -1)
rp=$(sed -n 's/^X-Mail-Args: <\([^>]*\)>.*/\1/p' "$file" | head -1)
cp -p "$T/verp.secret" "$T/verp.secret.old"
head -c 32 /dev/urandom | base64 > "$T/verp.secret"
# The milter signs with the new secret (it reads the file again when it
# changes): a message sent now has a bounce that verifies with it alone.
out=$(smtp 2570 app@customer.example far3@remote.example.com \
    --header "Message-ID: <verp-3@app.customer.example>")
check "a message after the rotation is accepted" wait_for 20 sink_has "verp-3@app.customer.example"
file=$(grep -rl "verp-3@app.customer.example" "$T/sink" | head -1)
rp3=$(sed -n 's/^X-Mail-Args: <\([^>]*\)>.*/\1/p' "$file" | head -1)
verp_dsn "$rp" far3@remote.example.com MARKER-ROTATED-3 verp-1@app.customer.example > "$T/dsn-rot3.eml"
swaks --server 127.0.0.1:2570 --from '<>' --to "$rp3" --data "$T/dsn-rot3.eml" \
    > "$T/swaks-rot3.out" 2>&1
check "... signed with the new secret: its bounce verifies with it alone" \
    wait_for 20 is_blacklisted far3@remote.example.com
# Without the previous secret, the old token no longer verifies.
verp_dsn "$rp" far2@remote.example.com MARKER-ROTATED-1 verp-1@app.customer.example > "$T/dsn-rot1.eml"
swaks --server 127.0.0.1:2570 --from '<>' --to "$rp" --data "$T/dsn-rot1.eml" \
    > "$T/swaks-rot1.out" 2>&1
check "after the rotation alone, the old token is taken for a forgery (550 5.1.1 at RCPT)" \
    grep -q "^<\*\* *550 5.1.1" "$T/swaks-rot1.out"
check "... and blacklists nobody" [ "$("$SEED" "$T/db" rcpt far2@remote.example.com)" = none ]
# With verp_previous_secret_file, it verifies again (the pipe reads the
# configuration at each delivery; the milter on SIGUSR1).
echo "verp_previous_secret_file = $T/verp.secret.old" >> "$CONF"
kill -USR1 "$MILTER_PID"
sleep 2
verp_dsn "$rp" far2@remote.example.com MARKER-ROTATED-2 verp-1@app.customer.example > "$T/dsn-rot2.eml"
swaks --server 127.0.0.1:2570 --from '<>' --to "$rp" --data "$T/dsn-rot2.eml" \
    > "$T/swaks-rot2.out" 2>&1
check "with verp_previous_secret_file, the old token verifies and the recipient is blacklisted" \
    wait_for 20 is_blacklisted far2@remote.example.com
exit 0
