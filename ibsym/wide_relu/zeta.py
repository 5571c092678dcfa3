r"""Curvature penalty ζ(x) of wide shallow networks from the initialization law (symbolic).

Jin & Montúfar (JMLR 2023) show that gradient descent on a wide one-hidden-layer
ReLU network ``f(x) = sum_i a_i [w_i x + b_i]_+ + u x + v`` selects, among the
interpolants of the data, the one minimizing ``∫ (g'' - f''(·, θ0))² / ζ`` with

.. math:: \zeta(x) = \int |W|^3\, p_{W,B}(W, -Wx)\, dW = p_C(x)\,\mathbb E[W^2 \mid C = x],
          \qquad C = -B/W \text{ (the breakpoint)} .

This module *derives* ζ with SymPy from the joint law of ``(W, B)``
(:mod:`ibsym.wide_relu.densities`), for activations ``[z]_+^k`` (degree ``k``;
``ζ_k = ∫ |W|^{2k+1} p(W, -Wx) dW``), falls back to numerical quadrature (mpmath)
when SymPy finds no closed form, and exports the variational problem and its
smoothing-spline trajectory form with ``λ = 1/(η̄ t)``.  The inverse problem (a prescribed
penalty ϱ → breakpoint density and initialization) is
:func:`ibsym.wide_relu.design.design_initialization`, the multivariate (Radon) statement
:func:`ibsym.wide_relu.radon.radon_penalty`.

SymPy / mpmath only (layer 2).

Examples
--------
>>> from ibsym.wide_relu.densities import normal, independent
>>> z = curvature_penalty(independent(normal(0, 1), normal(0, 1)))
>>> print(z)
ζ(x) = 2/(pi*(x**2 + 1)**2)
>>> z.closed_form, round(z.evaluate(1.0), 7)
(True, 0.1591549)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import mpmath
import sympy as sp

from ibsym.wide_relu.densities import B, W, Distribution, Initialization, independent
from ibsym.core.errors import InputError
from ibsym.core.values import as_number, to_sympy
from ibsym.core.results import Result

__all__ = [
    "X", "curvature_penalty", "zeta", "CurvaturePenalty", "VariationalProblem",
    "HomogeneousOperator", "homogeneous_operator",
]

#: The input variable of ζ(x).
X = sp.Symbol("x", real=True)
_U = sp.Symbol("u", positive=True)      # |W| on each half line
_XP = sp.Symbol("x", positive=True)     # x > 0
_ETABAR = sp.Symbol("etabar", positive=True)
_T = sp.Symbol("t", positive=True)
_LAM = sp.Symbol("lambda", positive=True)

REFERENCE = ("H. Jin, G. Montúfar, Implicit Bias of Gradient Descent for Mean Squared Error "
             "Regression with Two-Layer Wide Neural Networks, JMLR 24(137), 2023")


# ----------------------------------------------------------------------------- helpers
def _child(fn, conn) -> None:  # pragma: no cover - runs in a forked process
    try:
        conn.send(("ok", fn()))
    except BaseException as exc:  # noqa: BLE001 - reported as "no closed form"
        conn.send(("error", repr(exc)))
    finally:
        conn.close()


def _run_with_timeout(fn, timeout: float | None):
    """Run ``fn()`` with a time limit; return (value, finished).

    With a limit the work runs in a forked child process that is terminated when the
    limit passes (SymPy cannot be interrupted and is not thread-safe, so no threads).
    Where ``fork`` is unavailable the limit is not enforced.
    """
    import multiprocessing as mp
    if timeout is None or "fork" not in mp.get_all_start_methods():
        return fn(), True
    ctx = mp.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(fn, send), daemon=True)
    import warnings
    with warnings.catch_warnings():   # Python >= 3.12 warns about fork in threaded processes
        warnings.simplefilter("ignore", DeprecationWarning)
        proc.start()
    send.close()
    try:
        if not recv.poll(timeout):
            return None, False
        status, value = recv.recv()
    except (EOFError, OSError):
        return None, False
    finally:
        if proc.is_alive():
            proc.terminate()
        proc.join(1.0)
        recv.close()
    return (value, True) if status == "ok" else (None, False)


def _has_integral(e: sp.Expr) -> bool:
    return e.has(sp.Integral) or e.has(sp.nan) or e.has(sp.zoo)


def _half_line(integrand: sp.Expr) -> sp.Expr:
    return sp.integrate(integrand, (_U, 0, sp.oo), conds="none")


def _derive(init: Initialization, degree: int) -> sp.Expr | None:
    """Closed form of ζ_k(x) by SymPy, or None."""
    p = 2 * degree + 1
    atoms = init.weight_atoms()
    if atoms:
        total = sum(prob * sp.Abs(w) ** p * init.bias_density(w).xreplace({B: -w * X})
                    for w, prob in atoms)
        return sp.simplify(total)
    dens = init.joint_density()

    def pdf(w, b):
        return dens.xreplace({W: w, B: b})

    s = sp.Symbol("s", positive=True)
    pos = _half_line(_U ** p * (pdf(_U, -_U * _XP) + pdf(-_U, _U * _XP)))
    neg = _half_line(_U ** p * (pdf(_U, _U * s) + pdf(-_U, -_U * s)))   # x = -s < 0
    zero = _half_line(_U ** p * (pdf(_U, 0) + pdf(-_U, 0)))
    if any(_has_integral(e) for e in (pos, neg, zero)):
        return None
    pos, neg, zero = (sp.simplify(e) for e in (pos, neg, zero))
    if sp.simplify(neg.xreplace({s: _XP}) - pos) == 0:
        expr = sp.simplify(pos.xreplace({_XP: sp.Abs(X)}))
    else:
        expr = sp.Piecewise((neg.xreplace({s: -X}), X < 0), (pos.xreplace({_XP: X}), True))
    try:
        at0 = expr.xreplace({X: sp.Integer(0)}) if not isinstance(expr, sp.Piecewise) else None
    except (ValueError, TypeError, ZeroDivisionError):
        at0 = None
    if at0 is None or at0.has(sp.zoo, sp.nan, sp.oo) or sp.simplify(at0 - zero) != 0:
        expr = sp.Piecewise((zero, sp.Eq(X, 0)), (expr, True))
    return expr


def _substitute(expr: sp.Expr, rep: dict) -> sp.Expr:
    """``expr.xreplace(rep)``, choosing a top-level Piecewise branch before substituting in it."""
    if isinstance(expr, sp.Piecewise):
        for e, c in expr.args:
            cv = sp.sympify(c).xreplace(rep)
            if cv == sp.true:
                return _substitute(e, rep)
            if cv != sp.false:
                break
    return expr.xreplace(rep)


def _is_zero(diff: sp.Expr) -> bool:
    """``simplify(diff) == 0``, also tried separately for x > 0 and x < 0 (|x| forms)."""
    if sp.simplify(diff) == 0:
        return True
    if X not in diff.free_symbols:
        return False
    p = sp.Symbol("p", positive=True)
    return all(sp.simplify(sp.piecewise_fold(diff.xreplace({X: v}))) == 0 for v in (p, -p))


def _integrand(init: Initialization, degree: int) -> sp.Expr:
    """|W|^{2k+1} p(W, -W x) as an expression in W and x (continuous weights)."""
    dens = init.joint_density()
    return sp.Abs(W) ** (2 * degree + 1) * dens.xreplace({B: -W * X})


def _values(symbols: set, values: dict[str, Any]) -> dict:
    by_name = {s.name: s for s in symbols}
    unknown = set(values) - set(by_name)
    if unknown:
        raise InputError(f"unknown parameter(s) {', '.join(sorted(unknown))}; the penalty has "
                         f"parameters: {', '.join(sorted(by_name)) or '(none)'}")
    return {by_name[k]: as_number(v, what=f"value of {k}", rational=True)
            for k, v in values.items()}


# ----------------------------------------------------------------------------- results
@dataclass(frozen=True)
class CurvaturePenalty(Result):
    r"""ζ_k(x) for an initialization law: closed form (SymPy) or flagged quadrature.

    Attributes
    ----------
    expr : sympy.Expr
        ζ(x) in :data:`X`; without a closed form, the unevaluated ``Integral``.
    init : Initialization
        The law of (W, B).
    degree : int
        Activation ``[z]_+^k``; ReLU is 1.
    closed_form : bool
        Whether SymPy integrated ζ in closed form.
    method : str
        ``"sympy"`` or ``"quadrature (mpmath)"``.
    note : str
        What happened (e.g. why quadrature is used).
    """

    schema = "zeta"
    expr: Any
    init: Initialization
    degree: int = 1
    closed_form: bool = True
    method: str = "sympy"
    note: str = ""

    def __repr__(self) -> str:
        return (f"CurvaturePenalty(init={self.init.describe()!r}, degree={self.degree}, "
                f"closed_form={self.closed_form})")

    @property
    def x(self) -> sp.Symbol:
        return X

    @property
    def parameters(self) -> tuple[sp.Symbol, ...]:
        """Symbolic parameters of the initialization (sorted by name)."""
        return tuple(sorted(self.init.free_symbols, key=lambda s: s.name))

    def subs(self, **values: Any) -> "CurvaturePenalty":
        """The penalty with parameter values substituted (by name)."""
        rep = _values(set(self.parameters), values)
        init = self.init
        return CurvaturePenalty(self.expr.xreplace(rep), _SubstitutedInit(init, rep),
                                self.degree, self.closed_form, self.method, self.note)

    def equals(self, other: Any) -> bool:
        """Whether ``simplify(ζ - other) == 0``; ``other`` is an expression or text in ``x``
        and the parameter names (parsed safely).

        Examples
        --------
        >>> from ibsym.wide_relu.densities import normal, independent
        >>> curvature_penalty(independent(normal(0, 1), normal(0, 1))).equals("2/(pi*(1 + x^2)^2)")
        True
        """
        if not self.closed_form:
            return False
        names = {s.name: s for s in self.parameters}
        names["x"] = X
        if isinstance(other, str):
            from ibsym.core.parsing import parse_expression
            other = parse_expression(other, names=names)
        else:
            other = to_sympy(other, what="other")
            other = other.xreplace({s: names[s.name] for s in other.free_symbols if s.name in names})
        return _is_zero(self.expr - other)

    def has_closed_form(self) -> bool:
        """Whether ζ came out of SymPy's integration in closed form."""
        return self.closed_form

    def evaluate(self, x0: float, **values: Any) -> float:
        """ζ(x0) as a float (closed form, or mpmath quadrature of the definition)."""
        if not self.closed_form:
            return self.quadrature(x0, **values)
        rep = _values(set(self.parameters), values)
        rep[X] = as_number(x0, what="x", rational=True)
        v = _substitute(self.expr, rep)
        if v.free_symbols:
            raise InputError(f"ζ({x0}) still depends on {', '.join(sorted(map(str, v.free_symbols)))};"
                             " give numbers for the distribution parameters")
        return float(sp.N(v, 20))

    def quadrature(self, x0: float, **values: Any) -> float:
        """ζ(x0) by numerical quadrature of the defining integral (mpmath), ignoring ``expr``.

        An independent second route used to check closed forms.
        """
        rep = _values(set(self.parameters), values)
        init = self.init
        p = 2 * self.degree + 1
        x0 = as_number(x0, what="x", rational=True)
        atoms = init.weight_atoms()
        if atoms:
            total = sum(prob * sp.Abs(w) ** p * init.bias_density(w).xreplace({B: -w * x0})
                        for w, prob in atoms)
            return float(sp.N(total.xreplace(rep), 20))
        integrand = _integrand(init, self.degree).xreplace(rep).xreplace({X: x0})
        if integrand.free_symbols - {W}:
            raise InputError("give numbers for the distribution parameters: "
                             + ", ".join(sorted(map(str, integrand.free_symbols - {W}))))
        f = sp.lambdify(W, integrand, modules="mpmath")
        pts = {sp.Integer(0)}
        for bp in init.breakpoints():
            bp = sp.sympify(bp).xreplace(rep)
            if bp.is_number:
                pts.add(bp)
                if x0 != 0:
                    pts.add(-bp / x0)
        nodes = [-mpmath.inf] + sorted(mpmath.mpf(float(q)) for q in pts) + [mpmath.inf]
        with mpmath.workdps(20):
            return float(mpmath.quad(f, nodes))

    def total_mass(self) -> sp.Expr:
        """``∫ ζ(x) dx`` (= E[|W|^{2k}] by the change of variables b = -w c)."""
        return sp.simplify(sp.integrate(self.expr, (X, -sp.oo, sp.oo)))

    def operator(self) -> "HomogeneousOperator":
        """The operator L with L σ = δ whose image the penalty weighs."""
        return homogeneous_operator(self.degree)

    def variational_problem(self, *, smoothing: bool = False) -> "VariationalProblem":
        """The interpolation problem (or its smoothing-spline trajectory form)."""
        return VariationalProblem(self, smoothing=smoothing)

    # printing
    def _lhs(self) -> sp.Expr:
        name = "zeta" if self.degree == 1 else f"zeta_{self.degree}"
        return sp.Function(name)(X)

    def to_latex(self) -> str:
        return sp.latex(sp.Eq(self._lhs(), self.expr, evaluate=False))

    def __str__(self) -> str:
        lhs = "ζ(x)" if self.degree == 1 else f"ζ_{self.degree}(x)"
        tail = "" if self.closed_form else "   [no closed form: evaluated by quadrature]"
        return f"{lhs} = {sp.sstr(self.expr)}{tail}"

    def to_dict_body(self) -> dict[str, Any]:
        return {
            "initialization": self.init.describe(),
            "degree": self.degree,
            "closed_form": self.closed_form,
            "method": self.method,
            "expr": sp.sstr(self.expr),
            "latex": self.to_latex(),
            "parameters": [s.name for s in self.parameters],
            "operator": self.operator().to_dict_body(),
            "variational_problem": VariationalProblem(self).to_latex(),
            "note": self.note,
            "reference": REFERENCE,
        }


class _SubstitutedInit(Initialization):
    """An initialization with parameter values substituted (keeps the original)."""

    def __init__(self, base: Initialization, rep: dict):
        object.__setattr__(self, "base", base)
        object.__setattr__(self, "rep", dict(rep))
        for f in ("weight", "bias", "density", "bias_given_weight", "label"):
            object.__setattr__(self, f, getattr(base, f))

    def describe(self) -> str:
        vals = ", ".join(f"{k}={v}" for k, v in self.rep.items())
        return self.base.describe() + (f" with {vals}" if vals else "")

    def joint_density(self) -> sp.Expr:
        return self.base.joint_density().xreplace(self.rep)

    def bias_density(self, w: Any) -> sp.Expr:
        return self.base.bias_density(w).xreplace(self.rep)

    @property
    def free_symbols(self) -> set:
        return self.base.free_symbols - set(self.rep)

    def breakpoints(self) -> tuple:
        return tuple(sp.sympify(b).xreplace(self.rep) for b in self.base.breakpoints())


def curvature_penalty(init: Initialization | None = None, *, weight: Distribution | None = None,
                      bias: Distribution | None = None, degree: int = 1,
                      timeout: float | None = 60.0, symbolic: bool = True) -> CurvaturePenalty:
    r"""Derive the curvature penalty ζ_k(x) of an initialization law with SymPy.

    Parameters
    ----------
    init : Initialization, optional
        The law of (W, B) (:func:`ibsym.wide_relu.densities.independent`, ``joint``, ...).
    weight, bias : Distribution, optional
        Shortcut for ``independent(weight, bias)``.
    degree : int, default 1
        Activation ``[z]_+^k`` (ReLU: 1).
    timeout : float or None, default 60
        Seconds SymPy may integrate before the quadrature fallback is used.
    symbolic : bool, default True
        ``False`` skips SymPy's integration (quadrature only).

    Returns
    -------
    CurvaturePenalty
        ``closed_form`` says whether SymPy succeeded; otherwise ``expr`` is the
        unevaluated integral and values come from mpmath quadrature.

    Notes
    -----
    .. math:: \zeta_k(x) = \int |W|^{2k+1} p_{W,B}(W, -Wx)\, dW = p_C(x)\,\mathbb E[W^{2k}\mid C=x]

    The integral is split into ``W > 0`` and ``W < 0`` and computed separately for
    ``x > 0``, ``x < 0`` and ``x = 0``; equal branches are merged into one
    expression in ``|x|``.  For a discrete weight law the integral is a finite sum.

    .. note:: The penalty in the variational problem is ``1/ζ`` (large where
       few breakpoints fall); for degree k it weighs ``f^{(k+1)}/k!``.

    References
    ----------
    .. [1] H. Jin, G. Montúfar, JMLR 24(137), 2023 (curvature penalty of the
       initialization; ``../shared/formulas.md`` §6.1).

    Examples
    --------
    >>> from ibsym.wide_relu.densities import rademacher, uniform
    >>> print(curvature_penalty(weight=rademacher(), bias=uniform(-2, 2)))
    ζ(x) = Piecewise((1/4, (x > -2) & (x < 2)), (0, True))
    """
    if init is None:
        if weight is None or bias is None:
            raise InputError("give an Initialization or both weight= and bias=")
        init = independent(weight, bias)
    if not isinstance(degree, int) or degree < 1:
        raise InputError(f"degree must be a positive integer, got {degree!r}")
    note = ""
    expr = None
    if symbolic:
        expr, finished = _run_with_timeout(lambda: _derive(init, degree), timeout)
        if not finished:
            note = f"SymPy found no closed form within {timeout:g} s; "
        elif expr is None:
            note = "SymPy found no closed form; "
    else:
        note = "symbolic integration skipped; "
    if expr is not None:
        return CurvaturePenalty(expr, init, degree, True, "sympy", "derived by SymPy")
    if init.weight_atoms():  # pragma: no cover - finite sums always succeed
        raise InputError("could not form the finite sum for the discrete weight law")
    integral = sp.Integral(_integrand(init, degree), (W, -sp.oo, sp.oo))
    return CurvaturePenalty(integral, init, degree, False, "quadrature (mpmath)",
                            note + "values are computed by numerical quadrature (mpmath)")


#: Alias (the literature's symbol).
zeta = curvature_penalty


# ----------------------------------------------------------------------------- operator
@dataclass(frozen=True)
class HomogeneousOperator(Result):
    r"""``L = (1/k!) d^{k+1}/dx^{k+1}``: ``L [x]_+^k = δ`` (Green's function of the activation)."""

    schema = "zeta-operator"
    degree: int = 1

    def apply(self, phi: sp.Expr) -> sp.Expr:
        """``L φ`` for an expression in :data:`X`."""
        return sp.diff(phi, X, self.degree + 1) / sp.factorial(self.degree)

    def green(self) -> sp.Expr:
        """The activation ``[x]_+^k`` written as ``x^k θ(x)``."""
        return X ** self.degree * sp.Heaviside(X)

    def to_latex(self) -> str:
        phi = sp.Function("varphi")(X)
        lhs = sp.Derivative(phi, (X, self.degree + 1)) / sp.factorial(self.degree)
        return (sp.latex(sp.Eq(lhs, sp.DiracDelta(X), evaluate=False)) + r",\quad "
                + sp.latex(sp.Eq(phi, sp.Max(X, 0) ** self.degree, evaluate=False)))

    def __str__(self) -> str:
        return (f"L = (1/{self.degree}!) d^{self.degree + 1}/dx^{self.degree + 1},  "
                f"L φ = δ  for φ(x) = max(x, 0)^{self.degree}")

    def to_dict_body(self) -> dict[str, Any]:
        return {"degree": self.degree, "text": str(self), "latex": self.to_latex()}


def homogeneous_operator(degree: int = 1) -> HomogeneousOperator:
    """The operator L of a degree-k homogeneous activation (see :class:`HomogeneousOperator`).

    Examples
    --------
    >>> L = homogeneous_operator(2)
    >>> L.apply(X**3)       # L (x^3) = 3!/2! = 3
    3
    """
    if degree < 1:
        raise InputError("degree must be >= 1")
    return HomogeneousOperator(degree)


# ----------------------------------------------------------------------------- variational
@dataclass(frozen=True)
class VariationalProblem(Result):
    r"""The function-space problem solved by the trained wide network.

    Interpolation (``smoothing=False``):
    ``min_g ∫ (L g − L f(·,θ0))² / ζ  s.t.  g(x_j) = y_j``;
    smoothing-spline trajectory form (``smoothing=True``):
    ``min_g Σ_j (g(x_j) − y_j)² + λ ∫ (L g − L f(·,θ0))² / ζ`` with ``λ = 1/(η̄ t)``.
    Affine functions (degree-k polynomials) are unpenalized (skip connection).
    """

    schema = "zeta-variational"
    penalty: CurvaturePenalty = None
    smoothing: bool = False

    def _integral(self) -> sp.Expr:
        k = self.penalty.degree
        g, f = sp.Function("g"), sp.Function("f")
        theta0 = sp.Symbol("theta_0")
        diff = (sp.Derivative(g(X), (X, k + 1)) - sp.Derivative(f(X, theta0), (X, k + 1)))
        weight = self.penalty._lhs() * sp.factorial(k) ** 2
        return sp.Integral(diff ** 2 / weight, (X, -sp.oo, sp.oo))

    def to_latex(self) -> str:
        g = sp.Function("g")
        j, m = sp.symbols("j m", integer=True, positive=True)
        xj, yj = sp.Symbol("x_j"), sp.Symbol("y_j")
        integral = self._integral()
        if not self.smoothing:
            return (r"\min_{g}\ " + sp.latex(integral) + r"\quad\text{s.t.}\quad "
                    + sp.latex(sp.Eq(g(xj), yj)) + r",\ j = 1, \dots, m")
        objective = sp.Sum((g(xj) - yj) ** 2, (j, 1, m)) + _LAM * integral
        return (r"\min_{g}\ " + sp.latex(objective) + r",\qquad "
                + sp.latex(sp.Eq(_LAM, 1 / (_ETABAR * _T))))

    def __str__(self) -> str:
        k = self.penalty.degree
        d = "''" if k == 1 else f"^({k + 1})"
        w = "ζ(x)" if k == 1 else f"({k}!)² ζ_{k}(x)"
        body = f"∫ (g{d}(x) − f{d}(x, θ0))² / {w} dx"
        if self.smoothing:
            return f"min_g Σ_j (g(x_j) − y_j)² + λ {body},  λ = 1/(η̄ t),  {self.penalty}"
        return f"min_g {body}  s.t.  g(x_j) = y_j,  {self.penalty}"

    def to_dict_body(self) -> dict[str, Any]:
        return {"smoothing": self.smoothing, "latex": self.to_latex(), "text": str(self),
                "zeta": self.penalty.to_latex(), "closed_form": self.penalty.closed_form}
