"""Optimizers as descriptions of their update rule.

An :class:`Optimizer` is a frozen record: a name, hyper-parameter names, named
state fields, and one Python function

``update(theta, state, grad, h, hp) -> (theta_next, state_next)``

written with ordinary arithmetic.  The *same* function is

* traced symbolically by :mod:`ibsym.bea.procedure` (called with truncated h-series),
  which derives the modified equation, and
* run numerically by :mod:`ibsym.numeric.kernels` (called with NumPy arrays),
  which produces the discrete iterates the derivation is verified against.

There is no per-optimizer code anywhere else: a new optimizer is a new
description.

Registered names (``get_optimizer``):

``gd``
    gradient descent, θ_{n+1} = θ_n − h ∇L(θ_n).

Examples
--------
>>> opt = get_optimizer("gd")
>>> opt
Optimizer('gd')
>>> print(opt.rule)
θ_{n+1} = θ_n − h∇L(θ_n)
>>> get_optimizer("adamax")
Traceback (most recent call last):
...
ibsym.core.errors.InputError: unknown optimizer 'adamax'; choose one of: adam, adamw, gd, ...
"""
from __future__ import annotations

import itertools
import keyword
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import sympy as sp

from ibsym.bea.groups import (Group, bind_groups, check_groups, check_period_spec, part,
                              period_value)
from ibsym.core.errors import InputError
from ibsym.core.parsing import parse_number
from ibsym.core.values import as_number, to_sympy

__all__ = ["Optimizer", "GD", "HEAVY_BALL", "HEAVY_BALL_EMA", "NESTEROV", "NESTEROV_TORCH",
           "ADAM", "RMSPROP", "SAM", "NSAM", "ADAMW", "LION", "RMSPROP_NU0", "LOOKAHEAD", "get_optimizer", "register", "OPTIMIZERS", "VARIANTS",
           "hyper_symbol", "sqrt", "zeros_like", "ones_like", "vsum", "dot", "norm",
           "Group", "part"]

_GREEK = {"beta": r"\beta", "rho": r"\rho", "eps": r"\varepsilon", "alpha": r"\alpha",
          "gamma": r"\gamma", "lam": r"\lambda", "mu": r"\mu", "tau": r"\tau"}


#: Characters allowed in optimizer names (rule files and ``Optimizer(name)``): they reach
#: LaTeX, JSON, file names and generated code, so nothing there can be markup or syntax.
NAME_ALPHABET = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                          "-_.+ [],")
_IDENT_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def _check_name(name: Any) -> None:
    """Refuse optimizer names outside :data:`NAME_ALPHABET` (``[],`` for the variants)."""
    if not isinstance(name, str) or not name.strip():
        raise InputError("an optimizer needs a non-empty name")
    if len(name) > 80:
        raise InputError(f"optimizer name is {len(name)} characters long; the limit is 80")
    bad = next((c for c in name if c not in NAME_ALPHABET), None)
    if bad is not None:
        raise InputError(f"optimizer name contains {bad!r} (character {name.index(bad) + 1}); "
                         "use letters, digits, space and - _ . + [ ] ,")


_DOMAIN_WORDS = {"positive": "(0,inf)", "nonnegative": "[0,inf)", "real": "(-inf,inf)"}
_INTERVAL_RE = re.compile(r"^\s*([\[(])\s*([^,]+?)\s*,\s*([^,]+?)\s*([\])])\s*$")


def _domain(spec: str) -> tuple[bool, sp.Expr, sp.Expr, bool]:
    """``"[0,1)"`` → (closed_low, 0, 1, closed_high); words as in :data:`_DOMAIN_WORDS`."""
    text = _DOMAIN_WORDS.get(str(spec).strip(), str(spec))
    m = _INTERVAL_RE.match(text)
    if not m:
        raise InputError(f"hyper-parameter domain {spec!r} is not one of positive, nonnegative, "
                         "real or an interval such as '[0,1)'")

    def bound(t: str) -> sp.Expr:
        if t.lstrip("+-") in ("inf", "oo"):
            return -sp.oo if t.startswith("-") else sp.oo
        return parse_number(t)

    return m.group(1) == "[", bound(m.group(2)), bound(m.group(3)), m.group(4) == "]"


def _check_domain(name: str, key: str, value: Any, spec: str) -> None:
    """Refuse a numeric hyper-parameter value outside its declared domain."""
    if not isinstance(value, sp.Basic) or not value.is_number:
        return                            # symbolic values stay symbolic
    closed_lo, lo, hi, closed_hi = _domain(spec)
    low_ok = bool(value >= lo) if closed_lo else bool(value > lo)
    high_ok = bool(value <= hi) if closed_hi else bool(value < hi)
    if not (low_ok and high_ok):
        word = spec.strip()
        where = word if word in _DOMAIN_WORDS else "in " + word.replace("inf", "∞")
        raise InputError(f"hyper-parameter {key}={value} of '{name}' must be {where}; "
                         f"e.g. --hyper {key}={_example(closed_lo, lo, hi)}")


def _example(closed_lo: bool, lo: sp.Expr, hi: sp.Expr) -> str:
    """A value inside a domain, for the message."""
    if lo == -sp.oo:
        return "0" if hi > 0 else str(hi - 1)
    if hi == sp.oo:
        return str(lo + 1) if lo != 0 else "0.1"
    return str((lo + hi) / 2) if (lo, hi) != (0, 1) else "0.5"


def hyper_symbol(name: str) -> sp.Symbol:
    """The SymPy symbol of a hyper-parameter (positive; ``eps`` prints as ε)."""
    return sp.Symbol(name, positive=True)


@dataclass(frozen=True)
class Optimizer:
    """A discrete optimizer, described by its update rule.

    Parameters
    ----------
    name : str
        Registry name (``"gd"``).
    update : callable
        ``update(theta, state, grad, h, hp) -> (theta_next, state_next)``; ``state``
        and ``state_next`` are dicts keyed by ``state_names``; ``hp`` maps
        hyper-parameter names to values (symbols or numbers).
    hyper : tuple of str
        Hyper-parameter names (``("beta",)``).
    state_names : tuple of str
        Names of the auxiliary state fields (momenta, second moments ...).
    init : callable, optional
        ``init(theta0, grad, hp) -> state0`` for the true initial state
        (default: every state field zero).
    rule : str
        The update in plain text (documentation and printing).
    values : mapping
        Hyper-parameter values fixed so far (others stay symbolic).
    steps_per_update : int or str
        Time advanced by one call of ``update`` in units of h: 1 for one step, k for a
        period of k inner steps (Lookahead, cyclic step sizes); ``"batches"`` for an epoch
        of m mini-batch steps (m = ``grad.batches``); or the name of an integer
        hyper-parameter that fixes the period (``"k"`` of ``lookahead``).
    groups : mapping or tuple of pairs
        Parameter groups, ``{"x": ("a",), "y": ("b",)}``: each names loss parameters (every
        parameter in exactly one group).  :meth:`bind` resolves them against a loss, and the
        bound update finds each group as ``hp[name]`` (a :class:`Group`, used with
        :func:`part`); the generic (∇L-notation) algebra has no groups.
    regime : str
        Where the expansion in h is valid (shown by ``verify`` warnings and docs).
    hyper_domains : mapping or tuple of pairs
        Where each hyper-parameter may lie: ``"positive"``, ``"nonnegative"``,
        ``"real"`` or an interval such as ``"[0,1)"``, ``"(0,inf)"``
        (``{"beta": "[0,1)", "eps": "positive"}``).  :meth:`with_hyper` refuses a
        numeric value outside it -- the one place this is checked.
    implicit : bool
        The rule has the new iterate on its right-hand side: ``update`` is then
        ``update(theta, state, grad, h, hp, theta_next) -> (G, state_next)`` with
        θ_{n+1} = G(θ_n, w_n, θ_{n+1}, h) (proximal point: ``theta - h * grad(theta_next)``).
        The stored ``update`` becomes an :class:`~ibsym.bea.implicit.ImplicitStep` with the
        usual five arguments, which solves the equation: order by order in h when traced,
        by Newton's method (to 1e-14 relative) when run numerically.
    """

    name: str
    update: Callable[..., Any] = field(compare=False, repr=False)
    hyper: tuple[str, ...] = ()
    state_names: tuple[str, ...] = ()
    init: Callable[..., Any] | None = field(default=None, compare=False, repr=False)
    rule: str = ""
    rule_latex: str = ""
    values: tuple[tuple[str, Any], ...] = ()
    steps_per_update: int | str = 1
    regime: str = ""
    hyper_domains: tuple[tuple[str, str], ...] = ()
    groups: tuple[tuple[str, tuple[str, ...]], ...] = ()
    bound_params: tuple[str, ...] = ()
    implicit: bool = False

    def __post_init__(self) -> None:
        _check_name(self.name)
        from ibsym.bea.implicit import wrap_implicit    # (imports the tracer: not at load time)
        wrap_implicit(self)
        check_period_spec(self)
        check_groups(self)
        domains = self.hyper_domains
        pairs = tuple(sorted((domains.items() if isinstance(domains, dict) else domains)))
        for k, spec in pairs:
            if k not in self.hyper:
                raise InputError(f"optimizer '{self.name}': a domain is declared for '{k}', "
                                 f"which is not one of its hyper-parameters ({', '.join(self.hyper)})")
            _domain(spec)
        object.__setattr__(self, "hyper_domains", pairs)
        for what, names in (("hyper-parameter", self.hyper), ("state field", self.state_names)):
            for n in names:
                if not isinstance(n, str) or not _IDENT_RE.match(n) or keyword.iskeyword(n):
                    raise InputError(f"optimizer '{self.name}': invalid {what} name {n!r}; names "
                                     "are letters, digits and '_' starting with a letter")

    def __repr__(self) -> str:
        vals = ", ".join(f"{k}={v}" for k, v in self.values)
        return f"Optimizer('{self.name}'{', ' + vals if vals else ''})"

    @property
    def hyper_values(self) -> dict[str, sp.Expr]:
        """Hyper-parameters: given values, else their symbols."""
        given = dict(self.values)
        return {k: to_sympy(given[k], what=f"hyper-parameter {k}") if k in given
                else hyper_symbol(k) for k in self.hyper}

    @property
    def symbolic_hyper(self) -> tuple[sp.Symbol, ...]:
        """The hyper-parameters still symbolic."""
        given = dict(self.values)
        return tuple(hyper_symbol(k) for k in self.hyper if k not in given)

    def with_hyper(self, **values: Any) -> "Optimizer":
        """A copy with some hyper-parameters fixed.

        Examples
        --------
        >>> get_optimizer("gd").with_hyper(beta=0.5)
        Traceback (most recent call last):
        ...
        ibsym.core.errors.InputError: optimizer 'gd' has no hyper-parameter 'beta'; it has: (none)
        """
        for k in values:
            if k not in self.hyper:
                raise InputError(f"optimizer '{self.name}' has no hyper-parameter '{k}'; "
                                 f"it has: {', '.join(self.hyper) or '(none)'}")
        merged = dict(self.values)
        merged.update({k: as_number(v, what=f"hyper-parameter {k}", rational=True)
                       for k, v in values.items()})
        domains = dict(self.hyper_domains)
        for k in values:
            if k in domains:
                _check_domain(self.name, k, merged[k], domains[k])
            if k == self.steps_per_update:
                period_value(self.name, k, merged[k])
        return replace(self, values=tuple(sorted(merged.items())))

    def tau(self, batches: int = 0) -> int:
        """Steps (time in units of h) that one call of ``update`` advances."""
        if self.steps_per_update == "batches":
            if batches < 1:
                raise InputError(f"optimizer '{self.name}' runs over mini-batches; give the loss "
                                 "as a list of batch losses (Loss.from_batches, CLI --batch)")
            return batches
        if isinstance(self.steps_per_update, str):        # a hyper-parameter fixes the period
            k = self.steps_per_update
            given = dict(self.values)
            if k not in given:
                raise InputError(f"optimizer '{self.name}' needs a fixed integer period {k} "
                                 f"(the number of inner steps per update), e.g. --hyper {k}=5 "
                                 f"(hyper={{'{k}': 5}}); a symbolic period has no expansion")
            return period_value(self.name, k, given[k])
        return int(self.steps_per_update)

    def bind(self, loss: Any) -> "Optimizer":
        """The optimizer with its parameter groups resolved against a loss's parameters.

        Without groups it is returned unchanged.  Every parameter must lie in exactly one
        group; the bound update receives each group as ``hp[name]``.

        Examples
        --------
        >>> from ibsym.core.losses import Loss
        >>> opt = Optimizer("alt", lambda th, st, g, h, hp: (th - h * part(g(th), hp["x"]), {}),
        ...                 groups={"x": ("a",), "y": ("b",)})
        >>> opt.bind(Loss.parse("a*b", params="a b")).bound_params
        ('a', 'b')
        >>> opt.bind(Loss.parse("a*b*c", params="a b c"))
        Traceback (most recent call last):
        ...
        ibsym.core.errors.InputError: optimizer 'alt': parameter c is in no group (groups: x = a; y = b); every parameter must be in exactly one
        """
        return bind_groups(self, loss)

    def numeric_hyper(self) -> dict[str, float]:
        """Hyper-parameter values as floats (all must be given)."""
        missing = [k for k in self.hyper if k not in dict(self.values)]
        if missing:
            raise InputError(f"give a value for hyper-parameter(s) {', '.join(missing)} "
                             f"(e.g. --hyper {missing[0]}=0.5) to run '{self.name}' numerically")
        return {k: float(v) for k, v in self.values}

    def initial_state(self, theta: Any, grad: Any, hp: dict[str, Any]) -> dict[str, Any]:
        """The true initial state: ``init(theta, grad, hp)``, every field it does not give
        (all of them without ``init``) zero -- ``0·θ``, a NumPy array or a traced vector.

        The one place where the state w_0 is built: the numeric iterates
        (:func:`ibsym.numeric.kernels.iterate`), the numeric transient
        (:mod:`ibsym.numeric.jets`) and the symbolic one (:mod:`ibsym.bea.transient`).

        Examples
        --------
        >>> opt = Optimizer("mine", lambda th, st, g, h, hp: (th, st), state_names=("v",))
        >>> opt.initial_state(1.5, None, {})
        {'v': 0.0}
        """
        given = self.init(theta, grad, hp) if self.init is not None else {}
        if given is None:
            given = {}
        if not isinstance(given, dict):
            raise InputError(f"init of optimizer '{self.name}' must return a dict of state "
                             f"fields, got {type(given).__name__}")
        unknown = [k for k in given if k not in self.state_names]
        if unknown:
            raise InputError(f"init of optimizer '{self.name}' sets {', '.join(map(str, unknown))}"
                             f", not among its state fields "
                             f"({', '.join(self.state_names) or 'none'})")
        return {f: given[f] if f in given else zeros_like(theta) for f in self.state_names}


# ---------------------------------------------------------------------------------------
# Helpers that work on NumPy arrays (numeric runs) and on traced series (derivations).
def sqrt(x: Any) -> Any:
    """Coordinate-wise square root of a NumPy array or a traced series."""
    return x.sqrt() if hasattr(x, "sqrt") else x ** 0.5


def vsum(x: Any) -> Any:
    """Σ_i x_i of a NumPy vector or a traced series (exact on a concrete loss).

    NumPy arrays are summed over their first axis (the coordinates; trailing axes are
    independent runs)."""
    if hasattr(x, "vsum"):
        return x.vsum("vsum")
    return x.sum(axis=0) if hasattr(x, "sum") else x


def dot(x: Any, y: Any) -> Any:
    """⟨x, y⟩ = Σ_i x_i y_i of NumPy vectors or traced series."""
    if hasattr(x, "vsum") or hasattr(y, "vsum"):
        from ibsym.bea.series import dot as _dot
        return _dot(x, y, _name="dot")
    return vsum(x * y)


def norm(x: Any) -> Any:
    """The Euclidean norm ‖x‖ = √⟨x, x⟩ of a NumPy vector or a traced series (its h⁰
    part must not vanish: ‖·‖ is not smooth at 0)."""
    if hasattr(x, "vsum"):
        return x.norm("norm")
    return vsum(x * x) ** 0.5


def zeros_like(x: Any) -> Any:
    """A zero vector shaped like ``x`` (``0·θ``)."""
    return x * 0


def ones_like(x: Any) -> Any:
    """A vector of ones shaped like ``x``."""
    return x * 0 + 1


# ---------------------------------------------------------------------------------------
def _gd_update(theta, state, grad, h, hp):
    return theta - h * grad(theta), {}


GD = Optimizer(
    "gd", _gd_update,
    rule="θ_{n+1} = θ_n − h∇L(θ_n)",
    rule_latex=r"\theta_{n+1} = \theta_n - h\nabla L(\theta_n)",
)


def _hb_update(theta, state, grad, h, hp):
    # v_n = (θ_n − θ_{n−1})/h, so θ_{n+1} = θ_n − h∇L(θ_n) + β(θ_n − θ_{n−1})
    v = hp["beta"] * state["v"] - grad(theta)
    return theta + h * v, {"v": v}


HEAVY_BALL = Optimizer(
    "heavy-ball", _hb_update, hyper=("beta",), state_names=("v",),
    hyper_domains={"beta": "[0,1)"},
    init=lambda theta, grad, hp: {"v": zeros_like(theta)},
    rule="θ_{n+1} = θ_n − h∇L(θ_n) + β(θ_n − θ_{n−1}),  θ_{−1} = θ_0  "
         "(Polyak; PyTorch SGD momentum=β, dampening=0)",
    rule_latex=r"\theta_{n+1} = \theta_n - h\nabla L(\theta_n) + \beta(\theta_n - \theta_{n-1}),"
               r"\ \theta_{-1} = \theta_0",
    regime="h·λ_max(∇²L) ≪ (1 − √β)² and h ≪ 1 − β",
)


def _hb_ema_update(theta, state, grad, h, hp):
    b = hp["beta"]
    m = b * state["m"] + (1 - b) * grad(theta)
    return theta - h * m, {"m": m}


HEAVY_BALL_EMA = Optimizer(
    "heavy-ball-ema", _hb_ema_update, hyper=("beta",), state_names=("m",),
    hyper_domains={"beta": "[0,1)"},
    init=lambda theta, grad, hp: {"m": zeros_like(theta)},
    rule="m_{n+1} = βm_n + (1−β)∇L(θ_n),  θ_{n+1} = θ_n − h m_{n+1},  m_0 = 0  "
         "(exponential moving average, 'dampened' momentum)",
    rule_latex=r"m_{n+1} = \beta m_n + (1-\beta)\nabla L(\theta_n),\ "
               r"\theta_{n+1} = \theta_n - h m_{n+1},\ m_0 = 0",
    regime="h ≪ 1 − β and h·λ_max(∇²L) ≪ 1",
)


def _nesterov_update(theta, state, grad, h, hp):
    b = hp["beta"]
    look = theta + (h * b) * state["v"]          # θ_n + β(θ_n − θ_{n−1})
    v = b * state["v"] - grad(look)
    return theta + h * v, {"v": v}


NESTEROV = Optimizer(
    "nesterov", _nesterov_update, hyper=("beta",), state_names=("v",),
    hyper_domains={"beta": "[0,1)"},
    init=lambda theta, grad, hp: {"v": zeros_like(theta)},
    rule="θ_{n+1} = θ_n + β(θ_n − θ_{n−1}) − h∇L(θ_n + β(θ_n − θ_{n−1})),  θ_{−1} = θ_0  "
         "(classical form, gradient at the look-ahead point)",
    rule_latex=r"\theta_{n+1} = \theta_n + \beta(\theta_n - \theta_{n-1}) - h\nabla L(\theta_n "
               r"+ \beta(\theta_n - \theta_{n-1})),\ \theta_{-1} = \theta_0",
    regime="h·λ_max(∇²L) ≪ 1 and h ≪ 1 − β",
)


def _nesterov_torch_update(theta, state, grad, h, hp):
    b = hp["beta"]
    g = grad(theta)
    buf = b * state["buf"] + g
    return theta - h * (g + b * buf), {"buf": buf}


NESTEROV_TORCH = Optimizer(
    "nesterov-pytorch", _nesterov_torch_update, hyper=("beta",), state_names=("buf",),
    hyper_domains={"beta": "[0,1)"},
    init=lambda theta, grad, hp: {"buf": zeros_like(theta)},
    rule="b_{n+1} = βb_n + ∇L(θ_n),  θ_{n+1} = θ_n − h(∇L(θ_n) + βb_{n+1}),  b_0 = 0  "
         "(PyTorch SGD nesterov=True, dampening=0)",
    rule_latex=r"b_{n+1} = \beta b_n + \nabla L(\theta_n),\ \theta_{n+1} = \theta_n - "
               r"h(\nabla L(\theta_n) + \beta b_{n+1}),\ b_0 = 0",
    regime="h·λ_max(∇²L) ≪ 1 and h ≪ 1 − β",
)


def _adaptive(name: str, *, first_moment: bool, eps_outside: bool,
              bias_correction: bool) -> Optimizer:
    """Adam (first_moment=True) or RMSProp, in the variant chosen."""
    fields = (("m",) if first_moment else ()) + ("nu",)
    if bias_correction:
        fields += (("pb",) if first_moment else ()) + ("pr",)

    def update(theta, state, grad, h, hp):
        g = grad(theta)
        rho, eps = hp["rho"], hp["eps"]
        nu = rho * state["nu"] + (1 - rho) * (g * g)
        new = {"nu": nu}
        if first_moment:
            beta = hp["beta"]
            m = beta * state["m"] + (1 - beta) * g
            new["m"] = m
        else:
            m = g
        if bias_correction:
            # p = ρ^n (and β^n) carried as state: 1 − ρ^{n+1} = 1 − ρ p_n
            new["pr"] = rho * state["pr"]
            nu = nu / (1 - new["pr"])
            if first_moment:
                new["pb"] = hp["beta"] * state["pb"]
                m = m / (1 - new["pb"])
        denom = (sqrt(nu) + eps) if eps_outside else sqrt(nu + eps)
        return theta - h * (m / denom), new

    def init(theta, grad, hp):
        st = {f: zeros_like(theta) for f in fields}
        for f in ("pb", "pr"):
            if f in st:
                st[f] = ones_like(theta)
        return st

    num, num_tex = ("m̂", r"\hat m") if first_moment else ("g_n", "g_n")
    eps_txt = f"{num}/(√ν̂ + ε)" if eps_outside else f"{num}/√(ν̂ + ε)"
    eps_tex = (num_tex + r"/(\sqrt{\hat\nu} + \varepsilon)" if eps_outside
               else num_tex + r"/\sqrt{\hat\nu + \varepsilon}")
    if first_moment:
        moments = "m_{n+1} = βm_n + (1−β)g_n,  ν_{n+1} = ρν_n + (1−ρ)g_n²"
        moments_tex = (r"m_{n+1} = \beta m_n + (1-\beta) g_n,\ \nu_{n+1} = \rho\nu_n + "
                       r"(1-\rho) g_n^2")
    else:
        moments = "ν_{n+1} = ρν_n + (1−ρ)g_n²"
        moments_tex = r"\nu_{n+1} = \rho\nu_n + (1-\rho) g_n^2"
    if bias_correction:
        bc = ("m̂ = m_{n+1}/(1−β^{n+1}), " if first_moment else "") + "ν̂ = ν_{n+1}/(1−ρ^{n+1})"
        bc_tex = ((r"\hat m = m_{n+1}/(1-\beta^{n+1}),\ " if first_moment else "")
                  + r"\hat\nu = \nu_{n+1}/(1-\rho^{n+1})")
    else:
        bc = ("m̂ = m_{n+1}, " if first_moment else "") + "ν̂ = ν_{n+1} (no bias correction)"
        bc_tex = ((r"\hat m = m_{n+1},\ " if first_moment else "") + r"\hat\nu = \nu_{n+1}")
    variant = []
    if eps_outside:
        variant.append("eps-outside")
    if not bias_correction:
        variant.append("no-bias-correction")
    full = name + (f"[{','.join(variant)}]" if variant else "")
    return Optimizer(
        full, update, hyper=(("beta",) if first_moment else ()) + ("rho", "eps"),
        state_names=fields, init=init,
        hyper_domains={"rho": "[0,1)", "eps": "positive",
                       **({"beta": "[0,1)"} if first_moment else {})},
        rule=(f"{moments} (g_n = ∇L(θ_n), coordinate-wise),  {bc},  θ_{{n+1}} = θ_n − h·{eps_txt}; "
              f"{'m_0 = ' if first_moment else ''}ν_0 = 0"),
        rule_latex=rf"{moments_tex},\ {bc_tex},\ \theta_{{n+1}} = \theta_n - h\,{eps_tex}",
        regime=("h ≪ 1 − ρ" + (", h ≪ 1 − β" if first_moment else "")
                + " and h·‖∇²L‖/√ε ≪ 1 (Cattaneo et al. 2024)"),
    )


def _sgd_update(theta, state, grad, h, hp):
    # the mean of one epoch over all m! visiting orders (random reshuffling)
    m = grad.batches
    orders = list(itertools.permutations(range(m)))
    total = None
    for order in orders:
        th = theta
        for k in order:
            th = th - h * grad(th, k)
        total = th if total is None else total + th
    return total / len(orders), {}


SGD = Optimizer(
    "sgd", _sgd_update, steps_per_update="batches",
    rule="one epoch: θ ← θ − h∇L̂_{π(k)}(θ) for k = 0..m−1, π a uniformly random order of the "
         "m mini-batches; the derivation follows the mean iterate over orders after each epoch "
         "(Smith, Dherin, Barrett & De 2021), L = (1/m) Σ_k L̂_k",
    rule_latex=r"\theta \leftarrow \theta - h\nabla \hat L_{\pi(k)}(\theta),\ k = 0,\dots,m-1,"
               r"\ \pi \text{ uniform};\ \text{mean over } \pi \text{ per epoch}",
    regime="m·h·λ_max(∇²L̂_k) ≪ 1 (one epoch is a short time m h)",
)


def _minibatch_adam_update(theta, state, grad, h, hp):
    # one epoch of bias-corrected Adam visiting the mini-batches in the fixed order 0..m−1
    step = ADAM.update
    st = state
    for k in range(grad.batches):
        theta, st = step(theta, st, lambda x, _b=None, _k=k: grad(x, _k), h, hp)
    return theta, st


ADAM = _adaptive("adam", first_moment=True, eps_outside=False, bias_correction=True)
RMSPROP = _adaptive("rmsprop", first_moment=False, eps_outside=False, bias_correction=True)

MINIBATCH_ADAM = Optimizer(
    "minibatch-adam", _minibatch_adam_update, hyper=ADAM.hyper, state_names=ADAM.state_names,
    init=ADAM.init, steps_per_update="batches", hyper_domains=ADAM.hyper_domains,
    rule="epochs of bias-corrected Adam (ε inside the root) over the mini-batches in the "
         "cyclic order k = n mod m, g_n = ∇L̂_k(θ_n) (Cattaneo et al. 2024, Thm 3.1); the "
         "derivation follows the iterate at epoch boundaries",
    rule_latex=r"\text{Adam with } g_n = \nabla\hat L_{n \bmod m}(\theta_n)",
    regime=ADAM.regime + "; one epoch m h ≪ 1",
)

def _sam_update(theta, state, grad, h, hp):
    return theta - h * grad(theta + hp["rho"] * grad(theta)), {}


SAM = Optimizer(
    "sam", _sam_update, hyper=("rho",),
    rule="θ_{n+1} = θ_n − h∇L(θ_n + ρ∇L(θ_n))  (unnormalized SAM, fixed radius ρ; an O(1) "
         "look-ahead: concrete losses only -- for ρ = c·h write a rule file)",
    rule_latex=r"\theta_{n+1} = \theta_n - h\nabla L(\theta_n + \rho\nabla L(\theta_n))",
    regime="h·λ_max(∇²L) ≪ 1; ρ fixed (the result is exact in ρ)",
)


def _nsam_update(theta, state, grad, h, hp):
    g = grad(theta)
    return theta - h * grad(theta + hp["rho"] * g / norm(g)), {}


NSAM = Optimizer(
    "nsam", _nsam_update, hyper=("rho",),
    rule="θ_{n+1} = θ_n − h∇L(θ_n + ρ∇L(θ_n)/‖∇L(θ_n)‖)  (SAM of Foret et al. 2021, fixed "
         "radius ρ, Euclidean norm; concrete losses only, away from critical points)",
    rule_latex=r"\theta_{n+1} = \theta_n - h\nabla L\bigl(\theta_n + \rho\nabla L(\theta_n)"
               r"/\|\nabla L(\theta_n)\|\bigr)",
    regime="h·λ_max(∇²L) ≪ 1 and ∇L ≠ 0; ρ fixed (the result is exact in ρ)",
)


def _adamw_update(theta, state, grad, h, hp):
    new_theta, new = ADAM.update(theta, state, grad, h, hp)
    return new_theta - (h * hp["lam"]) * theta, new


def _lion_update(theta, state, grad, h, hp):
    g = grad(theta)
    c = hp["beta"] * state["m"] + (1 - hp["beta"]) * g
    m = hp["rho"] * state["m"] + (1 - hp["rho"]) * g
    return theta - h * (c / sqrt(c * c + hp["eps"])), {"m": m}


LION = Optimizer(
    "lion", _lion_update, hyper=("beta", "rho", "eps"), state_names=("m",),
    hyper_domains={"beta": "[0,1)", "rho": "[0,1)", "eps": "positive"},
    init=lambda theta, grad, hp: {"m": zeros_like(theta)},
    rule="c_n = βm_n + (1−β)g_n,  θ_{n+1} = θ_n − h·c_n/√(c_n² + ε),  m_{n+1} = ρm_n + (1−ρ)g_n  "
         "(Lion of Chen et al. 2023 with β_1 = β, β_2 = ρ, sign smoothed as in signum; "
         "g_n = ∇L(θ_n), coordinate-wise; m_0 = 0)",
    rule_latex=r"c_n = \beta m_n + (1-\beta) g_n,\ \theta_{n+1} = \theta_n - h\,c_n/"
               r"\sqrt{c_n^2 + \varepsilon},\ m_{n+1} = \rho m_n + (1-\rho) g_n",
    regime="h ≪ 1 − β, h ≪ 1 − ρ and h·‖∇²L‖/√ε ≪ 1",
)


def _rmsprop_nu0_update(theta, state, grad, h, hp):
    g = grad(theta)
    nu = hp["rho"] * state["nu"] + (1 - hp["rho"]) * (g * g)
    return theta - h * (g / sqrt(nu + hp["eps"])), {"nu": nu}


RMSPROP_NU0 = Optimizer(
    "rmsprop-nu0", _rmsprop_nu0_update, hyper=("rho", "eps"), state_names=("nu",),
    hyper_domains={"rho": "[0,1)", "eps": "positive"},
    init=lambda theta, grad, hp: {"nu": grad(theta) * grad(theta)},
    rule="ν_{n+1} = ρν_n + (1−ρ)g_n² (g_n = ∇L(θ_n), coordinate-wise),  θ_{n+1} = θ_n − "
         "h·g_n/√(ν_{n+1} + ε);  ν_0 = g_0² (started at the first squared gradient, no bias "
         "correction)",
    rule_latex=r"\nu_{n+1} = \rho\nu_n + (1-\rho) g_n^2,\ \theta_{n+1} = \theta_n - "
               r"h\,g_n/\sqrt{\nu_{n+1} + \varepsilon},\ \nu_0 = g_0^2",
    regime="h ≪ 1 − ρ and h·‖∇²L‖/√ε ≪ 1",
)

# ---------------------------------------------------------------------------------------
# Periodic schedules: one update is a fixed number of inner steps (time k·h per update).
def _lookahead_update(inner: Optimizer, k: int | None):
    raw = inner.update

    def update(theta, state, grad, h, hp):
        steps = k if k is not None else period_value("lookahead", "k", hp["k"])
        th, st = theta, state
        for _ in range(steps):
            out = raw(th, st, grad, h, hp)
            th, st = out if isinstance(out, tuple) else (out, {})
        return theta + hp["alpha"] * (th - theta), st       # θ_slow + α(θ_fast − θ_slow)
    return update


LOOKAHEAD = Optimizer(
    "lookahead", _lookahead_update(GD, None), hyper=("k", "alpha"), steps_per_update="k",
    values=(("k", sp.Integer(5)),), hyper_domains={"alpha": "(0,1]"},
    rule="Lookahead on GD (Zhang et al. 2019): k fast steps θ ← θ − h∇L(θ) from θ_slow, then "
         "θ_slow ← θ_slow + α(θ_fast − θ_slow); k a fixed integer (default 5), time k·h per "
         "update",
    rule_latex=r"\theta \leftarrow \theta + \alpha\bigl(\Phi_h^{k}(\theta) - \theta\bigr),\ "
               r"\Phi_h(\theta) = \theta - h\nabla L(\theta)",
    regime="k·h·λ_max(∇²L) ≪ 1; α ∈ (0, 1]",
)

#: Variants selected by options (CLI flags --eps-outside, --no-bias-correction).
VARIANTS: dict[str, Callable[..., Optimizer]] = {
    "adam": lambda eps_outside=False, bias_correction=True: _adaptive(
        "adam", first_moment=True, eps_outside=eps_outside, bias_correction=bias_correction),
    "rmsprop": lambda eps_outside=False, bias_correction=True: _adaptive(
        "rmsprop", first_moment=False, eps_outside=eps_outside, bias_correction=bias_correction),
}

OPTIMIZERS: dict[str, Optimizer] = {}


def register(opt: Optimizer) -> Optimizer:
    """Add an optimizer description to the registry (name must be new)."""
    if opt.name in OPTIMIZERS:
        raise InputError(f"an optimizer named '{opt.name}' is already registered")
    OPTIMIZERS[opt.name] = opt
    return opt


ADAMW = Optimizer(
    "adamw", _adamw_update, hyper=ADAM.hyper + ("lam",), state_names=ADAM.state_names,
    init=ADAM.init, hyper_domains={**dict(ADAM.hyper_domains), "lam": "nonnegative"},
    rule="Adam (bias-corrected, ε inside the root) with decoupled weight decay: "
         "θ_{n+1} = θ_n − h(m̂/√(ν̂ + ε) + λθ_n)  (Loshchilov & Hutter 2019; PyTorch AdamW "
         "with weight_decay = λ)",
    rule_latex=r"\theta_{n+1} = \theta_n - h\bigl(\hat m/\sqrt{\hat\nu + \varepsilon} + "
               r"\lambda\theta_n\bigr)",
    regime=ADAM.regime,
)

for _opt in (GD, HEAVY_BALL, HEAVY_BALL_EMA, NESTEROV, NESTEROV_TORCH, RMSPROP, ADAM, SGD,
             MINIBATCH_ADAM, SAM, NSAM, ADAMW, LION, RMSPROP_NU0, LOOKAHEAD):
    register(_opt)


# -- implicit rules: the new iterate on the right-hand side (ibsym.bea.implicit) ----------
def _proximal_point_update(theta, state, grad, h, hp, theta_next):
    return theta - h * grad(theta_next), {}


PROXIMAL_POINT = Optimizer(
    "proximal-point", _proximal_point_update, implicit=True,
    rule="θ_{n+1} = θ_n − h∇L(θ_{n+1})  (implicit GD: θ_{n+1} = argmin_x L(x) + ‖x − θ_n‖²/(2h), "
         "the proximal point method; each step solved by Newton to 1e-14)",
    rule_latex=r"\theta_{n+1} = \theta_n - h\nabla L(\theta_{n+1})",
    regime="h·λ_max(∇²L) ≪ 1 for the expansion (the step itself is stable for any h on a "
           "convex loss)",
)

register(PROXIMAL_POINT)


def get_optimizer(name: str | Optimizer, *, eps_outside: bool | None = None,
                  bias_correction: bool | None = None, **values: Any) -> Optimizer:
    """Look up an optimizer by name (or pass one through), fixing hyper-parameters.

    ``eps_outside`` and ``bias_correction`` select the variant of ``adam`` and
    ``rmsprop`` (defaults: ε inside the root, bias correction on -- the convention of
    Cattaneo, Klusowski & Shigida 2024).

    Examples
    --------
    >>> get_optimizer("adam", eps_outside=True, beta=0.9).name
    'adam[eps-outside]'
    """
    if isinstance(name, Optimizer):
        opt = name
        if eps_outside is not None or bias_correction is not None:
            raise InputError("variant options apply to registered names (adam, rmsprop)")
    else:
        key = str(name).strip().lower()
        if key not in OPTIMIZERS:
            raise InputError(f"unknown optimizer '{name}'; choose one of: "
                             f"{', '.join(sorted(OPTIMIZERS))}")
        opt = OPTIMIZERS[key]
        if eps_outside is not None or bias_correction is not None:
            if key not in VARIANTS:
                raise InputError(f"--eps-outside / --no-bias-correction apply to "
                                 f"{' and '.join(VARIANTS)}, not to '{key}'")
            opt = VARIANTS[key](eps_outside=bool(eps_outside),
                                bias_correction=True if bias_correction is None
                                else bool(bias_correction))
    return opt.with_hyper(**values) if values else opt
