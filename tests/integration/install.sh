#!/usr/bin/env bash
# make install with PREFIX and DESTDIR, as INSTALL says: the programs, the man
# pages (bounceguard.conf(5) generated from the key table) and the sample
# config land where they should, the installed programs run, the sample config
# is valid, and a second install keeps an edited config.
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
    grep -q '^ExecStart=/usr/local/sbin/bounceguard-milter ' "$TOP/conf/bounceguard-milter.service"
