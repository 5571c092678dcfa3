r"""Solutions of the singular-value flow of whitened regression: closed form and implicit (symbolic).

``σ̇ = N σ^{2−2/N}(s − σ)``, ``σ(0) = σ_0``: closed-form (depth 1: exponential, depth 2:
logistic) and implicit (``t(σ)`` by SymPy integration; general ``N`` through Lerch's
transcendent) solutions (:func:`solve_flow`), evaluated with mpmath
(:meth:`FlowSolution.sigma_at`, :meth:`FlowSolution.time`).  SymPy and mpmath only.

Examples
--------
>>> sol = solve_flow(2)
>>> print(sol)
σ(t) = s*sigma_0*exp(2*s*t)/(s + sigma_0*exp(2*s*t) - sigma_0)   [closed form, depth 2]
>>> round(sol.sigma_at(1, target=3, sigma0=0.001), 10)
0.3557124789
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import mpmath
import sympy as sp

from ibsym.core.errors import InputError
from ibsym.core.results import Result
from ibsym.deep_linear.flows import SingularValueFlow, singular_value_flow
from ibsym.deep_linear.symbols import (N, REFERENCES, S, SIGMA, SIGMA0, T, _latex, _number,
                                       check_depth)

__all__ = ["FlowSolution", "solve_flow", "singular_value_at"]


def _mp(x: Any) -> mpmath.mpf:
    """A SymPy number as an mpmath float (45 digits)."""
    return mpmath.mpf(str(sp.N(x, 45)))


def _realify(F: sp.Expr) -> sp.Expr:
    """log(u) → log|u| (same derivative, real on both sides of the singularity)."""
    return F.replace(lambda e: isinstance(e, sp.log), lambda e: sp.log(sp.Abs(e.args[0])))


_X, _W = sp.symbols("x w", positive=True)


@functools.lru_cache(maxsize=64)
def _antiderivative(n: int) -> sp.Expr:
    """Φ_n(w) = ∫ dw / (w^{n-1} (1 − w^n)), checked by differentiation."""
    integrand = 1 / (_W ** (n - 1) * (1 - _W ** n))
    F = sp.integrate(integrand, _W)
    if F.has(sp.Integral) or sp.simplify(sp.diff(F, _W) - integrand) != 0:
        raise InputError(f"SymPy found no verified antiderivative for depth {n}")  # pragma: no cover
    return _realify(F)


@functools.lru_cache(maxsize=1)
def _general_antiderivative() -> sp.Expr:
    """∫ x^{p-1}/(1 − x) dx for symbolic p (p = 2/N − 1), by SymPy: x^p Φ(x, 1, p)."""
    p = sp.Symbol("p", nonzero=True)
    F = sp.integrate(_X ** (p - 1) / (1 - _X), _X)
    F = sp.gammasimp(F).replace(sp.exp_polar, lambda a: sp.exp(a))
    return F.xreplace({p: 2 / N - 1})


@functools.lru_cache(maxsize=8)
def _closed_form(n: int) -> sp.Expr:
    sig = sp.Function("sigma")
    rhs = singular_value_flow(n).whitened().rhs
    ode = sp.Eq(sig(T).diff(T), rhs.xreplace({SIGMA: sig(T)}))
    sol = sp.dsolve(ode, sig(T), ics={sig(0): SIGMA0})
    if n == 1:
        return sp.collect(sp.expand(sol.rhs), sp.exp(-T))
    return sp.simplify(sp.expand_log(sol.rhs, force=True))


@dataclass(frozen=True)
class FlowSolution(Result):
    r"""Solution of ``σ̇ = N σ^{2−2/N}(s − σ)``, ``σ(0) = σ_0`` (whitened regression, one mode).

    Attributes
    ----------
    depth : int or sympy.Symbol
    kind : str
        ``"closed form"`` (σ(t) explicit: depths 1, 2) or ``"implicit"`` (t(σ)).
    sigma_expr : sympy.Expr or None
        σ(t) in :data:`T`, :data:`S`, :data:`SIGMA0` (closed form only).
    time_expr : sympy.Expr
        t(σ): the time at which the mode reaches σ (both kinds).
    antiderivative : sympy.Expr
        Φ(w) with ``t = s^{-(2-2/N)}[Φ((σ/s)^{1/N}) − Φ((σ_0/s)^{1/N})]`` (integer depth), or
        the general-``N`` form in ``x = σ/s`` (Lerch transcendent).
    """

    schema = "singular-value-flow-solution"
    depth: Any = N
    kind: str = "implicit"
    sigma_expr: Any = None
    time_expr: Any = None
    antiderivative: Any = None
    flow: SingularValueFlow = None

    def __repr__(self) -> str:
        return f"FlowSolution(depth={self.depth}, kind={self.kind!r})"

    @property
    def is_closed_form(self) -> bool:
        return self.sigma_expr is not None

    def equals(self, other: Any) -> bool:
        """Whether the closed form σ(t) equals ``other`` (an expression, or text in ``t``, ``s``,
        ``sigma_0`` parsed safely); False for implicit solutions.

        Examples
        --------
        >>> solve_flow(2).equals("s*exp(2*s*t)/(exp(2*s*t) - 1 + s/sigma_0)")
        True
        """
        if not self.is_closed_form:
            return False
        if isinstance(other, str):
            from ibsym.core.parsing import parse_expression
            other = parse_expression(other, {"t": T, "s": S, "sigma_0": SIGMA0, "N": N})
        from ibsym.core.values import to_sympy
        return sp.simplify(self.sigma_expr - to_sympy(other, what="other")) == 0

    def _check(self, target: Any, sigma0: Any) -> tuple[sp.Expr, sp.Expr]:
        if self.depth is N:
            raise InputError("numbers need a concrete depth: use solve_flow(depth) with an integer")
        s, s0 = _number(target, "target"), _number(sigma0, "sigma0")
        if not s > 0:
            raise InputError(f"the target singular value must be positive, got {target}")
        if s0 < 0:
            raise InputError(f"sigma0 is a singular value and must be >= 0, got {sigma0}")
        return s, s0

    def time(self, sigma: Any, *, target: Any, sigma0: Any, depth: int | None = None) -> float:
        """t(σ): when the mode started at σ_0 reaches σ (``inf`` if it never does).

        For the symbolic-depth solution give ``depth``: the general (Lerch) form is evaluated at
        it (``σ_0 ≤ σ < s``).

        Examples
        --------
        >>> round(solve_flow(3).time(0.5, target=1, sigma0=0.01), 11)
        3.76803678108
        >>> round(solve_flow().time(0.5, target=1, sigma0=0.01, depth=3), 11)
        3.76803678108
        """
        if self.depth is N:
            if depth is None:
                raise InputError("the symbolic-depth solution needs depth=... to give numbers")
            n = check_depth(depth, symbolic=False)
            s, s0, x = _number(target, "target"), _number(sigma0, "sigma0"), _number(sigma, "sigma")
            if n == 2 or not (0 < s0 <= x < s):
                raise InputError("the general form holds for depth != 2 and 0 < sigma0 <= sigma "
                                 "< target; use solve_flow(depth) otherwise")
            v = self.time_expr.xreplace({N: n, S: s, SIGMA0: s0, SIGMA: x})
            return float(sp.re(sp.N(v, 30)))
        s, s0 = self._check(target, sigma0)
        x = _number(sigma, "sigma")
        if s0 == 0 and self.depth >= 2:
            return 0.0 if x == 0 else float("inf")
        if (x - s) * (s0 - s) <= 0 and x != s0:
            return float("inf") if (x == s or (x - s) * (s0 - s) < 0 or s0 == s) else 0.0
        if x == s0:
            return 0.0
        return float(self._time_fn()(x, s, s0))

    @property
    def uses_quadrature(self) -> bool:
        """True when SymPy's antiderivative is a ``RootSum`` (e.g. depth 7): t(σ) is then
        evaluated by mpmath quadrature of the integrand instead."""
        return self.time_expr.has(sp.RootSum)

    @functools.cached_property
    def _time_lambda(self) -> Any:
        if not self.uses_quadrature:
            return sp.lambdify((SIGMA, S, SIGMA0), self.time_expr, modules="mpmath")
        n = self.depth

        def by_quadrature(x: Any, s: Any, s0: Any) -> Any:
            return mpmath.quad(lambda v: 1 / (n * v ** (2 - mpmath.mpf(2) / n) * (s - v)), [s0, x])
        return by_quadrature

    def _time_fn(self) -> Any:
        f = self._time_lambda

        def fn(x: Any, s: Any, s0: Any) -> Any:
            with mpmath.workdps(40):
                return mpmath.re(f(_mp(x), _mp(s), _mp(s0)))
        return fn

    def sigma_at(self, t: Any, *, target: Any, sigma0: Any) -> float:
        """σ(t): the closed form, or the implicit solution inverted by bisection (mpmath).

        Examples
        --------
        >>> round(solve_flow(2).sigma_at(2, target=3, sigma0=0.001), 10)
        2.9457206986
        """
        s, s0 = self._check(target, sigma0)
        tv = _number(t, "t")
        if tv < 0:
            raise InputError(f"the time must be non-negative, got {t}")
        if s0 == s or tv == 0 or (s0 == 0 and self.depth >= 2):
            return float(s0)
        if self.is_closed_form:
            with mpmath.workdps(40):
                v = self.sigma_expr.xreplace({T: tv, S: s, SIGMA0: s0})
                return float(sp.N(v, 30))
        return float(self._invert(float(tv), s, s0))

    def _invert(self, tv: float, s: sp.Expr, s0: sp.Expr) -> mpmath.mpf:
        """Bisection on q = −log|1 − σ/s| ∈ [q0, ∞), where t is increasing in q."""
        f = self._time_lambda
        with mpmath.workdps(40):
            sm, s0m = _mp(s), _mp(s0)
            sign = 1 if s0m < sm else -1
            q0 = -mpmath.log(abs(1 - s0m / sm))

            def sig(q: Any) -> Any:
                return sm * (1 - sign * mpmath.exp(-q))

            def tt(q: Any) -> Any:
                return mpmath.re(f(sig(q), sm, s0m))

            lo, hi = q0, q0 + 1
            while tt(hi) < tv:
                lo, hi = hi, q0 + 2 * (hi - q0)
                if hi - q0 > 1e6:  # pragma: no cover - t beyond any representable approach
                    return sm
            for _ in range(200):
                mid = (lo + hi) / 2
                if tt(mid) < tv:
                    lo = mid
                else:
                    hi = mid
                if hi - lo < mpmath.mpf(10) ** -30 * max(1, abs(hi)):
                    break
            return sig((lo + hi) / 2)

    def to_latex(self) -> str:
        flow = r"\dot\sigma = " + _latex(self.flow.rhs) if self.flow is not None else ""
        if self.is_closed_form:
            body = r"\sigma(t) = " + _latex(self.sigma_expr)
        else:
            body = r"t(\sigma) = " + _latex(self.time_expr)
        return flow + r",\qquad " + body + r",\quad \sigma(0) = \sigma_0" if flow else body

    def __str__(self) -> str:
        if self.is_closed_form:
            return f"σ(t) = {sp.sstr(self.sigma_expr)}   [closed form, depth {self.depth}]"
        return f"t(σ) = {sp.sstr(self.time_expr)}   [implicit, depth {self.depth}]"

    def to_dict_body(self) -> dict[str, Any]:
        return {"depth": sp.sstr(self.depth), "kind": self.kind,
                "flow": None if self.flow is None else self.flow.to_dict_body(),
                "sigma": None if self.sigma_expr is None else sp.sstr(self.sigma_expr),
                "time": sp.sstr(self.time_expr), "antiderivative": sp.sstr(self.antiderivative),
                "latex": self.to_latex(), "references": list(REFERENCES[2:])}


def solve_flow(depth: Any = N) -> FlowSolution:
    r"""Solve the scalar flow of whitened regression ``σ̇ = N σ^{2−2/N}(s − σ)``, ``σ(0) = σ_0``.

    Depth 1 and 2: ``dsolve`` gives σ(t) (exponential relaxation; Saxe's logistic curve).
    Every depth: the implicit solution

    .. math:: t(\sigma) = \int_{\sigma_0}^{\sigma}\frac{dv}{N v^{2-2/N}(s-v)}
              = s^{-(2-2/N)}\Big[\Phi_N\big((\sigma/s)^{1/N}\big)\Big]_{\sigma_0}^{\sigma},
              \qquad \Phi_N(w) = \int\frac{dw}{w^{N-1}(1-w^N)},

    by SymPy's rational-function integration (checked by differentiation; logarithms taken of
    absolute values so that it holds for σ_0 > s too).  For symbolic ``N`` SymPy integrates
    ``x^{p-1}/(1−x)`` to ``x^p Φ(x, 1, p)`` (Lerch), ``p = 2/N − 1`` (``N ≠ 2``, ``x = σ/s < 1``).

    Parameters
    ----------
    depth : int or :data:`N`

    Returns
    -------
    FlowSolution

    References
    ----------
    .. [1] Saxe, McClelland, Ganguli, ICLR 2014 (``formulas.md`` §5.4).

    Examples
    --------
    >>> print(solve_flow(1))
    σ(t) = s + (-s + sigma_0)*exp(-t)   [closed form, depth 1]
    >>> solve_flow(3).kind
    'implicit'
    """
    return _solve_flow(depth if depth is N else check_depth(depth, symbolic=False))


@functools.lru_cache(maxsize=32)
def _solve_flow(depth: Any) -> FlowSolution:
    if depth is N:
        F = _general_antiderivative()
        x, x0 = SIGMA / S, SIGMA0 / S
        texpr = S ** (-(2 - 2 / N)) / N * (F.xreplace({_X: x}) - F.xreplace({_X: x0}))
        return FlowSolution(N, "implicit", None, texpr, F, singular_value_flow().whitened())
    n = depth
    F = _antiderivative(n)
    w, w0 = (SIGMA / S) ** sp.Rational(1, n), (SIGMA0 / S) ** sp.Rational(1, n)
    texpr = S ** (-(2 - sp.Rational(2, n))) * (F.xreplace({_W: w}) - F.xreplace({_W: w0}))
    closed = _closed_form(n) if n <= 2 else None
    return FlowSolution(n, "closed form" if closed is not None else "implicit", closed,
                        texpr, F, singular_value_flow(n).whitened())


def singular_value_at(depth: int, target: Any, sigma0: Any, t: Any) -> float:
    """σ(t) of one mode of whitened regression (closed form or implicit solution).

    Examples
    --------
    >>> round(singular_value_at(1, 2, 0, 1.0), 12)      # 2 (1 - e^{-1})
    1.264241117657
    """
    return solve_flow(check_depth(depth, symbolic=False)).sigma_at(t, target=target, sigma0=sigma0)

