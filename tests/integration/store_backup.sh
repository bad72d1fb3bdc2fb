#!/usr/bin/env bash
# Hot backup, verify and restore (bounceguard(8), BACKUP AND RESTORE): a
# backup taken while a writer commits holds every record committed before
# it began; verify finds the store and the backup sound and a damaged
# backup damaged; a restore into an empty db_home (catastrophic recovery,
# verification) gives a store the CLI opens, holding those records; restore
# refuses to overwrite a store.  No ports.
set -u
W=$TOP/$BUILD/tools/store_writer
[ "${BUILD#/}" != "$BUILD" ] && W=$BUILD/tools/store_writer
T=$(mktemp -d /tmp/bg-store-backup.XXXXXX)
trap 'kill -9 $(jobs -p) 2>/dev/null; rm -rf "$T"' EXIT
. "$TOP/tests/integration/lib.sh"
mkconf() { printf 'db_home = %s\nlog_dir =\nsyslog = no\nuser =\n' "$2" > "$T/$1.conf"; }
mkconf live "$T/db"
mkconf new "$T/restored"
bg() { "$BIN/bounceguard" -c "$T/live.conf" "$@"; }

"$W" write "$T/db" before 3000 now > "$T/before.out" 2> "$T/before.err"
check "a first writer committed 3000 bounces" test "$(wc -l < "$T/before.out")" = 3000

# The backup runs while another writer commits.
"$W" write "$T/db" during 200000 now > "$T/during.out" 2>/dev/null &
pw=$!
for _ in $(seq 100); do [ "$(wc -l < "$T/during.out")" -ge 50 ] && break; sleep 0.1; done
grep '@example.com$' "$T/during.out" > "$T/during-before-backup.out"
out=$(bg backup "$T/bk" 2>&1); rc=$?
check "backup while a writer runs: exit 0 ($out)" test "$rc" = 0
sleep 0.3
kill -9 $pw; wait $pw 2>/dev/null
check "the backup holds the databases and a log" \
    test -f "$T/bk/rcpt.db" -a -f "$T/bk/expiry.db" -a -n "$(ls "$T/bk" | grep '^log\.')"
out=$(bg backup "$T/bk" 2>&1); rc=$?
check "backup into a directory that is not empty: exit 4, one line ($out)" \
    test "$rc" = 4 -a "$(wc -l <<<"$out")" = 1
cp -a "$T/bk" "$T/bk-damaged"

out=$(bg verify 2>&1); rc=$?
check "verify of the store in use (the writer was killed mid-write): exit 0 ($out)" test "$rc" = 0
check "verify leaves no scratch copy in db_home" test -z "$(ls "$T/db" | grep '^verify\.')"
out=$(bg verify "$T/bk" 2>&1); rc=$?
check "verify of the backup: exit 0 ($out)" test "$rc" = 0

# A damaged database in a backup: verify says which, in one line, exit 1.
python3 - "$T/bk-damaged/rcpt.db" <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(4096 * 1 + 26)
    f.write(b"\xff" * 3000)
PY
out=$(bg verify "$T/bk-damaged" 2>&1); rc=$?
check "verify of a damaged backup: exit 1 ($rc)" test "$rc" = 1
check "... in one line naming rcpt.db ($out)" \
    test "$(wc -l <<<"$out")" = 1 -a -n "$(grep rcpt.db <<<"$out")"

# Restore: into an empty db_home, then the CLI opens it as usual.
out=$("$BIN/bounceguard" -c "$T/new.conf" restore "$T/bk" 2>&1); rc=$?
check "restore into an empty db_home: exit 0 ($out)" test "$rc" = 0
check "the restored store holds every bounce committed before the backup" \
    "$W" verify "$T/restored" < <(cat "$T/before.out" "$T/during-before-backup.out")
n=$("$BIN/bounceguard" -c "$T/new.conf" --json stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["recipients"])')
check "the restored store opens for the CLI ($n recipients)" test "$n" -ge 3050
out=$("$BIN/bounceguard" -c "$T/new.conf" restore "$T/bk" 2>&1); rc=$?
check "restore over an existing store is refused: exit 4, one line ($out)" \
    test "$rc" = 4 -a "$(wc -l <<<"$out")" = 1
out=$("$BIN/bounceguard" -c "$T/new.conf" verify 2>&1); rc=$?
check "the restored store verifies ($out)" test "$rc" = 0
exit 0
