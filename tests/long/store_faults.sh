#!/usr/bin/env bash
# The store when the disk is full or the files are not what they should be,
# through a real Postfix: the milter answers a temporary failure (never an
# accept, never a crash) with a clear error in error.log, the CLI and the
# watcher fail with one line and a non-zero exit, and everything recovers
# once space returns.  Needs root (mounts a small tmpfs).  Ports 2704-2706.
set -u
T=$(mktemp -d /tmp/bg-storefault.XXXXXX)
SMTPD=2704
SINK=2705
MILTER_PORT=2706
. "$TOP/tests/integration/lib.sh"
FS=$T/fs
cleanup() {
    stop_all
    umount "$FS" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
chmod 755 "$T"
mkdir -p "$FS"
W=$BIN/tools/store_writer
DSN=$BIN/bounceguard-dsn
n=0
# mail_reply_of FROM TO: the reply the client gets to MAIL FROM, or to RCPT TO
reply_of() {
    local out
    n=$((n + 1))
    out=$(smtp $SMTPD "$1" "$2" --quit-after RCPT)
    local m
    m=$(mail_reply "$out")
    case $m in 250*) rcpt_reply "$out" ;; *) echo "$m" ;; esac
}
one_line_fail() { # one_line_fail OUTPUT RC: exactly one line, non-zero exit
    [ "$2" != 0 ] && [ "$(printf '%s\n' "$1" | wc -l)" = 1 ] && [ -n "$1" ]
}

if ! mount -t tmpfs -o size=2m,mode=755 tmpfs "$FS"; then
    notok "mount a 2 MB tmpfs (needs root)"
    exit 1
fi
CONF=$T/bg.conf
write_milter_conf "$CONF" sender_identity=envelope check_tld=no
sed -i "s|^db_home = .*|db_home = $FS/db|" "$CONF"
start_sink $SINK || { notok "smtp-sink started"; exit 1; }
start_milter "$CONF" || { notok "milter started: $(cat "$T/milter.out")"; exit 1; }
start_postfix $SMTPD $SINK "inet:127.0.0.1:$MILTER_PORT" || { notok "postfix started"; exit 1; }

# ---- 1. no room to create the store --------------------------------------------
r=$(reply_of a@app.example x@dest.example)
check "store cannot be created on a 2 MB filesystem: temporary failure ($r)" grep -q '^4[0-9][0-9] 4\.' <<<"$r"
check "... and error.log says why" grep -qiE 'store.*(space|No such|cannot|create)' "$T/log/error.log"
echo "# error.log: $(tail -1 "$T/log/error.log" | cut -c1-200)"
check "the milter is still running" kill -0 "$MILTER_PID"
out=$(bg block y@dest.example 2>&1); rc=$?
check "CLI block on a store that cannot be created: one line, exit $rc ($out)" one_line_fail "$out" $rc
out=$("$DSN" -c "$CONF" pipe --recipient app@customer.example < "$TOP/tests/data/intake/hard-5.1.1.eml" 2>&1); rc=$?
check "pipe on a store that cannot be created: EX_TEMPFAIL 75 ($rc)" [ $rc = 75 ]

mount -o remount,size=256m "$FS"
good() { grep -q '^250' <<<"$(reply_of "$1" "$2")"; }
check "space returns: the milter opens the store and accepts again" wait_for 15 good a@app.example x@dest.example

# ---- 2. the filesystem fills while running -----------------------------------
bg block full1@dest.example > /dev/null
dd if=/dev/zero of="$FS/filler" bs=1M 2> /dev/null
sync
# write until the store refuses (its log file is preallocated, so it takes a while)
"$W" write "$FS/db" full 200000 now > "$T/full.out" 2> "$T/full.err"; rc=$?
committed=$(wc -l < "$T/full.out")
check "a writer on a full filesystem stops with an error ($rc) after $committed commits: $(head -c 150 "$T/full.err")" \
    [ $rc != 0 -a -s "$T/full.err" ]
# A new sender's message is written once, at its end (its count in the
# quota and its record): that is where a full disk refuses it.
refused=0 permanent=0
for i in 1 2 3 4 5; do
    out=$(smtp $SMTPD "new$i@app.example" "x$i@dest.example")
    r=$(sed -n 's/^ *<\*\* *//p' <<<"$out" | head -1) # the first failure, if any
    [ -n "$r" ] || r=$(sed -n 's/^ *<-  *\(250 2\.0\.0 Ok: queued\)/\1/p' <<<"$out")
    case $r in 4*) refused=$((refused + 1)) ;; 5*) permanent=$((permanent + 1)) ;; 250*) ;; *) echo "# full: $r" ;; esac
done
r=$(reply_of a@app.example full1@dest.example)
check "full: a blacklisted recipient is still refused or tempfailed, never accepted ($r)" grep -qE '^(550 5\.7\.1|4[0-9][0-9] 4\.)' <<<"$r"
check "full: new senders' messages (a store write at their end) get a temporary failure, never a permanent one ($refused of 5, $permanent permanent)" \
    test $refused -ge 1 -a $permanent = 0
check "full: error.log has a clear error" grep -qiE 'space|ENOSPC|write|store' "$T/log/error.log"
check "full: the milter is still running" kill -0 "$MILTER_PID"
out=$(bg block z@dest.example 2>&1); rc=$?
check "full: CLI block fails with one line (exit $rc: $out)" one_line_fail "$out" $rc
rm -f "$FS/filler"
check "space returns: new senders are accepted again" wait_for 30 good back@app.example ok@dest.example
check "after the full disk, every commit the writer reported is there" \
    bash -c "grep '@example.com\$' '$T/full.out' | '$W' verify '$FS/db' > /dev/null"
r=$(reply_of a@app.example full1@dest.example)
check "after the full disk, the blacklist still holds ($r)" grep -q '^550 5.7.1' <<<"$r"
stop_milter

# ---- 2b. the cache grows while the disk is nearly full --------------------------
# A new environment's cache region is 500 KB; it grows while the store is read,
# into blocks reserved when the store opened.  Without them, with 256 KB left,
# Berkeley DB's growing region meets a hole the filesystem cannot fill: SIGBUS.
rm -rf "$FS/db"
"$W" write "$FS/db2" big 30000 now > "$T/big.out" 2> "$T/big.err"
rm -f "$FS"/db2/__db.0* # a new environment, as after a reboot (the writer checkpointed)
"$W" verify "$FS/db2" < /dev/null > /dev/null 2>&1
before=$(stat -c %s "$FS/db2/__db.003" 2>/dev/null || echo 0)
dd if=/dev/zero of="$FS/filler" bs=4k 2> /dev/null
truncate -s $(($(stat -c %s "$FS/filler") - 262144)) "$FS/filler"
"$W" verify "$FS/db2" < "$T/big.out" > "$T/big.verify" 2>&1; rc=$?
after=$(stat -c %s "$FS/db2/__db.003" 2>/dev/null || echo 0)
check "a store read with 256 KB left on the disk while its cache grows ($((before >> 10)) KB -> $((after >> 10)) KB): exit $rc, $(head -c 120 "$T/big.verify")" \
    bash -c "[ $rc = 0 ] && grep -q '^present 30000 missing 0\$' '$T/big.verify' && [ $after -gt $((before + 1048576)) ]"
rm -f "$FS/filler"
rm -rf "$FS/db2"

# ---- 3. a corrupt or foreign file where the store should be -------------------
corrupt_case() { # corrupt_case NAME: expects $CONF's db_home prepared
    local what=$1 out rc r
    start_milter "$CONF" || { notok "$what: milter started: $(tail -2 "$T/milter.out")"; return; }
    r=$(reply_of a@app.example x@dest.example)
    check "$what: the milter answers a temporary failure ($r)" grep -q '^4[0-9][0-9] 4\.' <<<"$r"
    check "$what: the milter is still running" kill -0 "$MILTER_PID"
    check "$what: error.log names the store" grep -q "$T/bad" "$T/log/error.log"
    echo "# $what: $(grep "$T/bad" "$T/log/error.log" | tail -1 | cut -c1-220)"
    out=$(bg list 2>&1); rc=$?
    check "$what: CLI list fails with one line (exit $rc: $out)" one_line_fail "$out" $rc
    out=$(bg block q@dest.example 2>&1); rc=$?
    check "$what: CLI block fails with one line (exit $rc)" one_line_fail "$out" $rc
    out=$("$DSN" -c "$CONF" pipe --recipient app@customer.example < "$TOP/tests/data/intake/hard-5.1.1.eml" 2>&1); rc=$?
    check "$what: pipe answers EX_TEMPFAIL 75 ($rc)" [ $rc = 75 ]
    stop_milter
    : > "$T/log/error.log"
}
sed -i "s|^db_home = .*|db_home = $T/bad|" "$CONF"

echo "this is not a store" > "$T/bad"
corrupt_case "a regular file as db_home"
rm -rf "$T/bad"

mkdir -p "$T/bad"
"$W" write "$T/bad" seed 10 > /dev/null 2>&1
head -c 65536 /dev/urandom > "$T/bad/rcpt.db"
corrupt_case "rcpt.db overwritten with random bytes"
rm -rf "$T/bad"

mkdir -p "$T/bad"
"$W" write "$T/bad" seed 10 > /dev/null 2>&1
rm -f "$T/bad/sender.db"
# a hash Berkeley DB made by another program (Postfix's postmap, with a
# configuration directory of its own: a fresh machine may have no main.cf)
mkdir -p "$T/postmap-etc" && : > "$T/postmap-etc/main.cf"
printf 'key value\n' > "$T/bad/sender"
if postmap -c "$T/postmap-etc" hash:"$T/bad/sender" 2> "$T/postmap.err" && [ -s "$T/bad/sender.db" ]; then
    rm -f "$T/bad/sender"
    corrupt_case "sender.db replaced by a foreign (hash) Berkeley DB"
else
    notok "postmap made a hash database to play the foreign file: $(head -1 "$T/postmap.err")"
fi
rm -rf "$T/bad"

mkdir -p "$T/bad"
"$W" write "$T/bad" seed 10 > /dev/null 2>&1
head -c 4096 /dev/urandom > "$T/bad/__db.001"
head -c 4096 /dev/urandom > "$T/bad/log.0000000001"
corrupt_case "environment region and log overwritten"
rm -rf "$T/bad"
