"""Verification to h^8 with the automatically chosen step ladder, next to the fixed
ladder the verifier used before (0.04, 0.02, 0.01, 0.005) and the hand-picked coarse one
(0.2 ... 0.025), same run (issue 16, item 4: orders up to 8 verify on the bilinear and a
transcendental loss by default).

Prints the fitted slopes (n/a: not measurable -- fewer than three errors above the
float64 floor), the verdict and the CPU time of ``verify`` per ladder, then the whole
command ``ibsym verify gd --order 8`` in a fresh process (derivation included).

Run: python benchmarks/verify_ladder.py
"""
from __future__ import annotations

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


if __name__ == "__main__":
    main()
