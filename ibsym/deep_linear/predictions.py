r"""The derived flows evaluated numerically: σ(t) at many times, with and without the finite-step term.

:func:`predicted_singular_values` evaluates the solutions of
:mod:`ibsym.deep_linear.solutions` (compiled, vectorized) or integrates the flow;
:func:`modified_singular_value_at` integrates the flow with the correction of
:mod:`ibsym.deep_linear.finite_step` next to the GD iterates.
"""
from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np
import sympy as sp
from scipy.integrate import solve_ivp

from ibsym.core.errors import InputError, IntegrationError
from ibsym.numeric.kernels import compile_vector
from ibsym.deep_linear.finite_step import finite_step_flow
from ibsym.deep_linear.solutions import solve_flow
from ibsym.deep_linear.symbols import S, SIGMA, SIGMA0, T, check_depth

__all__ = ["predicted_singular_values", "modified_singular_value_at"]


# ============================================================================ predictions
@functools.lru_cache(maxsize=64)
def _compiled_solution(depth: int, target: float, sigma0: float) -> tuple[str, Any]:
    sol = solve_flow(depth)
    rep = {S: sp.nsimplify(target, rational=True), SIGMA0: sp.nsimplify(sigma0, rational=True)}
    if sol.is_closed_form:
        return "closed", compile_vector([sol.sigma_expr.xreplace(rep)], [T])
    return "implicit", compile_vector([sol.time_expr.xreplace(rep)], [SIGMA])


def predicted_singular_values(depth: int, target: float, sigma0: float, times: Sequence[float],
                              *, method: str = "solution") -> np.ndarray:
    r"""σ(t) of one mode of whitened regression at many times.

    ``method="solution"``: the closed form (depths 1, 2) or the implicit solution ``t(σ)`` of
    :func:`ibsym.deep_linear.solutions.solve_flow`, inverted by vectorized bisection in
    ``q = −log|1 − σ/s|``; ``method="ode"``: ``solve_ivp`` (DOP853, rtol 1e-12) of the derived
    flow.  The two routes are independent checks of each other.
    """
    n = check_depth(depth, symbolic=False)
    t = np.asarray(times, float)
    s, s0 = float(target), float(sigma0)
    if s0 == s or (s0 == 0 and n >= 2):
        return np.full_like(t, s0)
    if method == "ode":
        flow = solve_flow(n).flow.rhs.xreplace({S: sp.nsimplify(s, rational=True)})
        f = compile_vector([flow], [SIGMA])
        order = np.argsort(t)
        sol = solve_ivp(lambda _t, y: f(np.abs(y)[None, :])[0], (0.0, float(t.max())), [s0],
                        method="DOP853", rtol=1e-12, atol=1e-14, t_eval=t[order])
        if not sol.success:  # pragma: no cover
            raise IntegrationError(f"the singular-value flow could not be integrated: {sol.message}")
        out = np.empty_like(t)
        out[order] = sol.y[0]
        return out
    if method != "solution":
        raise InputError(f"method must be 'solution' or 'ode', got {method!r}")
    if solve_flow(n).uses_quadrature:       # RootSum antiderivative: integrate the flow instead
        return predicted_singular_values(n, s, s0, t, method="ode")
    kind, fn = _compiled_solution(n, s, s0)
    if kind == "closed":
        with np.errstate(over="ignore", invalid="ignore"):
            v = fn(t[None, :])[0]
        return np.where(np.isfinite(v), v, s)
    sign = 1.0 if s0 < s else -1.0
    q0 = -np.log(abs(1 - s0 / s))

    def tt(q: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return fn((s * (1 - sign * np.exp(-q)))[None, :])[0]

    qmax = 36.0                                  # σ within 1e-16 of s
    lo = np.full_like(t, q0)
    hi = np.full_like(t, qmax)
    done = tt(np.array([qmax]))[0] < t           # beyond double precision: σ = s
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        below = tt(mid) < t
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    out = s * (1 - sign * np.exp(-0.5 * (lo + hi)))
    out = np.where(done, s, out)
    return np.where(t <= 0, s0, out)


#: Most GD steps :func:`modified_singular_value_at` runs (a few seconds).
MAX_GD_STEPS = 1_000_000


def modified_singular_value_at(depth: int, target: float, sigma0: float, t: float,
                               h: float) -> dict[str, float]:
    """σ(t) of the flow ``F_0`` and of the first-order modified flow ``F_0 + h F_1`` (GD with
    step ``h``, :func:`ibsym.deep_linear.finite_step.finite_step_flow`), and of the GD iterates themselves
    (balanced scalar layers; ``t/h`` rounded to an integer number of steps).

    Examples
    --------
    >>> v = modified_singular_value_at(2, 1.0, 0.2, 1.0, 0.05)
    >>> abs(v["modified"] - v["gd"]) < abs(v["flow"] - v["gd"])
    True
    """
    n = check_depth(depth, symbolic=False)
    if not h > 0:
        raise InputError(f"the step size h must be positive, got {h}")
    if not t / h <= MAX_GD_STEPS:
        raise InputError(f"t/h = {t / h:.3g} GD steps; the limit is {MAX_GD_STEPS:,} -- choose a "
                         "shorter time t or a larger step size h")
    fs = finite_step_flow(n, sp.nsimplify(target, rational=True))
    f0 = compile_vector([fs.flow0], [SIGMA])
    f1 = compile_vector([fs.flow1], [SIGMA])
    out = {}
    for name, c in (("flow", 0.0), ("modified", float(h))):
        if t == 0:
            out[name] = float(sigma0)
            continue
        sol = solve_ivp(lambda _t, y, c=c: f0(np.abs(y)[None, :])[0] + c * f1(np.abs(y)[None, :])[0],
                        (0.0, float(t)), [float(sigma0)], method="DOP853", rtol=1e-12, atol=1e-14)
        out[name] = float(sol.y[0, -1])
    steps = int(round(t / h))
    w = np.full(n, float(sigma0) ** (1.0 / n))
    for _ in range(steps):
        p = np.prod(w)
        w = w - h * (p - target) * p / w
    out["gd"] = float(np.prod(w))
    out["gd_steps"] = steps
    return out
