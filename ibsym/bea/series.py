"""Truncated power series in the step size h, for tracing update rules.

An optimizer's update rule is an ordinary Python function of (θ, state, grad,
h, hyper-parameters).  Called with the objects of this module instead of
numbers, it *traces itself* into a truncated series in h whose coefficients
are vector fields of an :class:`~ibsym.bea.algebras.Algebra` -- Taylor-mode
expansion by operator overloading.  The same function, called with NumPy
arrays and floats, runs the optimizer numerically.

* :class:`HSeries` -- scalar series (``h`` itself is ``HSeries([0, 1])``);
* :class:`SeriesVector` -- ``b(h)·θ + Σ_p h^p v_p``: a point near θ.

Examples
--------
>>> from ibsym.bea.algebras import GenericAlgebra
>>> alg = GenericAlgebra()
>>> theta = SeriesVector.point(alg, order=2)
>>> h = HSeries.h(order=2)
>>> out = theta - h * grad(theta)
>>> [str(c) for c in out.coeffs]
['0', '-∇L', '0']
"""
from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import sympy as sp

from ibsym.bea.algebras import Algebra
from ibsym.core.errors import InputError

__all__ = ["HSeries", "SeriesVector", "grad", "Gradient"]


class HSeries:
    """A scalar truncated series Σ_{p≤order} c_p h^p with SymPy coefficients."""

    __slots__ = ("c", "order")

    def __init__(self, coeffs: Sequence[Any], order: int):
        c = [x if isinstance(x, (float, sp.Basic)) else sp.sympify(x)
             for x in coeffs][: order + 1]
        self.c = c + [sp.Integer(0)] * (order + 1 - len(c))
        self.order = order

    @classmethod
    def h(cls, order: int) -> "HSeries":
        """The step size h itself."""
        return cls([0, 1], order)

    @classmethod
    def const(cls, v: Any, order: int) -> "HSeries":
        return cls([v], order)

    def _lift(self, other: Any) -> "HSeries":
        return other if isinstance(other, HSeries) else HSeries.const(other, self.order)

    def __add__(self, other: Any) -> "HSeries":
        if isinstance(other, SeriesVector):
            return NotImplemented
        o = self._lift(other)
        return HSeries([a + b for a, b in zip(self.c, o.c)], self.order)

    __radd__ = __add__

    def __neg__(self) -> "HSeries":
        return HSeries([-a for a in self.c], self.order)

    def __sub__(self, other: Any) -> "HSeries":
        if isinstance(other, SeriesVector):
            return NotImplemented
        return self + (-self._lift(other))

    def __rsub__(self, other: Any) -> "HSeries":
        return self._lift(other) - self

    def __mul__(self, other: Any) -> Any:
        if isinstance(other, SeriesVector):
            return other.__mul__(self)
        o = self._lift(other)
        out = [sp.Integer(0)] * (self.order + 1)
        for i, a in enumerate(self.c):
            if a == 0:
                continue
            for j in range(self.order + 1 - i):
                if o.c[j] != 0:
                    out[i + j] += a * o.c[j]
        return HSeries([x if isinstance(x, float) or x.is_Number else sp.expand(x)
                        for x in out], self.order)

    __rmul__ = __mul__

    def reciprocal(self) -> "HSeries":
        """1/s (needs a nonzero constant term)."""
        if self.c[0] == 0:
            raise InputError("division by a quantity that vanishes at h = 0")
        inv = [sp.cancel(1 / self.c[0])]
        for n in range(1, self.order + 1):
            s = sum((self.c[k] * inv[n - k] for k in range(1, n + 1)), sp.Integer(0))
            inv.append(sp.cancel(-s / self.c[0]))
        return HSeries(inv, self.order)

    def __truediv__(self, other: Any) -> "HSeries":
        return self * self._lift(other).reciprocal()

    def __rtruediv__(self, other: Any) -> "HSeries":
        return self._lift(other) * self.reciprocal()

    def __pow__(self, n: Any) -> "HSeries":
        r = _exponent(n)
        if r.is_Integer and r >= 0:
            out = HSeries.const(1, self.order)
            for _ in range(int(r)):
                out = out * self
            return out
        if self.c[0] == 0:
            raise InputError("a negative or fractional power of a quantity that vanishes at h = 0")
        # c0^r (1 + u)^r with u = (s - c0)/c0 = O(h): binomial series
        c0 = self.c[0]
        u = HSeries([0] + [sp.cancel(x / c0) for x in self.c[1:]], self.order)
        acc, term = HSeries.const(1, self.order), HSeries.const(1, self.order)
        for k in range(1, self.order + 1):
            term = term * u
            acc = acc + term * sp.binomial(r, k)
        return acc * sp.Pow(c0, r)

    def sqrt(self) -> "HSeries":
        """√s (binomial series about the h⁰ term)."""
        return self ** sp.Rational(1, 2)

    def __repr__(self) -> str:
        return f"HSeries({self.c})"


class SeriesVector:
    """The point ``b(h)·θ + Σ_p h^p v_p`` with vector coefficients in an algebra.

    Parameters
    ----------
    alg : Algebra
    base : HSeries
        Coefficient of θ (1 for points near θ, 0 for pure vector quantities
        such as momenta).
    coeffs : sequence
        ``coeffs[p]`` is the algebra vector multiplying h^p.
    """

    __slots__ = ("alg", "base", "coeffs", "order")

    def __init__(self, alg: Algebra, base: HSeries, coeffs: Sequence[Any]):
        self.alg = alg
        self.base = base
        self.order = base.order
        cs = list(coeffs)[: self.order + 1]
        self.coeffs = cs + [alg.zero() for _ in range(self.order + 1 - len(cs))]

    @classmethod
    def point(cls, alg: Algebra, order: int) -> "SeriesVector":
        """θ itself."""
        return cls(alg, HSeries.const(1, order), [])

    @classmethod
    def vector(cls, alg: Algebra, coeffs: Sequence[Any], order: int) -> "SeriesVector":
        """A pure vector series (no θ part)."""
        return cls(alg, HSeries.const(0, order), coeffs)

    def _check(self, other: "SeriesVector") -> None:
        if other.alg is not self.alg or other.order != self.order:
            raise InputError("cannot combine series from different derivations")

    def __add__(self, other: Any) -> "SeriesVector":
        if isinstance(other, SeriesVector):
            self._check(other)
            return SeriesVector(self.alg, self.base + other.base,
                                [self.alg.add(a, b) for a, b in zip(self.coeffs, other.coeffs)])
        if isinstance(other, (int, sp.Integer)) and other == 0:
            return self
        # a scalar added to every coordinate (ε in √(ν + ε)); needs coordinates
        s = other if isinstance(other, HSeries) else HSeries.const(other, self.order)
        return SeriesVector(self.alg, self.base,
                            [self.alg.add(a, self.alg.const(c)) if c != 0 else a
                             for a, c in zip(self.coeffs, s.c)])

    __radd__ = __add__

    def __neg__(self) -> "SeriesVector":
        return self * (-1)

    def __sub__(self, other: Any) -> "SeriesVector":
        return self + (-other)

    def __rsub__(self, other: Any) -> "SeriesVector":
        return (-self) + other

    def __mul__(self, other: Any) -> "SeriesVector":
        if isinstance(other, SeriesVector):
            return self._elementwise_mul(other)
        s = other if isinstance(other, HSeries) else HSeries.const(other, self.order)
        coeffs = []
        for n in range(self.order + 1):
            acc = self.alg.zero()
            for k in range(n + 1):
                if s.c[k] != 0 and not self.alg.is_zero(self.coeffs[n - k]):
                    acc = self.alg.add(acc, self.alg.scale(s.c[k], self.coeffs[n - k]))
            coeffs.append(acc)
        return SeriesVector(self.alg, self.base * s, coeffs)

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> "SeriesVector":
        if isinstance(other, SeriesVector):
            return self._elementwise_mul(other ** -1)
        s = other if isinstance(other, HSeries) else HSeries.const(other, self.order)
        return self * s.reciprocal()

    def __rtruediv__(self, other: Any) -> "SeriesVector":
        return (self ** -1) * other

    # -- coordinate-wise operations (concrete algebras) ----------------------------------
    def _folded(self) -> list[Any]:
        """Coefficients with the θ part written as multiples of the field X(θ) = θ."""
        if all(c == 0 for c in self.base.c):
            return list(self.coeffs)
        X = self.alg.identity()
        return [self.alg.add(a, self.alg.scale(b, X)) if b != 0 else a
                for a, b in zip(self.coeffs, self.base.c)]

    def _elementwise_mul(self, other: "SeriesVector") -> "SeriesVector":
        self._check(other)
        a, b = self._folded(), other._folded()
        alg = self.alg
        out = []
        for n in range(self.order + 1):
            acc = alg.zero()
            for i in range(n + 1):
                if alg.is_zero(a[i]) or alg.is_zero(b[n - i]):
                    continue
                acc = alg.add(acc, alg.mul(a[i], b[n - i]))
            out.append(acc)
        return SeriesVector.vector(alg, out, self.order)

    def __pow__(self, r: Any) -> "SeriesVector":
        """Coordinate-wise power (binomial series about the h⁰ coefficient)."""
        r = _exponent(r)
        alg = self.alg
        c = self._folded()
        if r.is_Integer and r >= 0:
            out = SeriesVector.vector(alg, [alg.const(1)], self.order)
            for _ in range(int(r)):
                out = out._elementwise_mul(self)
            return out
        if r.is_Integer:
            inv0 = alg.power(c[0], -1)
            root = inv0 if r == -1 else alg.power(inv0, int(-r))
        else:  # c0^(-1) = (c0^(-1/q))^q: one family of root atoms
            inv0 = alg.power(alg.power(c[0], sp.Rational(-1, int(r.q))), int(r.q))
            root = alg.power(c[0], r)
        u = SeriesVector.vector(alg, [alg.zero()] + [alg.mul(x, inv0) for x in c[1:]], self.order)
        # root · Σ_k binom(r, k) u^k, u = O(h): coefficient lists, no intermediate objects
        out = [root] + [alg.zero() for _ in range(self.order)]
        term = u
        for k in range(1, self.order + 1):
            if all(alg.is_zero(x) for x in term.coeffs):
                break
            b = _binomial(r, k)
            for n in range(k, self.order + 1):
                if not alg.is_zero(term.coeffs[n]):
                    out[n] = alg.add(out[n], alg.scale(b, alg.mul(term.coeffs[n], root)))
            if k < self.order:
                term = term._elementwise_mul(u)
        return SeriesVector.vector(alg, out, self.order)

    def sqrt(self) -> "SeriesVector":
        """Coordinate-wise square root."""
        return self ** sp.Rational(1, 2)

    def displacement(self) -> list[Any]:
        """Coefficients of ``self − θ`` (requires b(h) = 1 + O(h); the O(h) part of b is
        written with the field X(θ) = θ, e.g. for weight decay)."""
        if self.base.c[0] != 1:
            raise InputError("the update does not return θ + (displacement): its θ coefficient "
                             f"is {self.base.c}; an update must reduce to θ_(n+1) = θ_n at h = 0")
        if any(c != 0 for c in self.base.c[1:]):
            X = self.alg.identity()
            return [self.alg.add(a, self.alg.scale(b, X)) if (p and b != 0) else a
                    for p, (a, b) in enumerate(zip(self.coeffs, self.base.c))]
        return list(self.coeffs)

    def state_coeffs(self) -> list[Any]:
        """Coefficients of a state quantity (requires b(h) = 0)."""
        if any(c != 0 for c in self.base.c):
            raise InputError("a state variable may not contain θ itself; store differences "
                             "such as (θ_n − θ_(n−1))/h instead")
        return list(self.coeffs)


class Gradient:
    """The gradient oracle handed to update rules: ``grad(x)`` is ∇L at the point x,
    ``grad(x, k)`` the gradient of mini-batch loss k; ``grad.batches`` is the number of
    mini-batches (0 for a full-batch loss)."""

    def __init__(self, batches: int = 0):
        self.batches = batches

    def __call__(self, x: "SeriesVector", batch: int | None = None) -> "SeriesVector":
        return grad(x, batch)


@functools.lru_cache(maxsize=256)
def _binomial(r: sp.Rational, k: int) -> sp.Rational:
    return sp.binomial(r, k)


def _exponent(r: Any) -> sp.Rational:
    if isinstance(r, float):
        r = sp.nsimplify(r)
    r = sp.sympify(r)
    if not r.is_Rational:
        raise InputError(f"powers in update rules must have rational exponents, got {r}")
    return r


def grad(x: SeriesVector, batch: int | None = None) -> SeriesVector:
    """∇L at the point ``x = θ + Σ_{p≥1} h^p δ_p`` (Taylor-expanded in h); with
    ``batch`` = k the gradient of the k-th mini-batch loss."""
    if not isinstance(x, SeriesVector):
        raise InputError("grad() takes a point (θ or θ plus a displacement)")
    if x.base.c[0] != 1:
        raise InputError("the gradient must be evaluated at θ plus an O(h) displacement")
    if not x.alg.is_zero(x.coeffs[0]):
        raise InputError("the gradient must be evaluated at θ plus an O(h) displacement; "
                         "the displacement has an O(1) part")
    coeffs = x.alg.grad_taylor([None] + x.displacement()[1:], x.order, batch)
    return SeriesVector.vector(x.alg, coeffs, x.order)
