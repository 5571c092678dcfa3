"""Backward error analysis: the one procedure behind every modified equation.

Given an optimizer's update map θ_{n+1} = Ψ_h(θ_n), find the vector field

    F_h = F_0 + h F_1 + … + h^k F_k

whose exact time-h flow φ_h agrees with Ψ_h up to O(h^{k+2}) per step, so the
iterates stay O(h^{k+1}) close to the solution of dθ/dt = F_h over finite
times (t = n h).

How it works
------------
1. The update rule is *traced*: called with truncated h-series
   (:mod:`ibsym.series`), it yields the displacement
   Ψ_h(θ) − θ = Σ_{p≥1} h^p D_p with D_p vector fields of the chosen algebra
   (:mod:`ibsym.algebras`: concrete loss → exact polynomial ring; generic loss →
   elementary differentials of ∇L).
2. The time-h flow of F_h is the Lie series
   φ_h(θ) − θ = Σ_{m≥1} (h^m/m!) (D_F)^{m−1} F,  with D_F G = G'F.
   Writing g_{m,n} for the h^n coefficient of (D_F)^{m−1}F gives
   g_{1,n} = F_n and g_{m,n} = Σ_{a+b=n} D_{F_a} g_{m−1,b}.
3. Matching the coefficient of h^{k+1} gives F_k explicitly, in increasing
   order, because g_{m,k+1−m} (m ≥ 2) only involves F_0..F_{k−1}:

       F_k = D_{k+1} − Σ_{m=2}^{k+1} g_{m,k+1−m} / m!.

   Each g_{m,n} is computed once (memoized) and kept expanded: the cost is
   O(k³) Lie derivatives, never an expansion of the whole flow.

The procedure never asks which optimizer it is working on.

References
----------
.. [1] E. Hairer, C. Lubich, G. Wanner, *Geometric Numerical Integration*,
   2nd ed., Springer 2006, Sec. IX.1 (modified equations).
.. [2] D. Barrett, B. Dherin, "Implicit Gradient Regularization", ICLR 2021.

Examples
--------
>>> from ibsym import losses
>>> eq = modified_equation("gd", order=2)
>>> print(eq.terms[1])
-1/2 ∇²L∇L
>>> eq = modified_equation("gd", losses.bilinear(), order=1)
>>> eq.evaluate({"a": 0.5, "b": 1.5})["terms"][1]
[0.453125, 0.109375]
"""
from __future__ import annotations

import time
from math import factorial
from typing import Any

import sympy as sp

from .algebras import Algebra, ConcreteAlgebra, GenericAlgebra
from .equations import ModifiedEquation
from .errors import BudgetExceeded, InputError
from .losses import Loss
from .optimizers import Optimizer, get_optimizer
from .series import HSeries, SeriesVector, grad

__all__ = ["modified_equation", "trace_update", "solve_modified_field", "make_algebra"]


def make_algebra(loss: Loss | None, optimizer: Optimizer) -> Algebra:
    """The algebra for a loss: generic (∇L notation) or concrete (exact ring)."""
    if loss is None or loss.is_generic:
        return GenericAlgebra()
    return ConcreteAlgebra(loss, constants=optimizer.symbolic_hyper)


def trace_update(optimizer: Optimizer, alg: Algebra, order: int) -> list[Any]:
    """Trace the update rule: coefficients D_0..D_order of Ψ_h(θ) − θ."""
    if optimizer.state_names:
        raise InputError(
            f"optimizer '{optimizer.name}' carries state ({', '.join(optimizer.state_names)}); "
            "the slow-manifold derivation for optimizers with memory is not available in this "
            "version -- stateless update rules only")
    theta = SeriesVector.point(alg, order)
    h = HSeries.h(order)
    out = optimizer.update(theta, {}, grad, h, optimizer.hyper_values)
    theta_next = out[0] if isinstance(out, tuple) else out
    if not isinstance(theta_next, SeriesVector):
        raise InputError(f"the update rule of '{optimizer.name}' must return (theta_next, state)")
    D = theta_next.displacement()
    if not alg.is_zero(D[0]):
        raise InputError(f"the update of '{optimizer.name}' moves θ by an O(1) amount at h = 0; "
                         "a consistent optimizer has θ_(n+1) = θ_n + O(h)")
    return D


class _Budget:
    def __init__(self, seconds: float | None, max_terms: int | None, alg: Algebra):
        self.t0 = time.process_time()
        self.seconds, self.max_terms, self.alg = seconds, max_terms, alg

    def check(self, where: str, value: Any) -> None:
        if self.seconds is not None and time.process_time() - self.t0 > self.seconds:
            raise BudgetExceeded(
                f"derivation exceeded its time budget of {self.seconds:g} s while computing "
                f"{where}; lower --order, simplify the loss, or raise the budget")
        if self.max_terms is not None:
            n = _size(value)
            if n > self.max_terms:
                raise BudgetExceeded(
                    f"expression size {n} terms exceeds the budget of {self.max_terms} while "
                    f"computing {where}; lower --order or simplify the loss")


def _size(v: Any) -> int:
    if isinstance(v, tuple):
        return sum(len(x) for x in v)
    return len(getattr(v, "terms", ()))


def solve_modified_field(alg: Algebra, D: list[Any], order: int,
                         budget: _Budget | None = None) -> list[Any]:
    """F_0..F_order from the displacement coefficients D (see module docstring)."""
    F: list[Any] = []
    memo: dict[tuple[int, int], Any] = {}

    def g(m: int, n: int) -> Any:
        if m == 1:
            return F[n]
        key = (m, n)
        if key not in memo:
            acc = alg.zero()
            for a in range(n + 1):
                prev = g(m - 1, n - a)
                if alg.is_zero(prev) or alg.is_zero(F[a]):
                    continue
                acc = alg.add(acc, alg.lie(F[a], prev))
            if budget is not None:
                budget.check(f"the h^{m + n - 1} flow coefficient", acc)
            memo[key] = acc
        return memo[key]

    for k in range(order + 1):
        acc = D[k + 1]
        for m in range(2, k + 2):
            term = g(m, k + 1 - m)
            if not alg.is_zero(term):
                acc = alg.add(acc, alg.scale(sp.Rational(-1, factorial(m)), term))
        F.append(acc)
    return F


def modified_equation(optimizer: str | Optimizer, loss: Loss | None = None, order: int = 1, *,
                      hyper: dict[str, Any] | None = None, budget_seconds: float | None = 120.0,
                      max_terms: int | None = 2_000_000) -> ModifiedEquation:
    """Derive the modified equation of an optimizer to order ``order`` in h.

    Parameters
    ----------
    optimizer : str or Optimizer
        A registered name (``"gd"``) or a description.
    loss : Loss, optional
        A concrete loss (explicit F_j), or ``None``/generic for the
        dimension-free form in ∇L, ∇²L, … notation.
    order : int, default 1
        Highest power k of h kept: F_h = F_0 + … + h^k F_k.
    hyper : dict, optional
        Hyper-parameter values; the others stay symbolic.
    budget_seconds : float, optional
        CPU-time budget; :class:`~ibsym.errors.BudgetExceeded` beyond it.
    max_terms : int, optional
        Size budget (total polynomial terms of one intermediate field).

    Returns
    -------
    ModifiedEquation

    Examples
    --------
    >>> eq = modified_equation("gd", order=1)
    >>> print(eq)
    dθ/dt = -∇L + h·(-1/2 ∇²L∇L) + O(h²)
    """
    if not isinstance(order, int) or order < 0:
        raise InputError(f"order must be a non-negative integer, got {order!r}")
    opt = get_optimizer(optimizer, **(hyper or {}))
    t0 = time.process_time()
    alg = make_algebra(loss, opt)
    budget = _Budget(budget_seconds, max_terms, alg)
    D = trace_update(opt, alg, order + 1)
    F = solve_modified_field(alg, D, order, budget)
    seconds = time.process_time() - t0
    return ModifiedEquation.from_algebra(opt, loss if loss is not None else Loss.generic(),
                                         order, alg, F, seconds)
