#!/usr/bin/env bash
# Prometheus metrics through a real, private Postfix on loopback: the
# milter's /metrics (metrics_listen) counts exactly the replies the SMTP
# clients saw (accepted, refused as blacklisted, bad format, unknown TLD,
# over quota), the store's part counts the bounces bounceguard-dsn learned
# and the ones it ignored as forged, `bounceguard metrics --output` writes
# the same store part atomically, promtool (Debian's prometheus package)
# finds both expositions valid, and every metric a panel of the Grafana
# dashboard (conf/grafana/bounceguard.json) queries is served.
# Ports 2800-2819.
set -u
T=$(mktemp -d /tmp/bg-metrics.XXXXXX)
MILTER_PORT=2800
SMTPD=2801
SINK=2802
METRICS=2803
. "$TOP/tests/integration/lib.sh"
trap 'stop_all; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
chmod 755 "$T"

CONF=$T/bounceguard.conf
write_milter_conf "$CONF" "sender_identity=envelope" "quota_limit=3" \
    "metrics_listen=127.0.0.1:$METRICS"
start_sink $SINK || { notok "smtp-sink started"; exit 1; }
start_milter "$CONF" || { notok "milter started: $(cat "$T/milter.out")"; exit 1; }
start_postfix $SMTPD $SINK "inet:127.0.0.1:$MILTER_PORT" || { notok "postfix started"; exit 1; }
wait_port $METRICS || { notok "metrics port open: $(cat "$T/milter.out")"; exit 1; }

scrape() { curl -sf "http://127.0.0.1:$METRICS/metrics"; }
# value NAME{LABELS} FILE: the sample's value ("" when absent)
value() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }

check "a bad metrics_listen stops the milter's start with one line" \
    bash -c "printf 'metrics_listen = localhost:1\n' > '$T/bad.conf' &&
             ! '$BIN/bounceguard-milter' -n -c '$T/bad.conf' 2> '$T/bad.err' &&
             grep -q 'metrics_listen: \"localhost:1\" has no numeric IPv4 address' '$T/bad.err' &&
             [ \$(wc -l < '$T/bad.err') -eq 1 ]"
check "/metrics answers before any mail, with every rule at 0" \
    bash -c "curl -sf http://127.0.0.1:$METRICS/metrics | grep -qx 'bounceguard_recipients_refused_total{rule=\"quota\"} 0'"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$METRICS/")
check "any other path is 404 ($code)" [ "$code" = 404 ]
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -d x "http://127.0.0.1:$METRICS/metrics")
check "a POST is refused ($code)" [ "$code" = 405 ]

# ---- traffic, counted as the clients saw it --------------------------------
queued=0 rcpt_ok=0 blacklisted=0 format=0 tld=0 quota_mail=0 other=0
tally() { # tally SWAKS-OUTPUT: count the RCPT and end-of-data replies
    local out=$1 r m
    m=$(mail_reply "$out")
    r=$(rcpt_reply "$out")
    case $m in 450\ 4.7.1*) quota_mail=$((quota_mail + 1)); return ;; esac
    case $r in
    250*) rcpt_ok=$((rcpt_ok + 1)) ;;
    "550 5.7.1 Email send failed. Recipient is"*) blacklisted=$((blacklisted + 1)) ;;
    "550 5.1.3"*) format=$((format + 1)) ;;
    "550 5.1.2"*) tld=$((tld + 1)) ;;
    *) other=$((other + 1)); echo "# unexpected reply: MAIL $m / RCPT $r" ;;
    esac
    if grep -q '<-  250 2.0.0 Ok: queued' <<<"$out"; then queued=$((queued + 1)); fi
}
for i in 1 2 3 4; do
    tally "$(smtp $SMTPD "app$i@app.example" "ok$i@example.com" --body "metrics-ok-$i")"
done
tally "$(smtp $SMTPD app@app.example dead@example.com --header 'Message-Id: <m1@app.example>')"
tally "$(smtp $SMTPD app@app.example someone@example.org --header 'Message-Id: <m2@app.example>')"
bg block victim1@example.com --reason test > /dev/null
bg block victim2@example.com --reason test > /dev/null
for v in victim1 victim2 victim1; do
    tally "$(smtp $SMTPD bl@app.example "$v@example.com" --quit-after RCPT)"
done
tally "$(smtp $SMTPD app@app.example 'a..b@example.com' --quit-after RCPT)"
tally "$(smtp $SMTPD app@app.example user@example.invalidtld --quit-after RCPT)"
tally "$(smtp $SMTPD app@app.example user2@example.invalidtld --quit-after RCPT)"
for i in 1 2 3 4 5; do
    tally "$(smtp $SMTPD quota@app.example "q$i@example.com" --body "metrics-q-$i")"
done
check "the clients saw what the test meant: 9 queued, 3 blacklisted, 1 format, 2 TLD, 2 over quota (got $queued, $blacklisted, $format, $tld, $quota_mail; $other other)" \
    [ "$queued $blacklisted $format $tld $quota_mail $other" = "9 3 1 2 2 0" ]

# ---- bounces: learned, and forged --------------------------------------------
dsn() { # dsn RCPT STATUS DIAGNOSTIC MESSAGE-ID
    cat <<EOD
From: Mail Delivery System <MAILER-DAEMON@mx.remote.example.com>
To: app@app.example
Subject: Undelivered Mail Returned to Sender
Message-ID: <dsn-$1-$4>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B-x"

--B-x
Content-Type: text/plain

Your message could not be delivered.

--B-x
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.remote.example.com

Final-Recipient: rfc822; $1
Action: failed
Status: $2
Remote-MTA: dns; mx.remote.example.com
Diagnostic-Code: smtp; $3

--B-x
Content-Type: text/rfc822-headers

From: app@app.example
To: $1
Message-ID: <$4>
Subject: bounceguard test

--B-x--
EOD
}
pipe() { "$BIN/bounceguard-dsn" -c "$CONF" pipe --client-ip 192.0.2.25 --sender MAILER-DAEMON || echo "# bounceguard-dsn pipe exited $?"; }
dsn dead@example.com 5.1.1 "550 5.1.1 <dead@example.com>: Recipient address rejected: User unknown" \
    m1@app.example | pipe
dsn someone@example.org 5.7.1 "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org" \
    m2@app.example | pipe
dsn stranger@example.com 5.1.1 "550 5.1.1 User unknown" forged@elsewhere.example | pipe
dsn stranger2@example.com 5.1.1 "550 5.1.1 User unknown" forged2@elsewhere.example | pipe
# the same DSN again counts once
dsn dead@example.com 5.1.1 "550 5.1.1 <dead@example.com>: Recipient address rejected: User unknown" \
    m1@app.example | pipe
blacklist=3 # victim1, victim2, dead

# ---- the exposition --------------------------------------------------------------
# The store's gauges are counted at most every 5 s: wait for the blacklist to show.
fresh() { scrape > "$T/metrics.txt" && [ "$(value bounceguard_blacklisted_recipients "$T/metrics.txt")" = "$blacklist" ]; }
check "the store's part caught up within 10 s" wait_for 10 fresh
M=$T/metrics.txt
# the milter counts once Postfix has had the end of message; the last one
# was answered before swaks returned, so the counters are final
got() { value "$1" "$M"; }
check "messages accepted = messages queued ($(got bounceguard_messages_accepted_total) = $queued)" \
    [ "$(got bounceguard_messages_accepted_total)" = "$queued" ]
check "recipients accepted = RCPT 250 replies ($(got bounceguard_recipients_accepted_total) = $rcpt_ok)" \
    [ "$(got bounceguard_recipients_accepted_total)" = "$rcpt_ok" ]
check "refused as blacklisted = 550 5.7.1 replies ($blacklisted)" \
    [ "$(got 'bounceguard_recipients_refused_total{rule="blacklisted"}')" = "$blacklisted" ]
check "refused for format = 550 5.1.3 replies ($format)" \
    [ "$(got 'bounceguard_recipients_refused_total{rule="format"}')" = "$format" ]
check "refused for the TLD = 550 5.1.2 replies ($tld)" \
    [ "$(got 'bounceguard_recipients_refused_total{rule="tld"}')" = "$tld" ]
check "messages refused for quota = 450 4.7.1 at MAIL FROM ($quota_mail)" \
    [ "$(got 'bounceguard_messages_refused_total{rule="quota"}')" = "$quota_mail" ]
check "tempfails = the 4xx replies ($quota_mail)" [ "$(got bounceguard_tempfails_total)" = "$quota_mail" ]
check "no store error" [ "$(got bounceguard_store_errors_total)" = 0 ]
check "one latency observation per RCPT decision" \
    [ "$(got bounceguard_rcpt_decision_seconds_count)" = "$((rcpt_ok + blacklisted + format + tld))" ]
check "the +Inf bucket holds every decision" \
    [ "$(got 'bounceguard_rcpt_decision_seconds_bucket{le="+Inf"}')" = "$(got bounceguard_rcpt_decision_seconds_count)" ]
check "blacklist size 3 (2 blocked by hand, 1 learned)" [ "$(got bounceguard_blacklisted_recipients)" = 3 ]
check "senders at quota: 1" [ "$(got bounceguard_senders_at_quota)" = 1 ]
check "bounce learned: recipient/userunknown 1 (the duplicate not counted)" \
    [ "$(got 'bounceguard_bounces_learned_total{scope="recipient",reason="userunknown"}')" = 1 ]
check "bounce learned: relay/blocked 1" \
    [ "$(got 'bounceguard_bounces_learned_total{scope="relay",reason="blocked"}')" = 1 ]
check "forged bounces ignored: 2" [ "$(got bounceguard_bounces_untrusted_total)" = 2 ]
check "incident by list: zen.spamhaus.org 1" \
    [ "$(got 'bounceguard_incident_reports{list="zen.spamhaus.org"}')" = 1 ]
check "the incident's time is now-ish" \
    [ $(( $(date +%s) - $(got 'bounceguard_incident_last_report_timestamp_seconds{list="zen.spamhaus.org"}') )) -lt 300 ]
check "the store's log size is served" [ "$(got bounceguard_store_log_bytes)" -gt 0 ]
check "the gauges say when they were counted" \
    [ $(( $(date +%s) - $(got bounceguard_store_scan_timestamp_seconds) )) -lt 60 ]
check "no address is a label value" bash -c "! grep -q '@' '$M'"

# ---- the CLI's exposition, for node_exporter's textfile collector --------------
mkdir -p "$T/textfile"
bg metrics --output "$T/textfile/bounceguard.prom"
check "bounceguard metrics --output wrote the file, nothing else beside it" \
    [ "$(ls "$T/textfile")" = bounceguard.prom ]
check "... readable by the collector (0644)" [ "$(stat -c %a "$T/textfile/bounceguard.prom")" = 644 ]
check "... with the same store counts as /metrics" \
    [ "$(value bounceguard_bounces_untrusted_total "$T/textfile/bounceguard.prom")" = 2 ] 
check "... and the same blacklist size" \
    [ "$(value bounceguard_blacklisted_recipients "$T/textfile/bounceguard.prom")" = 3 ]
check "bounceguard metrics prints the same to stdout" \
    bash -c "'$BIN/bounceguard' -c '$CONF' metrics | grep -qx 'bounceguard_senders_at_quota 1'"

PROMTOOL=${PROMTOOL:-promtool}
if command -v "$PROMTOOL" > /dev/null; then
    check "promtool check metrics: /metrics ($("$PROMTOOL" check metrics < "$M" 2>&1 | head -3 | tr '\n' ' '))" \
        bash -c "'$PROMTOOL' check metrics < '$M'"
    check "promtool check metrics: the textfile" \
        bash -c "'$PROMTOOL' check metrics < '$T/textfile/bounceguard.prom'"
else
    echo "ok - # SKIP promtool check metrics: promtool not installed (Debian package prometheus)"
    echo "ok - # SKIP promtool check metrics: the textfile"
fi

# ---- the Grafana dashboard against the real /metrics ---------------------------
DASH=$TOP/conf/grafana/bounceguard.json
missing=$(python3 - "$DASH" "$M" <<'EOP'
import json, re, sys
dash = json.load(open(sys.argv[1]))
served = set()
for line in open(sys.argv[2]):
    if line and not line.startswith('#'):
        served.add(re.split(r'[{ ]', line, 1)[0])
exprs = []
def walk(panels):
    for p in panels:
        for t in p.get('targets', []):
            if t.get('expr'):
                exprs.append((p.get('title', '?'), t['expr']))
        walk(p.get('panels', []))
walk(dash.get('panels', []))
if not exprs:
    print('no panel queries anything')
for title, e in exprs:
    for name in set(re.findall(r'\bbounceguard_[a-z0-9_]+', e)):
        if name not in served:
            print(f'{title}: {name}')
print(f'# {len(exprs)} queries', file=sys.stderr)
EOP
)
check "every metric a dashboard panel queries is served by /metrics${missing:+ (missing: $missing)}" [ -z "$missing" ]
check "the dashboard has the panels asked for (refusals, bounces, blacklist, incidents, latency)" \
    python3 -c "
import json,sys
t=' '.join(p.get('title','').lower() for p in json.load(open('$DASH'))['panels'])
sys.exit(0 if all(w in t for w in ('refus','bounce','blacklist','incident','latency')) else 1)"

# ---- a reload keeps the address --------------------------------------------------------
sed -i "s/^metrics_listen = .*/metrics_listen = 127.0.0.1:2805/" "$CONF"
kill -USR1 "$MILTER_PID"
check "a reload keeps the metrics address, saying so" wait_for 10 \
    grep -q 'metrics_listen changed to "127.0.0.1:2805": it takes effect at the next start' "$T/log/warning.log"
check "... and /metrics still answers where it did" bash -c "curl -sf http://127.0.0.1:$METRICS/metrics > /dev/null"

# ---- a clean stop -------------------------------------------------------------------
kill "$MILTER_PID"
check "the milter stops on SIGTERM with its metrics server" \
    wait_for 10 bash -c "! kill -0 $MILTER_PID 2>/dev/null"
check "the metrics port is closed after the stop" wait_port_free $METRICS
check "the milter said it stopped" grep -q 'bounceguard-milter stopping' "$T/milter.out"
MILTER_PID=

# ---- the same store counters on Redis ------------------------------------------------
# The counters live in the store's meta records, which both backends keep:
# the DSN intake's counts on a private Redis, read by `bounceguard metrics`.
if [ -z "$REDIS" ] || ! command -v redis-cli > /dev/null; then
    echo "ok - # SKIP the counters on Redis: no Redis (redis-tools) installed"
else
    RPORT=2804
    start_redis $RPORT || notok "redis started"
    RCONF=$T/redis.conf
    redis_conf "$RCONF" "redis_servers=127.0.0.1:$RPORT" "dsn_trust=any" "redis_prefix=bgm:"
    rpipe() { "$BIN/bounceguard-dsn" -c "$RCONF" pipe --client-ip 192.0.2.25 --sender MAILER-DAEMON || echo "# pipe exited $?"; }
    dsn gone@example.com 5.1.1 "550 5.1.1 User unknown" r1@app.example | rpipe
    dsn gone@example.com 5.1.1 "550 5.1.1 User unknown" r1@app.example | rpipe # duplicate
    dsn busy@example.com 4.2.2 "452 4.2.2 Mailbox full" r2@app.example | rpipe
    "$BIN/bounceguard" -c "$RCONF" block hand@example.com > /dev/null
    "$BIN/bounceguard" -c "$RCONF" metrics --output "$T/redis.prom"
    rv() { value "$1" "$T/redis.prom"; }
    check "Redis: bounce learned recipient/userunknown 1 (the duplicate not counted)" \
        [ "$(rv 'bounceguard_bounces_learned_total{scope="recipient",reason="userunknown"}')" = 1 ]
    check "Redis: a temporary bounce is counted too, by its scope" \
        [ -n "$(grep '^bounceguard_bounces_learned_total{scope="transient"' "$T/redis.prom")" ]
    check "Redis: blacklist size 2" [ "$(rv bounceguard_blacklisted_recipients)" = 2 ]
    check "Redis: no Berkeley DB log shown" bash -c "! grep -q bounceguard_store_log_bytes '$T/redis.prom'"
    if command -v "$PROMTOOL" > /dev/null; then
        check "Redis: promtool check metrics" bash -c "'$PROMTOOL' check metrics < '$T/redis.prom'"
    else
        echo "ok - # SKIP Redis: promtool check metrics: promtool not installed"
    fi
fi
