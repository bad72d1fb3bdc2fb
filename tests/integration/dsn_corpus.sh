#!/usr/bin/env bash
# dsn_corpus — the bounce parser against real bounces and golden files.
#
#  1. `bounceguard-dsn parse --json` over the bounce corpus
#     (tests/data/bounces or $BG_BOUNCE_CORPUS), scored by
#     tests/tools/score_corpus.py for recipient, status and reason accuracy
#     against floors that only ever go up as the parser improves.
#  2. Golden files: tests/data/dsn/NAME.eml must give exactly NAME.json.
#  3. Hostile input: a 50 MB message, a 1 MB line, binary garbage, an
#     unreadable file — bounded time, no crash, the right exit status.
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$TOP/$BUILD ;; esac
BIN=$BUILD/bounceguard-dsn
CORPUS=${BG_BOUNCE_CORPUS:-$TOP/tests/data/bounces}
# Floors: recipient, status, reason (raise them as the parser improves).
FLOORS=${BG_DSN_FLOORS:-0.99,0.98,0.98}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ ! -x "$BIN" ]; then
    echo "not ok - $BIN is not built"
    exit 1
fi

# 1. Corpus accuracy.
if [ -f "$CORPUS/expected.tsv" ]; then
    (cd "$CORPUS" && "$BIN" parse --json ./*.eml) >"$tmp/corpus.jsonl" 2>"$tmp/corpus.err"
    rc=$?
    if [ $rc -eq 0 ]; then
        echo "ok - parse --json over the corpus exits 0"
    else
        echo "not ok - parse --json over the corpus exits $rc: $(head -c 300 "$tmp/corpus.err")"
    fi
    python3 "$TOP/tests/tools/score_corpus.py" "$CORPUS/expected.tsv" "$tmp/corpus.jsonl" \
        --floors "$FLOORS"
else
    echo "ok - # SKIP no bounce corpus at $CORPUS"
fi

# 2. Golden files.
for eml in "$TOP"/tests/data/dsn/*.eml; do
    name=$(basename "$eml" .eml)
    want=${eml%.eml}.json
    (cd "$TOP/tests/data/dsn" && "$BIN" parse --json "$name.eml") >"$tmp/$name.out" 2>&1
    if cmp -s "$want" "$tmp/$name.out"; then
        echo "ok - golden $name"
    else
        echo "not ok - golden $name differs:"
        diff "$want" "$tmp/$name.out" | head -20 | sed 's/^/#   /'
    fi
done

# 3. Hostile input.
{
    printf 'From: MAILER-DAEMON@example.org\nSubject: Undelivered Mail\n'
    printf 'Content-Type: multipart/report; boundary="b"\n\n--b\nContent-Type: text/plain\n\n'
    printf '<big@example.com>: host mx.example.com said: 550 5.1.1 User unknown\n\n--b\n'
    printf 'Content-Type: message/rfc822\n\nSubject: x\n\n'
    head -c 50000000 /dev/zero | tr '\0' 'A'
    printf '\n--b--\n'
} >"$tmp/big.eml"
start=$(date +%s)
timeout 60 "$BIN" parse --json "$tmp/big.eml" >"$tmp/big.out" 2>&1
rc=$?
secs=$(($(date +%s) - start))
if [ $rc -eq 0 ] && grep -q '"big@example.com"' "$tmp/big.out" && [ $secs -lt 20 ]; then
    echo "ok - a 50 MB message is parsed in ${secs}s"
else
    echo "not ok - 50 MB message: rc=$rc in ${secs}s: $(head -c 300 "$tmp/big.out")"
fi

{
    printf 'From: MAILER-DAEMON@example.org\nSubject: failure notice\nX-Long: '
    head -c 1048576 /dev/zero | tr '\0' 'x'
    printf '\n\n<a@example.com>:\n'
    head -c 1048576 /dev/zero | tr '\0' '@'
    printf '\n550 5.2.2 mailbox full\n'
} >"$tmp/longline.eml"
timeout 30 "$BIN" parse --json "$tmp/longline.eml" >"$tmp/longline.out" 2>&1
rc=$?
if [ $rc -eq 0 ] && grep -q '"bounce": false\|"recipient"' "$tmp/longline.out"; then
    echo "ok - 1 MB lines are survived"
else
    echo "not ok - 1 MB lines: rc=$rc $(head -c 300 "$tmp/longline.out")"
fi

head -c 200000 /dev/urandom >"$tmp/garbage.eml"
timeout 30 "$BIN" parse --json "$tmp/garbage.eml" >"$tmp/garbage.out" 2>&1
rc=$?
if [ $rc -eq 0 ] && [ "$(wc -l <"$tmp/garbage.out")" -ge 1 ]; then
    echo "ok - binary garbage gives an answer"
else
    echo "not ok - binary garbage: rc=$rc"
fi

"$BIN" parse --json "$tmp/does-not-exist.eml" "$TOP/tests/data/dsn/"*.eml >"$tmp/mixed.out" 2>"$tmp/mixed.err"
rc=$?
if [ $rc -ne 0 ] && [ "$(wc -l <"$tmp/mixed.err")" -eq 1 ] && [ -s "$tmp/mixed.out" ]; then
    echo "ok - an unreadable file: one error line, the others parsed, exit $rc"
else
    echo "not ok - unreadable file handling: rc=$rc err=$(cat "$tmp/mixed.err")"
fi

"$BIN" -c /nonexistent/bounceguard.conf parse "$TOP/tests/data/dsn/"*.eml >"$tmp/table.out" 2>&1
rc=$?
if [ $rc -eq 0 ] && head -1 "$tmp/table.out" | grep -q '^FILE  *RECIPIENT  *ACTION  *STATUS  *REASON'; then
    echo "ok - -c is accepted and the table has a header"
else
    echo "not ok - table output: rc=$rc $(head -3 "$tmp/table.out")"
fi
