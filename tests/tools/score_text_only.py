#!/usr/bin/env python3
"""Recipients from a bounce's words alone: every sample with a
message/delivery-status part is parsed again without that part, and the
recipients found are compared with the ones expected.tsv names.

usage: score_text_only.py BOUNCEGUARD-DSN FLOOR DIR...

Each DIR holds *.eml and an expected.tsv (file, recipient, ...).  Many MTAs
(qmail, dma, nullmailer, Courier's older texts, providers' home-made
notices) send no delivery-status part at all; this measures how far the
parser's reading of the human-readable notice carries when the machine-
readable part is gone.  A sample counts when the set of recipients found is
the expected set: a wrong address (the sender, a delivered recipient)
counts against it as a missing one does.  Some expected recipients cannot
be found from the text (an alias expanded after the text was written, a
notice that names nobody): the floor allows for them.  Prints one TAP line
and the misses as comments; exits 1 under FLOOR.
"""
import collections
import csv
import email
import email.policy
import json
import os
import subprocess
import sys
import tempfile

STATUS_TYPES = ("message/delivery-status", "message/global-delivery-status")


def expected(d):
    want = collections.defaultdict(set)
    with open(os.path.join(d, "expected.tsv"), newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            if row["recipient"]:
                want[row["file"]].add(row["recipient"].lower())
    return want


def without_status(raw):
    """The message without its delivery-status part, or None when it has none."""
    m = email.message_from_bytes(raw, policy=email.policy.compat32)
    if not m.is_multipart() or m.get_content_type() != "multipart/report":
        return None
    parts = m.get_payload()
    keep = [p for p in parts if p.get_content_type() not in STATUS_TYPES]
    if len(keep) == len(parts):
        return None
    m.set_payload(keep)
    return m.as_bytes()


def main(argv):
    if len(argv) < 4:
        sys.stderr.write(__doc__)
        return 2
    binary, floor, dirs = os.path.abspath(argv[1]), float(argv[2]), argv[3:]
    with tempfile.TemporaryDirectory() as tmp:
        want = {}
        for d in dirs:
            tag = os.path.basename(os.path.normpath(d))
            for name, rcpts in expected(d).items():
                stripped = without_status(open(os.path.join(d, name), "rb").read())
                if stripped is None:
                    continue
                out = f"{tag}--{name}"
                with open(os.path.join(tmp, out), "wb") as f:
                    f.write(stripped)
                want[out] = rcpts
        if not want:
            print("not ok - no sample with a delivery-status part")
            return 1
        r = subprocess.run([binary, "parse", "--json"] + sorted(want), cwd=tmp,
                           capture_output=True, text=True)
        got = collections.defaultdict(set)
        for line in r.stdout.splitlines():
            j = json.loads(line)
            if j.get("recipient"):
                got[os.path.basename(j["file"])].add(j["recipient"].lower())
    misses = [(f, sorted(w), sorted(got[f])) for f, w in sorted(want.items()) if got[f] != w]
    same = len(want) - len(misses)
    share = same / len(want)
    verdict = "ok" if share >= floor else "not ok"
    print(f"{verdict} - recipients from the notice's words alone (delivery-status part "
          f"removed): {same} of {len(want)} samples, {share:.3f} >= {floor}")
    for f, w, g in misses:
        print(f"#   {f.replace('--', '/')}: expected {' '.join(w)}, found {' '.join(g) or '-'}")
    return 0 if share >= floor else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
