"""Finite steps move the limit -- predicted by the modified flow (the bridge to ibsym's BEA face).

For GD on a reparametrization w = φ(u) the discrete iterates are only approximately the
mirror flow, so the limit w_∞(h) depends on the step.  The order-k modified flow
u̇ = F_0 + hF_1 + … + h^kF_k of GD (derived by :func:`ibsym.modified_equation` on the loss
L(u) = ½‖Xφ(u) − y‖²) is integrated to convergence; its limit predicts w_∞(h) with error
O(h^{k+1}) -- :func:`limit_orders` measures the fitted slopes over a step-size sweep.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ibsym.bea.procedure import modified_equation
from ibsym.core.errors import InputError
from ibsym.core.losses import Loss
from ibsym.limits.problems import RegressionProblem
from ibsym.limits.reparam import Reparametrization, gd_limit
from ibsym.numeric.kernels import compile_terms

__all__ = ["reparam_loss", "limit_orders"]


def _num(v: float) -> str:
    if float(v) == int(v):
        return str(int(v))
    return repr(float(v))


def reparam_loss(rep: Reparametrization, problem: RegressionProblem) -> Loss:
    """L(u) = ½‖Xφ(u) − y‖² as an ibsym :class:`~ibsym.core.losses.Loss` (text built from numbers)."""
    d = problem.d
    names = ([f"up{i}" for i in range(d)] + [f"um{i}" for i in range(d)] if rep.two_branch
             else [f"u{i}" for i in range(d)])
    phi = str(rep.phi)
    if not set(phi) <= set("u0123456789+-*/(). "):
        raise InputError(f"the modified-flow bridge needs a polynomial φ, got {phi}")

    def w_i(i: int) -> str:
        if rep.two_branch:
            return f"(({phi.replace('u', f'up{i}')}) - ({phi.replace('u', f'um{i}')}))"
        return f"({phi.replace('u', f'u{i}')})"
    rows = []
    for r in range(problem.n):
        terms = [f"{_num(problem.X[r, i])}*{w_i(i)}" for i in range(d) if problem.X[r, i] != 0]
        rows.append(f"({' + '.join(terms)} - {_num(problem.y[r])})^2")
    return Loss.parse("(" + " + ".join(rows) + ")/2", params=" ".join(names))


def _flow_limit(terms, k: int, h: float, u0: np.ndarray, rep, problem, tol: float) -> np.ndarray:
    """Integrate u̇ = Σ_{j≤k} h^j F_j until ‖Xφ(u) − y‖ < tol (LSODA, rtol 1e-12)."""
    from scipy.integrate import solve_ivp
    weights = np.array([h ** j for j in range(k + 1)])

    def rhs(_t, u):
        return np.tensordot(weights, terms(u.reshape(-1, 1))[:k + 1, :, 0], axes=1)

    u, T = u0.copy(), 50.0
    for _ in range(10):
        sol = solve_ivp(rhs, (0, T), u, method="LSODA", rtol=1e-12, atol=1e-15)
        u = sol.y[:, -1]
        if problem.residual(rep.w_of(u)) < tol:
            break
        T *= 2
    return rep.w_of(u)


def limit_orders(rep: Reparametrization, problem: RegressionProblem, steps: Sequence[float],
                 *, orders: Sequence[int] = (0, 1), tol: float = 1e-11) -> dict[str, Any]:
    """Errors |w_∞^GD(h) − w_∞^{order k}(h)|_∞ over the step sizes and their fitted slopes."""
    loss = reparam_loss(rep, problem)
    eq = modified_equation("gd", loss, order=max(orders))
    terms = compile_terms(eq)
    u0 = rep.u_start(problem.d)
    errors: dict[int, list[float]] = {k: [] for k in orders}
    gd = []
    for h in steps:
        w_gd, _ = gd_limit(rep, problem, float(h), tol=tol)
        gd.append(w_gd)
        for k in orders:
            w_k = _flow_limit(terms, k, float(h), u0, rep, problem, tol)
            errors[k].append(float(np.max(np.abs(w_gd - w_k))))
    lh = np.log(np.asarray(steps, float))
    slopes = {k: float(np.polyfit(lh, np.log(np.maximum(errors[k], 1e-300)), 1)[0]) for k in orders}
    return {"steps": list(map(float, steps)), "errors": errors, "slopes": slopes, "gd_limits": gd}
