#!/usr/bin/env python3
"""The evidence for 3d/3e: runs `host test` over many seeds and prints one table.

Why a script: the figures come from the harness's --json output, and the interesting
part is the comparison (seeds aggregated, published figures alongside), which needs
no Rust. Only the standard library is used.

    python3 challenges/broadcast/bench.py                  # the stages as graded (challenges.toml)
    python3 challenges/broadcast/bench.py --d-args "--down-ms 150" --e-args "..."
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import tomllib

SPEC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "challenges.toml")


def stage_args(name):
    """A stage's guest arguments ("d" or "e") from challenges.toml, their one home."""
    with open(SPEC, "rb") as f:
        return tomllib.load(f)["grade"][f"broadcast-{name}"].get("args", "")


WORKLOAD = "-w broadcast --node-count 25 --time-limit 20 --rate 100 --latency 100".split()
QS = ["0", "0.5", "0.95", "0.99", "1"]

# (name, servers msgs-per-op, median ms, max ms) as published for Gossip Glomers 3d/3e.
PUBLISHED = [
    ("published: tree4", 24.2, 377, 521),
    ("published: flat tree", 23.4, 181, 207),
    ("published: star, gossip every 50 ms", 14.7, 195, 281),
    ("published: batched every 500 ms", 1.92, 764, 1087),
]


def run(host, wasm, args, seed=None, nemesis=False, real_time=False):
    """One `host test`; returns its JSON result (or None if the harness failed)."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        out = f.name
    cmd = [host, "test"] + WORKLOAD + ["--json", out]
    if seed is not None:
        cmd += ["--seed", str(seed)]
    if nemesis:
        cmd += ["--nemesis", "partition"]
    if real_time:
        cmd += ["--bin", host, "run", wasm]
    else:
        cmd += [wasm]
    cmd += ["--"] + args.split()
    try:
        p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if p.returncode not in (0, 1):
            print(f"harness error ({p.returncode}) for {' '.join(cmd)}:\n{p.stderr[-2000:]}",
                  file=sys.stderr)
            return None
        with open(out) as f:
            return json.load(f)
    finally:
        os.unlink(out)


def figures(r):
    """(valid, all msgs/op, servers msgs/op, [latency quantiles]) of one result."""
    lat = r.get("workload", {}).get("stable-latencies", {})
    net = r.get("net", {})
    return (
        r.get("valid") is True,
        net.get("all", {}).get("msgs-per-op", float("nan")),
        net.get("servers", {}).get("msgs-per-op", float("nan")),
        [lat.get(q, float("nan")) for q in QS],
    )


def fmt_row(name, valid, all_, servers, lats):
    lat = " ".join(f"{x:>6.0f}" for x in lats) if lats else " ".join(f"{'':>6}" for _ in QS)
    a = f"{all_:>6.2f}" if all_ is not None else f"{'':>6}"
    return f"{name:<40} {valid:>8} {a} {servers:>7.2f}   {lat}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="target/release/host")
    ap.add_argument("--wasm", default="challenges/broadcast.wasm")
    ap.add_argument("--d-args", default=stage_args("d"))
    ap.add_argument("--e-args", default=stage_args("e"))
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--no-real-time", action="store_true")
    a = ap.parse_args()

    print(f"25 nodes, rate 100, 20 s, latency 100 ms; {a.seeds} seeds on virtual time "
          "(median over seeds; latency max column = worst seed)")
    print(f"{'setting':<40} {'valid':>8} {'all':>6} {'servers':>7}   "
          + " ".join(f"{'p' + q:>6}" for q in QS))
    print(f"{'':<40} {'':>8} {'msgs/op':>14}   {'stable latency, ms':^34}")
    for name, servers, p50, mx in PUBLISHED:
        print(f"{name:<40} {'':>8} {'':>6} {servers:>7.2f}   {'':>6} {p50:>6} {'':>6} {'':>6} {mx:>6}")
    failed = False
    for stage, args, bar in [("3d", a.d_args, (3.0, 400, 600)), ("3e", a.e_args, (1.0, 1000, 2000))]:
        rows = [r for r in (run(a.host, a.wasm, args, seed=s) for s in range(1, a.seeds + 1)) if r]
        figs = [figures(r) for r in rows]
        valid = sum(f[0] for f in figs)
        med = lambda i: statistics.median(f[i] for f in figs) if figs else float("nan")
        lats = [statistics.median(f[3][k] for f in figs) for k in range(len(QS) - 1)]
        lats.append(max(f[3][-1] for f in figs) if figs else float("nan"))
        print(f"{stage} guest args: {args}")
        print(fmt_row(f"{stage} ours, {a.seeds} seeds", f"{valid}/{a.seeds}", med(1), med(2), lats))
        ok = (valid == a.seeds and len(figs) == a.seeds
              and max(f[2] for f in figs) <= bar[0]
              and max(f[3][1] for f in figs) < bar[1] and lats[-1] < bar[2])
        worst = max((f[2] for f in figs), default=float("nan"))
        print(f"{'  worst seed servers msgs/op':<40} {'':>8} {'':>6} {worst:>7.2f}   "
              f"bar: <= {bar[0]} msgs/op, median < {bar[1]}, max < {bar[2]}: "
              f"{'met' if ok else 'NOT MET'}")
        failed |= not ok

        part = [r for r in (run(a.host, a.wasm, args, seed=s, nemesis=True)
                            for s in range(1, a.seeds + 1)) if r]
        pf = [figures(r) for r in part]
        pvalid = sum(f[0] for f in pf)
        print(fmt_row(f"{stage} ours, --nemesis partition", f"{pvalid}/{a.seeds}",
                      statistics.median(f[1] for f in pf) if pf else float("nan"),
                      statistics.median(f[2] for f in pf) if pf else float("nan"), None))
        failed |= pvalid != a.seeds

        if not a.no_real_time:
            r = run(a.host, a.wasm, args, seed=1, real_time=True)
            if r:
                v, al, sv, lt = figures(r)
                print(fmt_row(f"{stage} ours, real time (--bin, 25 procs)", "yes" if v else "NO",
                              al, sv, lt))
                rt_ok = v and sv <= bar[0] and lt[1] < bar[1] and lt[-1] < bar[2]
                print(f"{'':<40} {'':>8} {'':>6} {'':>7}   real time bar: {'met' if rt_ok else 'NOT MET'}")
                failed |= not rt_ok
            else:
                print(f"{stage} real time: the harness failed")
                failed = True
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
