"""Verification speed: ibsym.verify against plain sympy.lambdify + solve_ivp, same run.

Both compute the same sweep (4 step sizes × orders 0-3, T = 1, DOP853, identical
tolerances, GD iterates, max error on [T/2, T]) from the same derived field.  The baseline
lambdifies each truncated field with h substituted and integrates it with a Python
right-hand side, one solve_ivp per (h, order); ibsym compiles all orders once (with CSE)
and integrates the whole stack in one batched solve_ivp call.

Target (issue 2): ≥ 5× faster for the bilinear loss and for a 50-parameter loss.

Run: python benchmarks/verify_speed.py
"""
from __future__ import annotations

import time

import numpy as np
import sympy as sp
from scipy.integrate import solve_ivp

import ibsym as ib

STEPS = [0.04, 0.02, 0.01, 0.005]


def baseline(eq, theta0, T, rtol):
    h = sp.Symbol("h", positive=True)
    grad = sp.lambdify(list(eq.params), list(eq.loss.gradient()), "numpy")
    errors = np.zeros((eq.order + 1, len(STEPS)))
    for s, hv in enumerate(STEPS):
        n = int(round(T / hv))
        th = np.array(theta0, float)
        its = [th]
        for _ in range(n):
            th = th - hv * np.array(grad(*th), float)
            its.append(th)
        its = np.array(its)
        t = np.arange(n + 1) * hv
        for k in range(eq.order + 1):
            field = sum((eq.terms[j] * h ** j for j in range(k + 1)), sp.zeros(eq.loss.dim, 1))
            f = sp.lambdify(list(eq.params), list(field.subs(h, hv)), "numpy")
            sol = solve_ivp(lambda _t, y: np.array(f(*y), float), (0, T), its[0], method="DOP853",
                            t_eval=t, rtol=rtol, atol=rtol)
            mask = t >= T / 2 - 1e-12
            errors[k, s] = np.max(np.linalg.norm(sol.y.T[mask] - its[mask], axis=1))
    return errors


def run(name, loss, theta0):
    eq = ib.modified_equation("gd", loss, order=3)
    t0 = time.perf_counter()
    rep = ib.verify(eq, theta0, T=1.0, steps=STEPS)
    t_ib = time.perf_counter() - t0
    t0 = time.perf_counter()
    err = baseline(eq, theta0, 1.0, rep.rtol)
    t_base = time.perf_counter() - t0
    agree = np.max(np.abs(np.log10(err) - np.log10(np.array(rep.errors))))
    print(f"{name}: ibsym.verify {t_ib:.2f} s | lambdify + solve_ivp (Python RHS) {t_base:.2f} s | "
          f"speed-up {t_base / t_ib:.1f}x | slopes {[round(s, 3) for s in rep.slopes]} | "
          f"max |log10 error difference| {agree:.1e}")


def main() -> None:
    run("bilinear (a*b-1)^2/2", ib.losses.bilinear(), [0.3, 1.7])
    n = 50
    ps = sp.symbols(" ".join(f"t{i}" for i in range(n)), real=True)
    expr = (sum((p ** 2 - 1) ** 2 / 4 for p in ps) + sum(ps[i] * ps[i + 1] for i in range(n - 1)) / 4
            + sum(sp.cos(p) for p in ps) / 10)
    run("50 parameters, quartic + coupling + cos", ib.Loss(expr, ps, name="quartic50"),
        0.5 + 0.4 * np.sin(np.arange(n)))


if __name__ == "__main__":
    main()
