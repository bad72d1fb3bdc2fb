#!/usr/bin/env python3
"""SMTP load for tests/long/faults.sh: WORKERS threads open sessions against
PORT for SECONDS and write every reply they saw to OUT, one line each:

    STAGE SENDER RCPT CODE ID TEXT

STAGE is MAIL, RCPT, DATA or DISC (the server closed or timed out), SENDER is
sN@app.example (N < SENDERS), RCPT is okN@dest.example or blackK@dest.example
(K < BLACK; a recipient the test blacklisted before the load), ID names the
message (X-Load-Id header, so that the sink's copy can be traced back).

    smtp_load.py PORT SECONDS WORKERS SENDERS BLACK OUT
"""
import random
import smtplib
import socket
import sys
import threading
import time


def session(port, sender, rcpts, mid, out):
    try:
        s = smtplib.SMTP("127.0.0.1", port, timeout=60)
    except (OSError, smtplib.SMTPException) as e:
        out.append("DISC %s - 0 %s connect: %s" % (sender, mid, str(e).replace("\n", " ")))
        return
    try:
        s.ehlo("load.test.example")
        code, text = s.mail(sender)
        out.append("MAIL %s - %d %s %s" % (sender, code, mid, text.decode(errors="replace").replace("\n", " ")))
        if code != 250:
            return
        accepted = 0
        for r in rcpts:
            code, text = s.rcpt(r)
            out.append("RCPT %s %s %d %s %s" % (sender, r, code, mid, text.decode(errors="replace").replace("\n", " ")))
            if code == 250:
                accepted += 1
        if accepted == 0:
            return
        body = ("From: %s\r\nTo: %s\r\nSubject: load %s\r\nX-Load-Id: %s\r\n"
                "X-Load-Sender: %s\r\nMessage-ID: <%s@app.example>\r\n\r\nload test %s\r\n"
                % (sender, rcpts[0], mid, mid, sender, mid, mid))
        try:
            code, text = s.data(body)
        except smtplib.SMTPDataError as e:
            code, text = e.smtp_code, e.smtp_error
        out.append("DATA %s - %d %s %s" % (sender, code, mid, text.decode(errors="replace").replace("\n", " ")))
    except (smtplib.SMTPServerDisconnected, socket.timeout, OSError) as e:
        out.append("DISC %s - 0 %s %s" % (sender, mid, str(e).replace("\n", " ")))
    finally:
        try:
            s.quit()
        except (OSError, smtplib.SMTPException):
            s.close()


def worker(wid, port, deadline, senders, black, out):
    rnd = random.Random(wid * 7919 + int(time.time()))
    n = 0
    while time.time() < deadline:
        n += 1
        mid = "w%d-%d" % (wid, n)
        sender = "s%d@app.example" % rnd.randrange(senders)
        rcpts = ["ok-%s@dest.example" % mid]
        if black and rnd.random() < 0.3:
            rcpts.insert(rnd.randrange(2), "black%d@dest.example" % rnd.randrange(black))
        session(port, sender, rcpts, mid, out)


def main():
    if len(sys.argv) != 7:
        sys.exit(__doc__)
    port, secs, workers, senders, black = (int(a) for a in sys.argv[1:6])
    deadline = time.time() + secs
    outs = [[] for _ in range(workers)]
    threads = [threading.Thread(target=worker, args=(i, port, deadline, senders, black, outs[i]))
               for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with open(sys.argv[6], "w") as f:
        for o in outs:
            for line in o:
                f.write(line + "\n")


if __name__ == "__main__":
    main()
