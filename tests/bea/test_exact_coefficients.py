"""Tree coefficients in the exact field ℚ(β, h, …) (issue 16, item 1).

The new route must give exactly the coefficients of the previous one -- SymPy
expressions with ``factor(cancel(·))`` after every operation, which is what every
combination falls back to when the field is disabled.
"""
from __future__ import annotations

import pickle

import pytest
import sympy as sp

import ibsym as ib
from ibsym.bea import trees
from ibsym.bea.trees import LEAF, Combination


def _coefficients(eq):
    return [dict(F.terms.items()) for F in eq._raw]


def _both_routes(monkeypatch, opt, order):
    new = ib.modified_equation(opt, order=order)
    assert all(F._K is not None for F in new._raw)          # the field route was taken
    with monkeypatch.context() as m:
        m.setattr(trees, "_field_for", lambda coeffs: None)
        old = ib.modified_equation(opt, order=order)
    assert all(F._K is None for F in old._raw)              # ... and here the SymPy route
    return new, old


@pytest.mark.parametrize("opt,order", [("heavy-ball", 4), ("heavy-ball-ema", 4), ("gd", 4),
                                       ("nesterov", 3),
                                       pytest.param("nesterov", 4, marks=pytest.mark.slow)])
def test_identical_to_the_sympy_expression_route(monkeypatch, opt, order):
    new, old = _both_routes(monkeypatch, opt, order)
    a, b = _coefficients(new), _coefficients(old)
    assert len(a) == order + 1
    assert a == b                                   # structurally identical SymPy expressions
    assert [str(F) for F in new._raw] == [str(F) for F in old._raw]
    assert str(new) == str(old)


def test_heavy_ball_order_2_values():
    F2 = ib.modified_equation("heavy-ball", order=2)._raw[2]
    b = sp.Symbol("β") if sp.Symbol("β") in F2.coefficient(((), ())).free_symbols else None
    (beta,) = F2.coefficient(((), ())).free_symbols
    assert sp.simplify(F2.coefficient(((), ())) + (beta**2 + 10*beta + 1) / (12*(1 - beta)**5)) == 0
    assert sp.simplify(F2.coefficient((((),),)) + (beta**2 + 4*beta + 1) / (3*(1 - beta)**5)) == 0
    assert b is None or b == beta


def test_coefficients_stay_in_the_field_and_convert_lazily():
    beta = sp.Symbol("beta")
    g = Combination({LEAF: 1})
    F = g.scale(1 / (1 - beta)).lie(g).scale(beta) + g.scale(beta**2)
    assert F._K is not None and set(F._K.symbols) == {beta}
    t = F.terms
    assert len(t) == 2 and ((),) in t and LEAF in t
    assert t._cache == {}                         # keys and length converted nothing
    assert t[((),)] == -beta / (beta - 1)         # factor of the reduced fraction
    assert t[LEAF] == beta**2
    # cancellation to zero drops the tree
    G = F - g.scale(beta**2)
    assert list(G.terms) == [((),)]
    # a second symbol joins the field
    h = sp.Symbol("h")
    H = G.scale(h**2) + g.scale(h)
    assert set(H._K.symbols) == {beta, h}
    assert H.terms[((),)] == -beta * h**2 / (beta - 1)


def test_non_rational_coefficients_fall_back_to_sympy():
    g = Combination({LEAF: 1})
    r = g.scale(sp.sqrt(2))
    assert r._K is None
    assert dict(r.scale(sp.sqrt(2)).terms.items()) == {LEAF: 2}     # √2·√2 = 2, not a generator²
    assert not (r.scale(sp.sqrt(2)) - g.scale(2))
    x = Combination({LEAF: sp.Float(0.5)})
    assert x._K is None and x.terms[LEAF] == sp.Float(0.5)


def test_pickle_round_trip():
    beta = sp.Symbol("beta")
    F = Combination({LEAF: 1}).scale((1 + beta) / (1 - beta)**2)
    G = pickle.loads(pickle.dumps(F))
    assert G == F and dict(G.terms.items()) == dict(F.terms.items())


def test_rational_field_of_no_symbols_uses_the_ground_domain_in_reduced_form(monkeypatch):
    # GD's coefficients live in ℚ (a field of no generators): sums and Lie products add in
    # the ground domain; the elements must equal K.ground_new's (reduced, equal hash), and
    # GD order 6 must still be identical to the SymPy route
    K = trees._field(())
    for q in (sp.Rational(3, 4), sp.Rational(-5, 6), sp.Integer(7), sp.Rational(1, 10**30 + 7)):
        e = trees._to_field(K, q)
        g = K.ground_new(K.domain.from_sympy(q))
        assert (e.numer, e.denom) == (g.numer, g.denom) and e == g and hash(e) == hash(g)
    s = trees._fadd(trees._to_field(K, sp.Rational(1, 6)), trees._to_field(K, sp.Rational(1, 3)))
    assert (s.numer, s.denom) == (K.ring(1), K.ring(2))
    calls = []
    real_cancel = type(K.ring.one).cancel
    monkeypatch.setattr(type(K.ring.one), "cancel",
                        lambda self, g: calls.append(1) or real_cancel(self, g))
    g = Combination({LEAF: sp.Rational(1, 2)})
    out = g.lie(g.scale(sp.Rational(2, 3))) + g.lie(g).scale(sp.Rational(-1, 6))
    assert calls == []             # no polynomial cancel on the ℚ path (only when read)
    assert out.terms == {((),): sp.Rational(1, 8)}     # 1/2·1/3 − (1/4)/6
    monkeypatch.undo()
    new, old = _both_routes(monkeypatch, "gd", 6)
    assert _coefficients(new) == _coefficients(old)
