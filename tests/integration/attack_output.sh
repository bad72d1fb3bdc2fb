#!/usr/bin/env bash
# attack_output — output an attacker cannot abuse (security issue 18, item 5).
# Hostile bytes in a bounce or a store record (ESC sequences, the C1 CSI
# 0x9B raw and as UTF-8, invalid UTF-8, bidi controls) never reach the
# operator's terminal as such: `show`, `list`, `check`, `audit`, `diagnose`
# print only printable UTF-8, every --json line and `bounceguard-dsn parse
# --json` is valid UTF-8 and valid JSON; the audit names the real user, not
# $SUDO_USER; a config error does not quote a file the caller could not read.
# No network ports.  Runs as root (setpriv for the unprivileged user).
set -u
T=$(mktemp -d /tmp/bg-attack-output.XXXXXX)
MILTER_PORT=2799 # written into the config, never opened
. "$TOP/tests/integration/lib.sh"
trap 'rm -rf "$T"' EXIT
chmod 755 "$T"
DSN=$BIN/bounceguard-dsn
SEED=$BIN/tools/intake_seed
STORE_SEED=$BIN/tools/seed_store
DATA=$TOP/tests/data/intake

if [ ! -x "$BIN/bounceguard" ] || [ ! -x "$DSN" ] || [ ! -x "$SEED" ] || [ ! -x "$STORE_SEED" ]; then
    notok "bounceguard, bounceguard-dsn and the seed tools are built in $BIN"
    exit 1
fi

# printable FILE: only printable UTF-8 (newline allowed; no other C0, no DEL,
# no C1 in either encoding, no bidi controls); prints what is wrong.
printable() {
    python3 - "$1" <<'EOF'
import sys
data = open(sys.argv[1], 'rb').read()
try:
    text = data.decode('utf-8')
except UnicodeDecodeError as e:
    sys.exit('not UTF-8: %s' % e)
bad = set(range(0x20)) - {0x0a} | {0x7f} | set(range(0x80, 0xa0)) | \
      {0x061c, 0x200e, 0x200f, 0x2028, 0x2029} | set(range(0x202a, 0x202f)) | \
      set(range(0x2066, 0x206a))
found = sorted({'U+%04X' % ord(c) for c in text if ord(c) in bad})
if found:
    sys.exit('unprintable: ' + ' '.join(found))
EOF
}
# json_lines FILE: every line is valid UTF-8 and one JSON value (strict:
# python's json refuses raw control characters in strings).
json_lines() {
    python3 - "$1" <<'EOF'
import json, sys
lines = open(sys.argv[1], 'rb').read().splitlines()
if not lines:
    sys.exit('no output')
for n, raw in enumerate(lines, 1):
    try:
        json.loads(raw.decode('utf-8'))
    except Exception as e:
        sys.exit('line %d: %s' % (n, e))
EOF
}
# out_check WHAT FILE: printable and, for a file named *.json, JSON lines.
out_check() {
    local what=$1 f=$2 why
    why=$(printable "$f" 2>&1) && ok "$what: printable UTF-8" || notok "$what: $why"
    case $f in
    *.json) why=$(json_lines "$f" 2>&1) && ok "$what: JSON lines parse" || notok "$what: $why" ;;
    esac
}

# The hostile text: an OSC title + BEL, a clear screen, CSI as UTF-8 and as
# a raw byte, 0xFF, an overlong '/', a surrogate, RLO and LRI, then some
# valid non-ASCII text that must come out as it went in.
HOSTILE=$(printf '\033]0;pwned\a\033[2J\302\23331m\233\377\300\257\355\240\200\342\200\256RLO\342\201\246 caf\303\251 \344\270\255')
CONF=$T/bg.conf
write_milter_conf "$CONF" check_tld=no
bg() { "$BIN/bounceguard" -c "$CONF" "$@"; }

# ---- a hostile bounce: parse --json, then into the store -----------------
python3 - "$DATA/hard-5.1.1.eml" "$T/hostile.eml" "$HOSTILE" <<'EOF'
import os, sys
src = open(sys.argv[1], 'rb').read()
h = os.fsencode(sys.argv[3])
src = src.replace(b'Diagnostic-Code: smtp; 550 5.1.1 <gone@remote.example>: Recipient address',
                  b'Diagnostic-Code: smtp; 550 5.1.1 <gone@remote.example>: ' + h + b' Recipient address')
src = src.replace(b'Remote-MTA: dns; store.remote.example',
                  b'Remote-MTA: dns; store\x9b\xc2\x9b\xe2\x80\xae.remote.example')
open(sys.argv[2], 'wb').write(src)
EOF
"$DSN" parse --json "$T/hostile.eml" > "$T/parse.json" 2>&1
out_check "bounceguard-dsn parse --json of a hostile DSN" "$T/parse.json"
check "... and still gives the recipient and the reason" \
    grep -q '"recipient": "gone@remote.example".*"reason": "userunknown"' "$T/parse.json"
check "... valid UTF-8 is kept as it is (café 中)" grep -q 'café 中' "$T/parse.json"
"$DSN" parse "$T/hostile.eml" > "$T/parse.txt" 2>&1
out_check "bounceguard-dsn parse (table) of a hostile DSN" "$T/parse.txt"

"$SEED" "$T/db" message '<orig-1@app.customer.example>' 4ATK1 192.0.2.10 \
    app@customer.example gone@remote.example > /dev/null
"$DSN" -c "$CONF" pipe --client-ip 192.0.2.25 --helo mx.remote.example \
    --sender MAILER-DAEMON --recipient app@customer.example < "$T/hostile.eml"
check "the hostile bounce blacklists gone@remote.example" \
    test "$("$SEED" "$T/db" rcpt gone@remote.example | cut -d' ' -f1)" = blacklisted

# ---- hostile store records from every side -------------------------------
bg block victim@example.com --reason "$HOSTILE" > /dev/null
"$STORE_SEED" "$T/db" bounce other@example.org "$HOSTILE" "5.7.1$(printf '\233')" 60 \
    "sasl:$(printf 'mallory\033[8m\302\233')"
"$STORE_SEED" "$T/db" incident "zen$(printf '\033[5m')" "mx$(printf '\233\342\200\256').example" \
    gone@remote.example

bg show gone@remote.example > "$T/show-dsn.txt" 2>&1
out_check "show of a record from a hostile bounce" "$T/show-dsn.txt"
check "... the diagnostic is there, escaped (\\u009b, \\x9b, \\u202e)" \
    grep -q 'diagnostic .*\\u009b31m.*\\u202eRLO' "$T/show-dsn.txt"
bg show victim@example.com > "$T/show-block.txt" 2>&1
out_check "show of an operator block with a hostile reason" "$T/show-block.txt"
check "... escapes ESC, BEL, 0x9B and invalid UTF-8 visibly" \
    grep -qF '\x1b]0;pwned\x07\x1b[2J\u009b31m\x9b\xff\xc0\xaf\xed\xa0\x80\u202eRLO\u2066 café 中' \
    "$T/show-block.txt"
bg show other@example.org > "$T/show-seed.txt" 2>&1
out_check "show of a record with a hostile status and sender" "$T/show-seed.txt"
bg list --all > "$T/list.txt" 2>&1
out_check "list --all" "$T/list.txt"
check "... shows the three records" test "$(grep -c '@' "$T/list.txt")" -ge 3
bg check other@example.org > "$T/check.txt" 2>&1
out_check "check of a hostile record" "$T/check.txt"
bg check victim@example.com > "$T/check2.txt" 2>&1
out_check "check of a hostile manual block" "$T/check2.txt"
bg audit > "$T/audit.txt" 2>&1
out_check "audit with a hostile reason" "$T/audit.txt"
bg diagnose > "$T/diagnose.txt" 2>&1
out_check "diagnose with a hostile incident and sender" "$T/diagnose.txt"
bg rbl incidents > "$T/incidents.txt" 2>&1
out_check "rbl incidents" "$T/incidents.txt"
for cmd in "list --all" "show gone@remote.example" "show victim@example.com" \
           "show other@example.org" audit diagnose "rbl incidents" export \
           "check other@example.org"; do
    # shellcheck disable=SC2086
    bg --json $cmd > "$T/cmd.json" 2>&1
    out_check "--json $cmd" "$T/cmd.json"
done
bg --json show victim@example.com > "$T/show.json"
check "--json show: the diagnostic holds the C1 and bidi characters, valid text kept" \
    python3 -c 'import json,sys; d=json.loads(open(sys.argv[1],"rb").read().decode())["diagnostic"]; sys.exit(not ("\x9b31m" in d and "\u202eRLO" in d and "café 中" in d and "\ufffd" in d))' \
    "$T/show.json"

# ---- the audit names the real user ------------------------------------------
mkdir -p "$T/nob.db" "$T/nob.log"
chown nobody:nogroup "$T/nob.db" "$T/nob.log"
chmod 700 "$T/nob.db"
printf 'db_home = %s\nlog_dir = %s\nsyslog = no\nuser =\n' "$T/nob.db" "$T/nob.log" > "$T/nob.conf"
chmod 644 "$T/nob.conf"
open_bin # the programs where nobody can run them
out=$(as_nobody env SUDO_USER=root "$OBIN/bounceguard" -c "$T/nob.conf" block forged@example.com \
    --reason 'who did this' 2>&1)
check "nobody can write its own store ($out)" grep -q 'blocked' <<<"$out"
audit=$(as_nobody "$OBIN/bounceguard" -c "$T/nob.conf" audit 2>&1)
check "SUDO_USER=root set by nobody: the audit names nobody ($audit)" \
    grep -q '^[-0-9 :Z]* nobody block forged@example.com' <<<"$audit"
check "... and not root" bash -c "! grep -q 'root' <<<'$audit'"
out=$(as_nobody env SUDO_USER=root "$OBIN/bounceguard" -c "$CONF" block x@example.com 2>&1); rc=$?
check "nobody cannot write root's store (exit $rc)" test "$rc" -ne 0
SUDO_USER=alice bg block sudoed@example.com --reason sudo > /dev/null
check "root with SUDO_USER=alice is recorded as 'root (sudo: alice)'" \
    grep -q 'root (sudo: alice) block sudoed@example.com' <<<"$(bg audit)"
SUDO_USER=$(printf 'eve\033[2J') bg block sudoed2@example.com > /dev/null
bg audit > "$T/audit2.txt"
check "... a hostile SUDO_USER is escaped" grep -qF 'root (sudo: eve\x1b[2J) block sudoed2' "$T/audit2.txt"

# ---- config errors do not quote a file the caller cannot read ---------------
SECRET='s3cr3t-hunter2'
printf 'syslog = no\n%s = 1\n' "$SECRET" > "$T/secret-key.conf"
printf 'syslog = no\nmode = %s\n' "$SECRET" > "$T/secret-value.conf"
printf 'syslog = no\nroot:$6$%s:19000::::::\n' "$SECRET" > "$T/secret-line.conf"
chmod 600 "$T"/secret-*.conf
for f in key value line; do
    out=$(as_nobody "$OBIN/bounceguard" -c "$T/secret-$f.conf" config --check 2>&1)
    check "nobody, root-only config with a bad $f: the secret is not shown ($out)" \
        bash -c "! grep -q '$SECRET' <<<'$out'"
    out=$(SUDO_UID=65534 SUDO_USER=nobody "$BIN/bounceguard" -c "$T/secret-$f.conf" config --check 2>&1)
    check "under sudo, bad $f: the secret is not shown, file:line is ($out)" \
        bash -c "! grep -q '$SECRET' <<<'$out' && grep -q 'secret-$f.conf:2: ' <<<'$out'"
    test "$(wc -l <<<"$out")" -eq 1 || notok "under sudo, bad $f: one line"
done
# a set-uid copy run by nobody: the real uid cannot read the file
cp "$BIN/bounceguard" "$T/bg-setuid"
chown root:root "$T/bg-setuid"
chmod 4755 "$T/bg-setuid"
out=$(as_nobody "$T/bg-setuid" -c "$T/secret-value.conf" config --check 2>&1)
if grep -q 'secret-value.conf:2' <<<"$out"; then
    check "set-uid, run by nobody: 'mode' named, the secret not shown ($out)" \
        bash -c "! grep -q '$SECRET' <<<'$out' && grep -q ':2: mode: the value is not one of' <<<'$out'"
else
    echo "# set-uid copy did not run set-uid here (nosuid?): $out"
fi
out=$(env -u SUDO_UID "$BIN/bounceguard" -c "$T/secret-value.conf" config --check 2>&1)
check "root reading its own file: the error quotes the value ($out)" \
    grep -q "secret-value.conf:2: mode: \"$SECRET\" is not one of: enforce, observe" <<<"$out"
out=$(env -u SUDO_UID "$BIN/bounceguard" -c "$T/secret-key.conf" config --check 2>&1)
check "root reading its own file: an unknown key is named ($out)" \
    grep -q "secret-key.conf:2: unknown key \"$SECRET\"" <<<"$out"
