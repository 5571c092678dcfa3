"""Polynomial back ends of the differential ring: SymPy's ``PolyRing`` or python-flint.

:class:`~ibsym.bea.diffring.DiffRing` computes in a sparse multivariate polynomial ring
ℚ[θ, atoms].  Two implementations of that ring give identical results:

* ``"sympy"`` -- :class:`sympy.polys.rings.PolyRing` (pure Python dictionaries; always
  available; the only one for coefficient fields ℚ(β, ρ, …) of symbolic hyper-parameters);
* ``"flint"`` -- :class:`FlintRing`, a thin wrapper around python-flint's ``fmpq_mpoly``
  (FLINT's compiled sparse polynomials over ℚ) exposing the subset of the ``PolyElement``
  interface that ibsym uses (arithmetic, ``items``/``terms``, ``LC``, ``is_ground``,
  ``as_expr``, ...).  Used for coefficient field ℚ only.

Choice: the environment variable ``IBSYM_POLY_BACKEND`` = ``sympy`` | ``flint`` | ``auto``
(default ``auto``: flint when python-flint is importable, else SymPy), read when the first
ring is built; :func:`set_backend` changes it in a running process (tests, benchmarks).
Asking for ``flint`` without python-flint installed raises
:class:`~ibsym.core.errors.InputError`.

Examples
--------
>>> import sympy as sp
>>> from sympy.polys.domains import QQ
>>> x, y = sp.symbols("x y")
>>> R = poly_ring((x, y), QQ, backend="sympy")
>>> X, Y = R.gens
>>> ((X*Y + 1)**2).as_expr()
x**2*y**2 + 2*x*y + 1
"""
from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from typing import Any

from ibsym.core.errors import InputError

__all__ = ["BACKENDS", "ENV_VAR", "backend", "set_backend", "poly_ring", "flint_available",
           "FlintRing", "FlintPoly"]

ENV_VAR = "IBSYM_POLY_BACKEND"
BACKENDS = ("auto", "sympy", "flint")
_choice: str | None = None
_SEP = re.compile(r" [+-] ")
_VAR = re.compile(r"x(\d+)(?:\^(\d+))?")


def flint_available() -> bool:
    """Whether python-flint ≥ 0.9 (``fmpq_mpoly`` contexts by name) can be imported; older
    versions are ignored (the SymPy ring is used)."""
    try:
        import flint
    except ImportError:
        return False
    return hasattr(getattr(flint, "fmpq_mpoly_ctx", None), "get")


def _validated(name: str, where: str) -> str:
    name = name.strip().lower()
    if name not in BACKENDS:
        raise InputError(f"{where} = {name!r} is not a polynomial back end; use one of "
                         f"{', '.join(BACKENDS)}")
    if name == "flint" and not flint_available():
        raise InputError(f"{where} = 'flint' but python-flint is not installed "
                         "(pip install python-flint), or use 'sympy'")
    if name == "auto":
        name = "flint" if flint_available() else "sympy"
    return name


def backend() -> str:
    """The polynomial back end new rings use: ``"sympy"`` or ``"flint"``."""
    global _choice
    if _choice is None:
        _choice = _validated(os.environ.get(ENV_VAR, "auto") or "auto", ENV_VAR)
    return _choice


def set_backend(name: str | None) -> str | None:
    """Select the back end for rings built from now on (``None``: back to the environment
    variable / auto).  Returns the previous setting (``None`` if it was not made yet), to
    pass back to restore it.  Rings already built keep theirs."""
    global _choice
    old = _choice
    _choice = None if name is None else _validated(name, "the polynomial back end")
    return old


def poly_ring(symbols: Sequence[Any], domain: Any, backend: str | None = None) -> Any:
    """A sparse polynomial ring over ``domain`` in ``symbols``: SymPy's ``PolyRing``, or
    a :class:`FlintRing` when the flint back end is selected and ``domain`` is ℚ."""
    from sympy.polys.domains import QQ
    from sympy.polys.rings import PolyRing
    name = _validated(backend, "backend") if backend is not None else globals()["backend"]()
    if name == "flint" and domain == QQ and len(symbols) > 0:
        return FlintRing(symbols)
    return PolyRing(tuple(symbols), domain)


# ---------------------------------------------------------------------------------------
class FlintRing:
    """ℚ[x_1, …, x_n] (lex order) on python-flint's ``fmpq_mpoly``, with the part of SymPy's
    ``PolyRing`` interface ibsym uses (``gens``, ``zero``, ``one``, ``domain``, ``ngens``,
    ``symbols``, ``from_dict``, ``ground_new``, calling with a number or a dictionary)."""

    backend = "flint"

    def __init__(self, symbols: Sequence[Any]):
        import flint
        from sympy.polys.domains import QQ
        self.symbols = tuple(symbols)
        self.ngens = len(self.symbols)
        self.domain = QQ
        self.ctx = flint.fmpq_mpoly_ctx.get(tuple(f"x{i}" for i in range(self.ngens)), "lex")
        self.zero = self._new(self.ctx.constant(0))
        self.one = self._new(self.ctx.constant(1))
        self.gens = tuple(self._new(g) for g in self.ctx.gens())
        self._fmpq = flint.fmpq
        self._native_qq = QQ.dtype is flint.fmpq
        self._sympy_ring: Any = None
        self._parse = True
        probe = self.from_dict({(0,) * self.ngens: -3, (2,) + (0,) * (self.ngens - 1):
                                self._fmpq(2, 3), (1,) * self.ngens: 1})
        self._parse = self.monoms_of(probe.p) == [tuple(map(int, m)) for m in probe.p.monoms()]

    def monoms_of(self, p: Any) -> list[tuple[int, ...]]:
        """Exponent tuples (int) of an ``fmpq_mpoly``, in its term order.

        Read from FLINT's printed form (``2/3*x0^2*x5 - x1``: generator names are ours), which
        is several times faster than ``monoms()`` (one Python ``fmpz`` per exponent); checked
        against ``monoms()`` once per ring, which is used instead if the format differs."""
        if not self._parse:
            return [tuple(map(int, m)) for m in p.monoms()]
        if p.is_zero():
            return []
        zero = [0] * self.ngens
        out = []
        for term in _SEP.split(p.str()):
            m = zero[:]
            for g, e in _VAR.findall(term):
                m[int(g)] = int(e) if e else 1
            out.append(tuple(m))
        if len(out) != len(p):       # pragma: no cover - FLINT's printing changed
            self._parse = False
            return self.monoms_of(p)
        return out

    def sparse_monoms_of(self, p: Any) -> list[tuple[tuple[int, int], ...]]:
        """The monomials of an ``fmpq_mpoly`` as sparse exponent vectors, in its term order:
        one tuple of ``(generator, exponent)`` pairs per term, generators increasing, zero
        exponents left out (``x0^2*x5`` → ``((0, 2), (5, 1))``, the constant → ``()``).

        A few words per term instead of :meth:`monoms_of`'s ``ngens``-entry tuple (4 KB at
        496 generators); read from the printed form, like :meth:`monoms_of`."""
        if not self._parse:
            return [tuple((g, int(e)) for g, e in enumerate(m) if e) for m in p.monoms()]
        if p.is_zero():
            return []
        out = []
        for term in _SEP.split(p.str()):
            out.append(tuple(sorted((int(g), int(e) if e else 1)
                                    for g, e in _VAR.findall(term))))
        if len(out) != len(p):       # pragma: no cover - FLINT's printing changed
            self._parse = False
            return self.sparse_monoms_of(p)
        return out

    def _new(self, p: Any) -> "FlintPoly":
        e = FlintPoly.__new__(FlintPoly)
        e.ring = self
        e.p = p
        return e

    # coefficients: SymPy's QQ elements (gmpy2 mpq, PythonMPQ or flint fmpq) <-> fmpq
    def _coef(self, c: Any) -> Any:
        if isinstance(c, (int, self._fmpq)):
            return c
        if getattr(c, "is_Rational", False):         # sympy.Rational / Integer
            return self._fmpq(int(c.p), int(c.q))
        num = getattr(c, "numerator", None)          # gmpy2 mpq/mpz, PythonMPQ
        if num is None or callable(num) or isinstance(c, float):
            raise TypeError(f"not a rational coefficient: {c!r}")
        return self._fmpq(int(num), int(c.denominator))

    def _qq(self, c: Any) -> Any:
        if self._native_qq:
            return c
        return self.domain.dtype(int(c.p), int(c.q))

    def ground_new(self, c: Any) -> "FlintPoly":
        return self._new(self.ctx.constant(self._coef(c)))

    def from_dict(self, terms: dict) -> "FlintPoly":
        if not terms:
            return self.zero
        return self._new(self.ctx.from_dict({tuple(m): self._coef(c) for m, c in terms.items()}))

    def __call__(self, x: Any) -> "FlintPoly":
        if isinstance(x, FlintPoly):
            return x
        if isinstance(x, dict):
            return self.from_dict(x)
        return self.ground_new(x)

    def __repr__(self) -> str:
        return f"FlintRing({', '.join(map(str, self.symbols))})"

    def __reduce__(self) -> tuple:
        return FlintRing, (self.symbols,)

    # SymPy's ring with the same generators (factorization, content: identical output)
    def sympy_ring(self) -> Any:
        if self._sympy_ring is None:
            from sympy.polys.rings import PolyRing
            self._sympy_ring = PolyRing(self.symbols, self.domain)
        return self._sympy_ring

    def to_sympy_poly(self, p: "FlintPoly") -> Any:
        S = self.sympy_ring()
        return S.from_dict(dict(p.items())) if p else S.zero

    def from_sympy_poly(self, q: Any) -> "FlintPoly":
        return self.from_dict(dict(q.items()))


def _rebuild(ring: FlintRing, terms: list) -> "FlintPoly":
    """Unpickle a :class:`FlintPoly` (monomial, numerator, denominator triples)."""
    return ring.from_dict({m: ring._fmpq(p, q) for m, p, q in terms})


class FlintPoly:
    """An element of a :class:`FlintRing` (immutable, hashable, like ``PolyElement``)."""

    __slots__ = ("ring", "p", "__weakref__")
    ring: FlintRing

    # -- arithmetic -----------------------------------------------------------------------
    def _other(self, o: Any) -> Any:
        if type(o) is FlintPoly:
            if o.ring is not self.ring and o.ring.ctx is not self.ring.ctx:
                raise ValueError("polynomials of different rings")
            return o.p
        return self.ring._coef(o)

    def __add__(self, o: Any) -> "FlintPoly":
        try:
            q = self._other(o)
        except TypeError:
            return NotImplemented
        return self.ring._new(self.p + q)

    __radd__ = __add__

    def __sub__(self, o: Any) -> "FlintPoly":
        try:
            q = self._other(o)
        except TypeError:
            return NotImplemented
        return self.ring._new(self.p - q)

    def __rsub__(self, o: Any) -> "FlintPoly":
        try:
            q = self._other(o)
        except TypeError:
            return NotImplemented
        return self.ring._new(q - self.p)

    def __mul__(self, o: Any) -> "FlintPoly":
        try:
            q = self._other(o)
        except TypeError:
            return NotImplemented
        return self.ring._new(self.p * q)

    __rmul__ = __mul__

    def __truediv__(self, o: Any) -> "FlintPoly":
        if type(o) is FlintPoly:
            if not o.is_ground:
                raise NotImplementedError("division by a polynomial: use div")
            o = o.LC
        try:
            q = self.ring._coef(o)
        except TypeError:
            return NotImplemented
        return self.ring._new(self.p / q)

    def __neg__(self) -> "FlintPoly":
        return self.ring._new(-self.p)

    def __pos__(self) -> "FlintPoly":
        return self

    def __pow__(self, n: int) -> "FlintPoly":
        n = int(n)
        if n < 0:
            raise ValueError("negative power of a polynomial")
        return self.ring._new(self.p ** n)

    def __bool__(self) -> bool:
        return not self.p.is_zero()

    def __eq__(self, o: Any) -> bool:
        if type(o) is FlintPoly:
            return o.ring.ctx is self.ring.ctx and self.p == o.p
        try:
            return self.p == self.ring._coef(o)
        except TypeError:
            return NotImplemented

    def __ne__(self, o: Any) -> bool:
        eq = self.__eq__(o)
        return eq if eq is NotImplemented else not eq

    def __hash__(self) -> int:
        return hash((self.ring.ctx, tuple(self.p.monoms()), tuple(self.p.coeffs())))

    def __len__(self) -> int:
        return len(self.p)

    def __reduce__(self) -> tuple:
        terms = [(m, int(c.p), int(c.q))
                 for m, c in zip(self.ring.monoms_of(self.p), self.p.coeffs())]
        return _rebuild, (self.ring, terms)

    # -- inspection (PolyElement's names; monomials as tuples of int, coefficients in QQ) --
    def items(self) -> list[tuple[tuple[int, ...], Any]]:
        qq = self.ring._qq
        return [(m, qq(c)) for m, c in zip(self.ring.monoms_of(self.p), self.p.coeffs())]

    terms = items

    def keys(self) -> list[tuple[int, ...]]:
        return self.ring.monoms_of(self.p)

    monoms = keys

    def __iter__(self) -> Iterator[tuple[int, ...]]:
        return iter(self.keys())

    def sparse_terms(self) -> list[tuple[tuple[tuple[int, int], ...], Any]]:
        """``(sparse monomial, coefficient)`` pairs in term order: the monomials of
        :meth:`FlintRing.sparse_monoms_of`, the coefficients as python-flint ``fmpq``."""
        return list(zip(self.ring.sparse_monoms_of(self.p), self.p.coeffs()))

    def coeffs(self) -> list[Any]:
        qq = self.ring._qq
        return [qq(c) for c in self.p.coeffs()]

    values = coeffs

    def __getitem__(self, mon: tuple[int, ...]) -> Any:
        c = self.p[tuple(mon)]
        if c == 0:
            raise KeyError(mon)
        return self.ring._qq(c)

    def get(self, mon: tuple[int, ...], default: Any = None) -> Any:
        try:
            return self[mon]
        except KeyError:
            return default

    def degrees(self) -> tuple[int, ...]:
        """The highest exponent of every generator (0 for those that do not occur)."""
        return tuple(map(int, self.p.degrees()))

    @property
    def is_ground(self) -> bool:
        return self.p.is_constant()

    @property
    def is_zero(self) -> bool:
        return self.p.is_zero()

    @property
    def LC(self) -> Any:
        if self.p.is_zero():
            return self.ring.domain.zero
        return self.ring._qq(self.p.leading_coefficient())

    @property
    def LM(self) -> tuple[int, ...]:
        if self.p.is_zero():
            return (0,) * self.ring.ngens
        return tuple(map(int, self.p.monoms()[0]))

    def copy(self) -> "FlintPoly":
        return self

    def diff_gen(self, g: int) -> "FlintPoly":
        """∂/∂(generator number g)."""
        return self.ring._new(self.p.derivative(g))

    # -- conversion -----------------------------------------------------------------------
    def as_expr_dict(self) -> dict:
        import sympy as sp
        return {m: sp.Rational(int(c.p), int(c.q))
                for m, c in zip(self.ring.monoms_of(self.p), self.p.coeffs())}

    def as_expr(self, *symbols: Any) -> Any:
        from sympy.polys.polyutils import expr_from_dict
        if not symbols:
            symbols = self.ring.symbols
        elif len(symbols) != self.ring.ngens:
            raise ValueError(f"expected {self.ring.ngens} symbols, got {len(symbols)}")
        return expr_from_dict(self.as_expr_dict(), *symbols)

    # -- division and factorization ---------------------------------------------------------
    def div(self, f: "FlintPoly") -> tuple["FlintPoly", "FlintPoly"]:
        """(quotient, remainder) of the division by one polynomial (lex order)."""
        q, r = divmod(self.p, self._other(f))
        return self.ring._new(q), self.ring._new(r)

    def factor_list(self) -> tuple[Any, list[tuple["FlintPoly", int]]]:
        """SymPy's factorization (its normalization of content and factors)."""
        R = self.ring
        c, facs = R.to_sympy_poly(self).factor_list()
        return c, [(R.from_sympy_poly(f), k) for f, k in facs]

    def primitive(self) -> tuple[Any, "FlintPoly"]:
        R = self.ring
        c, q = R.to_sympy_poly(self).primitive()
        return c, R.from_sympy_poly(q)

    def __repr__(self) -> str:
        return str(self.as_expr())

    __str__ = __repr__
