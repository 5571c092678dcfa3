"""Initialization densities of a shallow network's first layer (symbolic).

A wide one-hidden-layer network ``f(x) = sum_i a_i [w_i x + b_i]_+ (+ u x + v)``
draws its input weights and biases ``(W, B)`` from a distribution; the
curvature penalty of :mod:`ibsym.wide_relu.zeta` is a functional of that distribution.
This module holds

* :class:`Distribution` -- a one-dimensional law with symbolic parameters:
  :func:`normal`, :func:`uniform`, :func:`laplace`, :func:`rademacher`
  (``W = +-1``), :func:`cauchy` and :func:`from_pdf` for any SymPy density;
* :class:`Initialization` -- the joint law of ``(W, B)``: independent
  (:func:`independent`), a joint density expression (:func:`joint`), or a
  discrete weight with a conditional bias density (:func:`conditional`);
* :func:`parse_distribution` / :func:`parse_joint` -- safe parsing of the
  command-line strings ``"normal(0, 1)"``, ``"uniform(-a, a)"`` and of a joint
  density ``"exp(-(w^2+b^2)/2)/(2*pi)"`` through :func:`ibsym.core.parsing.parse_expression`.

SymPy only (layer 1).

Examples
--------
>>> d = parse_distribution("normal(0, s)")
>>> d
normal(0, s)
>>> d.pdf(W)
sqrt(2)*exp(-W**2/(2*s**2))/(2*sqrt(pi)*s)
>>> independent(rademacher(), uniform(-2, 2)).describe()
'W ~ rademacher, B ~ uniform(-2, 2) (independent)'
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Any

import sympy as sp

from ibsym.core.errors import InputError, ParseError
from ibsym.core.parsing import parse_expression
from ibsym.core.values import as_expr, to_sympy

__all__ = [
    "W", "B", "Distribution", "Initialization",
    "normal", "uniform", "laplace", "rademacher", "cauchy", "from_pdf",
    "independent", "joint", "conditional",
    "parse_distribution", "parse_joint", "DISTRIBUTIONS",
]

#: The input-weight and bias variables of the joint density p_{W,B}(w, b).
W = sp.Symbol("W", real=True)
B = sp.Symbol("B", real=True)
_T = sp.Dummy("t", real=True)


@dataclass(frozen=True)
class Distribution:
    """A one-dimensional law with (possibly symbolic) parameters.

    Either continuous (``density``: a SymPy expression in the dummy variable
    ``var``) or discrete (``atoms``: ``((value, probability), ...)``).

    Attributes
    ----------
    name : str
        ``"normal"``, ``"uniform"``, ``"laplace"``, ``"rademacher"``, ``"cauchy"``, ``"custom"``.
    params : tuple of sympy.Expr
        The parameters as given (``(mean, std)``, ``(low, high)``, ...).
    density : sympy.Expr or None
        Density in ``var`` (continuous laws).
    atoms : tuple of (value, probability)
        Point masses (discrete laws).
    var : sympy.Symbol
        The variable of ``density``.
    breakpoints : tuple of sympy.Expr
        Points where the density jumps (for quadrature).
    """

    name: str
    params: tuple = ()
    density: Any = None
    atoms: tuple = ()
    var: Any = _T
    breakpoints: tuple = ()

    def __repr__(self) -> str:
        if not self.params:
            return self.name
        return f"{self.name}({', '.join(sp.sstr(p) for p in self.params)})"

    @property
    def is_discrete(self) -> bool:
        """Whether the law is a finite set of point masses."""
        return bool(self.atoms)

    def pdf(self, t: Any) -> sp.Expr:
        """The density evaluated at ``t`` (continuous laws only)."""
        if self.is_discrete:
            raise InputError(f"{self!r} is discrete and has no density; use .atoms")
        return self.density.xreplace({self.var: _arg(t, "t")})

    def moment(self, k: int, *, absolute: bool = False) -> sp.Expr:
        """``E[X^k]`` (or ``E[|X|^k]``), integrated by SymPy."""
        if self.is_discrete:
            return sp.simplify(sum(p * (abs(v) if absolute else v) ** k for v, p in self.atoms))
        t = sp.Symbol("t", real=True)
        integrand = (sp.Abs(t) if absolute else t) ** k * self.pdf(t)
        return sp.simplify(sp.integrate(integrand, (t, -sp.oo, sp.oo)))

    @property
    def free_symbols(self) -> set:
        """Symbolic parameters."""
        out: set = set()
        for p in self.params:
            out |= to_sympy(p).free_symbols
        return out


def _arg(e: Any, what: str) -> sp.Expr:
    """A distribution argument: a number, a SymPy expression or safely parsed text."""
    return as_expr(e, what=what, allow_free_names=True)


def _positive(e: Any) -> sp.Expr:
    """Scale parameters: symbols become positive symbols of the same name."""
    e = _arg(e, "scale")
    return e.xreplace({s: sp.Symbol(s.name, positive=True) for s in e.free_symbols})


def normal(mean: Any = 0, std: Any = 1) -> Distribution:
    """Gaussian ``N(mean, std^2)`` (``std`` is a standard deviation, not a variance).

    Examples
    --------
    >>> normal(0, 2).moment(2)
    4
    """
    mean, std = _arg(mean, "normal mean"), _positive(std)
    if std.is_number and not std > 0:
        raise InputError(f"normal: STD must be positive, got {std}")
    t = _T
    dens = sp.exp(-(t - mean) ** 2 / (2 * std ** 2)) / (sp.sqrt(2 * sp.pi) * std)
    return Distribution("normal", (mean, std), dens, var=t)


def uniform(low: Any = -1, high: Any = 1) -> Distribution:
    """Uniform on ``(low, high)``; ``uniform(-a, a)`` makes ``a`` positive.

    Examples
    --------
    >>> uniform(-1, 1).moment(2)
    1/3
    """
    low, high = _arg(low, "uniform low"), _arg(high, "uniform high")
    if low + high == 0 and high.free_symbols:
        high = _positive(high)
        low = -high
    width = sp.simplify(high - low)
    if width.is_number and not width > 0:
        raise InputError(f"uniform: need LOW < HIGH, got uniform({low}, {high})")
    t = _T
    dens = sp.Piecewise((1 / width, (t > low) & (t < high)), (0, True))
    return Distribution("uniform", (low, high), dens, var=t, breakpoints=(low, high))


def laplace(mean: Any = 0, scale: Any = 1) -> Distribution:
    """Laplace law with density ``exp(-|t - mean|/scale) / (2 scale)``.

    Examples
    --------
    >>> laplace(0, 1).moment(2)
    2
    """
    mean, scale = _arg(mean, "laplace mean"), _positive(scale)
    if scale.is_number and not scale > 0:
        raise InputError(f"laplace: SCALE must be positive, got {scale}")
    t = _T
    dens = sp.exp(-sp.Abs(t - mean) / scale) / (2 * scale)
    return Distribution("laplace", (mean, scale), dens, var=t, breakpoints=(mean,))


def cauchy(loc: Any = 0, scale: Any = 1) -> Distribution:
    """Cauchy law (heavy tails: ``E[W^2]`` is infinite, so only as a bias law)."""
    loc, scale = _arg(loc, "cauchy loc"), _positive(scale)
    t = _T
    dens = scale / (sp.pi * ((t - loc) ** 2 + scale ** 2))
    return Distribution("cauchy", (loc, scale), dens, var=t)


def rademacher() -> Distribution:
    """The binary law ``P(+1) = P(-1) = 1/2`` (the "binary" weights of Jin & Montúfar).

    Examples
    --------
    >>> rademacher().moment(2)
    1
    """
    return Distribution("rademacher", (), atoms=((sp.Integer(1), sp.Rational(1, 2)),
                                                 (sp.Integer(-1), sp.Rational(1, 2))))


def from_pdf(expr: Any, var: Any, *, name: str = "custom",
             breakpoints: tuple = ()) -> Distribution:
    """A continuous law from a SymPy density ``expr`` in ``var`` (not checked to integrate to 1).

    Examples
    --------
    >>> t = sp.Symbol("t", real=True)
    >>> from_pdf(sp.exp(-sp.Abs(t))/2, t).moment(2)
    2
    """
    var = _arg(var, "variable")
    if not isinstance(var, sp.Symbol):
        raise InputError(f"from_pdf: the variable must be a symbol, got {var}")
    return Distribution(name, (), _arg(expr, "density").xreplace({var: _T}), var=_T,
                        breakpoints=tuple(_arg(b, "breakpoint") for b in breakpoints))


@dataclass(frozen=True)
class Initialization:
    """The joint law of ``(W, B)`` used to initialize the first layer.

    Exactly one representation is set:

    * ``weight`` and ``bias`` -- independent marginals;
    * ``density`` -- a joint density expression in :data:`W` and :data:`B`;
    * ``weight`` (discrete) and ``bias_given_weight`` -- conditional densities
      of ``B`` given each atom of ``W``, as expressions in :data:`B` and :data:`W`.
    """

    weight: Distribution | None = None
    bias: Distribution | None = None
    density: Any = None
    bias_given_weight: Any = None
    label: str = ""

    def describe(self) -> str:
        """A one-line description."""
        if self.label:
            return self.label
        if self.density is not None:
            return f"p(W, B) = {sp.sstr(self.density)}"
        if self.bias_given_weight is not None:
            return f"W ~ {self.weight!r}, B | W ~ {sp.sstr(self.bias_given_weight)}"
        return f"W ~ {self.weight!r}, B ~ {self.bias!r} (independent)"

    def __repr__(self) -> str:
        return f"Initialization({self.describe()})"

    @property
    def is_independent(self) -> bool:
        return self.density is None and self.bias_given_weight is None

    def joint_density(self) -> sp.Expr:
        """``p_{W,B}(W, B)`` as an expression (continuous weight laws)."""
        if self.density is not None:
            return self.density
        if self.weight.is_discrete:
            raise InputError("the weight law is discrete; use .weight_atoms() and "
                             ".bias_density(w)")
        if self.bias_given_weight is not None:
            return self.weight.pdf(W) * self.bias_given_weight
        return self.weight.pdf(W) * self.bias.pdf(B)

    def weight_atoms(self) -> tuple:
        """``((w, P(W = w)), ...)`` for a discrete weight law, else ``()``."""
        if self.weight is not None and self.weight.is_discrete:
            return self.weight.atoms
        return ()

    def bias_density(self, w: Any) -> sp.Expr:
        """Density of ``B`` given ``W = w`` (discrete weights), in the variable :data:`B`."""
        if self.bias_given_weight is not None:
            return self.bias_given_weight.xreplace({W: _arg(w, "w")})
        return self.bias.pdf(B)

    @property
    def free_symbols(self) -> set:
        """Symbolic parameters (not W, B)."""
        out: set = set()
        for d in (self.weight, self.bias):
            if d is not None:
                out |= d.free_symbols
        for e in (self.density, self.bias_given_weight):
            if e is not None:
                out |= to_sympy(e).free_symbols
        return out - {W, B}

    def breakpoints(self) -> tuple:
        """Jump points of the marginal densities (for quadrature)."""
        return tuple(self.weight.breakpoints if self.weight else ()) + tuple(
            self.bias.breakpoints if self.bias else ())


def independent(weight: Distribution, bias: Distribution) -> Initialization:
    """``W`` and ``B`` independent with the given laws.

    Examples
    --------
    >>> independent(normal(0, 1), normal(0, 1)).joint_density()
    exp(-B**2/2)*exp(-W**2/2)/(2*pi)
    """
    if bias.is_discrete:
        raise InputError("the bias law must have a density (a discrete bias gives a singular "
                         "curvature penalty); use normal, uniform or laplace for --bias")
    return Initialization(weight=weight, bias=bias)


def joint(expr: Any, w: Any = W, b: Any = B, *, label: str = "") -> Initialization:
    """A joint density ``p(w, b)`` given as a SymPy expression in ``w`` and ``b``."""
    w, b = _arg(w, "w"), _arg(b, "b")
    expr = as_expr(expr, what="joint density", names={"w": W, "b": B, str(w): W, str(b): B},
                   allow_free_names=True).xreplace({w: W, b: B})
    return Initialization(density=expr, label=label)


def conditional(weight: Distribution, bias_given_weight: Any, *, label: str = "") -> Initialization:
    """Discrete (or continuous) weight law and the density of ``B`` given ``W`` (in W, B)."""
    bgw = as_expr(bias_given_weight, what="bias density", names={"W": W, "B": B, "w": W, "b": B},
                  allow_free_names=True)
    return Initialization(weight=weight, bias_given_weight=bgw,
                          label=label)


#: Named laws: name -> (constructor, number of arguments, argument names).
DISTRIBUTIONS: dict[str, tuple[Any, int, str]] = {
    "normal": (normal, 2, "MEAN, STD"),
    "gaussian": (normal, 2, "MEAN, STD"),
    "uniform": (uniform, 2, "LOW, HIGH"),
    "laplace": (laplace, 2, "MEAN, SCALE"),
    "cauchy": (cauchy, 2, "LOC, SCALE"),
    "rademacher": (rademacher, 0, ""),
    "binary": (rademacher, 0, ""),
}

_DIST_RE = re.compile(r"^\s*([A-Za-z]+)\s*(?:\((.*)\))?\s*$", re.S)


def _choices() -> str:
    return ", ".join(f"{k}({v[2]})" if v[1] else k for k, v in DISTRIBUTIONS.items())


def parse_distribution(text: str) -> Distribution:
    """Parse ``"normal(MEAN, STD)"``, ``"uniform(LOW, HIGH)"``, ``"laplace(MEAN, SCALE)"``,
    ``"rademacher"`` (also ``"binary"``, ``"gaussian"``, ``"cauchy(LOC, SCALE)"``).

    Arguments are numbers or symbols (``"normal(0, s)"``); each argument is parsed by
    :func:`ibsym.core.parsing.parse_expression` (no code is evaluated).

    Raises
    ------
    ParseError
        For unknown names, a wrong number of arguments or a bad argument.

    Examples
    --------
    >>> parse_distribution("uniform(-a, a)")
    uniform(-a, a)
    >>> parse_distribution("student(3)")
    Traceback (most recent call last):
    ...
    ibsym.core.errors.ParseError: unknown distribution 'student' in "student(3)"; choose one of: ...
    """
    if not isinstance(text, str) or not text.strip():
        raise ParseError(f"empty distribution; choose one of: {_choices()}")
    m = _DIST_RE.match(text)
    if not m:
        raise ParseError(f"cannot read distribution \"{text}\"; write NAME(ARG, ARG), "
                         f"one of: {_choices()}")
    name, argtext = m.group(1).lower(), m.group(2)
    if name not in DISTRIBUTIONS:
        raise ParseError(f"unknown distribution '{m.group(1)}' in \"{text}\"; choose one of: "
                         f"{_choices()}", token=m.group(1))
    ctor, nargs, argnames = DISTRIBUTIONS[name]
    args: list[sp.Expr] = []
    if argtext is not None and argtext.strip():
        try:
            node = ast.parse(f"f({argtext})", mode="eval").body
        except SyntaxError:
            raise ParseError(f"cannot read the arguments of \"{text}\"; write e.g. "
                             f"{name}({argnames or ''})") from None
        if not isinstance(node, ast.Call) or node.keywords:
            raise ParseError(f"arguments of \"{text}\" must be positional numbers or symbols")
        for a in node.args:
            seg = ast.get_source_segment(f"f({argtext})", a)
            args.append(parse_expression(seg or "", allow_free_names=True))
    if len(args) != nargs:
        want = f"{nargs} argument(s) ({argnames})" if nargs else "no arguments"
        raise ParseError(f"{name} takes {want}, got {len(args)} in \"{text}\"", token=name)
    for a in args:
        if a.free_symbols & {W, B} or {s.name for s in a.free_symbols} & {"W", "B", "w", "b", "x"}:
            raise ParseError(f"parameters of \"{text}\" may not use the names w, b, W, B or x")
    return ctor(*args)


def parse_joint(text: str) -> Initialization:
    """Parse a joint density ``p(w, b)`` written in ``w`` and ``b`` (other names are parameters).

    Examples
    --------
    >>> parse_joint("exp(-(w^2 + b^2)/2)/(2*pi)").joint_density()
    exp(-B**2/2 - W**2/2)/(2*pi)
    >>> parse_joint("w + ")
    Traceback (most recent call last):
    ...
    ibsym.core.errors.ParseError: syntax error at column ...
    """
    expr = parse_expression(text, names={"w": W, "b": B}, allow_free_names=True)
    if not expr.has(W) and not expr.has(B):
        raise ParseError(f"the joint density \"{text}\" uses neither w nor b; write it as an "
                         "expression in w and b, e.g. \"exp(-(w^2+b^2)/2)/(2*pi)\"")
    params = {s: sp.Symbol(s.name, positive=True) for s in expr.free_symbols - {W, B}}
    return joint(expr.xreplace(params), label=f"p(w, b) = {text.strip()}")
