#!/usr/bin/env bash
# What an attacker or another local user can do, and must not be able to:
# forged DSNs blacklist nobody in the default config; the milter's unix socket
# and the store are not writable by other users; the CLI's write commands
# fail cleanly for a user without access; every SMTP reply is one of the
# fixed texts, whatever the client sent; a malformed trusted network trusts
# nobody; an error message is always one line.  Ports 2710-2712.
set -u
T=$(mktemp -d /tmp/bg-security.XXXXXX)
SMTPD=2710
SINK=2711
MILTER_PORT=2712
. "$TOP/tests/integration/lib.sh"
trap 'stop_all; rm -rf "$T"' EXIT
chmod 755 "$T"
DSN=$BIN/bounceguard-dsn
SEED=$BIN/tools/intake_seed
DATA=$TOP/tests/data/intake
state() { "$SEED" "$T/db" rcpt "$1" | cut -d' ' -f1; }

# ---- forged DSNs, default config (dsn_trust = correlated) ---------------------
CONF=$T/bg.conf
write_milter_conf "$CONF" check_tld=no
pipe_in() { "$DSN" -c "$CONF" pipe --client-ip 192.0.2.66 --helo mx.attacker.example \
    --sender MAILER-DAEMON --recipient app@customer.example; }
"$SEED" "$T/db" message '<orig-1@app.customer.example>' 4SEC1 192.0.2.10 \
    app@customer.example gone@remote.example > /dev/null

pipe_in < "$DATA/forged-uncorrelated.eml"; rc=$?
check "forged DSN for a message never sent: acknowledged ($rc), blacklists nobody" \
    [ $rc = 0 -a "$(state victim@remote.example)" = none ]
# right Message-ID of a real message, but a recipient it was never sent to
sed -e 's/DSN1@/SEC2@/; s/gone@/never-sent@/g' "$DATA/hard-5.1.1.eml" | pipe_in; rc=$?
check "DSN naming a recipient the message was never sent to blacklists nobody ($rc)" \
    [ $rc = 0 -a "$(state never-sent@remote.example)" = none ]
# SPF: the reporting host is an attacker's; in the default config SPF is not
# even consulted, and without correlation nothing counts
sed -e 's/DSN1@/SEC3@/; s/orig-1@/orig-unknown@/; s/gone@/spf-victim@/g' "$DATA/hard-5.1.1.eml" |
    "$DSN" -c "$CONF" pipe --client-ip 203.0.113.66 --helo spf-fails.example \
        --sender bounce@spf-fails.example --recipient app@customer.example; rc=$?
check "DSN from a host that fails SPF, uncorrelated, blacklists nobody ($rc)" \
    [ $rc = 0 -a "$(state spf-victim@remote.example)" = none ]
# many recipients in one forged DSN
forged=0
for i in 1 2 3 4 5 6 7 8 9 10; do
    sed -e "s/DSN1@/FORGE$i@/; s/orig-1@/orig-forged-$i@/; s/gone@/bulk$i@/g" "$DATA/hard-5.1.1.eml" | pipe_in
    [ "$(state "bulk$i@remote.example")" = none ] || forged=$((forged + 1))
done
check "ten forged DSNs with made-up Message-IDs: none blacklists ($forged did)" [ $forged = 0 ]
# positive control: the genuine bounce does blacklist (so the above can fail)
pipe_in < "$DATA/hard-5.1.1.eml"; rc=$?
check "control: the genuine correlated bounce blacklists ($rc)" \
    [ $rc = 0 -a "$(state gone@remote.example)" = blacklisted ]

# ---- the store's files: not for other users ------------------------------------
bad=$(find "$T/db" -perm /o+w -o -perm /o+r | grep -v "^$T/db\$" | head -3)
check "no store file is readable or writable by others (${bad:-none})" [ -z "$bad" ]
dmode=$(stat -c %a "$T/db")
check "db_home is not world-accessible (mode $dmode)" [ $((0$dmode & 7)) = 0 ]
chmod 755 "$T/db" # let nobody in: the files themselves must hold
out=$(as_nobody sh -c "echo x >> '$T/db/rcpt.db'" 2>&1); rc=$?
check "nobody cannot write rcpt.db ($rc)" [ $rc != 0 ]
out=$(as_nobody sh -c "echo x >> '$T/db/__db.001'" 2>&1); rc=$?
check "nobody cannot write the environment's region file ($rc)" [ $rc != 0 ]
chmod 750 "$T/db"
one_line_fail() { [ "$2" != 0 ] && [ -n "$1" ] && [ "$(printf '%s\n' "$1" | wc -l)" = 1 ]; }
cp "$CONF" "$T/nobody.conf"; chmod 644 "$T/nobody.conf"
open_bin # the programs where nobody can run them
for cmd in "block evil@remote.example" "unblock gone@remote.example" "debug on" "purge"; do
    out=$(as_nobody timeout 20 "$OBIN/bounceguard" -c "$T/nobody.conf" $cmd 2>&1); rc=$?
    check "CLI '$cmd' as nobody fails cleanly: exit $rc, one line ($out)" \
        bash -c "[ $rc != 0 ] && [ $rc -lt 124 ] && [ \$(printf '%s\n' \"\$1\" | wc -l) = 1 ]" _ "$out"
done
check "the store is unchanged: gone@ is still blacklisted, evil@ not" \
    [ "$(state gone@remote.example)" = blacklisted -a "$(state evil@remote.example)" = none ]
out=$(as_nobody timeout 20 "$OBIN/bounceguard-dsn" -c "$T/nobody.conf" pipe --recipient app@customer.example < "$DATA/hard-5.1.1.eml" 2>&1); rc=$?
check "pipe as a user without access: EX_TEMPFAIL 75, not acknowledged ($rc)" [ $rc = 75 ]

# ---- the milter's unix socket ----------------------------------------------------
mkdir -p "$T/run"; chmod 755 "$T/run"
SCONF=$T/sock.conf
write_milter_conf "$SCONF" "socket=unix:$T/run/milter.sock" "pid_file=$T/run/u.pid"
"$BIN/bounceguard-milter" -f -c "$SCONF" > "$T/umilter.out" 2>&1 &
UPID=$!; PIDS+=($UPID)
wait_for 10 test -S "$T/run/milter.sock"
smode=$(stat -c %a "$T/run/milter.sock" 2>/dev/null)
check "unix socket exists, not writable by others (mode ${smode:-none})" \
    bash -c "[ -n '$smode' ] && [ \$((0$smode & 2)) = 0 ]"
out=$(as_nobody perl -MIO::Socket::UNIX -e '
    my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or exit($!{EACCES} ? 1 : 2); exit 0' \
    "$T/run/milter.sock" 2>&1); rc=$?
check "nobody cannot connect to the milter socket ($rc)" [ $rc = 1 ]
kill "$UPID"; wait "$UPID" 2>/dev/null

# socket_mode and socket_group: the socket is made so (the umask at bind, the
# group taken for the moment), or given its group in a set-group-ID
# directory, which hands down its own; the MTA's group may then connect.
SG=postfix; getent group postfix > /dev/null || SG=mail
connects() { # connects GROUP SOCKET: rc 0 connected, 1 refused (EACCES), 2 other
    setpriv --reuid=nobody --regid="$1" --clear-groups perl -MIO::Socket::UNIX -e '
        my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or exit($!{EACCES} ? 1 : 2); exit 0' "$2"
}
sock_milter() { # sock_milter NAME DIR key=value...: a milter on unix:DIR/m.sock
    local name=$1 dir=$2; shift 2
    write_milter_conf "$T/$name.conf" "socket=unix:$dir/m.sock" "pid_file=$dir/m.pid" "$@"
    "$BIN/bounceguard-milter" -f -c "$T/$name.conf" > "$T/$name.out" 2>&1 &
    SPID=$!; PIDS+=($SPID)
    wait_for 10 test -S "$dir/m.sock"
}
mkdir -p "$T/run2"; chmod 755 "$T/run2"
sock_milter sg "$T/run2" socket_mode=0660 "socket_group=$SG"
got=$(stat -c '%a %U %G' "$T/run2/m.sock" 2>/dev/null)
check "as root, socket_mode=0660 socket_group=$SG: the socket is 0660 root:$SG (${got:-none})" \
    [ "$got" = "660 root $SG" ] || sed 's/^/# /' "$T/sg.out"
connects "$SG" "$T/run2/m.sock"; rc=$?
check "a member of group $SG connects to it ($rc)" [ $rc = 0 ]
connects nogroup "$T/run2/m.sock"; rc=$?
check "nobody else does ($rc)" [ $rc = 1 ]
kill "$SPID"; wait "$SPID" 2>/dev/null
# The daemon user's own directory, set-group-ID to group mail (the socket
# would be born mail's): made as that user, then given to socket_group.
mkdir -p "$T/nrun"; chown nobody:mail "$T/nrun"; chmod 2750 "$T/nrun"
sock_milter sgid "$T/nrun" user=nobody log_dir= "db_home=$T/nrun/db" socket_mode=0620 "socket_group=$SG"
got=$(stat -c '%a %U %G' "$T/nrun/m.sock" 2>/dev/null)
check "in a set-group-ID directory of the user's: the socket is 0620 nobody:$SG (${got:-none})" \
    [ "$got" = "620 nobody $SG" ] || sed 's/^/# /' "$T/sgid.out"
kill "$SPID"; wait "$SPID" 2>/dev/null
write_milter_conf "$T/nog.conf" "socket=unix:$T/run2/m.sock" "pid_file=$T/run2/m.pid" socket_group=nosuchgroup
out=$("$BIN/bounceguard-milter" -f -c "$T/nog.conf" 2>&1); rc=$?
check "a start with socket_group=nosuchgroup stops with one line naming it (exit $rc: $out)" \
    bash -c "[ $rc -ne 0 ] && [ \$(wc -l <<<\"\$1\") -eq 1 ] && grep -q 'socket_group: group \"nosuchgroup\" does not exist' <<<\"\$1\"" _ "$out"

# ---- SMTP replies through a real Postfix -------------------------------------------
start_sink $SINK || { notok "smtp-sink started"; exit 1; }
MCONF=$T/m.conf
write_milter_conf "$MCONF" check_tld=no quota_limit=1 sender_identity=ip \
    "trusted_networks=10.0.0.0/x 192.0.2.0/"
out=$("$BIN/bounceguard-milter" -f -c "$MCONF" 2>&1); rc=$?
check "a malformed trusted_networks entry (10.0.0.0/x) is refused at start, named (exit $rc: $out)" \
    bash -c "[ $rc -eq 3 ] && grep -q 'trusted_networks: \"10.0.0.0/x\"' <<<'$out'"
sed -i "s|^trusted_networks = .*|trusted_networks = 10.0.0.0/8 192.0.2.0/24|" "$MCONF"
sed -i "s|^db_home = .*|db_home = $T/db|" "$MCONF"
start_milter "$MCONF" || { notok "milter started: $(cat "$T/milter.out")"; exit 1; }
start_postfix $SMTPD $SINK "inet:127.0.0.1:$MILTER_PORT" || { notok "postfix started"; exit 1; }
"$BIN/bounceguard" -c "$MCONF" block 'pct%20%s%n@dest.example' > /dev/null 2>&1
r=$(rcpt_reply "$(smtp $SMTPD a@app.example 'pct%20%s%n@dest.example' --quit-after RCPT)")
check "a refusal for an address full of % is the fixed text ($r)" \
    [ "$r" = "550 5.7.1 Email send failed. Recipient is blocked by the mail administrator." ]
long=$(printf 'x%.0s' $(seq 1 60))
r=$(rcpt_reply "$(smtp $SMTPD a@app.example "$long.$long@$long.$long.example" --quit-after RCPT)")
check "an over-long address gets a short, fixed reply (${#r} chars: ${r:0:60})" \
    bash -c "[ ${#r} -lt 200 ] && grep -qE '^5[0-9][0-9] 5\.[0-9]\.[0-9] ' <<<'$r'"
r=$(smtp $SMTPD a@app.example ok1@dest.example)
check "the first message under quota 1 passes" grep -q '<-  250 2.0.0 Ok: queued' <<<"$r"
r=$(mail_reply "$(smtp $SMTPD a@app.example ok2@dest.example --quit-after RCPT)")
[ "${r:0:1}" = 2 ] && r=$(rcpt_reply "$(smtp $SMTPD a@app.example ok2@dest.example --quit-after RCPT)")
check "trusted_networks that do not hold the client: quota holds ($r)" \
    grep -q '^450 4.7.1 Your appliance exhausted email quota.' <<<"$r"

# ---- the audit of reply texts (static) ---------------------------------------------
calls=$(grep -rn 'smfi_setreply(' "$TOP"/milter/*.c | wc -l)
fixed=$(grep -rn 'smfi_setreply(ctx, (char \*)r.rcode, (char \*)r.xcode, (char \*)r.text)' "$TOP"/milter/*.c | wc -l)
check "every smfi_setreply sends a bg_policy_reply text ($fixed of $calls calls)" [ "$calls" = "$fixed" -a "$calls" -gt 0 ]
texts=$(sed -n '/^static const char TEXT_/,/;/p' "$TOP/lib/policy.c" | grep -oE '"[^"]*"')
check "the reply texts hold no CR, LF or %, and are short" \
    bash -c "! grep -qE '%|\\\\r|\\\\n' <<<'$texts' && [ \$(awk '{ if (length > m) m = length } END { print m }' <<<'$texts') -lt 200 ]"

# ---- one-line errors, whatever the config holds ------------------------------------
printf 'quota_limit = 10\nbad\rkey\nFAKE LOG LINE = 1\n' > "$T/cr.conf"
out=$("$BIN/bounceguard-milter" -n -c "$T/cr.conf" 2>&1); rc=$?
check "a config error with a CR in it is reported on one line (exit $rc)" \
    bash -c "[ $rc != 0 ] && [ \$(printf '%s' \"\$1\" | tr -cd '\r\n' | wc -c) = 0 ]" _ "$out"
