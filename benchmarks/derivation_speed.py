"""Derivation speed: ibsym's BEA against a plain SymPy Lie-derivative recursion, same run.

Targets (issue 2): concrete GD field on (u*v-1)**2/2 to h^8 (exact rationals, expanded)
in ≤ 0.2 s CPU; generic (dimension-free) GD form to order 6 in < 10 s.  Issue 16 item 8:
the h^8 case stays ≥ 100x faster than the plain recursion (the ratio is printed).  Also
printed: the 50-parameter GD order-3 derivation (the loss of verify_speed.py).

Run: python benchmarks/derivation_speed.py
"""
from __future__ import annotations

import time

import sympy as sp
from sympy.external.gmpy import GROUND_TYPES

import ibsym as ib
from ibsym.bea import polyring


def plain_lie_recursion(f, params, order):
    """Textbook route in plain SymPy: the same order-by-order recursion as ibsym
    (memoized Lie-series coefficients g_{m,n}, F_k = D_{k+1} - sum g_{m,k+1-m}/m!), on
    expanded SymPy expressions instead of the differential ring."""
    F = []
    memo = {}

    def lie(Fa, G):
        return (G.jacobian(params) * Fa).applyfunc(sp.expand)

    def g(m, n):
        if m == 1:
            return F[n]
        if (m, n) not in memo:
            acc = sp.zeros(len(params), 1)
            for a in range(n + 1):
                acc += lie(F[a], g(m - 1, n - a))
            memo[(m, n)] = acc.applyfunc(sp.expand)
        return memo[(m, n)]

    for k in range(order + 1):
        acc = sp.Matrix(f) if k == 0 else sp.zeros(len(params), 1)
        for m in range(2, k + 2):
            acc -= g(m, k + 1 - m) / sp.factorial(m)
        F.append(acc.applyfunc(sp.expand))
    return F


def cpu(fn, *args, repeat=3):
    best = float("inf")
    out = None
    for _ in range(repeat):
        t = time.process_time()
        out = fn(*args)
        best = min(best, time.process_time() - t)
    return best, out


def main() -> None:
    loss = ib.Loss.parse("(u*v - 1)**2/2", "u v")
    t_ib, eq = cpu(lambda: ib.modified_equation("gd", loss, order=8))
    t_plain, ref = cpu(lambda: plain_lie_recursion(-loss.gradient(), loss.params, 8), repeat=1)
    same = all(sp.expand(x - y) == 0 for j in range(9) for x, y in zip(eq.terms[j], ref[j]))
    print(f"polynomial back end: {polyring.backend()}; SymPy ground types: {GROUND_TYPES}")
    ratio = t_plain / t_ib
    print(f"concrete GD, (u*v-1)^2/2, order 8: ibsym {t_ib:.4f} s CPU | plain SymPy Lie recursion "
          f"{t_plain:.2f} s | ratio {ratio:.0f}x (lead >= 100x: {'met' if ratio >= 100 else 'NOT met'})"
          f" | identical results: {same}")
    for k in (4, 6, 8):
        t_g, g = cpu(lambda: ib.modified_equation("gd", order=k))
        print(f"generic GD, order {k}: {t_g:.3f} s CPU ({len(g.terms[k].terms)} trees in F_{k})")
    t_tr, _ = cpu(lambda: ib.modified_equation("gd", ib.losses.log_cosh_regression(), order=6),
                  repeat=1)
    print(f"concrete GD, log cosh(ab-1) + (1-cos a)/2, order 6: {t_tr:.2f} s CPU")
    # optimizers with memory (issue 3 targets: Adam order 1 generic < 30 s, order 2 on a
    # 2-parameter concrete loss < 60 s); hyper-parameters symbolic throughout
    t, ce = cpu(lambda: ib.componentwise_equation("adam", order=1), repeat=1)
    print(f"Adam, generic component-wise form, order 1: {t:.2f} s CPU "
          f"(one-norm coefficient {ce.one_norm.coefficient})")
    t, _ = cpu(lambda: ib.componentwise_equation("adam", order=2), repeat=1)
    print(f"Adam, generic component-wise form, order 2 (new): {t:.2f} s CPU")
    t, _ = cpu(lambda: ib.modified_equation("adam", ib.losses.bilinear(), order=2), repeat=1)
    print(f"Adam, concrete (a*b-1)^2/2, order 2, symbolic β, ρ, ε: {t:.2f} s CPU")
    hyp = {"beta": 0.9, "rho": 0.999, "eps": 1e-8}
    for name, text in [("(a*b-1)^2/2", "(a*b - 1)^2/2"),
                       ("log cosh(ab-1) + (1-cos a)/2", "log(cosh(a*b - 1)) + (1 - cos(a))/2"),
                       ("sin(a)cos(b) + exp(-ab)/2 + (a^2+b^2)/4",
                        "sin(a)*cos(b) + exp(-a*b)/2 + (a^2 + b^2)/4")]:
        loss = ib.Loss.parse(text, "a b")
        t, _ = cpu(lambda: ib.modified_equation("adam", loss, order=2, hyper=hyp), repeat=1)
        print(f"Adam, concrete {name}, order 2, β=0.9, ρ=0.999, ε=1e-8: {t:.2f} s CPU")
    t, _ = cpu(lambda: ib.modified_equation("heavy-ball", order=4), repeat=1)
    print(f"heavy-ball, generic (∇L notation), order 4, symbolic β: {t:.2f} s CPU")
    # the 50-parameter loss of verify_speed.py (quartic + nearest-neighbour coupling + cos)
    ps = sp.symbols(" ".join(f"t{i}" for i in range(50)), real=True)
    expr = (sum((p ** 2 - 1) ** 2 / 4 for p in ps) + sum(ps[i] * ps[i + 1] for i in range(49)) / 4
            + sum(sp.cos(p) for p in ps) / 10)
    big = ib.Loss(expr, ps, name="quartic50")
    t, eq50 = cpu(lambda: ib.modified_equation("gd", big, order=3), repeat=1)
    print(f"concrete GD, 50 parameters (quartic + coupling + cos), order 3: {t:.2f} s CPU "
          f"(derivation; terms stay ring elements)")


if __name__ == "__main__":
    main()
