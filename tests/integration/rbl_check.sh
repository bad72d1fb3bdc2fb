#!/usr/bin/env bash
# `bounceguard rbl check` against a real DNS server on loopback: dnsmasq
# serving DNSBL-style records (a listing with two codes and a TXT reason, a
# not-listed address, a Spamhaus-style refused query 127.255.255.254, an
# answer outside 127/8, an IPv6 listing), each list's RFC 5782 test entry
# 127.0.0.2, a zone that answers NXDOMAIN for everything and one that refuses
# every query (as Spamhaus answers a public resolver), plus zones forwarded
# to a UDP black hole to show that lists time out in parallel and cannot
# tell.  Ports 5331-5339.
set -u
T=$(mktemp -d /tmp/bg-rbl.XXXXXX)
DNS=5331
HOLE=5332
. "$TOP/tests/integration/lib.sh"
trap 'stop_all; rm -rf "$T"' EXIT

rev6() { python3 -c 'import ipaddress,sys; print(".".join(reversed(ipaddress.ip_address(sys.argv[1]).exploded.replace(":",""))))' "$1"; }
V6=2001:db8::10
V6NAME=$(rev6 $V6)

# A UDP black hole: reads queries, never answers.
python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
while True: s.recv(4096)' $HOLE &
PIDS+=($!)

dnsmasq --no-daemon --port=$DNS --listen-address=127.0.0.1 --bind-interfaces \
    --no-resolv --no-hosts --user=root --group=root --pid-file="$T/dnsmasq.pid" \
    --local=/zen.test/ --local=/bl.test/ --local=/v4only.test/ --local=/nx.test/ \
    --address=/2.0.0.127.zen.test/127.0.0.2 --address=/2.0.0.127.zen.test/127.0.0.4 \
    --address=/2.0.0.127.bl.test/127.0.0.2 --address=/2.0.0.127.v4only.test/127.0.0.2 \
    --address=/pub.test/127.255.255.254 \
    --address=/10.2.0.192.zen.test/127.0.0.2 --address=/10.2.0.192.zen.test/127.0.0.4 \
    --txt-record=10.2.0.192.zen.test,"Listed in SBL see https://check.spamhaus.org/sbl/query/SBL1" \
    --address=/30.2.0.192.zen.test/127.255.255.254 \
    --txt-record=30.2.0.192.zen.test,"Error: open resolver see https://check.spamhaus.org/returnc/pub/" \
    --address=/40.2.0.192.zen.test/198.51.100.7 \
    --address=/$V6NAME.zen.test/127.0.0.3 \
    --address=/10.2.0.192.bl.test/127.0.0.2 \
    --address=/$V6NAME.v4only.test/127.0.0.2 \
    --server=/slow1.test/127.0.0.1#$HOLE --server=/slow2.test/127.0.0.1#$HOLE \
    --server=/slow3.test/127.0.0.1#$HOLE \
    > "$T/dnsmasq.log" 2>&1 &
PIDS+=($!)
ok_dns=0
for _ in $(seq 50); do
    if python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.2)
s.sendto(bytes.fromhex("12340100000100000000000003666f6f037a656e04746573740000010001"), ("127.0.0.1", int(sys.argv[1])))
s.recv(512)' $DNS 2>/dev/null; then ok_dns=1; break; fi
    sleep 0.1
done
[ $ok_dns -eq 1 ] || { notok "dnsmasq answers on port $DNS: $(cat "$T/dnsmasq.log")"; exit 1; }

cat > "$T/lists" <<EOF
# test lists: Spamhaus-style codes under a test zone
zen.test   Test ZEN   codes=zen.spamhaus.org  delist=https://check.spamhaus.org/
bl.test    delist=https://bl.test/removal     # generic rules
v4only.test  IPv4 only  ipv6=no
EOF
CONF=$T/bounceguard.conf
cat > "$CONF" <<EOF
dns_resolver = 127.0.0.1:$DNS
rbl_timeout = 3s
EOF

rbl() { bg rbl check "$@" --lists "$T/lists"; }
j() { # j FILE EXPR: evaluate EXPR over rows r (zone -> object)
    python3 -c '
import json, sys
r = {}
for l in open(sys.argv[1]):
    o = json.loads(l); r[o["zone"]] = o
print(eval(sys.argv[2]))' "$1" "$2"
}

# 1. Listed, two codes decoded, TXT reason and delisting link.
rbl 192.0.2.10 > "$T/listed.txt"
rc=$?
check "listed address: exit 1 (got $rc)" [ $rc -eq 1 ]
check "listed: Test ZEN row says listed" grep -Eq '^Test ZEN +listed ' "$T/listed.txt"
check "listed: SBL code decoded" grep -Eq '127.0.0.2 +SBL: Spamhaus Block List' "$T/listed.txt"
check "listed: XBL code decoded on its own row" grep -Eq '127.0.0.4 +XBL: exploited host' "$T/listed.txt"
check "listed: TXT reason shown" grep -q 'Listed in SBL see https://check' "$T/listed.txt"
check "listed: delisting link shown" grep -q 'https://check.spamhaus.org/' "$T/listed.txt"
check "listed: summary line" grep -q '^192.0.2.10: LISTED on 2 of 3 lists' "$T/listed.txt"
check "no colour when stdout is not a terminal" bash -c "! grep -q $'\\033' '$T/listed.txt'"
bg --json rbl check 192.0.2.10 --lists "$T/lists" > "$T/listed.json"
check "listed --json: both codes and the TXT" [ "$(j "$T/listed.json" \
    'r["zen.test"]["status"], sorted(r["zen.test"]["answers"]), "XBL" in r["zen.test"]["meaning"], r["zen.test"]["txt"][:13]')" \
    = "('listed', ['127.0.0.2', '127.0.0.4'], True, 'Listed in SBL')" ]
check "listed --json: generic list listed, its delist URL" [ "$(j "$T/listed.json" \
    'r["bl.test"]["listed"], r["bl.test"]["delist_url"]')" = "(True, 'https://bl.test/removal')" ]
check "--json after the command works too" bash -c \
    "'$BIN/bounceguard' -c '$CONF' rbl check 192.0.2.10 --json --lists '$T/lists' | python3 -c 'import json,sys; [json.loads(l) for l in sys.stdin]'"

# 2. Not listed anywhere (NXDOMAIN everywhere).
rbl 192.0.2.20 --json > "$T/clean.json"
rc=$?
check "clean address: exit 0 (got $rc)" [ $rc -eq 0 ]
check "clean address: every list not listed" \
    [ "$(j "$T/clean.json" 'sorted(set(o["status"] for o in r.values()))')" = "['not listed']" ]
check "clean address: each list listed its test entry" \
    [ "$(j "$T/clean.json" 'sorted(set(o["test_entry"] for o in r.values()))')" = "['listed']" ]
rbl 192.0.2.20 > "$T/clean.txt"
check "clean address: the summary says every list answered" \
    grep -q '^192.0.2.20: not listed (3 lists asked, each answered its test entry)' "$T/clean.txt"

# 2b. A list that does not list its test entry 127.0.0.2 (a resolver that
# answers NXDOMAIN for everything) cannot tell: never "not listed", exit 4.
printf 'nx.test\nbl.test\n' > "$T/nx"
bg rbl check 192.0.2.20 --lists "$T/nx" > "$T/nx.txt"; rc=$?
check "list without its test entry: exit 4 (got $rc)" [ $rc -eq 4 ]
check "list without its test entry: row says cannot tell, and why" \
    grep -Eq '^nx.test +cannot tell +- +its test entry 127.0.0.2 is not listed' "$T/nx.txt"
check "list without its test entry: the summary says cannot tell ($(grep '^192' "$T/nx.txt"))" \
    grep -q '^192.0.2.20: cannot tell: 1 of 2 lists could not say; not listed on the other 1' "$T/nx.txt"
check "list without its test entry: hint about the resolver" grep -q '^hint: ' "$T/nx.txt"
bg --json rbl check 192.0.2.20 --lists "$T/nx" > "$T/nx.json"
check "list without its test entry --json: cannot tell, test entry not listed" \
    [ "$(j "$T/nx.json" 'r["nx.test"]["status"], r["nx.test"]["cannot_tell"], r["nx.test"]["test_entry"], r["bl.test"]["cannot_tell"]')" \
    = "('cannot tell', True, 'not listed', False)" ]
# Every list refuses this resolver (127.255.255.254 for everything, the test
# entry too): cannot tell.
printf 'pub.test codes=zen.spamhaus.org\n' > "$T/pub"
bg rbl check 192.0.2.20 --lists "$T/pub" > "$T/pub.txt"; rc=$?
check "a list that refuses the resolver: exit 4 (got $rc)" [ $rc -eq 4 ]
check "a list that refuses the resolver: cannot tell, with the hint" \
    bash -c "grep -q '^192.0.2.20: cannot tell: 1 of 1 list could not say' '$T/pub.txt' && grep -q '^hint: ' '$T/pub.txt'"

# 3. Spamhaus-style refused query is an error, not a listing.
rbl 192.0.2.30 > "$T/refused.txt"
rc=$?
check "refused query (127.255.255.254): not a listing, cannot tell: exit 4 (got $rc)" [ $rc -eq 4 ]
check "refused query: the summary says cannot tell" \
    grep -q '^192.0.2.30: cannot tell: 1 of 3 lists could not say; not listed on the other 2' "$T/refused.txt"
check "refused query: row says error with the decoded reason" \
    grep -Eq '^Test ZEN +error +127.255.255.254 +query refused: public/open resolver' "$T/refused.txt"
check "refused query: hint about the resolver" grep -q '^hint: a list that refuses the query' "$T/refused.txt"
rbl 192.0.2.30 --json > "$T/refused.json"
check "refused query --json: status error, listed false" \
    [ "$(j "$T/refused.json" 'r["zen.test"]["status"], r["zen.test"]["listed"]')" = "('error', False)" ]

# 4. An answer outside 127/8 (a resolver rewriting NXDOMAIN) is an error.
rbl 192.0.2.40 --json > "$T/rewrite.json"
rc=$?
check "answer outside 127/8: error, cannot tell: exit 4 (got $rc)" [ $rc -eq 4 ]
check "answer outside 127/8: decoded as a rewriting resolver" \
    [ "$(j "$T/rewrite.json" 'r["zen.test"]["status"], "outside 127.0.0.0/8" in r["zen.test"]["meaning"]')" = "('error', True)" ]

# 5. Every list errored: exit 4.
printf 'zen.test codes=zen.spamhaus.org\n' > "$T/zen-only"
bg rbl check 192.0.2.30 --lists "$T/zen-only" > /dev/null
rc=$?
check "every list errored: exit 4 (got $rc)" [ $rc -eq 4 ]

# 6. IPv6: nibble-reversed query, IPv4-only lists skipped.
rbl $V6 --json > "$T/v6.json"
rc=$?
check "IPv6 listing: exit 1 (got $rc)" [ $rc -eq 1 ]
check "IPv6 listing: CSS code on zen, v4-only list skipped, bl.test not listed" \
    [ "$(j "$T/v6.json" 'r["zen.test"]["status"], "CSS" in r["zen.test"]["meaning"], r["v4only.test"]["status"], r["bl.test"]["status"]')" \
    = "('listed', True, 'skipped', 'not listed')" ]

# 7. Timeouts are per list and in parallel: three dead lists cost one timeout.
printf 'slow1.test\nslow2.test\nslow3.test\nzen.test codes=zen.spamhaus.org\n' > "$T/slow"
start=$(date +%s%N)
bg --json rbl check 192.0.2.10 --lists "$T/slow" --timeout 3s > "$T/slow.json"
rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "dead lists time out, the live one still answers: exit 1 (got $rc)" [ $rc -eq 1 ]
# In turn they would take 9 s; the margin is for a loaded machine.
check "three dead lists with --timeout 3s took ${ms} ms (parallel: < 6000)" [ $ms -lt 6000 ]
check "dead lists reported as timeout" \
    [ "$(j "$T/slow.json" 'r["slow1.test"]["status"], r["slow3.test"]["status"], r["zen.test"]["status"]')" \
    = "('timeout', 'timeout', 'listed')" ]
printf 'slow1.test\nbl.test\n' > "$T/slow-clean"
bg rbl check 192.0.2.20 --lists "$T/slow-clean" --timeout 1s > "$T/slow-clean.txt"
rc=$?
check "a dead list and a clean answer: cannot tell, not \"not listed\": exit 4 (got $rc)" [ $rc -eq 4 ]
check "a dead list: the summary says cannot tell ($(grep '^192' "$T/slow-clean.txt"))" \
    grep -q '^192.0.2.20: cannot tell: 1 of 2 lists could not say; not listed on the other 1' "$T/slow-clean.txt"

# 8. Configuration: rbl_lists, dns_resolver, rbl_timeout from the file.
cat > "$T/conf2" <<EOF
rbl_lists = zen.test, bl.test
dns_resolver = 127.0.0.1:$DNS
rbl_timeout = 2s
EOF
"$BIN/bounceguard" -c "$T/conf2" --json rbl check 192.0.2.10 > "$T/conf.json"
rc=$?
check "config rbl_lists + dns_resolver used: exit 1 (got $rc)" [ $rc -eq 1 ]
check "config lists: zen.test (generic rules) and bl.test listed" \
    [ "$(j "$T/conf.json" 'sorted(r), r["zen.test"]["listed"]')" = "(['bl.test', 'zen.test'], True)" ]
check "--resolver overrides dns_resolver" bash -c \
    "'$BIN/bounceguard' -c '$T/conf2' rbl check 192.0.2.10 --resolver 127.0.0.1:$HOLE --timeout 1s > /dev/null; [ \$? -eq 4 ]"

# 9. Bad input: one-line errors, exit 2; nothing hangs.
for args in "300.1.2.3" "192.0.2" "example.com" "" "1.2.3.4 5.6.7.8" "1.2.3.4 --timeout x" \
    "1.2.3.4 --resolver bogus" "1.2.3.4 --lists $T/nonexistent" "1.2.3.4 --frob"; do
    # shellcheck disable=SC2086
    bg rbl check $args > /dev/null 2> "$T/err"
    rc=$?
    check "rbl check $args: exit 2 ($(head -1 "$T/err"))" [ $rc -eq 2 ]
done
bg rbl check 300.1.2.3 > /dev/null 2> "$T/err"
check "bad IP gives exactly one line on stderr" [ "$(wc -l < "$T/err")" -eq 1 ]
printf 'good.test\nbad!zone.test A name\n' > "$T/badlists"
bg rbl check 1.2.3.4 --lists "$T/badlists" > /dev/null 2> "$T/err"
rc=$?
check "bad list file: exit 2 naming file:line ($(cat "$T/err"))" \
    bash -c "[ $rc -eq 2 ] && grep -q 'badlists:2:' '$T/err'"
bg rbl > /dev/null 2>&1; rc=$?
check "rbl without subcommand: exit 2" [ $rc -eq 2 ]
bg rbl frob > /dev/null 2>&1; rc=$?
check "rbl unknown subcommand: exit 2" [ $rc -eq 2 ]
"$BIN/bounceguard" -c "$T/nonexistent.conf" rbl check 1.2.3.4 > /dev/null 2>&1; rc=$?
check "missing explicit config: exit 3" [ $rc -eq 3 ]
exit 0
