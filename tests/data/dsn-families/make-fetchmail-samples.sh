#!/usr/bin/env bash
# make-fetchmail-samples.sh — make fetchmail bounce a message that the SMTP
# listener it forwards to refuses, for lhost-fetchmail-01..05.
#
#   tests/data/dsn-families/make-fetchmail-samples.sh OUTDIR
#
# Run as root on Debian 12 (apt-get download).  Not run by the tests: the
# samples it made are committed beside it (SOURCES.md).  fetchmail is
# downloaded and unpacked into a work folder, never installed, and runs once
# per sample (no daemon mode, --nosoftbounce: a permanent refusal bounces
# and deletes).  It fetches one message from a tiny POP3 server written
# here (127.0.0.1:2921) and forwards it by SMTP (smtphost 127.0.0.1/2920) to
# tests/tools/refusing_smtpd.py, which refuses by local part.  The message's
# Return-Path is catch-fetchmail@sink.test: fetchmail's bounce (its own
# multipart/report, send_bouncemail in sink.c) goes there over SMTP to
# localhost:smtp, which fetchmail's private /etc/services (unshare -m, a
# bind mount) makes the sink's port, and the sink keeps it:
#   01  unknown1 (550 5.1.1 at RCPT TO)
#   02  full1 (552 5.2.2 at RCPT TO)
#   03  bare1 (550 without an enhanced code at RCPT TO)
#   04  datarej1 (554 5.7.1 at the end of DATA)
#   05  unknown2 + full2 in one message (multidrop)
# No sample of a sender refused at MAIL FROM: fetchmail never bounces a 553
# (its man page; tried with catch-fetchmail-rejectme@: deleted, no bounce),
# nor a 4xx (temp*, tried: kept on the server for the next poll, no bounce).
set -eu
OUT=$(cd "${1:?usage: $0 OUTDIR}" && pwd)
TOP=$(cd "$(dirname "$0")/../../.." && pwd)
W=${WORK:-/tmp/bg-fetchmail-samples}
PORT=2920   # refusing_smtpd
POP=2921    # the POP3 server
rm -rf "$W"
mkdir -p "$W/debs" "$W/root" "$W/caught" "$W/drop" "$W/home"
(cd "$W/debs" && apt-get download fetchmail >/dev/null 2>&1)
dpkg-deb -x "$W"/debs/fetchmail_*.deb "$W/root"
. "$TOP/tests/data/dsn-families/lhost-mtas.sh"   # collect

# A POP3 server of one mailbox: every file of $W/drop is a message; DELE
# removes the file at QUIT.
cat >"$W/pop3d.py" <<'EOP'
import os, socketserver, sys
DROP = sys.argv[2]
class S(socketserver.StreamRequestHandler):
    def say(self, s):
        self.wfile.write((s + "\r\n").encode())
    def handle(self):
        names = sorted(os.listdir(DROP))
        msgs = [open(os.path.join(DROP, n), "rb").read().replace(b"\r\n", b"\n") for n in names]
        gone = set()
        self.say("+OK pop3.example.net POP3 ready")
        while True:
            line = self.rfile.readline()
            if not line:
                return
            w = line.decode("latin-1").strip().split()
            v = w[0].upper() if w else ""
            if v == "CAPA":
                self.say("+OK"); self.say("USER"); self.say("UIDL"); self.say("TOP"); self.say(".")
            elif v in ("USER", "PASS", "NOOP", "RSET"):
                self.say("+OK")
            elif v == "STAT":
                self.say("+OK %d %d" % (len(msgs), sum(len(m) for m in msgs)))
            elif v in ("LIST", "UIDL") and len(w) > 1:
                i = int(w[1])
                self.say("+OK %d %s" % (i, len(msgs[i - 1]) if v == "LIST" else names[i - 1]))
            elif v in ("LIST", "UIDL"):
                self.say("+OK")
                for i, m in enumerate(msgs, 1):
                    self.say("%d %s" % (i, len(m) if v == "LIST" else names[i - 1]))
                self.say(".")
            elif v in ("RETR", "TOP"):
                m = msgs[int(w[1]) - 1]
                if v == "TOP":
                    head, _, body = m.partition(b"\n\n")
                    m = head + b"\n\n" + b"\n".join(body.split(b"\n")[:int(w[2])])
                self.say("+OK")
                for l in m.rstrip(b"\n").split(b"\n"):
                    self.wfile.write((b"." if l.startswith(b".") else b"") + l + b"\r\n")
                self.say(".")
            elif v == "DELE":
                gone.add(int(w[1])); self.say("+OK")
            elif v == "QUIT":
                for i in gone:
                    os.unlink(os.path.join(DROP, names[i - 1]))
                self.say("+OK bye"); return
            else:
                self.say("-ERR")
class T(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
T(("127.0.0.1", int(sys.argv[1])), S).serve_forever()
EOP

# send_bouncemail connects to "localhost" port "smtp", whatever smtphost
# says: in fetchmail's own mount namespace /etc/services names port $PORT
# smtp, so the bounce reaches the sink (port 25 and Postfix are never tried).
sed "s|^smtp\([[:space:]]*\)25/tcp|smtp\1$PORT/tcp|" /etc/services >"$W/services"
grep -q "^smtp[[:space:]]*$PORT/tcp" "$W/services"

python3 "$TOP/tests/tools/refusing_smtpd.py" $PORT "$W/caught" "$W/sink.log" &
SINK=$!
python3 "$W/pop3d.py" $POP "$W/drop" &
POPD=$!
trap 'kill $SINK $POPD 2>/dev/null' EXIT
sleep 1

# fetch NAME "LOCAL-NAMES" "TO-ADDRESSES": one message to TO-ADDRESSES,
# fetched for the local names (more than one: multidrop, the recipients
# read from To:)
fetch() {
    local name=$1 locals=$2 to=$3 from=catch-fetchmail@sink.test
    rm -f "$W/drop"/* "$W/home/.fetchids"
    cat >"$W/drop/1.eml" <<EOM
Return-Path: <$from>
Received: from relay.example.net (relay.example.net [192.0.2.10])
	by pop3.example.net (Postfix) with ESMTPS id 5D3E9B1C2A
	for <$to>; Mon,  7 Dec 2026 10:00:00 +0000 (UTC)
From: Newsletter <$from>
To: $to
Subject: Our newsletter
Message-ID: <$name@relay.example.net>
Date: Mon, 7 Dec 2026 10:00:00 +0000

Hello.
EOM
    cat >"$W/home/.fetchmailrc" <<EOR
set bouncemail
set no softbounce
set postmaster "postmaster"
poll 127.0.0.1 service $POP protocol pop3 localdomains remote.test
    user "carol" password "secret" is $locals here
    smtphost 127.0.0.1/$PORT smtpaddress remote.test
    sslproto "" fetchall
EOR
    chmod 0700 "$W/home/.fetchmailrc"
    HOME=$W/home FETCHMAILHOME=$W/home FETCHMAILUSER=carol unshare -m sh -c \
        "mount --bind $W/services /etc/services && exec $W/root/usr/bin/fetchmail -v -f $W/home/.fetchmailrc" \
        >>"$W/fetchmail.log" 2>&1 || true
    collect "$name" 10
}

fetch lhost-fetchmail-01 unknown1 unknown1@remote.test
fetch lhost-fetchmail-02 full1 full1@remote.test
fetch lhost-fetchmail-03 bare1 bare1@remote.test
fetch lhost-fetchmail-04 datarej1 datarej1@remote.test
fetch lhost-fetchmail-05 "unknown2 full2" "unknown2@remote.test, full2@remote.test"
