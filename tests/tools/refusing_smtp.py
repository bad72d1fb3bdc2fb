#!/usr/bin/env python3
"""refusing_smtp.py -- a throwaway SMTP server that plays "the internet" for
tests/tools/sendmail_samples.sh: it refuses recipients with the typical bare
and enhanced replies of real providers, and keeps every message it accepts
(the bounces that the MTA sends back to the sender) as files.

    refusing_smtp.py PORT OUTDIR [pipelining]

With "pipelining" it offers PIPELINING, as most real servers do (the client
then sends its RCPTs before reading their replies).

The recipient's local part chooses the refusal (REPLIES below); a local part
starting with "data-" is accepted at RCPT and refused at the end of DATA with
the reply of the rest of the name.  Any other recipient is accepted and the
message is written to OUTDIR/msg-N.eml.  Python standard library only.
"""
import os
import socket
import socketserver
import sys

# local part -> reply (what real providers answer; bare ones carry no
# enhanced status code of their own)
REPLIES = {
    "quota": "550 Mailbox quota exceeded",
    "quota-enh": "552 5.2.2 <{rcpt}>: Mailbox full",
    "relay": "554 Relay access denied",
    "spf": "550 SPF check failed",
    "rbl": "550 Service unavailable; Client host [192.0.2.25] blocked using zen.spamhaus.org",
    "rbl-enh": "554 5.7.1 Service unavailable; Client host [192.0.2.25] blocked using "
               "bl.spamcop.net; Blocked - see https://www.spamcop.net/bl.shtml?192.0.2.25",
    "unknown": "550 No such user here",
    "unknown-enh": "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in "
                   "virtual mailbox table",
    "moved": "551 User not local; please try <moved@elsewhere.example>",
    "grey": "451 Greylisted, please try again later",
    "grey-enh": "450 4.7.1 <{rcpt}>: Recipient address rejected: Greylisted for 5 minutes",
    "full-temp": "452 Mailbox full, try again later",
    "policy": "550 Message rejected due to local policy",
}
DATA_REPLIES = {
    "spam": "554 Message rejected as spam",
    "unknown": "550 User unknown",
    "size": "552 Message size exceeds fixed maximum message size",
    "spf": "550 5.7.23 SPF validation failed for sender domain",
}


def reply_for(rcpt, table):
    local = rcpt.split("@", 1)[0].lower()
    r = table.get(local)
    return r.format(rcpt=rcpt) if r else None


class Handler(socketserver.StreamRequestHandler):
    def say(self, line):
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self):
        self.say("220 mx.refuse.example ESMTP ready")
        rcpts = []
        while True:
            line = self.rfile.readline()
            if not line:
                return
            cmd = line.decode("latin-1").strip()
            up = cmd.upper()
            if up.startswith("EHLO"):
                self.say("250-mx.refuse.example")
                self.say("250-8BITMIME")
                if self.server.pipelining:
                    self.say("250-PIPELINING")
                self.say("250 ENHANCEDSTATUSCODES")
            elif up.startswith("HELO"):
                self.say("250 mx.refuse.example")
            elif up.startswith("MAIL"):
                rcpts = []
                self.say("250 2.1.0 Ok")
            elif up.startswith("RCPT"):
                addr = cmd[cmd.find("<") + 1:cmd.rfind(">")]
                r = reply_for(addr, REPLIES)
                if r:
                    self.say(r)
                else:
                    rcpts.append(addr)
                    self.say("250 2.1.5 Ok")
            elif up == "DATA":
                if not rcpts:
                    self.say("554 5.5.1 No valid recipients")
                    continue
                self.say("354 End data with <CR><LF>.<CR><LF>")
                body = []
                while True:
                    l = self.rfile.readline()
                    if not l or l in (b".\r\n", b".\n"):
                        break
                    body.append(l[1:] if l.startswith(b"..") else l)
                refusal = None
                for a in rcpts:
                    if a.lower().startswith("data-"):
                        refusal = reply_for(a[5:], DATA_REPLIES)
                if refusal:
                    self.say(refusal)
                    continue
                out = self.server.outdir
                n = len(os.listdir(out)) + 1
                with open(os.path.join(out, "msg-%d.eml" % n), "wb") as f:
                    f.write(b"".join(body))
                self.say("250 2.0.0 Ok: queued")
            elif up == "QUIT":
                self.say("221 2.0.0 Bye")
                return
            elif up == "RSET" or up == "NOOP":
                self.say("250 2.0.0 Ok")
            else:
                self.say("502 5.5.2 Command not recognized")


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


if __name__ == "__main__":
    srv = Server(("127.0.0.1", int(sys.argv[1])), Handler)
    srv.outdir = sys.argv[2]
    srv.pipelining = len(sys.argv) > 3 and sys.argv[3] == "pipelining"
    os.makedirs(srv.outdir, exist_ok=True)
    srv.serve_forever()
