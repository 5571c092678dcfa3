r"""The spline selected by a curvature penalty: exact solution of the variational problem.

For data ``(x_j, y_j)`` and a penalty ζ (:class:`ibsym.wide_relu.zeta.CurvaturePenalty` or a
vectorized callable) this module solves

.. math:: \min_g \int \frac{(g'' - f_0'')^2}{\zeta}\,dx \ \text{ s.t. } g(x_j) = y_j
          \qquad\text{and}\qquad
          \min_g \sum_j (g(x_j) - y_j)^2 + \lambda \int \frac{(g'' - f_0'')^2}{\zeta}\,dx ,

with the affine part of ``g`` unpenalized (skip connection).  The Euler--Lagrange
equation gives ``h'' = ζ · ℓ`` for ``h = g - f_0``, where
``ℓ(x) = Σ_j μ_j (x - x_j)_+`` is piecewise linear and vanishes outside the data
hull (``Σ μ_j = Σ μ_j x_j = 0``), so

.. math:: h(x) = \sum_j \mu_j G(x; x_j) + a x + b,\qquad
          G(x; c) = \int_c^x (x - s)(s - c)\,\zeta(s)\,ds\ \ (x > c),

and the ``m + 2`` unknowns solve a linear system (interpolation: ``h(x_i) = y_i``;
smoothing: ``h(x_i) + λ μ_i = y_i``).  The moments ``∫ s^k ζ`` are computed by
Gauss--Legendre quadrature between consecutive nodes (data, evaluation points and
the kinks/jumps of ζ), so the solution is exact up to quadrature round-off.

Numeric layer (NumPy/SciPy).

Examples
--------
>>> import numpy as np
>>> x = np.array([-1.0, 0.0, 0.5, 1.5]); y = np.array([0.0, 1.0, 0.2, 0.4])
>>> s = solve_variational(x, y, lambda t: np.full_like(t, 0.25))   # constant ζ: natural cubic spline
>>> bool(np.allclose(s(x), y))
True
>>> from scipy.interpolate import CubicSpline
>>> t = np.linspace(-1, 1.5, 7)
>>> float(np.max(np.abs(s(t) - CubicSpline(x, y, bc_type="natural")(t)))) < 1e-10
True
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from ibsym.core.errors import InputError
from ibsym.core.results import Result
from ibsym.wide_relu.zeta import X, CurvaturePenalty

__all__ = ["solve_variational", "smoothing_spline", "smoothing_path", "SplineSolution",
           "zeta_function", "singular_points"]

_GL_X, _GL_W = np.polynomial.legendre.leggauss(20)
_MAX_PANEL = 0.25


def singular_points(expr: sp.Expr) -> list[float]:
    """Real points where a piecewise ζ(x) jumps or kinks (Piecewise conditions, Min/Max, Abs).

    Examples
    --------
    >>> singular_points(sp.Piecewise((1, sp.Abs(X) < 2), (0, True)))
    [-2.0, 0.0, 2.0]
    """
    cands: set[float] = set()
    eqs: list[sp.Expr] = []
    for rel in expr.atoms(sp.core.relational.Relational):
        eqs.append(rel.lhs - rel.rhs)
    for f in expr.atoms(sp.Min, sp.Max):
        a = f.args
        eqs += [a[i] - a[j] for i in range(len(a)) for j in range(i + 1, len(a))]
    for f in expr.atoms(sp.Abs):
        eqs.append(f.args[0])
    for e in eqs:
        if X not in e.free_symbols:
            continue
        try:
            sols = sp.solve(e, X)
        except (NotImplementedError, ValueError, TypeError):  # pragma: no cover
            continue
        for s in sols:
            if s.is_real and s.is_number:
                cands.add(float(s))
    return sorted(cands)


def zeta_function(zeta: Any, **values: Any) -> tuple[Callable[[np.ndarray], np.ndarray], list[float]]:
    """A vectorized NumPy callable for ζ and its singular points.

    ``zeta`` is a :class:`~ibsym.wide_relu.zeta.CurvaturePenalty` (parameters given by name in
    ``values``; without a closed form each value is computed by SciPy quadrature)
    or a callable.
    """
    if callable(zeta) and not isinstance(zeta, CurvaturePenalty):
        return (lambda t: np.asarray(zeta(np.asarray(t, float)), float)), []
    if not isinstance(zeta, CurvaturePenalty):
        raise InputError("zeta must be a CurvaturePenalty or a callable ζ(x)")
    pen = zeta.subs(**values) if values else zeta
    if pen.parameters:
        raise InputError("give numbers for the parameters "
                         + ", ".join(s.name for s in pen.parameters))
    if not pen.closed_form:
        from scipy.integrate import quad
        from ibsym.wide_relu.densities import W
        integrand = pen.expr.function
        f = sp.lambdify((W, X), integrand, modules="numpy")

        def zq(t: np.ndarray) -> np.ndarray:
            t = np.atleast_1d(np.asarray(t, float))
            with np.errstate(all="ignore"):
                return np.array([quad(lambda w: f(w, ti), -np.inf, 0)[0]
                                 + quad(lambda w: f(w, ti), 0, np.inf)[0] for ti in t])
        return zq, []
    from ibsym.numeric.kernels import compile_vector
    fn = compile_vector([pen.expr], [X])

    def z(t: np.ndarray) -> np.ndarray:
        t = np.asarray(t, float)
        with np.errstate(all="ignore"):
            out = fn(t.reshape(1, -1))[0].reshape(t.shape)
        bad = ~np.isfinite(out)
        if bad.any():
            out[bad] = [pen.evaluate(float(v)) for v in t[bad]]
        return out
    return z, singular_points(pen.expr)


def _moments(zf: Callable, nodes: np.ndarray) -> np.ndarray:
    """Cumulative ∫_{nodes[0]}^{nodes[i]} s^k ζ(s) ds for k = 0, 1, 2; shape (3, len(nodes))."""
    a, b = nodes[:-1], nodes[1:]
    npan = np.maximum(1, np.ceil((b - a) / _MAX_PANEL).astype(int))
    # expand panels
    idx = np.repeat(np.arange(len(a)), npan)
    sub = np.concatenate([np.arange(k) for k in npan]) if len(npan) else np.zeros(0, int)
    h = (b - a) / npan
    lo = a[idx] + sub * h[idx]
    hi = lo + h[idx]
    s = 0.5 * (hi - lo)[:, None] * _GL_X[None, :] + 0.5 * (hi + lo)[:, None]
    zs = zf(s.ravel()).reshape(s.shape)
    wts = 0.5 * (hi - lo)[:, None] * _GL_W[None, :]
    per = np.stack([np.sum(wts * zs * s ** k, axis=1) for k in range(3)])
    seg = np.zeros((3, len(a)))
    for k in range(3):
        np.add.at(seg[k], idx, per[k])
    return np.concatenate([np.zeros((3, 1)), np.cumsum(seg, axis=1)], axis=1)


def _green(zf: Callable, pts: np.ndarray, centers: np.ndarray, extra: Sequence[float]) -> np.ndarray:
    """Matrix G(pts_i; centers_j)."""
    lo, hi = min(pts.min(), centers.min()), max(pts.max(), centers.max())
    nodes = np.unique(np.concatenate([pts, centers, [e for e in extra if lo < e < hi]]))
    I = _moments(zf, nodes)
    ip = np.searchsorted(nodes, pts)
    ic = np.searchsorted(nodes, centers)
    xx, cc = pts[:, None], centers[None, :]
    d = [I[k][ip][:, None] - I[k][ic][None, :] for k in range(3)]
    G = xx * d[1] - xx * cc * d[0] - d[2] + cc * d[1]
    return np.where(xx > cc, G, 0.0)


@dataclass(frozen=True, eq=False)
class SplineSolution(Result):
    r"""Solution ``g = f_0 + Σ μ_j G(·; x_j) + a x + b`` of the (smoothing) variational problem.

    Call it on points to evaluate; ``second_derivative`` gives ``ζ · ℓ``.
    """

    schema = "zeta-spline"
    x: np.ndarray = None
    y: np.ndarray = None
    lam: float = 0.0
    mu: np.ndarray = None
    a: float = 0.0
    b: float = 0.0
    zeta: Callable = field(default=None, repr=False)
    singular: tuple = ()
    f0: Callable | None = field(default=None, repr=False)
    penalty_value: float = 0.0

    def __call__(self, t: Any) -> np.ndarray:
        t = np.asarray(t, float)
        flat = t.ravel()
        G = _green(self.zeta, flat, self.x, self.singular)
        out = G @ self.mu + self.a * flat + self.b
        if self.f0 is not None:
            out = out + np.asarray(self.f0(flat), float)
        return out.reshape(t.shape)

    def second_derivative(self, t: Any) -> np.ndarray:
        """``h''(t) = ζ(t) Σ_j μ_j (t - x_j)_+`` (without ``f_0''``)."""
        t = np.asarray(t, float)
        ell = np.maximum(t[..., None] - self.x, 0.0) @ self.mu
        return self.zeta(t) * ell

    def residuals(self) -> np.ndarray:
        """``g(x_j) - y_j`` (``-λ μ_j`` for the smoothing spline, 0 for interpolation)."""
        return self(self.x) - self.y

    def to_latex(self) -> str:
        g, z = sp.Function("g"), sp.Function("zeta")
        ell = sum(sp.Float(float(m), 6) * sp.Max(0, X - sp.Float(float(xj), 6))
                  for m, xj in zip(self.mu, self.x))
        return sp.latex(sp.Eq(sp.Derivative(g(X), (X, 2)), z(X) * ell, evaluate=False))

    def __str__(self) -> str:
        kind = "interpolating" if self.lam == 0 else f"smoothing (λ = {self.lam:.4g})"
        terms = " ".join(f"{m:+.5g}·(x - {xj:.4g})_+" for m, xj in zip(self.mu, self.x))
        return f"{kind} ζ-spline: g''(x) = ζ(x) · [{terms}]"

    def to_dict_body(self) -> dict[str, Any]:
        return {"x": self.x, "y": self.y, "lambda": self.lam, "mu": self.mu, "a": self.a,
                "b": self.b, "penalty_value": self.penalty_value, "latex": self.to_latex()}


def solve_variational(x: Sequence[float], y: Sequence[float], zeta: Any, *, lam: float = 0.0,
                      f0: Callable | None = None, breakpoints: Sequence[float] = (),
                      **values: Any) -> SplineSolution:
    r"""Exact minimizer of ``∫ (g'' - f_0'')²/ζ`` (+ data misfit for ``lam > 0``).

    Parameters
    ----------
    x, y : array_like
        Data; ``x`` distinct (sorted internally).
    zeta : CurvaturePenalty or callable
        The curvature penalty ζ (the weight is ``1/ζ``).
    lam : float, default 0
        0: interpolation; > 0: smoothing spline ``Σ (g(x_j) - y_j)² + λ ∫ (g'' - f_0'')²/ζ``.
    f0 : callable, optional
        The initial function ``f(·, θ0)`` (default 0, e.g. anti-symmetric initialization).
    breakpoints : sequence of float
        Extra jump/kink points of ζ for the quadrature (found automatically for a
        CurvaturePenalty).
    **values
        Numbers for the symbolic parameters of ``zeta``.

    Returns
    -------
    SplineSolution

    Raises
    ------
    InputError
        If ``x`` has repeated points, fewer than 2 points, or ζ vanishes at the data
        (then no interpolant has finite penalty).

    References
    ----------
    .. [1] H. Jin, G. Montúfar, JMLR 24(137), 2023 (the variational problem of the
       wide-network limit; ``../shared/formulas.md`` §6.2-6.3).
    """
    x = np.asarray(x, float).ravel()
    y = np.asarray(y, float).ravel()
    if x.shape != y.shape or x.size < 2:
        raise InputError("x and y must have the same length >= 2")
    order = np.argsort(x)
    x, y = x[order], y[order]
    if np.any(np.diff(x) <= 0):
        raise InputError("the data points x must be distinct")
    if lam < 0:
        raise InputError(f"lam must be >= 0, got {lam}")
    zf, sing = zeta_function(zeta, **values)
    sing = sorted(set(sing) | {float(v) for v in breakpoints})
    zx = zf(x)
    m = x.size
    target = y - (np.asarray(f0(x), float) if f0 is not None else 0.0)
    G = _green(zf, x, x, sing)
    A = np.zeros((m + 2, m + 2))
    A[:m, :m] = G + lam * np.eye(m)
    A[:m, m] = x
    A[:m, m + 1] = 1.0
    A[m, :m] = 1.0
    A[m + 1, :m] = x
    rhs = np.concatenate([target, [0.0, 0.0]])
    if lam == 0 and m > 2 and np.all(zx[1:-1] <= 0):
        raise InputError("ζ vanishes at the interior data points: no interpolant has a finite "
                         "penalty; choose an initialization whose breakpoints cover the data")
    sol = np.linalg.solve(A, rhs)
    mu, a, b = sol[:m], float(sol[m]), float(sol[m + 1])
    # penalty ∫ ζ ℓ², ℓ piecewise linear on [x_1, x_m]
    nodes = np.unique(np.concatenate([x, [s for s in sing if x[0] < s < x[-1]]]))
    pen = 0.0
    for lo_, hi_ in zip(nodes[:-1], nodes[1:]):
        s = 0.5 * (hi_ - lo_) * _GL_X + 0.5 * (hi_ + lo_)
        ell = np.maximum(s[:, None] - x[None, :], 0.0) @ mu
        pen += float(np.sum(0.5 * (hi_ - lo_) * _GL_W * zf(s) * ell ** 2))
    return SplineSolution(x, y, float(lam), mu, a, b, zf, tuple(sing), f0, pen)


def smoothing_spline(x: Sequence[float], y: Sequence[float], zeta: Any, lam: float,
                     **kw: Any) -> SplineSolution:
    """The spatially adaptive smoothing spline at regularization ``lam`` (see :func:`solve_variational`)."""
    if lam <= 0:
        raise InputError("the smoothing parameter must be positive; use solve_variational for "
                         "interpolation")
    return solve_variational(x, y, zeta, lam=lam, **kw)


def smoothing_path(x: Sequence[float], y: Sequence[float], zeta: Any, times: Sequence[float],
                   etabar: float, **kw: Any) -> list[SplineSolution]:
    r"""Smoothing splines along a training run: ``λ(t) = 1/(η̄ t)`` for each time ``t``.

    ``t`` counts gradient steps and ``η̄`` is the effective learning rate (``n`` times the
    output-weight step size in the standard parametrization), for the loss
    ``½ Σ_j (f(x_j) - y_j)²``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([-1.0, 0.0, 1.0]); y = np.array([1.0, -1.0, 1.0])
    >>> path = smoothing_path(x, y, lambda t: np.ones_like(t), [1, 100], etabar=1.0)
    >>> [round(float(np.abs(s.residuals()).max()), 3) for s in path]
    [1.2, 0.11]
    """
    return [smoothing_spline(x, y, zeta, 1.0 / (etabar * float(t)), **kw) for t in times]
