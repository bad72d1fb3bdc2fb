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
