"""Gradient structure of modified equations and the modified loss.

For each order j we decide whether the correction F_j is a gradient field,
F_j = −∇Φ_j, and give Φ_j when it is -- so that the modified flow is the
gradient flow of a *modified loss* L̃ = Φ_0 + hΦ_1 + h²Φ_2 + …

* Generic results (∇L notation): Φ_j is sought as a combination of scalar
  tree functionals (L, ‖∇L‖², ∇Lᵀ∇²L∇L, ∇³L(∇L,∇L,∇L), …); the gradient of the
  functional of a free tree is the sum of the tree rooted at each node, which
  turns the question into an exact linear system.  When it has no solution the
  field is shown *not* to be a gradient by a witness: a concrete loss on which
  the instantiated F_j has an asymmetric Jacobian (an exact computation).
* Concrete results: the Jacobian of F_j is checked for symmetry exactly in the
  differential ring (simplification, then seeded numerical evaluation when
  transcendental atoms leave the ring test undecided).  Potentials come from
  the generic result instantiated on the loss (and are checked), or from the
  radial homotopy integral Φ(θ) = −∫₀¹ F(tθ)·θ dt for polynomial fields.

Examples
--------
>>> from ibsym import modified_equation
>>> eq = modified_equation("gd", order=2)
>>> [a.is_gradient for a in eq.gradient_analysis()]
[True, True, False]
"""
from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from typing import Any

import sympy as sp

from ibsym.core.errors import InputError
from ibsym.core.results import Result
from ibsym.bea.trees import (Combination, free_trees, instantiate_scalar, instantiate_tree,
                    reroot_all, rooted_trees)

__all__ = ["GradientCheck", "ModifiedLoss", "analyse_gradient_structure", "modified_loss",
           "tree_potential", "WITNESS_LOSS"]

_a, _b = sp.symbols("a b", real=True)
#: Concrete loss used to exhibit non-gradient generic corrections.
WITNESS_LOSS = (_a ** 4 / 12 + _a ** 2 * _b / 2 + _a * _b ** 3 / 6 + _b ** 2 / 2, (_a, _b))
_WITNESS_POINTS = [(sp.Rational(1, 2), sp.Rational(1, 3)), (sp.Rational(-2, 3), sp.Rational(3, 4)),
                   (sp.Integer(1), sp.Rational(-1, 2))]


@dataclass(frozen=True)
class GradientCheck:
    """Whether F_j is a gradient field.

    Attributes
    ----------
    order : int
    is_gradient : bool or None
        None when undecided.
    potential : sympy.Expr, Combination or None
        Φ_j with F_j = −∇Φ_j.
    method : str
        How it was decided.
    witness : str or None
        For a non-gradient field: where its Jacobian is asymmetric.
    """

    order: int
    is_gradient: bool | None
    potential: Any
    method: str
    witness: str | None = None

    @property
    def text(self) -> str:
        """One plain sentence."""
        if self.is_gradient:
            pot = "" if self.potential is None else f" F_{self.order} = −∇({self.potential})"
            return f"order {self.order}: gradient field;{pot} [{self.method}]"
        if self.is_gradient is False:
            return (f"order {self.order}: NOT a gradient field -- no modified loss exists at this "
                    f"order; {self.witness} [{self.method}]")
        return f"order {self.order}: undecided whether F_{self.order} is a gradient [{self.method}]"

    def to_dict(self) -> dict[str, Any]:
        pot = self.potential
        if isinstance(pot, Combination):
            pot_json: Any = pot.to_dict()
            pot_latex = pot.to_latex()
        elif pot is None:
            pot_json, pot_latex = None, None
        else:
            pot_json, pot_latex = str(pot), sp.latex(pot)
        return {"order": self.order, "is_gradient": self.is_gradient, "potential": pot_json,
                "potential_latex": pot_latex, "method": self.method, "witness": self.witness,
                "text": self.text}


# ---------------------------------------------------------------------------------------
def tree_potential(F: Combination, n: int) -> Combination | None:
    """Φ (scalar tree combination) with −∇Φ = F for a field of n-node trees, or None."""
    if not F:
        return Combination(scalar=True)
    frees = free_trees(n)
    rooted = rooted_trees(n)
    a = sp.symbols(f"a0:{len(frees)}")
    counts = [Counter(reroot_all(T)) for T in frees]
    eqs = [sum((a[i] * counts[i][tau] for i in range(len(frees))), sp.Integer(0))
           + F.coefficient(tau) for tau in rooted]
    sol = sp.linsolve(eqs, a)
    if not sol:
        return None
    (vals,) = tuple(sol)
    vals = [v.subs({s: 0 for s in a}) for v in vals]  # free choices (none expected) set to 0
    return Combination({T: sp.factor(v) for T, v in zip(frees, vals)}, scalar=True)


def _generic_witness(F: Combination) -> str | None:
    expr, params = WITNESS_LOSS
    grad = [sp.diff(expr, p) for p in params]
    cache: dict = {}
    field = [sp.Integer(0)] * len(params)
    for t, c in F.terms.items():
        v = instantiate_tree(t, grad, params, cache)
        field = [f + c * x for f, x in zip(field, v)]
    asym = sp.expand(sp.diff(field[0], params[1]) - sp.diff(field[1], params[0]))
    for pt in _WITNESS_POINTS:
        val = asym.subs(dict(zip(params, pt)))
        if val.free_symbols:  # hyper-parameters: check they do not make it vanish identically
            if sp.simplify(val) == 0:
                continue
        elif val == 0:
            continue
        return (f"for L = {expr}, ∂(F)_a/∂b − ∂(F)_b/∂a = {sp.simplify(val)} ≠ 0 at "
                f"(a, b) = ({pt[0]}, {pt[1]})")
    return None


def _analyse_generic(eq: Any) -> list[GradientCheck]:
    out = []
    for j, F in enumerate(eq.terms):
        pot = tree_potential(F, j + 1)
        if pot is not None:
            out.append(GradientCheck(j, True, pot, "exact: linear system over tree functionals"))
            continue
        w = _generic_witness(F)
        if w is not None:
            out.append(GradientCheck(j, False, None, "exact: asymmetric Jacobian on a witness loss",
                                     witness=w))
        else:
            out.append(GradientCheck(j, None, None, "no tree potential, no witness found"))
    return out


# ---------------------------------------------------------------------------------------
def _asymmetry(alg: Any, F: tuple) -> list[tuple[int, int, Any]]:
    R = alg.ring
    out = []
    for i in range(alg.d):
        for k in range(i + 1, alg.d):
            diff = R.diff(F[i], k) - R.diff(F[k], i)
            if diff:
                out.append((i, k, diff))
    return out


def _numeric_nonzero(alg: Any, p: Any, seed: int = 0) -> tuple[bool, str]:
    expr = alg.ring.to_sympy(p)
    rng = random.Random(seed)
    free_hyper = [s for s in expr.free_symbols if s not in alg.params]
    for _ in range(6):
        pt = {q: sp.Rational(rng.randint(-90, 90), 60) for q in alg.params}
        pt.update({s: sp.Rational(rng.randint(10, 90), 100) for s in free_hyper})
        try:
            val = complex(sp.N(expr.xreplace(pt), 30))
        except (TypeError, ValueError):
            continue
        if abs(val) > 1e-12 * (1 + abs(val)):
            where = ", ".join(f"{k}={v}" for k, v in pt.items())
            return True, f"{val.real:.6g} at {where}"
    return False, ""


def _numerically_zero(exprs: list, params: tuple, seed: int = 1) -> bool:
    rng = random.Random(seed)
    for _ in range(4):
        pt = {q: sp.Rational(rng.randint(-90, 90), 70) for q in params}
        for e in exprs:
            v = sp.N(e.xreplace(pt), 40)
            if v.free_symbols or abs(complex(v)) > 1e-30:
                return False
    return True


def _concrete_potential(eq: Any, j: int, generic: list | None) -> tuple[Any, str]:
    alg, F = eq._algebra, eq._raw[j]
    R = alg.ring
    # 1) the generic potential instantiated on the loss, then checked
    if generic is not None and j < len(generic) and generic[j].is_gradient:
        pot = generic[j].potential
        expr = eq.loss.expr
        grad = [sp.diff(expr, p) for p in eq.params]
        phi = sum((c * instantiate_scalar(T, expr, grad, eq.params) for T, c in pot.terms.items()),
                  sp.Integer(0))
        try:
            phir = R.from_sympy(phi)
            ok = all(not (R.diff(phir, i) + F[i]) for i in range(alg.d))
            how = "generic tree potential instantiated; −∇Φ = F checked exactly"
        except KeyError:
            ok = False
        if not ok:
            resid = [sp.diff(phi, p) + R.to_sympy(F[i]) for i, p in enumerate(eq.params)]
            ok = _numerically_zero(resid, eq.params)
            how = "generic tree potential instantiated; −∇Φ = F checked at 4 points (40 digits)"
        if ok:
            return _readable(phi), how
    # 2) polynomial fields: radial homotopy
    if R.is_polynomial:
        from sympy.polys.domains import QQ
        phi = R.zero
        for i in range(alg.d):
            prod = F[i] * alg.ring.param_gens[i]
            for mon, c in prod.terms():
                deg = sum(mon[: alg.d])
                phi -= R.ring({mon: c}) * QQ(1, deg) if deg else R.zero
        if all(not (R.diff(phi, i) + F[i]) for i in range(alg.d)):
            return sp.factor(R.to_sympy(phi)), "radial homotopy integral (exact)"
    return None, "no closed-form potential found"


def _readable(e: sp.Expr) -> sp.Expr:
    if e.is_polynomial():
        return sp.factor(e)
    return sp.simplify(e) if sp.count_ops(e) < 60 else e


def _analyse_concrete(eq: Any) -> list[GradientCheck]:
    alg = eq._algebra
    generic = None
    try:
        from ibsym.bea.procedure import modified_equation
        g_eq = modified_equation(eq.optimizer, None, eq.order)
        generic = _analyse_generic(g_eq)
    except InputError:
        generic = None
    out = []
    for j, F in enumerate(eq._raw):
        asym = _asymmetry(alg, F)
        verdict: bool | None = True
        witness = None
        method = "exact: Jacobian symmetric in the differential ring"
        if asym and alg.ring.is_polynomial:
            i, k, p = asym[0]
            e = alg.ring.to_sympy(p)
            pt = {q: sp.Rational(1, 2 + n) for n, q in enumerate(alg.params)}
            val = e.xreplace(pt)
            witness = (f"∂(F_{j})_{alg.params[i]}/∂{alg.params[k]} − ∂(F_{j})_{alg.params[k]}"
                       f"/∂{alg.params[i]} = {sp.factor(e)} ≢ 0"
                       + (f" (= {val} at {pt})" if val != 0 else ""))
            verdict, method = False, "exact: Jacobian asymmetric (polynomial)"
        elif asym:
            if generic is not None and generic[j].is_gradient:
                method = ("exact: instance of a generic gradient field (the ring test is "
                          "inconclusive with transcendental atoms)")
            else:
                for i, k, p in asym:
                    nz, where = _numeric_nonzero(alg, p)
                    if nz:
                        witness = (f"∂(F_{j})_{alg.params[i]}/∂{alg.params[k]} − "
                                   f"∂(F_{j})_{alg.params[k]}/∂{alg.params[i]} = {where}")
                        verdict = False
                        method = "numeric: Jacobian asymmetric at a point (30 digits)"
                        break
                else:
                    verdict = None
                    method = "numeric: Jacobian symmetric at 6 random points (not proved)"
        if verdict is False:
            out.append(GradientCheck(j, False, None, method, witness=witness))
        else:
            pot, how = _concrete_potential(eq, j, generic)
            out.append(GradientCheck(j, verdict, pot, f"{method}; potential: {how}"))
    return out


def analyse_gradient_structure(eq: Any) -> tuple[GradientCheck, ...]:
    """Gradient checks for every order of a :class:`~ibsym.bea.equations.ModifiedEquation`."""
    if eq.is_generic:
        return tuple(_analyse_generic(eq))
    return tuple(_analyse_concrete(eq))


# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ModifiedLoss(Result):
    """L̃ = Φ_0 + hΦ_1 + … + h^J Φ_J, the loss whose gradient flow is the modified flow.

    ``valid_order`` is J: the corrections F_0..F_J are gradient fields; ``note``
    says what happens at order J+1 when that is within the derivation.
    """

    schema = "modified-loss"

    potentials: tuple
    valid_order: int
    derived_order: int
    generic: bool
    note: str = ""

    @property
    def expr(self) -> sp.Expr:
        """The modified loss as one SymPy expression (concrete results)."""
        if self.generic:
            raise InputError("a generic modified loss is a combination of tree functionals; "
                             "use .potentials")
        h = sp.Symbol("h", positive=True)
        return sum((p * h ** j for j, p in enumerate(self.potentials)), sp.Integer(0))

    @property
    def text(self) -> str:
        from ibsym.bea.equations import h_power_text
        parts = []
        for j, p in enumerate(self.potentials):
            s = str(p) if self.generic else sp.sstr(p)
            parts.append(s if j == 0 else f"{h_power_text(j)}·({s})")
        return "L̃ = " + " + ".join(parts) + f" + O({h_power_text(self.valid_order + 1)})"

    def __str__(self) -> str:
        return self.text + (f"\n  {self.note}" if self.note else "")

    def to_latex(self) -> str:
        parts = []
        for j, p in enumerate(self.potentials):
            s = p.to_latex() if self.generic else sp.latex(p)
            hp = "" if j == 0 else ("h" if j == 1 else f"h^{{{j}}}")
            parts.append(s if j == 0 else f"{hp}\\left({s}\\right)")
        return r"\tilde L = " + " + ".join(parts) + f" + O(h^{{{self.valid_order + 1}}})"

    def to_dict_body(self) -> dict[str, Any]:
        return {"valid_order": self.valid_order, "derived_order": self.derived_order,
                "generic": self.generic,
                "potentials": [p.to_dict() if self.generic else str(p) for p in self.potentials],
                "latex": self.to_latex(), "text": self.text, "note": self.note}


def modified_loss(eq: Any) -> ModifiedLoss:
    """The modified loss of a modified equation, as far as it exists."""
    checks = eq.gradient_analysis()
    pots = []
    note = ""
    for c in checks:
        if c.is_gradient and c.potential is not None:
            pots.append(c.potential)
            continue
        if c.is_gradient is False:
            note = c.text
        elif c.is_gradient:
            note = f"order {c.order}: gradient field, but no closed-form potential was found"
        else:
            note = c.text
        break
    if not pots:
        raise InputError("the leading term is not a gradient field: there is no modified loss. "
                         + note)
    return ModifiedLoss(tuple(pots), len(pots) - 1, eq.order, eq.is_generic, note)
