#!/usr/bin/env bash
# Three relays on one Redis through a failover of its primary under traffic
# (bounceguard.conf(5), REDIS).  A Redis primary and its replica watched by
# three Sentinels (quorum 2); three relays, each an smtpd listener of a real
# Postfix with its own bounceguard-milter that finds the primary through the
# Sentinels; SMTP load on all three relays while bounces about messages they
# sent arrive through the DSN pipe (redis_replicas = 1: acknowledged only
# once a replica has them).  The primary is SIGKILLed in the middle, and
# comes back later, empty, once every Sentinel names its successor.
# Checks: the Sentinels promote the replica; every relay answers from the
# new primary within a bounded time, without a restart; no SMTP session
# hung; the only permanent refusals are of blacklisted recipients, and none
# of those got through; every bounce whose delivery was acknowledged is in
# the new primary; one quota across the three relays.  Ports 2611-2622 (no other test uses them).
set -u
T=$(mktemp -d /tmp/bg-redisfo.XXXXXX)
R1=2611 R2=2612 S1=2613 S2=2614 S3=2615 SMTPD_A=2616 SMTPD_B=2617 SMTPD_C=2618 SINK=2619
MILTER_A=2620 MILTER_B=2621 MILTER_C=2622
MILTER_PORT=$MILTER_A
. "$TOP/tests/integration/lib.sh"
trap 'stop_all; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
chmod 755 "$T"

need_redis
PASS=$REDIS_PASS
QUOTA=12 SENDERS=6 BLACK=5 NDSN=30 LOAD_SECONDS=${FAILOVER_LOAD_SECONDS:-45}
replica_online() { rcli "$1" info replication 2>/dev/null | grep -q "port=$2,state=online"; }

start_redis $R1 || { notok "redis primary started: $(cat "$T/r$R1/log")"; exit 1; }
start_redis $R2 --replicaof 127.0.0.1 $R1 || { notok "redis replica started"; exit 1; }
wait_for 20 replica_online $R1 $R2 || { notok "the replica follows the primary"; exit 1; }
for s in $S1 $S2 $S3; do start_sentinel $s $R1 2 || { notok "sentinel $s started"; exit 1; }; done
# Every Sentinel knows the replica and the two other Sentinels.
sentinels_ready() {
    for s in $S1 $S2 $S3; do
        redis-cli -p $s sentinel replicas mymaster 2>/dev/null | grep -qx $R2 || return 1
        [ "$(redis-cli -p $s sentinel master mymaster 2>/dev/null |
            awk 'p {print; exit} $0 == "num-other-sentinels" {p = 1}')" = 2 ] || return 1
    done
}
check "three Sentinels watch the primary and its replica" wait_for 30 sentinels_ready

# conf FILE key=value...: a relay's config; every relay finds the primary
# through the Sentinels.
conf() {
    redis_conf "$@" "redis_sentinels=127.0.0.1:$S1 127.0.0.1:$S2 127.0.0.1:$S3" \
        "sender_identity=envelope" "quota_limit=$QUOTA" "check_tld=no"
}
conf "$T/a.conf" "socket=inet:$MILTER_A@127.0.0.1" "pid_file=$T/a.pid"
conf "$T/b.conf" "socket=inet:$MILTER_B@127.0.0.1" "pid_file=$T/b.pid"
conf "$T/c.conf" "socket=inet:$MILTER_C@127.0.0.1" "pid_file=$T/c.pid"
# the bounce intake: acknowledged only when a replica has the bounce
conf "$T/dsn.conf" "redis_replicas=1"
bgc() { "$BIN/bounceguard" -c "$T/a.conf" "$@"; }

for ((k = 0; k < BLACK; k++)); do
    bgc block "black$k@dest.example" --reason "failover test" > /dev/null ||
        { notok "block black$k@dest.example"; exit 1; }
done
start_sink $SINK || { notok "smtp-sink started"; exit 1; }
MPIDS=()
for r in a b c; do
    "$BIN/bounceguard-milter" -f -c "$T/$r.conf" > "$T/milter-$r.out" 2>&1 &
    PIDS+=($!)
    MPIDS+=($!)
done
wait_port $MILTER_A && wait_port $MILTER_B && wait_port $MILTER_C ||
    { notok "three milters started: $(cat "$T"/milter-?.out)"; exit 1; }
start_postfix $SMTPD_A $SINK "inet:127.0.0.1:$MILTER_A" || { notok "postfix started"; exit 1; }
{
    echo "127.0.0.1:$SMTPD_B inet n - n - - smtpd -o smtpd_milters=inet:127.0.0.1:$MILTER_B"
    echo "127.0.0.1:$SMTPD_C inet n - n - - smtpd -o smtpd_milters=inet:127.0.0.1:$MILTER_C"
} >> "$T/pf/etc/master.cf"
postfix -c "$T/pf/etc" reload > /dev/null 2>&1
wait_port $SMTPD_B && wait_port $SMTPD_C || { notok "three relays listen"; exit 1; }

# ---- messages whose bounces will come back, sent through all three relays --
ports=($SMTPD_A $SMTPD_B $SMTPD_C)
sent=0
for ((i = 0; i < NDSN; i++)); do
    out=$(smtp "${ports[i % 3]}" "dsn$i@app.example" "dead$i@example.com" \
        --header "Message-Id: <fo-$i@app.example>")
    grep -q '<-  250 2.0.0' <<<"$out" && sent=$((sent + 1))
    verp_dsn "dsn$i@app.example" "dead$i@example.com" "fo-$i" "fo-$i@app.example" > "$T/dsn-$i.eml"
done
check "the three relays sent the $NDSN messages whose bounces come back ($sent)" test "$sent" = $NDSN

# ---- the load, the bounces, the kill ---------------------------------------
for p in "${ports[@]}"; do
    python3 "$TOP/tests/long/smtp_load.py" "$p" "$LOAD_SECONDS" 4 $SENDERS $BLACK \
        "$T/load-$p.out" 2> "$T/load-$p.err" &
    PIDS+=($!)
    LOADS+=($!)
done
# each bounce is delivered until the pipe exits 0, as an MTA retries
feeder() {
    local i tries rc
    for ((i = 0; i < NDSN; i++)); do
        for ((tries = 0; tries < 200; tries++)); do
            "$BIN/bounceguard-dsn" -c "$T/dsn.conf" pipe --client-ip 192.0.2.25 \
                --sender MAILER-DAEMON --recipient "dsn$i@app.example" < "$T/dsn-$i.eml" \
                >> "$T/pipe.out" 2>&1
            rc=$?
            echo "$i $rc" >> "$T/pipe.rc"
            [ $rc = 0 ] && { echo "dead$i@example.com" >> "$T/pipe.acked"; break; }
            sleep 0.3
        done
        sleep 0.4
    done
}
feeder &
FEEDER=$!
PIDS+=($FEEDER)

sleep 8
old_primary=REDIS_PID_$R1
kill -9 "${!old_primary}"
killed_at=$(date +%s)
wait "${!old_primary}" 2>/dev/null
check "the Sentinels promote the replica after the primary's SIGKILL" \
    wait_for 30 bash -c "[ \"\$(redis-cli -p $S1 sentinel get-master-addr-by-name mymaster 2>/dev/null | tail -1)\" = $R2 ]"
promoted=$(($(date +%s) - killed_at))
# A block through the Sentinels after the failover: every relay refuses it,
# each within a bounded time of the kill.
out=$(bgc block after-kill@example.net --reason "failover test" 2>&1)
check "after the failover a block is written through the Sentinels ($out)" \
    test "$(rcli $R2 exists bounceguard:rcpt:after-kill@example.net)" = 1
slowest=0
for p in "${ports[@]}"; do
    refuses() { rcpt_reply "$(smtp "$1" probe@app.example after-kill@example.net --quit-after RCPT)" |
        grep -q '^550 5.7.1'; }
    wait_for 30 refuses "$p"
    t=$(($(date +%s) - killed_at))
    [ $t -gt $slowest ] && slowest=$t
    refuses "$p" || { slowest=999; echo "# relay on $p does not refuse after-kill@example.net"; }
done
check "every relay answers from the new primary without a restart, within ${slowest}s of the kill (promotion ${promoted}s)" \
    test "$slowest" -le 20
# The old primary comes back, empty, once every Sentinel names its successor
# (bounceguard.conf(5), REDIS: a primary that comes back empty before then
# can be taken for the primary by a Sentinel that has not heard of the
# failover, and its replica emptied), and the Sentinels make it a replica.
all_name_r2() {
    for s in $S1 $S2 $S3; do
        [ "$(redis-cli -p $s sentinel get-master-addr-by-name mymaster 2>/dev/null | tail -1)" = $R2 ] || return 1
    done
}
check "every Sentinel names the new primary" wait_for 30 all_name_r2
start_redis $R1 || notok "the old primary restarted"
check "the old primary comes back as a replica of the new one" wait_for 60 replica_online $R2 $R1

for p in "${LOADS[@]}"; do wait "$p"; done
wait $FEEDER
postqueue -c "$T/pf/etc" -f 2>/dev/null
wait_for 60 bash -c "postqueue -c '$T/pf/etc' -p 2>/dev/null | grep -q 'Mail queue is empty'"

# ---- the verdict ---------------------------------------------------------------
for ((i = 0; i < ${#MPIDS[@]}; i++)); do kill -0 "${MPIDS[i]}" || notok "milter $i exited"; done
check "the three milters are the ones started (none restarted)" kill -0 "${MPIDS[@]}"
nacked=$(sort -u "$T/pipe.acked" 2>/dev/null | wc -l)
lost=0
while read -r r; do
    out=$(bgc show "$r" 2>&1)
    grep -q 'blacklisted' <<<"$out" || { lost=$((lost + 1)); echo "# lost: $r: $(head -2 <<<"$out" | tr '\n' ' ')"; }
done < <(sort -u "$T/pipe.acked" 2>/dev/null)
refused_pipe=$(awk '$2 != 0' "$T/pipe.rc" 2>/dev/null | wc -l)
bad_pipe=$(awk '$2 != 0 && $2 != 75' "$T/pipe.rc" 2>/dev/null | wc -l)
check "every bounce was acknowledged in the end: $nacked of $NDSN ($refused_pipe deliveries refused for a retry meanwhile, all EX_TEMPFAIL: $bad_pipe other)" \
    test "$nacked" = $NDSN -a "$bad_pipe" = 0
check "every acknowledged bounce is in the store after the failover: $lost lost" test "$lost" = 0
# What the Sentinels did and what each server is now, for a failure to explain itself.
if [ "$lost" != 0 ] || ! replica_online $R2 $R1; then
    for s in $S1 $S2 $S3; do
        grep -E 'switch-master|convert-to-slave|elected-leader|odown|failover-end|slave-reconf' "$T/s$s.log" |
            sed "s/^/# sentinel $s: /"
    done
    for r in $R1 $R2; do echo "# redis $r: $(rcli $r info replication 2>&1 | grep -E '^(role|master_port|connected_slaves|slave0)' | tr -d '\r' | tr '\n' ' ')"; done
fi
said=$(grep -c '{bounceguard-dsn\[.*store' "$T/log/error.log" 2>/dev/null)
check "the DSN intake said why, one line per delivery refused ($said lines for $refused_pipe: $(grep -m1 -o 'only 0 of 1 replicas.*' "$T/log/error.log" 2>/dev/null))" \
    test "$said" = "$refused_pipe"

cat "$T"/load-*.out > "$T/load.out"
L=$T/load.out
sessions=$(grep -c '^MAIL ' "$L")
hung=$(grep -c 'timed out' "$L")
bad_perm=$(awk '$4 ~ /^5/ && !($1 == "RCPT" && $3 ~ /^black/ && $4 == 550 && $6 == "5.7.1")' "$L" | wc -l)
black_ok=$(awk '$1 == "RCPT" && $3 ~ /^black/ && $4 == 250' "$L" | wc -l)
temp=$(awk '$4 ~ /^4/' "$L" | wc -l)
per_relay=""
for p in "${ports[@]}"; do per_relay="$per_relay $(awk '$1 == "DATA" && $4 == 250' "$T/load-$p.out" | wc -l)"; done
check "load ran on the three relays: $sessions sessions, messages accepted per relay:$per_relay, $temp temporary failures" \
    test "$sessions" -gt 100 -a -z "$(tr ' ' '\n' <<<"$per_relay" | grep -x 0)"
check "no session hung ($hung timed out)" test "$hung" = 0
check "no permanent refusal but of blacklisted recipients ($bad_perm: $(awk '$4 ~ /^5/ && !($1 == "RCPT" && $3 ~ /^black/)' "$L" | head -2 | tr '\n' ' '))" \
    test "$bad_perm" = 0
check "no blacklisted recipient accepted at RCPT ($black_ok were)" test "$black_ok" = 0
# One quota for the three relays.  A failover may forget what the primary
# had not yet sent to its replica when it died (Redis replicates
# asynchronously; bounceguard.conf(5) says so): a reservation or two.
grep -rh '^X-Load-Sender:' "$T/sink" 2>/dev/null | sort | uniq -c | sort -rn > "$T/per-sender"
max=$(awk 'NR == 1 {print $1}' "$T/per-sender")
check "one quota of $QUOTA across the three relays, through the failover (most: ${max:-0}; $(awk '{printf "%s=%s ", $3, $1}' "$T/per-sender"))" \
    test -n "$max" -a "${max:-0}" -le $((QUOTA + 2)) -a "${max:-0}" -ge $QUOTA
crashes=$(cat "$T"/milter-?.out "$T/pipe.out" | grep -ciE 'sanitizer|segmentation|assert')
check "no crash report" test "$crashes" = 0
echo "# figures: promotion ${promoted}s, every relay answering ${slowest}s after the kill, $sessions sessions, $temp temporary failures, bounces $nacked acknowledged / $lost lost, $refused_pipe pipe deliveries refused for a retry, most per sender ${max:-0} of $QUOTA"
