"""Numeric solve of an implicit step θ_{n+1} = G(θ_n, w_n, θ_{n+1}, h).

:class:`~ibsym.bea.implicit.ImplicitStep` (the ``update`` of an optimizer declared
``implicit=True``) calls :func:`newton_step` when it is run on NumPy arrays -- by
:func:`ibsym.numeric.kernels.iterate`, the verifier, the stability threshold, the limits
and dynamics layers alike.  Newton's method on R(x) = x − G(x), started from one explicit
sweep x_0 = G(θ_n, w_n, θ_n), with the Jacobian ∂G/∂x by forward differences (the rule
is a black box: any G, with any state), to :data:`~ibsym.bea.implicit.NUMERIC_TOLERANCE`
(1e-14) relative; a step that does not converge raises
:class:`~ibsym.core.errors.DivergenceError` naming the optimizer and h.

Examples
--------
>>> import numpy as np
>>> rule = lambda th, st, g, h, hp, nxt: (th - h * g(nxt), {})     # proximal point
>>> grad = lambda x: 4.0 * x                                        # L = 2‖x‖²
>>> x, _ = newton_step(rule, np.array([1.0, -2.0]), {}, grad, 0.5, {})
>>> x                                      # θ_{n+1} = θ_n / (1 + 4h), exactly
array([ 0.33333333, -0.66666667])
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ibsym.bea.implicit import NUMERIC_TOLERANCE, set_numeric_solver, solve_fixed_point
from ibsym.core.errors import DivergenceError

__all__ = ["newton_step"]

#: Above this many coordinates the d-column difference Jacobian costs more than it saves:
#: fixed-point iteration instead (converges for h·‖∂G/∂θ_next‖ < 1).
MAX_NEWTON_DIM = 64


def newton_step(rule: Callable[..., Any], theta: Any, state: Any, grad: Any, h: Any, hp: Any,
                *, name: str = "the rule", max_iter: int = 40) -> tuple[Any, dict]:
    """θ_{n+1} with θ_{n+1} = G(θ_n, w_n, θ_{n+1}, h), and the new state at it.

    Parameters
    ----------
    rule : callable
        ``rule(theta, state, grad, h, hp, theta_next) -> (G, state_next)``.
    theta : numpy.ndarray
        θ_n, shape (d,) or (d, runs...) (trailing axes: independent runs), or a number.
    state, grad, h, hp
        As for an explicit update.
    name : str
        The optimizer (for messages).
    max_iter : int
        Newton iterations before the step is refused.

    Returns
    -------
    (theta_next, state_next)
        G evaluated at the converged θ_{n+1} and the state returned with it.

    Raises
    ------
    DivergenceError
        When the correction does not fall below 1e-14·(1 + max|θ_{n+1}|).
    """
    th = np.asarray(theta, dtype=float)
    shape = th.shape
    d = shape[0] if th.ndim else 1
    if d > MAX_NEWTON_DIM:
        return solve_fixed_point(rule, theta, state, grad, h, hp, name=name)

    def G(x: np.ndarray) -> tuple[np.ndarray, dict]:
        out = rule(theta, state, grad, h, hp, x.reshape(shape) if th.ndim else float(x[0]))
        g, st = out if isinstance(out, tuple) and len(out) == 2 else (out, {})
        return np.broadcast_to(np.asarray(g, dtype=float), shape).reshape(d, -1), st or {}

    x, st = G(th.reshape(d, -1))                 # predictor: one explicit sweep
    if not np.all(np.isfinite(x)):
        return x.reshape(shape) if th.ndim else float(x[0, 0]), st   # the caller reports it
    step = float("inf")
    for _ in range(max_iter):
        Gx, st = G(x)
        if not np.all(np.isfinite(Gx)):
            break
        runs = x.shape[1]
        dG = np.empty((runs, d, d))
        for j in range(d):
            e = np.sqrt(np.finfo(float).eps) * (1.0 + np.abs(x[j]))
            xe = x.copy()
            xe[j] += e
            dG[:, :, j] = ((G(xe)[0] - Gx) / e).T
        J = np.eye(d)[None] - dG
        R = (x - Gx).T
        try:
            delta = -np.linalg.solve(J, R[..., None])[..., 0].T
        except np.linalg.LinAlgError:
            break
        x = x + delta
        step = float(np.max(np.abs(delta)))
        if not step == step:                       # NaN
            break
        if step <= NUMERIC_TOLERANCE * (1.0 + float(np.max(np.abs(x)))):
            Gx, st = G(x)
            return (Gx.reshape(shape) if th.ndim else float(Gx[0, 0])), st
    raise DivergenceError(
        f"the implicit step of '{name}' did not converge at h={float(h):g}: Newton's "
        f"correction is still {step:.3g} after {max_iter} iterations (tolerance "
        f"{NUMERIC_TOLERANCE:g} relative) -- the implicit equation may have no nearby "
        "solution at this step size; try a smaller h")


set_numeric_solver(newton_step)
