"""Dimension-free derivations with symbolic hyper-parameters: exact-field coefficients
against the previous SymPy-expression route, same run.

The tree coefficients of ``ibsym.bea.trees.Combination`` are elements of ℚ(β, h, …)
(SymPy's polys ``FracField``) and are factored once, when read; the baseline is the
previous route -- SymPy expressions with ``factor(cancel(·))`` after every sum, multiple
and Lie product -- obtained in the same process by disabling the field (every
coefficient then takes the SymPy fallback path).  The two results are compared
coefficient by coefficient.

Targets (issue 16, item 1): heavy-ball generic order 5 < 1 s, order 8 < 30 s; Nesterov
and EMA alike.  Last line: generic GD (plain rational coefficients) at the highest order
through both routes, min of 3.

Run: python benchmarks/exact_coefficients.py [--max-order 8] [--baseline-order 4]
"""
from __future__ import annotations

import argparse
import time

import ibsym as ib
from ibsym.bea import trees


def derive(opt: str, k: int):
    t = time.process_time()
    eq = ib.modified_equation(opt, order=k, budget_seconds=None, max_terms=None)
    return time.process_time() - t, eq


def old_route(opt: str, k: int):
    saved = trees._field_for
    trees._field_for = lambda coeffs: None
    try:
        return derive(opt, k)
    finally:
        trees._field_for = saved


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-order", type=int, default=8)
    ap.add_argument("--baseline-order", type=int, default=4)
    args = ap.parse_args()
    derive("heavy-ball", 1)  # warm SymPy's caches once
    for opt in ("heavy-ball", "nesterov", "heavy-ball-ema"):
        for k in range(1, args.max_order + 1):
            t_new, eq = derive(opt, k)
            line = f"{opt:15s} generic order {k}: exact field {t_new:7.2f} s CPU"
            if k <= args.baseline_order:
                t_old, ref = old_route(opt, k)
                same = all(dict(a.terms.items()) == dict(b.terms.items())
                           for a, b in zip(eq._raw, ref._raw))
                line += f" | SymPy factor(cancel) route {t_old:7.2f} s ({t_old / t_new:5.1f}x)" \
                        f" identical: {same}"
            print(line, flush=True)
    # plain rational coefficients (GD): the field has no generators; both routes, order 8
    # (a regression check: the field route must not cost more than the SymPy route here)
    for _ in range(2):  # warm both routes, then min of 3
        derive("gd", args.max_order), old_route("gd", args.max_order)
    t_new = min(derive("gd", args.max_order)[0] for _ in range(3))
    t_old = min(old_route("gd", args.max_order)[0] for _ in range(3))
    print(f"{'gd':15s} generic order {args.max_order}: exact field {t_new:7.2f} s CPU | SymPy "
          f"route {t_old:7.2f} s ({t_old / t_new:5.2f}x; min of 3, plain rationals)", flush=True)


if __name__ == "__main__":
    main()
