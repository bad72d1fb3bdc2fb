#!/usr/bin/env bash
# correlate = queue-id against message-id (bounceguard.conf(5)), through a
# real Postfix and a real Sendmail.  With queue-id the milter negotiates the
# connect and header steps away (the client's address comes as a macro at
# MAIL) and files each message under its queue ID only; an asynchronous
# bounce from a remote MTA is matched by the relay's own Received: line in
# the headers it returns (taken here from the copy the sink received, as a
# remote would return it).  A bounce that returns only the Message-ID is
# matched with message-id and not with queue-id.  Ports 2660-2665.
set -u
T=$(mktemp -d /tmp/bg-correlate.XXXXXX)
. "$TOP/tests/integration/lib.sh"
SEED=$BIN/tools/intake_seed
MILTER_PORT=2662
trap 'stop_all; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
chmod 755 "$T"

# bounce_of SINKFILE RCPT MARKER [keep-received]: an asynchronous DSN from a
# remote MTA about the message in SINKFILE, returning its headers (all of
# them, or all but the Received: lines).
bounce_of() {
    local file=$1 rcpt=$2 marker=$3 keep=${4:-}
    cat <<EOD
From: Mail Delivery System <MAILER-DAEMON@mx.remote.example.com>
To: app@customer.example
Subject: Undelivered Mail Returned to Sender $marker
Message-ID: <dsn-$marker@mx.remote.example.com>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B-$marker"

--B-$marker
Content-Type: text/plain

$marker: your message could not be delivered to <$rcpt>.

--B-$marker
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.remote.example.com

Final-Recipient: rfc822; $rcpt
Action: failed
Status: 5.1.1
Remote-MTA: dns; store.remote.example.com
Diagnostic-Code: smtp; 550 5.1.1 <$rcpt>: Recipient address rejected: User unknown

--B-$marker
Content-Type: text/rfc822-headers

EOD
    # the message's header block as the remote received it (smtp-sink's
    # own X- lines left out), unfolded Received: lines kept or dropped
    awk -v keep="$keep" '
        /^$/ { exit }
        /^X-(Client|Helo|Mail|Rcpt)-Args:/ { skip = 1; next }
        /^[^ \t]/ { skip = (keep == "" && /^Received:/) }
        !skip { print }' "$file"
    printf -- '\n--B-%s--\n' "$marker"
}
pipe() { "$BIN/bounceguard-dsn" -c "$1" pipe --client-ip 192.0.2.25 --sender MAILER-DAEMON; }
state() { "$SEED" "$T/db" rcpt "$1" | cut -d' ' -f1; }
sender_of() { "$SEED" "$T/db" rcpt "$1" | cut -d' ' -f3; }

# run_mta NAME SMTPD: messages through the MTA, then their bounces.
run_mta() {
    local mta=$1 port=$2 q qid file
    for mode in queue-id message-id; do
        write_milter_conf "$T/$mode.conf" "correlate=$mode" "debug=yes" "check_tld=no"
    done
    # 1. queue-id: the steps left, and a message filed by queue ID
    start_milter "$T/queue-id.conf" || { notok "$mta: milter started"; return; }
    out=$(smtp "$port" app@customer.example "q1-$mta@remote.example.com" \
        --header "Message-ID: <q1-$mta@app.customer.example>")
    # Postfix: "250 2.0.0 Ok: queued as QID"; Sendmail: "250 2.0.0 QID Message accepted"
    qid=$(sed -n 's/.*queued as \([A-Za-z0-9]*\).*/\1/p;s/.*250 2\.0\.0 \([A-Za-z0-9]*\) Message accepted.*/\1/p' <<<"$out" | head -1)
    check "$mta: the message is accepted (queue ID $qid)" test -n "$qid"
    out=$(smtp "$port" app@customer.example "q2-$mta@remote.example.com" \
        --header "Message-ID: <q2-$mta@app.customer.example>")
    check "$mta: a second message is accepted" grep -q '<-  250' <<<"$out"
    check "$mta: both reach the sink" wait_for 30 sink_has "q2-$mta@app.customer.example"
    check "$mta: queue-id: the connect and header steps are negotiated away" \
        grep -q "negotiated (.*): connect step off ({client_addr} at MAIL), header step off" "$T/log/debug.log"
    file=$(grep -rl "q1-$mta@app.customer.example" "$T/sink" | head -1)
    check "$mta: the relay's Received: line names the queue ID $qid" \
        grep -q "id $qid" "$file"

    # 2. the bounce returning the headers with the Received: lines
    bounce_of "$file" "q1-$mta@remote.example.com" "Q1$mta" keep > "$T/q1.eml"
    pipe "$T/queue-id.conf" < "$T/q1.eml" > "$T/pipe.out" 2>&1
    check "$mta: queue-id: the bounce is matched by the Received: line and blacklists" \
        test "$(state "q1-$mta@remote.example.com")" = blacklisted
    check "$mta: ... against the client's address, from {client_addr} at MAIL ($(sender_of "q1-$mta@remote.example.com"))" \
        test "$(sender_of "q1-$mta@remote.example.com")" = ip:127.0.0.1

    # 3. a bounce that returns only the Message-ID: no match by queue ID
    file=$(grep -rl "q2-$mta@app.customer.example" "$T/sink" | head -1)
    bounce_of "$file" "q2-$mta@remote.example.com" "Q2$mta" > "$T/q2.eml"
    pipe "$T/queue-id.conf" < "$T/q2.eml" > "$T/pipe.out" 2>&1
    check "$mta: queue-id: a bounce without the Received: lines is not matched ($(state "q2-$mta@remote.example.com"))" \
        test "$(state "q2-$mta@remote.example.com")" != blacklisted
    stop_milter

    # 4. message-id: the header step, and the same kind of bounce matched
    start_milter "$T/message-id.conf" || { notok "$mta: milter started"; return; }
    : > "$T/log/debug.log"
    out=$(smtp "$port" app@customer.example "m1-$mta@remote.example.com" \
        --header "Message-ID: <m1-$mta@app.customer.example>")
    check "$mta: message-id: the message reaches the sink" wait_for 30 sink_has "m1-$mta@app.customer.example"
    check "$mta: message-id: the header step is kept, without replies" \
        grep -q "header step on, no reply" "$T/log/debug.log"
    file=$(grep -rl "m1-$mta@app.customer.example" "$T/sink" | head -1)
    bounce_of "$file" "m1-$mta@remote.example.com" "M1$mta" > "$T/m1.eml"
    pipe "$T/message-id.conf" < "$T/m1.eml" > "$T/pipe.out" 2>&1
    check "$mta: message-id: the bounce without Received: lines is matched by the Message-ID" \
        test "$(state "m1-$mta@remote.example.com")" = blacklisted
    stop_milter
}

start_sink 2661 || { notok "sink started"; exit 1; }
start_postfix 2660 2661 "inet:127.0.0.1:$MILTER_PORT" || { notok "postfix started"; exit 1; }
run_mta postfix 2660
stop_postfix

rm -rf "$T/db" "$T/log"
if start_sendmail 2663 2661 "$MILTER_PORT"; then
    run_mta sendmail 2663
fi
