#!/usr/bin/env bash
# make-mta-bounces.sh — the refusals of refusals.tsv, as the bounces of real
# Exim, OpenSMTPD, dma, nullmailer and Courier.
#
#   tests/data/refusals/make-mta-bounces.sh [OUTDIR]
#
# MTAS="exim dma" (say) makes only those MTAs' bounces again.
# Run as root on Debian 12 (apt-get reaches Debian's archive; no other
# network).  Not run by the tests: what it made is committed under
# tests/data/refusals/mtas/MTA/ROWID.eml and scored by
# tests/integration/refusals_mtas.sh.  OUTDIR defaults to that folder.
#
# The MTAs run privately, as tests/data/dsn-families/lhost-mtas.sh says, and
# relay everything to tests/tools/refusing_sink.py --by-rcpt on
# 127.0.0.1:$PORT, which plays each row of stage rcpt or data by its
# recipient (<id>@<id>.refusal.test): the row's reply at RCPT TO, or after
# the final dot; and each row of stage mail by its sender
# (app+<id>@sender.test): the row's reply at MAIL FROM.  One message per row
# goes through each MTA, from app@sender.test (stage mail: app+<id>@...);
# the bounce each MTA sends back to the sender is kept by the sink and
# filed under OUTDIR/MTA/ by the row id it names.  Rows of stage connect
# and helo are not sent: their refusal comes before the envelope, and one
# address serves every row.  The rows that answer 421 (the server closes
# the session) go last, so that whatever an MTA concludes about the host
# from them touches no other row.
#
# 4xx rows: each MTA is made to give up after one attempt where it can —
# Exim has no retry rules (it fails a deferred address at once), OpenSMTPD
# expires its queue after 90 s (queue ttl; less, and the messages waiting
# their turn expire before one attempt, the bounces too), nullmailer after 5 s
# (queuelifetime), Courier after 10 s (queuetime, retry after 2 s).  dma
# retries for 5 days and cannot be told otherwise: its 4xx rows are not sent.
set -eu
TOP=$(cd "$(dirname "$0")/../../.." && pwd)
OUT=${1:-$TOP/tests/data/refusals/mtas}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
TABLE=$TOP/tests/data/refusals/refusals.tsv
W=${WORK:-/tmp/bg-mta-bounces}
PORT=2780
MTAS=${MTAS:-exim opensmtpd dma nullmailer courier}
. "$TOP/tests/data/dsn-families/lhost-mtas.sh"
lhost_unpack

python3 "$TOP/tests/tools/refusing_sink.py" --table "$TABLE" --port $PORT \
    --maildir "$W/caught" --by-rcpt >"$W/sink.out" 2>&1 &
SINK=$!
trap 'kill $SINK 2>/dev/null; kill -KILL $NSPIDS 2>/dev/null; true' EXIT
sleep 1

# the rows sent, "id code stage" (code: the reply's first digit), 421s last
awk -F'\t' 'NR > 1 && ($3 == "rcpt" || $3 == "data" || $3 == "mail") {
    print ($4 ~ /^421/ ? 1 : 0), $1, substr($4, 1, 1), $3 }' "$TABLE" |
    sort -s -k1,1n | cut -d' ' -f2- >"$W/rows"

# message MTA ID FROM: the test message of row ID through MTA, on stdout
message() {
    printf 'From: App <%s>\nTo: %s@%s.refusal.test\nSubject: refusal test %s\nMessage-ID: <%s.%s@app.sender.test>\nDate: %s\n\nrow %s\n' \
        "$3" "$2" "$2" "$2" "$2" "$1" "$(date -R)" "$2"
}

# send_rows MTA CODES: each row whose code is in CODES (e.g. "45") through
# MTA_send; prints how many
send_rows() {
    local mta=$1 codes=$2 id code stage from n=0
    while read -r id code stage; do
        case $codes in *$code*) ;; *) continue ;; esac
        from=app@sender.test
        [ "$stage" = mail ] && from=app+$id@sender.test
        message "${mta%_row}" "$id" "$from" | "${mta}_send" "$from" "$id@$id.refusal.test" || true
        n=$((n + 1))
    done <"$W/rows"
    echo "$n"
}

# file_bounces MTA EXPECTED WAIT [QUIET]: wait up to WAIT s (and until
# nothing came for QUIET s, default 10) for EXPECTED bounces, then file them
# as OUT/MTA/ID.eml; says which bounces do not quote the row's reply (the
# MTA gave up before it got it)
file_bounces() {
    local mta=$1 want=$2 t=$3 quiet=${4:-10} have last=-1 still=0
    for _ in $(seq "$t"); do
        have=$(find "$W/caught/new" -type f | wc -l)
        [ "$have" -ge "$want" ] && break
        if [ "$have" = "$last" ]; then still=$((still + 1)); else still=0 last=$have; fi
        [ "$have" -gt 0 ] && [ "$still" -ge "$quiet" ] && break
        sleep 1
    done
    sleep 1
    rm -rf "${OUT:?}/$mta"
    mkdir -p "$OUT/$mta"
    python3 - "$W/caught/new" "$OUT/$mta" "$want" "$TABLE" <<'EOF'
import csv, os, re, sys
src, dst, want, table = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
rows = {r["id"]: r for r in csv.DictReader(open(table, encoding="utf-8"), delimiter="\t", quoting=csv.QUOTE_NONE)}
flat = lambda b: re.sub(rb"\s+", b" ", b).lower()
quotes = []
rowid = re.compile(rb"\b(r\d{3})@r\d{3}\.refusal\.test|<(r\d{3})\.[a-z]+@app\.sender\.test>")
filed, lost, twice = 0, [], []
for name in sorted(os.listdir(src)):
    path = os.path.join(src, name)
    data = open(path, "rb").read()
    m = rowid.search(data)
    if not m:
        lost.append(name)
        continue
    rid = (m.group(1) or m.group(2)).decode()
    out = os.path.join(dst, rid + ".eml")
    # the first words of the reply's text (after its codes)
    words = re.sub(r"^\d{3}[ -](\d\.\d+\.\d+ )?", "", rows[rid]["reply"].split("\\n")[0])
    words = words.replace("{rcpt}", "%s@%s.refusal.test" % (rid, rid))
    if rows[rid]["stage"] == "mail":
        words = words.replace("app@sender.test", "app+%s@sender.test" % rid)
    words = words.strip()[:24].encode()
    if flat(words) not in flat(data):
        quotes.append(rid)
    if os.path.exists(out):
        twice.append(os.path.basename(out))
    # the sink's own line says which envelope recipient took it: not the MTA's
    data = re.sub(rb"^X-Sink-Rcpt: [^\n]*\n", b"", data, count=1, flags=re.M)
    open(out, "wb").write(data)
    os.unlink(path)
    filed += 1
print("%s: %d bounces for %d rows sent%s%s%s" % (
    os.path.basename(dst), filed, want,
    "; no row id in " + " ".join(lost) if lost else "",
    "; twice for " + " ".join(twice) if twice else "",
    "; without the row's reply: " + " ".join(quotes) if quotes else ""))
EOF
    rm -f "$W/caught/new"/*
}

# ---- Exim ---------------------------------------------------------------
# Its hints (retry) database is dropped before each message: a row's
# deferral says nothing about the next row's host.
exim_row_send() { rm -rf "$E/spool/db"; exim_send "$@" 2>/dev/null; }
make_exim() {
    exim_setup
    file_bounces exim "$(send_rows exim_row 45)" 60
}

make_opensmtpd() {
    opensmtpd_start 2781 "queue ttl 90s"
    file_bounces opensmtpd "$(send_rows opensmtpd 45)" 300 100
}

make_dma() {
    dma_setup
    file_bounces dma "$(send_rows dma 5)" 60
}

make_nullmailer() {
    local n
    nullmailer_setup 5
    n=$(send_rows nullmailer 45)
    nm "su -s /bin/sh mail -c 'timeout 240 /usr/sbin/nullmailer-send'" >"$N/send.log" 2>&1 &
    file_bounces nullmailer "$n" 240
    wait $! || true
}

make_courier() {
    courier_start queuetime=10s retryalpha=2s retrybeta=1 retrygamma=2s retrymaxdelta=1
    file_bounces courier "$(send_rows courier 45)" 180
}

for m in $MTAS; do "make_$m"; done
du -sh "$OUT"
