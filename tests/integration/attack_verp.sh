#!/usr/bin/env bash
# Attacks on what a bounce may blacklist and on the quota, through a real
# Postfix with the milter, VERP and the pipe transport as INSTALL sets them
# up (issue 18, items 2 and 4):
#  - mail to the VERP domain that is not a valid bounces+TOKEN address is
#    refused at RCPT, and never learned when it reaches the pipe another way;
#  - a recipient of a message of several replays its (message-bound) token on
#    a forged DSN about a co-recipient: not believed, because the DSN does not
#    come from a host the co-recipient's domain designates (SPF or MX);
#  - a token bound to one recipient cannot blacklist another;
#  - bounces to the return path, postmaster@ and abuse@ take quota like any
#    mail; recipients per message are bounded (452 4.5.3);
#  - a flood of forged DSNs writes nothing to the store.
# Positive controls: the genuine DSN from the co-recipient's MX, and the
# bound token's own recipient, do blacklist.
# DNS: a dnsmasq on a free 127.53.x.y:53 answers for the zone test., seen by
# this script and everything it starts (Postfix, its pipe) through a private
# mount namespace whose /etc/resolv.conf names it (as spf_dns.sh does).
# Ports 2760-2762.
set -u
if [ -z "${BG_ATTACK_NS:-}" ]; then
    if ! unshare -m true 2>/dev/null; then
        echo "ok - # SKIP cannot create a mount namespace (needs root): VERP attacks not run"
        exit 0
    fi
    BG_ATTACK_NS=1 exec unshare -m --propagation private bash "$0" "$@"
fi
T=$(mktemp -d /tmp/bg-attack-verp-XXXXXX)
. "$TOP/tests/integration/lib.sh"
MILTER_PORT=2762
SMTPD=2760
SINK=2761
SEED=$BIN/tools/intake_seed
DSN=$BIN/bounceguard-dsn
VERP_DOMAIN=verp.relay.test
DPID=
trap '[ -n "$DPID" ] && kill "$DPID" 2>/dev/null; stop_all; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT

# ---- DNS: remote.test receives on mx.remote.test (127.0.0.77); spf.test
# sends from 127.0.0.88; everything else under test. does not exist.
started=0
for try in 1 2 3 4 5; do
    ADDR=127.53.$((RANDOM % 250 + 1)).$((RANDOM % 250 + 1))
    dnsmasq --keep-in-foreground --port=53 --listen-address="$ADDR" --bind-interfaces \
        --no-resolv --no-hosts --conf-file=/dev/null --user=root --group=root \
        --pid-file="$T/dnsmasq.pid" --log-facility="$T/dnsmasq.log" --log-queries \
        --mx-host=remote.test,mx.remote.test,10 --host-record=mx.remote.test,127.0.0.77 \
        "--txt-record=spf.test,v=spf1 ip4:127.0.0.88 -all" --local=/test/ \
        2> "$T/dnsmasq.err" &
    DPID=$!
    for _ in $(seq 50); do
        if ss -Hlun "src $ADDR:53" 2>/dev/null | grep -q .; then started=1; break; fi
        kill -0 "$DPID" 2>/dev/null || break
        sleep 0.1
    done
    [ $started -eq 1 ] && break
    kill "$DPID" 2>/dev/null; DPID=
done
[ $started -eq 1 ] || { notok "dnsmasq started: $(cat "$T/dnsmasq.err")"; exit 1; }
echo "nameserver $ADDR" > "$T/resolv.conf"
mount --bind "$T/resolv.conf" /etc/resolv.conf || { notok "private resolv.conf"; exit 1; }

verp_setup quota_limit=4 recipient_limit=5
cat > "$T/reinject.sh" <<EOF
#!/bin/sh
exit 0
EOF
chmod 755 "$T/reinject.sh"
start_sink $SINK || { notok "sink started"; exit 1; }
start_milter "$CONF" || { notok "milter started"; exit 1; }
start_postfix $SMTPD $SINK "inet:127.0.0.1:$MILTER_PORT" || { notok "postfix started"; exit 1; }
postfix_verp_transport "smtpd_peername_lookup = no"

state() { "$SEED" "$T/db" rcpt "$1" | cut -d' ' -f1; }
is_blacklisted() { [ "$(state "$1")" = blacklisted ]; }
# return_path MARKER: the envelope sender the sink saw for the message MARKER
return_path() {
    local f
    f=$(grep -rl -- "$1" "$T/sink" | head -1)
    sed -n 's/^X-Mail-Args: <\([^>]*\)>.*/\1/p' "$f" | head -1
}
# send_dsn FROM_IP TO ABOUT MARKER ORIG_MID: a DSN into Postfix from FROM_IP
send_dsn() {
    verp_dsn "$2" "$3" "$4" "$5" > "$T/dsn-$4.eml"
    swaks --server 127.0.0.1:$SMTPD --local-interface "$1" --from '<>' --to "$2" \
        --data "$T/dsn-$4.eml" > "$T/swaks-$4.out" 2>&1
}
# piped N: the pipe transport has run N times
piped() { [ "$(grep -c 'relay=bounceguard' "$T/pf/maillog" 2>/dev/null)" -ge "$1" ]; }

# ---- the messages of an appliance ------------------------------------------------
out=$(smtp $SMTPD app@customer.example victim@remote.test --to victim@remote.test,insider@remote.test \
    --header "Message-ID: <two@app.customer.example>" --header "X-Marker: TWO-RCPTS")
check "a message to two recipients is accepted" wait_for 20 sink_has TWO-RCPTS
rp_two=$(return_path TWO-RCPTS)
out=$(smtp $SMTPD app@customer.example solo@remote.test \
    --header "Message-ID: <solo@app.customer.example>" --header "X-Marker: ONE-RCPT")
check "a message to one recipient is accepted" wait_for 20 sink_has ONE-RCPT
rp_solo=$(return_path ONE-RCPT)
check "both went out with a VERP return path ($rp_two, $rp_solo)" \
    bash -c "[[ '$rp_two' == bounces+*@$VERP_DOMAIN && '$rp_solo' == bounces+*@$VERP_DOMAIN ]]"

# ---- 2a: anything at the VERP domain but a valid token --------------------------
n=0
for to in "postmaster@$VERP_DOMAIN" "abuse@$VERP_DOMAIN" "bounces@$VERP_DOMAIN" \
          "bounces+aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@$VERP_DOMAIN" "victim@$VERP_DOMAIN"; do
    m=FORGED-$((++n))
    send_dsn 127.0.0.1 "$to" victim@remote.test "$m" two@app.customer.example
    check "a DSN to $to is refused at RCPT (550 5.1.1)" grep -q "^<\*\* *550 5.1.1" "$T/swaks-$m.out"
done
# the same DSN reaching the pipe another way (a transport without the milter)
verp_dsn "postmaster@$VERP_DOMAIN" victim@remote.test PIPED two@app.customer.example |
    "$DSN" -c "$CONF" pipe --client-ip 127.0.0.77 --sender MAILER-DAEMON \
        --recipient "postmaster@$VERP_DOMAIN"
check "piped to postmaster@$VERP_DOMAIN: logged as forged, exit 0" \
    grep -q "Ignored forged bounce to postmaster@$VERP_DOMAIN: not a return path of ours" "$T/log/warning.log"
check "... and the victim is not blacklisted" [ "$(state victim@remote.test)" = none ]

# ---- 2b: a co-recipient replays the message-bound token ---------------------------
before=$(grep -c 'relay=bounceguard' "$T/pf/maillog")
send_dsn 127.0.0.1 "$rp_two" victim@remote.test INSIDER two@app.customer.example
check "the insider's DSN gets in (the token is genuine)" grep -q "<- *250.*queued" "$T/swaks-INSIDER.out"
check "... the pipe ran" wait_for 30 piped $((before + 1))
check "... and did not believe it: 127.0.0.1 is no host of remote.test" \
    wait_for 10 grep -q "forged or unrelated bounce for Recipient victim@remote.test.*not shown to come from the recipient's side" "$T/log/warning.log"
check "... the victim is not blacklisted" [ "$(state victim@remote.test)" = none ]
check "... the DNS server was asked" grep -q "remote.test" "$T/dnsmasq.log"

# ---- a bound token names one recipient only -------------------------------------
before=$(grep -c 'relay=bounceguard' "$T/pf/maillog")
send_dsn 127.0.0.1 "$rp_solo" victim@remote.test REPLAY solo@app.customer.example
check "a DSN about another recipient on a bound token: the pipe ran" wait_for 30 piped $((before + 1))
check "... and the victim is not blacklisted" [ "$(state victim@remote.test)" = none ]

# ---- positive controls ----------------------------------------------------------
before=$(grep -c 'relay=bounceguard' "$T/pf/maillog")
send_dsn 127.0.0.77 "$rp_two" victim@remote.test GENUINE two@app.customer.example
check "the genuine DSN from remote.test's MX (127.0.0.77) blacklists the victim" \
    wait_for 30 is_blacklisted victim@remote.test
send_dsn 127.0.0.1 "$rp_solo" solo@remote.test SOLO solo@app.customer.example
check "the DSN about the bound token's own recipient blacklists it" \
    wait_for 30 is_blacklisted solo@remote.test

# ---- 4: quota and recipients per message ----------------------------------------
# quota_limit = 4 for the client 127.0.0.99: mail to postmaster@ and abuse@
# takes quota like any other
for i in 1 2 3 4; do
    smtp $SMTPD app99@customer.example postmaster@remote.test --local-interface 127.0.0.99 \
        > "$T/quota-$i.out"
done
out=$(smtp $SMTPD app99@customer.example abuse@remote.test --local-interface 127.0.0.99)
check "mail to exempt recipients counts: the 5th message is refused 450 4.7.1" \
    grep -q "^<\*\* *450 4.7.1" <<<"$out"
check "... after four accepted" bash -c "grep -l '<- *250.*queued' $T/quota-*.out | wc -l | grep -qx 4"
# recipient_limit = 5: the 6th recipient on gets 452 4.5.3
to=$(for i in $(seq 1 8); do printf 'many%d@remote.test,' "$i"; done)
out=$(smtp $SMTPD app@customer.example "${to%,}" --local-interface 127.0.0.98)
check "8 recipients, recipient_limit 5: three get 452 4.5.3" \
    [ "$(grep -c '^<\*\* *452 4.5.3' <<<"$out")" = 3 ]
check "... and the message is accepted for the other five" grep -q "<- *250.*queued" <<<"$out"

# ---- a flood of forged DSNs writes nothing ---------------------------------------
# every table's count, as stats prints it (the log file itself is preallocated)
counts() { "$BIN/bounceguard" -c "$CONF" stats | grep -Ev '^(store|transaction log|last checkpoint|recovery estimate|cache|deadlocks) '; }
before=$(counts)
for i in $(seq 1 50); do
    sed -e "s/DSN1@/FLOOD$i@/; s/orig-1@/orig-flood-$i@/; s/gone@/flood$i@/g" \
        "$TOP/tests/data/intake/hard-5.1.1.eml" |
        "$DSN" -c "$CONF" pipe --client-ip 192.0.2.66 --sender MAILER-DAEMON \
            --recipient app@customer.example
done
after=$(counts)
check "50 forged DSNs: nothing blacklisted" [ "$(state flood7@remote.example)" = none ]
check "... and nothing was written: no record, no seen mark ($(grep 'DSNs seen' <<<"$after"))" \
    [ "$after" = "$before" ]
exit 0
