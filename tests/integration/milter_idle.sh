#!/usr/bin/env bash
# A client that pauses between commands, as SMTP lets it (RFC 5321 4.5.3.2:
# five minutes), keeps its milter connection.  Debian's libmilter runs a pool
# of workers whose controller closes, every ten minutes, each connection idle
# for longer than the milter's timeout; Postfix then answers DATA with
# 451 4.7.1.  To meet that sweep within seconds, the milter runs under
# libfaketime at 40 times the speed of the clock: a sweep every 15 s, a
# client's 5 s pause is 200 s to the milter (more than the old 30 s timeout,
# less than Postfix's smtpd_timeout).  Ports 2535-2538.
set -u
T=$(mktemp -d /tmp/bg-milter-idle.XXXXXX)
SMTPD=2535
SINK=2536
MILTER_PORT=2538
. "$TOP/tests/integration/lib.sh"
trap 'stop_all; rm -rf "$T"' EXIT
FAKETIME_LIB=$(find /usr/lib -name libfaketimeMT.so.1 2>/dev/null | head -1)
SPEED=${IDLE_SPEED:-40}
CLIENTS=${IDLE_CLIENTS:-12}
PAUSE=${IDLE_PAUSE:-5}
GAP=${IDLE_GAP:-2}

if [ -z "$FAKETIME_LIB" ]; then
    notok "libfaketime found (the faketime package; scripts/install-deps installs it)"
    exit 1
fi
# fast COMMAND...: run COMMAND (exec'd: a background job's $! is its pid)
# with a clock SPEED times as fast (an ASan build lets the preload go first)
fast() {
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
        FAKETIME="+0 x$SPEED" LD_PRELOAD=$FAKETIME_LIB exec "$@"
}

# The clock the milter will see runs $SPEED times as fast: one second of
# /proc/uptime (which libfaketime leaves alone) against time().
seen=$(fast python3 -c '
import time
up = lambda: float(open("/proc/uptime").read().split()[0])
u, t = up(), time.time()
while up() - u < 1:
    pass
print(int(time.time() - t))')
check "libfaketime speeds the clock up: 1 s of uptime is ${seen} s of time()" \
    [ "${seen:-0}" -ge $((SPEED / 2)) ]

CONF=$T/bg.conf
write_milter_conf "$CONF" check_tld=no quota_limit=1000
start_sink $SINK || { notok "smtp-sink started"; exit 1; }
start_milter "$CONF" fast || { notok "milter started: $(cat "$T/milter.out")"; exit 1; }
start_postfix $SMTPD $SINK "inet:127.0.0.1:$MILTER_PORT" || { notok "postfix started"; exit 1; }

# One SMTP transaction that waits PAUSE seconds between RCPT and DATA; prints
# the reply to the end of the message (or to DATA, if DATA is refused).
cat > "$T/slow.py" <<'EOF'
import socket, sys
import time
port, pause, n = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
s = socket.create_connection(("127.0.0.1", port), timeout=60)
f = s.makefile("rb")
def reply():
    while True:
        line = f.readline().decode()
        if line[3:4] != "-":
            return line.strip()
def cmd(c):
    s.sendall((c + "\r\n").encode())
    return reply()
reply()
cmd("EHLO client.example")
cmd("MAIL FROM:<slow@app.example>")
cmd("RCPT TO:<rcpt%s@dest.example>" % n)
time.sleep(pause)
r = cmd("DATA")
if r.startswith("354"):
    s.sendall(("Subject: idle %s\r\n\r\nidle-marker-%s\r\n.\r\n" % (n, n)).encode())
    r = reply()
print(r)
cmd("QUIT")
EOF

before=$(sink_count)
clients=()
for i in $(seq 1 $CLIENTS); do
    python3 "$T/slow.py" $SMTPD $PAUSE "$i" > "$T/client$i.out" 2>&1 &
    clients+=($!)
    sleep $GAP
done
wait "${clients[@]}"
accepted=$(cat "$T"/client*.out | grep -c '^250 ')
check "$CLIENTS clients pausing ${PAUSE} s before DATA (sweeps by libmilter every 15 s): all accepted ($accepted)" \
    [ "$accepted" = $CLIENTS ]
[ "$accepted" = $CLIENTS ] || cat "$T"/client*.out | grep -v '^250 ' | sort | uniq -c | sed 's/^/# /'
lost=$(maillog | grep -c "milter inet:127.0.0.1:$MILTER_PORT: can't")
check "Postfix never lost the milter ($lost times)" [ "$lost" = 0 ]
[ "$lost" = 0 ] || maillog | grep "milter inet" | sed -E 's/^.*(warning)/# \1/' | sort | uniq -c | head -3
wait_for 20 sink_at_least $((before + CLIENTS))
got=$(( $(sink_count) - before ))
check "every message reached the sink ($got of $CLIENTS)" [ "$got" = $CLIENTS ]
