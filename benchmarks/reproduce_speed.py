"""``ibsym reproduce`` end to end: serial (``--jobs 1``) against parallel (default pool), same run.

Each mode runs the command in a fresh process into a fresh ``--out`` and is timed by wall
clock and by CPU: from its ``summary.json``, the sum of the per-derivation CPU seconds plus
the parent's own (the pool's workers are children of a fork server that the command does not
reap, so ``getrusage`` of the children, also printed, misses them in parallel mode).  The machine's load average before and after is printed: on a shared machine wall
times carry the other users' load, CPU times much less.

Usage::

    .venv/bin/python benchmarks/reproduce_speed.py            # --quick variants (a few minutes)
    .venv/bin/python benchmarks/reproduce_speed.py --full     # the default `ibsym reproduce`
    .venv/bin/python benchmarks/reproduce_speed.py --only barrett_dherin_2021_igr xu_2021_importance_weights
    .venv/bin/python benchmarks/reproduce_speed.py --full --modes parallel   # one mode only
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

IBSYM = [sys.executable, "-m", "ibsym", "reproduce"]


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run(mode: str, names: list[str], quick: bool, out: Path) -> dict:
    """One end-to-end run of ``ibsym reproduce`` in ``mode`` ("serial" or "parallel")."""
    cmd = IBSYM + names + ["--out", str(out)] + (["--quick"] if quick else [])
    if mode == "serial":
        cmd += ["--jobs", "1"]
    load0 = os.getloadavg()[0]
    c0, t0 = _children_cpu(), time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True,
                          env=dict(os.environ, MPLBACKEND="Agg"))
    wall, cpu = time.perf_counter() - t0, _children_cpu() - c0
    if proc.returncode != 0:
        sys.exit(f"{mode}: exit {proc.returncode}\n{proc.stderr[-3000:]}")
    summary = json.loads((out / "summary.json").read_text())
    per = {r["name"]: (r["seconds"], r.get("cpu_seconds")) for r in summary["results"]}
    inner = summary["run"]["cpu_seconds"] + summary["run"]["parent_cpu_seconds"]
    return {"mode": mode, "wall": wall, "cpu": cpu, "inner_cpu": inner, "per": per,
            "load": (load0, os.getloadavg()[0]), "jobs": summary["run"]["jobs"],
            "results": [{k: v for k, v in r.items() if "seconds" not in k}
                        for r in summary["results"]]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--full", action="store_true", help="full-size derivations (no --quick)")
    ap.add_argument("--only", nargs="+", default=[], metavar="NAME", help="these derivations")
    ap.add_argument("--modes", nargs="+", default=["serial", "parallel"],
                    choices=["serial", "parallel"])
    args = ap.parse_args()
    quick = not args.full
    print(f"ibsym reproduce {'--quick' if quick else '(full)'} "
          f"{' '.join(args.only) or '(every derivation)'}; {os.cpu_count()} CPUs")
    rows = []
    with tempfile.TemporaryDirectory(prefix="ibsym-bench-reproduce-") as tmp:
        for mode in args.modes:
            rows.append(run(mode, args.only, quick, Path(tmp) / mode))
            r = rows[-1]
            print(f"{mode:8s} jobs={r['jobs']}: {r['wall']:7.1f} s wall, {r['inner_cpu']:7.1f} s CPU "
                  f"(derivations + parent), {r['cpu']:7.1f} s CPU (reaped children); "
                  f"load {r['load'][0]:.1f} -> {r['load'][1]:.1f}", flush=True)
    if len(rows) == 2:
        s, p = rows
        same = s["results"] == p["results"]
        for a, c in zip(s["results"], p["results"]):
            if a != c:
                keys = sorted(k for k in set(a) | set(c) if a.get(k) != c.get(k))
                print(f"  differs: {a['name']}: {keys}: "
                      + "; ".join(f"{k}: {str(a.get(k))[:150]!r} vs {str(c.get(k))[:150]!r}"
                                  for k in keys))
        print(f"speed-up (wall): {s['wall'] / p['wall']:.2f}x; CPU ratio parallel/serial "
              f"{p['inner_cpu'] / s['inner_cpu']:.2f}; identical results (checks, files, statuses): {same}")
    longest = sorted(rows[-1]["per"].items(), key=lambda kv: -kv[1][0])[:6]
    print("longest derivations (last mode): " + ", ".join(
        f"{n} {w:.1f} s wall / {c} s CPU" for n, (w, c) in longest))


if __name__ == "__main__":
    main()
