"""Losses: the problems optimizers are run on.

A :class:`Loss` is a frozen record of a SymPy expression and its ordered
parameters -- or, for dimension-free results, a *generic* loss (an undefined
function of the parameters; derivations then speak of ∇L, ∇²L, ...).

Examples
--------
>>> from ibsym.core.losses import Loss, bilinear
>>> loss = Loss.parse("(a*b - 1)**2/2", params="a b")
>>> loss.params
(a, b)
>>> loss == bilinear()
True
>>> Loss.generic().is_generic
True
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import sympy as sp

from ibsym.core.errors import InputError, NotDifferentiableError
from ibsym.core.parsing import parse_expression, parse_names
from ibsym.core.values import as_number, to_sympy
from sympy.core.function import AppliedUndef

__all__ = ["Loss", "bilinear", "quadratic", "rosenbrock", "log_cosh_regression", "chain"]

_SAFE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_NON_SMOOTH = (sp.Abs, sp.sign, sp.Max, sp.Min, sp.Heaviside, sp.floor, sp.ceiling)


@dataclass(frozen=True)
class Loss:
    """A loss function L(θ) of ordered parameters.

    Parameters
    ----------
    expr : sympy.Expr or None
        The loss; ``None`` for a generic loss.
    params : tuple of sympy.Symbol
        Parameter symbols, in the order used for vectors (θ = (params...)).
    name : str
        Short label used in reports and file names.

    Examples
    --------
    >>> import sympy
    >>> a, b = sympy.symbols("a b", real=True)
    >>> Loss((a*b - 1)**2/2, (a, b), name="bilinear").gradient()
    Matrix([
    [b*(a*b - 1)],
    [a*(a*b - 1)]])
    """

    expr: sp.Expr | None
    params: tuple[sp.Symbol, ...] = ()
    name: str = field(default="L", compare=False)
    text: str | None = field(default=None, compare=False)
    batches: tuple[sp.Expr, ...] = ()

    def __post_init__(self) -> None:
        if self.expr is None:
            return
        if not self.params:
            raise InputError("a concrete loss needs at least one parameter")
        if len(set(self.params)) != len(self.params):
            raise InputError("parameter names must be distinct")
        for e in (self.expr, *self.batches):
            if not isinstance(e, sp.Expr):
                raise InputError(f"a loss is a SymPy expression (or text for Loss.parse), "
                                 f"got {type(e).__name__}")
        for p in self.params:
            if not isinstance(p, sp.Symbol) or not _SAFE_NAME.match(p.name):
                raise InputError(f"invalid parameter {str(p)[:40]!r}; parameters are symbols "
                                 "named by letters, digits and '_' starting with a letter")
        for e in (self.expr, *self.batches):
            for f in e.atoms(AppliedUndef):
                if not _SAFE_NAME.match(f.func.__name__):
                    raise InputError(f"invalid function name {f.func.__name__[:40]!r} in the loss; "
                                     "use letters, digits and '_' starting with a letter")
        extra = set().union(self.expr.free_symbols, *[b.free_symbols for b in self.batches])
        extra -= set(self.params)
        if extra:
            names = ", ".join(sorted(map(str, extra)))
            raise InputError(f"the loss uses undeclared symbol(s) {names}; "
                             f"declare them as parameters or give them a value")

    # -- constructors -------------------------------------------------------------------
    @classmethod
    def parse(cls, text: str, params: str | Iterable[str], name: str | None = None) -> "Loss":
        """Parse a loss from text with the whitelist parser (no ``eval``).

        Examples
        --------
        >>> Loss.parse("sin(a) + b^2", "a b").expr
        b**2 + sin(a)
        """
        names = parse_names(params)
        symbols = {n: sp.Symbol(n, real=True) for n in names}
        expr = parse_expression(text, symbols)
        return cls(expr, tuple(symbols[n] for n in names), name=name or "L", text=text)

    @classmethod
    def from_batches(cls, batches: Iterable[str | sp.Expr], params: str | Iterable[str],
                     name: str | None = None) -> "Loss":
        """A loss given as mini-batch losses L̂_0, …, L̂_{m−1}; the full loss is their
        mean L = (1/m) Σ_k L̂_k (the convention of Smith et al. 2021).  Strings are
        parsed with the whitelist parser.

        Examples
        --------
        >>> loss = Loss.from_batches(["(a*b - 1)^2/2", "(2*a*b + 1)^2/2"], "a b")
        >>> loss.num_batches, loss.expr
        (2, (a*b - 1)**2/4 + (2*a*b + 1)**2/4)
        """
        names = parse_names(params)
        symbols = {n: sp.Symbol(n, real=True) for n in names}
        exprs = tuple(parse_expression(b, symbols) if isinstance(b, str)
                      else to_sympy(b, what="mini-batch loss") for b in batches)
        if len(exprs) < 2:
            raise InputError("give at least two mini-batch losses")
        mean = sp.Add(*exprs) / len(exprs)
        return cls(mean, tuple(symbols[n] for n in names), name=name or "L",
                   text=" ; ".join(map(str, exprs)), batches=exprs)

    @property
    def num_batches(self) -> int:
        """Number of mini-batch losses (0 for a full-batch loss)."""
        return len(self.batches)

    def batch_gradient(self, k: int) -> sp.Matrix:
        """∇L̂_k as a column matrix."""
        self._require_concrete()
        if not self.batches:
            raise InputError("this loss has no mini-batches; build it with Loss.from_batches")
        return sp.Matrix([sp.diff(self.batches[k], p) for p in self.params])

    @classmethod
    def generic(cls, name: str = "L") -> "Loss":
        """A generic (undefined, smooth) loss: results come out in ∇L notation."""
        return cls(None, (), name=name)

    # -- properties ----------------------------------------------------------------------
    @property
    def is_generic(self) -> bool:
        """True for a generic loss (no expression)."""
        return self.expr is None

    @property
    def dim(self) -> int:
        """Number of parameters."""
        return len(self.params)

    def gradient(self) -> sp.Matrix:
        """∇L as a column matrix."""
        self._require_concrete()
        return sp.Matrix([sp.diff(self.expr, p) for p in self.params])

    def hessian(self) -> sp.Matrix:
        """∇²L as a matrix."""
        self._require_concrete()
        return sp.hessian(self.expr, self.params)

    def check_smooth(self) -> None:
        """Raise :class:`NotDifferentiableError` if the loss has kinks (abs, max, sign...)."""
        self._require_concrete()
        exprs = (self.expr,) + self.batches
        bad = [a for e in exprs for a in e.atoms(sp.Function) if isinstance(a, _NON_SMOOTH)]
        bad += [a for e in exprs for a in e.atoms(sp.Max, sp.Min, sp.Abs, sp.sign)]
        if bad:
            raise NotDifferentiableError(
                f"the loss contains {bad[0]}, which is not differentiable where its argument "
                "vanishes; backward error analysis needs a smooth loss -- try a smooth surrogate "
                "such as sqrt(x^2 + 1e-6) for abs(x) or softplus(x) for max(x, 0)")

    def _require_concrete(self) -> None:
        if self.expr is None:
            raise InputError("this operation needs a concrete loss (an expression), "
                             "not a generic one")

    def __str__(self) -> str:
        if self.expr is None:
            return f"{self.name}(θ) (generic)"
        return f"{self.name}({', '.join(map(str, self.params))}) = {self.expr}"


def _syms(names: str) -> tuple[sp.Symbol, ...]:
    return tuple(sp.symbols(names, real=True))


def bilinear() -> Loss:
    """The scalar bilinear model L(a, b) = (ab − 1)²/2 (Barrett–Dherin, Cattaneo et al.).

    Examples
    --------
    >>> bilinear().expr
    (a*b - 1)**2/2
    """
    a, b = _syms("a b")
    return Loss((a * b - 1) ** 2 / 2, (a, b), name="bilinear", text="(a*b - 1)**2/2")


def quadratic(A: Sequence[Sequence[object]] | sp.Matrix, names: str | None = None) -> Loss:
    """L(θ) = θᵀAθ/2 for a symmetric matrix A (exact oracle: GD field = log(I − hA)θ/h).

    Examples
    --------
    >>> quadratic([[2, 0], [0, 1]]).expr
    t0**2 + t1**2/2
    """
    if isinstance(A, sp.MatrixBase):
        rows = A.tolist()
    elif isinstance(A, (str, bytes)) or not all(isinstance(r, Sequence) and not isinstance(r, str)
                                                 for r in A):
        raise InputError("quadratic loss needs a square matrix given as a list of rows")
    else:
        rows = [list(r) for r in A]
    # entries one by one: sympy.Matrix would evaluate text entries as Python code
    A = sp.Matrix([[as_number(x, what=f"A[{i}][{j}]") for j, x in enumerate(r)]
                   for i, r in enumerate(rows)])
    if A.shape[0] != A.shape[1] or A != A.T:
        raise InputError("quadratic loss needs a symmetric square matrix")
    n = A.shape[0]
    params = (_syms(" ".join(parse_names(names))) if names
              else _syms(" ".join(f"t{i}" for i in range(n))))
    if len(params) != n:
        raise InputError(f"quadratic loss: {n} parameters needed, {len(params)} names given")
    th = sp.Matrix(params)
    return Loss(sp.expand((th.T * A * th)[0, 0] / 2), tuple(params), name="quadratic")


def rosenbrock(a: object = 1, b: object = 100) -> Loss:
    """Rosenbrock's loss (a − x)² + b(y − x²)²."""
    x, y = _syms("x y")
    a, b = as_number(a, what="rosenbrock a"), as_number(b, what="rosenbrock b")
    return Loss((a - x) ** 2 + b * (y - x ** 2) ** 2, (x, y),
                name="rosenbrock")


def log_cosh_regression() -> Loss:
    """A transcendental two-parameter loss, L(a, b) = log cosh(ab − 1) + (1 − cos a)/2.

    Smooth, with transcendental derivatives of every order; minimum manifold
    ab = 1, a = 0 mod 2π.
    """
    a, b = _syms("a b")
    return Loss(sp.log(sp.cosh(a * b - 1)) + (1 - sp.cos(a)) / 2, (a, b), name="logcosh")


def chain(n: int, *, coupling: object = sp.Rational(1, 2)) -> Loss:
    """An n-parameter smooth loss with nearest-neighbour coupling.

    L(θ) = Σ_i (θ_i − 1)²/2 + c Σ_i tanh(θ_i θ_{i+1}) -- sparse, transcendental;
    used to measure verification speed on many parameters.
    """
    params = _syms(" ".join(f"t{i}" for i in range(n)))
    c = as_number(coupling, what="coupling")
    expr = sum(((p - 1) ** 2 / 2 for p in params), sp.Integer(0))
    expr += c * sum((sp.tanh(params[i] * params[i + 1]) for i in range(n - 1)), sp.Integer(0))
    return Loss(expr, params, name=f"chain{n}")
