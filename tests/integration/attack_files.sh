#!/usr/bin/env bash
# Security issue 18, item 3: the milter's unix socket and pid file cannot be
# redirected by symlinks or hard links.  The daemon's user owns the directory
# they are made in (as /run/bounceguard in INSTALL); that user swaps the
# socket and the pid file for links to a root-owned file while the milter is
# started as root, many times; the file's owner, mode and content must never
# change.  Also: a second milter with the same config is refused while the
# first runs and leaves its pid file and socket alone; a stale pid file from a
# crash does not stop a start; a directory others may write is refused; unix
# and inet sockets still work.  Ports 2750-2759 (2750: inet milter).
set -u
T=$(mktemp -d /tmp/bg-attack-files.XXXXXX)
MILTER_PORT=2750
. "$TOP/tests/integration/lib.sh"
STOP=$T/attack.stop
trap 'touch "$STOP"; stop_all; rm -rf "$T"' EXIT
chmod 755 "$T"
M=$BIN/bounceguard-milter
U=nobody
G=$(id -gn $U)
as_user() { setpriv --reuid=$U --regid="$G" --clear-groups "$@"; }

# root's file, in a directory only root may write
mkdir "$T/root"
TARGET=$T/root/target
# fresh_target: root's file as it was (a section that changed it says so
# itself; the next one starts from a clean file)
fresh_target() { rm -f "$TARGET"; printf 'root secret\n' > "$TARGET"; chmod 600 "$TARGET"; }
target_state() { echo "$(stat -c '%U:%G %a' "$TARGET") $(sha256sum < "$TARGET" | cut -c1-16)"; }
fresh_target
before=$(target_state)
changed_ever=
unchanged() { # unchanged: root's file is as it was; remembers a change
    [ "$(target_state)" = "$before" ] && return 0
    changed_ever=yes
    return 1
}

mkdir -p "$T/db" "$T/log" "$T/run"
chown $U:"$G" "$T/db" "$T/log" "$T/run"
chmod 755 "$T/run"
SOCK=$T/run/milter.sock
PIDF=$T/run/milter.pid
CONF=$T/unix.conf
write_milter_conf "$CONF" "socket=unix:$SOCK" "pid_file=$PIDF" "user=$U" check_tld=no
chmod 644 "$CONF"

# mstart CONF: the milter in the foreground of a background job, as root
# (dropping to $U); MPID is its pid.  Waits until it says it listens (its
# socket and pid file are made by then), or has died.
mstart() {
    "$M" -f -c "$1" > "$T/m.out" 2>&1 &
    MPID=$!
    PIDS+=($MPID)
    wait_for 10 bash -c "! kill -0 $MPID 2>/dev/null || grep -q 'listening on' '$T/m.out'"
}
mstop() {
    kill "$MPID" 2>/dev/null
    wait_for 10 bash -c "! kill -0 $MPID 2>/dev/null"
    kill -9 "$MPID" 2>/dev/null
    wait "$MPID" 2>/dev/null
}
# accepts PATH: a connection to the unix socket PATH is accepted
accepts() {
    perl -MIO::Socket::UNIX -e 'IO::Socket::UNIX->new(Peer => $ARGV[0]) or exit 1' "$1"
}

# ---- positive control: a normal start ------------------------------------------------
mstart "$CONF"
check "milter started on the unix socket ($(head -c 300 "$T/m.out"))" kill -0 "$MPID"
check "the socket accepts a connection" accepts "$SOCK"
sowner=$(stat -c '%U %a' "$SOCK" 2>/dev/null)
check "the socket belongs to $U, no access for others ($sowner)" \
    bash -c "[ '${sowner% *}' = $U ] && [ \$((0${sowner#* } & 7)) = 0 ]"
check "the pid file names the milter ($(cat "$PIDF" 2>/dev/null))" [ "$(cat "$PIDF" 2>/dev/null)" = "$MPID" ]
first=$MPID
sino=$(stat -c %i "$SOCK")

# ---- a second milter, same config, while the first runs -----------------------------
out=$(timeout 8 "$M" -f -c "$CONF" 2>&1); rc=$?
check "a second start is refused: exit $rc, one line 'already running (pid $first)' ($out)" \
    bash -c "[ $rc != 0 ] && [ $rc -lt 124 ] && [ \$(printf '%s\n' \"\$1\" | wc -l) = 1 ] &&
             grep -q 'already running (pid $first)' <<<\"\$1\"" _ "$out"
out=$(timeout 8 "$M" -c "$CONF" 2>&1); rc=$?
check "a second start as a daemon is refused too: exit $rc ($out)" \
    bash -c "[ $rc != 0 ] && [ $rc -lt 124 ] && grep -q 'already running (pid $first)' <<<\"\$1\"" _ "$out"
check "the first milter's pid file is intact ($(cat "$PIDF" 2>/dev/null))" \
    [ "$(cat "$PIDF" 2>/dev/null)" = "$first" ]
check "the first milter's socket is the same one and still answers" \
    bash -c "[ \"\$(stat -c %i '$SOCK' 2>/dev/null)\" = '$sino' ] && kill -0 $first"
accepts "$SOCK" || notok "the first milter's socket still accepts a connection"
mstop
check "the pid file is removed at a clean stop" test ! -e "$PIDF"

# ---- a stale pid file (a crash) and links planted in the directory ------------------
printf '999999\n' > "$PIDF"; chown $U:"$G" "$PIDF"
mstart "$CONF"
check "a stale pid file from a crash does not stop a start ($(head -c 300 "$T/m.out"))" \
    bash -c "kill -0 $MPID && [ \"\$(cat '$PIDF')\" = $MPID ]"
mstop
# a hard link the user could make where fs.protected_hardlinks is off (here
# root plants it, so that the test does not depend on the sysctl)
rm -f "$PIDF" "$SOCK"
ln "$TARGET" "$PIDF"
mstart "$CONF"
check "a hard link to root's file in place of the pid file: root's file unchanged ($(target_state))" \
    unchanged
kill -0 "$MPID" 2>/dev/null && mstop
rm -f "$PIDF" "$SOCK"
fresh_target
ln -s "$TARGET" "$PIDF"
mstart "$CONF"
check "a symlink to root's file in place of the pid file: root's file unchanged ($(target_state))" \
    unchanged
kill -0 "$MPID" 2>/dev/null && mstop
rm -f "$PIDF" "$SOCK"

# ---- the race: the daemon's user keeps swapping the socket and the pid file ---------
# The attacker's program is copied where that user can read it.
cat > "$T/attack.pl" <<'EOP'
# attack.pl DIR TARGET STOPFILE: while STOPFILE does not exist, replace the
# socket and the pid file in DIR, whenever the milter has made them, by a
# symlink (or a hard link, where the kernel allows one) to TARGET.
my ($dir, $target, $stop) = @ARGV;
my @paths = ("$dir/milter.sock", "$dir/milter.pid");
my $n = 0;
until (-e $stop) {
    for my $p (@paths) {
        next unless lstat($p) && (-S _ || -f _);
        my $tmp = "$p.x$$";
        unlink $tmp;
        if ($n++ % 2 == 0 && link($target, $tmp)) { rename($tmp, $p); next; }
        symlink($target, $tmp) and rename($tmp, $p);
    }
}
EOP
chmod 644 "$T/attack.pl"
fresh_target
as_user perl "$T/attack.pl" "$T/run" "$TARGET" "$STOP" &
PIDS+=($!)
started=0 changed=
for i in $(seq 1 30); do
    rm -f "$SOCK" "$PIDF" "$T/run"/*.x*
    mstart "$CONF"
    kill -0 "$MPID" 2>/dev/null && started=$((started + 1))
    # SIGKILL: a clean stop waits for libmilter's 5 s poll; the files it
    # leaves are cleared before the next start anyway
    kill -9 "$MPID" 2>/dev/null; wait "$MPID" 2>/dev/null
    if ! unchanged; then changed="start $i: $(target_state)"; break; fi
done
touch "$STOP"
check "30 starts raced by $U's links: root's file keeps owner, mode and content (${changed:-unchanged}; $started started)" \
    [ -z "$changed" ]
rm -f "$SOCK" "$PIDF" "$T/run"/*.x*

# ---- directories others may write are refused ----------------------------------------
for how in "775 $U" "1777 root" "755 daemon"; do
    mode=${how% *} owner=${how#* }
    chown "$owner" "$T/run"; chmod "$mode" "$T/run"
    out=$(timeout 8 "$M" -f -c "$CONF" 2>&1); rc=$?
    check "run directory mode $mode owned by $owner: refused, exit $rc, one line naming it ($out)" \
        bash -c "[ $rc != 0 ] && [ $rc -lt 124 ] && [ \$(printf '%s\n' \"\$1\" | wc -l) = 1 ] &&
                 grep -qF '$T/run' <<<\"\$1\"" _ "$out"
done
# a directory of root's own (systemd's RuntimeDirectory) works: root makes
# the files there, and no one else can touch them
chown root:root "$T/run"; chmod 755 "$T/run"
rm -f "$SOCK" "$PIDF"
mstart "$CONF"
check "a root-owned run directory works: started, socket answers ($(head -c 300 "$T/m.out"))" \
    bash -c "kill -0 $MPID && perl -MIO::Socket::UNIX -e 'IO::Socket::UNIX->new(Peer => \$ARGV[0]) or exit 1' '$SOCK'"
uid=$(awk '/^Uid:/{print $2}' /proc/"$MPID"/status 2>/dev/null)
check "... and the milter runs as $U (uid $uid)" [ "$uid" = "$(id -u $U)" ]
kill -0 "$MPID" 2>/dev/null && mstop
chown $U:"$G" "$T/run"

# ---- inet sockets still work, with the pid file ---------------------------------------
ICONF=$T/inet.conf
write_milter_conf "$ICONF" "pid_file=$PIDF" "user=$U" check_tld=no
chmod 644 "$ICONF"
rm -f "$PIDF"
start_milter "$ICONF"
check "inet milter started as root, dropping to $U ($(head -c 300 "$T/milter.out"))" \
    bash -c "kill -0 $MILTER_PID && [ \"\$(cat '$PIDF' 2>/dev/null)\" = $MILTER_PID ]"
stop_milter

unchanged
check "root's file never changed in any section (${changed_ever:-never})" [ -z "$changed_ever" ]
