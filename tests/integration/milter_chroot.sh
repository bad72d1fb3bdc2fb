#!/usr/bin/env bash
# INSTALL's recipe for a unix socket and Debian's chrooted Postfix, done as
# written: smtpd chrooted in its queue directory, the socket in a directory
# of the milter's user under it (group postfix may enter, not write),
# socket_group = postfix, smtpd_milters with the path seen from inside the
# chroot.  The milter, started as root, drops to its user; smtpd (user
# postfix) reaches it and gets its replies.  Without socket_group the socket
# is the user's group's alone and smtpd cannot connect (milter_default_action
# tempfail).  Ports 2780-2782.
set -u
T=$(mktemp -d /tmp/bg-chroot.XXXXXX)
SMTPD=2780
SINK=2781
MILTER_PORT=2782 # only written to configs: the socket is a unix one
. "$TOP/tests/integration/lib.sh"
trap 'stop_all; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
chmod 755 "$T"
Q=$T/pf/queue
SOCKDIR=$Q/bounceguard

start_sink $SINK || { notok "smtp-sink started"; exit 1; }
start_postfix $SMTPD $SINK "unix:/bounceguard/milter.sock" || { notok "postfix started"; exit 1; }
# start_postfix runs every service unchrooted; smtpd as Debian's master.cf has it.
sed -i -E "s/^(127\.0\.0\.1:$SMTPD +inet +[^ ]+ +[^ ]+ +)n /\1y /" "$T/pf/etc/master.cf"
check "smtpd is chrooted in master.cf" grep -Eq "^127\.0\.0\.1:$SMTPD +inet +[^ ]+ +[^ ]+ +y " "$T/pf/etc/master.cf"
postfix -c "$T/pf/etc" reload > /dev/null 2>&1

# INSTALL, 5a: install -d -o bounceguard -g postfix -m 750 /var/spool/postfix/bounceguard
mkdir -p "$SOCKDIR"; chown nobody:postfix "$SOCKDIR"; chmod 750 "$SOCKDIR"
chroot_milter() { # chroot_milter NAME key=value...: the milter on the recipe's socket
    local name=$1; shift
    mkdir -p "$T/db-$name"; chown nobody "$T/db-$name"
    write_milter_conf "$T/$name.conf" "socket=unix:$SOCKDIR/milter.sock" user=nobody \
        log_dir= pid_file= "db_home=$T/db-$name" "$@"
    "$BIN/bounceguard-milter" -f -c "$T/$name.conf" > "$T/$name.out" 2>&1 &
    MPID=$!; PIDS+=($MPID)
    wait_for 10 test -S "$SOCKDIR/milter.sock"
}
write_milter_conf "$T/n.conf" "socket=unix:$SOCKDIR/milter.sock" user=nobody log_dir= \
    pid_file= socket_group=postfix
out=$("$BIN/bounceguard-milter" -n -c "$T/n.conf" 2>&1)
check "-n accepts the recipe's config ($out)" grep -q 'is valid' <<<"$out"

chroot_milter pf socket_group=postfix
got=$(stat -c '%a %U %G' "$SOCKDIR/milter.sock" 2>/dev/null)
check "the socket is 0660 nobody:postfix (${got:-none})" [ "$got" = "660 nobody postfix" ] ||
    sed 's/^/# /' "$T/pf.out"
out=$(smtp $SMTPD app@app.example good@example.com --body "chroot-marker-1")
check "chrooted smtpd passes valid mail through the milter" grep -q '<-  250 2.1.5' <<<"$out"
r=$(rcpt_reply "$(smtp $SMTPD app@app.example user@example.invalidtld --quit-after RCPT)")
check "and gets the milter's refusal of an unknown TLD ($r)" \
    grep -q '^550 5.1.2 Email address format is not valid.' <<<"$r"
# The smtpd that answered runs inside the queue directory.
roots=$(for p in $(pgrep -x smtpd); do readlink "/proc/$p/root"; done | sort -u | tr '\n' ' ')
check "an smtpd runs chrooted in $Q ($roots)" grep -qF "$Q " <<<"$roots"
kill "$MPID"; wait "$MPID" 2>/dev/null

# Without socket_group: the group of nobody, which smtpd is not in.
chroot_milter nogroup
got=$(stat -c '%a %U %G' "$SOCKDIR/milter.sock" 2>/dev/null)
check "without socket_group the socket is 0660 nobody:nogroup (${got:-none})" \
    [ "$got" = "660 nobody nogroup" ]
r=$(mail_reply "$(smtp $SMTPD app@app.example user@example.invalidtld --quit-after RCPT)")
check "then smtpd cannot reach the milter: tempfail ($r)" grep -q '^451 4.7.1' <<<"$r"
check "and Postfix says why (Permission denied)" \
    bash -c "grep -q 'connect to Milter service unix:/bounceguard/milter.sock: Permission denied' '$T/pf/maillog'"
kill "$MPID"; wait "$MPID" 2>/dev/null
