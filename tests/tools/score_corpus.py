#!/usr/bin/env python3
"""Score `bounceguard-dsn parse --json` output against a corpus's expected.tsv.

usage: score_corpus.py EXPECTED.TSV PARSE-OUTPUT.JSONL [--floors R,S,C] [-v]

Rows of expected.tsv (file, recipient, status, reason, hard, source) are
matched to output objects of the same file: by recipient when the row names
one, else by position.  Three accuracies are reported:
  recipient  rows with a known recipient whose address was found
  status     rows whose status is an RFC 3463 code (Sisimai's own x.0.9xx
             codes are left out, as no MTA sends them)
  reason     all rows; reason "-" means the output must be {"bounce": false}
With --floors, prints TAP-like "ok - ..."/"not ok - ..." lines per accuracy
and exits 1 when one is under its floor.  -v lists every mismatch;
--misses lists them one per line as FILE<TAB>FIELD<TAB>EXPECTED<TAB>GOT,
grouped by family (the file name without -NN.eml), most frequent first.
"""
import json
import re
import sys
from collections import defaultdict


def main(argv):
    verbose = "-v" in argv
    by_family = "--misses" in argv
    floors = None
    args = [a for a in argv[1:] if a not in ("-v", "--misses")]
    if "--floors" in args:
        i = args.index("--floors")
        floors = [float(x) for x in args[i + 1].split(",")]
        del args[i:i + 2]
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    expected = defaultdict(list)
    with open(args[0], encoding="utf-8") as f:
        next(f)
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if len(cols) < 4:
                continue
            expected[cols[0]].append({"recipient": cols[1].lower(), "status": cols[2],
                                      "reason": cols[3]})
    got = defaultdict(list)
    with open(args[1], encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                o = json.loads(line)
            except ValueError:
                print("bad JSON line: " + line[:200], file=sys.stderr)
                continue
            name = o.get("file", "").rsplit("/", 1)[-1]
            got[name].append(o)

    n = {"recipient": 0, "status": 0, "reason": 0}
    ok = {"recipient": 0, "status": 0, "reason": 0}
    misses = []
    sisimai_status = re.compile(r"^[45]\.0\.9\d\d$")
    # Newer Sisimai tables write their own codes as x.9.NNN (5.9.213 for the
    # older 5.0.913): no MTA sends a three-digit detail in subject 9 either.
    sisimai_status_new = re.compile(r"^[45]\.9\.\d\d\d$")
    for name in sorted(expected):
        outs = [o for o in got.get(name, []) if o.get("bounce", True) is not False]
        nobounce = any(o.get("bounce") is False for o in got.get(name, []))
        for idx, row in enumerate(expected[name]):
            if row["reason"] == "-":
                n["reason"] += 1
                if nobounce and not outs:
                    ok["reason"] += 1
                else:
                    misses.append((name, "reason", "-", "bounce"))
                continue
            match = None
            if row["recipient"]:
                for o in outs:
                    if (o.get("recipient") or "").lower() == row["recipient"]:
                        match = o
                        break
                n["recipient"] += 1
                if match:
                    ok["recipient"] += 1
                else:
                    misses.append((name, "recipient", row["recipient"],
                                   [o.get("recipient") for o in outs]))
            if match is None and idx < len(outs):
                match = outs[idx]
            if match is None and outs:
                match = outs[-1]
            m = match or {}
            if (row["status"] and not sisimai_status.match(row["status"])
                    and not sisimai_status_new.match(row["status"])):
                n["status"] += 1
                if m.get("status") == row["status"]:
                    ok["status"] += 1
                else:
                    misses.append((name, "status", row["status"], m.get("status")))
            n["reason"] += 1
            if m.get("reason") == row["reason"]:
                ok["reason"] += 1
            else:
                misses.append((name, "reason", row["reason"],
                               "%s [%s] %s" % (m.get("reason"), m.get("status"),
                                              (m.get("diagnostic") or "")[:150])))
    if verbose:
        for mm in misses:
            print("miss %s %s: want %s got %s" % mm)
    if by_family:
        fam = defaultdict(list)
        for mm in misses:
            fam[re.sub(r"-\d+\.eml$", "", mm[0])].append(mm)
        for name in sorted(fam, key=lambda k: (-len(fam[k]), k)):
            print("# %s: %d" % (name, len(fam[name])))
            for mm in fam[name]:
                print("%s\t%s\t%s\t%s" % mm)
    acc = {}
    for k in ("recipient", "status", "reason"):
        acc[k] = ok[k] / n[k] if n[k] else 1.0
        print("# %-9s %.3f (%d/%d)" % (k, acc[k], ok[k], n[k]))
    if floors is None:
        return 0
    bad = 0
    for k, floor in zip(("recipient", "status", "reason"), floors):
        if acc[k] >= floor:
            print("ok - corpus %s accuracy %.3f >= %.2f" % (k, acc[k], floor))
        else:
            print("not ok - corpus %s accuracy %.3f < %.2f" % (k, acc[k], floor))
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
