#!/usr/bin/env bash
# `bounceguard config`: the dump is a valid config that means the same thing,
# and a bad file is refused with file:line before any command runs.
set -u
T=$(mktemp -d /tmp/bg-cli-config.XXXXXX)
. "$TOP/tests/integration/lib.sh"
trap 'rm -rf "$T"' EXIT

# user, pid_file and log_dir of this machine: -n asks the system about them.
printf 'quota_limit = 42\nmode = observe\nsender_override = sasl:big quota_limit=900\nuser =\npid_file =\nlog_dir =\n' > "$T/a.conf"
"$BIN/bounceguard" -c "$T/a.conf" config > "$T/dump.conf"; rc=$?
check "config prints the configuration (rc $rc)" [ $rc -eq 0 ]
check "the dump shows the file's values" grep -qx 'quota_limit = 42' "$T/dump.conf"
check "the dump shows overrides" grep -qx 'sender_override = sasl:big quota_limit=900' "$T/dump.conf"
check "the dump shows defaults too" grep -qx 'blacklist_period = 14d' "$T/dump.conf"
out=$("$BIN/bounceguard-milter" -n -c "$T/dump.conf" 2>&1)
check "the dump is itself a valid config ($out)" grep -q 'is valid' <<<"$out"
"$BIN/bounceguard" -c "$T/dump.conf" config > "$T/dump2.conf"
check "dumping the dump gives the same text" diff -q <(tail -n +2 "$T/dump.conf") <(tail -n +2 "$T/dump2.conf")
printf 'quota_limit = 10\nquota_window = soon\n' > "$T/bad.conf"
out=$("$BIN/bounceguard" -c "$T/bad.conf" config --check 2>&1); rc=$?
check "config --check on a bad file: exit 3 and file:line ($out)" \
    bash -c "[ $rc -eq 3 ] && grep -q 'bad.conf:2: quota_window' <<<'$out'"

# config --json: one object, typed values, from the same key table.
"$BIN/bounceguard" -c "$T/a.conf" config --json > "$T/c.json"; rc=$?
check "config --json: exit 0 ($rc)" [ $rc -eq 0 ]
check "config --json: one object with typed values" [ "$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(d["quota_limit"], d["blacklist_period"], d["mode"], d["syslog"], d["sender_override"], d["exempt_recipients"])' "$T/c.json")" \
    = "42 1209600 observe True [{'identity': 'sasl:big', 'quota_limit': 900}] ['postmaster', 'abuse']" ]
out=$("$BIN/bounceguard" --json -c "$T/a.conf" config --check)
check "config --check --json: valid ($out)" python3 -c 'import json,sys; assert json.loads(sys.argv[1])["valid"] is True' "$out"

# Every command answers --help with its usage, exit 0, even without a readable config.
# every_help PROG MIN COMMANDS...: each "PROG COMMAND --help"
every_help() {
    local prog=$1 min=$2 c out rc n=0 bad=
    shift 2
    for c; do
        n=$((n + 1))
        out=$("$BIN/$prog" -c "$T/nonexistent.conf" "$c" --help 2>&1); rc=$?
        { [ $rc -eq 0 ] && grep -q "^usage: $prog .*$c " <<<"$out"; } || bad="$bad $c($rc)"
    done
    check "$prog COMMAND --help: usage and exit 0 for all $n commands (${bad:-all})" \
        bash -c "[ $n -ge $min ] && [ -z '$bad' ]"
}
every_help bounceguard 17 $("$BIN/bounceguard" --help | sed -n 's/^  \([a-z][a-z-]*\)  .*/\1/p')
every_help bounceguard-dsn 5 \
    $("$BIN/bounceguard-dsn" --help | sed -n '/^commands:/,/^$/s/^  \([a-z]*\) .*/\1/p')
out=$("$BIN/bounceguard" list -h 2>&1); rc=$?
check "bounceguard COMMAND -h too ($rc)" bash -c "[ $rc -eq 0 ] && grep -q '^usage: bounceguard .* list ' <<<'$out'"

# One version, every program, -V and --version alike; --help exits 0.
v=
for p in bounceguard bounceguard-dsn bounceguard-milter; do
    for o in -V --version; do
        out=$("$BIN/$p" $o 2>&1); rc=$?
        check "$p $o: exit 0, \"$p 0.1.0\" ($out)" bash -c "[ $rc -eq 0 ] && [ '$out' = '$p 0.1.0' ]"
    done
    "$BIN/$p" --help > "$T/help.out" 2>&1; rc=$?
    check "$p --help: usage, exit 0 ($rc)" bash -c "[ $rc -eq 0 ] && grep -q '^usage: $p' '$T/help.out'"
done

# Relative paths are taken from the config file's directory, whatever the
# directory the program runs in: README's `bounceguard -c conf/demo.conf`
# finds the same store from anywhere.
mkdir -p "$T/rel/etc" "$T/elsewhere"
printf 'db_home = ../db\nlog_dir = logs\npid_file =\nuser =\nsyslog = no\n' > "$T/rel/etc/r.conf"
out=$(cd "$T/elsewhere" && "$BIN/bounceguard" -c ../rel/etc/r.conf config 2>&1)
real=$(cd "$T/rel/etc" && pwd -P)
check "a relative db_home is taken from the config's directory ($(grep '^db_home' <<<"$out"))" \
    grep -qx "db_home = $real/../db" <<<"$out"
check "... and a relative log_dir too" grep -qx "log_dir = $real/logs" <<<"$out"
out=$(cd / && "$BIN/bounceguard" -c "$TOP/conf/demo.conf" config 2>&1)
check "conf/demo.conf's store is under the tree's run/, even from / ($(grep '^db_home' <<<"$out"))" \
    grep -qx "db_home = $(cd "$TOP/conf" && pwd -P)/../run/db" <<<"$out"
