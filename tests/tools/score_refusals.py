#!/usr/bin/env python3
"""Score bounceguard's decisions on the refusal set against its labels.

Used by tests/integration/refusals.sh and refusals_mtas.sh.  Each run (a
name such as postfix/dsn) is one fresh store that an intake of
bounceguard-dsn fed; DIR holds, per run with "/" made "-":
NAME.list.json (bounceguard --json list), NAME.incidents.json (rbl
incidents --json) and NAME.log/warning.log.  The decision per row is read
back from them: blacklist if the row's recipient is blacklisted, incident
if an incident names the recipient (or, with --map, the row's own remote
server), none otherwise.  Rows a run did not see (--only FILE: the row ids
it was sent) are not scored for it.

    score_refusals.py --table TSV --dir DIR --runs "a/dsn b/dsn" --floors TEXT
        [--map FILE] [--only RUN=FILE ...] [--pairs] [--report FILE]

FLOORS text: one "run min-accuracy max-wrong-blacklistings min-incidents"
per line.  Prints one TAP line per run; with --pairs, the rows on which the
dsn and log runs of one MTA disagree.  Standard library only.
"""

import argparse
import csv
import json
import os
import re
import sys


def jsonl(path):
    """The JSON objects of a file, one per line; None if it cannot be read."""
    try:
        text = open(path, encoding="utf-8").read()
    except OSError:
        return None
    return [json.loads(line) for line in map(str.strip, text.splitlines()) if line.startswith("{")]


def decisions_of(tdir, run, rows, addr):
    """Row id -> blacklist/incident/none for RUN, or None if it has no store."""
    name = run.replace("/", "-")
    listed = jsonl(os.path.join(tdir, name + ".list.json"))
    incidents = jsonl(os.path.join(tdir, name + ".incidents.json"))
    if listed is None or incidents is None:
        return None
    black = {o["address"] for o in listed if o.get("blacklisted") or o.get("state") == "blacklisted"}
    # An incident is kept per list and reporting server with only its last
    # recipient, so the warning log's "RBL incident: ... for Recipient R"
    # lines name each recipient concerned.
    inc_rcpt = {o.get("last_rcpt") for o in incidents}
    inc_mta = {(o.get("remote_mta") or "").strip("[]") for o in incidents} if addr else set()
    try:
        for line in open(os.path.join(tdir, name + ".log", "warning.log"), encoding="utf-8", errors="replace"):
            m = re.search(r"RBL incident: .* for Recipient (\S+) ", line)
            if m:
                inc_rcpt.add(m.group(1))
    except OSError:
        pass
    d = {}
    for r in rows:
        rcpt = "%s@%s.refusal.test" % (r["id"], r["id"])
        if rcpt in black:
            d[r["id"]] = "blacklist"
        elif rcpt in inc_rcpt or (addr and addr[r["id"]] in inc_mta):
            d[r["id"]] = "incident"
        else:
            d[r["id"]] = "none"
    return d


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--table", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--runs", required=True)
    ap.add_argument("--floors", default="")
    ap.add_argument("--map")
    ap.add_argument("--only", action="append", default=[])
    ap.add_argument("--pairs", action="store_true")
    ap.add_argument("--report", action="append", default=[])
    args = ap.parse_args()

    rows = list(csv.DictReader(open(args.table, encoding="utf-8"), delimiter="\t", quoting=csv.QUOTE_NONE))
    addr = dict(line.rstrip("\n").split("\t") for line in open(args.map)) if args.map else None
    floors = {}
    for line in args.floors.split("\n"):
        f = line.split()
        if f:
            floors[f[0]] = (float(f[1]), int(f[2]), int(f[3]))
    only = {}
    for spec in args.only:
        run, path = spec.split("=", 1)
        only[run] = {line.split()[0] for line in open(path) if line.strip()}
    runs = args.runs.split()

    decisions = {}
    for run in runs:
        d = decisions_of(args.dir, run, rows, addr)
        if d is None:
            print("ok - # SKIP %s: no store to read" % run)
            continue
        decisions[run] = d
        seen = [r for r in rows if run not in only or r["id"] in only[run]]
        relay = [r for r in seen if r["decision"] == "incident"]
        right = sum(1 for r in seen if d[r["id"]] == r["decision"])
        wrong = [r["id"] for r in seen if d[r["id"]] == "blacklist" and r["decision"] != "blacklist"]
        missed = [r["id"] for r in seen if r["decision"] == "blacklist" and d[r["id"]] != "blacklist"]
        inc = sum(1 for r in relay if d[r["id"]] == "incident")
        acc = right / len(seen) if seen else 0.0
        fa, fw, fi = floors.get(run, (0.0, 10**6, 0))
        good = acc >= fa and len(wrong) <= fw and inc >= fi
        print("%s - %s: decision %.3f (%d/%d), %d wrong blacklistings, %d missed blacklistings, "
              "incidents %d/%d relay rows (floors %.2f, <= %d, >= %d)"
              % ("ok" if good else "not ok", run, acc, right, len(seen), len(wrong), len(missed),
                 inc, len(relay), fa, fw, fi))
        if wrong:
            print("#   %s wrong blacklistings: %s" % (run, " ".join(wrong)))
        if missed:
            print("#   %s missed blacklistings: %s" % (run, " ".join(missed)))
    if args.pairs:
        for mta in sorted({run.split("/")[0] for run in runs}):
            a, b = decisions.get(mta + "/dsn"), decisions.get(mta + "/log")
            if a and b:
                diff = [r["id"] for r in rows if a[r["id"]] != b[r["id"]]]
                print("# %s: the dsn and log intakes disagree on %d rows: %s" % (mta, len(diff), " ".join(diff)))

    lines = ["\t".join(["id", "provider", "label"] + [run.replace("/", "-") for run in runs])]
    for r in rows:
        cells = []
        for run in runs:
            seen = run in decisions and (run not in only or r["id"] in only[run])
            cells.append(decisions[run][r["id"]] if seen else "-")
        lines.append("\t".join([r["id"], r["provider"], r["decision"]] + cells))
    text = "\n".join(lines) + "\n"
    for path in args.report:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
