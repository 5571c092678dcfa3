"""Truncated power series in the step size h, for tracing update rules.

An optimizer's update rule is an ordinary Python function of (θ, state, grad,
h, hyper-parameters).  Called with the objects of this module instead of
numbers, it *traces itself* into a truncated series in h whose coefficients
are vector fields of an :class:`~ibsym.bea.algebras.Algebra` -- Taylor-mode
expansion by operator overloading.  The same function, called with NumPy
arrays and floats, runs the optimizer numerically.

* :class:`HSeries` -- scalar series (``h`` itself is ``HSeries([0, 1])``);
* :class:`SeriesVector` -- ``b(h)·θ + Σ_p h^p v_p``: a point near θ.

Only what the tracer represents exactly reaches a result.  NumPy's elementwise
arithmetic and ``numpy.sqrt`` map to the series' own operations.  Reductions across
coordinates -- ``numpy.sum``, ``numpy.mean``, ``numpy.dot`` / ``vdot`` / ``inner``, ``@``,
``numpy.linalg.norm`` (ℓ2), ``.sum()``, ``.dot()`` -- are exact on a concrete loss: a scalar
field Σ_i x_i of the ring, broadcast to every coordinate as NumPy broadcasts a scalar
(``SeriesVector.scalar``); a norm is the root atom √(Σ_i x_i²) (its h⁰ part must not
vanish); ``len``, ``x[i]`` (one integer index), iteration and Python's ``sum()`` give the
coordinates as such scalar fields; the generic algebra refuses all of them.  Every other
NumPy ufunc or function (``numpy.abs``, ``numpy.max``, ``numpy.einsum`` ...), conversion to
an array, slices, comparisons and branches raise :class:`~ibsym.core.errors.InputError`
naming the operation -- never a coordinate-wise stand-in that derives another optimizer.

A point may also carry an O(1) displacement (``θ + ρ∇L(θ)`` with a fixed ρ): on a concrete
loss ``grad`` composes ∇L with it, exactly.

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
import operator
import re
from collections.abc import Sequence
from typing import Any

import sympy as sp

from ibsym.bea.algebras import Algebra
from ibsym.core.errors import InputError

__all__ = ["HSeries", "SeriesVector", "grad", "Gradient", "dot"]


# -- what may reach a traced value ---------------------------------------------------------
_ALLOWED = ("traced values support +, −, *, / with numbers, hyper-parameters and other traced "
            "values, ** with rational exponents, sqrt (numpy.sqrt or ibsym.bea.optimizers.sqrt), "
            "grad(...) and, on a concrete loss, the reductions numpy.sum / numpy.mean / "
            "numpy.dot / numpy.vdot / numpy.inner / numpy.linalg.norm (ℓ2) / .sum() / .dot() "
            "(ibsym.bea.optimizers.vsum, dot, norm)")
_SMOOTHING = "smooth it, e.g. sign(x) ≈ x/sqrt(x**2 + eps), |x| ≈ sqrt(x**2 + eps)"
_REDUCTIONS = frozenset({
    "sum", "nansum", "mean", "nanmean", "average", "prod", "nanprod", "max", "amax", "min",
    "amin", "nanmax", "nanmin", "dot", "vdot", "inner", "outer", "tensordot", "einsum",
    "matmul", "vecdot", "norm", "std", "nanstd", "var", "nanvar", "median", "nanmedian",
    "cumsum", "cumprod", "nancumsum", "nancumprod", "any", "all", "argmax", "argmin",
    "argsort", "sort", "trace", "ptp", "cross", "kron", "count_nonzero", "reduce",
    "accumulate", "reduceat", "at", "diff", "gradient", "convolve", "correlate", "cov",
    "corrcoef", "percentile", "quantile", "linalg"})
_NONSMOOTH = frozenset({
    "absolute", "abs", "fabs", "sign", "maximum", "minimum", "fmax", "fmin", "clip", "where",
    "heaviside", "floor", "ceil", "round", "around", "rint", "trunc", "fix", "mod",
    "remainder", "fmod", "floor_divide", "divmod", "greater", "greater_equal", "less",
    "less_equal", "equal", "not_equal", "logical_and", "logical_or", "logical_not",
    "logical_xor", "isnan", "isinf", "isfinite", "signbit", "copysign", "select",
    "piecewise", "nan_to_num"})


def _refusal(name: str) -> InputError:
    """The :class:`InputError` for an operation on traced values the tracer cannot represent."""
    parts = re.findall(r"[A-Za-z_]+", name)
    if any(p in _REDUCTIONS for p in parts):
        return InputError(f"{name} on a traced vector: a reduction across coordinates, which "
                          "the tracer cannot represent (it would act coordinate-wise and derive "
                          "a different optimizer); write the update coordinate-wise -- "
                          + _ALLOWED)
    if any(p in _NONSMOOTH for p in parts):
        return InputError(f"{name} on a traced value is not smooth, and the expansion in h "
                          f"needs a smooth update; {_SMOOTHING}")
    return InputError(f"{name} is not available on traced values; {_ALLOWED}")


class _TracerAttributeError(InputError, AttributeError):
    """A missing attribute of a traced value (an :class:`InputError`, so the CLI reports
    it; an :class:`AttributeError`, so ``hasattr`` still answers False)."""


def _scalar(v: Any, where: str = "") -> Any:
    """A constant combined with a traced value: a number, a SymPy expression or a NumPy
    scalar (made a Python number); arrays and other objects are refused."""
    numpy = type(v).__module__ == "numpy"          # (no NumPy import in the symbolic layer)
    if not numpy and (isinstance(v, (int, float))
                      or (isinstance(v, sp.Basic) and not getattr(v, "is_Matrix", False))):
        return v
    prefix = f"{where}: " if where else ""
    if numpy and getattr(v, "ndim", None) == 0:
        x = v.item()                              # np.float64 is a float: unwrap it anyway
        if isinstance(x, (int, float)):
            return x
    if numpy and hasattr(v, "shape"):
        raise InputError(f"{prefix}a NumPy array of shape {v.shape} combined with a traced "
                         "value; the tracer has no per-coordinate constants -- use numbers or "
                         "hyper-parameters")
    raise InputError(f"{prefix}cannot combine a traced value with {type(v).__name__} "
                     f"({str(v)[:40]}); {_ALLOWED}")


def _plain(x: Any, name: str) -> Any:
    """An operand of a NumPy ufunc or function: traced values pass, constants as in
    :func:`_scalar`."""
    return x if isinstance(x, _Traced) else _scalar(x, name)


#: NumPy ufuncs the tracer follows exactly, by its own operations.
_EXACT_UFUNCS = {
    "add": operator.add, "subtract": operator.sub, "multiply": operator.mul,
    "true_divide": operator.truediv, "divide": operator.truediv, "negative": operator.neg,
    "positive": operator.pos, "power": operator.pow, "float_power": operator.pow,
    "sqrt": lambda x: x.sqrt(), "square": lambda x: x * x, "reciprocal": lambda x: 1 / x,
}
#: NumPy functions the tracer follows exactly (shape-only constructors, copies).
_EXACT_FUNCTIONS = {
    "zeros_like": lambda x: x * 0, "ones_like": lambda x: x * 0 + 1,
    "full_like": lambda x, fill_value: x * 0 + fill_value, "copy": lambda x: x,
}


def _np_sum(x: Any, axis: Any = None, **kw: Any) -> Any:
    if axis not in (None, 0) or kw:
        raise InputError("numpy.sum on a traced vector takes no options besides axis=None "
                         "(the sum over all coordinates)")
    return _reduce_operand(x, "numpy.sum").vsum("numpy.sum")


def _np_mean(x: Any, axis: Any = None, **kw: Any) -> Any:
    if axis not in (None, 0) or kw:
        raise InputError("numpy.mean on a traced vector takes no options besides axis=None")
    return _reduce_operand(x, "numpy.mean").mean("numpy.mean")


def _np_dot(name: str) -> Any:
    def fn(a: Any, b: Any, **kw: Any) -> Any:
        if kw:
            raise InputError(f"{name} on traced vectors takes no options")
        return dot(a, b, _name=name)
    return fn


def _np_norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Any:
    if ord not in (None, 2, 2.0) or axis not in (None, 0) or keepdims:
        raise InputError(f"numpy.linalg.norm(..., ord={ord!r}) on a traced vector: only the "
                         "Euclidean norm (ord=None or 2) is smooth away from 0 and supported; "
                         f"{_SMOOTHING}")
    return _reduce_operand(x, "numpy.linalg.norm").norm("numpy.linalg.norm")


def _reduce_operand(x: Any, name: str) -> "SeriesVector":
    if not isinstance(x, SeriesVector):
        raise _refusal(name)
    return x


#: NumPy reductions the tracer follows exactly (sums over coordinates, in the algebra).
_REDUCING_FUNCTIONS = {
    "sum": _np_sum, "mean": _np_mean, "dot": _np_dot("numpy.dot"),
    "vdot": _np_dot("numpy.vdot"), "inner": _np_dot("numpy.inner"), "norm": _np_norm,
}


class _Traced:
    """NumPy and Python protocols of traced values: exact where the tracer is exact,
    an :class:`InputError` naming the operation everywhere else."""

    __slots__ = ()
    _kind = "value"

    # NumPy: ufuncs, array functions, conversion
    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        name = f"numpy.{getattr(ufunc, '__name__', ufunc)}"
        if method != "__call__":
            raise _refusal(f"{name}.{method}")
        fn = _EXACT_UFUNCS.get(getattr(ufunc, "__name__", ""))
        if fn is None:
            raise _refusal(name)
        if kwargs:
            raise InputError(f"{name} with {', '.join(f'{k}=' for k in kwargs)} on a traced "
                             "value is not supported; call it without them")
        return fn(*(_plain(x, name) for x in inputs))

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        mod = getattr(func, "__module__", "numpy") or "numpy"
        name = f"{mod}.{getattr(func, '__name__', func)}"
        fname = getattr(func, "__name__", "")
        if fname in _REDUCING_FUNCTIONS and mod in ("numpy", "numpy.linalg") \
                and (fname == "norm") == (mod == "numpy.linalg"):
            try:
                return _REDUCING_FUNCTIONS[fname](*args, **kwargs)
            except TypeError:
                raise InputError(f"{name} called with arguments it does not take on a traced "
                                 "vector") from None
        fn = _EXACT_FUNCTIONS.get(getattr(func, "__name__", ""))
        if fn is None or kwargs or not args or args[0] is not self:
            raise _refusal(name)
        return fn(*(_plain(x, name) for x in args))

    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        raise InputError(f"a traced {self._kind} cannot be converted to a NumPy array "
                         "(numpy.asarray / numpy.array / a NumPy function): the conversion "
                         f"would lose the trace; {_ALLOWED}")

    # Python protocols: coordinates one by one, branches, conversions
    def _no_coordinates(self, what: str) -> InputError:
        return InputError(f"{what} of a traced {self._kind}: its coordinates are not available "
                          "one by one (sum(), max(), v[i], loops are reductions or selections "
                          f"the tracer cannot represent); write the update coordinate-wise -- "
                          f"{_ALLOWED}")

    def __len__(self) -> int:
        raise self._no_coordinates("len()")

    def __iter__(self) -> Any:
        raise self._no_coordinates("iteration (a for loop, sum(), max(), list(), unpacking)")

    def __getitem__(self, key: Any) -> Any:
        raise self._no_coordinates("indexing")

    def __setitem__(self, key: Any, value: Any) -> None:
        raise self._no_coordinates("item assignment")

    def __contains__(self, item: Any) -> bool:
        raise self._no_coordinates("'in'")

    def __bool__(self) -> bool:
        raise InputError(f"a branch on a traced {self._kind} (if / and / or / while / bool()): "
                         "the tracer follows one expansion in h and cannot branch; write the "
                         f"update without conditions on θ, the state or h ({_SMOOTHING})")

    def _compare(self, op: str) -> InputError:
        return InputError(f"comparison '{op}' of a traced {self._kind} (also inside max, min, "
                          f"sorted): not smooth, and the expansion in h needs a smooth update; "
                          f"{_SMOOTHING}")

    def __lt__(self, other: Any) -> bool:
        raise self._compare("<")

    def __le__(self, other: Any) -> bool:
        raise self._compare("<=")

    def __gt__(self, other: Any) -> bool:
        raise self._compare(">")

    def __ge__(self, other: Any) -> bool:
        raise self._compare(">=")

    def __eq__(self, other: Any) -> bool:
        if other is self:
            return True
        raise self._compare("==")

    def __ne__(self, other: Any) -> bool:
        if other is self:
            return False
        raise self._compare("!=")

    __hash__ = object.__hash__

    def __abs__(self) -> Any:
        raise _refusal("abs()")

    def __round__(self, ndigits: Any = None) -> Any:
        raise _refusal("round()")

    def __floor__(self) -> Any:
        raise _refusal("math.floor()")

    def __ceil__(self) -> Any:
        raise _refusal("math.ceil()")

    def __trunc__(self) -> Any:
        raise _refusal("math.trunc()")

    def __mod__(self, other: Any) -> Any:
        raise _refusal("'%' (mod)")

    __rmod__ = __mod__

    def __floordiv__(self, other: Any) -> Any:
        raise _refusal("'//' (floor division)")

    __rfloordiv__ = __floordiv__

    def __matmul__(self, other: Any) -> Any:
        if isinstance(self, SeriesVector) and isinstance(other, SeriesVector) \
                and not (self.scalar or other.scalar):
            return dot(self, other, _name="'@' (a dot product)")
        raise _refusal("'@' (matmul of a scalar or a constant)")

    def __rmatmul__(self, other: Any) -> Any:
        raise _refusal("'@' (matmul with a constant)")

    def __rpow__(self, other: Any) -> Any:
        raise InputError(f"a power with a traced exponent ({other} ** traced {self._kind}) is "
                         f"not supported; {_ALLOWED}")

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name in _REDUCTIONS:
            raise _TracerAttributeError(str(_refusal(f".{name}()")))
        if name in _NONSMOOTH:
            raise _TracerAttributeError(str(_refusal(f".{name}()")))
        raise _TracerAttributeError(f"'.{name}' is not available on a traced {self._kind} "
                                    f"(it is a truncated series in h, not an array); {_ALLOWED}")


class HSeries(_Traced):
    """A scalar truncated series Σ_{p≤order} c_p h^p with SymPy coefficients."""

    __slots__ = ("c", "order")
    _kind = "scalar"

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
        return cls([_scalar(v)], order)

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
        if isinstance(other, SeriesVector):
            return NotImplemented
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


class SeriesVector(_Traced):
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

    __slots__ = ("alg", "base", "coeffs", "order", "scalar")
    _kind = "vector"

    def __init__(self, alg: Algebra, base: HSeries, coeffs: Sequence[Any],
                 scalar: bool = False):
        self.alg = alg
        #: a scalar field (a reduction), stored broadcast to every coordinate
        self.scalar = scalar
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
                                [self.alg.add(a, b) for a, b in zip(self.coeffs, other.coeffs)],
                                self.scalar and other.scalar)
        if isinstance(other, (int, sp.Integer)) and other == 0:
            return self
        # a scalar added to every coordinate (ε in √(ν + ε)); needs coordinates
        s = other if isinstance(other, HSeries) else HSeries.const(other, self.order)
        return SeriesVector(self.alg, self.base,
                            [self.alg.add(a, self.alg.const(c)) if c != 0 else a
                             for a, c in zip(self.coeffs, s.c)], self.scalar)

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
        return SeriesVector(self.alg, self.base * s, coeffs, self.scalar)

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
        return SeriesVector(alg, HSeries.const(0, self.order), out, self.scalar and other.scalar)

    def __pow__(self, r: Any) -> "SeriesVector":
        """Coordinate-wise power (binomial series about the h⁰ coefficient)."""
        out = self._power(r)
        out.scalar = self.scalar
        return out

    def _power(self, r: Any) -> "SeriesVector":
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

    # -- reductions across coordinates (exact in a concrete algebra) ----------------------
    def vsum(self, _name: str = "sum") -> "SeriesVector":
        """Σ_i x_i: a scalar field, exact in the ring of a concrete loss (broadcast to every
        coordinate, as NumPy broadcasts a scalar); the generic algebra refuses."""
        if self.scalar:
            return self            # NumPy: the sum of a scalar is itself
        alg = self.alg
        coeffs = [alg.reduce_sum(c, _name) if not alg.is_zero(c) else c
                  for c in self._folded()]
        return SeriesVector(alg, HSeries.const(0, self.order), coeffs, True)

    def part(self, indices: Sequence[int], _name: str = "a parameter group") -> "SeriesVector":
        """The vector with the coordinates outside ``indices`` set to zero (its part in a
        group of parameters; concrete algebras only -- the generic one refuses)."""
        alg = self.alg
        if alg.generic:
            alg.project(alg.zero(), tuple(indices), _name)       # raises, naming the groups
        coeffs = [alg.project(c, tuple(indices), _name) if not alg.is_zero(c) else c
                  for c in self._folded()]
        return SeriesVector(alg, HSeries.const(0, self.order), coeffs, False)

    # -- coordinates one by one (concrete algebras): x[i] is a scalar field ---------------
    def __len__(self) -> int:
        if self.scalar:
            raise InputError("len() of a traced scalar (a reduction): it has no coordinates")
        return self.alg.dimension("len() (coordinates one by one)")

    def __getitem__(self, key: Any) -> "SeriesVector":
        if self.scalar:
            raise InputError("indexing a traced scalar (a reduction): it has no coordinates")
        if isinstance(key, bool) or not hasattr(key, "__index__"):
            raise InputError(f"indexing a traced vector with {type(key).__name__}: only one "
                             "coordinate x[i] (an integer) is supported, no slices or masks")
        d = self.alg.dimension("indexing (coordinates one by one)")
        i = int(key.__index__())
        if not -d <= i < d:
            raise InputError(f"index {i} out of range for a traced vector of {d} coordinates")
        i %= d
        coeffs = [self.alg.coordinate(c, i) if not self.alg.is_zero(c) else c
                  for c in self._folded()]
        return SeriesVector(self.alg, HSeries.const(0, self.order), coeffs, True)

    def __iter__(self) -> Any:
        n = self.alg.dimension("iteration (a for loop, sum(), list(), unpacking)") \
            if not self.scalar else len(self)
        return (self[i] for i in range(n))

    def sum(self, axis: Any = None) -> "SeriesVector":
        """``x.sum()`` (all coordinates), as :meth:`vsum`."""
        if axis not in (None, 0):
            raise InputError(".sum() on a traced vector takes only axis=None")
        return self.vsum(".sum()")

    def mean(self, _name: str = ".mean()") -> "SeriesVector":
        """The mean of the coordinates."""
        if self.scalar:
            return self
        n = self.alg.dimension(_name)
        return self.vsum(_name) * sp.Rational(1, n)

    def dot(self, other: Any) -> "SeriesVector":
        """``x.dot(y)`` = Σ_i x_i y_i."""
        return dot(self, other, _name=".dot()")

    def norm(self, _name: str = "norm") -> "SeriesVector":
        """The Euclidean norm √(Σ_i x_i²): an atom √(…) of the ring (branch-correct:
        √(u²) = |u| in one dimension); its h⁰ part must not vanish."""
        if self.alg.generic:
            self.alg.reduce_sum(self.coeffs[0], _name)       # raises, naming the reduction
        if self.scalar:
            raise InputError(f"{_name} of a scalar is |x|, which is not smooth; {_SMOOTHING}")
        sq = (self * self).vsum(_name)
        if self.alg.is_zero(sq.coeffs[0]):
            raise InputError(f"{_name} of a vector whose h⁰ part vanishes: ‖x‖ is not smooth "
                             "where x = 0 (the expansion in h needs x ≠ 0 at h = 0); smooth it, "
                             "e.g. sqrt(dot(x, x) + eps)")
        return sq.sqrt()

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
        if self.scalar:
            raise InputError(_SCALAR_STATE)
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

    def _not_a_vector(self, *args: Any, **kwargs: Any) -> Any:
        raise InputError("the gradient oracle is a function, not a vector: call it at a "
                         "point, grad(theta)")

    __array__ = __array_ufunc__ = __array_function__ = _not_a_vector

    def __call__(self, x: "SeriesVector", batch: int | None = None) -> "SeriesVector":
        return grad(x, batch)


def dot(a: Any, b: Any, _name: str = "dot") -> Any:
    """Σ_i a_i b_i of traced vectors (a product with a scalar, as in NumPy, when one of
    them is a number or a scalar field)."""
    sa = not isinstance(a, SeriesVector) or a.scalar
    sb = not isinstance(b, SeriesVector) or b.scalar
    if not isinstance(a, _Traced) and not isinstance(b, _Traced):
        raise _refusal(_name)
    if sa or sb:
        return a * b
    if a.alg.generic:
        a.alg.reduce_sum(a.coeffs[0], _name)                 # raises, naming the reduction
    return (a * b).vsum(_name)


_SCALAR_STATE = ("a state field holds a scalar (a reduction such as a norm): store it "
                 "broadcast, e.g. s * ones_like(theta), so that it stays a vector")


@functools.lru_cache(maxsize=256)
def _binomial(r: sp.Rational, k: int) -> sp.Rational:
    return sp.binomial(r, k)


def _exponent(r: Any) -> sp.Rational:
    if isinstance(r, _Traced):
        raise InputError(f"a power with a traced exponent (x ** traced {r._kind}) is not "
                         f"supported; {_ALLOWED}")
    r = _scalar(r)
    if isinstance(r, float):
        r = sp.nsimplify(r)
    if isinstance(r, str):   # sympify would evaluate it
        raise InputError(f"a string exponent ({r[:40]!r}) in an update rule: use a number")
    r = sp.sympify(r, strict=True)
    if not r.is_Rational:
        raise InputError(f"powers in update rules must have rational exponents, got {r}")
    return r


def grad(x: SeriesVector, batch: int | None = None) -> SeriesVector:
    """∇L at the point ``x = θ + Σ_{p≥1} h^p δ_p`` (Taylor-expanded in h); with
    ``batch`` = k the gradient of the k-th mini-batch loss."""
    if not isinstance(x, SeriesVector):
        raise InputError("grad() takes a point (θ or θ plus a displacement)")
    if x.scalar:
        raise InputError("grad() of a scalar (a reduction): the gradient oracle takes a point")
    if x.base.c[0] != 1:
        raise InputError("the gradient must be evaluated at θ plus a displacement (the point's "
                         f"θ coefficient at h = 0 is {x.base.c[0]}, not 1)")
    disp = x.displacement()
    if not x.alg.is_zero(disp[0]) and x.alg.generic:
        raise InputError("the gradient is evaluated at θ plus an O(1) displacement (a fixed "
                         "radius or step, e.g. SAM's ρ·∇L/‖∇L‖ with ρ independent of h): "
                         "∇L(θ + δ(θ)) is not an elementary differential of ∇L at θ, so the "
                         "generic (∇L-notation) algebra cannot write it; derive on a concrete "
                         "loss (ib.modified_equation(optimizer, loss, order); CLI: --loss), "
                         "or make the displacement O(h), e.g. rho = c*h")
    d0 = None if x.alg.is_zero(disp[0]) else disp[0]
    coeffs = x.alg.grad_taylor([d0] + disp[1:], x.order, batch)
    return SeriesVector.vector(x.alg, coeffs, x.order)
