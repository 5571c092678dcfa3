"""Start-up cost: ``import ibsym`` and ``ibsym --help`` in fresh processes, next to
same-run baselines (issue 16, item 5: ``import ibsym`` < 0.3 s, ``--help`` < 0.5 s).

Each command runs as a new interpreter ``--runs`` times after one warm-up; CPU is the
child's user+sys time (``resource.getrusage``), wall the elapsed time; min / median.

Baselines, same run:
  * ``python -c pass`` -- the interpreter alone;
  * the eager import the package used to do (``ibsym.bea.procedure``, ``ibsym.numeric.verify``,
    ``ibsym.limits.implicit``: SymPy, NumPy, SciPy);
  * ``import sympy`` alone -- what any derivation pays at its first ``ib.modified_equation``;
  * the full parser's help (every subcommand module imported), as ``ibsym --help`` was.

Run: python benchmarks/startup.py [--runs 7]
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time

PY = sys.executable
IBSYM = shutil.which("ibsym", path=os.path.dirname(PY)) or "ibsym"

CASES = [
    ("python -c pass", [PY, "-c", "pass"]),
    ("import ibsym", [PY, "-c", "import ibsym"]),
    ("import sympy (baseline)", [PY, "-c", "import sympy"]),
    ("eager import (old `import ibsym`)",
     [PY, "-c", "import ibsym.bea.procedure, ibsym.bea.componentwise, ibsym.numeric.verify, "
                "ibsym.limits.implicit"]),
    ("import ibsym; ib.modified_equation", [PY, "-c", "import ibsym; ibsym.modified_equation"]),
    ("ibsym --help", [IBSYM, "--help"]),
    ("full parser help (old --help)",
     [PY, "-c", "from ibsym.cli import build_parser; build_parser().format_help()"]),
]


def run(cmd: list[str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    print(f"{'command':40s} {'CPU min / median':>20s} {'wall min / median':>20s}")
    for label, cmd in CASES:
        run(cmd)  # warm-up (page cache, .pyc)
        cpu, wall = zip(*(run(cmd) for _ in range(args.runs)))
        print(f"{label:40s} {min(cpu):8.3f} / {statistics.median(cpu):6.3f} s "
              f"{min(wall):8.3f} / {statistics.median(wall):6.3f} s", flush=True)


if __name__ == "__main__":
    main()
