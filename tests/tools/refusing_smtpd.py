#!/usr/bin/env python3
"""refusing_smtpd — a tiny SMTP server that plays "the internet" refusing mail.

Used by tests/data/dsn-families/make-lhost-samples.sh to make real MTAs write
bounces on loopback.  It answers RCPT TO by the recipient's local part:

    unknown*   550 5.1.1 <addr>: Recipient address rejected: User unknown
    full*      552 5.2.2 <addr>: Mailbox full, quota exceeded
    rbl*       554 5.7.1 Service unavailable; Client host [127.0.0.1] blocked
               using zen.spamhaus.org; https://www.spamhaus.org/query/ip/127.0.0.1
    bare*      550 Requested action not taken: mailbox unavailable
    temp*      451 4.2.0 <addr>: Recipient address rejected: try again later
    datarej*   250 at RCPT, then DATA's end is refused with
               554 5.7.1 Message rejected as spam by Content Filtering
    catch*     250, and the message is kept in SAVEDIR (the bounces come back
               here: the test messages are sent from catch@...)
    anything else  250 (accepted; the message is thrown away)

and MAIL FROM with "rejectme" in the address with
    553 5.7.1 <addr>: Sender address rejected: not owned by user

A UTF-8 local part (RFC 6531) is answered the same way by its first word:
"未知" (unknown) as unknown*, "满" (full) as full*.  With --smtputf8 the
server also offers SMTPUTF8 in its EHLO reply (without, it does not: an MTA
must then refuse to send it a message that needs SMTPUTF8).  Lines are read
and written as UTF-8.

Usage: refusing_smtpd.py [--smtputf8] PORT SAVEDIR [LOGFILE]
(listens on 127.0.0.1; stdlib only)
"""
import os
import socketserver
import sys
import time

REPLIES = [
    ("unknown", "550 5.1.1 <{a}>: Recipient address rejected: User unknown"),
    ("full", "552 5.2.2 <{a}>: Mailbox full, quota exceeded"),
    ("rbl", "554 5.7.1 Service unavailable; Client host [127.0.0.1] blocked using "
            "zen.spamhaus.org; https://www.spamhaus.org/query/ip/127.0.0.1"),
    ("bare", "550 Requested action not taken: mailbox unavailable"),
    ("temp", "451 4.2.0 <{a}>: Recipient address rejected: try again later"),
    ("\u672a\u77e5", "550 5.1.1 <{a}>: Recipient address rejected: User unknown"),
    ("\u6ee1", "552 5.2.2 <{a}>: Mailbox full, quota exceeded"),
]
SMTPUTF8 = False
DATA_REJECT = "554 5.7.1 Message rejected as spam by Content Filtering"
LOG = None
SAVEDIR = "."


def reply_for(addr):
    local = addr.split("@", 1)[0].lower()
    for prefix, text in REPLIES:
        if local.startswith(prefix):
            return text.format(a=addr)
    return "250 2.1.5 Ok"


class Session(socketserver.StreamRequestHandler):
    def say(self, line):
        if LOG:
            LOG.write("S: " + line + "\n")
            LOG.flush()
        self.wfile.write((line + "\r\n").encode("utf-8", "surrogateescape"))

    def handle(self):
        self.say("220 mx.refusing.test ESMTP refusing_smtpd")
        rcpts = []
        while True:
            raw = self.rfile.readline(4096)
            if not raw:
                return
            line = raw.decode("utf-8", "surrogateescape").rstrip("\r\n")
            if LOG:
                LOG.write("C: " + line + "\n")
            verb = line[:4].upper()
            if verb in ("EHLO", "HELO"):
                self.say("250-mx.refusing.test" if verb == "EHLO" else "250 mx.refusing.test")
                if verb == "EHLO":
                    self.say("250-PIPELINING")
                    self.say("250-8BITMIME")
                    if SMTPUTF8:
                        self.say("250-SMTPUTF8")
                    self.say("250 ENHANCEDSTATUSCODES")
            elif verb == "MAIL":
                rcpts = []
                sender = line.split(":", 1)[-1].strip().split(" ")[0].strip("<>")
                if "rejectme" in sender.lower():
                    self.say("553 5.7.1 <%s>: Sender address rejected: not owned by user"
                             % sender)
                else:
                    self.say("250 2.1.0 Ok")
            elif verb == "RCPT":
                addr = line.split(":", 1)[-1].strip().split(" ")[0].strip("<>")
                r = reply_for(addr)
                if r.startswith("250"):
                    rcpts.append(addr)
                self.say(r)
            elif verb == "DATA":
                if not rcpts:
                    self.say("554 5.5.1 Error: no valid recipients")
                    continue
                self.say("354 End data with <CR><LF>.<CR><LF>")
                body = []
                while True:
                    d = self.rfile.readline(65536)
                    if not d or d.rstrip(b"\r\n") == b".":
                        break
                    if d.startswith(b".."):
                        d = d[1:]
                    body.append(d.replace(b"\r\n", b"\n"))
                if any(a.lower().startswith("catch") for a in rcpts):
                    name = "%d.%d.eml" % (time.time_ns(), os.getpid())
                    with open(os.path.join(SAVEDIR, name), "wb") as f:
                        f.writelines(body)
                if any(a.lower().startswith("datarej") for a in rcpts):
                    self.say(DATA_REJECT)
                else:
                    self.say("250 2.0.0 Ok: queued as 4F00D1")
            elif verb == "RSET":
                rcpts = []
                self.say("250 2.0.0 Ok")
            elif verb == "QUIT":
                self.say("221 2.0.0 Bye")
                return
            elif verb == "NOOP":
                self.say("250 2.0.0 Ok")
            else:
                self.say("502 5.5.2 Error: command not recognized")


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main():
    global LOG, SAVEDIR, SMTPUTF8
    if len(sys.argv) > 1 and sys.argv[1] == "--smtputf8":
        SMTPUTF8 = True
        del sys.argv[1]
    port = int(sys.argv[1])
    SAVEDIR = sys.argv[2]
    if len(sys.argv) > 3:
        LOG = open(sys.argv[3], "a", encoding="utf-8", errors="surrogateescape")
    with Server(("127.0.0.1", port), Session) as srv:
        srv.serve_forever()


if __name__ == "__main__":
    main()
