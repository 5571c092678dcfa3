"""Vector-field algebras: where the one BEA procedure does its arithmetic.

Backward error analysis needs only a handful of operations on vector fields
of θ: sums, multiples by scalars (numbers and hyper-parameters), the gradient
∇L and its Taylor expansion at a displaced point, and the Lie derivative
G'F.  Two algebras implement them:

* :class:`ConcreteAlgebra` -- a concrete loss; vectors are tuples of elements
  of a :class:`~ibsym.bea.diffring.DiffRing` (exact, expanded, fast);
* :class:`GenericAlgebra` -- a generic loss; vectors are
  :class:`~ibsym.bea.trees.Combination` s of elementary differentials of ∇L.

:mod:`ibsym.bea.procedure` is written once against this interface and never asks which
optimizer it is working on.

Examples
--------
>>> from ibsym.core.losses import bilinear
>>> alg = ConcreteAlgebra(bilinear())
>>> alg.to_sympy(alg.grad())
Matrix([
[a*b**2 - b],
[a**2*b - a]])
"""
from __future__ import annotations

import itertools
from collections.abc import Sequence
from math import factorial
from typing import Any

import sympy as sp
from sympy.polys.domains import QQ

from ibsym.bea.diffring import DEFAULT_MAX_ATOMS, DiffRing, _atoms_of
from ibsym.core.errors import InputError
from ibsym.core.losses import Loss
from ibsym.bea.trees import LEAF, Combination, canonical, exact_coefficients, from_exact

__all__ = ["Algebra", "ConcreteAlgebra", "GenericAlgebra", "NeedAtoms"]


class Algebra:
    """Interface of a vector-field algebra (see module docstring)."""

    generic: bool = False

    def zero(self) -> Any:  # pragma: no cover - interface
        raise NotImplementedError

    def add(self, a: Any, b: Any) -> Any:  # pragma: no cover
        raise NotImplementedError

    def scale(self, c: Any, a: Any) -> Any:  # pragma: no cover
        raise NotImplementedError

    def is_zero(self, a: Any) -> bool:  # pragma: no cover
        raise NotImplementedError

    def grad(self) -> Any:  # pragma: no cover
        """∇L at θ."""
        raise NotImplementedError

    def grad_taylor(self, deltas: Sequence[Any], order: int,
                    batch: int | None = None) -> list[Any]:  # pragma: no cover
        """Coefficients [h^0..h^order] of ∇L(θ + Σ_{p≥1} h^p δ_p); ``deltas[p]`` is δ_p.
        With ``batch`` = k, of the mini-batch gradient ∇L̂_k instead."""
        raise NotImplementedError

    #: number of mini-batch losses (0: full batch only)
    batches: int = 0

    def lie(self, F: Any, G: Any) -> Any:  # pragma: no cover
        """Derivative of G along F (G'F)."""
        raise NotImplementedError

    def lie_sum(self, pairs: Sequence[tuple[Any, Any]]) -> Any:
        """Σ_k G_k'F_k over pairs (F_k, G_k) (one or more)."""
        acc = self.lie(*pairs[0])
        for F, G in pairs[1:]:
            acc = self.add(acc, self.lie(F, G))
        return acc

    # element-wise (coordinate-wise) operations: Adam, RMSProp, sign-like methods.
    # The generic algebra has no coordinates and refuses them.
    def mul(self, a: Any, b: Any) -> Any:
        """Coordinate-wise product a ⊙ b."""
        raise InputError(self._no_coordinates("a coordinate-wise product"))

    def power(self, a: Any, r: sp.Rational) -> Any:
        """Coordinate-wise power a^r (the coordinates of ``a`` must not vanish for r < 0
        or non-integer r)."""
        raise InputError(self._no_coordinates("a coordinate-wise power"))

    def const(self, c: Any) -> Any:
        """The vector with every coordinate equal to the scalar c."""
        raise InputError(self._no_coordinates("adding a scalar to a vector"))

    def identity(self) -> Any:
        """The vector field X(θ) = θ (points scaled by h-dependent factors)."""
        raise InputError(self._no_coordinates("a multiple of θ itself (e.g. weight decay)"))

    def reduce_sum(self, a: Any, what: str = "sum") -> Any:
        """The scalar field Σ_i a_i, broadcast to every coordinate (a reduction)."""
        raise InputError(f"{what} on a traced vector of a generic loss: a reduction across "
                         "coordinates (⟨∇L, ∇L⟩, ‖∇L‖, Σ_i ∂_iL) is a scalar, which the "
                         "dimension-free (∇L-notation) algebra of vector fields cannot "
                         "represent; derive on a concrete loss instead (ib.modified_equation("
                         "optimizer, loss, order); CLI: --loss)")

    def dimension(self, what: str = "the dimension") -> int:
        """The number of coordinates d."""
        raise InputError(self._no_coordinates(what))

    def coordinate(self, a: Any, i: int) -> Any:
        """The scalar field a_i, broadcast to every coordinate."""
        raise InputError(self._no_coordinates("a single coordinate"))

    def project(self, a: Any, indices: Sequence[int], what: str = "a parameter group") -> Any:
        """The vector a with the coordinates outside ``indices`` set to zero (the part of a
        in a group of parameters)."""
        raise InputError(f"{what} needs coordinates: the dimension-free (∇L-notation) algebra "
                         "has no split of θ into groups of parameters; derive on a concrete "
                         "loss whose parameters the groups name (ib.modified_equation(optimizer, "
                         "loss, order); CLI: --loss ... --params ...)")

    def _no_coordinates(self, what: str) -> str:
        return (f"{what} needs coordinates: the dimension-free (∇L-notation) algebra has only "
                "linear combinations and gradients; derive on a concrete loss instead, or use "
                "the component-wise generic form in index notation, "
                "ib.componentwise_equation(optimizer, order) (CLI: ibsym derive NAME without "
                "--loss)")


def _exact(c: Any) -> sp.Expr:
    """A coefficient for the exact ring: floats in an update rule (``0.5*g``) become the
    rationals they denote (as ``Optimizer.with_hyper`` does), never ring atoms."""
    if isinstance(c, float):
        return sp.nsimplify(c, rational=True)
    if isinstance(c, str):   # sympify would evaluate it: text belongs in a rule file
        raise InputError(f"a string ({c[:40]!r}) in an update rule: use numbers, or write the "
                         "rule as a rule file (parsed without eval)")
    c = sp.sympify(c, strict=True)
    if c.has(sp.Float):
        return sp.nsimplify(c, rational=True)
    return c


class NeedAtoms(Exception):
    """Internal: a coordinate-wise power needs atoms the ring does not have yet.

    :mod:`ibsym.bea.procedure` catches it, extends the ring and restarts the derivation.
    """

    def __init__(self, atoms: Sequence[sp.Expr]):
        super().__init__(f"{len(atoms)} new atom(s)")
        self.atoms = list(atoms)


class ConcreteAlgebra(Algebra):
    """Vector fields of a concrete loss, in its differential polynomial ring.

    Parameters
    ----------
    loss : Loss
        Concrete, smooth loss.
    constants : sequence of sympy.Symbol
        Symbolic hyper-parameters (they form the coefficient field ℚ(β, ρ, …)).
    extra : sequence of sympy.Expr
        Further expressions whose atoms the ring must contain (coordinate-wise
        roots such as √(∂_jL² + ε), added on demand by :mod:`ibsym.bea.procedure`).
    max_atoms : int, default :data:`~ibsym.bea.diffring.DEFAULT_MAX_ATOMS`
        Atom budget of the ring (see :meth:`DiffRing.from_expressions`).
    """

    generic = False

    def __init__(self, loss: Loss, constants: Sequence[sp.Symbol] = (),
                 extra: Sequence[sp.Expr] = (), jet_order: int | None = None,
                 max_atoms: int = DEFAULT_MAX_ATOMS):
        if loss.is_generic:
            raise InputError("ConcreteAlgebra needs a concrete loss")
        loss.check_smooth()
        self.loss = loss
        self.params = loss.params
        self.d = len(loss.params)
        self.constants = tuple(constants)
        self.extra = tuple(extra)
        # |u| atoms come only from coordinate-wise roots (√(x²) = |x|): the loss is smooth
        self.ring = DiffRing.from_expressions([loss.expr, *loss.batches, *extra], loss.params,
                                              constants=self.constants, jet_order=jet_order,
                                              allow_abs=True, max_atoms=max_atoms)
        self.jet_order = jet_order
        self.max_atoms = max_atoms
        self.L = self.ring.from_sympy(loss.expr)
        self._grad = tuple(self.ring.gradient(self.L))
        self._dcache: dict[tuple[int, ...], tuple] = {(): self._grad}
        self.batches = loss.num_batches
        self._bgrad = [tuple(self.ring.gradient(self.ring.from_sympy(b))) for b in loss.batches]
        self._bcache: list[dict[tuple[int, ...], tuple]] = [{(): g} for g in self._bgrad]

    def zero(self) -> tuple:
        return tuple(self.ring.zero for _ in range(self.d))

    def add(self, a: tuple, b: tuple) -> tuple:
        return tuple(x + y for x, y in zip(a, b))

    def scale(self, c: Any, a: tuple) -> tuple:
        c = _exact(c)
        if c == 0:
            return self.zero()
        if c == 1:
            return a
        cr = self.ring.from_sympy(c)
        if cr.is_ground:           # a number or a rational function of the constants:
            k = cr.LC              # multiply the coefficients (no monomial products)
            return tuple(x * k for x in a)
        return tuple(x * cr for x in a)

    def extended(self, atoms: Sequence[sp.Expr]) -> "ConcreteAlgebra":
        """The same algebra over a ring that also has ``atoms``."""
        return ConcreteAlgebra(self.loss, self.constants, tuple(self.extra) + tuple(atoms),
                               jet_order=self.jet_order, max_atoms=self.max_atoms)

    def is_zero(self, a: tuple) -> bool:
        return all(not x for x in a)

    def grad(self) -> tuple:
        return self._grad

    def _dgrad(self, idx: tuple[int, ...], batch: int | None = None) -> tuple:
        key = tuple(sorted(idx))
        cache = self._dcache if batch is None else self._bcache[batch]
        if key not in cache:
            prev = self._dgrad(key[:-1], batch)
            cache[key] = tuple(self.ring.diff(g, key[-1]) for g in prev)
        return cache[key]

    def grad_taylor(self, deltas: Sequence[tuple], order: int,
                    batch: int | None = None) -> list[tuple]:
        if batch is not None and not 0 <= batch < self.batches:
            raise InputError(f"mini-batch {batch} does not exist; the loss has "
                             f"{self.batches} batch(es)")
        shift = deltas[0] if deltas and deltas[0] is not None and not self.is_zero(deltas[0]) \
            else None
        g0 = self._grad if batch is None else self._bgrad[batch]
        if shift is not None:
            g0 = self._at(g0, shift)
        out = [g0] + [self.zero() for _ in range(order)]
        active = [p for p in range(1, min(len(deltas), order + 1)) if not self.is_zero(deltas[p])]
        if not active:
            return out
        # Σ_m 1/m! ∇^{m+1}L[δ(h), ..., δ(h)], expanded by multi-indices of (power, coordinate)
        slots = [(p, i) for p in active for i in range(self.d) if deltas[p][i]]
        for m in range(1, order + 1):
            for combo in itertools.combinations_with_replacement(slots, m):
                power = sum(p for p, _ in combo)
                if power > order:
                    continue
                mult = factorial(m)
                for c in _counts(combo):
                    mult //= factorial(c)
                w = self.ring.one
                for p, i in combo:
                    w = w * deltas[p][i]
                T = self._dgrad(tuple(i for _, i in combo), batch)
                if shift is not None:
                    T = self._at(T, shift)
                w = w * QQ(mult, factorial(m))
                out[power] = tuple(o + w * t for o, t in zip(out[power], T))
        return out

    def _at(self, V: tuple, shift: tuple) -> tuple:
        """The field V composed with θ ↦ θ + shift(θ): V(θ + δ(θ)) for an O(1) displacement
        δ (SAM's fixed radius, extragradient's separate step) -- a function of θ in the ring
        (new atoms such as exp(a + ρ·∂_aL) are added by a restart, :class:`NeedAtoms`)."""
        self._index_form_only("an O(1) look-ahead (the gradient at θ plus a fixed-radius "
                              "displacement)")
        R = self.ring
        cache = self.__dict__.setdefault("_shift_cache", {})
        sub = None
        out, missing = [], []
        for v in V:
            key = (v, shift)
            if key in cache:
                out.append(cache[key])
                continue
            if sub is None:
                sub = {x: x + R.to_sympy(s) for x, s in zip(self.params, shift)}
            e = R.to_sympy(v).xreplace(sub)
            try:
                cache[key] = R.from_sympy(e)
                out.append(cache[key])
            except KeyError:
                missing.extend(a for a in _atoms_of(e, R.params, R.constants, allow_abs=True)
                               if not R.has_atom(a))
        if missing:
            raise NeedAtoms(list(dict.fromkeys(missing)))
        return tuple(out)

    def lie(self, F: tuple, G: tuple) -> tuple:
        return tuple(self.ring.lie(F, G))

    def lie_sum(self, pairs: Sequence[tuple[tuple, tuple]]) -> tuple:
        return tuple(self.ring.lie_sum(pairs))

    # coordinate-wise operations
    def _index_form_only(self, what: str) -> None:
        """Refuse an operation that is not coordinate-wise on the generic coordinate loss
        of the component-wise form (jet ring): its index notation cannot write it, and its
        d coordinates stand for any number of them."""
        if self.jet_order is not None:
            raise InputError(f"{what} on the generic loss of the component-wise (index "
                             "notation) form: an operation across coordinates (a reduction, "
                             "a single coordinate, the dimension, a parameter group) has no "
                             "index form there; derive on a concrete loss instead "
                             "(ib.modified_equation(optimizer, loss, order); CLI: --loss)")

    def reduce_sum(self, a: tuple, what: str = "sum") -> tuple:
        self._index_form_only(what)
        s = self.ring.zero
        for x in a:
            s = s + x
        return tuple(s for _ in range(self.d))

    def dimension(self, what: str = "the dimension") -> int:
        self._index_form_only(what)
        return self.d

    def coordinate(self, a: tuple, i: int) -> tuple:
        self._index_form_only("a single coordinate")
        return tuple(a[i] for _ in range(self.d))

    def mul(self, a: tuple, b: tuple) -> tuple:
        return tuple(x * y for x, y in zip(a, b))

    def project(self, a: tuple, indices: Sequence[int], what: str = "a parameter group") -> tuple:
        self._index_form_only(what)
        keep = set(indices)
        return tuple(x if i in keep else self.ring.zero for i, x in enumerate(a))

    def const(self, c: Any) -> tuple:
        e = self.ring.from_sympy(_exact(c))
        return tuple(e for _ in range(self.d))

    def identity(self) -> tuple:
        return tuple(self.ring.param_gens)

    def power(self, a: tuple, r: Any) -> tuple:
        r = sp.Rational(r)
        if r.is_Integer and r >= 0:
            return tuple(x ** int(r) for x in a)
        R = self.ring
        out, missing = [], []
        for x in a:
            if not x:
                raise InputError("a coordinate-wise power with a negative or fractional exponent "
                                 "of a quantity that vanishes identically (division by zero in "
                                 "the update rule on the slow manifold)")
            u = R.to_sympy(x)
            target = _real_power(u, r)
            if x.is_ground:
                try:
                    out.append(R.constant(target))
                    continue
                except (sp.PolynomialError, sp.CoercionFailed, KeyError, ValueError):
                    pass
            try:
                out.append(R.from_sympy(target))
            except KeyError:
                missing.extend(a_ for a_ in _atoms_of(target, R.params, R.constants,
                                                      allow_abs=True)
                               if not R.has_atom(a_))
        if missing:
            raise NeedAtoms(list(dict.fromkeys(missing)))
        return tuple(out)

    # conversions
    def to_sympy(self, a: tuple) -> sp.Matrix:
        """A vector as a SymPy column matrix."""
        return sp.Matrix([self.ring.to_sympy(x) for x in a])


def _real_power(u: sp.Expr, r: sp.Rational) -> sp.Expr:
    """u^r for a real-valued u, by SymPy's own evaluation -- never by a syntactic rewrite.

    SymPy's rules are branch-correct: (x²)^(1/2) = |x|, (x⁴)^(1/4) = |x|, (x⁶)^(1/3) = x²,
    (x²)^(-1/2) = 1/|x|, while (x³)^(1/3) and (xy)^(1/2) stay roots (undefined in real
    arithmetic where the base is negative, as in the numeric update).  The partial
    derivatives ∂^αL of a generic loss are real: they are replaced by real symbols for the
    evaluation, so √((∂_jL)²) is |∂_jL| there too.  A power that is not real for any θ
    (a fractional power of a negative quantity) raises :class:`InputError`.

    Examples
    --------
    >>> x = sp.Symbol("x", real=True)
    >>> _real_power(x**2, sp.Rational(1, 2)), _real_power(x**2, sp.Rational(-3, 2))
    (Abs(x), Abs(x)/x**4)
    >>> _real_power(x**3, sp.Rational(1, 3))
    (x**3)**(1/3)
    """
    reps = {f: sp.Dummy("real", real=True)
            for f in u.atoms(sp.Derivative, sp.core.function.AppliedUndef)}
    target = sp.Pow(u.xreplace(reps), r)
    if reps:
        target = target.xreplace({d: f for f, d in reps.items()})
    if not r.is_Integer and (target.has(sp.I) or target.is_extended_real is False):
        raise InputError(f"the update takes the power {r} of {u}, which is negative for "
                         "every θ: the update is not real there (refused rather than continued "
                         "into complex numbers)")
    return target


def _counts(combo: Sequence[Any]) -> list[int]:
    out: dict[Any, int] = {}
    for c in combo:
        out[c] = out.get(c, 0) + 1
    return list(out.values())


class GenericAlgebra(Algebra):
    """Dimension-free vector fields: combinations of elementary differentials of ∇L."""

    generic = True

    def zero(self) -> Combination:
        return Combination()

    def add(self, a: Combination, b: Combination) -> Combination:
        return a + b

    def scale(self, c: Any, a: Combination) -> Combination:
        if isinstance(c, sp.Basic) and c.has(sp.I):
            raise InputError(f"the update has the complex coefficient {c}: a fractional power "
                             "of a negative constant is not real -- check the hyper-parameter "
                             "values and the roots in the update rule")
        return a.scale(c)

    def is_zero(self, a: Combination) -> bool:
        return not a

    def grad(self) -> Combination:
        return Combination({LEAF: 1})

    def grad_taylor(self, deltas: Sequence[Combination], order: int,
                    batch: int | None = None) -> list[Combination]:
        if batch is not None:
            raise InputError("mini-batch gradients need concrete batch losses "
                             "(Loss.from_batches); the generic algebra has one loss only")
        out = [self.grad()] + [Combination() for _ in range(order)]
        active = [p for p in range(1, min(len(deltas), order + 1)) if deltas[p]]
        if not active:
            return out
        # partial products: (power, children multiset) -> coefficient, exact field arithmetic
        K, coeffs = exact_coefficients([deltas[p] for p in active])
        one = sp.Integer(1) if K is None else K.one
        level: dict[tuple[int, tuple], Any] = {(0, ()): one}
        acc: list[dict[tuple, Any]] = [{} for _ in range(order + 1)]
        for m in range(1, order + 1):
            nxt: dict[tuple[int, tuple], Any] = {}
            for (pw, kids), c in level.items():
                for p, cp in zip(active, coeffs):
                    if pw + p > order:
                        continue
                    for t, ct in cp.items():
                        key = (pw + p, canonical(kids + (t,)))
                        v = c * ct
                        nxt[key] = nxt[key] + v if key in nxt else v
            if not nxt:
                break
            inv = sp.Rational(1, factorial(m)) if K is None else K.one / factorial(m)
            for (pw, kids), c in nxt.items():
                d = acc[pw]
                d[kids] = d[kids] + c * inv if kids in d else c * inv
            level = nxt
        for pw in range(1, order + 1):
            if acc[pw]:
                out[pw] = from_exact(K, acc[pw])
        return out

    def lie(self, F: Combination, G: Combination) -> Combination:
        return G.lie(F)
