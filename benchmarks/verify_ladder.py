"""Verification to h^8 with the automatically chosen step ladder, next to the fixed
ladder the verifier used before (0.04, 0.02, 0.01, 0.005) and the hand-picked coarse one
(0.2 ... 0.025), same run (issue 16, item 4: orders up to 8 verify on the bilinear and a
transcendental loss by default).

Prints the fitted slopes (n/a: not measurable -- fewer than three errors above the
float64 floor), the verdict and the CPU time of ``verify`` per ladder, then the whole
command ``ibsym verify gd --order 8`` in a fresh process (derivation included).

``--shift``: the numeric initial value of the flow of heavy ball (β = 1/2, bilinear) at
orders 4, 6, 8 (``ibsym.numeric.jets.initial_shift``), each in a fresh process, next to
the enumeration of every index tuple in ``itertools.product(active, repeat=m)`` it used
before (the reference of tests/numeric/test_jets.py, same run, stopped after
``--cap`` seconds of wall time).  ``--memory``: heavy ball and Nesterov (β = 1/2) at
order 8 verified with precision="auto" on both losses (about a minute CPU each).

Run: python benchmarks/verify_ladder.py [--shift [--cap S]] [--memory]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time

import ibsym as ib
from ibsym.core.errors import InputError

LOSSES = [("(a*b - 1)**2/2", "bilinear"), ("exp(a*b)/4 + (a - b)**2/2", "transcendental")]
LADDERS = [("automatic", None), ("old default", (0.04, 0.02, 0.01, 0.005)),
           ("coarse by hand", (0.2, 0.1, 0.05, 0.025))]


def main() -> None:
    for text, label in LOSSES:
        t = time.process_time()
        eq = ib.modified_equation("gd", ib.Loss.parse(text, "a b"), order=8)
        print(f"GD order 8 on {text} ({label}): derived in {time.process_time() - t:.2f} s CPU")
        for name, steps in LADDERS:
            t = time.process_time()
            rep = ib.verify(eq, [0.3, 1.7], steps=steps)
            dt = time.process_time() - t
            sl = " ".join(f"{s:.2f}" if s is not None else "n/a" for s in rep.slopes)
            hs = ", ".join(f"{h:.4g}" for h in rep.step_sizes)
            print(f"  {name:15s} h = [{hs}]: slopes {sl} -> "
                  f"{'PASSED' if rep.passed else 'FAILED'} ({dt:.2f} s CPU)")
    extended()
    exe = shutil.which("ibsym", path=os.path.dirname(sys.executable)) or "ibsym"
    for extra in ([], ["--steps", "0.04,0.02,0.01,0.005"]):
        cmd = [exe, "verify", "gd", "--loss", "(a*b-1)**2/2", "--params", "a b",
               "--init", "a=0.3,b=1.7", "--order", "8", *extra]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        out = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        verdict = "PASSED" if "Verification PASSED" in out.stdout else "FAILED"
        print(f"ibsym verify gd --order 8 {' '.join(extra) or '(automatic ladder)'}: exit "
              f"{out.returncode}, {verdict}, {cpu:.2f} s CPU, {wall:.2f} s wall")


def extended() -> None:
    """Extended precision (mpmath iterates, fixed-point flows) against float64, same run:
    where float64 has no ladder (T = 0.2) or fits the floor (heavy ball order 6)."""
    cases = [("gd", {}, 8, 0.2), ("heavy-ball", {"beta": 0.5}, 6, 1.0)]
    for opt, hyper, order, T in cases:
        eq = ib.modified_equation(opt, ib.Loss.parse("(a*b - 1)**2/2", "a b"), order=order,
                                  hyper=hyper)
        for precision in ("float64", "auto"):
            t, w = time.process_time(), time.perf_counter()
            try:
                rep = ib.verify(eq, [0.3, 1.7], T=T, precision=precision)
                sl = " ".join(f"{s:.2f}" if s is not None else "n/a" for s in rep.slopes)
                res = (f"slopes {sl} -> {'PASSED' if rep.passed else 'FAILED'} "
                       f"[{rep.precision}]")
            except InputError as exc:
                res = f"refused: {str(exc)[:70]}..."
            print(f"{opt} order {order}, T={T:g}, precision={precision}: {res} "
                  f"({time.process_time() - t:.2f} s CPU, {time.perf_counter() - w:.2f} s wall)")


def _shift_child(order: int, route: str) -> None:
    """In a fresh process: time initial_shift at one order; print JSON."""
    import importlib.util

    from ibsym.numeric import jets
    if route == "before":
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "tests",
                            "numeric", "test_jets.py")
        spec = importlib.util.spec_from_file_location("_test_jets", path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        jets._Jet.taylor = mod._reference_taylor
    eq = ib.modified_equation("heavy-ball", ib.Loss.parse(LOSSES[0][0], "a b"), order=order,
                              hyper={"beta": 0.5})
    c, w = time.process_time(), time.perf_counter()
    s = jets.initial_shift(eq, [0.3, 1.7])
    print(json.dumps({"cpu": time.process_time() - c, "wall": time.perf_counter() - w,
                      "s_top": [float(x) for x in s[-1]]}))


def shift(cap: float) -> None:
    """initial_shift at orders 4, 6, 8: the old enumeration (capped) and the new one."""
    for order in (4, 6, 8):
        row = {}
        for route in ("before", "after"):
            cmd = [sys.executable, os.path.abspath(__file__), "--shift-child", str(order), route]
            try:
                out = subprocess.run(cmd, capture_output=True, text=True, timeout=cap)
                r = json.loads(out.stdout.strip().splitlines()[-1])
                row[route] = (f"{r['cpu']:.2f} s CPU, {r['wall']:.2f} s wall, "
                              f"s_{order} = [{r['s_top'][0]:.6e}, {r['s_top'][1]:.6e}]")
            except subprocess.TimeoutExpired:
                row[route] = f"stopped after {cap:g} s wall"
        print(f"heavy ball order {order}, initial_shift: before {row['before']} | "
              f"after {row['after']}")


def memory() -> None:
    """Heavy ball and Nesterov at order 8, precision='auto', on both losses."""
    for opt in ("heavy-ball", "nesterov"):
        for text, label in LOSSES:
            t, w = time.process_time(), time.perf_counter()
            eq = ib.modified_equation(opt, ib.Loss.parse(text, "a b"), order=8,
                                      hyper={"beta": 0.5})
            rep = ib.verify(eq, [0.3, 1.7])
            sl = " ".join(f"{s:.2f}" if s is not None else "n/a" for s in rep.slopes)
            print(f"{opt} order 8 on {label}: slopes {sl} -> "
                  f"{'PASSED' if rep.passed else 'FAILED'} [{rep.precision}] "
                  f"({time.process_time() - t:.1f} s CPU, {time.perf_counter() - w:.1f} s wall, "
                  "derivation included)")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--shift", action="store_true")
    ap.add_argument("--cap", type=float, default=120.0)
    ap.add_argument("--memory", action="store_true")
    ap.add_argument("--shift-child", nargs=2, metavar=("ORDER", "ROUTE"))
    a = ap.parse_args()
    if a.shift_child:
        _shift_child(int(a.shift_child[0]), a.shift_child[1])
    elif a.shift or a.memory:
        if a.shift:
            shift(a.cap)
        if a.memory:
            memory()
    else:
        main()
