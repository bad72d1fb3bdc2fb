#!/usr/bin/env bash
# The store-facing commands of the operator CLI against a real store in a
# temp dir: block/list/show/unblock/audit, check, senders, debug, incidents,
# diagnose, import of each foreign format, export->import, a 100000-entry
# list, usage errors and a store the user may not write.
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-build}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "$TOP/tests/integration/lib.sh"
DATA=$TOP/tests/data/import
SEED=$BIN/tools/seed_store

# mkconf NAME [key=value...]: a config with its own store under $T/NAME.
mkconf() {
    local name=$1; shift
    mkdir -p "$T/$name.log"
    {
        echo "db_home = $T/$name.db"
        echo "log_dir = $T/$name.log"
        echo "syslog = no"
        echo "user ="
        for kv in "$@"; do echo "${kv%%=*} = ${kv#*=}"; done
    } > "$T/$name.conf"
}
mkconf main sender_bounce_limit=3 quota_limit=5
CONF=$T/main.conf
bg() { "$BIN/bounceguard" -c "$CONF" "$@"; }
# rc CMD...: the exit status of a command, output discarded.
rc() { "$@" > /dev/null 2>&1; echo $?; }
# jget FIELD: read one JSON object on stdin, print a field (python3 json).
jget() { python3 -c 'import json,sys; v=json.loads(sys.stdin.readline()); print(v if sys.argv[1]=="." else json.dumps(v[sys.argv[1]]) if not isinstance(v[sys.argv[1]],str) else v[sys.argv[1]])' "$1"; }
now=$(date +%s)

if [ ! -x "$BIN/bounceguard" ] || [ ! -x "$SEED" ]; then
    notok "bounceguard and tools/seed_store are built in $BIN"
    exit 1
fi

# ---- usage errors -------------------------------------------------------
for args in "list --bogus" "list --sort size" "list --limit x" "block" "block not-an-address" \
            "unblock" "show" "show a@b.example c@d.example" "check" "sender show" \
            "sender frob ip:1.2.3.4" "sender show host:x" "debug" "debug maybe" \
            "check a@example.com --sender 1.2.3.4" "import" "block a@example.com --for -3d" \
            "nosuchcommand"; do
    # shellcheck disable=SC2086
    out=$(bg $args 2>&1); r=$?
    check "bad arguments '$args' exit 2 with a usage line" \
        test "$r" -eq 2 -a -n "$(grep -E '^usage:|Try' <<<"$out")"
done

# ---- block / list / show / unblock / audit round trip ---------------------
check "list on a store that does not exist yet is a clean run-time error" \
    test "$(rc bg list)" -eq 4
check "block two addresses" test "$(rc bg block John.Doe@Example.COM x@example.org --for 30d --reason 'test block')" -eq 0
out=$(bg list)
check "list shows the canonical address" grep -q '^john.doe@example.com  *blacklisted' <<<"$out"
check "list prints a header and 2 rows" test "$(wc -l <<<"$out")" -eq 3
j=$(bg --json list --domain EXAMPLE.com)
check "list --domain filters by canonical domain" test "$(wc -l <<<"$j")" -eq 1
check "list --json: address" test "$(jget address <<<"$j")" = john.doe@example.com
check "list --json: state blacklisted" test "$(jget state <<<"$j")" = blacklisted
check "list --json: diagnostic is the reason given" test "$(jget diagnostic <<<"$j")" = "test block"
left=$(jget seconds_left <<<"$j")
check "list --json: 30 days left" test "$left" -gt $((30 * 86400 - 60)) -a "$left" -le $((30 * 86400))
check "show exits 0 for a known address" test "$(rc bg show john.doe@example.com)" -eq 0
check "show prints state and release" grep -Eq '^release .*in (30d|29d 23h)' <<<"$(bg show JOHN.DOE@example.com)"
check "show of an unknown address exits 1" test "$(rc bg show nobody@example.com)" -eq 1
j=$(bg show --json x@example.org)
check "show --json: source manual" test "$(jget source <<<"$j")" = manual

out=$(SUDO_USER=alice bg unblock john.doe@example.com --grace 7d --reason "user fixed mailbox")
check "unblock exits 0 and says so" grep -q 'john.doe@example.com: unblocked' <<<"$out"
j=$(bg --json show john.doe@example.com)
check "after unblock the state is unblocked" test "$(jget state <<<"$j")" = unblocked
g=$(python3 -c 'import json,sys,datetime; v=json.loads(sys.stdin.read()); print(int(datetime.datetime.strptime(v["grace_until"],"%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc).timestamp()))' <<<"$j")
check "unblock --grace 7d sets grace_until to now + 7d" \
    test "$g" -ge $((now + 7 * 86400 - 5)) -a "$g" -le $((now + 7 * 86400 + 60))
"$SEED" "$T/main.db" bounce john.doe@example.com userunknown 5.1.1 0 ip:192.0.2.9
j=$(bg --json show john.doe@example.com)
check "a bounce inside the grace period does not re-block" test "$(jget blacklisted <<<"$j")" = false
check "... but is counted" test "$(jget bounce_count <<<"$j")" = 1
check "unblocking an address that is not blacklisted exits 1" \
    test "$(rc bg unblock john.doe@example.com --grace 0)" -eq 1
check "list --all shows the unblocked entry" grep -q 'john.doe@example.com *unblocked' <<<"$(bg list --all)"
check "list --expired shows only released entries" \
    test "$(bg --json list --expired | wc -l)" -eq 1
out=$(bg audit)
check "audit names who unblocked, what and why" \
    grep -q 'root (sudo: alice) unblock john.doe@example.com grace 7d: user fixed mailbox' <<<"$out"
check "audit lists the block with its reason" grep -q 'block x@example.org for 30d: test block' <<<"$out"
check "audit --limit 1 --json gives the last line" \
    grep -q 'unblock' <<<"$(bg --json audit --limit 1 | jget text)"

"$SEED" "$T/main.db" bounces dom 3 bulk.example
check "unblock --domain releases every blacklisted recipient there" \
    test "$(bg --json unblock --domain bulk.example --reason 'domain fixed' | grep -c '"unblocked"')" -eq 3
check "nothing at bulk.example is blacklisted any more" \
    test "$(bg --json list --domain bulk.example | wc -l)" -eq 0

# ---- check --------------------------------------------------------------
check "check: a fine address exits 0" test "$(rc bg check fine@example.com)" -eq 0
check "check: an invalid address exits 1" test "$(rc bg check 'two@@example.com')" -eq 1
check "check: an unknown TLD exits 1" test "$(rc bg check someone@example.invalidtld)" -eq 1
check "check: a blacklisted address exits 1" test "$(rc bg check x@example.org)" -eq 1
j=$(bg --json check x@example.org)
check "check --json: verdict blocked-manually (x@ was blocked by hand)" \
    test "$(jget verdict <<<"$j")" = blocked-manually
check "check --json: release time given" test "$(jget release <<<"$j")" != null
check "check --json: the milter's reply" grep -q '^550 5.7.1 ' <<<"$(jget reply <<<"$j")"
check "check --json: bad address verdict" \
    test "$(bg --json check 'two@@example.com' | jget verdict)" = "$(bg --json check '<>' | jget verdict)"
check "check --json: unknown TLD is a bad domain" \
    grep -q '5.1.2' <<<"$(bg --json check someone@example.invalidtld | jget reply)"
check "check writes nothing (no sender, no tried entry)" \
    test "$(bg --json stats | jget tried)" = 0

# ---- senders ------------------------------------------------------------
"$SEED" "$T/main.db" quota ip:192.0.2.10 2 5
"$SEED" "$T/main.db" quota sasl:busy 5 5
for i in 1 2 3; do "$SEED" "$T/main.db" bounce "gone$i@example.net" userunknown 5.1.1 60 sasl:scanner; done
"$SEED" "$T/main.db" tried sasl:scanner gone1@example.net gone2@example.net gone3@example.net
"$SEED" "$T/main.db" quota sasl:scanner 1 5
j=$(bg --json senders)
check "senders lists 3 senders" test "$(wc -l <<<"$j")" -eq 3
s=$(grep '"ip:192.0.2.10"' <<<"$j")
check "senders: quota used 2 of 5" test "$(jget quota_used <<<"$s")/$(jget quota_left <<<"$s")" = 2/3
check "senders: window reset = window start + 24h" python3 -c '
import json,sys,datetime
v=json.loads(sys.argv[1]); f=lambda s: datetime.datetime.strptime(s,"%Y-%m-%dT%H:%M:%SZ")
sys.exit(0 if (f(v["window_reset"])-f(v["window_start"])).total_seconds()==86400 else 1)' "$s"
check "senders: sasl:busy is over quota" test "$(grep '"sasl:busy"' <<<"$j" | jget over_quota)" = true
check "senders: sasl:scanner is blocked (3 blacklisted tried, limit 3)" \
    test "$(grep '"sasl:scanner"' <<<"$j" | jget blocked)" = true
check "senders --blocked shows the two in trouble" test "$(bg --json senders --blocked | wc -l)" -eq 2
out=$(bg sender show sasl:scanner)
check "sender show lists the blacklisted recipients tried" \
    test "$(grep -c '^gone[123]@example.net' <<<"$out")" -eq 3
check "show names the sender that tried the recipient" \
    grep -q '^tried by .*sasl:scanner' <<<"$(bg show gone1@example.net)"
# A sender whose quota record is gone (its window long over) still has its
# tried records: show finds it too.
"$SEED" "$T/main.db" tried ip:203.0.113.9 gone2@example.net
j=$(bg --json show gone2@example.net)
check "show --json names every sender that tried it, one with no quota record too" \
    python3 -c 'import json,sys; v=json.loads(sys.argv[1]); sys.exit(0 if sorted(v["tried_by"]) == ["ip:203.0.113.9", "sasl:scanner"] and v["tried_by_complete"] else 1)' "$j"
check "check --sender of a blocked sender exits 1 (sender-blocked)" \
    test "$(bg --json check fine@example.com --sender sasl:scanner | jget verdict)" = sender-blocked
check "check --sender of a sender over quota: quota" \
    test "$(bg --json check fine@example.com --sender sasl:busy | jget verdict)" = quota
check "check --sender ip: of a sender with quota left exits 0" \
    test "$(rc bg check fine@example.com --sender ip:192.0.2.10)" -eq 0
check "check --sender took no quota" \
    test "$(bg --json sender show ip:192.0.2.10 | jget quota_used)" = 2
check "sender reset exits 0" test "$(rc bg sender reset sasl:scanner --reason cleaned)" -eq 0
check "after reset the sender may send again" \
    test "$(rc bg check fine@example.com --sender sasl:scanner)" -eq 0
check "the reset is in the audit trail" grep -q 'sender reset sasl:scanner' <<<"$(bg audit)"
check "sender reset of an unknown sender exits 1" test "$(rc bg sender reset ip:198.51.100.7)" -eq 1

# ---- debug, incidents, diagnose, purge, stats ------------------------------
check "debug status before any switch: off" grep -q '^debug off' <<<"$(bg debug status)"
check "debug on" test "$(rc bg debug on)" -eq 0
check "debug status: on" test "$(bg --json debug status | jget debug)" = on
check "debug off" test "$(rc bg debug off)" -eq 0
check "debug status: off" test "$(bg --json debug status | jget debug)" = off
"$SEED" "$T/main.db" incident zen.spamhaus.org mx.remote.example victim@remote.example
"$SEED" "$T/main.db" incident zen.spamhaus.org mx.remote.example victim@remote.example
j=$(bg --json rbl incidents)
check "rbl incidents: the list, the server, the count" \
    test "$(jget rbl <<<"$j")/$(jget remote_mta <<<"$j")/$(jget count <<<"$j")" = \
    "zen.spamhaus.org/mx.remote.example/2"
check "rbl incidents: the delisting page of a known list" grep -q spamhaus <<<"$(jget delist_url <<<"$j")"
"$SEED" "$T/main.db" bounce refused@private.example blocked 5.7.1 0 ip:192.0.2.10
j=$(bg --json diagnose)
check "diagnose --json parses and counts the blacklisted" \
    test "$(jget blacklisted <<<"$j")" = "$(bg --json list | wc -l)"
check "diagnose advises the open-relay test" grep -q 'relay-test' <<<"$(jget actions <<<"$j")"
check "diagnose names the private blacklist's postmaster" \
    grep -q 'postmaster@private.example' <<<"$(jget private_blacklists <<<"$j")"
check "diagnose lists the sender over quota" grep -q 'sasl:busy' <<<"$(jget senders <<<"$j")"
check "diagnose exits 1 when something needs attention" test "$(rc bg diagnose)" -eq 1
check "diagnose prints a human report" grep -q '^What to do next' <<<"$(bg diagnose)"
mkconf short history_period=0
check "block --for 1s in a store without history" \
    test "$(rc "$BIN/bounceguard" -c "$T/short.conf" block gone@example.com --for 1s)" -eq 0
sleep 2
check "purge removes the expired record" \
    grep -q '^purged 1 ' <<<"$("$BIN/bounceguard" -c "$T/short.conf" purge)"
check "stats: blacklisted + expired + unblocked = recipients" python3 -c '
import json,sys; v=json.loads(sys.argv[1])
sys.exit(0 if v["blacklisted"]+v["expired"]+v["unblocked"]==v["recipients"] else 1)' "$(bg --json stats)"

# ---- stats: the environment's health -----------------------------------------
# 40,000 bounces write several 2 MB log files; the CLI's orderly close takes
# a checkpoint (right after failchk) and the files no checkpoint needs go:
# the log stays a file or two even for a store only the CLI writes.  stats
# counts what is on disk.
mkconf logs
python3 -c 'import sys
print("email,created,reason,status")
for i in range(40000): print("u%d@example.com,%s,550 5.1.1 unknown,5.1.1" % (i, sys.argv[1]))' "$now" \
    > "$T/many.csv"
"$BIN/bounceguard" -c "$T/logs.conf" import "$T/many.csv" > /dev/null
j=$("$BIN/bounceguard" -c "$T/logs.conf" --json stats)
on_disk=$(ls "$T/logs.db" | grep -c '^log\.')
bytes=$(cat "$T"/logs.db/log.* | wc -c)
check "stats: the log files on disk, a file or two after the import's close ($on_disk files, $bytes bytes; stats says $(jget log_files <<<"$j"), $(jget log_bytes <<<"$j"))" \
    test "$on_disk" -le 2 -a "$(jget log_files <<<"$j")" = "$on_disk" -a "$(jget log_bytes <<<"$j")" = "$bytes"
check "stats: the last checkpoint in ISO 8601 ($(jget last_checkpoint <<<"$j"))" \
    grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$' <<<"$(jget last_checkpoint <<<"$j")"
check "stats: the import closed with a checkpoint: little log since, a short recovery ($(jget log_since_checkpoint_bytes <<<"$j") bytes, $(jget recovery_estimate_ms <<<"$j") ms)" \
    test "$(jget log_since_checkpoint_bytes <<<"$j")" -lt 100000 -a "$(jget recovery_estimate_ms <<<"$j")" -gt 0 \
    -a "$(jget recovery_estimate_ms <<<"$j")" -lt 1000
check "stats: recovery estimate in the text output" \
    grep -Eq '^recovery estimate +(under|about) [0-9.]+ s' <<<"$("$BIN/bounceguard" -c "$T/logs.conf" stats)"
check "stats: no deadlock in a store written by one process ($(jget deadlocks <<<"$j"))" \
    test "$(jget deadlocks <<<"$j")" = 0

# ---- import of foreign formats --------------------------------------------
mkconf imp never_blacklist=@never.example
imp() { "$BIN/bounceguard" -c "$T/imp.conf" "$@"; }
for f in ses.json sendgrid.csv sendgrid.json mailgun.csv mailgun.json; do
    j=$(imp --json import "$DATA/$f")
    check "import $f: no errors" test "$(jget errors <<<"$j")" = 0
    check "import $f: entries imported" test "$(jget imported <<<"$j")" -ge 2
done
check "import detected the SES format" grep -q 'Amazon SES' <<<"$(imp import --dry-run "$DATA/ses.json")"
check "import detected Mailgun CSV" grep -q 'Mailgun' <<<"$(imp import --dry-run "$DATA/mailgun.csv")"
check "SES: the address is canonical, the time kept (+01:00)" \
    test "$(imp --json show ses-complaint@example.org | jget last_bounce)" = 2023-03-01T07:00:00Z
check "SES: an old bounce is imported expired" \
    test "$(imp --json show ses-bounce@example.com | jget state)" = expired
check "SendGrid: status gives the reason" \
    test "$(imp --json show sg-full@example.com | jget reason)" = mailboxfull
check "SendGrid CSV: a blank-separated time" \
    test "$(imp --json show sg-full@example.com | jget last_bounce)" = 2023-02-15T09:30:00Z
check "Mailgun CSV: a quoted field over two lines, RFC 2822 time" \
    test "$(imp --json show mg-unknown@example.com | jget last_bounce)" = 2023-02-14T10:11:12Z
check "Mailgun: no time -> blocked for blacklist_period from now" \
    test "$(imp --json show mg-notime@example.com | jget state)" = blacklisted
check "Mailgun JSON: numeric code" test "$(imp --json show mg-json2@example.org | jget status)" = 5.2.2
check "importing the same file twice counts each bounce once" \
    test "$(imp --json import "$DATA/sendgrid.json" | jget skipped)" = 2
printf 'email,created,reason,status\nfresh@example.com,%s,550 5.1.1 unknown,5.1.1\nx@never.example,%s,gone,5.1.1\n' \
    "$now" "$now" > "$T/recent.csv"
j=$(imp --json import --dry-run "$T/recent.csv")
check "import --dry-run counts what the import will blacklist ($(jget blacklisted_now <<<"$j"))" \
    test "$(jget blacklisted_now <<<"$j")" = 1 -a "$(jget dry_run <<<"$j")" = true
j=$(imp --json import "$T/recent.csv")
check "a recent foreign bounce is blacklisted now" test "$(jget blacklisted_now <<<"$j")" = 1
check "never_blacklist addresses are skipped" test "$(jget skipped <<<"$j")" = 1
err=$(imp import "$DATA/bad.csv" 2>&1 >/dev/null); r=$?
check "bad lines: non-zero exit" test "$r" -eq 1
check "bad lines: one error each naming file:line" \
    test "$(grep -c "bad.csv:[34]: " <<<"$err")" -eq 2
check "bad lines: the good lines are imported" \
    test "$(rc imp show also-good@example.com)" -eq 0
err=$(imp import "$DATA/bad.jsonl" 2>&1 >/dev/null); r=$?
check "bad JSON line: exit 1 and file:2 named" test "$r" -eq 1 -a -n "$(grep 'bad.jsonl:2: ' <<<"$err")"
check "bad JSON line: the next line still imported" test "$(rc imp show line3@example.com)" -eq 0
printf '\x00\x01binary' > "$T/binary.dat"
check "a binary file is refused with exit 1, no crash" test "$(rc imp import "$T/binary.dat")" -eq 1
check "a missing file: exit 1" test "$(rc imp import "$T/nonexistent.csv")" -eq 1

# ---- export -> import round trip -------------------------------------------
bg export > "$T/export.jsonl"
check "export writes one line per recipient" \
    test "$(wc -l < "$T/export.jsonl")" -eq "$(bg --json stats | jget recipients)"
mkconf fresh
check "import of the export into a fresh store" \
    test "$(rc "$BIN/bounceguard" -c "$T/fresh.conf" import "$T/export.jsonl")" -eq 0
"$BIN/bounceguard" -c "$T/fresh.conf" export > "$T/export2.jsonl"
check "the fresh store exports the same entries" python3 -c '
import json,sys
def load(p):
    out={}
    for l in open(p):
        v=json.loads(l); v.pop("seconds_left"); out[v["address"]]=v
    return out
sys.exit(0 if load(sys.argv[1])==load(sys.argv[2]) else 1)' "$T/export.jsonl" "$T/export2.jsonl"

# ---- 100000 entries ------------------------------------------------------
mkconf big
"$SEED" "$T/big.db" bounces u 100000
start=$(date +%s%N)
n=$("$BIN/bounceguard" -c "$T/big.conf" --json list | wc -l)
ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "# list --json of 100000 entries: ${ms} ms"
check "list --json of 100000 entries prints 100000 lines" test "$n" -eq 100000
check "... in less than 20 seconds" test "$ms" -lt 20000
check "list of 100000 entries: header + 100000 rows" \
    test "$("$BIN/bounceguard" -c "$T/big.conf" list | wc -l)" -eq 100001
check "list --sort count --limit 10" \
    test "$("$BIN/bounceguard" -c "$T/big.conf" --json list --sort count --limit 10 | wc -l)" -eq 10

# ---- run as root, the CLI works as the daemons' user -------------------------
chmod 755 "$T"
mkconf drop user=nobody
cp "$DATA/sendgrid.json" "$T/root-only.json"
chmod 600 "$T/root-only.json"
check "root with user = nobody: block creates the store" \
    test "$(rc "$BIN/bounceguard" -c "$T/drop.conf" block a@example.com)" -eq 0
check "... and every store file belongs to nobody" \
    test -z "$(find "$T/drop.db" ! -user nobody)" -a -n "$(find "$T/drop.db" -type f)"
check "root with user = nobody: import reads a root-only file" \
    test "$(rc "$BIN/bounceguard" -c "$T/drop.conf" import "$T/root-only.json")" -eq 0
check "... and the store files still all belong to nobody" \
    test -z "$(find "$T/drop.db" ! -user nobody)"
check "... and the audit trail names root, not nobody" \
    grep -q 'root block a@example.com' <<<"$(env -u SUDO_USER "$BIN/bounceguard" -c "$T/drop.conf" audit)"

# ---- a store the user may not write ----------------------------------------
chmod 644 "$CONF"
chmod 700 "$T/main.db"
open_bin # the programs where nobody can run them
for args in list "block a@example.com" "unblock x@example.org" "check a@example.com" stats \
            "debug on" senders diagnose export; do
    # shellcheck disable=SC2086
    err=$(as_nobody "$OBIN/bounceguard" -c "$CONF" $args 2>&1 >/dev/null); r=$?
    check "as nobody, '$args': exit 4 with one clean error line" \
        test "$r" -eq 4 -a "$(wc -l <<<"$err")" -eq 1 -a -n "$(grep 'bounceguard: .*: store' <<<"$err")"
done
