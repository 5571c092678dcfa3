"""Steepest descent with respect to an ℓ_p norm, and its step-size dependent limit.

The step is Δw = argmin_v ⟨∇L, v⟩ + ‖v‖_p²/(2h).  Stationarity says ∇(½‖·‖_p²)(v) = −h∇L, and
the inverse of ∇(½‖·‖_p²) is ∇(½‖·‖_q²) with 1/p + 1/q = 1 (Fenchel duality), so

    Δw = −h ∇_g(½‖g‖_q²) = −h ‖g‖_q^{2−q} sign(g)|g|^{q−1}.

:func:`steepest_step` differentiates ½‖g‖_q² with SymPy and checks the stationarity condition;
:func:`steepest_descent` runs that step.  On regression the rule has no affine invariant
(:func:`~ibsym.limits.invariants.derive_invariant` reports it): the limit is *not* the
min-‖·‖_p interpolant and it moves with h (Gunasekar et al. 2018) -- :func:`step_size_table`
measures it beside the min-norm interpolant solved by CVXPY.

Examples
--------
>>> steepest_step(sp.Rational(4, 3), 2)[0]
-g_1**3*h/sqrt(g_1**4 + g_2**4)
"""
from __future__ import annotations

import random
from typing import Any, Sequence

import numpy as np
import sympy as sp

from ibsym.bea.optimizers import Optimizer
from ibsym.core.errors import InputError
from ibsym.core.values import as_number
from ibsym.limits.invariants import run_optimizer
from ibsym.limits.problems import RegressionProblem
from ibsym.limits.tracing import vabs, vsign, vsum

__all__ = ["dual_exponent", "steepest_step", "steepest_descent", "min_pnorm_interpolant",
           "step_size_table"]

H = sp.Symbol("h", positive=True)


def dual_exponent(p: Any) -> sp.Expr:
    """q with 1/p + 1/q = 1 (p > 1)."""
    p = as_number(p, what="p", rational=True)
    if not (p.is_real and p > 1 and p.is_finite):
        raise InputError(f"ℓ_p steepest descent needs 1 < p < ∞, got p = {p}")
    return sp.nsimplify(p / (p - 1))


def steepest_step(p: Any, d: int = 2) -> sp.Matrix:
    """Δw = −h∇_g(½‖g‖_q²) for d coordinates (g positive symbols: the sign factor is sign(g_i)).

    The stationarity of ⟨g, v⟩ + ‖v‖_p²/(2h) at v = Δw is checked at random points.
    """
    q = dual_exponent(p)
    p = as_number(p, what="p", rational=True)
    g = sp.symbols(f"g_1:{d + 1}", positive=True)
    step = sp.Matrix([-H * sp.diff(sp.Rational(1, 2) * sp.Add(*[gi ** q for gi in g]) ** (2 / q), gi)
                      for gi in g]).applyfunc(sp.simplify)
    v = sp.symbols(f"v_1:{d + 1}", negative=True)
    primal = sp.Rational(1, 2) * sp.Add(*[(-vi) ** p for vi in v]) ** (2 / p)
    stat = [gi + sp.diff(primal, vi) / H for gi, vi in zip(g, v)]
    rng = random.Random(1)
    for _ in range(3):
        at = {gi: sp.Rational(rng.randint(1, 20), 7) for gi in g}
        at[H] = sp.Rational(rng.randint(1, 9), 10)
        vals = {vi: step[i].subs(at) for i, vi in enumerate(v)}
        if any(abs(sp.N(s.subs(at).subs(vals), 30)) > 1e-20 for s in stat):
            raise AssertionError("steepest-descent step fails its stationarity condition")
    return step


def steepest_descent(p: Any) -> Optimizer:
    """The ℓ_p steepest-descent optimizer Δw = −h‖g‖_q^{2−q} sign(g)|g|^{q−1}."""
    q = dual_exponent(p)
    qf = float(q)

    def update(theta, state, grad, h, hp):
        g = grad(theta)
        a = vabs(g)
        if isinstance(a, np.ndarray):
            nq = float(np.sum(a ** qf) ** (1 / qf))
            if nq == 0.0:
                return theta, {}
            return theta - h * nq ** (2 - qf) * np.sign(g) * a ** (qf - 1), {}
        nq = vsum(a ** q) ** (1 / q)
        return theta - h * nq ** (2 - q) * vsign(g) * a ** (q - 1), {}

    return Optimizer(f"steepest-l{str(as_number(p, what='p', rational=True)).replace('/', '_')}",
                     update, rule=f"θ_{{n+1}} = θ_n − h‖g‖_q^(2−q) sign(g)|g|^(q−1), q = {q} "
                                  f"(steepest descent in ℓ_{as_number(p, what='p', rational=True)})",
                     rule_latex=r"\theta_{n+1} = \theta_n - h\|g\|_q^{2-q}\operatorname{sign}(g)|g|^{q-1}")


def min_pnorm_interpolant(problem: RegressionProblem, p: Any, w0: Sequence[float] | None = None) -> np.ndarray:
    """argmin ‖w − w0‖_p s.t. Xw = y (p ≥ 1), by CVXPY (Clarabel)."""
    import cvxpy as cp
    pf = float(as_number(p, what="p", rational=True))
    if not pf >= 1:
        raise InputError(f"min-‖·‖_p interpolant needs p ≥ 1, got {p}")
    w0 = np.zeros(problem.d) if w0 is None else np.asarray(w0, float)
    w = cp.Variable(problem.d)
    # Σ|w_i − w0_i|^p (power cones) is solved ~20x more accurately by Clarabel than pnorm
    obj = cp.norm1(w - w0) if pf == 1 else cp.sum(cp.power(cp.abs(w - w0), pf))
    prob = cp.Problem(cp.Minimize(obj), [problem.X @ w == problem.y])
    prob.solve(solver=cp.CLARABEL, tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)
    if prob.status != cp.OPTIMAL:
        raise InputError(f"CVXPY could not solve the min-ℓ_{p} interpolation problem ({prob.status})")
    return np.asarray(w.value)


def step_size_table(p: Any, problem: RegressionProblem, etas: Sequence[float],
                    w0: Sequence[float] | None = None, *, max_steps: int = 400_000,
                    tol: float = 1e-10) -> dict[str, Any]:
    """The limit of ℓ_p steepest descent for each step size, beside the min-‖·‖_p interpolant."""
    opt = steepest_descent(p)
    w0 = np.zeros(problem.d) if w0 is None else np.asarray(w0, float)
    pf = float(as_number(p, what="p", rational=True))
    mn = min_pnorm_interpolant(problem, p, w0)
    rows = []
    for eta in etas:
        w, steps, _ = run_optimizer(opt, problem, w0, float(eta), max_steps=max_steps, tol=tol)
        rows.append({"eta": float(eta), "limit": w, "steps": steps, "residual": problem.residual(w),
                     "norm_p": float(np.sum(np.abs(w - w0) ** pf) ** (1 / pf))})
    return {"p": pf, "min_norm": mn, "min_norm_p": float(np.sum(np.abs(mn - w0) ** pf) ** (1 / pf)),
            "rows": rows}


def format_table(table: dict[str, Any]) -> str:
    """A plain-text table of :func:`step_size_table`."""
    lines = [f"{'η':>8}  {'w_∞ (steepest descent)':<40} {'‖w‖_p':>10} {'‖Xw−y‖':>9}"]
    for r in table["rows"]:
        lines.append(f"{r['eta']:>8g}  {str(np.round(r['limit'], 6).tolist()):<40} "
                     f"{r['norm_p']:>10.6f} {r['residual']:>9.1e}")
    lines.append(f"{'min-norm':>8}  {str(np.round(table['min_norm'], 6).tolist()):<40} "
                 f"{table['min_norm_p']:>10.6f}")
    return "\n".join(lines)
