#!/usr/bin/env bash
# make-haraka-samples.sh — make the Haraka MTA (Node.js) write bounces on
# loopback, for lhost-haraka-01..
#
#   tests/data/dsn-families/make-haraka-samples.sh OUTDIR
#
# Needs node (>= 20) and npm with the npm registry; no root.  Not run by the
# tests: the samples it made are committed beside it (SOURCES.md says which
# is which).  Haraka $VERSION is installed with npm into a work folder (never
# globally), `haraka -i` makes its config dir, and a small plugin written here
# (bg_route) marks every connection as relaying and answers get_mx with
# 127.0.0.1:$SINK_PORT, so Haraka's outbound delivers everything — the test
# messages and the bounces it writes to their sender — to
# tests/tools/refusing_smtpd.py, which refuses by the recipient's local part
# and keeps what is sent to catch*@.  Haraka listens on 127.0.0.1:$PORT.
# outbound.ini temp_fail_intervals=5s*2: a 4xx is tried three times, then
# bounced (about 10 s).
#   01  unknown1   550 5.1.1 User unknown
#   02  full1      552 5.2.2 Mailbox full
#   03  rbl1       554 5.7.1 ... blocked using zen.spamhaus.org
#   04  bare1      550 without an enhanced code
#   05  datarej1   554 5.7.1 at the end of DATA
#   06  temp1      451 4.2.0 until the retries run out
#   07  unknown2 + full2 in one message
set -eu
OUT=$(cd "${1:?usage: $0 OUTDIR}" && pwd)
TOP=$(cd "$(dirname "$0")/../../.." && pwd)
W=${WORK:-/tmp/bg-haraka-samples}
VERSION=3.3.4
PORT=2971      # Haraka
SINK_PORT=2972 # refusing_smtpd.py
rm -rf "$W"
mkdir -p "$W/npm" "$W/caught"
(cd "$W/npm" && npm install --no-audit --no-fund --loglevel=error "Haraka@$VERSION" >/dev/null)
HARAKA=$W/npm/node_modules/.bin/haraka
C=$W/cfg
"$HARAKA" -i "$C" >/dev/null
# haraka -i leaves out the bounce templates (without them the bounce has no
# From:, To: or Subject: and no text): the package's own, as shipped
cp "$W"/npm/node_modules/Haraka/config/outbound.bounce_message* "$C/config/"

cat >"$C/config/plugins" <<EOF
bg_route
EOF
cat >"$C/config/smtp.ini" <<EOF
listen=127.0.0.1:$PORT
nodes=0
EOF
echo haraka.relay.test >"$C/config/me"
cat >"$C/config/outbound.ini" <<EOF
temp_fail_intervals=5s*2
enable_tls=false
EOF
cat >"$C/config/log.ini" <<EOF
[main]
level=info
timestamps=true
EOF
cat >"$C/plugins/bg_route.js" <<EOF
// every client on loopback may relay; every domain's MX is the sink
exports.hook_connect_init = function (next, connection) {
    connection.relaying = true
    next()
}
exports.hook_get_mx = function (next, hmail, domain) {
    next(OK, { priority: 0, exchange: '127.0.0.1', port: $SINK_PORT })
}
EOF

. "$TOP/tests/data/dsn-families/lhost-mtas.sh"   # collect
python3 "$TOP/tests/tools/refusing_smtpd.py" $SINK_PORT "$W/caught" "$W/sink.log" &
SINK=$!
(cd "$C" && exec "$HARAKA" -c "$C") >"$W/haraka.log" 2>&1 &
HPID=$!
trap 'kill $HPID $SINK 2>/dev/null; true' EXIT
for _ in $(seq 40); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 1)" 2>/dev/null && break
    sleep 0.5
done

# send NAME RCPT...: one message from catch-haraka@sink.test over SMTP
send() {
    local name=$1
    shift
    python3 - "$PORT" "$name" "$@" <<'EOF'
import smtplib, sys, time, email.utils
port, name, rcpts = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
msg = ("From: Appliance <catch-haraka@sink.test>\r\nTo: %s\r\nSubject: test for %s\r\n"
       "Message-ID: <%d.%s@haraka.relay.test>\r\nDate: %s\r\n\r\nA test message.\r\n"
       % (", ".join(rcpts), " ".join(rcpts), time.time_ns(), name,
          email.utils.formatdate(localtime=False)))
with smtplib.SMTP("127.0.0.1", port, "client.relay.test") as s:
    s.sendmail("catch-haraka@sink.test", rcpts, msg)
EOF
}

n=0
for c in unknown1 full1 rbl1 bare1 datarej1 temp1 "unknown2 full2"; do
    n=$((n + 1))
    rc=$(for a in $c; do echo "$a@remote.test"; done)
    # shellcheck disable=SC2086
    send "$(printf 'haraka-%02d' $n)" $rc
    collect "$(printf 'lhost-haraka-%02d' $n)" 40
done
kill $HPID 2>/dev/null || true
wait $HPID 2>/dev/null || true
echo "done"
