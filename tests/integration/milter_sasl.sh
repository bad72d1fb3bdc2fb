#!/usr/bin/env bash
# The sender identity of SMTP AUTH users, through the milter protocol itself
# (Debian's miltertest plays the MTA and sends the {auth_authen} macro that
# Postfix and Sendmail send for an authenticated client): with
# sender_identity = auto a SASL login is the appliance, whatever its IP, and
# per-sender overrides apply to it.
set -u
T=$(mktemp -d /tmp/bg-milter-sasl.XXXXXX)
MILTER_PORT=2568
. "$TOP/tests/integration/lib.sh"
trap 'stop_all; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
command -v miltertest >/dev/null || { notok "miltertest installed (scripts/install-deps)"; exit 1; }

CONF=$T/bounceguard.conf
write_milter_conf "$CONF" "quota_limit=5" "sender_override=sasl:alice quota_limit=1"
start_milter "$CONF" || { notok "milter started: $(cat "$T/milter.out")"; exit 1; }

# one_message LOGIN IP QUEUEID: a whole transaction; prints the RCPT reply
cat > "$T/msg.lua" <<'EOL'
-- login, ip, qid and port come as globals (miltertest -D name=value)
local conn = mt.connect("inet:" .. port .. "@127.0.0.1", 20, 0.2)
if conn == nil then error("cannot connect to the milter") end
-- As an MTA that does not send the macros a milter asks for: miltertest
-- offers SMFIF_SETSYMLIST but cannot read the list (tests/integration/
-- correlate.sh runs that path through Postfix and Sendmail), so the milter
-- keeps the connect step here.
-- (Debian's miltertest takes the actions offered as the last argument.)
local r = mt.negotiate(conn, nil, nil, SMFIF_ADDHDRS + SMFIF_CHGFROM)
if r ~= nil then error("negotiation: " .. r) end
mt.conninfo(conn, "client.example", ip)
if login ~= "" then
    mt.macro(conn, SMFIC_MAIL, "i", qid, "{auth_authen}", login)
else
    mt.macro(conn, SMFIC_MAIL, "i", qid)
end
mt.mailfrom(conn, "<app@example.org>")
r = mt.getreply(conn)
if r ~= SMFIR_CONTINUE then
    mt.echo("MAIL " .. tostring(r))
    mt.disconnect(conn)
    return
end
mt.rcptto(conn, "<someone@example.com>")
r = mt.getreply(conn)
if r ~= SMFIR_CONTINUE then
    mt.echo("RCPT " .. tostring(r))
    mt.disconnect(conn)
    return
end
mt.header(conn, "Message-ID", "<" .. qid .. "@example.org>")
-- (no end-of-header and no body: the milter negotiates them away)
mt.eom(conn)
mt.echo("ACCEPTED")
mt.disconnect(conn)
EOL
one() { miltertest -D login="$1" -D ip="$2" -D qid="$3" -D port="$MILTER_PORT" \
    -s "$T/msg.lua" 2>&1 | tail -1; }

r1=$(one alice 192.0.2.10 Q1)
r2=$(one alice 198.51.100.7 Q2)
check "SASL user alice: first message accepted ($r1)" [ "$r1" = ACCEPTED ]
check "SASL user alice from another IP: refused by her own quota of 1 ($r2)" grep -q 'MAIL' <<<"$r2"
r3=$(one "" 192.0.2.10 Q3)
check "the same IP without a login is a different appliance: accepted ($r3)" [ "$r3" = ACCEPTED ]
check "the refusal names the SASL identity in warning.log" grep -q 'sender sasl:alice' "$T/log/warning.log"
out=$(bg sender show sasl:alice 2>&1)
check "bounceguard sender show sasl:alice shows 1 of 1 used" grep -q '1/1\|1 of 1' <<<"$out"
# The 450 at MAIL FROM is counted: "refused in window" and "last seen" move.
j1=$(bg --json sender show sasl:alice)
sleep 1.1
r4=$(one alice 192.0.2.10 Q4)
j2=$(bg --json sender show sasl:alice)
field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
check "a second quota refusal ($r4) is counted: refused in window $(field "$j1" refused_in_window) -> $(field "$j2" refused_in_window)" \
    [ "$(field "$j1" refused_in_window)/$(field "$j2" refused_in_window)" = 1/2 ]
check "... and last seen moves ($(field "$j1" last_seen) -> $(field "$j2" last_seen))" \
    [ "$(field "$j1" last_seen)" != "$(field "$j2" last_seen)" ]
check "sender show prints it" grep -Eq '^refused in window +2' <<<"$(bg sender show sasl:alice)"
