"""Verification speed: ibsym.numeric.verify against plain sympy.lambdify + solve_ivp, same run.

Both compute the same sweep (4 step sizes × orders 0..k, DOP853, identical tolerances,
the optimizer's own iterates from its true initial state, the same derived initial value
of the flow, max error on [T/2, T]) from the same derived field.  The baseline lambdifies
each truncated field with h substituted and integrates it with a Python right-hand side,
one solve_ivp per (h, order); ibsym compiles all orders once (RingEvaluator: a monomial
trie over the exact ring elements) and integrates the whole stack in one batched
solve_ivp call.  Each side is warmed up once and timed as the best of seven runs.

Target (issues 2 and 3): ≥ 5× faster for the bilinear loss and for a 50-parameter loss,
and the same speed-up for optimizers with memory.

Run: python benchmarks/verify_speed.py
"""
from __future__ import annotations

import time

import numpy as np
import sympy as sp
from scipy.integrate import solve_ivp

import ibsym as ib
from ibsym.numeric.kernels import iterate

STEPS = [0.04, 0.02, 0.01, 0.005]


def baseline(eq, theta0, T, steps, rtol, shift):
    h = sp.Symbol("h", positive=True)
    subs = eq.substitute_hyper()
    errors = np.zeros((eq.order + 1, len(steps)))
    for s, hv in enumerate(steps):
        n = int(round(T / hv))
        its = iterate(eq.optimizer, eq.loss, theta0, hv, n)
        t = np.arange(n + 1) * hv
        for k in range(eq.order + 1):
            start = np.asarray(theta0, float) + sum((hv ** j * shift[j] for j in range(1, k + 1)),
                                                    np.zeros(eq.loss.dim))
            field = sum((eq.terms[j] * h ** j for j in range(k + 1)), sp.zeros(eq.loss.dim, 1))
            f = sp.lambdify(list(eq.params), list(field.xreplace(subs).subs(h, hv)), "numpy")
            sol = solve_ivp(lambda _t, y: np.array(f(*y), float), (0, T), start,
                            method="DOP853", t_eval=t, rtol=rtol, atol=rtol)
            mask = t >= T / 2 - 1e-12
            errors[k, s] = np.max(np.linalg.norm(sol.y.T[mask] - its[mask], axis=1))
    return errors


def best(fn, repeat=3):
    fn()  # warm-up (imports, caches)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def run(name, eq, theta0, T=1.0, steps=STEPS, repeat=7):
    t_ib, rep = best(lambda: ib.verify(eq, theta0, T=T, steps=steps), repeat)
    shift = np.array(rep.initial_shift)
    t_base, err = best(lambda: baseline(eq, theta0, T, steps, rep.rtol, shift), repeat)
    agree = np.max(np.abs(np.log10(err) - np.log10(np.array(rep.errors))))
    print(f"{name}: ibsym.numeric.verify {t_ib:.3f} s | lambdify + solve_ivp (Python RHS) {t_base:.3f} s"
          f" | speed-up {t_base / t_ib:.1f}x | slopes {[round(s, 3) for s in rep.slopes]} | "
          f"max |log10 error difference| {agree:.1e}", flush=True)


def main() -> None:
    bil = ib.losses.bilinear()
    run("gd, bilinear (a*b-1)^2/2, orders 0-3", ib.modified_equation("gd", bil, order=3),
        [0.3, 1.7])
    run("heavy-ball β=0.5, bilinear, orders 0-2",
        ib.modified_equation("heavy-ball", bil, order=2, hyper={"beta": 0.5}), [0.3, 1.7],
        steps=[0.02, 0.01, 0.005, 0.0025])
    run("adam (0.5, 0.6, 0.2), bilinear, orders 0-2",
        ib.modified_equation("adam", bil, order=2, hyper={"beta": 0.5, "rho": 0.6, "eps": 0.2}),
        [0.3, 1.7], T=0.5, steps=[0.01, 0.005, 0.0025, 0.00125])
    n = 50
    ps = sp.symbols(" ".join(f"t{i}" for i in range(n)), real=True)
    expr = (sum((p ** 2 - 1) ** 2 / 4 for p in ps) + sum(ps[i] * ps[i + 1] for i in range(n - 1)) / 4
            + sum(sp.cos(p) for p in ps) / 10)
    big = ib.Loss(expr, ps, name="quartic50")
    th0 = 0.5 + 0.4 * np.sin(np.arange(n))
    run("gd, 50 parameters (quartic + coupling + cos), orders 0-3",
        ib.modified_equation("gd", big, order=3), th0, repeat=1)
    run("heavy-ball β=0.5, 50 parameters, orders 0-1",
        ib.modified_equation("heavy-ball", big, order=1, hyper={"beta": 0.5}), th0,
        steps=[0.02, 0.01, 0.005, 0.0025], repeat=1)


if __name__ == "__main__":
    main()
