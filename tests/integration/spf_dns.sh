#!/usr/bin/env bash
# SPF through libspf2 against a real DNS server on loopback.
#
# libspf2 resolves through res_ninit() with a private per-thread state read
# from /etc/resolv.conf, so no port and no _res setting reach it (see
# include/bounceguard/spf.h).  The test therefore runs dnsmasq on a free
# 127.53.x.y address, port 53, and runs the checker in a private mount
# namespace (unshare -m) where /etc/resolv.conf names that address.  The
# host's own resolv.conf is never touched.
set -u
TOOL=$TOP/$BUILD/tools/spf_check
[ "${BUILD#/}" != "$BUILD" ] && TOOL=$BUILD/tools/spf_check
T=$(mktemp -d /tmp/bg-spf.XXXXXX)
DPID=
cleanup() {
    [ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT

if ! unshare -m true 2>/dev/null; then
    echo "ok - # SKIP cannot create a mount namespace (needs root): SPF DNS test not run"
    exit 0
fi

# The zone: one domain per SPF outcome.
Z=example.test
records=(
    "--txt-record=pass.$Z,v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all"
    "--txt-record=fail.$Z,v=spf1 ip4:192.0.2.0/24 -all"
    "--txt-record=soft.$Z,v=spf1 ip4:192.0.2.0/24 ~all"
    "--txt-record=neutral.$Z,v=spf1 ?all"
    "--txt-record=include.$Z,v=spf1 include:_spf.pass.$Z -all"
    "--txt-record=_spf.pass.$Z,v=spf1 ip4:198.51.100.0/24 -all"
    "--txt-record=a.$Z,v=spf1 a:mx.a.$Z -all"
    "--host-record=mx.a.$Z,203.0.113.25"
    "--txt-record=broken.$Z,v=spf1 ip4:192.0.2.0/24 frobnicate:yes -all"
    "--txt-record=helo.$Z,v=spf1 ip4:192.0.2.7 -all"
    "--host-record=nospf.$Z,192.0.2.1"
    "--txt-record=nospf.$Z,some unrelated text"
    "--local=/$Z/"
    "--server=/down.test/127.0.0.1#9"
)

started=0
for try in 1 2 3 4 5; do
    ADDR=127.53.$((RANDOM % 250 + 1)).$((RANDOM % 250 + 1))
    dnsmasq --keep-in-foreground --port=53 --listen-address="$ADDR" --bind-interfaces \
        --no-resolv --no-hosts --conf-file=/dev/null --user=root --group=root \
        --pid-file="$T/dnsmasq.pid" --log-facility="$T/dnsmasq.log" --log-queries \
        "${records[@]}" 2> "$T/dnsmasq.err" &
    DPID=$!
    for _ in $(seq 50); do
        if ss -Hlun "src $ADDR:53" 2>/dev/null | grep -q .; then
            started=1; break
        fi
        kill -0 "$DPID" 2>/dev/null || break
        sleep 0.1
    done
    [ $started -eq 1 ] && break
    kill "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null; DPID=
done
if [ $started -ne 1 ]; then
    echo "not ok - dnsmasq did not start on 127.53.x.y:53: $(head -3 "$T/dnsmasq.err")"
    exit 1
fi
echo "ok - dnsmasq listens on $ADDR port 53"
printf 'nameserver %s\noptions timeout:2 attempts:1\n' "$ADDR" > "$T/resolv.conf"

spf() { # spf IP HELO SENDER -> "result|reason"
    unshare -m sh -c 'mount --bind "$1" /etc/resolv.conf && shift && exec "$@"' sh \
        "$T/resolv.conf" "$TOOL" "$@" 2>&1 | paste -sd'|'
}

expect() { # expect WHAT RESULT IP HELO SENDER
    local what=$1 want=$2 got
    shift 2
    got=$(spf "$@")
    if [ "${got%%|*}" = "$want" ]; then
        echo "ok - $what: $want (${got#*|})"
    else
        echo "not ok - $what: expected $want, got '$got'"
    fi
}

expect "listed IPv4 passes" pass 192.0.2.10 mx.client.test "app@pass.$Z"
expect "listed IPv6 passes" pass 2001:db8::5 mx.client.test "app@pass.$Z"
expect "unlisted IPv4 fails (-all)" fail 203.0.113.9 mx.client.test "app@pass.$Z"
expect "-all fails" fail 198.51.100.1 x.test "bounce@fail.$Z"
expect "~all softfails" softfail 198.51.100.1 x.test "bounce@soft.$Z"
expect "?all is neutral" neutral 198.51.100.1 x.test "bounce@neutral.$Z"
expect "include: passes" pass 198.51.100.77 x.test "bounce@include.$Z"
expect "include: fails outside" fail 192.0.2.10 x.test "bounce@include.$Z"
expect "a: mechanism resolves the host" pass 203.0.113.25 x.test "x@a.$Z"
expect "a: mechanism other address fails" fail 203.0.113.26 x.test "x@a.$Z"
expect "unknown mechanism is permerror" permerror 192.0.2.10 x.test "x@broken.$Z"
expect "TXT without SPF is none" none 192.0.2.1 x.test "x@nospf.$Z"
expect "nonexistent domain is none" none 192.0.2.1 x.test "x@nx.$Z"
expect "null sender checks HELO (pass)" pass 192.0.2.7 "helo.$Z" ""
expect "null sender checks HELO (fail)" fail 192.0.2.8 "helo.$Z" ""
expect "DNS failure is temperror" temperror 192.0.2.1 x.test "x@down.test"
expect "bad client address is permerror" permerror not-an-ip x.test "x@pass.$Z"

# Each check went to our server, not the host's resolver.
if grep -q "query\[TXT\] pass.$Z" "$T/dnsmasq.log"; then
    echo "ok - queries reached the loopback server"
else
    echo "not ok - dnsmasq saw no queries: $(tail -3 "$T/dnsmasq.log")"
fi
