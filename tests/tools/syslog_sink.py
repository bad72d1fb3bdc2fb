#!/usr/bin/env python3
"""A /dev/log of our own for a private Sendmail: reads syslog datagrams on
the unix socket PATH and appends them to OUT as a syslog file has them
("Mmm dd hh:mm:ss smtest TAG[pid]: ...").  Stops on SIGTERM.

usage: syslog_sink.py PATH OUT
"""
import os
import signal
import socket
import sys


def main(path, out):
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    os.chmod(path, 0o666)
    with open(out, "ab", buffering=0) as f:
        while True:
            d = s.recv(65536).rstrip(b"\n\0")
            if d.startswith(b"<") and b">" in d[:5]:
                d = d[d.index(b">") + 1:]
            # the timestamp, then a host name, then the rest
            f.write(d[:15] + b" smtest " + d[16:] + b"\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
