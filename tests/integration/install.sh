#!/usr/bin/env bash
# make install with PREFIX and DESTDIR, as INSTALL says: the programs, the man
# pages (bounceguard.conf(5) generated from the key table) and the sample
# config land where they should, the installed programs run, the sample config
# is valid, and a second install keeps an edited config.  The systemd units
# start the programs where this install put them (PREFIX=/usr and /opt/x) and
# pass systemd-analyze verify; tmpfiles.d and logrotate files are there; make
# uninstall removes every file, but keeps a config the operator changed.
set -u
T=$(mktemp -d /tmp/bg-install.XXXXXX)
. "$TOP/tests/integration/lib.sh"
trap 'rm -rf "$T"' EXIT
D=$T/dest
make -s -C "$TOP" BUILD="$BUILD" install DESTDIR="$D" PREFIX=/usr/local > "$T/make.out" 2>&1
check "make install DESTDIR=... succeeds" test $? -eq 0
for f in sbin/bounceguard-milter sbin/bounceguard-dsn bin/bounceguard; do
    check "installed /usr/local/$f runs" bash -c "'$D/usr/local/$f' --help >/dev/null 2>&1 || '$D/usr/local/$f' -h >/dev/null 2>&1"
done
for m in man5/bounceguard.conf.5 man8/bounceguard-milter.8 man8/bounceguard-dsn.8 man8/bounceguard.8; do
    check "man page $m installed and renders" bash -c "MANWIDTH=80 man -l '$D/usr/local/share/man/$m' 2>/dev/null | grep -q SEE"
done
check "bounceguard.conf(5) documents every key (e.g. sender_bounce_limit, on_store_error)" \
    bash -c "MANWIDTH=200 man -l '$D/usr/local/share/man/man5/bounceguard.conf.5' 2>/dev/null | grep -q 'sender_bounce_limit = number' && MANWIDTH=200 man -l '$D/usr/local/share/man/man5/bounceguard.conf.5' | grep -q 'on_store_error = choice'"
# -n also asks the machine about user, pid_file and log_dir: this one's.
{ cat "$D/etc/bounceguard/bounceguard.conf"; printf 'user =\npid_file =\nlog_dir =\n'; } > "$T/sample.conf"
out=$("$D/usr/local/sbin/bounceguard-milter" -n -c "$T/sample.conf" 2>&1)
check "the installed sample config is valid ($out)" grep -q 'is valid' <<<"$out"
echo "quota_limit = 7" >> "$D/etc/bounceguard/bounceguard.conf"
make -s -C "$TOP" BUILD="$BUILD" install DESTDIR="$D" PREFIX=/usr/local > /dev/null 2>&1
check "a second install keeps the edited config" grep -q 'quota_limit = 7' "$D/etc/bounceguard/bounceguard.conf"
check "the systemd unit starts the installed program" \
    grep -q '^ExecStart=/usr/local/sbin/bounceguard-milter ' "$D/usr/local/lib/systemd/system/bounceguard-milter.service"
out=$(make -s -C "$TOP" BUILD="$BUILD" uninstall DESTDIR="$D" PREFIX=/usr/local 2>&1)
check "uninstall keeps the config the operator changed, and says so ($out)" \
    bash -c "grep -q 'quota_limit = 7' '$D/etc/bounceguard/bounceguard.conf' && grep -q 'kept .*bounceguard.conf' <<<'$out'"
left=$(find "$D" ! -type d | sed "s|^$D||" | tr '\n' ' ')
check "uninstall leaves only that config ($left)" [ "$left" = "/etc/bounceguard/bounceguard.conf " ]

# Where the units, tmpfiles.d and logrotate files go, and what the units run.
for prefix in /usr /opt/x; do
    P=$T/p${prefix//\//_}
    case $prefix in
    /usr) units=$P/lib/systemd/system tmpfiles=$P/usr/lib/tmpfiles.d ;;
    *) units=$P$prefix/lib/systemd/system tmpfiles=$P$prefix/lib/tmpfiles.d ;;
    esac
    make -s -C "$TOP" BUILD="$BUILD" install DESTDIR="$P" PREFIX="$prefix" > "$T/make.out" 2>&1
    check "PREFIX=$prefix: make install succeeds ($(tail -1 "$T/make.out"))" test $? -eq 0
    for u in bounceguard-milter bounceguard-dsn-log; do
        f=$units/$u.service
        check "PREFIX=$prefix: unit $u.service installed in ${units#$P}" test -f "$f"
        # Every program the unit runs (ExecStart, ExecStartPre) was installed
        # by this install, and it reads the config this install put there.
        execs=$(sed -n 's/^ExecStart[A-Za-z]*=\([^ ]*\) .*/\1/p' "$f" 2>/dev/null)
        check "PREFIX=$prefix: $u.service runs $prefix/sbin/ programs that are installed (${execs//$'\n'/ })" \
            bash -c "[ -n '$execs' ] && for x in $(tr '\n' ' ' <<<"$execs"); do
                         [ \"\${x%/*}\" = '$prefix/sbin' ] && [ -x '$P'\"\$x\" ] || exit 1; done"
        check "PREFIX=$prefix: $u.service reads the installed config" \
            bash -c "grep '^ExecStart=' '$f' | grep -q -- '-c /etc/bounceguard/bounceguard.conf' && test -f '$P/etc/bounceguard/bounceguard.conf'"
    done
    if command -v systemd-analyze > /dev/null; then
        # The units as they will run, with the programs looked up in DESTDIR.
        mkdir -p "$P.verify"
        for u in "$units"/*.service; do
            sed "s|^\(Exec[A-Za-z]*=\)$prefix/|\1$P$prefix/|" "$u" > "$P.verify/${u##*/}"
        done
        out=$(systemd-analyze verify --man=no "$P.verify"/*.service 2>&1); rc=$?
        check "PREFIX=$prefix: systemd-analyze verify accepts the units (${out//$'\n'/; })" [ $rc -eq 0 -a -z "$out" ]
    else
        ok "PREFIX=$prefix: systemd-analyze verify # SKIP systemd-analyze is not installed"
    fi
    check "PREFIX=$prefix: tmpfiles.d/bounceguard.conf in ${tmpfiles#$P} makes /run/bounceguard, the daemon user's" \
        grep -q '^d /run/bounceguard 0755 bounceguard bounceguard' "$tmpfiles/bounceguard.conf"
    check "PREFIX=$prefix: logrotate file installed" cmp -s "$TOP/conf/logrotate" "$P/etc/logrotate.d/bounceguard"
    make -s -C "$TOP" BUILD="$BUILD" uninstall DESTDIR="$P" PREFIX="$prefix" > "$T/make.out" 2>&1
    check "PREFIX=$prefix: make uninstall succeeds" test $? -eq 0
    left=$(find "$P" ! -type d | sed "s|^$P||" | tr '\n' ' ')
    check "PREFIX=$prefix: uninstall leaves no file behind (${left:-none})" [ -z "$left" ]
done
