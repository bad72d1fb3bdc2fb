#!/usr/bin/env bash
# `bounceguard relay-test` against a real, private Postfix on loopback, once
# configured closed (the test client is not in mynetworks) and once open
# (smtpd_relay_restrictions = permit); then against small hostile fake
# servers (control characters, endless lines, silence) to check that server
# text is sanitised and every wait is bounded.  Ports 2631-2639.
set -u
T=$(mktemp -d /tmp/bg-relaytest.XXXXXX)
SMTPD=2631
UNUSED=2632 # relayhost: nothing listens (no message is ever sent)
FAKE=2633
. "$TOP/tests/integration/lib.sh"
trap 'stop_all; rm -rf "$T"' EXIT

CONF=$T/bounceguard.conf
: > "$CONF"

# relay_postfix "RESTRICTIONS" "MYNETWORKS": (re)start the private Postfix.
relay_postfix() {
    stop_postfix
    if [ ! -f "$T/pf/etc/main.cf" ]; then
        start_postfix $SMTPD $UNUSED "" || return 1
        stop_postfix
    fi
    postconf -c "$T/pf/etc" -e "smtpd_relay_restrictions = $1" "mynetworks = $2" \
        "smtpd_milters =" || return 1
    wait_port_free $SMTPD
    postfix -c "$T/pf/etc" start >/dev/null 2>&1 || return 1
    POSTFIX_ETC=$T/pf/etc
    wait_port $SMTPD
}

queued() { find "$T/pf/queue/incoming" "$T/pf/queue/active" "$T/pf/queue/deferred" \
    "$T/pf/queue/maildrop" -type f 2>/dev/null | wc -l; }

json_get() { # json_get FILE EXPR: evaluate EXPR on the summary object (s) and tricks (t)
    python3 -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
s = [r for r in rows if r.get("summary")][0]
t = {r["trick"]: r for r in rows if not r.get("summary")}
print(eval(sys.argv[2]))' "$1" "$2"
}

# ---- closed --------------------------------------------------------------
relay_postfix "permit_mynetworks, reject_unauth_destination" "127.0.0.2/32" ||
    { notok "closed postfix started"; exit 1; }
bg relay-test 127.0.0.1:$SMTPD --helo client.test.example > "$T/closed.txt"
rc=$?
check "closed relay: exit 0 (got $rc)" [ $rc -eq 0 ]
check "closed relay: verdict closed" grep -q '^verdict: closed ' "$T/closed.txt"
check "closed relay: no trick accepted" bash -c "! grep -q ACCEPTED '$T/closed.txt'"
check "closed relay: notes the loopback vantage point" \
    grep -q '^note: tested from 127.0.0.1 (loopback)' "$T/closed.txt"
check "closed relay: foreign->foreign refused with 554 Relay access denied" \
    grep -Eq '^foreign sender, foreign recipient +<relaytest@example.net> +refused +RCPT 554 .*Relay access denied' \
    "$T/closed.txt"
for trick in "percent hack" "source route" "bang path" "quoted address at server" \
    "percent hack at IP literal" "upper-case recipient" "recipient domain with trailing dot"; do
    check "closed relay: $trick refused" grep -Eq "^$trick +<[^ ]+> +refused " "$T/closed.txt"
done
bg --json relay-test 127.0.0.1:$SMTPD --timeout 5s > "$T/closed.json"
rc=$?
check "closed relay --json: exit 0" [ $rc -eq 0 ]
check "closed relay --json: summary closed, 0 accepted, >= 20 tricks" \
    [ "$(json_get "$T/closed.json" 's["verdict"], s["accepted"], s["tricks"] >= 20')" = "('closed', 0, True)" ]
check "closed relay --json: percent hack was RCPT <relaytest%example.net@relay.test.example>" \
    [ "$(json_get "$T/closed.json" 't["percent hack"]["rcpt_to"]')" = "relaytest%example.net@relay.test.example" ]
check "closed relay --json: source route via the server's IP literal" \
    [ "$(json_get "$T/closed.json" 't["source route via IP literal"]["rcpt_to"]')" = "@[127.0.0.1]:relaytest@example.net" ]
check "closed relay: fresh sessions against error throttling (sessions > 1)" \
    [ "$(json_get "$T/closed.json" 's["sessions"] > 1')" = True ]
check "closed relay: --from-domain/--to-domain used" bash -c \
    "'$BIN/bounceguard' -c '$CONF' --json relay-test 127.0.0.1:$SMTPD --from-domain a.example --to-domain b.example | grep -q '\"rcpt_to\":\"relaytest@b.example\"'"

# ---- open ----------------------------------------------------------------
# Postfix refuses a bare `smtpd_relay_restrictions = permit` (its safety net
# wants a reachable reject_unauth_destination); a client access map that
# says OK to everyone is the same open door and passes that check.
relay_postfix "check_client_access static:OK, reject_unauth_destination" "127.0.0.2/32" ||
    { notok "open postfix started"; exit 1; }
# From loopback (in every relay's mynetworks) accepted tricks cannot tell an
# open relay from one that trusts its own host.
bg relay-test 127.0.0.1:$SMTPD > "$T/trusted.txt"
rc=$?
check "from loopback: cannot tell, exit 4 (got $rc)" [ $rc -eq 4 ]
check "from loopback: verdict 'relays for this client', not OPEN RELAY" \
    grep -q '^verdict: relays for this client ' "$T/trusted.txt"
check "from loopback: says so and to run it from outside" \
    grep -q '^cannot tell: tested from 127.0.0.1 (loopback).*from a host outside' "$T/trusted.txt"
bg --json relay-test 127.0.0.1:$SMTPD > "$T/trusted.json"
check "from loopback --json: relays-for-client, vantage loopback, client 127.0.0.1" \
    [ "$(json_get "$T/trusted.json" 's["verdict"], s["vantage"], s["client"], s["open"]')" = "('relays-for-client', 'loopback', '127.0.0.1', False)" ]
# --outside: the operator knows this address is not trusted.
bg relay-test 127.0.0.1:$SMTPD --outside > "$T/open.txt"
rc=$?
check "open relay (--outside): exit 1 (got $rc)" [ $rc -eq 1 ]
check "open relay: verdict OPEN RELAY" grep -q '^verdict: OPEN RELAY ' "$T/open.txt"
check "open relay: foreign->foreign ACCEPTED" \
    grep -Eq '^foreign sender, foreign recipient +<relaytest@example.net> +ACCEPTED +RCPT 250' "$T/open.txt"
bg --json relay-test 127.0.0.1:$SMTPD --outside > "$T/open.json"
check "open relay --json: open, most tricks accepted" \
    [ "$(json_get "$T/open.json" 's["verdict"], s["open"], s["accepted"] >= 15')" = "('open', True, True)" ]
check "open relay --json: null sender trick accepted" \
    [ "$(json_get "$T/open.json" 't["null sender"]["verdict"]')" = accepted ]
check "no message was ever queued by the open relay ($(queued) files)" [ "$(queued)" -eq 0 ]
check "the maillog shows no message (no message-id, no qmgr from=)" \
    bash -c "! grep -Eq 'cleanup\\[[0-9]+\\]: [0-9A-F]+: message-id|qmgr\\[[0-9]+\\]: [0-9A-F]+: from=' '$T/pf/maillog'"
check "the maillog shows RSET after every RCPT and a QUIT" \
    grep -Eq 'disconnect from .* mail=22 rcpt=22 rset=22 quit=1' "$T/pf/maillog"
stop_postfix

# ---- hostile fake servers ------------------------------------------------
# fake MODE: one-connection-at-a-time SMTP server on $FAKE; logs commands.
fake() {
    python3 - "$1" "$FAKE" "$T/fake-$1.log" <<'EOP' &
import socket, sys, time
mode, port, log = sys.argv[1], int(sys.argv[2]), open(sys.argv[3], "w")
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port)); s.listen(5)
def serve(c):
    f = c.makefile("rb")
    if mode == "silent":
        time.sleep(30); return
    if mode == "longline":
        c.sendall(b"220 " + b"x" * 100000 + b"\r\n"); time.sleep(2); return
    c.sendall(b"220-evil.example \x1b[31mred\x1b[0m \x07bell\r\n220 evil.example ESMTP \xc2\x9b2J\r\n")
    while True:
        line = f.readline(4096)
        if not line: break
        log.write(line.decode("latin-1")); log.flush()
        cmd = line[:4].upper()
        if cmd in (b"EHLO", b"HELO"): c.sendall(b"250-evil.example\r\n250 PIPELINING\r\n")
        elif cmd == b"DATA": c.sendall(b"354 go\r\n")
        elif cmd == b"QUIT": c.sendall(b"221 bye\r\n"); break
        else: c.sendall(b"250 2.0.0 ok \x1b]0;pwned\x07 \x00nul\r\n")
while True:
    c, _ = s.accept()
    try: serve(c)
    except OSError: pass  # wait_port's probe, or the client hanging up
    c.close()
EOP
    PIDS+=($!)
    wait_port $FAKE
}
stop_fake() { kill "${PIDS[-1]}" 2>/dev/null; wait "${PIDS[-1]}" 2>/dev/null; unset 'PIDS[-1]'; wait_port_free $FAKE; }

fake evil
bg relay-test 127.0.0.1:$FAKE --timeout 3s --outside > "$T/evil.txt" 2>&1
rc=$?
check "accept-all fake server: exit 1 (got $rc)" [ $rc -eq 1 ]
check "server text printed without control characters or C1 bytes" \
    python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); sys.exit(any(b < 0x20 and b != 0x0a or b >= 0x7f for b in d))' "$T/evil.txt"
check "the fake server never saw DATA" bash -c "! grep -qi '^DATA' '$T/fake-evil.log'"
check "every transaction ended with RSET and the session with QUIT" \
    bash -c "[ \$(grep -c '^RCPT' '$T/fake-evil.log') -eq \$(grep -c '^RSET' '$T/fake-evil.log') ] && grep -q '^QUIT' '$T/fake-evil.log'"
bg --json relay-test 127.0.0.1:$FAKE --timeout 3s > "$T/evil.json" 2>&1
check "--json of the hostile server parses" python3 -c \
    'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$T/evil.json"
stop_fake

fake longline
start=$(date +%s)
bg relay-test 127.0.0.1:$FAKE --timeout 3s > "$T/long.txt" 2> "$T/long.err"
rc=$?
check "endless greeting line: exit 4 with a one-line error (rc $rc: $(cat "$T/long.err"))" \
    bash -c "[ $rc -eq 4 ] && [ \$(wc -l < '$T/long.err') -eq 1 ] && grep -q 'longer than' '$T/long.err'"
stop_fake

fake silent
start=$(date +%s)
bg relay-test 127.0.0.1:$FAKE --timeout 2s > /dev/null 2> "$T/silent.err"
rc=$?
took=$(( $(date +%s) - start ))
check "silent server: exit 4 after the timeout (rc $rc, ${took}s: $(cat "$T/silent.err"))" \
    bash -c "[ $rc -eq 4 ] && [ $took -le 10 ] && grep -q timeout '$T/silent.err'"
stop_fake

bg relay-test 127.0.0.1:$UNUSED > /dev/null 2> "$T/refused.err"
rc=$?
check "nothing listening: exit 4 ($(cat "$T/refused.err"))" [ $rc -eq 4 ]

# ---- usage errors ----------------------------------------------------------
for args in "" "host:0" "host:99999" "[::1" "a b" "127.0.0.1 --helo bad\\name" \
    "127.0.0.1 --to-domain x;y" "127.0.0.1 --timeout 0s" "127.0.0.1 --frobnicate" "h1 h2"; do
    # shellcheck disable=SC2086
    bg relay-test $args > /dev/null 2> "$T/usage.err"
    rc=$?
    check "usage error for 'relay-test $args': exit 2" [ $rc -eq 2 ]
done
exit 0
