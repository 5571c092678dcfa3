r"""How a mode of whitened regression is learned: the time to learn and one mode's solution (symbolic).

The time for a mode to go from ``σ_0`` to a fraction of its target singular value and its
small-initialization asymptotics (:func:`time_to_learn`: incremental, low-rank learning), and
everything about one mode at once -- flow, solution, ``σ(t)`` and time to learn
(:func:`mode_solution`, used by ``ibsym spectral``).  SymPy and mpmath only.

Examples
--------
>>> time_to_learn(3).leading
1/(s*sigma_0**(1/3))
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sympy as sp

from ibsym.core.errors import InputError
from ibsym.core.results import Result
from ibsym.deep_linear.flows import SingularValueFlow
from ibsym.deep_linear.solutions import FlowSolution, solve_flow
from ibsym.deep_linear.symbols import (N, REFERENCES, S, SIGMA, SIGMA0, _latex, _number, _tidy,
                                       check_depth)

__all__ = ["TimeToLearn", "time_to_learn", "ModeSolution", "mode_solution"]


# ============================================================================ time to learn
@dataclass(frozen=True)
class TimeToLearn(Result):
    r"""Time for a mode to go from ``σ_0`` to ``f·s`` and its small-initialization asymptotics.

    Attributes
    ----------
    depth : int or sympy.Symbol
    fraction : sympy.Rational
    expr : sympy.Expr
        ``t(σ_0)`` exactly (integer depth) or through the general-``N`` antiderivative.
    leading : sympy.Expr
        The leading term as ``σ_0 → 0``: ``ln(1/(1−f))`` (N = 1),
        ``ln(1/σ_0)/(2s)`` (N = 2), ``σ_0^{−(N−2)/N}/((N−2)s)`` (N ≥ 3).
    exponent : sympy.Expr
        d log t / d log σ_0 of the leading term (0 for N ≤ 2, ``−(N−2)/N`` for N ≥ 3).
    """

    schema = "time-to-learn"
    depth: Any = N
    fraction: Any = sp.Rational(1, 2)
    expr: Any = None
    leading: Any = None
    exponent: Any = None

    def __repr__(self) -> str:
        return f"TimeToLearn(depth={self.depth}, fraction={self.fraction})"

    def evaluate(self, *, target: Any, sigma0: Any) -> float:
        """The exact time (integer depth).

        Examples
        --------
        >>> round(time_to_learn(2).evaluate(target=1, sigma0=0.01), 11)
        2.29755992507
        """
        if self.depth is N:
            raise InputError("evaluate needs an integer depth")
        sol = solve_flow(self.depth)
        return sol.time(self.fraction * _number(target, "target"), target=target, sigma0=sigma0)

    def asymptotic(self, *, target: Any, sigma0: Any) -> float:
        """The leading term at given values."""
        v = self.leading.xreplace({S: _number(target, "target"), SIGMA0: _number(sigma0, "sigma0"),
                                   **({N: self.depth} if self.depth is not N else {})})
        return float(sp.N(v, 20))

    def transition_width(self, *, target: Any, lo: Any = sp.Rational(1, 10),
                         hi: Any = sp.Rational(9, 10)) -> float:
        """Time from ``lo·s`` to ``hi·s``: independent of σ_0 (autonomous flow)."""
        s = _number(target, "target")
        return solve_flow(self.depth).time(_number(hi, "hi") * s, target=s,
                                           sigma0=_number(lo, "lo") * s)

    def to_latex(self) -> str:
        f = sp.latex(self.fraction)
        return (r"t_{" + f + r"}(\sigma_0) \sim " + _latex(self.leading)
                + r"\quad (\sigma_0 \to 0)")

    def __str__(self) -> str:
        return (f"t(σ0 → {self.fraction}·s) ~ {sp.sstr(self.leading)}  as σ0 → 0  "
                f"[depth {self.depth}; d log t/d log σ0 → {sp.sstr(self.exponent)}]")

    def to_dict_body(self) -> dict[str, Any]:
        return {"depth": sp.sstr(self.depth), "fraction": sp.sstr(self.fraction),
                "expr": sp.sstr(self.expr), "leading": sp.sstr(self.leading),
                "exponent": sp.sstr(self.exponent), "latex": self.to_latex(), "text": str(self)}


def _leading_general(depth: Any, f: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    """Leading σ_0 → 0 behaviour of t(σ_0 → f s) from the integrand's behaviour at 0."""
    v = sp.Symbol("v", positive=True)
    integrand = 1 / (depth * v ** (2 - sp.Integer(2) / depth) * (S - v))
    c0 = sp.limit(integrand * v ** (2 - sp.Integer(2) / depth), v, 0)   # = 1/(N s)
    if depth is N:
        # ∫_{σ0} c0 v^{-(2-2/N)} dv: the σ0-dependent part for N > 2
        lead = sp.simplify(-sp.integrate(c0 * v ** (sp.Integer(2) / depth - 2), v).xreplace({v: SIGMA0}))
        if isinstance(lead, sp.Piecewise):       # branches N ≠ 2 and N = 2: keep N ≥ 3
            lead = next(e for e, c in lead.args if c.xreplace({N: 3}) == sp.true)
        return _tidy(lead), sp.simplify(sp.Integer(2) / depth - 1)
    if depth == 1:
        lead = sp.limit(solve_flow(1).time_expr.xreplace({SIGMA: f * S}), SIGMA0, 0)
        return sp.simplify(lead), sp.Integer(0)
    if depth == 2:
        lead = sp.simplify(sp.integrate(c0 / v, (v, SIGMA0, 1)))   # ∫ dv/(2 s v) → log(1/σ0)/(2s)
        lead = sp.simplify(-sp.log(SIGMA0) / (2 * S)) if lead.has(sp.log) else lead
        return lead, sp.Integer(0)
    lead = sp.simplify(-sp.integrate(c0 * v ** (sp.Rational(2, depth) - 2), v).xreplace({v: SIGMA0}))
    return lead, sp.Rational(2, depth) - 1


def time_to_learn(depth: Any = N, *, fraction: Any = sp.Rational(1, 2)) -> TimeToLearn:
    r"""Time for a mode of whitened regression to learn ``fraction`` of its target.

    The leading behaviour as ``σ_0 → 0`` (derived from the integrand ``1/(N v^{2−2/N}(s−v))``
    near 0, whose coefficient ``1/(Ns)`` SymPy finds as a limit) is the mechanism of
    incremental learning: the time is inversely proportional to ``s``, so modes are learned
    in the order of their singular values, and for ``N ≥ 3`` it grows like
    ``σ_0^{−(N−2)/N}`` while the transition itself (``0.1 s → 0.9 s``) takes a time independent
    of ``σ_0``: the deeper the network and the smaller the initialization, the sharper the
    separation between modes.

    Parameters
    ----------
    depth : int or :data:`N`
    fraction : number, default 1/2

    Returns
    -------
    TimeToLearn

    Examples
    --------
    >>> time_to_learn(3).leading
    1/(s*sigma_0**(1/3))
    >>> time_to_learn().exponent
    (2 - N)/N
    >>> time_to_learn(2).leading
    -log(sigma_0)/(2*s)
    """
    f = _number(fraction, "fraction")
    if not 0 < f < 1:
        raise InputError(f"fraction must lie strictly between 0 and 1, got {fraction}")
    if depth is N:
        sol = solve_flow(N)
        lead, ex = _leading_general(N, f)
        return TimeToLearn(N, f, sol.time_expr.xreplace({SIGMA: f * S}), lead, ex)
    n = check_depth(depth, symbolic=False)
    sol = solve_flow(n)
    lead, ex = _leading_general(n, f)
    return TimeToLearn(n, f, sp.simplify(sol.time_expr.xreplace({SIGMA: f * S})), lead, ex)



# ============================================================================ one mode
@dataclass(frozen=True)
class ModeSolution(Result):
    r"""One mode of whitened regression ``L = ½‖W − Φ‖²`` (target singular value ``s``) from a
    balanced initialization with end-to-end singular value ``σ_0``: flow, solution, ``σ(t)``
    and the time to learn ``fraction·s``.

    Attributes
    ----------
    depth : int
    target, sigma0 : sympy.Expr
    t : sympy.Expr or None
    sigma : float or None
        ``σ(t)``.
    method : str
        How ``σ(t)`` was obtained.
    solution : FlowSolution
    learn : TimeToLearn
    time_to_learn : float
        Time to reach ``fraction·s`` from ``σ_0`` (``inf`` if never).
    """

    schema = "spectral"
    depth: int = 1
    target: Any = sp.Integer(1)
    sigma0: Any = sp.Integer(0)
    t: Any = None
    sigma: float | None = None
    method: str = ""
    solution: FlowSolution = None
    learn: TimeToLearn = None
    time_to_learn: float = 0.0

    def __repr__(self) -> str:
        return (f"ModeSolution(depth={self.depth}, target={self.target}, sigma0={self.sigma0}, "
                f"t={self.t})")

    def flow(self) -> SingularValueFlow:
        """The flow with the target substituted."""
        f = self.solution.flow
        return SingularValueFlow(f.depth, f.rhs.xreplace({S: self.target}), "whitened")

    def flow_text(self) -> str:
        return str(self.flow())

    def _solution_expr(self) -> sp.Expr:
        sol = self.solution
        rep = {S: self.target, SIGMA0: self.sigma0}
        if sol.is_closed_form:
            return sp.simplify(sol.sigma_expr.xreplace(rep))
        return sol.time_expr.xreplace(rep)

    def to_latex(self) -> str:
        parts = [self.flow().to_latex()]
        if self.solution.is_closed_form:
            parts.append(r"\sigma(t) = " + _latex(self._solution_expr()))
        else:
            parts.append(r"t(\sigma) = " + _latex(self._solution_expr()))
        if self.sigma is not None:
            parts.append(r"\sigma(" + sp.latex(self.t) + r") = " + f"{self.sigma:.12g}")
        return r",\qquad ".join(parts)

    def __str__(self) -> str:
        lines = [f"{self.flow_text()},  σ(0) = {self.sigma0}   [depth {self.depth}, "
                 f"target s = {self.target}]"]
        if self.solution.is_closed_form:
            lines.append(f"σ(t) = {sp.sstr(self._solution_expr())}   [closed form]")
        else:
            lines.append(f"t(σ) = {sp.sstr(self._solution_expr())}   [implicit]")
        if self.sigma is not None:
            lines.append(f"σ({self.t}) = {self.sigma:.12g}   ({self.method})")
        lines.append(f"time to reach {self.learn.fraction}·s: {self.time_to_learn:.12g}; "
                     f"as σ0 → 0: {sp.sstr(self.learn.leading)}")
        return "\n".join(lines)

    def to_dict_body(self) -> dict[str, Any]:
        flow = self.flow()
        return {"depth": self.depth, "target": float(self.target), "sigma0": float(self.sigma0),
                "t": None if self.t is None else float(self.t), "sigma": self.sigma,
                "method": self.method, "flow": flow.to_dict_body()["rhs"],
                "flow_latex": flow.to_latex(), "solution_kind": self.solution.kind,
                "solution_latex": self.to_latex(), "fraction": float(self.learn.fraction),
                "time_to_learn": self.time_to_learn,
                "time_to_learn_leading": sp.sstr(self.learn.leading),
                "time_to_learn_exponent": sp.sstr(self.learn.exponent),
                "references": list(REFERENCES)}


def mode_solution(depth: int, target: Any, sigma0: Any, t: Any = None, *,
                  fraction: Any = sp.Rational(1, 2)) -> ModeSolution:
    """σ(t) of a mode of whitened regression, with its flow, solution and time to learn.

    Parameters
    ----------
    depth : int
    target : number or str
        Target singular value ``s > 0``.
    sigma0 : number or str
        Initial end-to-end singular value ``σ_0 ≥ 0`` (balanced initialization).
    t : number or str, optional
    fraction : number, default 1/2

    Examples
    --------
    >>> m = mode_solution(3, 1, "0.01", 3)
    >>> m.solution.kind, round(m.sigma, 8)
    ('implicit', 0.17518460)
    >>> round(m.time_to_learn, 8)
    3.76803678
    """
    n = check_depth(depth, symbolic=False)
    s, s0 = _number(target, "target"), _number(sigma0, "sigma0")
    sol = solve_flow(n)
    sol._check(s, s0)
    learn = time_to_learn(n, fraction=fraction)
    ttl = sol.time(learn.fraction * s, target=s, sigma0=s0)
    sigma, method, tv = None, "", None
    if t is not None:
        tv = _number(t, "t")
        sigma = sol.sigma_at(tv, target=s, sigma0=s0)
        if s0 == 0 and n >= 2:
            method = "σ0 = 0 is a fixed point for depth >= 2 (the origin is a saddle)"
        elif s0 == s:
            method = "σ0 = s is the fixed point"
        elif sol.is_closed_form:
            method = "closed form (SymPy dsolve)"
        elif sol.uses_quadrature:
            method = ("implicit solution t(σ) by mpmath quadrature (SymPy's antiderivative is a "
                      "RootSum), inverted by bisection")
        else:
            method = "implicit solution t(σ) (SymPy integration), inverted by bisection (mpmath)"
    return ModeSolution(n, s, s0, tv, sigma, method, sol, learn, ttl)
