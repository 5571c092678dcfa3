"""End-to-end CLI speed of ``ibsym derive`` against the derivation alone, same run.

Targets (issue 9, item 4): ``derive gd --order 8`` on (u*v-1)**2/2 with --at/--h, every
format (text, latex, json), under 2 s end to end; order 12 under 10 s.  Each CLI run is a
fresh process (``python -m ibsym ...``), timed by wall clock and by the child's CPU time
(``resource.getrusage``); the derivation-only time is ``modified_equation`` in this
process, best of three.  Before this work, order 8 --format json did not finish in 20
minutes (the gradient-structure analysis expanded SymPy instances of every order).

Run: python benchmarks/cli_output_speed.py [--orders 8,12] [--repeat 3]
"""
from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time

import ibsym as ib

LOSS, PARAMS, AT, H = "(u*v-1)**2/2", "u v", "u=0.5,v=1.5", "0.01"
FORMATS = (("text", ()), ("latex", ()), ("latex --standalone", ("--standalone",)),
           ("json", ()))


def derivation_seconds(order: int, repeat: int) -> float:
    loss = ib.Loss.parse(LOSS, PARAMS)
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        ib.modified_equation("gd", loss, order=order)
        best = min(best, time.perf_counter() - t0)
    return best


def cli_run(order: int, fmt: str, extra: tuple[str, ...]) -> tuple[float, float, int]:
    """(wall s, child CPU s, exit status) of one fresh ``ibsym derive`` process."""
    cmd = [sys.executable, "-m", "ibsym", "derive", "gd", "--order", str(order),
           "--loss", LOSS, "--params", PARAMS, "--at", AT, "--h", H,
           "--format", fmt.split()[0], *extra]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=600)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.returncode


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orders", default="8,12")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(f"{'order':>5} {'format':<20} {'wall s (median)':>16} {'CPU s (median)':>15} "
          f"{'derivation only s':>18}")
    for order in (int(k) for k in args.orders.split(",")):
        deriv = derivation_seconds(order, args.repeat)
        for fmt, extra in FORMATS:
            runs = sorted(cli_run(order, fmt, extra) for _ in range(args.repeat))
            wall = sorted(r[0] for r in runs)[len(runs) // 2]
            cpu = sorted(r[1] for r in runs)[len(runs) // 2]
            codes = {r[2] for r in runs}
            flag = "" if codes == {0} else f"  exit {sorted(codes)}"
            print(f"{order:>5} {fmt:<20} {wall:>16.2f} {cpu:>15.2f} {deriv:>18.3f}{flag}")


if __name__ == "__main__":
    main()
