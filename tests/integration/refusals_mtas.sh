#!/usr/bin/env bash
# refusals_mtas — does bounceguard judge the refusals of refusals.tsv right
# when they reach it inside the bounces of Exim, OpenSMTPD, dma, nullmailer
# and Courier?
#
# tests/data/refusals/mtas/MTA/ROWID.eml are the bounces those real MTAs
# wrote back to the sender when the row's reply refused the row's message
# (tests/data/refusals/make-mta-bounces.sh made them, as root; this test
# needs neither root nor network).  Rows of stage mail, rcpt and data only;
# dma's 4xx rows are missing (it retries for days), and nullmailer's eleven
# whose bounce nullmailer-dsn failed to write.  Each MTA's bounces go into a
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

# run  min-accuracy  max-wrong-blacklistings  min-incidents
# The baseline of 2026-12-07 (rows of stage rcpt and data: 215, dma 182,
# nullmailer 209): exim 0.977/0/21, opensmtpd 0.893/0/20, dma 0.791/0/14,
# nullmailer 0.885/0/18, courier 0.981/0/21.  With a bounce told from another
# by what it returns as well as its Message-ID (dma reuses those), a layout
# that never names the SMTP command (OpenSMTPD, nullmailer) no longer read
# as a refusal after DATA, and a reporter's 5.0.0 over a 4xx reply read as
# the deferral it is (same day): 0.977/0/21, 0.981/0/20, 0.978/0/20,
# 0.976/0/18, 0.981/0/21; with the lines of a multi-line reply that
# nullmailer writes unfolded after Diagnostic-Code read as its own:
# nullmailer 0.981/0/19.  The rows of stage mail added (236 rows, dma 198,
# nullmailer 225; floors for this set): before any of the fixes 0.979/0/29,
# 0.898/0/27, 0.621/0/10, 0.893/0/22, 0.983/0/29; after them, and with a
# reply about the sender domain's DNS ("invalid DNS MX or A/AAAA resource
# record") read as the sender's, which a layout without the command had
# made a dead mailbox: 0.979/0/29, 0.979/0/27, 0.980/0/27, 0.982/0/23,
# 0.983/0/29.  The row's recipient is read from every bounce.
FLOORS="
exim/dsn 0.97 0 29
opensmtpd/dsn 0.97 0 27
dma/dsn 0.97 0 27
nullmailer/dsn 0.98 0 23
courier/dsn 0.98 0 29
"
# the fraction of bounces whose recipient is read as the row's
RCPT_FLOORS="exim=1 opensmtpd=1 dma=1 nullmailer=1 courier=1"

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
