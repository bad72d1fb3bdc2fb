#!/usr/bin/env python3
"""A refusing SMTP sink: plays "the internet" of tests/data/refusals/refusals.tsv.

Each row of the table is one remote system with an address of its own on
loopback; the sink listens on that address and answers each connection as
the row says, at the row's stage (connect, helo, mail, rcpt, data), with the
row's reply.  Every other command is accepted.  An address of its own per
row is what lets a refusal at connect, HELO or MAIL FROM be answered per
row: those stages come before the recipient is known.

It also listens on a capture address (127.0.0.1 by default) where it accepts
every message and stores it in a maildir: the MTA under test relays the
bounces it generates for the sender there.

With --by-rcpt the capture address plays the rows of stage mail, rcpt and
data too: MAIL FROM:<app+ID@sender.test> gets the reply of row ID (stage
mail; "app@sender.test" in it made that sender), RCPT TO a row's recipient
gets the row's reply (stage rcpt), or is accepted and the message refused
after its final dot (stage data); every other message is stored.  That is for MTAs that relay
everything to one smarthost (dma, nullmailer) or are simplest set up so:
one address for all, so the bounce's remote host is the same for every row.

    refusing_sink.py --table TSV --map             print "id<TAB>address", one per row
    refusing_sink.py --table TSV --port PORT --maildir DIR [--capture HOST] [--by-rcpt]

Row n of the table (0-based, in file order) listens on 127.77.(n // 250).(n % 250 + 1).
The reply column holds one reply ({rcpt} stands for the row's recipient,
<id>@<id>.refusal.test); a multi-line reply has its lines separated
by the two characters backslash and n, each line with its code ("550-5.1.1 ..."
or "550 5.1.1 ..."): the sink sends them with the right continuation marks.
SIGTERM and SIGINT stop it at once; an idle client is dropped after 60 s.
Standard library only.
"""

import argparse
import asyncio
import csv
import os
import re
import signal
import socket
import sys
import time

STAGES = ("connect", "helo", "mail", "rcpt", "data")
IDLE_TIMEOUT = 60
NET = "127.77"


def row_address(n):
    return "%s.%d.%d" % (NET, n // 250, n % 250 + 1)


def read_table(path):
    """The rows of the table, as dicts, in file order."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    for row in rows:
        if row["stage"] not in STAGES:
            raise SystemExit("%s: row %s: unknown stage %r" % (path, row["id"], row["stage"]))
        if not re.match(r"^[245]\d\d[ -]", row["reply"]):
            raise SystemExit("%s: row %s: reply without a code" % (path, row["id"]))
    return rows


def row_recipient(row):
    """The recipient the test sends a row's message to."""
    return "%s@%s.refusal.test" % (row["id"], row["id"])


def row_reply(row):
    """The reply of a row, {rcpt} replaced by the row's recipient."""
    return row["reply"].replace("{rcpt}", row_recipient(row))


def reply_lines(reply):
    """The reply of a row as the bytes to send, continuation marks set."""
    lines = reply.split("\\n")
    code = lines[0][:3]
    out = []
    for i, line in enumerate(lines):
        text = line[4:] if re.match(r"^\d\d\d[ -]", line) else line
        mark = " " if i == len(lines) - 1 else "-"
        out.append("%s%s%s\r\n" % (code, mark, text))
    return "".join(out).encode("utf-8")


class Session:
    """One SMTP session, refusing at ROW's stage (ROW None: accept all)."""

    def __init__(self, reader, writer, row, maildir, by_rcpt=None, by_sender=None):
        self.reader = reader
        self.writer = writer
        self.row = row
        self.maildir = maildir
        self.stage = row["stage"] if row else None
        self.refusal = reply_lines(row_reply(row)) if row else None
        # recipient -> row, for the rows played by recipient (--by-rcpt)
        self.by_rcpt = by_rcpt or {}
        self.by_sender = by_sender or {}  # sender -> row, stage mail
        self.data_row = None

    async def send(self, data):
        self.writer.write(data if isinstance(data, bytes) else data.encode())
        await self.writer.drain()

    async def readline(self):
        line = await asyncio.wait_for(self.reader.readline(), IDLE_TIMEOUT)
        if not line:
            raise ConnectionError("client went away")
        return line

    def refuses(self, stage):
        return self.stage == stage

    async def refuse(self):
        await self.send(self.refusal)
        # a 421 closes the channel (RFC 5321, 3.8)
        return not self.refusal.startswith(b"421")

    async def run(self):
        if self.refuses("connect"):
            if not await self.refuse():
                return
            # after a refusing greeting, only QUIT is served (RFC 5321, 3.1)
            while True:
                verb = (await self.readline()).decode("latin-1").strip().upper()
                if verb.startswith("QUIT"):
                    await self.send("221 2.0.0 Bye\r\n")
                    return
                await self.send("503 5.5.1 Bad sequence of commands\r\n")
        await self.send("220 sink.refusal.test ESMTP\r\n")
        greeted = False
        mail_from = None
        rcpts = []
        while True:
            line = (await self.readline()).decode("latin-1").rstrip("\r\n")
            verb = line.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                if self.refuses("helo"):
                    if not await self.refuse():
                        return
                    continue
                greeted = True
                if verb == "EHLO":
                    await self.send("250-sink.refusal.test\r\n250-8BITMIME\r\n"
                                    "250-ENHANCEDSTATUSCODES\r\n250 SIZE 52428800\r\n")
                else:
                    await self.send("250 sink.refusal.test\r\n")
            elif verb == "MAIL":
                if not greeted:
                    await self.send("503 5.5.1 Say hello first\r\n")
                elif self.refuses("mail"):
                    if not await self.refuse():
                        return
                elif path_of(line).strip("<>").lower() in self.by_sender:
                    sender = path_of(line).strip("<>")
                    row = self.by_sender[sender.lower()]
                    refusal = reply_lines(row_reply(row).replace("app@sender.test", sender))
                    await self.send(refusal)
                    if refusal.startswith(b"421"):
                        return
                else:
                    mail_from = path_of(line)
                    rcpts = []
                    self.data_row = None
                    await self.send("250 2.1.0 Ok\r\n")
            elif verb == "RCPT":
                played = self.by_rcpt.get(path_of(line).strip("<>").lower())
                if mail_from is None:
                    await self.send("503 5.5.1 Need MAIL first\r\n")
                elif self.refuses("rcpt"):
                    if not await self.refuse():
                        return
                elif played and played["stage"] == "rcpt":
                    refusal = reply_lines(row_reply(played))
                    await self.send(refusal)
                    if refusal.startswith(b"421"):
                        return
                else:
                    if played:
                        self.data_row = played
                    rcpts.append(path_of(line))
                    await self.send("250 2.1.5 Ok\r\n")
            elif verb == "DATA":
                if not rcpts:
                    await self.send("503 5.5.1 Need RCPT first\r\n")
                    continue
                await self.send("354 End data with <CR><LF>.<CR><LF>\r\n")
                body = await self.read_data()
                if self.refuses("data"):
                    if not await self.refuse():
                        return
                elif self.data_row:
                    refusal = reply_lines(row_reply(self.data_row))
                    await self.send(refusal)
                    if refusal.startswith(b"421"):
                        return
                else:
                    self.store(mail_from, rcpts, body)
                    await self.send("250 2.0.0 Ok: queued\r\n")
                mail_from, rcpts, self.data_row = None, [], None
            elif verb == "RSET":
                mail_from, rcpts, self.data_row = None, [], None
                await self.send("250 2.0.0 Ok\r\n")
            elif verb == "NOOP":
                await self.send("250 2.0.0 Ok\r\n")
            elif verb == "QUIT":
                await self.send("221 2.0.0 Bye\r\n")
                return
            else:
                await self.send("502 5.5.2 Command not implemented\r\n")

    async def read_data(self):
        lines = []
        while True:
            line = await self.readline()
            if line in (b".\r\n", b".\n"):
                return b"".join(lines)
            if line.startswith(b".."):
                line = line[1:]
            lines.append(line)

    def store(self, mail_from, rcpts, body):
        """Keep an accepted message in the maildir (only the capture accepts)."""
        if self.maildir is None:
            return
        name = "%d.%d_%d.refusing-sink" % (time.time(), os.getpid(), next(COUNTER))
        tmp = os.path.join(self.maildir, "tmp", name)
        head = "Return-Path: %s\nX-Sink-Rcpt: %s\n" % (mail_from, " ".join(rcpts))
        with open(tmp, "wb") as f:
            f.write(head.encode())
            f.write(body.replace(b"\r\n", b"\n"))
        os.rename(tmp, os.path.join(self.maildir, "new", name))


def path_of(line):
    """The <path> of a MAIL FROM or RCPT TO command line."""
    start, end = line.find("<"), line.find(">")
    return line[start:end + 1] if 0 <= start < end else "<>"


def counter():
    n = 0
    while True:
        n += 1
        yield n


COUNTER = counter()


async def serve(args, rows):
    by_address = {row_address(n): row for n, row in enumerate(rows)}
    by_rcpt, by_sender = {}, {}
    if args.by_rcpt:
        by_rcpt = {row_recipient(row): row for row in rows if row["stage"] in ("rcpt", "data")}
        by_sender = {"app+%s@sender.test" % row["id"]: row for row in rows if row["stage"] == "mail"}
    for sub in ("new", "cur", "tmp"):
        os.makedirs(os.path.join(args.maildir, sub), exist_ok=True)

    async def handle(reader, writer):
        local = writer.get_extra_info("sockname")[0]
        row = by_address.get(local)
        session = Session(reader, writer, row, None if row else args.maildir,
                          None if row else by_rcpt, None if row else by_sender)
        try:
            await session.run()
        except (ConnectionError, asyncio.TimeoutError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    hosts = [args.capture] + list(by_address)
    servers = []
    for host in hosts:
        servers.append(await asyncio.start_server(
            handle, host, args.port, reuse_address=True, family=socket.AF_INET, backlog=64))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print("listening on %d addresses, port %d" % (len(hosts), args.port), flush=True)
    await stop.wait()
    for server in servers:
        server.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--table", required=True)
    ap.add_argument("--map", action="store_true", help="print id and address per row, then exit")
    ap.add_argument("--port", type=int)
    ap.add_argument("--maildir")
    ap.add_argument("--capture", default="127.0.0.1")
    ap.add_argument("--by-rcpt", action="store_true",
                    help="the capture address plays the mail, rcpt and data rows by sender and recipient")
    args = ap.parse_args()
    rows = read_table(args.table)
    if args.map:
        for n, row in enumerate(rows):
            print("%s\t%s" % (row["id"], row_address(n)))
        return 0
    if args.port is None or args.maildir is None:
        ap.error("--port and --maildir are needed to serve")
    asyncio.run(serve(args, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
