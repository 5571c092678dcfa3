r"""The inverse problem of wide ReLU networks: an initialization for a prescribed penalty (symbolic).

Given ϱ(x), :func:`design_initialization` builds the law of ``(W, B)`` whose curvature penalty
(:func:`ibsym.wide_relu.zeta.curvature_penalty`) is ϱ: breakpoints ``C = -B/W`` drawn from
``ϱ/∫ϱ`` independently of the (scaled) weights (the construction behind Jin & Montúfar's
"Proposition 7").  SymPy only.

Examples
--------
>>> import sympy as sp
>>> from ibsym.wide_relu.zeta import X
>>> design_initialization(sp.exp(-X**2)).realizes_target()
True
"""
from __future__ import annotations

from typing import Any
from dataclasses import dataclass

import sympy as sp

from ibsym.core.errors import InputError
from ibsym.core.results import Result
from ibsym.core.values import as_expr
from ibsym.wide_relu.densities import B, W, Distribution, Initialization, conditional, rademacher
from ibsym.wide_relu.zeta import X, CurvaturePenalty, _is_zero, curvature_penalty

__all__ = ["DesignedInitialization", "design_initialization"]


# ----------------------------------------------------------------------------- inverse problem
@dataclass(frozen=True)
class DesignedInitialization(Result):
    r"""Initialization realizing a prescribed penalty ϱ (the inverse problem).

    With ``C ~ p_C = ϱ / ∫ϱ`` independent of ``W`` and ``B = -W C``:
    ``ζ_k = p_C E[|W|^{2k}]``; the weight law is scaled by ``s`` so that
    ``E[|sW|^{2k}] = ∫ϱ`` and hence ``ζ_k = ϱ`` exactly.

    Attributes
    ----------
    target : sympy.Expr
        ϱ(x).
    breakpoint_density : sympy.Expr
        p_C(x) = ϱ(x) / ∫ϱ.
    mass : sympy.Expr
        ∫ϱ.
    weight : Distribution
        The (scaled) law of W.
    scale : sympy.Expr
        The factor s applied to the base weight law.
    init : Initialization
        The law of (W, B): ``p_{B|W}(b|w) = p_C(-b/w)/|w|``.
    penalty : CurvaturePenalty
        ζ derived from ``init`` by :func:`curvature_penalty` (a closed-loop check).
    """

    schema = "zeta-design"
    target: Any = None
    breakpoint_density: Any = None
    mass: Any = None
    weight: Distribution = None
    scale: Any = 1
    init: Initialization = None
    penalty: CurvaturePenalty = None

    def realizes_target(self) -> bool:
        """Whether ``simplify(ζ - ϱ) == 0``."""
        return self.penalty.closed_form and _is_zero(self.penalty.expr - self.target)

    def to_latex(self) -> str:
        pc = sp.Function("p_C")(X)
        return (sp.latex(sp.Eq(pc, self.breakpoint_density, evaluate=False)) + r",\quad "
                + r"B = -W C,\quad W \sim \text{" + repr(self.weight) + r"},\quad "
                + sp.latex(sp.Eq(sp.Function("zeta")(X), self.penalty.expr, evaluate=False)))

    def __str__(self) -> str:
        return (f"p_C(x) = {sp.sstr(self.breakpoint_density)},  C ~ p_C,  W ~ {self.weight!r},"
                f"  B = -W C  ⇒  {self.penalty}")

    def to_dict_body(self) -> dict[str, Any]:
        return {"target": sp.sstr(self.target), "breakpoint_density": sp.sstr(self.breakpoint_density),
                "mass": sp.sstr(self.mass), "weight": repr(self.weight), "scale": sp.sstr(self.scale),
                "zeta": self.penalty.to_dict_body(), "realizes_target": self.realizes_target(),
                "latex": self.to_latex()}


def _scaled(weight: Distribution, s: sp.Expr) -> Distribution:
    if s == 1:
        return weight
    if weight.is_discrete:
        return Distribution(f"{weight!r}*{sp.sstr(s)}", (),
                            atoms=tuple((v * s, p) for v, p in weight.atoms))
    t = weight.var
    return Distribution(f"{weight!r}*{sp.sstr(s)}", (), weight.density.xreplace({t: t / s}) / s,
                        var=t, breakpoints=tuple(b * s for b in weight.breakpoints))


def design_initialization(target: Any, *, weight: Distribution | None = None, degree: int = 1,
                          exact_scale: bool = True) -> DesignedInitialization:
    r"""Inverse problem: an initialization whose curvature penalty is a prescribed ϱ(x).

    Parameters
    ----------
    target : sympy.Expr
        ϱ(x) ≥ 0 in :data:`X` with finite ``∫ϱ`` (e.g. ``exp(-x**2)``).
    weight : Distribution, default rademacher()
        Law of the input weights (independent of the breakpoints).
    degree : int, default 1
    exact_scale : bool, default True
        Scale the weights so that ζ = ϱ exactly (otherwise ζ = ϱ E[|W|^{2k}]/∫ϱ).

    Notes
    -----
    If the breakpoint ``C = -B/W`` is independent of ``W`` then
    ``ζ_k(x) = p_C(x) E[|W|^{2k}]`` (formulas.md §6.1), so ``p_C = ϱ/∫ϱ``: draw
    ``C ~ p_C``, ``W`` from its law and set ``B = -W C``.  This is the construction
    behind Jin & Montúfar's "Proposition 7"; the proposition's exact wording could not
    be checked here.  Samplers: :func:`ibsym.wide_relu.networks.sample_initialization`.

    Examples
    --------
    >>> d = design_initialization(sp.exp(-X**2))
    >>> d.breakpoint_density
    exp(-x**2)/sqrt(pi)
    >>> d.realizes_target()
    True
    """
    target = as_expr(target, what="target penalty", names={"x": X}, allow_free_names=True)
    if any(s.name == "x" for s in target.free_symbols) and X not in target.free_symbols:
        target = target.xreplace({s: X for s in target.free_symbols if s.name == "x"})
    weight = weight if weight is not None else rademacher()
    mass = sp.simplify(sp.integrate(target, (X, -sp.oo, sp.oo)).rewrite(sp.erf))
    if mass.has(sp.oo, sp.zoo, sp.nan, sp.Integral) or (mass.is_number and not mass > 0):
        raise InputError(f"the target penalty must have a finite positive integral; ∫ϱ = {mass}. "
                         "Restrict it to an interval, e.g. Piecewise((1, Abs(x) < 2), (0, True))")
    pc = sp.simplify(target / mass)
    m = weight.moment(2 * degree, absolute=True)
    s = sp.simplify((mass / m) ** sp.Rational(1, 2 * degree)) if exact_scale else sp.Integer(1)
    w = _scaled(weight, s)
    cond = pc.xreplace({X: -B / W}) / sp.Abs(W)
    init = conditional(w, cond, label=f"C ~ {sp.sstr(pc)}, W ~ {w!r}, B = -W C")
    pen = curvature_penalty(init, degree=degree)
    return DesignedInitialization(target, pc, mass, w, s, init, pen)
