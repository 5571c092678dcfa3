"""Differential polynomial rings: fast exact calculus for concrete losses.

Expression swell is the enemy of backward error analysis.  Instead of SymPy
expression trees, concrete derivations compute in a sparse polynomial ring
over ℚ whose generators are the parameters *and* the transcendental atoms of
the loss (``sin(a)``, ``exp(a*b)``, ``1/(1 + a²)``, ``(1 + a²)^(1/2)``, ...).
Each atom's partial derivatives are themselves ring elements, so the ring is
closed under ∂/∂θ_i and every intermediate result stays expanded, exact and
canonical.  Atoms are discovered by a closure: the derivative of every atom is
rewritten in terms of parameters and (possibly new) atoms until nothing new
appears.

Rational powers ``u^(p/q)`` are written as powers of two atoms ``r = u^(1/q)``
and ``r̄ = u^(-1/q)`` (``∂r = (1/q) u' r r̄^q``, ``∂r̄ = -(1/q) u' r̄^(q+1)``), which
closes the derivative chain; irrational constants (π, √2) are atoms with zero
derivative.  Absolute values ``|u|`` of smooth ``u`` -- which SymPy's own, branch-correct
evaluation produces for roots such as ``√(x²) = |x|`` and ``(x⁴)^(1/4) = |x|`` -- are atoms
with ``∂|u| = u u' · (1/|u|)`` (the derivative ``sign(u) u'``, exact away from ``u = 0``);
they are accepted only in rings built with ``allow_abs=True`` (the coordinate-wise powers
of :class:`~ibsym.bea.algebras.ConcreteAlgebra`), never from a loss, which must be smooth.
Relations between atoms (``sin² + cos² = 1``, ``r·r̄ = 1``, ``|x|² = x²``) are not
applied inside the ring: a nonzero ring element can vanish as a function, so
zero tests that matter use :meth:`DiffRing.is_zero_function`.

Examples
--------
>>> import sympy as sp
>>> a, b = sp.symbols("a b", real=True)
>>> R = DiffRing.from_expressions([sp.sin(a*b)], (a, b))
>>> p = R.from_sympy(sp.sin(a*b))
>>> R.to_sympy(R.diff(p, 0))
b*cos(a*b)
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sympy as sp
from sympy.polys.domains import QQ
from sympy.polys.rings import PolyElement, PolyRing

from ibsym.bea.coefficients import coefficient_field
from ibsym.bea.polyring import poly_ring
from ibsym.core.errors import BudgetExceeded, InputError, NotDifferentiableError

__all__ = ["DiffRing", "DEFAULT_MAX_ATOMS"]

#: Default atom budget of a ring (``max_atoms``): how many transcendental atoms the closure
#: of a loss's derivatives may need before it is refused with :class:`BudgetExceeded`.
#: A chain Σ log cosh(θ_i − θ_(i+1)) needs 4 per link (log cosh, sinh, cosh, 1/cosh), so
#: d = 50 fits and d = 100 needs ``max_atoms=400`` (``--max-atoms 400``).
DEFAULT_MAX_ATOMS = 200

_NON_SMOOTH = (sp.Abs, sp.sign, sp.Max, sp.Min, sp.Heaviside, sp.floor, sp.ceiling)
_NOT_REAL = ("a complex number (the imaginary unit) appeared: the update takes a fractional "
             "power of a negative constant, which is not real -- check the hyper-parameter "
             "values and the roots in the update rule")


class DiffRing:
    """A polynomial ring ℚ[θ, atoms] with the partial derivatives ∂/∂θ_i.

    Build it with :meth:`from_expressions`; convert with :meth:`from_sympy`
    and :meth:`to_sympy`; differentiate with :meth:`diff`.

    Attributes
    ----------
    params : tuple of sympy.Symbol
        The differentiation variables.
    atoms : tuple of sympy.Expr
        Transcendental atoms, in generator order after the parameters.
    ring : sympy.polys.rings.PolyRing or ibsym.bea.polyring.FlintRing
        The underlying sparse polynomial ring: python-flint's compiled ``fmpq_mpoly`` when
        it is installed and the coefficient field is ℚ, else SymPy's (the choice and its
        ``IBSYM_POLY_BACKEND`` override: :mod:`ibsym.bea.polyring`).
    """

    def __init__(self, params: Sequence[sp.Symbol], atoms: Sequence[sp.Expr],
                 atom_derivs: dict[sp.Expr, list[sp.Expr]], constants: Sequence[sp.Symbol] = (),
                 sources: Sequence[sp.Expr] = (), backend: str | None = None):
        self.params = tuple(params)
        self.atoms = tuple(atoms)
        self.constants = tuple(constants)
        self.sources = tuple(sources)
        self._atom_syms = tuple(sp.Dummy(f"A{i}") for i in range(len(self.atoms)))
        gens = self.params + self._atom_syms
        # hyper-parameters live in the coefficient field ℚ(β, ρ, …): exact division by 1 − β
        # (reduced by trial division by the known denominator factors, not a gcd per step)
        self.domain = coefficient_field(self.constants) if self.constants else QQ
        self.ring: PolyRing = poly_ring(gens, self.domain, backend)
        self.backend = getattr(self.ring, "backend", "sympy")
        self._native_dgen = self.backend != "sympy"
        self.gens = self.ring.gens
        self.param_gens = self.gens[: len(self.params)]
        self.atom_gens = self.gens[len(self.params):]
        self._atom_index = {a: i for i, a in enumerate(self.atoms)}
        self._back = {s: a for s, a in zip(self._atom_syms, self.atoms)}
        # derivatives of atoms as ring elements: _dA[k][i] = ∂ atom_k / ∂ θ_i
        self._dA = [[self.from_sympy(e) for e in atom_derivs[a]] for a in self.atoms]
        # sparsity of the chain rule: the atoms k with ∂atom_k/∂θ_i ≠ 0, per parameter i
        self._dA_of = [[k for k in range(len(self.atoms)) if self._dA[k][i]]
                       for i in range(len(self.params))]
        self._atom_params = [[i for i in range(len(self.params)) if dk[i]] for dk in self._dA]
        self._dirs: tuple = (None, None, None)   # v, D_v of every generator, packed: last lie()
        self.zero = self.ring.zero
        self.one = self.ring.one

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def from_expressions(cls, exprs: Sequence[sp.Expr], params: Sequence[sp.Symbol], *,
                         constants: Sequence[sp.Symbol] = (),
                         max_atoms: int = DEFAULT_MAX_ATOMS,
                         jet_order: int | None = None, allow_abs: bool = False) -> "DiffRing":
        """Smallest ring containing ``exprs`` and closed under ∂/∂params.

        Parameters
        ----------
        exprs : sequence of sympy.Expr
            Expressions in ``params`` (and ``constants``) to represent.
        params : sequence of sympy.Symbol
            Differentiation variables.
        constants : sequence of sympy.Symbol
            Symbols treated as constants (hyper-parameters), kept as generators.
        max_atoms : int, default :data:`DEFAULT_MAX_ATOMS`
            Atom budget; a closure that needs more atoms raises :class:`BudgetExceeded`
            naming it (``modified_equation(..., max_atoms=N)``, CLI ``--max-atoms N``).
        jet_order : int, optional
            For losses that are *undefined functions* L(θ_1, …, θ_d) (the generic
            component-wise algebra): partial derivatives ∂^α L are atoms up to
            |α| = ``jet_order``; the derivatives of the highest ones are truncated
            (set to 0), so results are exact up to that differential order.
        allow_abs : bool
            Accept absolute values ``|u|`` of smooth ``u`` as atoms (derivative
            ``u u'/|u|``, valid where ``u ≠ 0``).  Off by default: a loss with ``abs`` is
            refused; the coordinate-wise roots of the concrete algebra turn it on.
        """
        params = tuple(params)
        atoms: list[sp.Expr] = []
        derivs: dict[sp.Expr, list[sp.Expr]] = {}
        queue: list[sp.Expr] = []

        def register(e: sp.Expr) -> None:
            for a in _atoms_of(e, params, constants, allow_abs=allow_abs):
                if a not in derivs and a not in queue:
                    queue.append(a)

        for e in exprs:
            register(sp.sympify(e))
        while queue:
            a = queue.pop(0)
            if a in derivs:
                continue
            if len(atoms) >= max_atoms:
                raise BudgetExceeded(
                    f"the derivatives of the loss need more than {max_atoms} transcendental "
                    f"atoms (sin, exp, 1/u, roots, ... closed under ∂/∂θ), which exceeds "
                    f"max_atoms={max_atoms}; pass max_atoms={2 * max_atoms} (or more) to "
                    f"modified_equation / --max-atoms {2 * max_atoms} on the command line, "
                    "or simplify the loss")
            atoms.append(a)
            if (jet_order is not None and isinstance(a, sp.Derivative)
                    and a.derivative_count >= jet_order):
                d = [sp.Integer(0) for _ in params]          # jet truncation
            else:
                fs = a.free_symbols        # ∂a/∂p = 0 unless p occurs in a
                d = [_atom_derivative(a, p) if p in fs else sp.Integer(0) for p in params]
            derivs[a] = d
            for e in d:
                register(e)
        ring = cls(params, atoms, derivs, constants, sources=[sp.sympify(e) for e in exprs])
        ring.jet_order = jet_order
        ring.allow_abs = allow_abs
        ring.max_atoms = max_atoms
        return ring

    jet_order: int | None = None
    allow_abs: bool = False
    max_atoms: int = DEFAULT_MAX_ATOMS

    def extended(self, exprs: Sequence[sp.Expr]) -> "DiffRing":
        """A new ring that also contains ``exprs`` (its atoms and their derivatives)."""
        return DiffRing.from_expressions(list(self.sources) + list(exprs), self.params,
                                         constants=self.constants, jet_order=self.jet_order,
                                         allow_abs=self.allow_abs, max_atoms=self.max_atoms)

    def has_atom(self, a: sp.Expr) -> bool:
        """Whether ``a`` is one of this ring's atoms."""
        return a in self._atom_index

    def constant(self, c: sp.Expr) -> PolyElement:
        """A coefficient-field element (number or rational function of the constants)."""
        return self.ring.ground_new(self.domain.from_sympy(sp.sympify(c)))

    # -- conversion -----------------------------------------------------------------------
    def from_sympy(self, e: sp.Expr) -> PolyElement:
        """Convert a SymPy expression (in params, constants and known atoms)."""
        return self._conv(sp.sympify(e))

    def _conv(self, e: sp.Expr) -> PolyElement:
        R = self.ring
        if e.is_Rational:
            return R(QQ(int(e.p), int(e.q)))
        if e is sp.I:
            raise InputError(_NOT_REAL)
        if e.is_Symbol:
            if e in self.params:
                return self.param_gens[self.params.index(e)]
            if e in self.constants:
                return self.constant(e)
            raise KeyError(f"unknown symbol {e}")
        if _is_coefficient(e, self.constants):
            return self.constant(e)
        if e.is_Add:
            out = R.zero
            for t in e.args:
                out += self._conv(t)
            return out
        if e.is_Mul:
            out = R.one
            for t in e.args:
                out *= self._conv(t)
            return out
        if e.is_Pow and e.exp.is_Integer:
            n = int(e.exp)
            if n >= 0:
                return self._conv(e.base) ** n
            return self._atom(_inv(e.base)) ** (-n)
        if e.is_Pow and e.exp.is_Rational:
            p, q = int(e.exp.p), int(e.exp.q)
            if p > 0:
                return self._atom(_root(e.base, q)) ** p
            return self._atom(_root(e.base, -q)) ** (-p)
        return self._atom(e)

    def _atom(self, a: sp.Expr) -> PolyElement:
        if a.is_Pow and a.base is sp.E:
            a = sp.exp(a.exp)
        try:
            return self.atom_gens[self._atom_index[a]]
        except KeyError:
            raise KeyError(f"atom {a} is not in this ring") from None

    def to_sympy(self, p: PolyElement) -> sp.Expr:
        """Convert a ring element back to a SymPy expression (atoms restored)."""
        e = p.as_expr()
        return e.xreplace(self._back) if self.atoms else e

    # -- calculus -------------------------------------------------------------------------
    def _dgen(self, p: PolyElement, g: int) -> PolyElement:
        """∂p/∂(generator g), by index (SymPy's ``diff`` looks the generator up by a linear
        search with costly comparisons, which dominates in many dimensions)."""
        if self._native_dgen:
            return p.diff_gen(g)
        terms = {}
        for mon, c in p.items():
            e = mon[g]
            if e:
                terms[mon[:g] + (e - 1,) + mon[g + 1:]] = c * e
        return self.ring.from_dict(terms) if terms else self.ring.zero

    def diff(self, p: PolyElement, i: int) -> PolyElement:
        """∂p/∂θ_i (chain rule through the atoms)."""
        out = self._dgen(p, i)
        n = len(self.params)
        for k in self._dA_of[i]:
            dp = self._dgen(p, n + k)
            if dp:
                out += dp * self._dA[k][i]
        return out

    def gradient(self, p: PolyElement) -> list[PolyElement]:
        """[∂p/∂θ_i for i]."""
        return [self.diff(p, i) for i in range(len(self.params))]

    def generator_derivatives(self, v: Sequence[PolyElement]) -> list[PolyElement]:
        """D_v x for every generator x: v_i for the parameter θ_i and Σ_i v_i ∂A_k/∂θ_i
        for the atom A_k (computed once per direction, shared by every component)."""
        n = len(self.params)
        out = list(v) + [self.ring.zero] * len(self.atoms)
        for i, vi in enumerate(v):
            if vi:
                for k in self._dA_of[i]:
                    out[n + k] += self._dA[k][i] * vi
        return out

    def directional(self, p: PolyElement, v: Sequence[PolyElement],
                    dv: Sequence[PolyElement] | None = None) -> PolyElement:
        """Σ_i v_i ∂p/∂θ_i (v is not differentiated), as Σ_x (∂p/∂x) D_v x over the
        generators x that occur in p (``dv``: :meth:`generator_derivatives` of v)."""
        if not p:
            return self.ring.zero
        if dv is None:
            dv = self.generator_derivatives(v)
        out = self.ring.zero
        for g in _occurring(p):
            w = dv[g]
            if w:
                out += self._dgen(p, g) * w
        return out

    def lie(self, F: Sequence[PolyElement], G: Sequence[PolyElement]) -> list[PolyElement]:
        """Lie derivative of the vector function G along F: G'F."""
        last, dv, packed = self._dirs
        if last is not F:          # the Lie series differentiates along each F_a many times
            packed = self._packed_directions(F) if isinstance(self.ring, PolyRing) else None
            dv = self.generator_derivatives(F) if packed is None else None
            if isinstance(F, tuple):
                self._dirs = (F, dv, packed)
        if packed is not None:
            return [self._directional_packed(g, F, packed) for g in G]
        return [self.directional(g, F, dv) for g in G]

    def _packed_directions(self, v: Sequence[PolyElement]) -> tuple | None:
        """:meth:`generator_derivatives` of v, each as [(exponents packed a byte per
        generator, coefficient)], and the largest exponent in any of them (None when one
        reaches 256: no packing).  Only the packed form is kept (a few times smaller)."""
        n = len(self.params)
        out, top = [], 0
        for g in range(len(self.gens)):
            if g < n:
                w = v[g]
            else:
                w = self.ring.zero
                for i in self._atom_params[g - n]:
                    if v[i]:
                        w += self._dA[g - n][i] * v[i]
            if not w:
                out.append(None)
                continue
            top = max(top, max(w.degrees()))
            if top > 255:
                return None
            out.append([(int.from_bytes(bytes(m), "little"), c) for m, c in w.items()])
        return out, top

    def _directional_packed(self, p: PolyElement, v: Sequence[PolyElement],
                            packed: tuple) -> PolyElement:
        """:meth:`directional` for SymPy's ring, with each exponent vector packed into one
        integer (a byte per generator): a monomial product is one integer addition instead
        of a tuple sum over every generator -- in a ring of hundreds of generators (the
        atoms of a loss in many dimensions) that tuple arithmetic is most of the cost.
        Falls back to :meth:`directional` when an exponent could reach 256."""
        acc: dict[int, Any] = {}
        if not self._accumulate_packed(acc, p, packed):
            return self.directional(p, v)
        return self._unpack(acc)

    def _accumulate_packed(self, acc: dict, p: PolyElement, packed: tuple) -> bool:
        """acc += Σ_x (∂p/∂x) D_v x on packed monomials; False (acc untouched) when an
        exponent could reach 256."""
        if not p:
            return True
        W, wmax = packed
        degs = p.degrees()
        if max(degs) + wmax > 255:
            return False
        P = [(int.from_bytes(bytes(m), "little"), m, c) for m, c in p.items()]
        get = acc.get
        zero = self.ring.domain.zero
        for g, e in enumerate(degs):
            Wg = W[g] if e else None
            if not Wg:
                continue
            unit = 1 << (8 * g)
            for key, m, c in P:
                eg = m[g]
                if eg:
                    base, ce = key - unit, c * eg
                    for kw, cw in Wg:
                        k = base + kw
                        acc[k] = get(k, zero) + ce * cw
        return True

    def _unpack(self, acc: dict) -> PolyElement:
        out = self.ring.zero
        n = self.ring.ngens
        for k, c in acc.items():
            if c:
                out[tuple(k.to_bytes(n, "little"))] = c
        return out

    def lie_sum(self, pairs: Sequence[tuple]) -> list[PolyElement]:
        """Σ_k G_k'F_k over pairs (F_k, G_k), each component accumulated once (in SymPy's
        ring on packed monomials: the summands are never built as separate polynomials,
        which in many dimensions is most of the memory of a Lie-series coefficient)."""
        packs = ([self._packed_directions(F) for F, _ in pairs]
                 if isinstance(self.ring, PolyRing) and len(pairs) > 1 else None)
        if packs is None or any(pk is None for pk in packs):
            out = None
            for F, G in pairs:
                L = self.lie(F, G)
                out = L if out is None else [x + y for x, y in zip(out, L)]
            return out
        res = []
        for j in range(len(pairs[0][1])):
            acc: dict[int, Any] = {}
            if all(self._accumulate_packed(acc, G[j], pk) for (_, G), pk in zip(pairs, packs)):
                res.append(self._unpack(acc))
            else:
                res.append(sum((self.directional(G[j], F) for F, G in pairs), self.ring.zero))
        return res

    def is_zero_function(self, p: PolyElement, *, simplify: bool = True) -> bool | None:
        """Whether p vanishes identically as a function.

        True/False when decided; ``None`` if atoms make the question undecided
        by simplification (callers then decide numerically).
        """
        if not p:
            return True
        if not self.atoms:
            return False
        if not simplify:
            return None
        e = sp.simplify(self.to_sympy(p))
        if e == 0:
            return True
        return None

    @property
    def is_polynomial(self) -> bool:
        """True when there are no transcendental atoms."""
        return not self.atoms


# ---------------------------------------------------------------------------------------
def _occurring(p: PolyElement) -> list[int]:
    """Indices of the generators that occur in p (one pass over its monomials)."""
    degrees = getattr(p, "degrees", None)
    degs = degrees() if degrees is not None else tuple(map(max, zip(*p.monoms())))
    return [g for g, e in enumerate(degs) if e]


def _is_coefficient(e: sp.Expr, constants: Sequence[sp.Symbol]) -> bool:
    """True if ``e`` is a rational function of the constants only (a field element)."""
    if not e.free_symbols or not e.free_symbols <= set(constants):
        return False
    return all(x.is_Symbol or x.is_Rational or x.is_Add or x.is_Mul
               or (x.is_Pow and x.exp.is_Integer) for x in sp.preorder_traversal(e))


def _inv(base: sp.Expr) -> sp.Expr:
    return sp.Pow(base, -1, evaluate=False)


def _root(base: sp.Expr, q: int) -> sp.Expr:
    return sp.Pow(base, sp.Rational(1, q), evaluate=False)


def _atoms_of(e: sp.Expr, params: tuple, constants: Sequence[sp.Symbol], *,
              allow_abs: bool = False) -> list[sp.Expr]:
    """Atoms needed to write ``e`` as a polynomial (non-recursive into atoms' args
    except through their own derivatives); ``|u|`` is an atom only with ``allow_abs``."""
    out: list[sp.Expr] = []
    stack = [e]
    while stack:
        x = stack.pop()
        if x is sp.I:
            raise InputError(_NOT_REAL)
        if x.is_Rational or x.is_Symbol:
            if x.is_Symbol and x not in params and x not in constants:
                raise KeyError(f"unknown symbol {x}")
            continue
        if constants and _is_coefficient(x, constants):
            continue
        if allow_abs and isinstance(x, sp.Abs):
            out.append(x)
            continue
        if isinstance(x, _NON_SMOOTH):
            raise NotDifferentiableError(
                f"{x} is not differentiable where its argument vanishes; use a smooth surrogate")
        if x.is_Add or x.is_Mul:
            stack.extend(x.args)
            continue
        if x.is_Pow and x.exp.is_Integer:
            if int(x.exp) >= 0:
                stack.append(x.base)
            else:
                out.append(_inv(x.base))
            continue
        if x.is_Pow and x.exp.is_Rational:
            q = int(x.exp.q)
            out.append(_root(x.base, q) if x.exp > 0 else _root(x.base, -q))
            continue
        if x.is_Pow and x.base is sp.E:
            out.append(sp.exp(x.exp))
            continue
        if x.is_Pow:
            raise NotDifferentiableError(
                f"symbolic exponent in {x} is not supported; rewrite it with exp and log")
        out.append(x)
    return out


def _diff(e: sp.Expr, p: sp.Symbol) -> sp.Expr:
    """∂e/∂p, with ∂|u| = u u'/|u| (SymPy would write sign(u), or re/im parts when it
    cannot tell that u is real -- the jet atoms ∂_iL of a generic loss)."""
    abses = [a for a in e.atoms(sp.Abs) if p in a.free_symbols]
    if not abses:
        return sp.diff(e, p)
    table = {a: sp.Dummy("absval") for a in abses}
    f = e.xreplace(table)
    out = sp.diff(f, p)
    for a, s in table.items():
        df = sp.diff(f, s)
        if df != 0:
            w = a.args[0]
            out += df * w * _diff(w, p) * _inv(a)
    return out.xreplace({s: a for a, s in table.items()})


def _atom_derivative(a: sp.Expr, p: sp.Symbol) -> sp.Expr:
    """∂a/∂p written so that only atoms of the closure appear."""
    if isinstance(a, sp.Abs):   # |u|: sign(u) u' = u u' (1/|u|), valid where u ≠ 0
        u = a.args[0]
        du = _diff(u, p)
        return sp.Mul(u, du, _inv(a), evaluate=False) if du != 0 else sp.Integer(0)
    if a.is_Pow and a.exp == -1:  # 1/u
        u = a.base
        du = _diff(u, p)
        return sp.Mul(-1, du, sp.Pow(_inv(u), 2, evaluate=False), evaluate=False) if du != 0 else sp.Integer(0)
    if a.is_Pow and a.exp.is_Rational and not a.exp.is_Integer:  # u^(±1/q)
        u, r = a.base, a.exp
        du = _diff(u, p)
        if du == 0:
            return sp.Integer(0)
        q = int(1 / r) if r > 0 else int(-1 / r)
        if r > 0:   # u^(1/q): (1/q) u' r rbar^q
            rbar = _root(u, -q)
            return sp.Mul(sp.Rational(1, q), du, a, sp.Pow(rbar, q, evaluate=False), evaluate=False)
        # u^(-1/q): -(1/q) u' rbar^(q+1)
        return sp.Mul(sp.Rational(-1, q), du, sp.Pow(a, q + 1, evaluate=False), evaluate=False)
    if a.free_symbols.isdisjoint({p}) or not a.free_symbols:
        return sp.Integer(0)
    return _diff(a, p)
