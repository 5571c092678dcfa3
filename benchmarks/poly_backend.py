"""Polynomial back end of the differential ring: SymPy's PolyRing vs python-flint (issue 16, 7).

Both back ends in the same run, every measurement in a fresh interpreter:

* ``sympy`` -- ``IBSYM_POLY_BACKEND=sympy`` and ``SYMPY_GROUND_TYPES=gmpy``: the
  configuration of an install without python-flint (pure-Python ``PolyElement``,
  gmpy2 rationals);
* ``flint`` -- ``IBSYM_POLY_BACKEND=flint``: ``fmpq_mpoly`` rings (SymPy then also picks
  flint's ``fmpq`` as its ground type, as it does whenever python-flint is installed).

Cases:

1. the inner call ``ib.modified_equation("gd", (u v − 1)²/2, order=8)``: CPU, min of 7
   after one warm-up call (and the cold first call);
2. the whole command ``ibsym derive gd --order 8 --loss "(u*v-1)**2/2" --params "u v"
   --format json``: CPU of the child process (user + sys), min and median of 5 runs;
3. GD order 3 on the log-cosh chain L = Σ log cosh(θ_i − θ_(i+1)) + Σ θ_i²/2 (the d = 100
   case of issue 16, item 2; 4 atoms per link): derive, then verify on 4 steps --
   CPU, wall and peak memory, one run per dimension;
4. results that never use the flint ring (symbolic hyper-parameters: coefficient field
   ℚ(β, …) is SymPy's under both settings) -- only SymPy's ground type differs: generic
   heavy-ball order 5 and concrete Adam order 2 on the bilinear loss, β, ρ, ε symbolic.

Each child prints a digest of its result (``str`` of every F_j); the parent checks that
the two back ends agree.  Targets: GD h⁸ ≤ 0.02 s CPU (inner call); d = 100 another 3×
faster than the SymPy ring.

Run: python benchmarks/poly_backend.py [--dims 20,50,100] [--skip-cli] [--skip-symbolic]
(needs python-flint for the flint rows: pip install python-flint)
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BACKENDS = {"sympy": {"IBSYM_POLY_BACKEND": "sympy", "SYMPY_GROUND_TYPES": "gmpy"},
            "flint": {"IBSYM_POLY_BACKEND": "flint"}}

INNER = r"""
import hashlib, json, sys, time
import ibsym as ib
from ibsym.bea import polyring
from sympy.polys.domains import QQ
loss = ib.Loss.parse("(u*v - 1)**2/2", "u v")
c = time.process_time()
eq = ib.modified_equation("gd", loss, order=8)
cold = time.process_time() - c
times = []
for _ in range(7):
    c = time.process_time()
    eq = ib.modified_equation("gd", loss, order=8)
    times.append(time.process_time() - c)
digest = hashlib.sha1(str([list(F) for F in eq.terms]).encode()).hexdigest()[:12]
print(json.dumps({"cold": cold, "min": min(times), "median": sorted(times)[3],
                  "ring": eq._algebra.ring.backend, "ground": QQ.dtype.__name__,
                  "digest": digest}))
"""

CHAIN = r"""
import hashlib, json, resource, sys, time
import numpy as np, sympy as sp
import ibsym as ib
d = int(sys.argv[1])
ps = sp.symbols(" ".join(f"t{i}" for i in range(d)), real=True)
expr = (sum(sp.log(sp.cosh(ps[i] - ps[i + 1])) for i in range(d - 1))
        + sum(p ** 2 for p in ps) / 2)
loss = ib.Loss(expr, ps, name=f"logcosh{d}")
th0 = 0.5 + 0.4 * np.sin(np.arange(d))
c0, w0 = time.process_time(), time.perf_counter()
eq = ib.modified_equation("gd", loss, order=3, budget_seconds=None, max_atoms=4 * d + 8)
c1, w1 = time.process_time(), time.perf_counter()
rep = ib.verify(eq, th0, T=1.0, steps=[0.04, 0.02, 0.01, 0.005])
c2, w2 = time.process_time(), time.perf_counter()
R = eq._algebra.ring
exact = [[(m, int(c.numerator), int(c.denominator)) for m, c in p.terms()]
         for F in eq._raw for p in F]
digest = hashlib.sha1(str(exact).encode()).hexdigest()[:12]
print(json.dumps({"derive_cpu": c1 - c0, "derive_wall": w1 - w0, "verify_cpu": c2 - c1,
                  "slopes": [round(s, 3) for s in rep.slopes], "ring": R.backend,
                  "terms": sum(len(p) for F in eq._raw for p in F),
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "digest": digest}))
"""

SYMBOLIC = r"""
import hashlib, json, time
import ibsym as ib
from sympy.polys.domains import QQ
out = {"ground": QQ.dtype.__name__}
for name, call in [("heavy-ball generic order 5, β symbolic",
                    lambda: ib.modified_equation("heavy-ball", order=5)),
                   ("adam bilinear order 2, β ρ ε symbolic",
                    lambda: ib.modified_equation("adam", ib.losses.bilinear(), order=2))]:
    c = time.process_time()
    eq = call()
    t = time.process_time() - c
    out[name] = [t, hashlib.sha1(str(eq).encode()).hexdigest()[:12]]
print(json.dumps(out))
"""


def child_env(backend: str) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("IBSYM_POLY_BACKEND", "SYMPY_GROUND_TYPES")}
    env.update(BACKENDS[backend])
    env.update({"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                "PYTHONPATH": str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")})
    return env


def run_json(code: str, backend: str, *args: str, timeout: float = 3600) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                         env=child_env(backend), cwd=ROOT, timeout=timeout, check=False)
    if out.returncode:
        tail = out.stderr.strip().splitlines()
        return {"error": tail[-1] if tail else f"exit {out.returncode}"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def cli_cpu(backend: str, runs: int = 5) -> tuple[float, float, float]:
    """(min CPU, median CPU, min wall) of the whole derive command in fresh processes."""
    cmd = [sys.executable, "-m", "ibsym", "derive", "gd", "--order", "8", "--loss",
           "(u*v-1)**2/2", "--params", "u v", "--format", "json"]
    cpus, walls = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        w = time.perf_counter()
        subprocess.run(cmd, capture_output=True, env=child_env(backend), cwd=ROOT, check=True,
                       timeout=600)
        walls.append(time.perf_counter() - w)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return min(cpus), statistics.median(cpus), min(walls)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dims", default="20,50,100", help="chain dimensions (empty: none)")
    ap.add_argument("--skip-cli", action="store_true")
    ap.add_argument("--skip-symbolic", action="store_true")
    args = ap.parse_args()
    try:
        import flint  # noqa: F401
        backends = ["sympy", "flint"]
    except ImportError:
        print("python-flint is not installed: only the sympy rows (pip install python-flint)")
        backends = ["sympy"]

    print("1. inner call: modified_equation('gd', (u*v-1)^2/2, order=8), CPU s")
    res = {b: run_json(INNER, b) for b in backends}
    for b, r in res.items():
        print(f"   {b:5s}: min of 7 {r['min']:.4f} | median {r['median']:.4f} | cold "
              f"{r['cold']:.4f} | ring {r['ring']}, ground type {r['ground']}")
    if len(res) == 2:
        print(f"   speed-up {res['sympy']['min'] / res['flint']['min']:.1f}x | identical "
              f"terms: {res['sympy']['digest'] == res['flint']['digest']}")

    if not args.skip_cli:
        print("2. ibsym derive gd --order 8 --loss '(u*v-1)**2/2' --params 'u v' --format "
              "json (fresh processes, 5 runs)")
        cli = {b: cli_cpu(b) for b in backends}
        for b, (lo, med, wall) in cli.items():
            print(f"   {b:5s}: CPU min {lo:.3f} s, median {med:.3f} s | wall min {wall:.3f} s")
        if len(cli) == 2:
            print(f"   speed-up (min CPU) {cli['sympy'][0] / cli['flint'][0]:.2f}x")

    dims = [int(x) for x in args.dims.split(",") if x.strip()]
    if dims:
        print("3. GD order 3, log-cosh chain (derive, then verify on 4 steps), one run each")
    for d in dims:
        rows = {b: run_json(CHAIN, b, str(d)) for b in backends}
        for b, r in rows.items():
            if "error" in r:
                print(f"   d={d:3d} {b:5s}: {r['error']}")
                continue
            print(f"   d={d:3d} {b:5s}: derive {r['derive_cpu']:.2f} s CPU "
                  f"({r['derive_wall']:.2f} s wall) | verify {r['verify_cpu']:.2f} s | peak "
                  f"{r['rss_mb']:.0f} MB | {r['terms']} ring terms | slopes {r['slopes']}")
        ok = [r for r in rows.values() if "error" not in r]
        if len(ok) == 2:
            s, f = rows["sympy"], rows["flint"]
            print(f"   d={d:3d} derive speed-up {s['derive_cpu'] / f['derive_cpu']:.1f}x, "
                  f"derive+verify {(s['derive_cpu'] + s['verify_cpu']) / (f['derive_cpu'] + f['verify_cpu']):.1f}x"
                  f" | identical: {s['digest'] == f['digest']}")

    if not args.skip_symbolic:
        print("4. symbolic hyper-parameters (SymPy ring under both; only the ground type differs)")
        sym = {b: run_json(SYMBOLIC, b) for b in backends}
        names = [k for k in next(iter(sym.values())) if k != "ground"]
        for name in names:
            cells = " | ".join(f"{b} ({sym[b]['ground']}) {sym[b][name][0]:.2f} s"
                               for b in backends)
            same = len({sym[b][name][1] for b in backends}) == 1
            print(f"   {name}: {cells} | identical: {same}")


if __name__ == "__main__":
    main()
