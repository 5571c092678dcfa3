"""Implicit update rules: the new iterate on the right-hand side.

An implicit rule gives θ_{n+1} only through an equation

    θ_{n+1} = G(θ_n, w_n, θ_{n+1}, h),

e.g. the proximal point method (implicit GD) θ_{n+1} = θ_n − h∇L(θ_{n+1}), implicit
momentum, or the trapezoidal rule θ_{n+1} = θ_n − (h/2)(∇L(θ_n) + ∇L(θ_{n+1})).  It is
written once, as ``rule(theta, state, grad, h, hp, theta_next) -> (G, state_next)``
(rule files: the name ``theta_next`` on a right-hand side), and
:class:`ImplicitStep` turns it into the ordinary
``update(theta, state, grad, h, hp) -> (theta_next, state_next)`` that every other part of
ibsym calls:

* traced (h-series, :mod:`ibsym.bea.series`): :func:`solve_traced` solves the equation
  order by order in h by fixed-point iteration on h-series -- start from θ_{n+1} = θ, each
  sweep fixes one more power of h; after ``order + 2`` sweeps the last one must change
  nothing, and G must not depend on θ_{n+1} at h⁰ (checked by perturbing the top
  coefficient), otherwise the rule has no solution as a series in h and
  :class:`~ibsym.core.errors.InputError` names it;
* numeric (NumPy arrays): the solver installed by :mod:`ibsym.numeric.implicit` (Newton,
  Jacobian by finite differences, tolerance 1e-14 relative); without it a plain
  fixed-point iteration with the same tolerance.

Examples
--------
>>> from ibsym.bea.algebras import GenericAlgebra
>>> from ibsym.bea.series import Gradient, HSeries, SeriesVector
>>> prox = ImplicitStep("prox", lambda th, st, g, h, hp, nxt: (th - h * g(nxt), {}))
>>> alg = GenericAlgebra()
>>> new, _ = prox(SeriesVector.point(alg, 3), {}, Gradient(), HSeries.h(3), {})
>>> [str(c) for c in new.displacement()]
['0', '-∇L', '∇²L∇L', '-1/2 ∇³L(∇L, ∇L) - (∇²L)²∇L']
>>> prox(SeriesVector.point(alg, 2), {}, Gradient(), HSeries.h(2), {}) is not None
True
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sympy as sp

from ibsym.bea.series import HSeries, SeriesVector
from ibsym.core.errors import DivergenceError, InputError

__all__ = ["ImplicitStep", "solve_traced", "solve_fixed_point", "set_numeric_solver",
           "wrap_implicit", "NUMERIC_TOLERANCE"]

#: Relative tolerance of every numeric solve of an implicit step (far below the errors
#: that ``verify`` measures, ~1e-10 at the smallest steps).
NUMERIC_TOLERANCE = 1e-14

_NUMERIC_SOLVER: list[Callable[..., Any]] = []


def set_numeric_solver(solver: Callable[..., Any]) -> None:
    """Install the numeric solver of implicit steps (called by :mod:`ibsym.numeric.implicit`
    on import; the symbolic layer has no NumPy).

    ``solver(rule, theta, state, grad, h, hp, name=...) -> (theta_next, state_next)``."""
    _NUMERIC_SOLVER[:] = [solver]


class ImplicitStep:
    """``update(theta, state, grad, h, hp)`` of an implicit rule ``rule(..., theta_next)``.

    Parameters
    ----------
    name : str
        The optimizer's name (for messages).
    rule : callable
        ``rule(theta, state, grad, h, hp, theta_next) -> (G, state_next)``: the right-hand
        side G(θ_n, w_n, θ_{n+1}, h) of θ_{n+1} = G and the new state (which may use
        θ_{n+1} too).
    """

    def __init__(self, name: str, rule: Callable[..., Any]):
        if not callable(rule):
            raise InputError(f"the implicit rule of '{name}' must be a function "
                             "rule(theta, state, grad, h, hp, theta_next)")
        self.name, self.rule = name, rule

    def __repr__(self) -> str:
        return f"ImplicitStep({self.name!r})"

    def __call__(self, theta: Any, state: Any, grad: Any, h: Any, hp: Any) -> Any:
        if isinstance(theta, SeriesVector):
            return solve_traced(self.rule, theta, state, grad, h, hp, name=self.name)
        solver = _NUMERIC_SOLVER[0] if _NUMERIC_SOLVER else solve_fixed_point
        return solver(self.rule, theta, state, grad, h, hp, name=self.name)


def wrap_implicit(opt: Any) -> None:
    """Called by :class:`~ibsym.bea.optimizers.Optimizer` on construction: an implicit rule
    ``update(..., theta_next)`` becomes an :class:`ImplicitStep` (the usual five arguments;
    it solves for θ_{n+1}); a copy that already holds one (``with_hyper``) stays implicit."""
    if isinstance(opt.update, ImplicitStep):
        object.__setattr__(opt, "implicit", True)
        if opt.update.name != opt.name:
            object.__setattr__(opt, "update", ImplicitStep(opt.name, opt.update.rule))
    elif opt.implicit:
        object.__setattr__(opt, "update", ImplicitStep(opt.name, opt.update))


def _unpack(out: Any, name: str) -> tuple[Any, dict]:
    G, st = out if isinstance(out, tuple) and len(out) == 2 else (out, {})
    return G, st if st is not None else {}


def _differs(alg: Any, a: SeriesVector, b: SeriesVector, upto: int) -> bool:
    """Whether two traced points differ in some h^p coefficient, p ≤ ``upto``."""
    for p in range(upto + 1):
        x, y = a.base.c[p], b.base.c[p]
        if isinstance(x, sp.Basic) or isinstance(y, sp.Basic):
            if sp.cancel(sp.sympify(x, strict=True) - sp.sympify(y, strict=True)) != 0:
                return True
        elif x != y:
            return True
        if not alg.is_zero(alg.add(a.coeffs[p], alg.scale(-1, b.coeffs[p]))):
            return True
    return False


def solve_traced(rule: Callable[..., Any], theta: SeriesVector, state: Any, grad: Any, h: Any,
                 hp: Any, *, name: str = "the rule") -> tuple[SeriesVector, dict]:
    """Solve θ_{n+1} = G(θ, w, θ_{n+1}, h) on truncated h-series by fixed-point iteration.

    Starting from θ_{n+1} = θ (exact at h⁰ for a consistent rule), a sweep
    x ← G(θ, w, x, h) fixes one more power of h as long as G does not depend on x at
    h⁰; after ``order + 2`` sweeps the last one must have changed nothing up to the
    truncation order, and perturbing the top coefficient of x (by h^order·v) must leave
    G's top coefficient unchanged.  Either failure is an :class:`InputError`: the rule has
    no (unique) solution as a series in h.

    Returns
    -------
    (theta_next, state_next)
        The solution and the new state evaluated at it.
    """
    order, alg = theta.order, theta.alg

    def sweep(x: SeriesVector) -> tuple[SeriesVector, dict]:
        G, st = _unpack(rule(theta, state, grad, h, hp, x), name)
        if not isinstance(G, SeriesVector) or G.scalar:
            raise InputError(f"the implicit rule of '{name}' must return the new parameters "
                             "(a vector, G(θ, θ_next)) and the state")
        return G, st

    x, G, st, changed = theta, theta, {}, True
    for _ in range(order + 2):
        x = G
        G, st = sweep(x)
        changed = order > 0 and _differs(alg, G, x, order)
    if order == 0:                 # h⁰ only (the state map): nothing to iterate on
        return G, st
    if changed:
        raise InputError(
            f"the implicit rule of '{name}' has no solution as a series in h: fixed-point "
            f"iteration on h-series still changed the coefficients up to h^{order} after "
            f"{order + 2} sweeps; θ_next = G(θ_n, θ_next) needs G = θ_n + O(h) with "
            "theta_next only inside the O(h) terms, e.g. theta = theta - h*grad(theta_next)")
    # does G depend on theta_next at h⁰?  Perturb the top coefficient of the last argument x
    # by h^order·v: only G's h^order coefficient can move, and it moves iff ∂G/∂θ_next·v ≠ 0
    # at h = 0
    probes = [alg.grad()]
    if not alg.generic:
        probes.append(alg.const(sp.Rational(3, 7)))
    for v in probes:
        bump = SeriesVector.vector(alg, [alg.zero()] * order + [v], order)
        Gp, _ = sweep(x + bump)
        if _differs(alg, Gp, G, order):
            raise InputError(
                f"the implicit rule of '{name}' depends on theta_next at h⁰ (at h = 0 its "
                "right-hand side G(θ_n, θ_next) changes with θ_next, as in theta_next = "
                "theta_next or 2*theta_next - theta): θ_next = G has no unique solution as a "
                "series in h; write the rule so that theta_next enters only through O(h) "
                "terms, e.g. theta = theta - h*grad(theta_next)")
    return G, st


def _max_abs(x: Any) -> float:
    """max |x_i| of a NumPy array or a number (duck-typed: no NumPy import here)."""
    a = abs(x)
    return float(a.max()) if hasattr(a, "max") else float(a)


def solve_fixed_point(rule: Callable[..., Any], theta: Any, state: Any, grad: Any, h: Any,
                      hp: Any, *, name: str = "the rule", max_iter: int = 500) -> Any:
    """Numeric implicit step by fixed-point iteration x ← G(θ, w, x, h), to
    :data:`NUMERIC_TOLERANCE` relative (converges when h·‖∂G/∂θ_next‖ < 1).

    Raises :class:`~ibsym.core.errors.DivergenceError` when it does not converge."""
    x = theta
    change = float("inf")
    for _ in range(max_iter):
        G, st = _unpack(rule(theta, state, grad, h, hp, x), name)
        change = _max_abs(G - x)
        x = G
        if change != change or change == float("inf"):
            break
        if change <= NUMERIC_TOLERANCE * (1.0 + _max_abs(G)):
            return G, st
    raise DivergenceError(
        f"the implicit step of '{name}' did not converge at h={h:g}: fixed-point iteration "
        f"still changes θ_next by {change:.3g} after {max_iter} iterations (tolerance "
        f"{NUMERIC_TOLERANCE:g} relative); try a smaller step size")
