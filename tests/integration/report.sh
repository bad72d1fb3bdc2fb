#!/usr/bin/env bash
# `bounceguard report`: the HTML page from a store seeded by the real paths
# (bounceguard-dsn pipe with real DSNs, bounceguard-dsn log with MTA log
# lines dated over the last days, import, block, unblock), read as a file
# (one file, nothing it could load from outside, bars for the seeded
# reasons, hostile strings escaped) and rendered by a real browser from
# Debian: headless Chromium, whose DOM must hold the plots, and which may
# not fetch anything for the page.  A store on Redis too, when Redis is
# installed.  Ports 2830 (the proxy that records), 2831 (Redis).
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-build}
T=$(mktemp -d /tmp/bg-report.XXXXXX)
PROXY_PORT=2830 REDIS_PORT=2831
MILTER_PORT=2839 # unused: write_milter_conf names one
. "$TOP/tests/integration/lib.sh"
trap 'stop_all; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT

DSN=$BIN/bounceguard-dsn
ISEED=$BIN/tools/intake_seed
SEED=$BIN/tools/seed_store
DATA=$TOP/tests/data/intake
for p in "$BIN/bounceguard" "$DSN" "$ISEED" "$SEED"; do
    [ -x "$p" ] || { notok "$p is built"; exit 1; }
done
now=$(date +%s)
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }     # for JSON lines
logts() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%S.000000+00:00; } # for log lines
day() { date -u -d "@$1" +%Y-%m-%d; }
HOSTILE_ADDR='"<script>"@example.com'
HOSTILE_REASON='</svg><script>alert(1)'

CONF=$T/bg.conf
write_milter_conf "$CONF" check_tld=no sender_bounce_limit=2 quota_limit=3 log_trust=any
bg() { "$BIN/bounceguard" -c "$CONF" "$@"; }

# ---- usage errors --------------------------------------------------------
for a in "--days 0" "--days -3" "--days x" "--days 367" "--days" "--output" "--bogus" "extra"; do
    # shellcheck disable=SC2086
    out=$(bg report $a 2>&1); rc=$?
    check "report $a: exit 2, a line naming the argument and the usage" \
        test "$rc" = 2 -a -n "$(grep -E '^bounceguard: report: ' <<<"$out")" \
        -a -n "$(grep -E '^usage: bounceguard report ' <<<"$out")"
done
out=$(bg report --days x 2>&1)
check "--days x: the line names --days and the value" grep -q -- "--days .*'x'" <<<"$out"
out=$(bg report --output "$T/none.html" 2>&1); rc=$?
check "no store yet: exit 4 in one line" test "$rc" = 4 -a "$(wc -l <<<"$out")" = 1
check "no store yet: no file left behind" test ! -e "$T/none.html"

# ---- seed the store by the real paths ---------------------------------------
# Two real DSNs through the pipe, about messages the relay sent (correlated).
# One message per recipient, as appliances send them (dsn_intake.sh).
"$ISEED" "$T/db" message '<orig-1@app.customer.example>' 4PIPE1 192.0.2.10 \
    app@customer.example gone@remote.example
"$ISEED" "$T/db" message '<orig-1r@app.customer.example>' 4PIPE3 192.0.2.10 \
    app@customer.example listed@remote.example
pipe_in() { "$DSN" -c "$CONF" pipe --client-ip 192.0.2.25 --helo mx.remote.example \
    --sender MAILER-DAEMON --recipient app@customer.example; }
pipe_in < "$DATA/hard-5.1.1.eml"
check "pipe: a hard bounce blacklisted gone@remote.example" \
    grep -q '^blacklisted ' <("$ISEED" "$T/db" rcpt gone@remote.example)
sed 's/orig-1@/orig-1r@/' "$DATA/rbl-spamhaus.eml" | pipe_in
check "pipe: an RBL bounce made an incident" \
    grep -q '^zen.spamhaus.org ' <("$ISEED" "$T/db" incidents)

# MTA log lines over the last days: userunknown, hostunknown, suspend, and an
# RBL refusal whose text carries markup (it is an outsider's text).
L=$T/maillog
line() { # AGO_DAYS QID RCPT DSN TEXT
    echo "$(logts $((now - $1 * 86400 - 60))) relay postfix/smtp[42]: $2: to=<$3>, relay=mx.far.example[192.0.2.30]:25, delay=1, delays=0.1/0/0.4/0.5, dsn=$4, status=bounced (host mx.far.example[192.0.2.30] said: $5 (in reply to RCPT TO command))"
}
{
    for d in 1 3 3 5 8; do
        line "$d" "4UNK$d$RANDOM" "u$d-$RANDOM@far.example" 5.1.1 "550 5.1.1 User unknown"
    done
    line 2 4HOSTA1 h1@nx.example 5.1.2 "550 5.1.2 Domain not found"
    line 2 4HOSTA2 h2@nx.example 5.1.2 "550 5.1.2 Domain not found"
    line 4 4SUSPA1 s1@far.example 5.2.1 "550 5.2.1 Mailbox disabled, account suspended"
    line 6 4RBLA1 r1@far.example 5.7.1 "554 5.7.1 Service unavailable; Client host [198.51.100.1] blocked using bl.spamcop.net"
    line 1 4RBLA2 r2@far.example 5.7.1 "554 5.7.1 Service unavailable; Client host [198.51.100.1] blocked using bl.spamcop.net </svg><script>alert(2)</script>"
} > "$L"
"$DSN" -c "$CONF" log "$L" --from-start
check "log: the dated bounces were learned" \
    grep -q '^blacklisted ' <("$ISEED" "$T/db" rcpt h1@nx.example)
check "log: the RBL lines made an incident" grep -q '^bl.spamcop.net ' <("$ISEED" "$T/db" incidents)

# An import of our own format: older bounces, an expired one, a hostile
# address, reason and sender (the fields are copied as they come).
cat > "$T/import.jsonl" <<EOF
{"address": "old1@import.example", "reason": "hasmoved", "source": "dsn", "first_bounce": "$(iso $((now - 12 * 86400)))", "last_bounce": "$(iso $((now - 10 * 86400)))", "bounce_count": 3, "last_sender": "ip:192.0.2.77"}
{"address": "gone-long@import.example", "reason": "userunknown", "source": "dsn", "first_bounce": "$(iso $((now - 20 * 86400)))", "last_bounce": "$(iso $((now - 20 * 86400)))", "expires": "$(iso $((now - 6 * 86400)))", "bounce_count": 1}
{"address": "$(sed 's/"/\\"/g' <<<"$HOSTILE_ADDR")", "reason": "$HOSTILE_REASON", "source": "dsn", "first_bounce": "$(iso $((now - 7 * 86400)))", "last_bounce": "$(iso $((now - 7 * 86400)))", "bounce_count": 1, "last_sender": "env:\"</svg>\"@evil.example"}
EOF
out=$(bg import "$T/import.jsonl" 2>&1)
check "import of 3 entries ($out)" grep -q '3' <<<"$out"

# By hand: a block, and an unblock (a release in the audit trail).
bg block manual@example.org --reason 'test </svg> block' > /dev/null
check "unblock h2@nx.example" grep -q unblocked <(bg unblock h2@nx.example --reason "fixed")
# A sender that tried blacklisted recipients (blocked at 2) and one over quota.
# (the milter counts a sender's messages in its quota window as it tries them)
"$SEED" "$T/db" quota 'env:"<x>"@evil.example' 2 3 > /dev/null
"$SEED" "$T/db" tried 'env:"<x>"@evil.example' gone@remote.example h1@nx.example > /dev/null
"$SEED" "$T/db" quota ip:192.0.2.99 5 3 > /dev/null

# ---- the report as a file ------------------------------------------------------
F=$T/out/report.html
mkdir -p "$T/out"
echo "an older report" > "$F"
bg report --days 30 --output "$F"; rc=$?
check "report --days 30 --output FILE exits 0" test "$rc" = 0
check "the old report was replaced" test -z "$(grep 'an older report' "$F")"
check "one file, nothing else written beside it" test "$(ls "$T/out")" = report.html
check "it is an HTML page" grep -q '^<!DOCTYPE html>' "$F"
bg report --days 30 > "$T/stdout.html"; rc=$?
check "no --output: the page on standard output" \
    test "$rc" = 0 -a "$(grep -c '<svg' "$T/stdout.html")" -ge 3
bg report --days 30 --output - > "$T/dash.html"
check "--output -: the page on standard output" test -s "$T/dash.html"

# Nothing to load: every tag and attribute and the style sheet, parsed.
cat > "$T/inert.py" <<'EOF'
import sys
from html.parser import HTMLParser
LOADS = {"src", "href", "xlink:href", "srcset", "action", "formaction", "poster",
         "data", "background", "manifest", "ping", "codebase"}
BAD_TAGS = {"script", "iframe", "object", "embed", "link", "img", "image", "use",
            "frame", "audio", "video", "source", "base", "form", "foreignobject"}
class P(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.bad, self.tags, self.style, self.in_style = [], {}, "", False
    def handle_starttag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1
        if tag in BAD_TAGS:
            self.bad.append("tag <%s>" % tag)
        for k, v in attrs:
            if k in LOADS or k.startswith("on"):
                self.bad.append("attribute %s=%r on <%s>" % (k, v, tag))
            if k == "style":
                self.style += v or ""
        self.in_style = tag == "style"
    def handle_endtag(self, tag):
        self.in_style = False
    def handle_data(self, d):
        if self.in_style:
            self.style += d
p = P()
p.feed(open(sys.argv[1], encoding="utf-8").read())
low = p.style.lower()
for w in ("@import", "url(", "http:", "https:", "//"):
    if w in low:
        p.bad.append("style sheet has %s" % w)
print("\n".join(p.bad) if p.bad else "inert", "svg=%d" % p.tags.get("svg", 0))
EOF
out=$(python3 "$T/inert.py" "$F")
check "nothing in the page loads anything ($out)" grep -q '^inert svg=4$' <<<"$out"
check "the page forbids fetches itself (CSP default-src 'none')" \
    grep -q "Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\"" "$F"

bars() { grep -o "<rect class=\"bar\" data-series=\"$1\" data-day=\"$2\" data-count=\"[0-9]*\"" "$F" | head -1 | sed 's/.*data-count="\([0-9]*\)"/\1/'; }
check "bounces: userunknown bars, 2 on the day 3 days ago" \
    test "$(bars userunknown "$(day $((now - 3 * 86400 - 60)))")" = 2
check "bounces: hostunknown, 2 on the day 2 days ago" \
    test "$(bars hostunknown "$(day $((now - 2 * 86400 - 60)))")" = 2
check "bounces: suspend and hasmoved (first and last of the import)" \
    test -n "$(bars suspend '[0-9-]*')" -a "$(grep -c 'data-series="hasmoved"' "$F")" -ge 2
check "bounces: the DSN of today (userunknown)" \
    test -n "$(bars userunknown "$(day "$now")")"
check "released: the unblock of today" test "$(bars unblocked "$(day "$now")")" = 1
check "released: the import that expired 6 days ago" \
    test "$(bars expired "$(day $((now - 6 * 86400)))")" = 1
check "blacklisted: the block by hand of today" \
    test "$(bars 'blocked by hand' "$(day "$now")")" = 1
check "incidents: both lists in the table" \
    test -n "$(grep '<td class="bad">zen.spamhaus.org</td>' "$F")" \
    -a -n "$(grep '<td class="bad">bl.spamcop.net</td>' "$F")"
check "incidents: the delisting page of Spamhaus, as text" \
    grep -q '<code>https://check.spamhaus.org' "$F"
check "senders: the blocked one first, escaped" \
    grep -q '<tr><td class="a">env:&quot;&lt;x&gt;&quot;@evil.example</td><td class="bad">blocked</td>' "$F"
check "senders: the one over quota" grep -q '<td class="a">ip:192.0.2.99</td><td class="bad">over quota' "$F"
check "hostile address escaped in the table" \
    grep -q '<td class="a">&quot;&lt;script&gt;&quot;@example.com</td>' "$F"
check "hostile reason escaped in the bars' data and legend" \
    grep -q 'data-series="&lt;/svg&gt;&lt;script&gt;alert(1)"' "$F"
check "hostile incident text escaped" grep -q 'bl.spamcop.net &lt;/svg&gt;&lt;script&gt;alert(2)' "$F"
check "no raw <script anywhere" test -z "$(grep -i '<script' "$F")"
check "exactly 4 SVG plots open and close" \
    test "$(grep -o '<svg' "$F" | wc -l)" = 4 -a "$(grep -o '</svg>' "$F" | wc -l)" = 4

# ---- in a real browser ----------------------------------------------------------
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
    echo "ok - # SKIP no chromium installed (scripts/install-deps installs it): not rendered"
else
    # A proxy that records every request and forwards none: Chromium sends it
    # everything it would fetch, loopback included, so nothing leaves the
    # machine whatever the page holds.
    cat > "$T/proxy.py" <<'EOF'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(64)
with open(sys.argv[2], "a") as log:
    while True:
        c, _ = s.accept()
        c.settimeout(2)
        try:
            d = c.recv(300)
        except OSError:
            d = b""
        log.write(d.split(b"\r\n")[0].decode("latin-1") + "\n")
        log.flush()
        c.close()
EOF
    port_is_free "$PROXY_PORT" || { notok "port $PROXY_PORT free for the recording proxy"; exit 1; }
    python3 "$T/proxy.py" "$PROXY_PORT" "$T/proxy.log" & PIDS+=($!)
    wait_port "$PROXY_PORT"
    # browse FILE NAME ARGS...: Chromium headless on FILE (as root: no sandbox;
    # /dev/shm may be small: not used), its requests to the proxy, its network
    # events in $T/NAME.netlog.
    browse() {
        local f=$1 name=$2; shift 2
        : > "$T/proxy.log"
        HOME=$T timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu \
            --disable-dev-shm-usage --user-data-dir="$T/chrome-$name" --no-first-run \
            --disable-background-networking --disable-component-update --disable-sync \
            --disable-default-apps --disable-domain-reliability --disable-breakpad \
            --no-pings --proxy-server="http://127.0.0.1:$PROXY_PORT" \
            --proxy-bypass-list="<-loopback>" --log-net-log="$T/$name.netlog" \
            "$@" "file://$f" 2> "$T/$name.err"
    }
    # The requests made for the page: the URL requests of its network
    # partition (file://), which the browser's own (updates, sign-in) are not in.
    cat > "$T/netlog.py" <<'EOF'
import json, sys
t = open(sys.argv[1]).read().rstrip().rstrip(",")
try:
    d = json.loads(t)
except ValueError:
    d = json.loads(t + "]}")
types = {v: k for k, v in d["constants"]["logEventTypes"].items()}
for e in d.get("events", []):
    p = e.get("params", {})
    if types.get(e["type"]) == "URL_REQUEST_START_JOB" and \
            str(p.get("network_isolation_key", "")).startswith("file://"):
        print(p.get("url", ""))
EOF
    # The browser's own services: it asks them for updates and sign-in
    # whatever the flags; the proxy answers nothing, so they stay here too.
    own='^(CONNECT|POST|GET) (https?://)?[a-z0-9.-]*(google\.com|googleapis\.com|gvt1\.com)[:/]'

    # A control page that does load things: both detectors must see it.
    printf '<!DOCTYPE html><img src="http://outside.example/x.png"><link rel="stylesheet" href="https://outside.example/a.css">\n' > "$T/control.html"
    browse "$T/control.html" control --dump-dom > /dev/null
    check "control: the recording proxy sees a page's fetch" grep -q 'outside.example' "$T/proxy.log"
    check "control: the net log attributes it to the page" \
        grep -q 'outside.example' <(python3 "$T/netlog.py" "$T/control.netlog")

    browse "$F" report --dump-dom --window-size=1000,3000 > "$T/dom.html"; rc=$?
    if [ "$rc" != 0 ] || [ ! -s "$T/dom.html" ]; then
        notok "chromium rendered the report (exit $rc: $(tail -3 "$T/report.err"))"
    else
        ok "chromium rendered the report"
        check "rendered DOM: 4 SVG plots" test "$(grep -o '<svg' "$T/dom.html" | wc -l)" = 4
        check "rendered DOM: the bounce chart has its bars" \
            test "$(grep -o '<svg class="chart" id="chart-bounces"' "$T/dom.html" | wc -l)" = 1 \
            -a "$(grep -o '<rect class="bar" data-series="userunknown"' "$T/dom.html" | wc -l)" -ge 3
        check "rendered DOM: the incident timeline" grep -q 'id="incident-timeline"' "$T/dom.html"
        check "rendered DOM: no script element came to life" test -z "$(grep -i '<script' "$T/dom.html")"
        check "rendered DOM: the hostile address is text" \
            grep -q '&quot;&lt;script&gt;&quot;@example.com\|"&lt;script&gt;"@example.com' "$T/dom.html"
        page_reqs=$(python3 "$T/netlog.py" "$T/report.netlog" | grep -v '^file:' || true)
        check "net log: no request for the page but its file ($page_reqs)" test -z "$page_reqs"
        out=$(grep -Ev "$own" "$T/proxy.log" | grep . || true)
        check "proxy: no request but the browser's own services ($out)" test -z "$out"
        echo "# the browser's own requests, held at the proxy: $(grep -c . "$T/proxy.log")"
    fi
    browse "$F" shot --screenshot="$T/report.png" --window-size=1000,1400 \
        --hide-scrollbars > /dev/null
    check "a screenshot of the report (PNG)" \
        test "$(head -c 8 "$T/report.png" 2>/dev/null | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a
    [ -z "${REPORT_SHOT:-}" ] || cp "$T/report.png" "$REPORT_SHOT"
fi

# ---- on Redis ----------------------------------------------------------------------
if [ -z "$REDIS" ] || ! command -v redis-cli > /dev/null; then
    echo "ok - # SKIP no Redis (redis-tools) installed: the report on Redis not tested"
else
    port_is_free "$REDIS_PORT" && start_redis "$REDIS_PORT" || { notok "redis started"; exit 1; }
    RC=$T/redis.conf
    redis_conf "$RC" "redis_servers=127.0.0.1:$REDIS_PORT"
    bgr() { "$BIN/bounceguard" -c "$RC" "$@"; }
    bgr import "$T/import.jsonl" > /dev/null
    bgr block manual@example.org > /dev/null
    bgr unblock manual@example.org > /dev/null
    bgr report --days 30 --output "$T/redis.html"; rc=$?
    check "redis: report exits 0" test "$rc" = 0
    check "redis: the store is named Redis" grep -q 'Store: Redis <code>' "$T/redis.html"
    check "redis: bars for hasmoved and the hostile reason, escaped" \
        test -n "$(grep 'data-series="hasmoved"' "$T/redis.html")" \
        -a -n "$(grep 'data-series="&lt;/svg&gt;&lt;script&gt;alert(1)"' "$T/redis.html")"
    check "redis: the unblock is a release of today" \
        grep -q "data-series=\"unblocked\" data-day=\"$(day "$now")\" data-count=\"1\"" "$T/redis.html"
fi
