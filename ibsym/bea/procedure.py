"""Backward error analysis: the one procedure behind every modified equation.

Given an optimizer's update map θ_{n+1} = Ψ_h(θ_n), find the vector field

    F_h = F_0 + h F_1 + … + h^k F_k

whose exact time-h flow φ_h agrees with Ψ_h up to O(h^{k+2}) per step, so the
iterates stay O(h^{k+1}) close to the solution of dθ/dt = F_h over finite
times (t = n h).

How it works
------------
1. The update rule is *traced*: called with truncated h-series
   (:mod:`ibsym.bea.series`), it yields the displacement
   Ψ_h(θ) − θ = Σ_{p≥1} h^p D_p with D_p vector fields of the chosen algebra
   (:mod:`ibsym.bea.algebras`: concrete loss → exact polynomial ring; generic loss →
   elementary differentials of ∇L).
2. The time-h flow of F_h is the Lie series
   φ_h(θ) − θ = Σ_{m≥1} (h^m/m!) (D_F)^{m−1} F,  with D_F G = G'F.
   Writing g_{m,n} for the h^n coefficient of (D_F)^{m−1}F gives
   g_{1,n} = F_n and g_{m,n} = Σ_{a+b=n} D_{F_a} g_{m−1,b}.
3. Matching the coefficient of h^{k+1} gives F_k explicitly, in increasing
   order, because g_{m,k+1−m} (m ≥ 2) only involves F_0..F_{k−1}:

       F_k = D_{k+1} − Σ_{m=2}^{k+1} g_{m,k+1−m} / m!.

   Each g_{m,n} is computed once (memoized) and kept expanded: the cost is
   O(k³) Lie derivatives, never an expansion of the whole flow.

The procedure never asks which optimizer it is working on.

References
----------
.. [1] E. Hairer, C. Lubich, G. Wanner, *Geometric Numerical Integration*,
   2nd ed., Springer 2006, Sec. IX.1 (modified equations).
.. [2] D. Barrett, B. Dherin, "Implicit Gradient Regularization", ICLR 2021.

Examples
--------
>>> from ibsym.core import losses
>>> eq = modified_equation("gd", order=2)
>>> print(eq.terms[1])
-1/2 ∇²L∇L
>>> eq = modified_equation("gd", losses.bilinear(), order=1)
>>> eq.evaluate({"a": 0.5, "b": 1.5})["terms"][1]
[0.453125, 0.109375]
"""
from __future__ import annotations

import time
from math import factorial
from typing import Any

import sympy as sp
from sympy.core.function import AppliedUndef

from collections.abc import Sequence

from ibsym.bea.algebras import Algebra, ConcreteAlgebra, GenericAlgebra, NeedAtoms
from ibsym.bea.diffring import DEFAULT_MAX_ATOMS
from ibsym.bea.equations import ModifiedEquation
from ibsym.core.budget import Budget
from ibsym.core.errors import BudgetExceeded, InputError
from ibsym.core.losses import Loss
from ibsym.bea.optimizers import Optimizer, get_optimizer
from ibsym.bea.series import _SCALAR_STATE, Gradient, HSeries, SeriesVector

__all__ = ["modified_equation", "trace_update", "solve_modified_field", "solve_with_state",
           "state_structure", "StateStructure", "make_algebra"]


def make_algebra(loss: Loss | None, optimizer: Optimizer, order: int = 8, *,
                 max_atoms: int = DEFAULT_MAX_ATOMS) -> Algebra:
    """The algebra for a loss: generic (∇L notation) or concrete (exact ring).

    A loss that is an undefined function L(θ_1, …, θ_d) (the component-wise generic
    form, :mod:`ibsym.bea.componentwise`) gets the jet ring of its partial derivatives up
    to order ``order + 1`` -- exactly what every term up to h^order needs: with the weight
    w(∂^αL) = |α| − 1 (w(θ) = −1, w(constants, roots of weight-0 terms) = 0), a product adds
    weights and ∂_i adds one, so by induction the traced h^p displacement has weight
    ≤ p − 1, the h^p gradient, state and slow-manifold coefficients ≤ p, and F_k ≤ k; a
    derivative of order k + 2 (weight k + 1) never reaches F_0..F_k.  ``max_atoms`` is the
    ring's atom budget (see :func:`modified_equation`)."""
    if loss is None or loss.is_generic:
        return GenericAlgebra()
    jet = order + 1 if isinstance(loss.expr, AppliedUndef) else None
    return ConcreteAlgebra(loss, constants=optimizer.symbolic_hyper, jet_order=jet,
                           max_atoms=max_atoms)


def _check_max_atoms(max_atoms: Any) -> int:
    """``max_atoms`` validated: a positive integer (InputError otherwise)."""
    if isinstance(max_atoms, bool) or not isinstance(max_atoms, int) or max_atoms < 1:
        raise InputError(f"max_atoms must be a positive integer (the atom budget of the "
                         f"exact ring, default {DEFAULT_MAX_ATOMS}), got {max_atoms!r}")
    return max_atoms


def _vector_coeffs(x: Any, what: str, name: str) -> list[Any]:
    if not isinstance(x, SeriesVector):
        raise InputError(f"the update rule of '{name}' must return vectors for {what} "
                         f"(got {type(x).__name__})")
    if x.scalar:
        raise InputError(f"in '{name}', {_SCALAR_STATE.replace('a state field', what)}")
    try:
        return x._folded()
    except InputError:
        raise InputError(f"{what} of '{name}' contains θ itself; store differences such as "
                         "(θ_n − θ_(n−1))/h instead") from None


def _call_update(optimizer: Optimizer, alg: Algebra, state: dict[str, list[Any]],
                 order: int) -> tuple[list[Any], dict[str, list[Any]]]:
    """One traced update from θ and the given state series."""
    theta = SeriesVector.point(alg, order)
    h = HSeries.h(order)
    st = {f: SeriesVector.vector(alg, state[f], order) for f in optimizer.state_names}
    out = optimizer.update(theta, st, Gradient(alg.batches), h, optimizer.hyper_values)
    theta_next, state_next = out if isinstance(out, tuple) else (out, {})
    if not isinstance(theta_next, SeriesVector):
        raise InputError(f"the update rule of '{optimizer.name}' must return (theta_next, state)")
    D = theta_next.displacement()
    missing = [f for f in optimizer.state_names if f not in (state_next or {})]
    if missing:
        raise InputError(f"the update rule of '{optimizer.name}' did not return the state "
                         f"field(s) {', '.join(missing)}")
    W = {f: _vector_coeffs(state_next[f], f"the state field '{f}'", optimizer.name)
         for f in optimizer.state_names}
    return D, W


def trace_update(optimizer: Optimizer, alg: Algebra, order: int,
                 state: dict[str, list[Any]] | None = None) -> list[Any]:
    """Trace the update rule: coefficients D_0..D_order of Ψ_h(θ) − θ.

    ``state`` gives each auxiliary field as a list of series coefficients (default:
    none, for memoryless optimizers).
    """
    if optimizer.state_names and state is None:
        raise InputError(f"optimizer '{optimizer.name}' carries state "
                         f"({', '.join(optimizer.state_names)}); give its slow-manifold series")
    D, _ = _call_update(optimizer, alg, state or {}, order)
    if not alg.is_zero(D[0]):
        raise InputError(f"the update of '{optimizer.name}' moves θ by an O(1) amount at h = 0; "
                         "a consistent optimizer has θ_(n+1) = θ_n + O(h)")
    return D


class _Budget:
    """The derivation's checkpoints: the command's time budget plus a size budget."""

    def __init__(self, budget: Budget, max_terms: int | None, alg: Algebra):
        self.budget, self.max_terms, self.alg = budget, max_terms, alg

    def check(self, where: str, value: Any = None) -> None:
        self.budget.check(f"deriving {where}")
        if self.max_terms is not None and value is not None:
            n = _size(value)
            if n > self.max_terms:
                raise BudgetExceeded(
                    f"expression size {n} terms exceeds the budget of {self.max_terms} while "
                    f"computing {where}; lower --order or simplify the loss")


def _size(v: Any) -> int:
    if isinstance(v, tuple):
        return sum(len(x) for x in v)
    return len(getattr(v, "terms", ()))


class _LieSeries:
    """h^n coefficients of (D_F)^m G for a field series F and a vector series G (memoized):
    c(m, n) = Σ_{a+b=n} D_{F_a} c(m−1, b), c(0, n) = G_n."""

    def __init__(self, alg: Algebra, F: list[Any], G: list[Any], budget: _Budget | None):
        self.alg, self.F, self.G, self.budget = alg, F, G, budget
        self.memo: dict[tuple[int, int], Any] = {}

    def __call__(self, m: int, n: int, keep: bool = True) -> Any:
        """c(m, n); ``keep=False``: not memoized (a last-order coefficient, used once --
        the largest ones, not held together)."""
        if m == 0:
            return self.G[n]
        key = (m, n)
        if key not in self.memo:
            alg = self.alg
            pairs = []
            for a in range(n + 1):
                prev = self(m - 1, n - a)
                if alg.is_zero(prev) or alg.is_zero(self.F[a]):
                    continue
                pairs.append((self.F[a], prev))
            acc = alg.lie_sum(pairs) if pairs else alg.zero()   # one sum, not n + 1 copies
            if self.budget is not None:
                self.budget.check(f"the h^{m + n} Lie-series coefficient", acc)
            if not keep:
                return acc
            self.memo[key] = acc
        return self.memo[key]

    def combination(self, terms: Sequence[tuple[Any, int, int]], where: str) -> Any:
        """Σ w·c(m, n) over ``(w, m, n)`` (all m ≥ 1), not memoized: one Lie sum over the
        pairs (F_a, w·c(m − 1, n − a)) -- c(m, n) is linear in its second slot -- so the
        large last-order coefficients are accumulated together instead of being built one
        by one and added (in SymPy's ring that held two dense copies of the h^k sum)."""
        alg = self.alg
        pairs = []
        for w, m, n in terms:
            for a in range(n + 1):
                prev = self(m - 1, n - a)
                if alg.is_zero(prev) or alg.is_zero(self.F[a]):
                    continue
                pairs.append((self.F[a], alg.scale(w, prev)))
        acc = alg.lie_sum(pairs) if pairs else alg.zero()
        if self.budget is not None:
            self.budget.check(where, acc)
        return acc


def solve_modified_field(alg: Algebra, D: list[Any], order: int,
                         budget: _Budget | None = None, tau: int = 1) -> list[Any]:
    """F_0..F_order from the displacement coefficients D (see module docstring).

    ``tau`` is the time one call of the update advances, in units of h (1 for one
    step; m for an epoch of m steps).
    """
    F: list[Any] = []
    flow = _LieSeries(alg, F, F, budget)   # c(m, n) = h^n coeff of D_F^m F = g_{m+1, n}
    for k in range(order + 1):
        F.append(alg.zero())  # placeholder so that indices line up; not used at this order
        acc = D[k + 1]
        if k == order and k >= 1:
            # the last order: its coefficients are used once -- one accumulation of all
            term = flow.combination([(sp.Rational(-tau ** m, factorial(m)), m - 1, k + 1 - m)
                                     for m in range(2, k + 2)],
                                    f"the h^{k + 1} Lie-series coefficients")
            if not alg.is_zero(term):
                acc = alg.add(acc, term)
            del term
        else:
            for m in range(2, k + 2):
                term = flow(m - 1, k + 1 - m)
                if not alg.is_zero(term):
                    acc = alg.add(acc, alg.scale(sp.Rational(-tau ** m, factorial(m)), term))
                del term
        F[k] = alg.scale(sp.Rational(1, tau), acc) if tau != 1 else acc
    return F


class StateStructure:
    """The h = 0 state map of an optimizer with memory, w ↦ A w + b(θ).

    ``A`` is a matrix of scalars over the state fields (β, ρ, …), found by tracing
    the update with probe states; ``M0`` solves the fixed point (I − A) M0 = b.
    """

    def __init__(self, names: tuple[str, ...], A: sp.Matrix, b: dict[str, Any]):
        self.names, self.A, self.b = names, A, b
        k = len(names)
        IA = sp.eye(k) - A
        if IA.det().simplify() == 0:
            raise InputError("the state map does not contract at h = 0 (1 is an eigenvalue of "
                             f"its linear part A = {A.tolist()}): there is no slow manifold; an "
                             "accumulating state (e.g. AdaGrad's sum of squares) has no "
                             "modified equation of this kind")
        self.inv = IA.inv().applyfunc(sp.cancel)

    def solve(self, alg: Algebra, rhs: dict[str, Any]) -> dict[str, Any]:
        """(I − A)^{-1} rhs, field by field."""
        out = {}
        for i, f in enumerate(self.names):
            acc = alg.zero()
            for j, g in enumerate(self.names):
                c = self.inv[i, j]
                if c != 0 and not alg.is_zero(rhs[g]):
                    acc = alg.add(acc, alg.scale(c, rhs[g]))
            out[f] = acc
        return out

    @property
    def rates(self) -> list[sp.Expr]:
        """Eigenvalues of A: the geometric rates at which the initial transient decays."""
        return list(self.A.eigenvals())


class _Unknown:
    """Marker for a quantity the probe algebra does not need to know."""


UNKNOWN = _Unknown()


class _ProbeAlgebra(Algebra):
    """Wraps an algebra; coordinate-wise powers that need new atoms give UNKNOWN, which
    propagates.  Used to read the (affine) state map at h = 0 without building atoms that
    only the θ part of the update needs."""

    def __init__(self, base: Algebra):
        self.base = base
        self.generic = base.generic
        self.batches = base.batches

    def _u(self, *xs: Any) -> bool:
        return any(x is UNKNOWN for x in xs)

    def zero(self) -> Any:
        return self.base.zero()

    def add(self, a: Any, b: Any) -> Any:
        return UNKNOWN if self._u(a, b) else self.base.add(a, b)

    def scale(self, c: Any, a: Any) -> Any:
        if sp.sympify(c) == 0:
            return self.base.zero()
        return UNKNOWN if self._u(a) else self.base.scale(c, a)

    def is_zero(self, a: Any) -> bool:
        return False if a is UNKNOWN else self.base.is_zero(a)

    def grad(self) -> Any:
        return self.base.grad()

    def reduce_sum(self, a: Any, what: str = "sum") -> Any:
        return UNKNOWN if self._u(a) else self.base.reduce_sum(a, what)

    def dimension(self, what: str = "the dimension") -> int:
        return self.base.dimension(what)

    def coordinate(self, a: Any, i: int) -> Any:
        return UNKNOWN if self._u(a) else self.base.coordinate(a, i)

    def project(self, a: Any, indices: Sequence[int], what: str = "a parameter group") -> Any:
        return UNKNOWN if self._u(a) else self.base.project(a, indices, what)

    def grad_taylor(self, deltas: Sequence[Any], order: int,
                    batch: int | None = None) -> list[Any]:
        if deltas and deltas[0] is UNKNOWN:
            return [UNKNOWN] * (order + 1)
        if any(d is UNKNOWN for d in deltas[1:]):
            return self.base.grad_taylor([None], 0, batch) + [UNKNOWN] * order
        return self.base.grad_taylor(deltas, order, batch)

    def lie(self, F: Any, G: Any) -> Any:
        return UNKNOWN if self._u(F, G) else self.base.lie(F, G)

    def mul(self, a: Any, b: Any) -> Any:
        return UNKNOWN if self._u(a, b) else self.base.mul(a, b)

    def power(self, a: Any, r: Any) -> Any:
        if self._u(a):
            return UNKNOWN
        try:
            return self.base.power(a, r)
        except (NeedAtoms, InputError):   # a new atom or 1/0 on the θ path: not needed here
            return UNKNOWN

    def const(self, c: Any) -> Any:
        return self.base.const(c)

    def identity(self) -> Any:
        return self.base.identity()


def _ratio(alg: Algebra, resp: Any, probe: Any) -> sp.Expr | None:
    """c with resp = c·probe, or None if resp is not a scalar multiple of probe."""
    if resp is UNKNOWN:
        return None
    if alg.is_zero(resp):
        return sp.Integer(0)
    if alg.generic:
        if set(resp.terms) != set(probe.terms):
            return None
        t = next(iter(probe.terms))
        c = sp.cancel(resp.terms[t] / probe.terms[t])
    else:
        R = alg.ring
        x, y = resp[0], probe[0]
        if not x.is_ground or not y.is_ground:
            return None
        c = sp.cancel(R.domain.to_sympy(x.LC) / R.domain.to_sympy(y.LC)) if x else sp.Integer(0)
    check = alg.add(resp, alg.scale(-c, probe))
    return c if alg.is_zero(check) else None


def state_structure(optimizer: Optimizer, alg: Algebra) -> StateStructure:
    """Read the linear part A and the forcing b of the h = 0 state map by tracing."""
    names = optimizer.state_names
    palg = _ProbeAlgebra(alg)
    zero = {f: [alg.zero()] for f in names}
    _, W0 = _call_update(optimizer, palg, zero, 0)
    b = {f: W0[f][0] for f in names}
    for f in names:
        if b[f] is UNKNOWN:
            raise InputError(f"the update of state field '{f}' of '{optimizer.name}' is not "
                             "defined at the zero state (division by it?); the h = 0 state "
                             "map must be affine in the state")
    probe = alg.grad() if alg.generic else alg.const(sp.Rational(3, 7))
    A = sp.zeros(len(names), len(names))
    for j, g in enumerate(names):
        for scale in (1, 2):
            st = dict(zero)
            st[g] = [alg.scale(scale, probe)]
            _, W = _call_update(optimizer, palg, st, 0)
            for i, f in enumerate(names):
                resp = W[f][0]
                diff = UNKNOWN if resp is UNKNOWN else alg.add(resp, alg.scale(-1, b[f]))
                c = _ratio(alg, diff, alg.scale(scale, probe))
                if c is None or (scale == 2 and sp.cancel(c - A[i, j]) != 0):
                    raise InputError(
                        f"the h = 0 update of state field '{f}' of '{optimizer.name}' is not "
                        f"affine in '{g}' with a scalar coefficient; the slow-manifold "
                        "derivation needs state maps of the form w' = A w + b(θ) + O(h)")
                A[i, j] = c
    return StateStructure(names, A, b)


def solve_with_state(optimizer: Optimizer, alg: Algebra, order: int,
                     budget: _Budget | None = None) -> tuple[list[Any], dict[str, list[Any]],
                                                             StateStructure]:
    """Modified field F_0..F_order and slow manifold M_0..M_order of each state field.

    Unknowns: F_h = Σ h^j F_j and w = M_h(θ) = Σ h^j M_j(θ) such that the set
    {w = M_h(θ)} is invariant under the update and θ moves on it by the time-τh
    flow of F_h.  Order by order (the state enters the h⁰ state map affinely,
    w' = A w + b):

    * state equation, h^j:  Σ_m (τ^m/m!) [D_F^m M]_j = W_j, which is
      (I − A) M_j = W_j|_{M_j=0} − Σ_{m≥1} (τ^m/m!) [D_F^m M]_j;
    * θ equation, h^{j+1}: as for memoryless maps, with D_{j+1} traced on the
      manifold known to M_j.
    """
    tau = optimizer.tau(alg.batches)
    names = optimizer.state_names
    structure = state_structure(optimizer, alg)
    M: dict[str, list[Any]] = {f: [m] for f, m in structure.solve(alg, structure.b).items()}
    F: list[Any] = []
    flow = _LieSeries(alg, F, F, budget)
    mflow = {f: _LieSeries(alg, F, M[f], budget) for f in names}
    for j in range(order + 1):
        if budget is not None:
            budget.check(f"the update traced on the slow manifold to h^{j + 1}")
        D, W = _call_update(optimizer, alg, {f: M[f][: j + 1] for f in names}, j + 1)
        if j == 0 and not alg.is_zero(D[0]):
            raise InputError(f"the update of '{optimizer.name}' moves θ by an O(1) amount at "
                             "h = 0; a consistent optimizer has θ_(n+1) = θ_n + O(h)")
        F.append(alg.zero())
        acc = D[j + 1]
        for m in range(2, j + 2):
            term = flow(m - 1, j + 1 - m)
            if not alg.is_zero(term):
                acc = alg.add(acc, alg.scale(sp.Rational(-tau ** m, factorial(m)), term))
        F[j] = alg.scale(sp.Rational(1, tau), acc) if tau != 1 else acc
        if budget is not None:
            budget.check(f"F_{j}", F[j])
        if j == order:
            break
        n = j + 1
        rhs = {}
        for f in names:
            r = W[f][n]
            for m in range(1, n + 1):
                term = mflow[f](m, n - m)
                if not alg.is_zero(term):
                    r = alg.add(r, alg.scale(sp.Rational(-tau ** m, factorial(m)), term))
            rhs[f] = r
        for f, v in structure.solve(alg, rhs).items():
            M[f].append(v)
    return F, M, structure


def modified_equation(optimizer: str | Optimizer, loss: Loss | None = None, order: int = 1, *,
                      hyper: dict[str, Any] | None = None, budget_seconds: float | None = 120.0,
                      max_terms: int | None = 2_000_000, max_atoms: int = DEFAULT_MAX_ATOMS,
                      budget: Budget | None = None) -> ModifiedEquation:
    """Derive the modified equation of an optimizer to order ``order`` in h.

    Parameters
    ----------
    optimizer : str or Optimizer
        A registered name (``"gd"``) or a description.
    loss : Loss, optional
        A concrete loss (explicit F_j), or ``None``/generic for the
        dimension-free form in ∇L, ∇²L, … notation.
    order : int, default 1
        Highest power k of h kept: F_h = F_0 + … + h^k F_k.
    hyper : dict, optional
        Hyper-parameter values; the others stay symbolic.
    budget_seconds : float, optional
        Time budget in (wall-clock) seconds; :class:`~ibsym.core.errors.BudgetExceeded`
        beyond it.  ``None``: unbounded.
    max_terms : int, optional
        Size budget (total polynomial terms of one intermediate field).
    max_atoms : int, default 200
        Atom budget of a concrete loss's exact ring: the transcendental atoms
        (``sin(a)``, ``exp(a*b)``, ``1/cosh(a - b)``, roots, ...) that the closure of the
        loss's derivatives may need.  Beyond it :class:`~ibsym.core.errors.BudgetExceeded`
        names the budget ("exceeds max_atoms=200; pass max_atoms=400 ...").  Cost grows
        with the number of atoms (a chain Σ log cosh(θ_i − θ_(i+1)) needs four per link:
        ``max_atoms=400`` for 100 parameters).  CLI: ``--max-atoms N``.
    budget : Budget, optional
        A :class:`~ibsym.core.budget.Budget` shared with the rest of a computation
        (the command line passes one through every phase); overrides ``budget_seconds``.

    Returns
    -------
    ModifiedEquation

    Examples
    --------
    >>> eq = modified_equation("gd", order=1)
    >>> print(eq)
    dθ/dt = -∇L + h·(-1/2 ∇²L∇L) + O(h²)
    """
    if not isinstance(order, int) or order < 0:
        raise InputError(f"order must be a non-negative integer, got {order!r}")
    opt = get_optimizer(optimizer, **(hyper or {}))
    opt = opt.bind(loss)            # parameter groups → coordinates (refused without a loss)
    if opt.steps_per_update != "batches":
        opt.tau()                   # a period set by a hyper-parameter must be a given integer
    t0 = time.process_time()
    alg = make_algebra(loss, opt, order, max_atoms=_check_max_atoms(max_atoms))
    if budget is None:
        budget = Budget(budget_seconds, advice="lower the order, simplify the loss or raise "
                                               "the budget")
    checks = _Budget(budget, max_terms, alg)
    for _ in range(64):
        checks.check("the traced update")
        try:
            if opt.state_names:
                F, M, structure = solve_with_state(opt, alg, order, checks)
            else:
                D = trace_update(opt, alg, order + 1)
                checks.check("the modified field from the traced update")
                F = solve_modified_field(alg, D, order, checks, tau=opt.tau(alg.batches))
                M, structure = {}, None
            break
        except NeedAtoms as need:
            # a coordinate-wise root or reciprocal (e.g. √(∂_jL² + ε)): extend the ring, restart
            alg = alg.extended(need.atoms)
            checks = _Budget(budget, max_terms, alg)
    else:  # pragma: no cover - each restart adds atoms, the closure is finite
        raise BudgetExceeded("too many coordinate-wise atoms were requested")
    seconds = time.process_time() - t0
    return ModifiedEquation.from_algebra(opt, loss if loss is not None else Loss.generic(),
                                         order, alg, F, seconds, manifold=M,
                                         structure=structure)
