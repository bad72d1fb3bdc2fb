#!/usr/bin/env bash
# The bounce intake of bounceguard-dsn: pipe (exit codes, dedup, garbage,
# 60 MB), maildir (moved to cur/ only after the commit), log (correlation,
# restart without double counting, rotation, --follow), and the log follower
# behind a real Postfix whose "internet" refuses a recipient at RCPT.
# Ports 2560-2563.
set -u
T=$(mktemp -d /tmp/bg-intake-XXXXXX)
. "$TOP/tests/integration/lib.sh"
MILTER_PORT=2562
DATA=$TOP/tests/data/intake
DSN=$BIN/bounceguard-dsn
SEED=$BIN/tools/intake_seed
FOLLOWERS=()
cleanup() {
    for p in "${FOLLOWERS[@]}"; do kill "$p" 2>/dev/null; done
    stop_all
    rm -rf "$T"
}
trap cleanup EXIT

CONF=$T/bg.conf
write_milter_conf "$CONF" check_tld=no
# exit status 1, one line, naming the pid of the running one
refused_in_one_line() { [ "$1" = 1 ] && [ "$(wc -l <<<"$2")" = 1 ] && grep -q "already running (pid $3)" <<<"$2"; }
rcpt_state() { "$SEED" "$T/db" rcpt "$1" | cut -d' ' -f1; }
rcpt_count() { "$SEED" "$T/db" rcpt "$1" | cut -d' ' -f2; }
rcpt_sender() { "$SEED" "$T/db" rcpt "$1" | cut -d' ' -f3; }
is_blacklisted() { [ "$("$SEED" "${2:-$T/db}" rcpt "$1" | cut -d' ' -f1)" = blacklisted ]; }
pipe_in() { "$DSN" -c "$CONF" pipe --client-ip 192.0.2.25 --helo mx.remote.example \
    --sender MAILER-DAEMON --recipient app@customer.example "$@"; }

# ---- pipe ------------------------------------------------------------------
# One message per recipient, as appliances send them: a DSN about the only
# recipient of a message can only have come from that recipient's side.
"$SEED" "$T/db" message '<orig-1@app.customer.example>' 4PIPE1 192.0.2.10 \
    app@customer.example gone@remote.example
"$SEED" "$T/db" message '<orig-1s@app.customer.example>' 4PIPE2 192.0.2.10 \
    app@customer.example full@remote.example
"$SEED" "$T/db" message '<orig-1r@app.customer.example>' 4PIPE3 192.0.2.10 \
    app@customer.example listed@remote.example

pipe_in < "$DATA/hard-5.1.1.eml"; rc=$?
check "pipe: a correlated hard bounce exits 0" [ "$rc" = 0 ]
check "pipe: the recipient is blacklisted" [ "$(rcpt_state gone@remote.example)" = blacklisted ]
check "pipe: attributed to the sender of the original" \
    [ "$(rcpt_sender gone@remote.example)" = ip:192.0.2.10 ]
check "pipe: warning.log says Blacklisted Recipient, with the original's queue ID" \
    grep -q "Blacklisted Recipient gone@remote.example: 5.1.1 userunknown (from store.remote.example, sender ip:192.0.2.10, queue ID 4PIPE1)" "$T/log/warning.log"
check "pipe: the line is tagged with the program and its pid" \
    grep -Eq "\] \{bounceguard-dsn\[[0-9]+\]\} Blacklisted Recipient gone@remote.example" "$T/log/warning.log"

pipe_in < "$DATA/hard-5.1.1.eml"; rc=$?
check "pipe: the same DSN again exits 0" [ "$rc" = 0 ]
check "pipe: the same DSN twice counts once" [ "$(rcpt_count gone@remote.example)" = 1 ]

sed 's/orig-1@/orig-1s@/' "$DATA/soft-5.2.2.eml" | pipe_in; rc=$?
check "pipe: mailboxfull exits 0 and blacklists nobody" \
    [ "$rc" = 0 -a "$(rcpt_state full@remote.example)" = none ]

sed 's/orig-1@/orig-1r@/' "$DATA/rbl-spamhaus.eml" | pipe_in; rc=$?
check "pipe: an RBL bounce blacklists nobody" \
    [ "$rc" = 0 -a "$(rcpt_state listed@remote.example)" = none ]
check "pipe: the RBL bounce is an incident" \
    grep -q "^zen.spamhaus.org store.remote.example 1$" <("$SEED" "$T/db" incidents)
check "pipe: the incident's warning names the original's queue ID" \
    grep -q "RBL incident: the relay is refused by zen.spamhaus.org, .*listed@remote.example (sender ip:192.0.2.10, queue ID 4PIPE3)" "$T/log/warning.log"

pipe_in < "$DATA/forged-uncorrelated.eml"; rc=$?
check "pipe: a forged bounce exits 0 and blacklists nobody" \
    [ "$rc" = 0 -a "$(rcpt_state victim@remote.example)" = none ]
check "pipe: the forged bounce is logged as such" \
    grep -q "forged or unrelated bounce for Recipient victim@remote.example" "$T/log/warning.log"

pipe_in < "$DATA/not-a-bounce.eml"; rc=$?
check "pipe: not a bounce is acknowledged (0)" [ "$rc" = 0 ]
check "pipe: ... and logged" grep -q "pipe: not a bounce" "$T/log/warning.log"

head -c 200000 /dev/urandom > "$T/garbage"
pipe_in < "$T/garbage"; rc=$?
check "pipe: binary garbage is acknowledged (0)" [ "$rc" = 0 ]
pipe_in < /dev/null; rc=$?
check "pipe: empty input is acknowledged (0)" [ "$rc" = 0 ]
{ printf 'From: x@y.example\nSubject: long\n\n'; head -c 1048576 /dev/zero | tr '\0' 'a'; echo; } > "$T/longline"
pipe_in < "$T/longline"; rc=$?
check "pipe: a 1 MB line is acknowledged (0)" [ "$rc" = 0 ]

start=$(date +%s)
{ cat "$DATA/hard-5.1.1.eml"; head -c $((60 * 1024 * 1024)) /dev/zero | tr '\0' 'x'; } | pipe_in; rc=$?
took=$(( $(date +%s) - start ))
check "pipe: a 60 MB message is refused cleanly (EX_DATAERR 65, no crash)" [ "$rc" = 65 ]
check "pipe: ... within 30 s (took ${took}s)" [ "$took" -lt 30 ]

# An unavailable store: the MTA must retry (75), and a bounce is not lost.
BAD=$T/bad.conf
write_milter_conf "$BAD" check_tld=no
echo "not a directory" > "$T/dbfile"
sed -i "s|^db_home = .*|db_home = $T/dbfile|" "$BAD"
"$DSN" -c "$BAD" pipe --recipient app@customer.example < "$DATA/hard-5.1.1.eml"; rc=$?
check "pipe: store unavailable -> EX_TEMPFAIL (75)" [ "$rc" = 75 ]
"$DSN" -c "$T/missing.conf" pipe < "$DATA/hard-5.1.1.eml" 2>/dev/null; rc=$?
check "pipe: config that does not load -> EX_TEMPFAIL (75)" [ "$rc" = 75 ]

# ---- maildir ---------------------------------------------------------------
M=$T/Maildir
mkdir -p "$M/new" "$M/cur" "$M/tmp"
"$SEED" "$T/db" message '<orig-2@app.customer.example>' 4MD1 192.0.2.11 \
    app2@customer.example md-gone@remote.example
sed -e 's/DSN1@/MD1@/; s/orig-1@/orig-2@/; s/gone@/md-gone@/g' "$DATA/hard-5.1.1.eml" > "$M/new/1700000000.1.host"
cp "$DATA/not-a-bounce.eml" "$M/new/1700000000.2.host"
"$DSN" -c "$BAD" maildir "$M"; rc=$?
check "maildir: store unavailable -> exit 1" [ "$rc" = 1 ]
check "maildir: the bounce stays in new/ when the store is unavailable" \
    [ -f "$M/new/1700000000.1.host" ]
check "maildir: ... and nothing was learned" [ "$(rcpt_state md-gone@remote.example)" = none ]
"$DSN" -c "$CONF" maildir "$M"; rc=$?
check "maildir: a pass exits 0" [ "$rc" = 0 ]
check "maildir: new/ is empty afterwards" [ -z "$(ls -A "$M/new")" ]
check "maildir: messages are in cur/ with the Seen flag" \
    [ -f "$M/cur/1700000000.1.host:2,S" -a -f "$M/cur/1700000000.2.host:2,S" ]
check "maildir: the bounce was committed" [ "$(rcpt_state md-gone@remote.example)" = blacklisted ]

"$DSN" -c "$CONF" maildir "$M" --follow --pid-file "$T/md.pid" & FOLLOWERS+=($!); MD_PID=$!
sleep 0.5
# One watcher per pid file: a second one stops in one line and leaves the
# first one's pid file alone.
check "maildir --follow: the pid file names the watcher" wait_for 5 grep -qsx "$MD_PID" "$T/md.pid"
err=$("$DSN" -c "$CONF" maildir "$M" --follow --pid-file "$T/md.pid" 2>&1); rc=$?
check "maildir --follow: a second watcher with the same pid file is refused (exit $rc)" [ "$rc" = 1 ]
check "maildir --follow: ... in one line naming the running one ($err)" \
    refused_in_one_line 1 "$err" "$MD_PID"
check "maildir --follow: ... and the first one's pid file is untouched" grep -qsx "$MD_PID" "$T/md.pid"
"$SEED" "$T/db" message '<orig-3@app.customer.example>' 4MD2 192.0.2.12 \
    app3@customer.example md-follow@remote.example
sed -e 's/DSN1@/MD2@/; s/orig-1@/orig-3@/; s/gone@/md-follow@/g' "$DATA/hard-5.1.1.eml" > "$M/tmp/1700000001.1.host"
mv "$M/tmp/1700000001.1.host" "$M/new/"
check "maildir --follow: a new message is learned (inotify)" \
    wait_for 10 is_blacklisted md-follow@remote.example
check "maildir --follow: and moved to cur/" wait_for 5 [ -f "$M/cur/1700000001.1.host:2,S" ]
kill -TERM "$MD_PID"
check "maildir --follow: stops on SIGTERM" wait_for 5 bash -c "! kill -0 $MD_PID 2>/dev/null"

# ---- log -------------------------------------------------------------------
L=$T/maillog
ts() { date -u +%Y-%m-%dT%H:%M:%S.000000+00:00; }
bounced() { # QID RCPT
    echo "$(ts) relay postfix/smtp[4242]: $1: to=<$2>, relay=mx.remote.example[192.0.2.25]:25, delay=0.2, delays=0.1/0/0.05/0.05, dsn=5.1.1, status=bounced (host mx.remote.example[192.0.2.25] said: 550 5.1.1 <$2>: Recipient address rejected: User unknown in virtual mailbox table (in reply to RCPT TO command))"
}
for q in 4LOG1 4LOG2 4LOG3 4LOG4 4LOG5 4LOG6; do
    lc=$(echo "$q" | tr 'A-Z' 'a-z')
    "$SEED" "$T/db" message "<$lc@app.customer.example>" "$q" 192.0.2.20 \
        app@customer.example "$lc@remote.example"
done
# the sent, deferred and RBL lines: a log line counts only for a recorded
# message (log_trust = recorded), so these are recorded too
"$SEED" "$T/db" message '<4log9@app.customer.example>' 4LOG9 192.0.2.20 \
    app@customer.example ok@remote.example later@remote.example rbl@remote.example
{
    echo "$(ts) relay postfix/qmgr[11]: 4LOG1: from=<app@customer.example>, size=900, nrcpt=1 (queue active)"
    bounced 4LOG1 4log1@remote.example
    echo "$(ts) relay postfix/smtp[4242]: 4LOG9: to=<ok@remote.example>, relay=mx.remote.example[192.0.2.25]:25, delay=0.2, delays=0.1/0/0.05/0.05, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued)"
    echo "$(ts) relay postfix/smtp[4242]: 4LOG9: to=<later@remote.example>, relay=mx.remote.example[192.0.2.25]:25, delay=0.2, delays=0.1/0/0.05/0.05, dsn=4.2.2, status=deferred (host mx.remote.example[192.0.2.25] said: 452 4.2.2 Mailbox full (in reply to RCPT TO command))"
    echo "$(ts) relay postfix/smtp[4242]: 4LOG9: to=<rbl@remote.example>, relay=mx.remote.example[192.0.2.25]:25, delay=0.2, delays=0.1/0/0.05/0.05, dsn=5.7.1, status=bounced (host mx.remote.example[192.0.2.25] said: 554 5.7.1 Service unavailable; Client host [198.51.100.1] blocked using bl.spamcop.net (in reply to RCPT TO command))"
    printf 'garbage \001\002\377 line without meaning\n'
} > "$L"
"$DSN" -c "$CONF" log "$L" --from-start; rc=$?
check "log: a pass over a log exits 0" [ "$rc" = 0 ]
check "log: a bounced line blacklists, correlated by queue ID" \
    [ "$(rcpt_state 4log1@remote.example)" = blacklisted -a "$(rcpt_sender 4log1@remote.example)" = ip:192.0.2.20 ]
check "log: sent and deferred lines blacklist nobody" \
    [ "$(rcpt_state ok@remote.example)" = none -a "$(rcpt_state later@remote.example)" = none ]
check "log: an RBL line is an incident, not a blacklisting" \
    [ "$(rcpt_state rbl@remote.example)" = none ]
grep -q "^bl.spamcop.net mx.remote.example 1$" <("$SEED" "$T/db" incidents)
check "log: ... recorded with the RBL and the remote MTA" [ $? = 0 ]
ino=$(stat -c %i "$L"); size=$(stat -c %s "$L")
check "log: the position is kept in the store (inode:offset)" \
    [ "$("$SEED" "$T/db" meta "logpos:$L")" = "$ino:$size" ]

bounced 4LOG2 4log2@remote.example >> "$L"
"$DSN" -c "$CONF" log "$L"; rc=$?
check "log: a restart continues where it stopped" \
    [ "$rc" = 0 -a "$(rcpt_state 4log2@remote.example)" = blacklisted ]
check "log: ... without counting earlier lines twice" [ "$(rcpt_count 4log1@remote.example)" = 1 ]
# A crash between learning lines and saving the position: lines read again.
"$SEED" "$T/db" meta "logpos:$L" "$ino:0"
"$DSN" -c "$CONF" log "$L"
check "log: lines read twice (position lost) are not counted twice" \
    [ "$(rcpt_count 4log1@remote.example)" = 1 -a "$(rcpt_count 4log2@remote.example)" = 1 ]

# Rotation while not running: the old file is finished, the new read from 0.
bounced 4LOG3 4log3@remote.example >> "$L"
mv "$L" "$L.1"
bounced 4LOG4 4log4@remote.example > "$L"
"$DSN" -c "$CONF" log "$L"
check "log: after rotation the rest of the rotated file is learned" \
    [ "$(rcpt_state 4log3@remote.example)" = blacklisted ]
check "log: ... and the new file from its start" [ "$(rcpt_state 4log4@remote.example)" = blacklisted ]

# --follow: appended lines, rotation by rename + new file, truncation.
mkdir -m 755 "$T/run"
"$DSN" -c "$CONF" log "$L" --follow --pid-file "$T/run/dsn-log.pid" & FOLLOWERS+=($!); LOG_PID=$!
sleep 0.5
bounced 4LOG5 4log5@remote.example >> "$L"
check "log --follow: an appended line is learned" \
    wait_for 10 is_blacklisted 4log5@remote.example
mv "$L" "$L.2"
bounced 4LOG6 4log6@remote.example > "$L"
check "log --follow: survives rotation (rename + new file)" \
    wait_for 10 is_blacklisted 4log6@remote.example
"$SEED" "$T/db" message '<4log7@app.customer.example>' 4LOG7 192.0.2.20 app@customer.example 4log7@remote.example
: > "$L"
sleep 1
bounced 4LOG7 4log7@remote.example >> "$L"
check "log --follow: survives truncation (copytruncate)" \
    wait_for 10 is_blacklisted 4log7@remote.example
check "log --follow --pid-file: the pid file names the follower" \
    wait_for 5 bash -c "[ \"\$(cat '$T/run/dsn-log.pid' 2>/dev/null)\" = $LOG_PID ]"
out=$("$DSN" -c "$CONF" log "$L" --follow --pid-file "$T/run/dsn-log.pid" 2>&1); rc=$?
check "log --follow: a second follower with the same pid file is refused ($rc: $out)" \
    bash -c "[ $rc -ne 0 ] && grep -q 'already running (pid $LOG_PID)' <<<'$out'"
check "log --follow: ... in one line, and the first one's pid file is untouched" \
    bash -c "[ \"\$(wc -l <<<'$out')\" = 1 ] && grep -qsx $LOG_PID '$T/run/dsn-log.pid'"
# conf/logrotate's postrotate, run against $T/run: it signals the follower
# (which reloads), not a `pipe` delivery in progress (SIGUSR1 would kill it,
# status 138), nor the pid of a stale, unlocked pid file.
sleep 60 & STALE=$!; FOLLOWERS+=($STALE)
echo "$STALE" > "$T/run/stale.pid"
{ sleep 2; cat "$DATA/hard-5.1.1.eml"; } | pipe_in > /dev/null 2>&1 & PIPE_PID=$!
sleep 0.5
sed -n '/postrotate/,/endscript/p' "$TOP/conf/logrotate" | sed '1d;$d' |
    sed "s|/run/bounceguard|$T/run|g" > "$T/postrotate.sh"
check "conf/logrotate's postrotate succeeds" bash "$T/postrotate.sh"
wait "$PIPE_PID"; rc=$?
check "logrotate's SIGUSR1 leaves a pipe delivery alone (exit $rc)" [ "$rc" = 0 ]
check "logrotate's SIGUSR1 reaches the follower by its pid file: reload in warning.log" \
    wait_for 5 grep -Eq "\{bounceguard-dsn\[$LOG_PID\]\} config .* reloaded, logs reopened" "$T/log/warning.log"
check "logrotate's SIGUSR1 spares the pid of an unlocked (stale) pid file" kill -0 "$STALE"
kill "$STALE"
kill -TERM "$LOG_PID"
check "log --follow: stops on SIGTERM" wait_for 5 bash -c "! kill -0 $LOG_PID 2>/dev/null"
check "log --follow: its pid file removed at stop" wait_for 5 test ! -e "$T/run/dsn-log.pid"

# ---- log --follow behind a real Postfix --------------------------------------
# The private Postfix relays to a sink that accepts everything, except the
# domain bad.example.com, routed to a sink that refuses every RCPT with 550.
start_sink 2561 || notok "sink started"
mkdir -p "$T/sink2"
smtp-sink -u postfix -f RCPT -B "550 5.1.1 No such user here" 127.0.0.1:2563 64 \
    > "$T/sink2.log" 2>&1 &
PIDS+=($!)
wait_port 2563
PCONF=$T/pf.conf
write_milter_conf "$PCONF" check_tld=no
sed -i "s|^db_home = .*|db_home = $T/db2|; s|^log_dir = .*|log_dir = $T/log2|" "$PCONF"
mkdir -p "$T/log2"
start_milter "$PCONF"
start_postfix 2560 2561 "inet:127.0.0.1:$MILTER_PORT" || notok "postfix started"
echo "transport_maps = inline:{bad.example.com=smtp:[127.0.0.1]:2563}" >> "$T/pf/etc/main.cf"
postfix -c "$T/pf/etc" reload >/dev/null 2>&1
sleep 1
"$DSN" -c "$PCONF" log "$T/pf/maillog" --follow --from-start & FOLLOWERS+=($!); PF_LOG_PID=$!
out=$(smtp 2560 app@customer.example user@bad.example.com)
check "postfix: the first message to user@bad.example.com is accepted" \
    grep -q "<- *250.*queued" <<<"$out"
check "postfix: the remote refusal is logged as status=bounced" \
    wait_for 20 grep -q "to=<user@bad.example.com>.*status=bounced" "$T/pf/maillog"
check "log --follow learns the bounce from the real maillog" \
    wait_for 10 is_blacklisted user@bad.example.com "$T/db2"
check "... attributed to the client that sent it" \
    [ "$("$SEED" "$T/db2" rcpt user@bad.example.com | cut -d' ' -f3)" = ip:127.0.0.1 ]
out=$(smtp 2560 app@customer.example user@bad.example.com)
check "the milter refuses the recipient next time (550 5.7.1)" \
    grep -q "^550 5.7.1" <<<"$(rcpt_reply "$out")"
kill -TERM "$PF_LOG_PID"
wait "$PF_LOG_PID" 2>/dev/null
exit 0
