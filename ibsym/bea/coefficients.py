"""The coefficient field ℚ(β, ρ, ε, …) of the exact ring, without a gcd per operation.

Symbolic hyper-parameters make the coefficients of every ring element rational functions
of the constants.  SymPy's :class:`~sympy.polys.fields.FracField` keeps them reduced by a
polynomial gcd (``cancel``) after *every* addition and multiplication, which dominated the
symbolic-hyper-parameter derivations (≈ 70 % of Adam's time in ``heugcd``).  The
denominators that occur are few and known: products of the irreducible factors of the
slow-manifold determinant, (1 − β), (1 − ρ), ….  This field keeps every element as

    numerator / Π_k φ_k^{e_k},

the φ_k irreducible, primitive, with integer coefficients and a positive leading
coefficient, registered once per field; the numerator is kept coprime to them by *trial
division* by the factors that can divide it (a product of reduced fractions can only
cancel a factor of one denominator against the other numerator; a sum only against the
common denominator).  Every element is therefore reduced, and its representation unique:
equality, hashing and zero tests stay exact.  A denominator never seen before is factored
once (``factor_list``) and its factors join the registry.

Printing gives exactly SymPy's canonical form (the form ``FracField.new`` produces), so
results are identical, expression for expression, to the field this replaces.

The previous field stays selectable (for baselines and cross-checks)::

    with legacy_coefficients():
        ...   # rings built here use SymPy's FracField (gcd after every operation)

Examples
--------
>>> import sympy as sp
>>> b = sp.Symbol("beta")
>>> K = coefficient_field((b,))
>>> x = K.from_sympy(1 / (1 - b)) * K.from_sympy(1 - b**2)
>>> x, K.to_sympy(x)
(beta + 1, beta + 1)
>>> K.to_sympy(K.from_sympy(b / (2 - 2*b)) + K.from_sympy(1 / (2*b - 2)))
-1/2
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from math import gcd
from typing import Any

import sympy as sp
from sympy.polys.domains import QQ
from sympy.polys.domains.fractionfield import FractionField
from sympy.polys.fields import FracElement, FracField
from sympy.polys.orderings import lex

__all__ = ["coefficient_field", "legacy_coefficients", "ReducedFracField"]

_STATE = {"legacy": False}
_FIELDS: dict[tuple, Any] = {}


@contextlib.contextmanager
def legacy_coefficients() -> Iterator[None]:
    """Rings built inside use SymPy's own ``FracField`` (reduced by a gcd after every
    operation): the route before this module, kept for baselines and cross-checks."""
    old = _STATE["legacy"]
    _STATE["legacy"] = True
    try:
        yield
    finally:
        _STATE["legacy"] = old


def coefficient_field(constants: Sequence[sp.Symbol]) -> Any:
    """The domain ℚ(constants) for a ring's coefficients (one per tuple of constants).

    Parameters
    ----------
    constants : sequence of sympy.Symbol
        The symbolic hyper-parameters.

    Returns
    -------
    sympy.polys.domains.FractionField
        Over a :class:`ReducedFracField` (SymPy's ``QQ.frac_field`` inside
        :func:`legacy_coefficients`).
    """
    constants = tuple(constants)
    if _STATE["legacy"]:
        return QQ.frac_field(*constants)
    dom = _FIELDS.get(constants)
    if dom is None:
        dom = _FIELDS[constants] = FractionField(ReducedFracField(constants, QQ, lex))
    return dom


_P = 2 ** 61 - 1          # a prime: divisibility certificates by evaluation mod _P
_INV: dict[int, int] = {}


def _mod(c: Any) -> int:
    """A rational c mod _P (its denominator is invertible)."""
    d = int(c.denominator)
    if d == 1:
        return int(c.numerator) % _P
    inv = _INV.get(d)
    if inv is None:
        inv = _INV[d] = pow(d, -1, _P)
        if len(_INV) > 4096:
            _INV.clear()
    return int(c.numerator) * inv % _P


def _mono(m: tuple[int, ...], y: list[int], skip: int = -1) -> int:
    v = 1
    for i, e in enumerate(m):
        if e and i != skip:
            v = v * pow(y[i], e, _P) % _P
    return v


class _RFrac(FracElement):
    """An element numer/denom of a :class:`ReducedFracField`, always reduced; ``_fac`` is
    the denominator as {registry index: exponent}."""

    _fac: dict[int, int] | None = None

    def raw_new(f, numer: Any, denom: Any = None) -> "_RFrac":
        return f.__class__(f.field, numer, denom)

    def new(f, numer: Any, denom: Any) -> "_RFrac":
        return f.field.new(numer, denom)

    @property
    def fac(self) -> dict[int, int]:
        if self._fac is None:
            self._fac = self.field._factor_denom(self.denom)
        return self._fac

    # -- arithmetic: the fast paths (same field); everything else falls back to SymPy's
    #    methods, which end in ``new`` (a full reduction) --------------------------------
    def __neg__(f) -> "_RFrac":
        return f.field._make(-f.numer, f.denom, f._fac)

    def __add__(f, g: Any) -> Any:
        if isinstance(g, _RFrac) and g.field is f.field:
            if not g:
                return f
            if not f:
                return g
            return f.field._add(f, g, False)
        if isinstance(g, int) or QQ.of_type(g):
            return f + f.field.ground_new(g)
        return FracElement.__add__(f, g)

    def __radd__(f, c: Any) -> Any:
        if isinstance(c, int) or QQ.of_type(c):
            return f + f.field.ground_new(c)
        return FracElement.__radd__(f, c)

    def __sub__(f, g: Any) -> Any:
        if isinstance(g, _RFrac) and g.field is f.field:
            if not g:
                return f
            if not f:
                return -g
            return f.field._add(f, g, True)
        if isinstance(g, int) or QQ.of_type(g):
            return f - f.field.ground_new(g)
        return FracElement.__sub__(f, g)

    def __rsub__(f, c: Any) -> Any:
        if isinstance(c, int) or QQ.of_type(c):
            return f.field.ground_new(c) - f
        return FracElement.__rsub__(f, c)

    def __mul__(f, g: Any) -> Any:
        if isinstance(g, _RFrac) and g.field is f.field:
            if not f or not g:
                return f.field.zero
            return f.field._mul(f, g)
        if isinstance(g, int) or QQ.of_type(g):
            if not g or not f:
                return f.field.zero
            return f.field._make(f.numer.mul_ground(QQ.convert(g)), f.denom, f._fac)
        return FracElement.__mul__(f, g)

    def __rmul__(f, c: Any) -> Any:
        if isinstance(c, int) or QQ.of_type(c):
            return f * c
        return FracElement.__rmul__(f, c)

    def __truediv__(f, g: Any) -> Any:
        if isinstance(g, int) or QQ.of_type(g):
            if not g:
                raise ZeroDivisionError
            return f.field._make(f.numer.quo_ground(QQ.convert(g)), f.denom, f._fac)
        return FracElement.__truediv__(f, g)

    def __pow__(f, n: int) -> "_RFrac":
        if n >= 0:
            fac = None if f._fac is None else {k: e * n for k, e in f._fac.items() if n}
            return f.field._make(f.numer ** n, f.denom ** n, fac)
        if not f:
            raise ZeroDivisionError
        return f.field.new(f.denom ** -n, f.numer ** -n)

    def __hash__(self) -> int:
        # from the terms, not PolyElement's cached hash (stale on SymPy's copies)
        h = self._hash
        if h is None:
            h = self._hash = hash((self.field, frozenset(self.numer.items()),
                                   frozenset(self.denom.items())))
        return h

    def as_expr(self, *symbols: Any) -> sp.Expr:
        # SymPy's canonical pair (what ``FracField.new`` returns): the numerator's
        # denominators cleared into both parts; the denominator is already primitive
        # with a positive leading coefficient, and the pair is coprime
        c, num = self.numer.clear_denoms()
        den = self.denom.mul_ground(c) if c != 1 else self.denom
        return num.as_expr(*symbols) / den.as_expr(*symbols)


class ReducedFracField(FracField):
    """ℚ(x_1, …, x_n) with reduced elements kept by trial division by a registry of
    irreducible denominator factors (see the module docstring)."""

    def __new__(cls, symbols: Sequence[sp.Symbol], domain: Any = QQ, order: Any = lex
                ) -> "ReducedFracField":
        obj = FracField.__new__(cls, symbols, domain, order)
        obj._hash_tuple = (cls.__name__,) + obj._hash_tuple[1:]
        obj._hash = hash(obj._hash_tuple)
        obj.dtype = _RFrac(obj, obj.ring.zero).raw_new
        obj.zero = obj.dtype(obj.ring.zero)
        obj.one = obj.dtype(obj.ring.one)
        obj.zero._fac = {}
        obj.one._fac = {}
        obj.gens = obj._gens()
        for g in obj.gens:
            g._fac = {}
        obj._factors = []                    # irreducible, primitive, LC > 0
        obj._zeros = []                      # a zero of each (mod _P), for quick tests
        obj._findex = {}
        obj._denoms = {}                     # denominator's terms -> (unit, factors)
        obj._products = {}                   # factor exponents -> denominator polynomial
        return obj

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ReducedFracField) and FracField.__eq__(self, other)

    def __hash__(self) -> int:
        return self._hash

    def __getnewargs__(self) -> tuple:
        return (self.symbols, self.domain, self.order)

    # -- the registry of denominator factors --------------------------------------------
    def _register(self, phi: Any) -> int:
        k = self._findex.get(phi)
        if k is None:
            k = self._findex[phi] = len(self._factors)
            self._factors.append(phi)
            self._zeros.append(self._zero_of(phi))
        return k

    def _zero_of(self, phi: Any) -> list[int] | None:
        """A point (mod _P) where φ vanishes, when φ has degree 1 in some variable x_k
        (φ = a·x_k + ψ: x_k = −ψ/a at fixed values of the others); None otherwise."""
        n = self.ring.ngens
        for k in range(n):
            if max(m[k] for m in phi.itermonoms()) != 1:
                continue
            for trial in range(8):
                y = [(1_000_003 * (i + 1) + 7_919 * trial * (k + 1)) % _P for i in range(n)]
                a = psi = 0
                for m, c in phi.iterterms():
                    v = _mod(c) * _mono(m, y, skip=k)
                    if m[k]:
                        a += v
                    else:
                        psi += v
                a %= _P
                if a:
                    y[k] = (-psi * pow(a, -1, _P)) % _P
                    return y
        return None

    def _divides(self, k: int, num: Any) -> bool:
        """Whether factor k may divide num: False is certain (num ≠ 0 at a zero of φ_k,
        mod a prime); True means "divide to find out"."""
        pt = self._zeros[k]
        if pt is None:
            return True
        total = 0
        for m, c in num.iterterms():
            d = c.denominator
            if d % _P == 0:  # pragma: no cover - a denominator divisible by 2^61 − 1
                return True
            total += _mod(c) * _mono(m, pt)
        return total % _P == 0

    def _normalized(self, f: Any) -> tuple[Any, Any]:
        """(u, φ) with f = u·φ, φ primitive with integer coefficients and LC > 0."""
        c, fz = f.clear_denoms()
        cont = 0
        for v in fz.itercoeffs():
            cont = gcd(cont, int(v))
        if fz.LC < 0:
            cont = -cont
        phi = fz.quo_ground(QQ(cont))
        return QQ(cont) / QQ.convert(c), phi

    def _decompose(self, den: Any) -> tuple[Any, dict[int, int]]:
        """den = unit · Π φ_k^{e_k} over the registry (new factors registered)."""
        key = frozenset(den.items())   # (PolyElement caches its hash, and SymPy's copies
        hit = self._denoms.get(key)      # carry a stale one: never hash the poly itself)
        if hit is not None:
            return hit
        if den.is_ground:
            out = (den.LC, {})
        else:
            fac: dict[int, int] = {}
            rest = den
            for k, phi in enumerate(self._factors):
                while not rest.is_ground:
                    q, r = rest.div(phi)
                    if r:
                        break
                    rest = q
                    fac[k] = fac.get(k, 0) + 1
            unit = QQ.one
            if not rest.is_ground:
                c, flist = rest.factor_list()
                unit = QQ.convert(c)
                for f, m in flist:
                    u, phi = self._normalized(f)
                    unit *= u ** m
                    k = self._register(phi)
                    fac[k] = fac.get(k, 0) + m
            else:
                unit = rest.LC
            out = (unit, fac)
        self._denoms[key] = out
        return out

    def _factor_denom(self, den: Any) -> dict[int, int]:
        unit, fac = self._decompose(den)
        if unit != 1:  # pragma: no cover - elements of this field have unit denominators
            raise ValueError("non-normalized denominator")
        return fac

    def _product(self, fac: dict[int, int]) -> Any:
        key = tuple(sorted(fac.items()))
        p = self._products.get(key)
        if p is None:
            p = self.ring.one
            for k, e in key:
                p = p * self._factors[k] ** e
            self._products[key] = p
            self._denoms.setdefault(frozenset(p.items()), (QQ.one, dict(key)))
        return p

    def _strip(self, num: Any, fac: dict[int, int], keys: Any = None) -> tuple[Any, dict]:
        """Divide num by the factors of fac (those in keys) while they divide it."""
        out = dict(fac)
        for k in (fac if keys is None else keys):
            e = out.get(k, 0)
            phi = self._factors[k]
            while e and num:
                if not self._divides(k, num):
                    break
                q, r = num.div(phi)
                if r:
                    break
                num, e = q, e - 1
            if e:
                out[k] = e
            else:
                out.pop(k, None)
        return num, out

    def _make(self, num: Any, den: Any, fac: dict[int, int] | None) -> _RFrac:
        el = self.dtype(num, den)
        el._fac = fac
        return el

    def _from_parts(self, num: Any, fac: dict[int, int]) -> _RFrac:
        if not num:
            return self.zero
        fac = {k: e for k, e in fac.items() if e}
        return self._make(num, self._product(fac), fac)

    def _mul(self, f: _RFrac, g: _RFrac) -> _RFrac:
        ff, gf = f.fac, g.fac
        fn, gn = f.numer, g.numer
        if gf:
            fn, gf = self._strip(fn, gf)
        if ff:
            gn, ff = self._strip(gn, ff)
        fac = dict(ff)
        for k, e in gf.items():
            fac[k] = fac.get(k, 0) + e
        return self._from_parts(fn * gn, fac)

    def _add(self, f: _RFrac, g: _RFrac, sub: bool) -> _RFrac:
        ff, gf = f.fac, g.fac
        if ff == gf:
            num = f.numer - g.numer if sub else f.numer + g.numer
            fac = ff
        else:
            fac = dict(ff)
            for k, e in gf.items():
                if e > fac.get(k, 0):
                    fac[k] = e
            cf = {k: e - ff.get(k, 0) for k, e in fac.items() if e > ff.get(k, 0)}
            cg = {k: e - gf.get(k, 0) for k, e in fac.items() if e > gf.get(k, 0)}
            a = f.numer * self._product(cf) if cf else f.numer
            b = g.numer * self._product(cg) if cg else g.numer
            num = a - b if sub else a + b
        if not num:
            return self.zero
        if fac:
            num, fac = self._strip(num, fac)
        return self._from_parts(num, fac)

    # -- SymPy's entry points ------------------------------------------------------------
    def new(self, numer: Any, denom: Any = None) -> _RFrac:
        """numer/denom reduced (any denominator; new factors are registered)."""
        if denom is None or denom == 1:
            el = self.dtype(numer, self.ring.one)
            el._fac = {}
            return el
        if not denom:
            raise ZeroDivisionError("zero denominator")
        if not numer:
            return self.zero
        unit, fac = self._decompose(denom)
        if unit != 1:
            numer = numer.quo_ground(unit)
        num, fac = self._strip(numer, fac)
        return self._from_parts(num, fac)

    def raw_new(self, numer: Any, denom: Any = None) -> _RFrac:
        return self.new(numer, denom)

    def field_new(self, element: Any) -> Any:
        return FracField.field_new(self, element)
