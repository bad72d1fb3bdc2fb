#!/usr/bin/env bash
# store = redis: several relays, one blacklist and one quota (bounceguard.conf(5),
# REDIS).  A real Redis 7 on loopback (a primary with a password, a replica,
# a Sentinel), two milters behind two smtpd listeners of a real Postfix, as
# two relays would be; the CLI on the shared store; a store moved between
# the backends with export and import; what the relays answer while Redis
# is down and after a Sentinel failover.
set -u
T=$(mktemp -d /tmp/bg-redis.XXXXXX)
R1=2601 R2=2602 SENT=2603 SMTPD_A=2604 SMTPD_B=2605 SINK=2606 MILTER_A=2607 MILTER_B=2608
SENT_GUARDED=2609
MILTER_PORT=$MILTER_A
. "$TOP/tests/integration/lib.sh"
trap 'stop_all; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT

need_redis
PASS=$REDIS_PASS
# The servers have an ACL user for bounceguard: its key prefix and the
# commands bounceguard.conf(5) lists.
ACL=(--user bounceguard on ">$PASS" "~bounceguard:*" +get +set +del +mget +eval +evalsha +zadd
    +zrem +zrangebylex +zcard +exists +scan +role +info +wait +select +ping)
conf() { redis_conf "$@"; }
A=$T/relay-a.conf B=$T/relay-b.conf
# The reply that decided a transaction: MAIL FROM's if it refused, else RCPT TO's.
verdict() { local m; m=$(mail_reply "$1"); case $m in [45]*) echo "$m";; *) rcpt_reply "$1";; esac; }
bga() { "$BIN/bounceguard" -c "$A" "$@"; }
bgb() { "$BIN/bounceguard" -c "$B" "$@"; }

start_redis $R1 "${ACL[@]}" || { notok "redis primary started: $(cat "$T/r$R1/log")"; exit 1; }
start_redis $R2 "${ACL[@]}" --replicaof 127.0.0.1 $R1 || { notok "redis replica started"; exit 1; }
wait_for 10 bash -c "redis-cli -p $R1 -a $PASS --no-auth-warning info replication | grep -q 'connected_slaves:1'"

# ---- configuration --------------------------------------------------------
conf "$T/tls.conf" "redis_servers=rediss://127.0.0.1:$R1"
out=$("$BIN/bounceguard-milter" -n -c "$T/tls.conf" 2>&1); rc=$?
check "rediss:// is refused by -n in one line naming the key ($out)" \
    test "$rc" != 0 -a "$(wc -l <<<"$out")" = 1 -a -n "$(grep 'redis_servers:.*TLS' <<<"$out")"
conf "$T/none.conf"
out=$("$BIN/bounceguard-milter" -n -c "$T/none.conf" 2>&1); rc=$?
check "store = redis without a server is refused by -n ($out)" \
    test "$rc" != 0 -a -n "$(grep 'redis_servers or redis_sentinels' <<<"$out")"
conf "$T/badpass.conf" "redis_servers=127.0.0.1:$R1" "redis_password=wrong"
sed -i "s/^redis_password = $PASS$//" "$T/badpass.conf"
out=$("$BIN/bounceguard" -c "$T/badpass.conf" list 2>&1); rc=$?
check "a wrong password: exit 4, one line saying so ($out)" \
    test "$rc" = 4 -a "$(wc -l <<<"$out")" = 1 -a -n "$(grep -i 'WRONGPASS\|invalid' <<<"$out")"
# Relay A logs in as the ACL user of bounceguard.conf(5), with only the
# commands named there.
conf "$A" "redis_servers=127.0.0.1:$R2 127.0.0.1:$R1" "redis_user=bounceguard" \
    "socket=inet:$MILTER_A@127.0.0.1" \
    "pid_file=$T/a.pid" "quota_limit=3" "sender_identity=envelope"
conf "$B" "redis_servers=127.0.0.1:$R1" "socket=inet:$MILTER_B@127.0.0.1" \
    "pid_file=$T/b.pid" "quota_limit=3" "sender_identity=envelope"
out=$(bga stats 2>&1)
check "of the servers listed, the primary is used, not the replica listed first" \
    grep -q "^store  *Redis 127.0.0.1:$R1 (primary, 1 replica connected" <<<"$out"
out=$(bga config 2>&1)
check "bounceguard config does not show the password" \
    test -z "$(grep -F "$PASS" <<<"$out")" -a -n "$(grep 'redis_password = (set, not shown)' <<<"$out")"

# ---- the CLI on the shared store ----------------------------------------
bga block gone@example.net --reason "moved away" > /dev/null
out=$(bgb show gone@example.net 2>&1)
check "a block through relay A's config is seen through relay B's" grep -q '^state  *blacklisted' <<<"$out"
check "the keys carry the prefix" test "$(rcli $R1 exists bounceguard:rcpt:gone@example.net)" = 1
wait_for 5 bash -c "redis-cli -p $R2 -a $PASS --no-auth-warning exists bounceguard:rcpt:gone@example.net | grep -q 1"
check "the replica has the block" \
    wait_for 5 bash -c "[ \"\$(redis-cli -p $R2 -a $PASS --no-auth-warning exists bounceguard:rcpt:gone@example.net)\" = 1 ]"
ttl=$(rcli $R1 ttl bounceguard:rcpt:gone@example.net)
check "the record expires natively (TTL $ttl s: history_period after its release)" \
    test "$ttl" -gt $((90 * 86400)) -a "$ttl" -le $((105 * 86400))
for i in 1 2 3; do bgb block "b$i@example.org" > /dev/null; done
out=$(bga list 2>&1)
check "list shows every blacklisted recipient, in order" \
    test "$(awk 'NR>1{print $1}' <<<"$out" | tr '\n' ' ')" = "b1@example.org b2@example.org b3@example.org gone@example.net "
out=$(bga list --domain example.org 2>&1)
check "list --domain walks only that domain's keys" test "$(($(wc -l <<<"$out") - 1))" = 3
bgb unblock b2@example.org > /dev/null
out=$(bga check b2@example.org 2>&1)
check "unblock through B releases for A ($(grep verdict <<<"$out" | tr -s " "))" grep -q "verdict *ACCEPTED" <<<"$out"
check "the audit is shared" test "$(bga audit | grep -c 'b2@example.org')" -ge 2

# ---- the commit script by its SHA1 ---------------------------------------------
evalsha_calls() { rcli $R1 info commandstats | sed -n 's/^cmdstat_evalsha:calls=\([0-9]*\),.*/\1/p'; }
before=$(evalsha_calls)
bgb block sha@example.net > /dev/null
after=$(evalsha_calls)
check "a commit is sent by the script's SHA1 (EVALSHA calls ${before:-0} -> ${after:-0})" \
    test "${after:-0}" -gt "${before:-0}"
rcli $R1 script flush > /dev/null
out=$(bgb block flushed@example.net 2>&1); rc=$?
check "after SCRIPT FLUSH a commit still lands (NOSCRIPT: the text once more) ($out)" \
    test "$rc" = 0 -a "$(rcli $R1 exists bounceguard:rcpt:flushed@example.net)" = 1
# An ACL written before EVALSHA was used (+eval only): the commits go on by
# the script's text, with one warning naming the fix.
rcli $R1 acl setuser oldacl on ">$PASS" "~bounceguard:*" +get +set +del +mget +eval +zadd \
    +zrem +zrangebylex +zcard +exists +scan +role +info +wait +select +ping > /dev/null
conf "$T/oldacl.conf" "redis_servers=127.0.0.1:$R1" "redis_user=oldacl"
out=$("$BIN/bounceguard" -c "$T/oldacl.conf" block oldacl@example.net 2>&1); rc=$?
check "a user without +evalsha still commits, and is told to add it ($out)" \
    test "$rc" = 0 -a "$(rcli $R1 exists bounceguard:rcpt:oldacl@example.net)" = 1 \
    -a -n "$(grep -F '+evalsha' <<<"$out")"

# ---- one quota across relays, under concurrency ----------------------------
conf "$T/race.conf" "redis_servers=127.0.0.1:$R1" "quota_limit=50" "redis_prefix=race:"
RACER=$TOP/$BUILD/tools/gate_racer
[ "${BUILD#/}" != "$BUILD" ] && RACER=$BUILD/tools/gate_racer
racers=()
for i in 1 2 3 4; do "$RACER" "$T/race.conf" 10.9.9.9 30 > "$T/race$i.out" 2>&1 & racers+=($!); done
wait "${racers[@]}"
total=$(awk '{s += $2} END {print s}' "$T"/race?.out)
refused=$(awk '{s += $4} END {print s}' "$T"/race?.out)
check "4 processes, 120 messages of one sender, quota 50: exactly 50 accepted ($total), 70 refused ($refused)" \
    test "$total" = 50 -a "$refused" = 70
check "no racer met a store error" test -z "$(grep -v '^accepted' "$T"/race?.out)"

# What one accepted message costs the server: RCPT TO holds its quota in
# the milter's memory and writes nothing; the end of the message counts it and
# files it in one commit, whose read of the window is the one made at MAIL
# FROM (checked by the script): 3 GET in all (2 sent, 1 in the script),
# 1 ZRANGEBYLEX, 1 EVALSHA.
conf "$T/cost.conf" "redis_servers=127.0.0.1:$R1" "quota_limit=100000" "redis_prefix=cost:"
"$RACER" "$T/cost.conf" 10.9.9.8 5 > /dev/null 2>&1 # the scripts cached
stat_calls() { rcli $R1 info commandstats | sed -n "s/^cmdstat_$1:calls=\([0-9]*\),.*/\1/p"; }
g0=$(stat_calls get) e0=$(stat_calls evalsha) z0=$(stat_calls zrangebylex)
out=$("$RACER" "$T/cost.conf" 10.9.9.9 100 2>&1)
g=$(( $(stat_calls get) - g0 )) e=$(( $(stat_calls evalsha) - e0 )) z=$(( $(stat_calls zrangebylex) - z0 ))
check "100 accepted messages ($out): 300 GET, 100 EVALSHA, 100 ZRANGEBYLEX (got $g, $e, $z)" \
    test "$g" = 300 -a "$e" = 100 -a "$z" = 100

# Under a race a refused commit answers what the window holds now: the round
# after a first conflict takes it from there at once, with no GET sent (a
# conflict cost two round trips before); a transaction refused again pauses
# and reads afresh.
g0=$(stat_calls get) e0=$(stat_calls evalsha)
racers=()
for i in 1 2 3 4; do "$RACER" "$T/cost.conf" 10.9.9.7 100 > "$T/crace$i.out" 2>&1 & racers+=($!); done
wait "${racers[@]}"
g=$(( $(stat_calls get) - g0 )) e=$(( $(stat_calls evalsha) - e0 ))
conflicts=$(( e - 400 )) rereads=$(( g - 800 - e ))
if [ "$conflicts" -le 0 ]; then
    echo "ok - # SKIP 4 racers made no conflict to count ($g GET, $e EVALSHA)"
else
    check "400 messages raced, $conflicts conflicts: only $rereads read again by a GET sent" \
        test "$rereads" -lt "$conflicts"
fi

# ---- two relays behind a real Postfix --------------------------------------
start_sink $SINK || { notok "smtp-sink started"; exit 1; }
"$BIN/bounceguard-milter" -f -c "$A" > "$T/milter-a.out" 2>&1 &
PIDS+=($!); MA=$!
"$BIN/bounceguard-milter" -f -c "$B" > "$T/milter-b.out" 2>&1 &
PIDS+=($!); MB=$!
wait_port $MILTER_A && wait_port $MILTER_B || { notok "milters started: $(cat "$T"/milter-?.out)"; exit 1; }
start_postfix $SMTPD_A $SINK "inet:127.0.0.1:$MILTER_A" || { notok "postfix started"; exit 1; }
echo "127.0.0.1:$SMTPD_B inet n - n - - smtpd -o smtpd_milters=inet:127.0.0.1:$MILTER_B" \
    >> "$T/pf/etc/master.cf"
postfix -c "$T/pf/etc" reload > /dev/null 2>&1
wait_port $SMTPD_B

r=$(rcpt_reply "$(smtp $SMTPD_A app@app.example gone@example.net --quit-after RCPT)")
check "relay A refuses the recipient blocked through B's config ($r)" grep -q '^550 5.7.1' <<<"$r"
bgb block late@example.net > /dev/null
r=$(rcpt_reply "$(smtp $SMTPD_A app@app.example late@example.net --quit-after RCPT)")
check "a block made while the milters run counts at once on the other relay ($r)" grep -q '^550 5.7.1' <<<"$r"
codes=
for port in $SMTPD_A $SMTPD_B $SMTPD_A $SMTPD_B; do
    r=$(verdict "$(smtp $port quota@app.example ok@example.com)")
    codes="$codes${r%% *} "
done
check "quota 3 across both relays: 250 250 250, then 450 on relay B ($codes)" \
    test "$codes" = "250 250 250 450 "
out=$(bga sender show env:quota@app.example 2>&1)
check "the sender's window is one for both relays" grep -Eq 'used +3/3|3/3' <<<"$out"

# A message between its RCPT TO and its end holds its quota in relay A's
# memory only; relay B fills the quota meanwhile: A's message is refused at
# its end (the count checks the quota again), so 3 got through, not 4.
python3 - "$SMTPD_A" "$T/held.go" > "$T/held.out" 2>&1 <<'EOP' &
import os, smtplib, sys, time
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=30)
s.ehlo("held.test")
s.mail("held@app.example")
print("rcpt", s.rcpt("ok@example.com")[0], flush=True)
for _ in range(300):
    if os.path.exists(sys.argv[2]):
        break
    time.sleep(0.1)
code, text = s.data(b"Subject: held\r\n\r\nheld\r\n")  # the reply after the dot
print("data", code, text.decode())
s.quit()
EOP
HELD=$!
wait_for 10 grep -q '^rcpt' "$T/held.out"
codes=
for i in 1 2 3 4; do
    r=$(verdict "$(smtp $SMTPD_B held@app.example ok@example.com)")
    codes="$codes${r%% *} "
done
touch "$T/held.go"; wait $HELD
check "relay B fills the quota while relay A holds a message: B $codes" \
    test "$codes" = "250 250 250 450 "
check "relay A's held message is refused at its end ($(tr '\n' ' ' < "$T/held.out"))" \
    grep -q '^data 45[0-9] 4.7.1' "$T/held.out"
out=$(bga sender show env:held@app.example 2>&1)
check "3 messages counted, not 4" grep -Eq 'used +3/3|3/3' <<<"$out"

# Rule 3 across relays: the blacklisted recipients a sender tried through
# relay A block it on relay B, whose MAIL FROM reads them with the window in
# one round trip (a first page that is not empty).
for i in $(seq 1 10); do bgb block "dead$i@example.org" > /dev/null; done
smtp $SMTPD_A trier@app.example "$(seq -s, -f 'dead%g@example.org' 1 10)" --quit-after RCPT > /dev/null
r=$(mail_reply "$(smtp $SMTPD_B trier@app.example ok@example.com --quit-after RCPT)")
check "10 blacklisted recipients tried through relay A: relay B refuses the sender at MAIL FROM ($r)" \
    grep -q '^5[0-9][0-9] 5.7.1' <<<"$r"
r=$(mail_reply "$(smtp $SMTPD_B other@app.example ok@example.com --quit-after RCPT)")
check "another sender is not refused by it ($r)" grep -q '^250' <<<"$r"

# ---- a bounce learned by one relay about a message another relay sent ----
out=$(smtp $SMTPD_A dsnapp@app.example dead@example.com --header "Message-Id: <relay-a-1@app.example>")
check "relay A sends a message to dead@example.com" grep -q '<-  250 2.0.0' <<<"$out"
wait_for 10 bash -c "redis-cli -p $R1 -a $PASS --no-auth-warning exists 'bounceguard:message:m:relay-a-1@app.example' | grep -q 1"
verp_dsn app@app.example dead@example.com bounce-1 relay-a-1@app.example > "$T/dsn1.eml"
"$BIN/bounceguard-dsn" -c "$B" pipe --client-ip 192.0.2.25 --sender MAILER-DAEMON \
    --recipient app@app.example < "$T/dsn1.eml" > "$T/dsn1.out" 2>&1; rc=$?
check "relay B's DSN intake takes the bounce (exit $rc)" test "$rc" = 0
r=$(rcpt_reply "$(smtp $SMTPD_A app@app.example dead@example.com --quit-after RCPT)")
check "relay A refuses the recipient relay B learned bounced, traced to A's message ($r)" \
    grep -q '^550 5.7.1' <<<"$r"
verp_dsn app@app.example forged@example.com bounce-2 never-sent@app.example > "$T/dsn2.eml"
"$BIN/bounceguard-dsn" -c "$B" pipe --client-ip 192.0.2.25 --sender MAILER-DAEMON \
    --recipient app@app.example < "$T/dsn2.eml" > "$T/dsn2.out" 2>&1
r=$(rcpt_reply "$(smtp $SMTPD_A app@app.example forged@example.com --quit-after RCPT)")
check "a DSN about a message no relay sent blacklists nobody ($r)" grep -q '^250' <<<"$r"
"$BIN/bounceguard-dsn" -c "$A" pipe --client-ip 192.0.2.25 --sender MAILER-DAEMON \
    --recipient app@app.example < "$T/dsn1.eml" > "$T/dsn3.out" 2>&1
out=$(bga show dead@example.com)
check "the same DSN delivered again to the other relay counts once" grep -Eq '^bounces +1$' <<<"$out"

# ---- Redis down: tempfail, no hang; back: no restart needed ----------------
stop_redis $R1
start=$(date +%s)
r=$(verdict "$(smtp $SMTPD_A app@app.example fresh@example.com --quit-after RCPT)")
took=$(( $(date +%s) - start ))
check "Redis down: the relay answers a temporary failure ($r) within seconds (${took}s)" \
    test -n "$(grep '^4[0-9][0-9]' <<<"$r")" -a "$took" -le 10
out=$(bga list 2>&1); rc=$?
check "Redis down: the CLI fails in one line, exit 4 ($out)" \
    test "$rc" = 4 -a "$(wc -l <<<"$out")" = 1
start_redis $R1 "${ACL[@]}" || notok "redis primary restarted"
# The restarted primary is empty (no persistence here) and the old replica
# follows it again; the milter reconnects by itself.
bgb block again@example.net > /dev/null
r=$(rcpt_reply "$(smtp $SMTPD_A app@app.example again@example.net --quit-after RCPT)")
check "Redis back: the running milter answers from it again without a restart ($r)" \
    grep -q '^550 5.7.1' <<<"$r"
check "the milters are still the ones started" kill -0 $MA $MB

# ---- a durable write waits for its replica -----------------------------------
replica_online() { rcli $R1 info replication | grep -q "port=$R2,state=online"; }
wait_for 20 replica_online
# A deadline a busy machine meets (the replica's answer to WAIT is a process
# switch away); the refusal below is a different answer, not a slower one.
conf "$T/wait.conf" "redis_servers=127.0.0.1:$R1" "redis_replicas=1" "redis_timeout=2000"
out=$("$BIN/bounceguard" -c "$T/wait.conf" block waited@example.net 2>&1); rc=$?
check "redis_replicas = 1 with the replica up: the block is acknowledged ($out)" test "$rc" = 0
stop_redis $R2
out=$("$BIN/bounceguard" -c "$T/wait.conf" block unconfirmed@example.net 2>&1); rc=$?
check "redis_replicas = 1 with the replica down: not acknowledged, one line ($out)" \
    test "$rc" = 4 -a "$(wc -l <<<"$out")" = 1 -a -n "$(grep 'replicas confirmed' <<<"$out")"

# ---- Sentinel: the relays follow a failover ----------------------------------
start_redis $R2 "${ACL[@]}" --replicaof 127.0.0.1 $R1 || notok "redis replica restarted"
wait_for 20 replica_online
start_sentinel $SENT $R1 1
wait_for 20 bash -c "redis-cli -p $SENT sentinel replicas mymaster 2>/dev/null | grep -q $R2"
conf "$T/sent.conf" "redis_sentinels=127.0.0.1:$SENT" "socket=inet:$MILTER_B@127.0.0.1" \
    "pid_file=$T/s.pid"
kill $MB; wait $MB 2>/dev/null; wait_port_free $MILTER_B
"$BIN/bounceguard-milter" -f -c "$T/sent.conf" > "$T/milter-s.out" 2>&1 &
PIDS+=($!); MS=$!
wait_port $MILTER_B
"$BIN/bounceguard" -c "$T/sent.conf" block before-failover@example.net > /dev/null
r=$(rcpt_reply "$(smtp $SMTPD_B app@app.example before-failover@example.net --quit-after RCPT)")
check "through the primary the Sentinel names: refused ($r)" grep -q '^550 5.7.1' <<<"$r"
redis-cli -p $SENT sentinel failover mymaster > /dev/null
wait_for 30 bash -c "redis-cli -p $SENT sentinel get-master-addr-by-name mymaster | grep -qx $R2"
wait_for 15 bash -c "redis-cli -p $R1 -a $PASS --no-auth-warning role | head -1 | grep -q slave"
check "the Sentinel failed over to the replica" \
    test "$(redis-cli -p $SENT sentinel get-master-addr-by-name mymaster | tail -1)" = $R2
out=$("$BIN/bounceguard" -c "$T/sent.conf" block after-failover@example.net 2>&1); rc=$?
check "after the failover a block goes to the new primary ($out)" \
    test "$rc" = 0 -a "$(rcli $R2 exists bounceguard:rcpt:after-failover@example.net)" = 1
r=$(rcpt_reply "$(smtp $SMTPD_B app@app.example after-failover@example.net --quit-after RCPT)")
check "the running milter follows the failover without a restart ($r)" grep -q '^550 5.7.1' <<<"$r"
check "the new primary holds what was written before the failover" \
    test "$(rcli $R2 exists bounceguard:rcpt:before-failover@example.net)" = 1
r=$(rcpt_reply "$(smtp $SMTPD_B app@app.example before-failover@example.net --quit-after RCPT)")
check "what was written before the failover is still refused ($r)" grep -q '^550 5.7.1' <<<"$r"
check "the milter did not restart" kill -0 $MS

# ---- a Sentinel with a password of its own --------------------------------------
# Monitoring the new primary under another name, so that it takes no part in
# the failovers of the Sentinel above.
start_sentinel $SENT_GUARDED $R2 1 guarded sentinel-secret
conf "$T/guarded.conf" "redis_sentinels=127.0.0.1:$SENT_GUARDED" "redis_master_name=guarded"
out=$("$BIN/bounceguard" -c "$T/guarded.conf" block via-guarded@example.net 2>&1); rc=$?
check "a Sentinel that asks for a password: refused in one line naming redis_sentinel_password ($out)" \
    test "$rc" != 0 -a "$(wc -l <<<"$out")" = 1 -a -n "$(grep 'asks for a password (redis_sentinel_password)' <<<"$out")"
conf "$T/guarded-bad.conf" "redis_sentinels=127.0.0.1:$SENT_GUARDED" "redis_master_name=guarded" \
    "redis_sentinel_password=not-it"
out=$("$BIN/bounceguard" -c "$T/guarded-bad.conf" block via-guarded@example.net 2>&1); rc=$?
check "a wrong redis_sentinel_password: refused in one line ($out)" \
    test "$rc" != 0 -a "$(wc -l <<<"$out")" = 1 -a -n "$(grep 'refuses redis_sentinel_password' <<<"$out")"
conf "$T/guarded-ok.conf" "redis_sentinels=127.0.0.1:$SENT_GUARDED" "redis_master_name=guarded" \
    "redis_sentinel_password=sentinel-secret"
out=$("$BIN/bounceguard" -c "$T/guarded-ok.conf" block via-guarded@example.net 2>&1); rc=$?
check "with redis_sentinel_password the Sentinel names the primary and the block lands there ($out)" \
    test "$rc" = 0 -a "$(rcli $R2 exists bounceguard:rcpt:via-guarded@example.net)" = 1
out=$("$BIN/bounceguard" -c "$T/guarded-ok.conf" config 2>&1 | grep '^redis_sentinel_password')
check "bounceguard config does not show redis_sentinel_password ($out)" \
    grep -q '(set, not shown)' <<<"$out"

# ---- moving a store between the backends -----------------------------------
printf 'db_home = %s/bdb\nlog_dir =\nsyslog = no\nuser =\n' "$T" > "$T/bdb.conf"
mkdir -p "$T/bdb"
"$BIN/bounceguard" -c "$T/sent.conf" export > "$T/from-redis.jsonl"
n_redis=$(wc -l < "$T/from-redis.jsonl")
"$BIN/bounceguard" -c "$T/bdb.conf" import "$T/from-redis.jsonl" > "$T/import1.out" 2>&1
"$BIN/bounceguard" -c "$T/bdb.conf" export > "$T/from-bdb.jsonl"
check "export from Redis, import into Berkeley DB: the same $n_redis records" \
    test "$n_redis" -gt 0 -a "$(wc -l < "$T/from-bdb.jsonl")" = "$n_redis"
conf "$T/moved.conf" "redis_sentinels=127.0.0.1:$SENT" "redis_prefix=moved:"
"$BIN/bounceguard" -c "$T/moved.conf" import "$T/from-bdb.jsonl" > "$T/import2.out" 2>&1
"$BIN/bounceguard" -c "$T/moved.conf" export > "$T/round.jsonl"
# seconds_left is counted at the export: the two exports may be a second apart.
records() { sed 's/"seconds_left":[0-9-]*,//' "$1" | sort; }
check "and back into Redis (another prefix): the records round-trip unchanged" \
    cmp -s <(records "$T/from-redis.jsonl") <(records "$T/round.jsonl")
out=$("$BIN/bounceguard" -c "$T/moved.conf" backup "$T/bk" 2>&1); rc=$?
check "backup of a Redis store says what to do instead, one line ($out)" \
    test "$rc" != 0 -a "$(wc -l <<<"$out")" = 1 -a -n "$(grep -i 'redis' <<<"$out")"

# The milters end cleanly (SIGTERM), with no sanitizer report in the ASan
# build (make asan) and no crash in any build.
kill $MA $MS 2>/dev/null
wait $MA $MS 2>/dev/null
check "the milters on Redis left no crash or sanitizer report" \
    test -z "$(grep -l -e 'Sanitizer' -e 'runtime error' -e 'Segmentation' "$T"/milter-*.out 2>/dev/null)"
