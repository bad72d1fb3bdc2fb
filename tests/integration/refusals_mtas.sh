#!/usr/bin/env bash
# refusals_mtas — does bounceguard judge the refusals of refusals.tsv right
# when they reach it inside the bounces of Exim, OpenSMTPD, dma, nullmailer
# and Courier?
#
# tests/data/refusals/mtas/MTA/ROWID.eml are the bounces those real MTAs
# wrote back to the sender when the row's reply refused the row's message
# (tests/data/refusals/make-mta-bounces.sh made them, as root; this test
# needs neither root nor network).  Rows of stage rcpt and data only; dma's
# 4xx rows are missing (it retries for days).  Each MTA's bounces go into a
# fresh store through bounceguard-dsn's maildir intake (dsn_trust = any, as
# refusals.sh: trust is not what this measures); the decision per row is read
# back from the store as refusals.sh does, by recipient only (every row's
# remote server was the one sink).  Scores per MTA, over the rows it has a
# bounce for, against FLOORS below (today's values rounded down; raise them,
# never lower them): decision accuracy, wrong blacklistings (a ceiling),
# incidents among relay rows; and the bounces whose recipient bounceguard
# reads as the row's (bounceguard-dsn parse --json), at least the floor's
# fraction.  The per-row table goes to $T/refusals-mtas-report.tsv and, when
# REFUSALS_REPORT=FILE is set, to FILE.
set -u
T=$(mktemp -d /tmp/bg-refusals-mtas-XXXXXX)
# shellcheck disable=SC2034 # read by write_milter_conf in lib.sh; no milter runs
MILTER_PORT=2774
. "$TOP/tests/integration/lib.sh"
trap 'rm -rf "$T"' EXIT

# run  min-accuracy  max-wrong-blacklistings  min-incidents  (then the
# recipient floor, per MTA, in RCPT_FLOORS)
FLOORS="
exim/dsn 0 1000 0
opensmtpd/dsn 0 1000 0
dma/dsn 0 1000 0
nullmailer/dsn 0 1000 0
courier/dsn 0 1000 0
"
RCPT_FLOORS="exim=0 opensmtpd=0 dma=0 nullmailer=0 courier=0"

TABLE=$TOP/tests/data/refusals/refusals.tsv
DATA=$TOP/tests/data/refusals/mtas
DSN=$BIN/bounceguard-dsn
MTAS="exim opensmtpd dma nullmailer courier"

if [ ! -x "$DSN" ]; then
    notok "$DSN is built"
    exit 1
fi

runs=
for mta in $MTAS; do
    n=$(find "$DATA/$mta" -name 'r*.eml' 2>/dev/null | wc -l)
    if [ "$n" = 0 ]; then
        echo "ok - # SKIP no bounces of $mta under $DATA"
        continue
    fi
    runs="$runs $mta/dsn"
    # the intake reads a maildir: the bounces as its new/ messages
    mkdir -p "$T/$mta/new" "$T/$mta/cur" "$T/$mta/tmp" "$T/$mta-dsn.log"
    cp "$DATA/$mta"/r*.eml "$T/$mta/new/"
    (cd "$DATA/$mta" && ls r*.eml) | sed 's/\.eml$//' >"$T/$mta.rows"
    conf=$T/$mta.conf
    write_milter_conf "$conf" check_tld=no dsn_trust=any
    sed -i "s|^db_home = .*|db_home = $T/$mta.db|; s|^log_dir = .*|log_dir = $T/$mta-dsn.log|" "$conf"
    "$DSN" -c "$conf" maildir "$T/$mta" >"$T/$mta.out" 2>&1
    rc=$?
    check "$mta: bounceguard-dsn maildir over $n bounces exits 0 ($rc)" [ "$rc" = 0 ]
    "$BIN/bounceguard" -c "$conf" --json list >"$T/$mta-dsn.list.json" 2>/dev/null
    "$BIN/bounceguard" -c "$conf" --json rbl incidents >"$T/$mta-dsn.incidents.json" 2>/dev/null

    # the recipient read from each bounce is the row's
    (cd "$DATA/$mta" && "$DSN" parse --json r*.eml) >"$T/$mta.parse.jsonl" 2>"$T/$mta.parse.err"
    rc=$?
    read -r good bad < <(python3 - "$T/$mta.parse.jsonl" <<'EOF'
import json, sys
good, bad = 0, []
for line in open(sys.argv[1], encoding="utf-8"):
    if not line.startswith("{"):
        continue
    o = json.loads(line)
    row = o["file"].split("/")[-1][:-4]
    if (o.get("recipient") or "").lower() == "%s@%s.refusal.test" % (row, row):
        good += 1
    else:
        bad.append("%s:%s" % (row, o.get("recipient")))
print(good, ",".join(bad) or "-")
EOF
)
    floor=$(tr ' ' '\n' <<<"$RCPT_FLOORS" | sed -n "s/^$mta=//p")
    check "$mta: parse exits 0 ($rc); the row's recipient read from $good of $n bounces (floor ${floor:-0})" \
        python3 -c "import sys; sys.exit(not ($rc == 0 and $good >= ${floor:-0} * $n))"
    [ "$bad" = - ] || echo "#   $mta: other recipients read: $bad"
done

only=()
for run in $runs; do only+=(--only "$run=$T/${run%/dsn}.rows"); done
python3 "$TOP/tests/tools/score_refusals.py" --table "$TABLE" --dir "$T" --runs "$runs" \
    --floors "$FLOORS" "${only[@]}" \
    --report "$T/refusals-mtas-report.tsv" ${REFUSALS_REPORT:+--report "$REFUSALS_REPORT"}
exit 0
