"""Dimension scaling of a concrete derivation: lazy SymPy conversion (issue 16, item 2).

GD to order 3 on the log-cosh chain  L = Σ_i log cosh(θ_i − θ_(i+1)) + Σ_i θ_i²/2  (four
ring atoms per link: log cosh, sinh, cosh, 1/cosh), the whole ``modified_equation`` +
``verify`` path, for d = 2, 20, 50, 100.  Each case runs in a fresh interpreter and
reports CPU and wall seconds of the derivation and of the verification and the peak
resident memory of the process (``resource.getrusage``: ``ru_maxrss``).

Three routes, all in the same run:

* ``lazy`` -- this tree: the terms stay ring elements (F_j becomes SymPy on first access);
* ``eager`` -- this tree with every F_j converted right after the derivation (what
  printing or ``.terms`` costs, and the route before lazy conversion otherwise);
* ``before`` -- the code of commit ``BASELINE`` (before this work: eager conversion,
  the old directional derivative, no ``max_atoms`` knob -- its hard-coded budget of 200
  atoms is lifted in the child for d = 100), extracted with ``git archive`` into a
  temporary folder.

Targets: d = 50 < 15 s, d = 100 < 40 s and < 1 GB peak (lazy route, derive + verify).

Run: python benchmarks/lazy_terms.py [--dims 2,20,50,100] [--routes lazy,eager,before]
[--backend sympy|flint]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: the commit before lazy conversion and the max_atoms knob
BASELINE = "9bda2abf36ebdfb9cea367de65638f4338f33fb7"

CHILD = r"""
import json, resource, sys, time
import numpy as np, sympy as sp
import ibsym as ib
d, route = int(sys.argv[1]), sys.argv[2]
ps = sp.symbols(" ".join(f"t{i}" for i in range(d)), real=True)
expr = (sum(sp.log(sp.cosh(ps[i] - ps[i + 1])) for i in range(d - 1))
        + sum(p ** 2 for p in ps) / 2)
loss = ib.Loss(expr, ps, name=f"logcosh{d}")
th0 = 0.5 + 0.4 * np.sin(np.arange(d))
atoms = 4 * d + 8
kw = {}
if route == "before":
    from ibsym.bea.diffring import DiffRing
    DiffRing.from_expressions.__func__.__kwdefaults__["max_atoms"] = atoms
else:
    kw["max_atoms"] = atoms
c0, w0 = time.process_time(), time.perf_counter()
eq = ib.modified_equation("gd", loss, order=3, budget_seconds=None, **kw)
if route == "eager":
    for F in eq.terms:
        pass
c1, w1 = time.process_time(), time.perf_counter()
rep = ib.verify(eq, th0, T=1.0, steps=[0.04, 0.02, 0.01, 0.005])
c2, w2 = time.process_time(), time.perf_counter()
print(json.dumps({"derive_cpu": c1 - c0, "derive_wall": w1 - w0, "verify_cpu": c2 - c1,
                  "verify_wall": w2 - w1, "slopes": [round(s, 3) for s in rep.slopes],
                  "passed": bool(rep.passed),
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(d: int, route: str, tree: Path, backend: str = "sympy") -> dict:
    env = {"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1",
           "OPENBLAS_NUM_THREADS": "1", "IBSYM_POLY_BACKEND": backend}
    out = subprocess.run([sys.executable, "-c", CHILD, str(d), route], capture_output=True,
                         text=True, env=env, cwd=tree, check=False)
    if out.returncode:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr else "failed"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dims", default="2,20,50,100")
    ap.add_argument("--routes", default="lazy,eager,before")
    ap.add_argument("--backend", default="sympy", choices=("sympy", "flint"),
                    help="polynomial ring of this tree's routes (IBSYM_POLY_BACKEND; the "
                         "'before' commit has only the SymPy ring)")
    args = ap.parse_args()
    dims = [int(x) for x in args.dims.split(",")]
    routes = args.routes.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"lazy": ROOT, "eager": ROOT}
        if "before" in routes:
            old = Path(tmp) / "before"
            old.mkdir()
            archive = subprocess.run(["git", "-C", str(ROOT), "archive", BASELINE, "ibsym"],
                                     capture_output=True, check=True).stdout
            subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
            trees["before"] = old
        print("GD order 3, log-cosh chain, modified_equation + verify (fresh process each; "
              f"{args.backend} polynomial ring)")
        for d in dims:
            for route in routes:
                r = run(d, route, trees[route], "sympy" if route == "before" else args.backend)
                if "error" in r:
                    print(f"d={d:4d} {route:6s}: {r['error']}", flush=True)
                    continue
                total_cpu = r["derive_cpu"] + r["verify_cpu"]
                total_wall = r["derive_wall"] + r["verify_wall"]
                print(f"d={d:4d} {route:6s}: derive {r['derive_cpu']:7.2f} s CPU "
                      f"({r['derive_wall']:7.2f} wall) | verify {r['verify_cpu']:6.2f} s CPU "
                      f"({r['verify_wall']:6.2f} wall) | total {total_cpu:7.2f} s CPU "
                      f"({total_wall:7.2f} wall) | peak RSS {r['rss_mb']:7.0f} MB | "
                      f"slopes {r['slopes']} {'PASSED' if r['passed'] else 'FAILED'}",
                      flush=True)


if __name__ == "__main__":
    main()
