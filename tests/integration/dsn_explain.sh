#!/usr/bin/env bash
# Why a bounce is judged so: `bounceguard-dsn explain` on reply lines and a
# real DSN, an administrator's reply_rules_file (checked by -n, used by
# explain and by the pipe), and `bounceguard show` naming the rule that
# blacklisted an address.  No MTA: the programs over a store in $T.
set -u
T=$(mktemp -d /tmp/bg-dsn-explain.XXXXXX)
. "$TOP/tests/integration/lib.sh"
trap 'rm -rf "$T"' EXIT
DSN=$BIN/bounceguard-dsn
SEED=$BIN/tools/intake_seed

cat > "$T/bg.conf" <<CONF
db_home = $T/db
log_dir = $T/log
syslog = no
check_tld = no
user =
CONF
mkdir -p "$T/db" "$T/log"

# ---- reply lines ------------------------------------------------------------
out=$(printf '%s\n' \
    "550 5.7.1 Unfortunately, messages from [192.0.2.1] weren't sent. Please contact your Internet service provider since part of their network is on our block list (S3150). You can also refer your provider to http://mail.live.com/mail/troubleshooting.aspx#errors." |
    "$DSN" -c "$T/bg.conf" explain)
check "explain: S3150 is the relay's, named after Microsoft's list" \
    grep -q "scope      relay" <<<"$out"
check "... an incident, not a blacklisting" grep -q "decision   an incident about the relay (Microsoft S3150" <<<"$out"
check "... with the delisting URL and the row's source" \
    bash -c "grep -q 'delist     http://mail.live.com' <<<\"\$1\" && grep -q 'rule       provider table, microsoft' <<<\"\$1\"" _ "$out"
out=$(echo "553 5.1.1 <x@y.example>: Sender address rejected: User unknown (in reply to MAIL FROM command)" |
    "$DSN" -c "$T/bg.conf" explain)
check "explain: 'user unknown' at MAIL FROM blacklists nobody" \
    grep -q "decision   nothing: refused before any recipient was named" <<<"$out"

# ---- a real DSN -------------------------------------------------------------
out=$("$DSN" -c "$T/bg.conf" explain "$TOP/tests/data/dsn/postfix-userunknown.eml")
check "explain FILE: the recipient, its stage and the decision" \
    bash -c "grep -q '^gone.user@example.org' <<<\"\$1\" && grep -q 'stage      rcpt' <<<\"\$1\" && grep -q 'decision   blacklist the recipient' <<<\"\$1\"" _ "$out"
"$DSN" -c "$T/bg.conf" explain "$T/missing.eml" > /dev/null 2> "$T/err"; rc=$?
check "explain of a missing file: exit 1, one line naming it" \
    bash -c "[ $rc -eq 1 ] && [ \$(wc -l < '$T/err') -eq 1 ] && grep -q missing.eml '$T/err'"

out=$("$DSN" -c "$T/bg.conf" explain "$TOP/tests/data/intake/not-a-bounce.eml"); rc=$?
check "explain of a message that is no bounce: one line saying so, exit 0" \
    bash -c "[ $rc -eq 0 ] && [ \$(wc -l <<<\"\$1\") -eq 1 ] && grep -q ': not a bounce' <<<\"\$1\"" _ "$out"

# ---- the administrator's rows -----------------------------------------------
printf 'example-isp\terr-ip-*\trelay\t-\tExample ISP IP list\thttps://example.net/errors\n' > "$T/rules"
cp "$T/bg.conf" "$T/rules.conf"
echo "reply_rules_file = $T/rules" >> "$T/rules.conf"
out=$("$DSN" -c "$T/rules.conf" -n 2>&1); rc=$?
check "-n with a rules file: ok, 1 row ($out)" bash -c "[ $rc -eq 0 ] && grep -q '1 provider rule' <<<'$out'"
printf '# ours\nexample-isp\tERR\trelay\t-\tn\thttps://x\n' > "$T/badrules"
sed "s|$T/rules|$T/badrules|" "$T/rules.conf" > "$T/bad.conf"
out=$("$DSN" -c "$T/bad.conf" -n 2>&1); rc=$?
check "-n with a bad row: exit 3, file:line and what ($out)" \
    bash -c "[ $rc -eq 3 ] && grep -q 'badrules:2: match must be lower case' <<<'$out'"
out=$("$BIN/bounceguard-milter" -n -c "$T/bad.conf" 2>&1); rc=$?
check "the milter refuses the same config ($rc)" [ $rc -ne 0 ]
out=$(echo "550 ERR-IP-17 connection refused" | "$DSN" -c "$T/rules.conf" explain)
check "explain uses the administrator's row" grep -q "Example ISP IP list" <<<"$out"
out=$(echo "550 ERR-IP-17 connection refused" | "$DSN" -c "$T/bg.conf" explain)
not_in() { ! grep -q "$1" <<<"$2"; }
check "... which the built-in table does not have" not_in "Example ISP" "$out"

# ---- the pipe learns by it; show names the rule ------------------------------
"$SEED" "$T/db" message "<orig-x@relay.example>" 4EXPL1 192.0.2.10 "<app@customer.example>" \
    gone@remote.example isp@remote.example > /dev/null
"$SEED" "$T/db" message "<orig-y@relay.example>" 4EXPL2 192.0.2.10 "<app@customer.example>" \
    solo@remote.example > /dev/null
dsn() { # dsn ORIG-MID RCPT STATUS DIAGNOSTIC
    cat <<MSG
From: MAILER-DAEMON@mx.remote.example
To: app@customer.example
Subject: Undelivered Mail Returned to Sender
Message-ID: <dsn-$RANDOM$RANDOM@mx.remote.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

Your message could not be delivered.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.remote.example

Final-Recipient: rfc822; $2
Action: failed
Status: $3
Diagnostic-Code: smtp; $4

--B
Content-Type: text/rfc822-headers

Message-ID: <$1>
From: app@customer.example

--B--
MSG
}
dsn orig-y@relay.example solo@remote.example 5.1.1 \
    "550 5.1.1 <solo@remote.example>: Recipient address rejected: User unknown (in reply to RCPT TO command)" |
    "$DSN" -c "$T/rules.conf" pipe --client-ip 192.0.2.99 --sender MAILER-DAEMON
out=$("$BIN/bounceguard" -c "$T/rules.conf" show solo@remote.example)
check "show names the rule that blacklisted it" grep -q "^rule  *the status code 5.1.1" <<<"$out"
out=$("$BIN/bounceguard" -c "$T/rules.conf" --json show solo@remote.example)
check "... also in JSON" grep -Eq '"rule": ?"the status code 5.1.1"' <<<"$out"
dsn orig-y@relay.example solo@remote.example 5.0.0 "550 ERR-IP-17 connection refused" |
    "$DSN" -c "$T/rules.conf" pipe --client-ip 192.0.2.99 --sender MAILER-DAEMON
check "the pipe records the administrator's relay refusal as an incident" \
    grep -q "RBL incident: the relay is refused by Example ISP IP list" "$T/log/warning.log"
exit 0
