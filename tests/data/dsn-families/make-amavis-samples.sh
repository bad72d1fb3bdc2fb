#!/usr/bin/env bash
# make-amavis-samples.sh — make the amavisd-new content filter bounce
# messages it will not pass, for lhost-amavis-02 onwards.
#
#   tests/data/dsn-families/make-amavis-samples.sh OUTDIR
#
# Run as root on Debian 12.  Not run by the tests: the samples it made are
# committed beside it (SOURCES.md).  amavisd-new and spamassassin are
# downloaded (apt-get download) and unpacked into a work folder, never
# installed (no daemon, no timer, the machine's MTA left alone); only the
# Debian perl libraries they need are installed.  amavisd runs from the work
# folder (a copy of the script with a "use lib" line for the unpacked
# modules: under -T it ignores PERL5LIB) with a configuration of our own,
# as nobody, listening on 127.0.0.1:2910; SpamAssassin runs in-process
# (local tests only).  It sends the passed mail and its notices over SMTP to
# tests/tools/refusing_smtpd.py on 127.0.0.1:2911, which keeps what is sent
# to catch*@.  Each message goes from catch-amavis@sink.test to
# carol@example.org (one of amavisd's local domains), but where said:
#   02  a banned attachment (invoice.exe; final_banned_destiny D_BOUNCE)
#   03  a bad header, non-encoded 8-bit text in Subject
#       (final_bad_header_destiny D_BOUNCE)
#   04  spam, the GTUBE test string (final_spam_destiny D_BOUNCE,
#       sa_dsn_cutoff_level 9999)
#   05  a banned attachment inside a zip archive, to two recipients
#   06  a clean message to carol and unknown-erin@example.org, which the next
#       hop (refusing_smtpd.py) refuses with 550 5.1.1 User unknown: with one
#       recipient passed amavisd cannot reject the message in the SMTP
#       session and reports the relay failure in a nondelivery report (to
#       unknown-erin alone it answers the client with the 550 instead)
set -eu
OUT=$(cd "${1:?usage: $0 OUTDIR}" && pwd)
TOP=$(cd "$(dirname "$0")/../../.." && pwd)
W=${WORK:-/tmp/bg-amavis-samples}
PORT=2910 # amavisd
SINKPORT=2911 # refusing_smtpd.py
rm -rf "$W"
mkdir -p "$W/debs" "$W/root" "$W/caught" "$W/home/tmp" "$W/home/db" "$W/home/var"
apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends \
    pax libarchive-zip-perl libberkeleydb-perl libconvert-tnef-perl libconvert-uulib-perl \
    libio-stringy-perl libmail-dkim-perl libmailtools-perl libmime-tools-perl \
    libnet-libidn-perl libnet-server-perl libunix-syslog-perl libnet-snmp-perl \
    libhtml-parser-perl libsocket6-perl libsys-hostname-long-perl libnet-dns-perl \
    libnetaddr-ip-perl libhttp-date-perl libio-string-perl >/dev/null
(cd "$W/debs" && apt-get download amavisd-new spamassassin >/dev/null 2>&1)
for f in "$W"/debs/*.deb; do dpkg-deb -x "$f" "$W/root"; done
sed "1a use lib '$W/root/usr/share/perl5';" "$W/root/usr/sbin/amavisd" >"$W/amavisd"
chmod +x "$W/amavisd"

cat >"$W/amavisd.conf" <<EOF
use strict;
\$myhostname = 'amavis.example.org';
\$mydomain = 'example.org';
\$daemon_user = 'nobody';
\$daemon_group = 'nogroup';
\$MYHOME = '$W/home';
\$TEMPBASE = "\$MYHOME/tmp";
\$ENV{TMPDIR} = \$TEMPBASE;
\$helpers_home = \$MYHOME;
\$db_home = "\$MYHOME/db";
\$pid_file = "\$MYHOME/var/amavisd.pid";
\$lock_file = "\$MYHOME/var/amavisd.lock";
\$path = '/usr/sbin:/usr/bin:/sbin:/bin';
\$QUARANTINEDIR = undef;
\$enable_db = 0;
\$enable_zmq = 0;
\$enable_dkim_verification = 0;
\$nanny_details_level = 0;
\$DO_SYSLOG = 0;
\$LOGFILE = "\$MYHOME/amavis.log";
\$log_level = 2;
\$max_servers = 1;
\$inet_socket_bind = '127.0.0.1';
\$inet_socket_port = $PORT;
@inet_acl = qw(127.0.0.1);
\$forward_method = 'smtp:[127.0.0.1]:$SINKPORT';
\$notify_method = \$forward_method;
@local_domains_maps = (['.example.org']);
@av_scanners = ();
@av_scanners_backup = ();
@bypass_virus_checks_maps = (1);
\$sa_configpath = '$W/root/usr/share/spamassassin';
\$sa_siteconfigpath = '$W/root/etc/spamassassin';
\$sa_local_tests_only = 1;
\$sa_tag_level_deflt = 2.0;
\$sa_tag2_level_deflt = 6.31;
\$sa_kill_level_deflt = 6.31;
\$sa_dsn_cutoff_level = 9999;
\$sa_crediblefrom_dsn_cutoff_level = 9999;
\$final_banned_destiny = D_BOUNCE;
\$final_bad_header_destiny = D_BOUNCE;
\$final_spam_destiny = D_BOUNCE;
\$banned_filename_re = new_RE(qr'.\.(exe|vbs|pif|scr|bat|cmd|com|cpl)\$'i);
read_l10n_templates('en_US', '$W/root/etc/amavis');
1;
EOF
chown -R nobody:nogroup "$W/home"

. "$TOP/tests/data/dsn-families/lhost-mtas.sh" # collect
python3 "$TOP/tests/tools/refusing_smtpd.py" $SINKPORT "$W/caught" "$W/sink.log" &
SINK=$!
"$W/amavisd" -c "$W/amavisd.conf" foreground >"$W/amavisd.out" 2>&1 &
AMAVIS=$!
trap 'kill $SINK $AMAVIS 2>/dev/null' EXIT
for _ in $(seq 60); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 1)" 2>/dev/null && break
    sleep 1
done

# send NAME KIND RCPT...: submit a message of KIND to amavisd over SMTP
send() {
    local name=$1 kind=$2
    shift 2
    python3 - "$PORT" "$name" "$kind" "$@" <<'PY'
import base64, io, smtplib, sys, zipfile
port, name, kind, rcpts = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
head = ("Received: from relay.example.net (relay.example.net [192.0.2.10])\r\n"
        "\tby mx.example.org (Postfix) with ESMTPS id 4B2C81F0A3\r\n"
        "\tfor <carol@example.org>; Mon,  7 Dec 2026 10:00:00 +0000 (UTC)\r\n"
        "From: Sender <catch-amavis@sink.test>\r\n"
        "To: %s\r\n"
        "Message-ID: <%s@relay.example.net>\r\n"
        "Date: Mon, 7 Dec 2026 10:00:00 +0000\r\n"
        "MIME-Version: 1.0\r\n") % (", ".join(rcpts), name)
exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48
def attach(fname, ctype, data):
    return ("--b1\r\nContent-Type: text/plain\r\n\r\nThe invoice is attached.\r\n"
            "--b1\r\nContent-Type: %s; name=\"%s\"\r\n"
            "Content-Disposition: attachment; filename=\"%s\"\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n%s\r\n--b1--\r\n"
            % (ctype, fname, fname, base64.encodebytes(data).decode().replace("\n", "\r\n")))
if kind == "banned":
    msg = (head + "Subject: Your invoice\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
           + attach("invoice.exe", "application/octet-stream", exe)).encode()
elif kind == "zip":
    z = io.BytesIO()
    with zipfile.ZipFile(z, "w") as f:
        f.writestr("invoice.exe", exe)
    msg = (head + "Subject: Your invoice\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
           + attach("invoice.zip", "application/zip", z.getvalue())).encode()
elif kind == "badheader":
    msg = (head.encode() + b"Subject: Caf\xe9 menu for Monday\r\n"
           b"Content-Type: text/plain; charset=us-ascii\r\n\r\nHello.\r\n")
elif kind == "plain":
    msg = (head + "Subject: Our newsletter\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
           "Hello.\r\n").encode()
elif kind == "spam":
    msg = (head + "Subject: Our newsletter\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
           "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\r\n").encode()
with smtplib.SMTP("127.0.0.1", port, timeout=120) as s:
    s.sendmail("catch-amavis@sink.test", rcpts, msg)
PY
    collect "$name" 60
}

send lhost-amavis-02 banned carol@example.org
send lhost-amavis-03 badheader carol@example.org
send lhost-amavis-04 spam carol@example.org
send lhost-amavis-05 zip carol@example.org dave@example.org
send lhost-amavis-06 plain carol@example.org unknown-erin@example.org
