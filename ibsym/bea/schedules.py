"""Periodic schedules: one update is a fixed number k of inner steps.

The modified equation is that of the k-step map per unit time (one update advances time
k·h; :attr:`~ibsym.bea.optimizers.Optimizer.steps_per_update`), as for mini-batch epochs:

* :func:`periodic` -- step sizes h·c_i over a period (cyclic, warm restarts);
* :func:`lookahead` -- Lookahead on any inner optimizer (the built-in ``lookahead`` is GD's).

Examples
--------
>>> from ibsym.bea.procedure import modified_equation
>>> print(modified_equation(lookahead("gd", 2), order=1))
dθ/dt = -(α) ∇L + h·(-(α*(2*α - 1)/2) ∇²L∇L) + O(h²)
"""
from __future__ import annotations

from typing import Any

import sympy as sp

from ibsym.bea.groups import period_value
from ibsym.bea.optimizers import Optimizer, _lookahead_update, get_optimizer
from ibsym.core.errors import InputError
from ibsym.core.export import escape_text
from ibsym.core.values import as_number

__all__ = ["periodic", "lookahead"]


def _inner_period(inner: Optimizer, what: str) -> int:
    if not isinstance(inner, Optimizer):
        raise InputError(f"{what} takes an Optimizer as its inner optimizer, got "
                         f"{type(inner).__name__}")
    if inner.steps_per_update == "batches":
        raise InputError(f"{what}: the inner optimizer '{inner.name}' runs over mini-batch "
                         "epochs; use a full-batch inner optimizer")
    if isinstance(inner.steps_per_update, str):
        return inner.tau()
    return int(inner.steps_per_update)


def _scaled_step(h: Any, c: Any) -> Any:
    """h·c: a float for numeric runs, exact (c a SymPy number) for traced ones."""
    return h * float(c) if isinstance(h, (int, float)) else h * c


def periodic(inner: Optimizer | str = "gd", schedule: Any = (1,), *,
             name: str | None = None) -> Optimizer:
    """One update = len(schedule) steps of ``inner`` with step sizes h·c_i (a cyclic or
    warm-restart schedule); its modified equation is that of the period map per unit time.

    Parameters
    ----------
    inner : Optimizer or str
        The optimizer of each inner step (GD by default); its state carries over.
    schedule : sequence of numbers
        The factors c_1..c_k (exact rationals; ``(1/2, 3/2)``: cyclic, mean 1;
        ``[2*(k - i)/(k + 1) for i in range(k)]``: a linear decay restarted every k steps).
    name : str, optional

    Examples
    --------
    >>> from fractions import Fraction as Q
    >>> opt = periodic("gd", (Q(1, 2), Q(3, 2)))
    >>> opt.name, opt.tau()
    ('gd[cyclic,2]', 2)
    """
    inner = get_optimizer(inner)
    what = "periodic(...)"
    inner_tau = _inner_period(inner, what)
    try:
        cs = tuple(as_number(c, what="a step-size factor", rational=True) for c in schedule)
    except TypeError:
        raise InputError(f"{what}: the schedule must be a sequence of numbers") from None
    if not cs:
        raise InputError(f"{what}: the schedule is empty; give the factors c_i of h")
    for c in cs:
        if not (isinstance(c, sp.Basic) and c.is_number and c.is_real) or c <= 0:
            raise InputError(f"{what}: step-size factor {c} must be a positive number")
    raw = inner.update

    def update(theta, state, grad, h, hp):
        th, st = theta, state
        for c in cs:
            out = raw(th, st, grad, _scaled_step(h, c), hp)
            th, st = out if isinstance(out, tuple) else (out, {})
        return th, st

    label = ",".join(str(c) for c in cs)
    return Optimizer(
        name or f"{inner.name}[cyclic,{len(cs)}]", update, hyper=inner.hyper,
        state_names=inner.state_names, init=inner.init, values=inner.values,
        steps_per_update=len(cs) * inner_tau, hyper_domains=inner.hyper_domains,
        rule=f"one period = {len(cs)} steps of {inner.name} with step sizes h·c_i, "
             f"c = ({label}); time advances {len(cs) * inner_tau}h per period",
        rule_latex=r"\text{" + f"{len(cs)} steps of {inner.name} with step sizes "
                   + r"}h c_i,\ c = (" + label + ")",
        regime=inner.regime)


def lookahead(inner: Optimizer | str = "gd", k: int = 5, *, alpha: Any = None,
              name: str | None = None) -> Optimizer:
    """Lookahead (Zhang, Lucas, Hinton & Ba 2019): k fast steps of ``inner`` from the slow
    weights, then θ_slow ← θ_slow + α(θ_fast − θ_slow); time k·h per update.

    Parameters
    ----------
    inner : Optimizer or str
        The fast optimizer (GD by default; its state carries over between periods).
    k : int
        The fixed number of fast steps.
    alpha : number, optional
        The slow step α ∈ (0, 1]; symbolic when not given.
    name : str, optional

    Examples
    --------
    >>> opt = lookahead("gd", 2, alpha=0.5)
    >>> opt.name, opt.tau(), opt.hyper
    ('lookahead[gd,2]', 2, ('alpha',))
    """
    inner = get_optimizer(inner)
    if isinstance(k, bool) or not isinstance(k, int):
        k = period_value("lookahead", "k", as_number(k, what="k", rational=True))
    k = period_value("lookahead", "k", k)
    if "alpha" in inner.hyper:
        raise InputError(f"lookahead: the inner optimizer '{inner.name}' already has a "
                         "hyper-parameter alpha")
    inner_tau = _inner_period(inner, "lookahead(...)")
    opt = Optimizer(
        name or f"lookahead[{inner.name},{k}]", _lookahead_update(inner, k),
        hyper=("alpha",) + inner.hyper, state_names=inner.state_names, init=inner.init,
        values=inner.values, steps_per_update=k * inner_tau,
        hyper_domains={"alpha": "(0,1]", **dict(inner.hyper_domains)},
        rule=f"Lookahead: {k} fast steps of {inner.name} from θ_slow, then "
             "θ_slow ← θ_slow + α(θ_fast − θ_slow)  (Zhang et al. 2019); time "
             f"{k * inner_tau}h per update",
        rule_latex=r"\theta \leftarrow \theta + \alpha\bigl(\Phi^{" + str(k) + r"}(\theta) - "
                   r"\theta\bigr),\ \Phi = \text{" + escape_text(inner.name) + "}",
        regime=(inner.regime + "; " if inner.regime else "") + f"{k}·h·λ_max(∇²L) ≪ 1")
    return opt.with_hyper(alpha=alpha) if alpha is not None else opt
