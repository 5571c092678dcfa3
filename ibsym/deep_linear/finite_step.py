r"""What a finite GD step adds to the singular-value flow: the BEA correction (symbolic).

The first-order modified equation of GD on the factorized parameters, from the
backward-error-analysis engine (:func:`ibsym.modified_equation`), reduced to the
singular-value flow on the balanced diagonal, for a concrete depth and for a symbolic depth
``N`` (:func:`finite_step_flow`).  SymPy only.

Examples
--------
>>> print(finite_step_flow(2).flow1)
-sigma*(sigma - 1)*(3*sigma - 1)
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import sympy as sp

from ibsym.core.errors import InputError
from ibsym.core.results import Result
from ibsym.deep_linear.symbols import (N, S, SIGMA, _k, _latex, _number, _on_balanced_diagonal,
                                       _resolve_index_range, _w, check_depth)

__all__ = ["FiniteStepFlow", "finite_step_flow"]


# ============================================================================ BEA bridge
def _factorized_loss(n: int, target: sp.Expr) -> Any:
    from ibsym.core.losses import Loss
    ws = sp.symbols(" ".join(f"w{k}" for k in range(1, n + 1)), real=True)
    ws = ws if isinstance(ws, tuple) else (ws,)
    return Loss((target - sp.Mul(*ws)) ** 2 / 2, tuple(ws), name=f"depth{n}",
                text=f"(s - w_{n}⋯w_1)^2/2 with s = {target}")


def _tree_component(tree: tuple, index: sp.Symbol, depth: Any, fprime: sp.Expr,
                    counter: list[int]) -> sp.Expr:
    """Component ``index`` of the elementary differential E(tree) for ℓ = f(σ), σ = Π_i w_i,
    with symbolic depth: nested Sums over fresh layer indices."""
    def D(expr: sp.Expr, i: sp.Symbol) -> sp.Expr:
        # ∂/∂w_i with σ depending on every w: ∂σ/∂w_i = σ/w_i
        return sp.diff(expr, _w[i]) + sp.diff(expr, SIGMA) * SIGMA / _w[i]

    base = fprime * SIGMA / _w[index]          # ∂ℓ/∂w_index
    out = base
    kids = []
    for child in tree:
        counter[0] += 1
        i = sp.Symbol(f"i{counter[0]}", integer=True, positive=True)
        out = D(out, i)
        kids.append((i, _tree_component(child, i, depth, fprime, counter)))
    for i, comp in kids:
        out = out * comp
    for i, _ in reversed(kids):
        out = sp.Sum(out, (i, 1, depth))
    return out


def _field_on_diagonal(combination: Any, depth: Any, fprime: sp.Expr) -> sp.Expr:
    """σ-rate Σ_k (σ/w_k) F_k of a generic-tree field on the balanced diagonal w_k = σ^{1/N}."""
    total = sp.Integer(0)
    c = SIGMA ** (sp.Integer(1) / depth)
    for tree, coef in combination.terms.items():
        comp = _tree_component(tree, _k, depth, fprime, [0])
        comp = _resolve_index_range(_on_balanced_diagonal(comp, c).doit(), _k)
        total += coef * comp
    # the component is the same for every k (symmetry); Σ_k σ/w_k · F_k = N σ^{1-1/N} F_k
    return sp.factor(sp.simplify(sp.powsimp(sp.expand(depth * SIGMA / c * total), force=True)))


@dataclass(frozen=True)
class FiniteStepFlow(Result):
    r"""First-order modified singular-value flow of GD on a depth-``n`` factorization.

    ``dσ/dt = F_0(σ) + h F_1(σ) + O(h²)`` on the balanced diagonal ``w_k = σ^{1/n}``, for
    ``L = (s − w_n⋯w_1)²/2``.

    Attributes
    ----------
    depth : int
    target : sympy.Expr
    equation : ModifiedEquation
        The BEA engine's result on the layer parameters (``modified_equation("gd", loss, 1)``).
    flow0, flow1 : sympy.Expr
        F_0 and F_1 reduced to σ from the concrete BEA terms.
    general0, general1 : sympy.Expr
        The same for symbolic depth ``N`` and symbolic ``s``: the generic GD field
        (``modified_equation("gd", order=1)``, elementary differentials of ∇L) instantiated on
        the depth-``N`` factorization with symbolic sums over the layers.
    invariant : bool
        Whether the BEA field is the same in every layer on the diagonal (then the balanced
        diagonal is invariant under the modified flow and the reduction is exact).
    """

    schema = "finite-step-singular-value-flow"
    depth: int = 2
    target: Any = sp.Integer(1)
    equation: Any = None
    flow0: Any = None
    flow1: Any = None
    general0: Any = None
    general1: Any = None
    invariant: bool = True

    def __repr__(self) -> str:
        return f"FiniteStepFlow(depth={self.depth}, target={self.target})"

    @property
    def agrees(self) -> bool:
        """Whether the concrete BEA reduction equals the symbolic-depth instantiation."""
        rep = {N: self.depth, S: self.target}
        return all(sp.simplify(sp.powsimp(g.xreplace(rep) - c, force=True)) == 0
                   for g, c in ((self.general0, self.flow0), (self.general1, self.flow1)))

    def rate(self, sigma: float, h: float = 0.0) -> float:
        """F_0(σ) + h F_1(σ)."""
        v = (self.flow0 + _number(h, "h") * self.flow1).xreplace({SIGMA: _number(sigma, "sigma")})
        return float(sp.N(v, 20))

    def to_latex(self) -> str:
        return (r"\frac{d\sigma}{dt} = " + _latex(self.general0) + r" + h\left("
                + _latex(self.general1) + r"\right) + O(h^{2})")

    def concrete_latex(self) -> str:
        return (r"\frac{d\sigma}{dt} = " + _latex(self.flow0) + r" + h\left(" + _latex(self.flow1)
                + r"\right) + O(h^{2}),\quad N = " + str(self.depth) + r",\ s = "
                + sp.latex(self.target))

    def __str__(self) -> str:
        return (f"dσ/dt = {sp.sstr(self.flow0)} + h·({sp.sstr(self.flow1)}) + O(h²)   "
                f"[GD, depth {self.depth}, s = {self.target}; general N: "
                f"{sp.sstr(self.general0)} + h·({sp.sstr(self.general1)})]")

    def to_dict_body(self) -> dict[str, Any]:
        return {"depth": self.depth, "target": sp.sstr(self.target),
                "flow0": sp.sstr(self.flow0), "flow1": sp.sstr(self.flow1),
                "general0": sp.sstr(self.general0), "general1": sp.sstr(self.general1),
                "agrees": self.agrees, "invariant": self.invariant, "latex": self.to_latex(),
                "concrete_latex": self.concrete_latex(),
                "loss": str(self.equation.loss.expr) if self.equation is not None else None,
                "time_variable": "t = n h"}


@functools.lru_cache(maxsize=4)
def _general_finite_step(order: int) -> tuple[sp.Expr, ...]:
    from ibsym.bea.procedure import modified_equation
    generic = modified_equation("gd", order=order)
    fprime = SIGMA - S
    return tuple(_field_on_diagonal(F, N, fprime) for F in generic.terms)


def finite_step_flow(depth: int, target: Any = 1) -> FiniteStepFlow:
    r"""What a finite step size adds to the singular-value flow (GD, first order in h).

    GD on the factorized parameters of ``L = (s − w_n⋯w_1)²/2`` has, by backward error
    analysis (:func:`ibsym.modified_equation`), the modified field ``F_0 + h F_1`` on the
    layers.  Because L is symmetric in the layers, the balanced diagonal ``w_k = σ^{1/n}`` is
    invariant (checked: every component of F_1 is the same there), and the product rule
    ``σ̇ = Σ_k (σ/w_k) θ̇_k`` reduces the field to ``σ``.  The same reduction is done for a
    symbolic depth ``N`` by instantiating the engine's generic result (``−∇L − h/2 ∇²L∇L``) with
    symbolic sums over the layers; the two must agree (:attr:`FiniteStepFlow.agrees`).

    Parameters
    ----------
    depth : int
        Number of layers (1..6: the concrete derivation expands the product).
    target : number, default 1

    Returns
    -------
    FiniteStepFlow

    Examples
    --------
    >>> fs = finite_step_flow(2)
    >>> fs.flow1
    -sigma*(sigma - 1)*(3*sigma - 1)
    >>> fs.general1
    -N*sigma**(3 - 4/N)*(s - sigma)*(N*s - 2*N*sigma - s + sigma)/2
    >>> fs.agrees
    True
    """
    from ibsym.bea.procedure import modified_equation
    n = check_depth(depth, symbolic=False)
    if n > 6:
        raise InputError(f"the concrete BEA derivation is limited to depth <= 6, got {n}")
    s = _number(target, "target")
    if not s > 0:
        raise InputError(f"the target singular value must be positive, got {target}")
    loss = _factorized_loss(n, s)
    eq = modified_equation("gd", loss, order=1)
    c = SIGMA ** sp.Rational(1, n)
    diag = {p: c for p in loss.params}
    rates = []
    invariant = True
    for F in eq.terms:
        comps = [sp.simplify(sp.powsimp(x.xreplace(diag), force=True)) for x in F]
        invariant = invariant and all(sp.simplify(ci - comps[0]) == 0 for ci in comps)
        dsig = [sp.diff(sp.Mul(*loss.params), p).xreplace(diag) for p in loss.params]
        rates.append(sp.factor(sp.simplify(sp.powsimp(sum(a * b for a, b in zip(dsig, comps)),
                                                      force=True))))
    g0, g1 = _general_finite_step(1)[:2]
    return FiniteStepFlow(n, s, eq, rates[0], rates[1], g0, g1, invariant)

