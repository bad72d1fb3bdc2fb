#!/usr/bin/env bash
# refusals — does bounceguard judge real provider refusals right, through a
# real Postfix and a real Sendmail, from both of its intakes?
#
# tests/data/refusals/refusals.tsv holds real refusal replies (Google,
# Microsoft, Yahoo, Comcast, Mimecast, Spamhaus-using servers, Exim, ...),
# each labelled from the provider's documentation with the decision it calls
# for: blacklist (permanent, recipient scope), incident (the relay is refused)
# or none.  A refusing sink (tests/tools/refusing_sink.py) plays each row's
# remote server on a loopback address of its own and refuses at the row's
# stage; Postfix and Sendmail route <id>@<id>.refusal.test there (a transport
# map, a mailertable), and route the sender's bounces to the sink's capture
# maildir.  One message per row goes through each MTA; then each intake of
# bounceguard-dsn is fed with what the MTA produced, into a fresh store:
#   dsn: the DSNs the MTA sent to the sender (bounceguard-dsn maildir);
#   log: the MTA's own log lines (bounceguard-dsn log; Sendmail's through a
#        private /dev/log in a mount namespace, as attack_log.sh does).
# The decision per row is read back from the store (list --json: blacklisted;
# rbl incidents --json: an incident by the row's recipient or remote server).
#
# 4xx rows: Postfix runs with maximal_queue_lifetime = 0, so a deferred
# message is returned after one attempt and its DSN (Action: failed, Status
# 4.x.x) reaches the DSN intake; Sendmail returns queued mail after 1 s
# (Timeout.queuereturn) at a queue run the test starts.  Both logs hold the
# deferral lines.  A 4xx row must never blacklist.  Postfix skips a server
# that greets with 5xx (smtp_skip_5xx_greeting, default yes, left so): its
# connect-stage 5xx rows reach bounceguard as deferrals (dsn=4.0.0) and as
# returned-mail DSNs with Status 4.0.0, as they would in production.
#
# Trust is not what this measures: the config says dsn_trust = any and
# log_trust = any, so every bounce counts without correlation.  No milter.
#
# Scores per run (MTA x intake) against FLOORS below: decision accuracy,
# wrong blacklistings (a ceiling), incidents among relay rows; plus the rows
# on which the two intakes of one MTA disagree.  FLOORS hold today's baseline
# rounded down: raise them as the classifier improves, never lower them.
# The per-row table goes to $T/refusals-report.tsv and, when
# REFUSALS_REPORT=FILE is set, to FILE.  Ports 2770-2773.
set -u
T=$(mktemp -d /tmp/bg-refusals-XXXXXX)
PF_SMTPD=2770
SM_SMTPD=2771
SINK=2772
# shellcheck disable=SC2034 # read by write_milter_conf in lib.sh; no milter runs
MILTER_PORT=2773
. "$TOP/tests/integration/lib.sh"

# run  min-accuracy  max-wrong-blacklistings  min-incidents
# The baseline of 2026-12-05 (293 rows): postfix/dsn 0.795, 1 wrong, 22
# incidents; postfix/log 0.679, 0, 14; sendmail/dsn 0.747, 8, 22;
# sendmail/log 0.645, 9, 0.  After the scope layer, the provider table,
# Sendmail's judged status and deferrals read from the log (same day):
# 0.898/1/60, 0.881/1/62, 0.898/1/61, 0.867/1/53; with more documented
# provider codes and multi-line replies read whole: 0.942/1/69, 0.922/1/70,
# 0.932/1/68, 0.908/1/62.  The one wrong blacklisting in each then (r186,
# Postfix's bare "Recipient address rejected: Access denied" at RCPT TO, an
# access map's refusal labelled unknown) is gone since 'Access denied'
# blacklists nobody; with Postfix's "host X said:" wrapper stripped before
# classifying and the providers' codes the rows showed missing (2026-12-06):
# 0.959/0/70, 0.959/0/70, 0.949/0/68, 0.952/0/68; with a provider code that
# would blame the relay yielding to the reply's own 5.1.1 or 5.3.4
# (2026-12-07): 0.966/0/70, 0.966/0/70, 0.956/0/68, 0.959/0/68; with the whole
# of a multi-line reply from Sendmail's transcript: sendmail/dsn 0.959/0/68 (its log
# shows the first line only: r286 is the one row the two Sendmail intakes part on for it).
# With the reply that Sendmail's transcript quotes for an address it gave up
# on after a 4xx (an empty Diagnostic-Code) and a Sendmail log's x.1.1 that is
# the remote's own (2026-12-07): 0.966/0/70, 0.966/0/70, 0.966/0/70,
# 0.962/0/68; with GMX's case link no longer a block list by itself,
# Microsoft's 5.7.133/5.7.134 the recipient's and Yahoo's "Excessive
# unauthenticated traffic" the sender's (same day): 0.976/0/70, 0.976/0/70,
# 0.976/0/70, 0.969/0/68.  With 100 more documented refusals (r294-r393: IONOS,
# AT&T/BellSouth, iCloud, Zoho, Coremail, NetEase, GMX/WEB.DE, MessageLabs,
# docomo, SoftBank, PEC, ...; 393 rows, 99 of them relay) before the fixes
# they showed (2026-12-07): with the first 86 (379 rows) 0.942/0/86,
# 0.942/0/86, 0.942/1/87, 0.934/2/85; with the last 14, after the first
# round of fixes, 0.972/0/93, 0.972/0/93, 0.977/0/95, 0.967/1/93; with the
# provider rows and phrases they showed missing and a
# Sendmail log's "stat=Data format error" read as MAIL FROM (same day, all
# 393): 0.977/0/95, 0.977/0/95, 0.977/0/95, 0.972/0/93.  Left: r360 ("550
# Connection refused - we hate spammers!" at the greeting) and r363 (smtpf's
# "450 ... temporary failure #120", an access map's tempfail of the client)
# say too little to tell the relay; the other misses are the first set's.
FLOORS="
postfix/dsn 0.97 0 95
postfix/log 0.97 0 95
sendmail/dsn 0.97 0 95
sendmail/log 0.97 0 93
"

TABLE=$TOP/tests/data/refusals/refusals.tsv
SINK_PY=$TOP/tests/tools/refusing_sink.py
DSN=$BIN/bounceguard-dsn
SINK_PID=
LOGSINK_PID=
cleanup() {
    [ -n "$SINK_PID" ] && kill "$SINK_PID" 2>/dev/null
    [ -n "$LOGSINK_PID" ] && kill "$LOGSINK_PID" 2>/dev/null
    stop_all
    if [ -n "${REFUSALS_KEEP:-}" ]; then echo "# kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
chmod 755 "$T"
started=$(date +%s)

python3 "$SINK_PY" --table "$TABLE" --map > "$T/map" || { notok "the table loads"; exit 1; }
rows=$(wc -l < "$T/map")
check "the table has at least 200 rows ($rows)" [ "$rows" -ge 200 ]

# start_refusing_sink DIR: the sink, its capture maildir DIR
start_refusing_sink() {
    port_is_free "$SINK" || return 1
    python3 "$SINK_PY" --table "$TABLE" --port "$SINK" --maildir "$1" > "$T/sink.out" 2>&1 &
    SINK_PID=$!
    wait_port "$SINK"
}
stop_refusing_sink() {
    [ -n "$SINK_PID" ] || return 0
    kill "$SINK_PID" 2>/dev/null
    wait "$SINK_PID" 2>/dev/null
    SINK_PID=
}

# send_rows PORT: one message per row, all in one SMTP session
send_rows() {
    python3 - "$1" "$T/map" <<'EOF'
import smtplib, sys
port, mapfile = int(sys.argv[1]), sys.argv[2]
ids = [line.split("\t")[0] for line in open(mapfile)]
s = smtplib.SMTP("127.0.0.1", port, timeout=30)
s.ehlo("app.sender.test")
refused = 0
for i in ids:
    rcpt = "%s@%s.refusal.test" % (i, i)
    msg = ("From: app@sender.test\r\nTo: %s\r\nSubject: refusal test %s\r\n"
           "Message-ID: <%s.refusal@app.sender.test>\r\n\r\nrow %s\r\n" % (rcpt, i, i, i))
    try:
        s.sendmail("app@sender.test", [rcpt], msg)
    except smtplib.SMTPException as e:
        refused += 1
        print("# the MTA refused %s: %s" % (rcpt, e), file=sys.stderr)
s.quit()
print(len(ids) - refused)
EOF
}

# intake NAME KIND INPUT: a fresh store fed by one intake; writes
# $T/NAME.list.json and $T/NAME.incidents.json
intake() {
    local name=$1 kind=$2 input=$3 conf=$T/$1.conf rc
    mkdir -p "$T/$name.log"
    write_milter_conf "$conf" check_tld=no dsn_trust=any log_trust=any
    sed -i "s|^db_home = .*|db_home = $T/$name.db|; s|^log_dir = .*|log_dir = $T/$name.log|" "$conf"
    if [ "$kind" = dsn ]; then
        "$DSN" -c "$conf" maildir "$input" > "$T/$name.out" 2>&1; rc=$?
    else
        "$DSN" -c "$conf" log "$input" --from-start > "$T/$name.out" 2>&1; rc=$?
    fi
    check "$name: bounceguard-dsn $kind exits 0 ($rc)" [ "$rc" = 0 ]
    "$BIN/bounceguard" -c "$conf" --json list > "$T/$name.list.json" 2>/dev/null
    "$BIN/bounceguard" -c "$conf" --json rbl incidents > "$T/$name.incidents.json" 2>/dev/null
}

queue_empty_pf() { postqueue -c "$T/pf/etc" -p 2>/dev/null | grep -q "Mail queue is empty"; }
# captured DIR: the DSNs to the sender in the capture maildir DIR
captured() { grep -l '^X-Sink-Rcpt: <app@sender.test>' "$1"/new/* 2>/dev/null | wc -l; }
# leaked DIR: messages for the rows that the capture took (it must not)
leaked() { grep -l '^X-Sink-Rcpt: <r[0-9]*@' "$1"/new/* 2>/dev/null | wc -l; }

# ---- Postfix -------------------------------------------------------------------
PF_MD=$T/pf-capture
if start_refusing_sink "$PF_MD" && start_postfix "$PF_SMTPD" "$SINK" ""; then
    awk -v port="$SINK" '{print $1 ".refusal.test smtp:[" $2 "]:" port}' "$T/map" > "$T/transport"
    cat >> "$T/pf/etc/main.cf" <<EOC
transport_maps = texthash:$T/transport
maximal_queue_lifetime = 0
bounce_queue_lifetime = 0
smtp_connect_timeout = 5s
default_destination_concurrency_limit = 4
EOC
    postfix -c "$T/pf/etc" reload >/dev/null 2>&1
    sleep 1
    sent=$(send_rows "$PF_SMTPD" 2> "$T/pf-send.err")
    check "postfix: accepted one message per row ($sent/$rows)" [ "${sent:-0}" = "$rows" ]
    check "postfix: delivered, bounced or returned every message (queue empty)" \
        wait_for 150 queue_empty_pf
    n5=$(grep -c "status=bounced" "$T/pf/maillog")
    nexp=$(grep -c "status=expired" "$T/pf/maillog")
    check "postfix: logged a bounce or a return for every row ($n5 bounced + $nexp expired)" \
        [ $((n5 + nexp)) -ge "$rows" ]
    check "postfix: a DSN for every row reached the sender's maildir ($(captured "$PF_MD"))" \
        wait_for 30 [ "$(captured "$PF_MD")" -ge "$rows" ]
    check "postfix: no row's message was delivered to the capture ($(leaked "$PF_MD"))" \
        [ "$(leaked "$PF_MD")" = 0 ]
    stop_postfix
    intake postfix-dsn dsn "$PF_MD"
    intake postfix-log log "$T/pf/maillog"
else
    notok "postfix and the refusing sink started"
fi
stop_refusing_sink

# ---- Sendmail ------------------------------------------------------------------
# Sendmail logs only through syslog(3): it runs in a mount namespace whose
# /dev holds null, zero, random, urandom and a log socket of ours.
SM_MD=$T/sm-capture
SM_LOG=$T/sm-maillog
SM=$SENDMAIL_ROOT/usr/libexec/sendmail/sendmail
sm_ran=no
if [ -x "$SM" ] && start_refusing_sink "$SM_MD"; then
    mkdir -p "$T/smdev" "$T/smns"
    python3 "$TOP/tests/tools/syslog_sink.py" "$T/smdev/log" "$SM_LOG" > "$T/logsink.out" 2>&1 &
    LOGSINK_PID=$!
    wait_for 5 [ -S "$T/smdev/log" ] || notok "syslog socket for Sendmail"
    for n in null zero random urandom; do : > "$T/smns/$n"; done
    ln -sf "$T/smdev/log" "$T/smns/log"
    # sm_ns.sh COMMAND...: COMMAND with our /dev and a qualified host name
    cat > "$T/sm_ns.sh" <<EOF
for n in null zero random urandom; do mount --bind /dev/\$n $T/smns/\$n || exit 1; done
mount --rbind $T/smns /dev || exit 1
hostname smtest.example && exec "\$@"
EOF
    # the mailertable: each row's domain to its own address of the sink
    awk '{print $1 ".refusal.test esmtp:[" $2 "]"}' "$T/map" > "$T/mailertable.txt"
    "$SENDMAIL_ROOT/usr/sbin/makemap" -C /dev/null hash "$T/mailertable" < "$T/mailertable.txt" 2>/dev/null ||
        notok "makemap built the mailertable"
    cat > "$T/more.m4" <<EOC
define(\`confTO_QUEUERETURN', \`1s')dnl
define(\`confTO_CONNECT', \`5s')dnl
dnl the map lives under /tmp, a world-writable path that Sendmail distrusts
define(\`confDONT_BLAME_SENDMAIL', \`MapInUnsafeDirPath')dnl
FEATURE(\`mailertable', \`hash $T/mailertable')dnl
EOC
    # start_sendmail, without the milter, with the mailertable, in the namespace
    eval "$(declare -f start_sendmail | sed \
        -e '/INPUT_MAIL_FILTER/d' \
        -e "s|unshare --uts sh -c \"hostname smtest.example \&\& exec \$sm -bD -C \$T/test.cf\"|unshare --uts --mount sh $T/sm_ns.sh \$sm -bD -C \$T/test.cf|")"
    declare -f start_sendmail | grep -q "sm_ns.sh" || notok "start_sendmail rewritten for the namespace"
    if start_sendmail "$SM_SMTPD" "$SINK" 0 "$T/more.m4"; then
        grep -q "^Kmailertable" "$T/test.cf" || notok "sendmail.cf has the mailertable"
        sm_ran=yes
        sent=$(send_rows "$SM_SMTPD" 2> "$T/sm-send.err")
        check "sendmail: accepted one message per row ($sent/$rows)" [ "${sent:-0}" = "$rows" ]
        sm_tried() { [ "$(grep -c 'to=<r[0-9]*@r[0-9]*\.refusal\.test>.*stat=' "$SM_LOG")" -ge "$rows" ]; }
        check "sendmail: tried every row (a stat= line each)" wait_for 150 sm_tried
        # mail deferred by a 4xx is returned by a queue run after 1 s
        sleep 2
        unshare --uts --mount sh "$T/sm_ns.sh" "$SM" -q -C "$T/test.cf" > "$T/sm-q.out" 2>&1
        sm_queue_empty() { [ -z "$(find "$T/q" -name 'qf*' 2>/dev/null)" ]; }
        check "sendmail: the queue run returned the deferred mail (queue empty)" wait_for 60 sm_queue_empty
        check "sendmail: a DSN for every row reached the sender's maildir ($(captured "$SM_MD"))" \
            wait_for 30 [ "$(captured "$SM_MD")" -ge "$rows" ]
        check "sendmail: no row's message was delivered to the capture ($(leaked "$SM_MD"))" \
            [ "$(leaked "$SM_MD")" = 0 ]
    fi
    [ -n "${SENDMAIL_PID:-}" ] && kill "$SENDMAIL_PID" 2>/dev/null
    sleep 1
fi
stop_refusing_sink
if [ "$sm_ran" = yes ]; then
    intake sendmail-dsn dsn "$SM_MD"
    intake sendmail-log log "$SM_LOG"
else
    echo "ok - # SKIP no private Sendmail at $SENDMAIL_ROOT (scripts/install-deps): Sendmail runs not scored"
fi

# ---- scores --------------------------------------------------------------------
python3 "$TOP/tests/tools/score_refusals.py" --table "$TABLE" --map "$T/map" --dir "$T" \
    --runs "postfix/dsn postfix/log sendmail/dsn sendmail/log" --floors "$FLOORS" --pairs \
    --report "$T/refusals-report.tsv" ${REFUSALS_REPORT:+--report "$REFUSALS_REPORT"}
echo "# refusals took $(( $(date +%s) - started )) s"
exit 0
