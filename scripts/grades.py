#!/usr/bin/env python3
"""The table `make run` ends with: each graded challenge, its verdict and key figures
beside the official bar (Gossip Glomers') and ours (challenges/broadcast/stages.toml).

Why a script: it only reads what the gradings left (`host test --json`, and each run's
`run.json`), compares, and prints; that needs no Rust and no dependency beyond the
standard library.

    python3 scripts/grades.py DIR CHALLENGE...

DIR holds, per challenge, CHALLENGE.json (the harness's --json; absent when a real
Maelstrom graded it) and CHALLENGE.exit (the grading's exit status). Exit status: 0
when every challenge is valid and meets the official bar, else 1.
"""

import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STAGES = os.path.join(ROOT, "challenges", "broadcast", "stages.toml")

# The official bars beyond validity, (servers msgs-per-op, median, max stable latency
# in ms), all "less than": fly.io's Gossip Glomers 3d and 3e.
OFFICIAL = {"broadcast-d": (30, 400, 600), "broadcast-e": (20, 1000, 2000)}


def our_bars():
    """Ours for 3d/3e from stages.toml: `d-bars = "msgs-per-op median max"`."""
    bars = {}
    try:
        with open(STAGES) as f:
            for line in f:
                key, sep, value = line.partition("=")
                key = key.strip()
                if sep and key in ("d-bars", "e-bars"):
                    nums = [float(x) for x in value.strip().strip('"').split()]
                    bars["broadcast-" + key[0]] = tuple(nums)
    except (OSError, ValueError):
        pass
    return bars


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def exit_status(d, c):
    try:
        with open(os.path.join(d, c + ".exit")) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def figures(result):
    """(verdict, ops, ok %, servers msgs-per-op, latency median, latency max, latency
    kind) from a --json result; the latency of broadcast is its stable latency (the
    figure its bars are about), of the others that of ok operations (from run.json)."""
    verdict = {True: "valid", False: "INVALID"}.get(result.get("valid"), "UNKNOWN")
    stats = result.get("stats") or {}
    ops = stats.get("count")
    ok = 100.0 * (result.get("availability") or {}).get("ok-fraction", 0.0)
    mpo = ((result.get("net") or {}).get("servers") or {}).get("msgs-per-op")
    stable = (result.get("workload") or {}).get("stable-latencies")
    if stable:
        return verdict, ops, ok, mpo, stable.get("0.5"), stable.get("1"), "stable"
    run = load(os.path.join((result.get("wall") or {}).get("logs", ""), "run.json")) or {}
    return verdict, ops, ok, mpo, run.get("latency_median_ms"), run.get("latency_max_ms"), "ops"


def meets(bar, mpo, median, top, at_most=False):
    """Whether (msgs-per-op, median, max) are under `bar` (msgs-per-op `at_most` it,
    as our bars say); None if a figure is missing."""
    if None in (mpo, median, top):
        return None
    return (mpo <= bar[0] if at_most else mpo < bar[0]) and median < bar[1] and top < bar[2]


def num(x, digits=0):
    return "-" if x is None else f"{x:.{digits}f}"


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    d, challenges = argv[0], argv[1:]
    ours = our_bars()
    head = ("challenge", "verdict", "ops", "ok", "msgs/op", "latency ms", "official bar", "ours")
    rows, all_pass = [], True
    for c in challenges:
        result = load(os.path.join(d, c + ".json"))
        status = exit_status(d, c)
        if result is None:
            # Graded by a real Maelstrom (its figures are in its store), or the harness
            # failed: only the exit status is known.
            verdict = {0: "valid", 1: "INVALID"}.get(status, "ERROR")
            official = "valid"
            if c in OFFICIAL:
                bar = OFFICIAL[c]
                official = f"<{bar[0]:g}, <{bar[1]:g} / <{bar[2]:g}: not judged here"
            rows.append((c, verdict, "-", "-", "-", "-", official, ""))
            all_pass &= verdict == "valid"
            continue
        verdict, ops, ok, mpo, median, top, kind = figures(result)
        latency = f"{num(median)} / {num(top)}" + (" stable" if kind == "stable" else "")
        official, mine = "valid", ""
        passed = verdict == "valid"
        if c in OFFICIAL:
            bar = OFFICIAL[c]
            m = meets(bar, mpo, median, top)
            official = f"<{bar[0]:g}, <{bar[1]:g} / <{bar[2]:g}: " + {True: "met", False: "MISSED", None: "?"}[m]
            passed &= m is True
            if c in ours:
                b = ours[c]
                mine = f"<={b[0]:g}, <{b[1]:g} / <{b[2]:g}: " + {True: "met", False: "missed", None: "?"}[
                    meets(b, mpo, median, top, at_most=True)
                ]
        all_pass &= passed
        rows.append((c, verdict, num(ops), f"{ok:.1f}%", num(mpo, 2), latency, official, mine))
    widths = [max(len(str(r[i])) for r in [head] + rows) for i in range(len(head))]
    line = lambda r: "  ".join(str(x).ljust(w) for x, w in zip(r, widths)).rstrip()
    print(line(head))
    for r in rows:
        print(line(r))
    print(
        "ops: completed operations; ok: the share that succeeded (availability); msgs/op:\n"
        "messages between servers per operation (Maelstrom's net servers msgs-per-op);\n"
        "latency: median / max in ms, of broadcast's stable latency (from a value's\n"
        "acknowledgement until every read has it) or else of ok operations; bars: msgs/op,\n"
        "median / max latency. The JSON of each grading is in " + d + "/."
    )
    return 0 if all_pass else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
