"""The coefficient field ℚ(β, ρ, ε) of the exact ring (ibsym.bea.coefficients): reduced by
trial division, identical to SymPy's FracField, and the derivations that use it."""
import random

import pytest
import sympy as sp
from sympy.polys.domains import QQ

import ibsym as ib
from ibsym.bea.coefficients import ReducedFracField, coefficient_field, legacy_coefficients
from ibsym.bea.diffring import DiffRing

b, r, e = sp.symbols("beta rho eps")


def _random_fraction(rng):
    parts = [1 - b, 1 - r, 1 + b, b, e, 2 * b - 1, 1 - b * r, sp.Rational(3, 7), r + e]
    num = sum(rng.randint(-3, 3) * rng.choice(parts) ** rng.randint(0, 2) for _ in range(3))
    den = sp.Mul(*[rng.choice([1 - b, 1 - r, 1 + b, b, 2 * b - 1]) ** rng.randint(0, 2)
                   for _ in range(2)])
    return num / den


def test_field_arithmetic_is_sympys_expression_for_expression():
    K, L = coefficient_field((b, r, e)), QQ.frac_field(b, r, e)
    assert isinstance(K.field, ReducedFracField)
    rng = random.Random(7)
    for _ in range(150):
        x, y = _random_fraction(rng), _random_fraction(rng)
        xs, ys, xl, yl = K.from_sympy(x), K.from_sympy(y), L.from_sympy(x), L.from_sympy(y)
        pairs = [(xs + ys, xl + yl), (xs - ys, xl - yl), (xs * ys, xl * yl),
                 (xs * 3 / 7, xl * 3 / 7), (xs ** 3, xl ** 3)]
        if y != 0:
            pairs.append((xs / ys, xl / yl))
        if x != 0:
            pairs.append((xs ** -2, xl ** -2))
        for got, want in pairs:
            assert K.to_sympy(got) == L.to_sympy(want)          # the same expression
            # reduced: numerator and denominator coprime, so equality is representation
            assert got == K.from_sympy(L.to_sympy(want))
            assert hash(got) == hash(K.from_sympy(L.to_sympy(want)))


def test_cancellation_to_zero_and_to_polynomials():
    K = coefficient_field((b,))
    u = K.from_sympy(1 / (1 - b))
    assert u * K.from_sympy(1 - b) == K.one
    assert not (u * K.from_sympy(b) - u + K.one)              # β/(1−β) − 1/(1−β) + 1 = 0
    x = u ** 3 * K.from_sympy((1 - b) ** 2 * (1 + b))
    assert x == K.from_sympy((1 + b) / (1 - b))
    assert sp.cancel(K.to_sympy(x) - (1 + b) / (1 - b)) == 0


def test_rings_use_it_and_the_previous_field_stays_selectable():
    a = sp.Symbol("a", real=True)
    R = DiffRing.from_expressions([a ** 2], (a,), constants=(b,))
    assert isinstance(R.domain.field, ReducedFracField)
    with legacy_coefficients():
        R0 = DiffRing.from_expressions([a ** 2], (a,), constants=(b,))
    assert not isinstance(R0.domain.field, ReducedFracField)
    assert R.to_sympy(R.from_sympy(a / (1 - b)) * R.from_sympy(1 - b)) == a


def test_concrete_adam_order_2_symbolic_hyper_identical_to_the_previous_field():
    loss = ib.losses.bilinear()
    new = ib.modified_equation("adam", loss, order=2, budget_seconds=None)
    with legacy_coefficients():
        old = ib.modified_equation("adam", loss, order=2, budget_seconds=None)
    for j in range(3):
        assert list(new.terms[j]) == list(old.terms[j])        # expression for expression
    for (f, ms), (f0, ms0) in zip(new.slow_manifold, old.slow_manifold):
        assert f == f0 and all(list(m) == list(m0) for m, m0 in zip(ms, ms0))


@pytest.mark.slow
def test_concrete_adam_order_3_identical_to_the_previous_field_on_a_smaller_case():
    loss = ib.Loss.parse("(a^2 - 1)^2/4 + a/3", "a")
    new = ib.modified_equation("adam", loss, order=3, budget_seconds=None)
    with legacy_coefficients():      # ≈ 25 s
        old = ib.modified_equation("adam", loss, order=3, budget_seconds=None)
    for j in range(4):
        assert list(new.terms[j]) == list(old.terms[j])


def test_concrete_adam_order_3_symbolic_hyper_is_the_numeric_derivation_and_verifies():
    loss = ib.losses.bilinear()
    sym = ib.modified_equation("adam", loss, order=3, budget_seconds=None)
    vals = {"beta": sp.Rational(1, 2), "rho": sp.Rational(3, 5), "eps": sp.Rational(1, 5)}
    num = ib.modified_equation("adam", loss, order=3, hyper=vals, budget_seconds=None)
    sub = {s: vals[s.name] for s in set().union(*(x.free_symbols for x in sym.terms[3]))
           if s.name in vals}
    pt = {p: v for p, v in zip(loss.params, (sp.Rational(-2, 5), sp.Rational(13, 10)))}
    for j in range(4):
        for x, y in zip(sym.terms[j], num.terms[j]):
            assert sp.simplify((x.xreplace(sub) - y).xreplace(pt)) == 0
    # the order-3 field (with the derived initial value) follows Adam's iterates from a
    # mixed-sign start: global errors fall as h^(k+1) for k = 0..3
    rep = ib.verify(num, {"a": -0.4, "b": 1.3}, T=0.5)
    assert [round(s) for s in rep.slopes] == [1, 2, 3, 4], rep.slopes
    assert all(abs(s - k - 1) < 0.1 for k, s in enumerate(rep.slopes)), rep.slopes
