#!/usr/bin/env python3
"""Grades the challenges as challenges/challenges.toml describes them, and prints one
table of verdicts and figures beside the official bars and ours.

    python3 scripts/grade.py run [--lang L[,L..]] [--jobs N] [NAME..]  # grade, then the table
    python3 scripts/grade.py seeds NAME [--lang L]                       # NAME's seed sweep
    python3 scripts/grade.py args NAME                                   # NAME's guest arguments
    python3 scripts/grade.py options NAME                                # NAME's host test options
    python3 scripts/grade.py json                                        # the whole file, as JSON
    python3 scripts/grade.py names [--seeds]                             # the settings (with a sweep)

`run` grades every [grade.*] in every language whose component is built (the rest are
listed as not built), NAME.. narrows it. With a real Maelstrom (MAELSTROM=path, or
`maelstrom` on PATH) it runs Maelstrom one grading at a time; else the built-in harness,
--jobs gradings at once (default: the number of cores), each on its own virtual clock,
so running them side by side changes no figure. Each grading's JSON, output and exit
status are kept in store/make-run/<time>/. Exit status: 0 when every grading is valid
and meets its official bar, else 1.

Why a script: Make cannot read TOML, and the table only reads what the gradings left;
that needs nothing beyond Python's standard library (tomllib: Python 3.11 or later).
"""

import argparse
import concurrent.futures
import datetime
import json
import os
import shlex
import shutil
import subprocess
import sys
import tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPEC = os.path.join(ROOT, "challenges", "challenges.toml")
HOST = os.environ.get("HOST", os.path.join("target", "release", "host"))


def spec():
    with open(SPEC, "rb") as f:
        return tomllib.load(f)


def grade_of(s, name):
    try:
        return s["grade"][name]
    except KeyError:
        sys.exit(f"grade.py: no [grade.{name}] in {os.path.relpath(SPEC, ROOT)} "
                 f"(there are: {', '.join(s['grade'])})")


def languages_of(s, g):
    return g.get("languages", list(s["languages"]))


def wasm_of(s, g, lang):
    return s["languages"][lang].format(component=g["component"])


def maelstrom():
    return os.environ.get("MAELSTROM") or shutil.which("maelstrom")


def command(s, name, lang, json_path=None):
    """The grading's command line: a real Maelstrom's if there is one, else ours."""
    g = grade_of(s, name)
    options, args = shlex.split(g["options"]), shlex.split(g.get("args", ""))
    wasm = wasm_of(s, g, lang)
    tail = [wasm] + (["--"] + args if args else [])
    m = maelstrom()
    if m:
        return [m, "test"] + options + ["--bin", HOST, "run"] + tail
    return [HOST, "test"] + options + (["--json", json_path] if json_path else []) + tail


def grade_one(s, name, lang, out_dir):
    stem = os.path.join(out_dir, f"{name}.{lang}")
    cmd = command(s, name, lang, stem + ".json")
    with open(stem + ".out", "w") as out:
        out.write("== " + shlex.join(cmd) + "\n")
        out.flush()
        code = subprocess.run(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT).returncode
    with open(stem + ".exit", "w") as f:
        f.write(f"{code}\n")
    return code


# The table.

def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def figures(result):
    """(verdict, ops, ok %, servers msgs-per-op, latency median, latency max, latency
    kind) from a --json result; broadcast's latency is its stable latency (what its
    bars are about), the others' that of ok operations."""
    verdict = {True: "valid", False: "INVALID"}.get(result.get("valid"), "UNKNOWN")
    ops = (result.get("stats") or {}).get("count")
    ok = 100.0 * (result.get("availability") or {}).get("ok-fraction", 0.0)
    mpo = ((result.get("net") or {}).get("servers") or {}).get("msgs-per-op")
    stable = (result.get("workload") or {}).get("stable-latencies")
    if stable:
        return verdict, ops, ok, mpo, stable.get("0.5"), stable.get("1"), "stable"
    lat = result.get("latency") or {}
    return verdict, ops, ok, mpo, lat.get("median-ms"), lat.get("max-ms"), "ops"


def meets(bar, mpo, median, top, at_most=False):
    """Whether the figures are under `bar` (msgs-per-op `at_most` it, as our bars say);
    None if a figure is missing."""
    if None in (mpo, median, top):
        return None
    under = mpo <= bar["msgs-per-op"] if at_most else mpo < bar["msgs-per-op"]
    return under and median < bar["median-ms"] and top < bar["max-ms"]


def show_bar(bar, at_most=False):
    return f"{'<=' if at_most else '<'}{bar['msgs-per-op']:g}, <{bar['median-ms']:g} / <{bar['max-ms']:g}"


def num(x, digits=0):
    return "-" if x is None else f"{x:.{digits}f}"


def table(s, out_dir, rows_wanted, not_built):
    head = ("challenge", "language", "verdict", "ops", "ok", "msgs/op", "latency ms",
            "official bar", "ours")
    rows, all_pass = [], True
    for name, lang in rows_wanted:
        g = grade_of(s, name)
        if (name, lang) in not_built:
            rows.append((name, lang, "not built", "-", "-", "-", "-", not_built[(name, lang)], ""))
            continue
        stem = os.path.join(out_dir, f"{name}.{lang}")
        result = load(stem + ".json")
        try:
            status = int(open(stem + ".exit").read())
        except (OSError, ValueError):
            status = None
        official, mine = g.get("official"), g.get("ours")
        if result is None:
            # Graded by a real Maelstrom (its figures are in its store), or the harness
            # failed before writing its JSON: only the exit status is known.
            verdict = {0: "valid", 1: "INVALID"}.get(status, "ERROR")
            text = show_bar(official) + ": not judged here" if official else "valid"
            rows.append((name, lang, verdict, "-", "-", "-", "-", text, ""))
            all_pass &= verdict == "valid"
            continue
        verdict, ops, ok, mpo, median, top, kind = figures(result)
        latency = f"{num(median)} / {num(top)}" + (" stable" if kind == "stable" else "")
        passed, text, ours_text = verdict == "valid", "valid", ""
        if official:
            m = meets(official, mpo, median, top)
            text = show_bar(official) + ": " + {True: "met", False: "MISSED", None: "?"}[m]
            passed &= m is True
        if mine:
            m = meets(mine, mpo, median, top, at_most=True)
            ours_text = show_bar(mine, True) + ": " + {True: "met", False: "missed", None: "?"}[m]
        all_pass &= passed
        rows.append((name, lang, verdict, num(ops), f"{ok:.1f}%", num(mpo, 2), latency, text, ours_text))
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
        "median / max latency. Each grading's output and JSON are in " + os.path.relpath(out_dir, ROOT) + "/."
    )
    return all_pass


def run(argv):
    p = argparse.ArgumentParser(prog="grade.py run")
    p.add_argument("--lang", default="", help="comma-separated languages (default: all)")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    p.add_argument("names", nargs="*")
    a = p.parse_args(argv)
    s = spec()
    langs = [l for l in a.lang.split(",") if l] or list(s["languages"])
    for l in langs:
        if l not in s["languages"]:
            sys.exit(f"grade.py: no language {l!r} (there are: {', '.join(s['languages'])})")
    names = a.names or list(s["grade"])
    wanted, not_built, todo = [], {}, []
    for name in names:
        g = grade_of(s, name)
        for lang in langs:
            if lang not in languages_of(s, g):
                continue
            wanted.append((name, lang))
            if not os.path.exists(os.path.join(ROOT, wasm_of(s, g, lang))):
                not_built[(name, lang)] = f"{wasm_of(s, g, lang)} is missing (make {lang})"
            else:
                todo.append((name, lang))
    if not os.path.exists(os.path.join(ROOT, HOST)):
        sys.exit(f"grade.py: {HOST} is missing: run `make` first")
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%S")
    out_dir = os.path.join(ROOT, "store", "make-run", stamp)
    os.makedirs(out_dir, exist_ok=True)
    # Compile once: every component into the host's cache before the gradings start,
    # so gradings of one component side by side do not each compile it.
    wasms = sorted({wasm_of(s, grade_of(s, n), l) for n, l in todo})
    if wasms:
        print(f"compiling {len(wasms)} components into the cache", flush=True)
        subprocess.run([HOST, "compile"] + wasms, cwd=ROOT, stdout=subprocess.DEVNULL)
    jobs = 1 if maelstrom() else max(1, a.jobs)
    print(f"grading {len(todo)} settings, {jobs} at a time; output in {os.path.relpath(out_dir, ROOT)}/",
          flush=True)
    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        futures = {pool.submit(grade_one, s, n, l, out_dir): (n, l) for n, l in todo}
        for f in concurrent.futures.as_completed(futures):
            n, l = futures[f]
            code = f.result()
            print(f"  {n} ({l}): exit {code}", flush=True)
    print()
    ok = table(s, out_dir, wanted, not_built)
    if ok and not not_built:
        print(f"make run: all {len(wanted)} graded settings are valid and meet the official bars")
        return 0
    if ok:
        print(f"make run: every grading that ran is valid and meets its bar; {len(not_built)} not built")
        return 1
    print("make run: not every grading is valid and meets its bar (see above)")
    return 1


def seeds(argv):
    p = argparse.ArgumentParser(prog="grade.py seeds")
    p.add_argument("--lang", default="rust")
    p.add_argument("name")
    a, extra = p.parse_known_args(argv)
    s = spec()
    g = grade_of(s, a.name)
    n = g.get("seeds")
    if not n:
        sys.exit(f"grade.py: [grade.{a.name}] has no seed sweep")
    args = shlex.split(g.get("args", ""))
    cmd = [HOST, "test"] + shlex.split(g["options"]) + [f"--seeds=1..{n}"] + extra \
        + [wasm_of(s, g, a.lang)] + (["--"] + args if args else [])
    print("== " + shlex.join(cmd), flush=True)
    return subprocess.run(cmd, cwd=ROOT).returncode


def main(argv):
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if argv else 2
    verb, rest = argv[0], argv[1:]
    if verb == "run":
        return run(rest)
    if verb == "seeds":
        return seeds(rest)
    if verb == "names" and rest in ([], ["--seeds"]):
        # For the Makefile: one target per setting, and NAME-seeds for those with a sweep.
        grades = spec()["grade"]
        print(" ".join(n for n, g in grades.items() if not rest or g.get("seeds")))
        return 0
    if verb == "json" and not rest:
        # For the other languages' tests, which have no TOML reader of their own.
        print(json.dumps(spec()))
        return 0
    if verb in ("args", "options") and len(rest) == 1:
        g = grade_of(spec(), rest[0])
        print(g.get("args", "") if verb == "args" else g["options"])
        return 0
    print(__doc__.strip(), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
