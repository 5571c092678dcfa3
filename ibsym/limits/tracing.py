"""Symbolic vectors for tracing an optimizer's update rule coordinate-wise.

An update rule ``update(theta, state, grad, h, hp)`` is written with element-wise arithmetic
(the same text runs on NumPy arrays).  :class:`SymVec` gives it SymPy entries, so that the
update on a regression loss can be written out exactly and its geometry analysed
(:mod:`ibsym.limits.invariants`).  :func:`vabs`, :func:`vsign` and :func:`vsum` dispatch between
NumPy arrays and :class:`SymVec` for rules that need them (ℓ_p steepest descent).

Examples
--------
>>> import sympy as sp
>>> a, b = sp.symbols("a b")
>>> v = SymVec([a, b])
>>> (v * v + 1).entries
(a**2 + 1, b**2 + 1)
>>> vsum(v)
a + b
"""
from __future__ import annotations

from typing import Any, Iterable, Sequence

import numpy as np
import sympy as sp

from ibsym.core.values import to_sympy

__all__ = ["SymVec", "vabs", "vsign", "vsum", "vmap"]


class SymVec:
    """An immutable vector of SymPy expressions with element-wise arithmetic."""

    __array_priority__ = 1000

    def __init__(self, entries: Iterable[Any]):
        self.entries = tuple(to_sympy(e, what="traced entry") for e in entries)

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self):
        return iter(self.entries)

    def __getitem__(self, i: int) -> sp.Expr:
        return self.entries[i]

    def _other(self, o: Any) -> Sequence[Any]:
        if isinstance(o, SymVec):
            if len(o) != len(self):
                raise ValueError("SymVec length mismatch")
            return o.entries
        if isinstance(o, np.ndarray) and o.ndim == 1:
            return [to_sympy(x, what="array entry") for x in o]
        return [to_sympy(o, what="operand")] * len(self)

    def _op(self, o: Any, f) -> "SymVec":
        return SymVec(f(a, b) for a, b in zip(self.entries, self._other(o)))

    def __add__(self, o):
        return self._op(o, lambda a, b: a + b)

    def __radd__(self, o):
        return self._op(o, lambda a, b: b + a)

    def __sub__(self, o):
        return self._op(o, lambda a, b: a - b)

    def __rsub__(self, o):
        return self._op(o, lambda a, b: b - a)

    def __mul__(self, o):
        return self._op(o, lambda a, b: a * b)

    def __rmul__(self, o):
        return self._op(o, lambda a, b: b * a)

    def __truediv__(self, o):
        return self._op(o, lambda a, b: a / b)

    def __rtruediv__(self, o):
        return self._op(o, lambda a, b: b / a)

    def __pow__(self, o):
        return self._op(o, lambda a, b: a ** b)

    def __neg__(self):
        return SymVec(-a for a in self.entries)

    def __abs__(self):
        return SymVec(sp.Abs(a) for a in self.entries)

    def sqrt(self) -> "SymVec":
        """Element-wise principal square root."""
        return SymVec(sp.sqrt(a) for a in self.entries)

    def matrix(self) -> sp.Matrix:
        """The entries as a SymPy column."""
        return sp.Matrix(self.entries)

    def __repr__(self) -> str:
        return f"SymVec({list(self.entries)})"


def vabs(x: Any) -> Any:
    """Element-wise |x| (NumPy or :class:`SymVec`)."""
    return abs(x) if isinstance(x, SymVec) else np.abs(x)


def vsign(x: Any) -> Any:
    """Element-wise sign (NumPy or :class:`SymVec`)."""
    return SymVec(sp.sign(a) for a in x) if isinstance(x, SymVec) else np.sign(x)


def vsum(x: Any) -> Any:
    """Sum of the entries (NumPy or :class:`SymVec`)."""
    return sp.Add(*x.entries) if isinstance(x, SymVec) else np.sum(x)


def vmap(expr: sp.Expr, var: sp.Symbol, x: Any, numeric: Any = None) -> Any:
    """Apply the scalar map ``var ↦ expr`` coordinate-wise (SymVec) or ``numeric`` (NumPy)."""
    if isinstance(x, SymVec):
        return SymVec(expr.subs(var, a) for a in x.entries)
    return numeric(x)
