"""Gradient structure of modified equations and the modified loss.

For each order j we decide whether the correction F_j is a gradient field,
F_j = −∇Φ_j, and give Φ_j when it is -- so that the modified flow is the
gradient flow of a *modified loss* L̃ = Φ_0 + hΦ_1 + h²Φ_2 + …

* Generic results (∇L notation): Φ_j is sought as a combination of scalar
  tree functionals (L, ‖∇L‖², ∇Lᵀ∇²L∇L, ∇³L(∇L,∇L,∇L), …).  The gradient of the
  functional of a free tree T is the sum of T rooted at each of its nodes, and
  every rooted tree is a rooting of exactly one free tree, so the linear system
  is block-diagonal: one unknown per free tree, one equation per rooting.  When
  a block is inconsistent the field is shown *not* to be a gradient by a witness:
  a concrete loss on which Σ c_τ E(τ) has an asymmetric Jacobian, computed exactly
  from first-order jets of the elementary differentials at a rational point (no
  symbolic expansion).
* Concrete results: the Jacobian of F_j is checked for symmetry exactly in the
  differential ring the terms already live in (∂_k F_i − ∂_i F_k by generator
  index).  With transcendental atoms a nonzero ring element may still vanish as a
  function (sin² + cos² = 1): then the generic result decides (an instance of a
  generic gradient field is a gradient), or seeded evaluation at 40 digits.
* Potentials are computed only when asked (:func:`modified_loss`, or
  ``potentials=True``): for polynomial fields by the radial homotopy integral
  Φ(θ) = −∫₀¹ F(tθ)·θ dt in the ring, plus the constant of the generic tree
  potential; otherwise the generic tree potential instantiated on the loss (checked).

Every step checks a :class:`~ibsym.core.budget.Budget`; past it the orders not yet
decided are reported as "undecided within budget" (``is_gradient`` None) instead of
the analysis running on (``strict=True`` raises :class:`~ibsym.core.errors.BudgetExceeded`).

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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import product
from typing import Any

import sympy as sp

from ibsym.core.budget import Budget
from ibsym.core.errors import BudgetExceeded, InputError
from ibsym.core.results import Result
from ibsym.bea.trees import Combination, Tree, free_key, instantiate_scalar, reroot_all

__all__ = ["GradientCheck", "ModifiedLoss", "analyse_gradient_structure", "modified_loss",
           "tree_potential", "WITNESS_LOSS", "UNDECIDED_IN_BUDGET"]

_a, _b = sp.symbols("a b", real=True)
#: Concrete loss used to exhibit non-gradient generic corrections.
WITNESS_LOSS = (_a ** 4 / 12 + _a ** 2 * _b / 2 + _a * _b ** 3 / 6 + _b ** 2 / 2, (_a, _b))
_WITNESS_POINTS = [(sp.Rational(1, 2), sp.Rational(1, 3)), (sp.Rational(-2, 3), sp.Rational(3, 4)),
                   (sp.Integer(1), sp.Rational(-1, 2))]

#: ``method`` of a check the budget ran out on.
UNDECIDED_IN_BUDGET = "undecided within budget"


@dataclass(frozen=True)
class GradientCheck:
    """Whether F_j is a gradient field.

    Attributes
    ----------
    order : int
    is_gradient : bool or None
        None when undecided (also when the budget ran out: ``method`` then starts
        with "undecided within budget").
    potential : sympy.Expr, Combination or None
        Φ_j with F_j = −∇Φ_j (concrete results: only once asked for, see
        :func:`modified_loss`).
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
    def within_budget(self) -> bool:
        """False when the budget ran out before this order was decided."""
        return not self.method.startswith(UNDECIDED_IN_BUDGET)

    @property
    def text(self) -> str:
        """One plain sentence."""
        if self.is_gradient:
            pot = "" if self.potential is None else f" F_{self.order} = −∇({self.potential})"
            return f"order {self.order}: gradient field;{pot} [{self.method}]"
        if self.is_gradient is False:
            return (f"order {self.order}: NOT a gradient field -- no modified loss exists at this "
                    f"order; {self.witness} [{self.method}]")
        if not self.within_budget:
            return f"order {self.order}: {self.method}"
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
                "within_budget": self.within_budget, "text": self.text}


def _undecided(j: int, budget: Budget) -> GradientCheck:
    total = "" if budget.total is None else f" of {budget.total:g} s"
    return GradientCheck(j, None, None, f"{UNDECIDED_IN_BUDGET}{total} (the analysis stopped "
                                        f"while {budget.where}; raise --budget to decide it)")


def _is_zero(c: Any) -> bool:
    """Exact zero test of a coefficient (a rational function of the hyper-parameters)."""
    c = sp.sympify(c, strict=True)
    if c == 0:
        return True
    if not c.free_symbols:
        return bool(sp.nsimplify(c) == 0) if not c.is_Rational else False
    z = sp.cancel(c)
    if z == 0:
        return True
    if all(x.is_Symbol or x.is_Number or x.is_Add or x.is_Mul or (x.is_Pow and x.exp.is_Integer)
           for x in sp.preorder_traversal(z)):
        return False           # a nonzero reduced rational function
    return sp.simplify(z) == 0


# ---------------------------------------------------------------------------------------
# generic results: tree functionals
def tree_potential(F: Combination, n: int | None = None,
                   budget: Budget | None = None) -> Combination | None:
    """Φ (scalar tree combination) with −∇Φ = F, or None when there is none.

    ∇ of the functional of a free tree T is Σ_ρ m_T(ρ) E(ρ) over its distinct rootings
    ρ (m_T(ρ) nodes give the rooting ρ).  Each rooted tree belongs to one free tree, so
    a_T = −c_ρ/m_T(ρ) must be the same for every rooting ρ of T (absent ones: c_ρ = 0).
    ``n`` (the number of nodes, kept for compatibility) is not needed.
    """
    if not F:
        return Combination(scalar=True)
    groups: dict[Tree, None] = {}
    for i, tau in enumerate(F.terms):
        if budget is not None and i % 256 == 0:
            budget.check("grouping the trees of a generic correction by free tree")
        groups.setdefault(free_key(tau), None)
    pot: dict[Tree, sp.Expr] = {}
    for i, T in enumerate(groups):
        if budget is not None and i % 64 == 0:
            budget.check("solving for a tree potential")
        counts = Counter(reroot_all(T))
        first, m0 = next((r, m) for r, m in counts.items() if r in F.terms)
        a = -F.coefficient(first) / m0
        for r, m in counts.items():
            if not _is_zero(F.coefficient(r) + a * m):
                return None
        pot[T] = sp.factor(a)
    return Combination(pot, scalar=True)


class _PointJets:
    """First-order jets (value, Jacobian) of elementary differentials E(τ) at one point.

    ``deriv(idx)`` gives ∂^idx L at the point for a sorted index tuple (exact
    rationals); derivatives beyond ``max_order`` vanish (a polynomial loss).
    """

    def __init__(self, deriv: Callable[[tuple[int, ...]], Any], d: int, max_order: int):
        self.deriv, self.d, self.max_order = deriv, d, max_order
        self.memo: dict[Tree, tuple[list, list]] = {}
        self._tensor: dict[tuple[int, ...], Any] = {}

    def tensor(self, idx: tuple[int, ...]) -> Any:
        key = tuple(sorted(idx))
        if len(key) > self.max_order:
            return 0
        if key not in self._tensor:
            self._tensor[key] = self.deriv(key)
        return self._tensor[key]

    def field(self, t: Tree) -> tuple[list, list]:
        if t in self.memo:
            return self.memo[t]
        d = self.d
        val: list = [0] * d
        jac: list = [[0] * d for _ in range(d)]          # jac[i][k] = ∂_k E(τ)_i
        kids = [self.field(c) for c in t]
        c = len(kids)
        if c + 1 <= self.max_order and all(any(kv) or any(map(any, kj)) for kv, kj in kids):
            for idx in product(range(d), repeat=c):
                vals = [kids[r][0][idx[r]] for r in range(c)]
                w = 1
                for v in vals:
                    w *= v
                for i in range(d):
                    T = self.tensor((i,) + idx)
                    if T and w:
                        val[i] += T * w
                    for k in range(d):
                        s = 0
                        if w:
                            dT = self.tensor((i,) + idx + (k,))
                            if dT:
                                s += dT * w
                        if T:
                            for r in range(c):
                                dv = kids[r][1][idx[r]][k]
                                if dv:
                                    o = dv
                                    for q in range(c):
                                        if q != r:
                                            o *= vals[q]
                                    s += T * o
                        if s:
                            jac[i][k] += s
        self.memo[t] = (val, jac)
        return val, jac


def _polynomial_derivatives(expr: sp.Expr, params: Sequence[sp.Symbol],
                            point: Sequence[Any]) -> Callable[[tuple[int, ...]], Fraction]:
    cache: dict[tuple[int, ...], sp.Expr] = {(): sp.expand(expr)}
    sub = dict(zip(params, point))

    def symbolic(idx: tuple[int, ...]) -> sp.Expr:
        if idx not in cache:
            cache[idx] = sp.diff(symbolic(idx[:-1]), params[idx[-1]])
        return cache[idx]

    def deriv(idx: tuple[int, ...]) -> Fraction:
        v = sp.Rational(symbolic(idx).xreplace(sub))
        return Fraction(int(v.p), int(v.q))
    return deriv


def _generic_witness(F: Combination, budget: Budget | None = None) -> str | None:
    """A point of the witness loss where Σ c_τ E(τ) has an asymmetric Jacobian (exact)."""
    expr, params = WITNESS_LOSS
    degree = sp.Poly(expr, *params).total_degree()
    for pt in _WITNESS_POINTS:
        jets = _PointJets(_polynomial_derivatives(expr, params, pt), len(params), degree)
        rational = True
        exact = Fraction(0)
        symbolic: list[sp.Expr] = []
        for n, (t, c) in enumerate(F.terms.items()):
            if budget is not None and n % 128 == 0:
                budget.check("searching a witness of a non-gradient generic correction")
            _, jac = jets.field(t)
            asym = jac[0][1] - jac[1][0]
            if not asym:
                continue
            if rational and c.is_Rational:
                exact += Fraction(int(c.p), int(c.q)) * asym
            else:
                rational = False
                symbolic.append(c * sp.Rational(asym.numerator, asym.denominator))
        val = sp.Rational(exact.numerator, exact.denominator) + sp.Add(*symbolic)
        if val.free_symbols:   # hyper-parameters: check they do not make it vanish identically
            if _is_zero(val):
                continue
            val = sp.factor(sp.cancel(val))
        elif val == 0:
            continue
        return (f"for L = {expr}, ∂(F)_a/∂b − ∂(F)_b/∂a = {val} ≠ 0 at "
                f"(a, b) = ({pt[0]}, {pt[1]})")
    return None


def _analyse_generic_order(F: Combination, j: int, budget: Budget | None) -> GradientCheck:
    pot = tree_potential(F, j + 1, budget)
    if pot is not None:
        return GradientCheck(j, True, pot, "exact: linear system over tree functionals")
    w = _generic_witness(F, budget)
    if w is not None:
        return GradientCheck(j, False, None, "exact: asymmetric Jacobian on a witness loss",
                             witness=w)
    return GradientCheck(j, None, None, "no tree potential, no witness found")


def _analyse_generic(eq: Any, budget: Budget | None = None) -> list[GradientCheck]:
    return [_analyse_generic_order(F, j, budget) for j, F in enumerate(eq.terms)]


# ---------------------------------------------------------------------------------------
# concrete results: Jacobian symmetry in the differential ring
def _asymmetry(alg: Any, F: tuple, budget: Budget | None = None,
               what: str = "") -> Iterator[tuple[int, int, Any]]:
    """Nonzero ∂_k F_i − ∂_i F_k (i < k) as ring elements, pair by pair."""
    R = alg.ring
    for i in range(alg.d):
        for k in range(i + 1, alg.d):
            if budget is not None:
                budget.check(f"checking the Jacobian symmetry of {what}")
            diff = R.diff(F[i], k) - R.diff(F[k], i)
            if diff:
                yield i, k, diff


def _coefficient_value(R: Any, c: Any, hyper: dict) -> sp.Expr:
    if R.domain.is_QQ or R.domain.is_ZZ:
        return sp.Rational(int(c.numerator), int(c.denominator))
    return R.domain.to_sympy(c).xreplace(hyper)


def _ring_value(alg: Any, p: Any, point: dict, hyper: dict, dps: int = 40) -> tuple[Any, Any]:
    """(value, scale) of a ring element at a point: Σ c·m(x) and Σ |c·m(x)|, at ``dps``
    digits (mpmath), the atoms evaluated by SymPy.  Raises ValueError off the domain."""
    import mpmath
    R = alg.ring
    with mpmath.workdps(dps):
        gens = [mpmath.mpf(sp.Rational(point[q]).p) / sp.Rational(point[q]).q
                for q in alg.params]
        for atom in R.atoms:
            v = sp.N(atom.xreplace(point).xreplace(hyper), dps)
            re, im = v.as_real_imag()
            if im != 0 or not v.is_number or not re.is_finite:
                raise ValueError(f"{atom} is not real at the point")
            gens.append(mpmath.mpf(sp.Float(re, dps)._mpf_))
        total, scale = mpmath.mpf(0), mpmath.mpf(0)
        coeffs: dict = {}
        for mon, c in p.items():
            key = id(c)
            if key not in coeffs:
                cv = _coefficient_value(R, c, hyper)
                if cv.free_symbols:
                    raise ValueError("symbolic coefficient")
                coeffs[key] = mpmath.mpf(sp.Float(cv, dps)._mpf_)
            term = coeffs[key]
            for g, e in zip(gens, mon):
                if e:
                    term *= g ** e
            total += term
            scale += abs(term)
        return total, scale


def _numeric_nonzero(alg: Any, p: Any, seed: int = 0) -> tuple[bool, str]:
    """Whether a ring element is nonzero as a function, by evaluation at seeded points
    (True is a proof up to 40-digit arithmetic; False means 'zero at 6 points')."""
    rng = random.Random(seed)
    free_hyper = sorted(alg.constants, key=str)
    for _ in range(6):
        pt = {q: sp.Rational(rng.randint(-90, 90), 60) for q in alg.params}
        hyper = {s: sp.Rational(rng.randint(10, 90), 100) for s in free_hyper}
        try:
            val, scale = _ring_value(alg, p, pt, hyper)
        except (ValueError, ZeroDivisionError, TypeError):
            continue
        if abs(val) > 1e-25 * (1 + scale):
            where = ", ".join(f"{k}={v}" for k, v in {**pt, **hyper}.items())
            return True, f"{float(val):.6g} at {where}"
    return False, ""


def _polynomial_witness(alg: Any, j: int, i: int, k: int, p: Any) -> str:
    """Text of an asymmetric Jacobian entry of a polynomial field (no factoring of large ones)."""
    R = alg.ring
    P = alg.params
    name = (f"∂(F_{j})_{P[i]}/∂{P[k]} − ∂(F_{j})_{P[k]}/∂{P[i]}")
    shown = f" = {R.to_sympy(p)} ≢ 0" if len(p) <= 8 else f" ≢ 0 ({len(p)} terms)"
    for n in range(8):      # a point where it is visibly nonzero
        pt = {q: sp.Rational(1, 2 + n + m) for m, q in enumerate(P)}
        val = _exact_value(alg, p, pt)
        if val != 0:
            return name + shown + f" (= {val} at {pt})"
    return name + shown


def _exact_value(alg: Any, p: Any, point: dict) -> sp.Expr:
    """Exact value of a polynomial ring element at a rational point."""
    R = alg.ring
    vals = [sp.Rational(point[q]) for q in alg.params]
    out = sp.Integer(0)
    for mon, c in p.items():
        term = _coefficient_value(R, c, {})
        for v, e in zip(vals, mon):
            if e:
                term *= v ** e
        out += term
    return sp.cancel(out) if out.free_symbols else out


class _Generic:
    """The generic (∇L-notation) result of the same optimizer, derived on demand to the
    order needed, with its tree potentials (for concrete analyses)."""

    def __init__(self, eq: Any):
        self.eq = eq
        self.result: Any = None
        self.available = True
        self.pots: dict[int, Combination | None] = {}

    def potential(self, j: int, budget: Budget | None) -> Combination | None:
        if not self.available:
            return None
        if j not in self.pots:
            if self.result is None or self.result.order < j:
                from ibsym.bea.procedure import modified_equation
                try:
                    self.result = modified_equation(self.eq.optimizer, None, j, budget=budget,
                                                    budget_seconds=None)
                except InputError:      # e.g. coordinate-wise optimizers: no ∇L form
                    self.available = False
                    return None
            self.pots[j] = tree_potential(self.result.terms[j], j + 1, budget)
        return self.pots[j]


def _check_concrete(eq: Any, j: int, generic: _Generic, budget: Budget | None) -> GradientCheck:
    alg, F = eq._algebra, eq._raw[j]
    what = f"F_{j}"
    if alg.ring.is_polynomial:
        for i, k, p in _asymmetry(alg, F, budget, what):
            return GradientCheck(j, False, None, "exact: Jacobian asymmetric (polynomial)",
                                 witness=_polynomial_witness(alg, j, i, k, p))
        return GradientCheck(j, True, None, "exact: Jacobian symmetric in the differential ring")
    asym = list(_asymmetry(alg, F, budget, what))
    if not asym:
        return GradientCheck(j, True, None, "exact: Jacobian symmetric in the differential ring")
    if generic.potential(j, budget) is not None:
        return GradientCheck(j, True, None, "exact: instance of a generic gradient field (the "
                                            "ring test is inconclusive with transcendental atoms)")
    P = alg.params
    for i, k, p in asym:
        if budget is not None:
            budget.check(f"evaluating the Jacobian asymmetry of F_{j}")
        nz, where = _numeric_nonzero(alg, p)
        if nz:
            return GradientCheck(j, False, None,
                                 "numeric: Jacobian asymmetric at a point (40 digits)",
                                 witness=f"∂(F_{j})_{P[i]}/∂{P[k]} − ∂(F_{j})_{P[k]}/∂{P[i]} "
                                         f"= {where}")
    return GradientCheck(j, None, None, "numeric: Jacobian symmetric at 6 random points "
                                        "(not proved)")


# ---------------------------------------------------------------------------------------
# potentials of concrete fields
def _numerically_zero(exprs: list, params: tuple, seed: int = 1) -> bool:
    rng = random.Random(seed)
    for _ in range(4):
        pt = {q: sp.Rational(rng.randint(-90, 90), 70) for q in params}
        for e in exprs:
            v = sp.N(e.xreplace(pt), 40)
            if v.free_symbols or abs(complex(v)) > 1e-30:
                return False
    return True


def _homotopy(alg: Any, F: tuple) -> Any | None:
    """Φ with −∇Φ = F and Φ(0) = 0 for a polynomial field (radial homotopy, in the ring)."""
    from sympy.polys.domains import QQ
    R = alg.ring
    phi = R.zero
    for i in range(alg.d):
        prod = F[i] * R.param_gens[i]
        for mon, c in prod.terms():
            deg = sum(mon[: alg.d])
            if deg:
                phi -= R.ring({mon: c}) * QQ(1, deg)
    return phi if all(not (R.diff(phi, i) + F[i]) for i in range(alg.d)) else None


def _scalar_at(T: Tree, jets: _PointJets, L0: Any) -> Any:
    """The functional of a free tree at the jets' point (values only)."""
    if T == ():
        return L0
    for r in reroot_all(T):
        if len(r) == 1:   # rooted at a leaf: <∇L, E(rest)>
            v, _ = jets.field(r[0])
            g, _ = jets.field(())
            return sum((gi * vi for gi, vi in zip(g, v)), 0)
    raise AssertionError("a tree with ≥ 2 nodes has a leaf")  # pragma: no cover


def _ring_derivatives_at_zero(alg: Any) -> Callable[[tuple[int, ...]], sp.Expr]:
    R = alg.ring
    cache: dict[tuple[int, ...], Any] = {(): alg.L}
    zero = (0,) * R.ring.ngens

    def elem(idx: tuple[int, ...]) -> Any:
        if idx not in cache:
            cache[idx] = R.diff(elem(idx[:-1]), idx[-1])
        return cache[idx]

    def deriv(idx: tuple[int, ...]) -> sp.Expr:
        c = dict(elem(idx)).get(zero)
        return sp.Integer(0) if c is None else _coefficient_value(R, c, {})
    return deriv


def _concrete_potential(eq: Any, j: int, generic: _Generic,
                        budget: Budget | None) -> tuple[Any, str]:
    alg, F = eq._algebra, eq._raw[j]
    R = alg.ring
    pot = generic.potential(j, budget)
    if R.is_polynomial:
        # radial homotopy (exact, in the ring); the constant Φ(0) of the generic potential
        # from the tree functionals at θ = 0, so that Φ is its instance exactly
        if budget is not None:
            budget.check(f"integrating the potential of F_{j}")
        phi = _homotopy(alg, F)
        if phi is not None:
            how = "radial homotopy integral (exact)"
            const = sp.Integer(0)
            if pot is not None:
                deriv = _ring_derivatives_at_zero(alg)
                degree = max((sum(m[: alg.d]) for m in alg.L.monoms()), default=0)
                jets = _PointJets(deriv, alg.d, degree)
                L0 = deriv(())
                const = sp.Add(*[c * _scalar_at(T, jets, L0) for T, c in pot.terms.items()])
                how += " + the generic tree potential's value at θ = 0 (exact)"
            return sp.factor(R.to_sympy(phi) + const), how
        return None, "no closed-form potential found"
    # transcendental: the generic tree potential instantiated on the loss, then checked
    if pot is not None:
        expr = eq.loss.expr
        grad = [sp.diff(expr, p) for p in eq.params]
        phi = sp.Add(*[c * instantiate_scalar(T, expr, grad, eq.params)
                       for T, c in pot.terms.items()])
        if budget is not None:
            budget.check(f"checking the potential of F_{j}")
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
    return None, "no closed-form potential found"


def _readable(e: sp.Expr) -> sp.Expr:
    """Polynomials factored; anything else as instantiated (``simplify`` on hyperbolic or
    trigonometric potentials can take minutes, and the instance is already short)."""
    return sp.factor(e) if e.is_polynomial() else e


# ---------------------------------------------------------------------------------------
def _state(eq: Any) -> dict[str, Any]:
    """Per-result cache of decided checks and computed potentials (not copied by replace)."""
    st = eq.__dict__.get("_gradient_state")
    if st is None:
        st = {"checks": {}, "potentials": {}, "generic": _Generic(eq)}
        eq.__dict__["_gradient_state"] = st
    return st


def _check(eq: Any, j: int, budget: Budget | None, potentials: bool) -> GradientCheck:
    jet = None if eq.is_generic else getattr(eq._algebra.ring, "jet_order", None)
    if jet is not None:
        # the jet ring of a generic coordinate loss keeps ∂^αL up to |α| = order + 1:
        # exact for F_0..F_k, but their derivatives would be silently truncated
        raise InputError(f"the gradient structure of a field on a generic coordinate loss "
                         f"(jet ring truncated at derivative order {jet}) is not available: "
                         "the Jacobian of F_k needs derivatives of L the derivation does not "
                         "keep; derive on a concrete loss instead")
    st = _state(eq)
    checks, pots = st["checks"], st["potentials"]
    if j not in checks:
        if budget is not None:
            budget.check(f"deciding whether F_{j} is a gradient field")
        if eq.is_generic:
            checks[j] = _analyse_generic_order(eq.terms[j], j, budget)
        else:
            checks[j] = _check_concrete(eq, j, st["generic"], budget)
    c = checks[j]
    if eq.is_generic or not c.is_gradient or c.potential is not None:
        return c
    if j not in pots:
        if not potentials:
            return c
        pots[j] = _concrete_potential(eq, j, st["generic"], budget)
    pot, how = pots[j]
    return GradientCheck(j, c.is_gradient, pot, f"{c.method}; potential: {how}", c.witness)


def analyse_gradient_structure(eq: Any, *, budget: Budget | float | None = None,
                               potentials: bool = False, orders: Sequence[int] | None = None,
                               strict: bool = False) -> tuple[GradientCheck, ...]:
    """Gradient checks for the orders of a :class:`~ibsym.bea.equations.ModifiedEquation`.

    Parameters
    ----------
    eq : ModifiedEquation
    budget : Budget or float, optional
        Time budget (a :class:`~ibsym.core.budget.Budget` shared with the rest of the
        command, or seconds); default unbounded.
    potentials : bool
        Also compute Φ_j for the gradient orders of a concrete result (generic results
        always carry their tree potential: it is the test).
    orders : sequence of int, optional
        Default: every order.
    strict : bool
        Raise :class:`~ibsym.core.errors.BudgetExceeded` when the budget runs out;
        by default the orders not decided in time are returned as "undecided within
        budget" checks (``is_gradient`` None).

    Decided checks are cached on the result: a second call costs nothing.
    """
    b = None if budget is None else Budget.coerce(budget)
    todo = range(eq.order + 1) if orders is None else list(orders)
    out: list[GradientCheck] = []
    for n, j in enumerate(todo):
        try:
            out.append(_check(eq, j, b, potentials))
        except BudgetExceeded:
            if strict or b is None:
                raise
            out.extend(_undecided(k, b) for k in list(todo)[n:])
            break
    return tuple(out)


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


def modified_loss(eq: Any, *, budget: Budget | float | None = None,
                  strict: bool = False) -> ModifiedLoss:
    """The modified loss of a modified equation, as far as it exists.

    Orders are decided (and their potentials computed) one at a time up to the first
    correction that is not a gradient field.  When the ``budget`` runs out first, the
    loss stops at the last order finished and ``note`` says so (``strict=True``: raise).
    """
    b = None if budget is None else Budget.coerce(budget)
    pots = []
    note = ""
    for j in range(eq.order + 1):
        try:
            c = _check(eq, j, b, True)
        except BudgetExceeded:
            if strict or b is None or not pots:
                raise
            note = _undecided(j, b).text
            break
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
