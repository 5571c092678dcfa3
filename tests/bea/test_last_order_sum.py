"""The last order of ``solve_modified_field`` accumulates all its Lie-series coefficients in
one Lie sum (``_LieSeries.combination``; issue 16 item 2): in SymPy's ring on the d = 100
log-cosh chain the separate h^3 coefficients c(1, 2), c(2, 1), c(3, 0) (10^5 dense terms
each) were built one by one and added, which held two dense copies at once (peak
1152 MB; one accumulation: 733 MB).  Same F_k as the coefficient-by-coefficient sum."""
from __future__ import annotations

from math import factorial

import pytest
import sympy as sp

import ibsym as ib
from ibsym.bea import polyring, procedure
from ibsym.bea.optimizers import get_optimizer
from ibsym.core.budget import Budget
from ibsym.core.errors import BudgetExceeded

needs_flint = pytest.mark.skipif(not polyring.flint_available(),
                                 reason="python-flint is not installed")
BACKENDS = ["sympy", pytest.param("flint", marks=needs_flint)]


def _reference_field(alg, D, order):
    """F_0..F_order with every c(m, n) built and added separately (the former route)."""
    F = []
    flow = procedure._LieSeries(alg, F, F, None)
    for k in range(order + 1):
        F.append(alg.zero())
        acc = D[k + 1]
        for m in range(2, k + 2):
            term = flow(m - 1, k + 1 - m, keep=k < order)
            if not alg.is_zero(term):
                acc = alg.add(acc, alg.scale(sp.Rational(-1, factorial(m)), term))
        F[k] = acc
    return F


def _setup(loss, order, backend=None):
    opt = get_optimizer("gd")
    old = polyring.set_backend(backend) if backend else None
    try:
        alg = procedure.make_algebra(loss, opt, order)
        return alg, procedure.trace_update(opt, alg, order + 1)
    finally:
        if backend:
            polyring.set_backend(old)


def _chain(d):
    ps = sp.symbols(" ".join(f"t{i}" for i in range(d)), real=True)
    expr = (sum(sp.log(sp.cosh(ps[i] - ps[i + 1])) for i in range(d - 1))
            + sum(p ** 2 for p in ps) / 2)
    return ib.Loss(expr, ps, name=f"logcosh{d}")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_fused_last_order_equals_the_separate_sum(backend, order):
    alg, D = _setup(_chain(4), order, backend)
    got = procedure.solve_modified_field(alg, D, order)
    ref = _reference_field(alg, D, order)
    assert len(got) == order + 1
    for a, b in zip(got, ref):
        assert tuple(a) == tuple(b)                       # identical ring elements
    assert any(got[order])


@pytest.mark.parametrize("order", [2, 4])
def test_fused_last_order_generic_algebra(order):
    alg, D = _setup(None, order)
    got = procedure.solve_modified_field(alg, D, order)
    ref = _reference_field(alg, D, order)
    assert [str(x) for x in got] == [str(x) for x in ref]


def test_last_order_coefficients_are_not_built_one_by_one(monkeypatch):
    """At the last order no Lie-series coefficient is computed on its own (keep=False);
    the earlier orders' coefficients are memoized as before."""
    calls = []
    orig = procedure._LieSeries.__call__

    def spy(self, m, n, keep=True):
        calls.append((m, n, keep))
        return orig(self, m, n, keep)

    monkeypatch.setattr(procedure._LieSeries, "__call__", spy)
    alg, D = _setup(_chain(3), 3, "sympy")
    F = procedure.solve_modified_field(alg, D, 3)
    assert all(keep for _, _, keep in calls)
    assert {(m, n) for m, n, _ in calls if m} == {(1, 0), (1, 1), (2, 0)}
    assert tuple(F[3]) == tuple(_reference_field(alg, D, 3)[3])


def test_budget_names_the_last_order_sum():
    alg, D = _setup(_chain(5), 3, "sympy")
    F = procedure.solve_modified_field(alg, D, 3, procedure._Budget(Budget(None), None, alg))
    sizes = [procedure._size(x) for x in F]
    assert sizes[2] < 1000 < sizes[3]
    checks = procedure._Budget(Budget(None), 1000, alg)
    with pytest.raises(BudgetExceeded, match=r"exceeds the budget of 1000 while computing "
                                             r"the h\^4 Lie-series coefficients"):
        procedure.solve_modified_field(alg, D, 3, checks)
