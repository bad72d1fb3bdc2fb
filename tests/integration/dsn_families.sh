#!/usr/bin/env bash
# dsn_families — the bounce parser against bounce families that the shared
# corpus (tests/integration/dsn_corpus.sh) does not hold: qmail, Sendmail
# (V8 and V5), Domino/Notes, IMail, McAfee, m-FILTER, MailFoundry, MXLogic,
# Biglobe, KDDI, EZweb, mail.ru, Yahoo, Yandex, Verizon, Gmail, X1, X4,
# Amazon SES (sending and receiving), SendGrid, Outlook, Barracuda, amavis,
# X6, AOL, Cox, GoDaddy, Mimecast, Spectrum (rhost rules),
# Facebook, ...; bounces of real Exim, OpenSMTPD, dma, nullmailer and
# Courier made on loopback (make-lhost-samples.sh), of Haraka
# (make-haraka-samples.sh), of amavisd-new
# (make-amavis-samples.sh), fetchmail (make-fetchmail-samples.sh) and
# Dovecot, refusals of the mailing-list managers mlmmj and GNU Mailman 3,
# the bounces Exim, OpenSMTPD, Postfix, Sendmail and Courier write when no
# server is reached (NXDOMAIN, null MX, a refused connection:
# make-netfail-samples.sh) and Amazon SES JSON
# notifications made from AWS's documentation (make-ses-samples.py).
# Samples and expectations: tests/data/dsn-families (SOURCES.md says where
# each comes from).  Scored by tests/tools/score_corpus.py against floors
# just under what the parser reaches; raise them as it improves.
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$TOP/$BUILD ;; esac
BIN=$BUILD/bounceguard-dsn
DATA=$TOP/tests/data/dsn-families
# Floors: recipient, status, reason.
FLOORS=${BG_DSN_FAMILY_FLOORS:-0.99,0.99,0.98}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ ! -x "$BIN" ]; then
    echo "not ok - $BIN is not built"
    exit 1
fi

(cd "$DATA" && "$BIN" parse --json ./*.eml) >"$tmp/families.jsonl" 2>"$tmp/families.err"
rc=$?
if [ $rc -eq 0 ]; then
    echo "ok - parse --json over the other bounce families exits 0"
else
    echo "not ok - parse --json over the other families exits $rc: $(head -c 300 "$tmp/families.err")"
fi

n=$(ls "$DATA"/*.eml | wc -l)
lines=$(grep -c '"file"' "$tmp/families.jsonl")
if [ "$lines" -ge "$n" ]; then
    echo "ok - every one of the $n samples gives an answer"
else
    echo "not ok - $n samples but only $lines answers"
fi

python3 "$TOP/tests/tools/score_corpus.py" "$DATA/expected.tsv" "$tmp/families.jsonl" \
    --floors "$FLOORS" | sed 's/corpus/families/'
rc=${PIPESTATUS[0]}

# The same samples and the shared corpus without their delivery-status
# parts: how far the reading of a notice's words carries for the MTAs that
# send none (floor just under what the parser reaches).
python3 "$TOP/tests/tools/score_text_only.py" "$BIN" "${BG_TEXT_ONLY_FLOOR:-0.965}" \
    "$TOP/tests/data/bounces" "$DATA" || rc=1
exit "$rc"
