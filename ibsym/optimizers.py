"""Optimizers as descriptions of their update rule.

An :class:`Optimizer` is a frozen record: a name, hyper-parameter names, named
state fields, and one Python function

``update(theta, state, grad, h, hp) -> (theta_next, state_next)``

written with ordinary arithmetic.  The *same* function is

* traced symbolically by :mod:`ibsym.bea` (called with truncated h-series),
  which derives the modified equation, and
* run numerically by :mod:`ibsym.numerics` (called with NumPy arrays),
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
>>> get_optimizer("adamw")
Traceback (most recent call last):
...
ibsym.errors.InputError: unknown optimizer 'adamw'; choose one of: gd
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import sympy as sp

from .errors import InputError

__all__ = ["Optimizer", "GD", "get_optimizer", "register", "OPTIMIZERS", "hyper_symbol"]

_GREEK = {"beta": r"\beta", "rho": r"\rho", "eps": r"\varepsilon", "alpha": r"\alpha",
          "gamma": r"\gamma", "lam": r"\lambda", "mu": r"\mu", "tau": r"\tau"}


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
        ``init(theta0, grad, hp) -> state0`` for the true initial state.
    rule : str
        The update in plain text (documentation and printing).
    values : mapping
        Hyper-parameter values fixed so far (others stay symbolic).
    """

    name: str
    update: Callable[..., Any] = field(compare=False, repr=False)
    hyper: tuple[str, ...] = ()
    state_names: tuple[str, ...] = ()
    init: Callable[..., Any] | None = field(default=None, compare=False, repr=False)
    rule: str = ""
    rule_latex: str = ""
    values: tuple[tuple[str, Any], ...] = ()

    def __repr__(self) -> str:
        vals = ", ".join(f"{k}={v}" for k, v in self.values)
        return f"Optimizer('{self.name}'{', ' + vals if vals else ''})"

    @property
    def hyper_values(self) -> dict[str, sp.Expr]:
        """Hyper-parameters: given values, else their symbols."""
        given = dict(self.values)
        return {k: sp.sympify(given[k]) if k in given else hyper_symbol(k) for k in self.hyper}

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
        ibsym.errors.InputError: optimizer 'gd' has no hyper-parameter 'beta'; it has: (none)
        """
        for k in values:
            if k not in self.hyper:
                raise InputError(f"optimizer '{self.name}' has no hyper-parameter '{k}'; "
                                 f"it has: {', '.join(self.hyper) or '(none)'}")
        merged = dict(self.values)
        merged.update({k: sp.nsimplify(v) if isinstance(v, float) else sp.sympify(v)
                       for k, v in values.items()})
        return replace(self, values=tuple(sorted(merged.items())))

    def numeric_hyper(self) -> dict[str, float]:
        """Hyper-parameter values as floats (all must be given)."""
        missing = [k for k in self.hyper if k not in dict(self.values)]
        if missing:
            raise InputError(f"give a value for hyper-parameter(s) {', '.join(missing)} "
                             f"(e.g. --hyper {missing[0]}=0.5) to run '{self.name}' numerically")
        return {k: float(v) for k, v in self.values}


# ---------------------------------------------------------------------------------------
def _gd_update(theta, state, grad, h, hp):
    return theta - h * grad(theta), {}


GD = Optimizer(
    "gd", _gd_update,
    rule="θ_{n+1} = θ_n − h∇L(θ_n)",
    rule_latex=r"\theta_{n+1} = \theta_n - h\nabla L(\theta_n)",
)

OPTIMIZERS: dict[str, Optimizer] = {}


def register(opt: Optimizer) -> Optimizer:
    """Add an optimizer description to the registry (name must be new)."""
    if opt.name in OPTIMIZERS:
        raise InputError(f"an optimizer named '{opt.name}' is already registered")
    OPTIMIZERS[opt.name] = opt
    return opt


register(GD)


def get_optimizer(name: str | Optimizer, **values: Any) -> Optimizer:
    """Look up an optimizer by name (or pass one through), fixing hyper-parameters."""
    if isinstance(name, Optimizer):
        opt = name
    else:
        key = str(name).strip().lower()
        if key not in OPTIMIZERS:
            raise InputError(f"unknown optimizer '{name}'; choose one of: "
                             f"{', '.join(sorted(OPTIMIZERS))}")
        opt = OPTIMIZERS[key]
    return opt.with_hyper(**values) if values else opt
