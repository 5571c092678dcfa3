"""The exact gradient test: cheap (Jacobian symmetry in the ring, block-diagonal tree
potentials, jet witnesses), in agreement with the slow exact answers it replaced, and
bounded by the budget with an explicit "undecided within budget" answer."""
from collections import Counter
from fractions import Fraction

import pytest
import sympy as sp

import ibsym as ib
from ibsym.bea import potentials as P
from ibsym.bea.trees import Combination, free_trees, instantiate_tree, reroot_all, rooted_trees
from ibsym.core.budget import Budget
from ibsym.core.errors import BudgetExceeded

BILINEAR_UV = ib.Loss.parse("(u*v-1)**2/2", "u v")


def _linsolve_potential(F, n):
    """The former route: the full linear system over all free trees (independent oracle)."""
    frees, rooted = free_trees(n), rooted_trees(n)
    a = sp.symbols(f"a0:{len(frees)}")
    counts = [Counter(reroot_all(T)) for T in frees]
    eqs = [sum((a[i] * counts[i][tau] for i in range(len(frees))), sp.Integer(0))
           + F.coefficient(tau) for tau in rooted]
    sol = sp.linsolve(eqs, a)
    if not sol:
        return None
    (vals,) = tuple(sol)
    return Combination({T: sp.factor(v) for T, v in zip(frees, vals)}, scalar=True)


@pytest.mark.parametrize("name", ["gd", "heavy-ball", "nesterov", "heavy-ball-ema"])
def test_block_tree_potential_equals_the_full_linear_system(name):
    eq = ib.modified_equation(name, order=4)
    for j, F in enumerate(eq.terms):
        fast, slow = P.tree_potential(F, j + 1), _linsolve_potential(F, j + 1)
        assert (fast is None) == (slow is None), (name, j)
        if fast is not None:
            assert fast == slow


@pytest.mark.parametrize("name, expected", [
    ("gd", [True, True, False, False]),
    ("heavy-ball", [True, True, False, False]),
    ("nesterov", [True, True, False, False]),
])
def test_generic_answers_agree_with_the_former_exact_ones(name, expected):
    checks = ib.modified_equation(name, order=3).gradient_analysis()
    assert [c.is_gradient for c in checks] == expected
    assert all("witness loss" in c.method and "≠ 0" in c.witness for c in checks[2:])


def test_jet_witness_equals_the_symbolic_jacobian():
    # the value the README quotes (GD, order 2), recomputed by expanding E(τ) with SymPy
    F = ib.modified_equation("gd", order=2).terms[2]
    w = P._generic_witness(F)
    assert "= 15191/209952 ≠ 0 at (a, b) = (1/2, 1/3)" in w
    expr, (a, b) = P.WITNESS_LOSS
    grad = [sp.diff(expr, p) for p in (a, b)]
    field = [sp.Integer(0), sp.Integer(0)]
    for t, c in F.terms.items():
        v = instantiate_tree(t, grad, (a, b))
        field = [f + c * x for f, x in zip(field, v)]
    asym = sp.diff(field[0], b) - sp.diff(field[1], a)
    assert asym.subs({a: sp.Rational(1, 2), b: sp.Rational(1, 3)}) == sp.Rational(15191, 209952)


def test_jets_of_a_tree_match_symbolic_differentiation():
    expr, (a, b) = P.WITNESS_LOSS
    pt = (sp.Rational(-2, 3), sp.Rational(3, 4))
    jets = P._PointJets(P._polynomial_derivatives(expr, (a, b), pt), 2, 4)
    grad = [sp.diff(expr, p) for p in (a, b)]
    sub = {a: pt[0], b: pt[1]}
    for t in [(), ((),), ((), ()), (((),),), ((), ((),))]:
        val, jac = jets.field(t)
        E = instantiate_tree(t, grad, (a, b))
        assert [sp.Rational(x.numerator, x.denominator) if isinstance(x, Fraction) else x
                for x in val] == [e.subs(sub) for e in E]
        for i in range(2):
            for k, q in enumerate((a, b)):
                assert jac[i][k] == sp.diff(E[i], q).subs(sub)


@pytest.mark.parametrize("name, loss, hyper, expected", [
    ("gd", ib.losses.bilinear(), {}, [True, True, False, False]),
    ("heavy-ball", ib.losses.bilinear(), {"beta": 0.5}, [True, True, False]),
    ("heavy-ball", ib.losses.bilinear(), {}, [True, True, False]),
    ("adam", ib.losses.bilinear(), {"beta": 0.5, "rho": 0.6, "eps": 0.2}, [False, False]),
    ("gd", ib.losses.log_cosh_regression(), {}, [True, True, False]),
    ("gd", ib.Loss.parse("x^4/4 - x^2/2 + sin(x)", "x"), {}, [True, True, True, True]),
])
def test_concrete_answers_agree_with_the_former_exact_ones(name, loss, hyper, expected):
    order = len(expected) - 1
    eq = ib.modified_equation(name, loss, order=order, hyper=hyper)
    assert [c.is_gradient for c in eq.gradient_analysis()] == expected


def test_adam_is_decided_numerically_and_says_where():
    eq = ib.modified_equation("adam", ib.losses.bilinear(), order=1,
                              hyper={"beta": 0.5, "rho": 0.6, "eps": 0.2})
    c = eq.gradient_analysis()[0]
    assert c.is_gradient is False and c.method.startswith("numeric: Jacobian asymmetric")
    assert " at a=" in c.witness


def test_polynomial_witness_is_exact_and_at_a_nonzero_point():
    eq = ib.modified_equation("gd", BILINEAR_UV, order=2)
    c = eq.gradient_analysis()[2]
    assert c.method == "exact: Jacobian asymmetric (polynomial)"
    assert "u**5*v/3 - u**4/3 - u*v**5/3 + v**4/3 ≢ 0" in c.witness
    assert "(= -325/23328 at {u: 1/2, v: 1/3})" in c.witness


def test_potentials_only_when_asked_and_then_the_generic_instance():
    loss = ib.losses.bilinear()
    eq = ib.modified_equation("gd", loss, order=2)
    assert all(c.potential is None for c in eq.gradient_analysis())     # the cheap test
    ml = eq.modified_loss()
    g = loss.gradient()
    assert ml.valid_order == 1
    assert sp.expand(ml.potentials[0] - loss.expr) == 0                  # constant included
    assert sp.expand(ml.potentials[1] - (g.T * g)[0] / 4) == 0
    # once computed, the potentials appear in the analysis (and the JSON)
    assert sp.expand(eq.gradient_analysis()[1].potential - (g.T * g)[0] / 4) == 0


def test_potential_with_symbolic_hyper_parameter_is_the_generic_instance():
    loss = ib.losses.bilinear()
    eq = ib.modified_equation("heavy-ball", loss, order=1)
    beta = sp.Symbol("beta", positive=True)
    g = loss.gradient()
    ml = eq.modified_loss()
    assert sp.simplify(ml.potentials[0] - loss.expr / (1 - beta)) == 0
    assert sp.simplify(ml.potentials[1] - (1 + beta) / (4 * (1 - beta) ** 3) * (g.T * g)[0]) == 0


def test_order_eight_bilinear_is_decided_within_a_budget():
    eq = ib.modified_equation("gd", BILINEAR_UV, order=8)
    checks = eq.gradient_analysis(budget=Budget(60), strict=True)
    assert [c.is_gradient for c in checks] == [True, True] + [False] * 7
    assert eq.modified_loss(budget=Budget(60), strict=True).valid_order == 1


def test_transcendental_three_parameter_loss_is_decided():
    # the loss of issue 9 (its order-4 analysis did not finish in 20 minutes)
    loss = ib.Loss.parse("log(cosh(a-b)) + (a*c-1)**2/2 + exp(-c)/4", "a b c")
    eq = ib.modified_equation("gd", loss, order=3)
    checks = eq.gradient_analysis(budget=Budget(60), strict=True)
    assert [c.is_gradient for c in checks] == [True, True, False, False]
    assert checks[2].method.startswith("numeric: Jacobian asymmetric")
    phi = eq.modified_loss(budget=Budget(60), strict=True).potentials[1]
    a, b, c = loss.params
    pt = {a: sp.Rational(1, 3), b: sp.Rational(-2, 5), c: sp.Rational(3, 7)}
    for i, p in enumerate(loss.params):
        assert abs(sp.N((-sp.diff(phi, p) - eq.terms[1][i]).xreplace(pt), 40)) < 1e-35


class _Clock:
    """A clock that advances one second per reading: a budget of 2.5 s lasts two checks."""

    def __init__(self):
        self.t = 0.0

    def __call__(self):
        self.t += 1.0
        return self.t


def test_budget_gives_undecided_answers_instead_of_running_on():
    eq = ib.modified_equation("gd", BILINEAR_UV, order=4)
    checks = eq.gradient_analysis(budget=Budget(2.5, clock=_Clock()))
    assert checks[0].is_gradient is True
    undecided = [c for c in checks if not c.within_budget]
    assert undecided and all(c.is_gradient is None for c in undecided)
    assert "undecided within budget of 2.5 s" in undecided[0].text
    assert undecided[0].to_dict()["within_budget"] is False
    with pytest.raises(BudgetExceeded, match="time budget of 2.5 s"):
        eq.gradient_analysis(budget=Budget(2.5, clock=_Clock()), strict=True)
    # undecided answers are not cached: without a budget every order is decided
    assert [c.is_gradient for c in eq.gradient_analysis()] == [True, True, False, False, False]


def test_modified_loss_stops_at_the_last_order_finished_in_time():
    loss = ib.Loss.parse("x^4/4 + x^3/3", "x")
    eq = ib.modified_equation("gd", loss, order=3)
    ml = eq.modified_loss(budget=Budget(6.5, clock=_Clock()))
    assert ml.valid_order < 3 and "undecided within budget" in ml.note
    assert sp.expand(ml.potentials[0] - loss.expr) == 0
    assert eq.modified_loss().valid_order == 3        # unbounded: every order (1-D)


def test_readable_terms_in_the_ring_match_sympy_factor():
    from ibsym.bea.equations import _readable
    for loss, order in [(BILINEAR_UV, 5), (ib.Loss.parse("(a*b*c-1)^2/2 + a^2*c^2/2", "a b c"), 2),
                        (ib.Loss.parse("x^4/4 - x^2/2", "x"), 4)]:
        eq = ib.modified_equation("gd", loss, order=order)
        for F, G in zip(eq.readable_terms(), eq.terms):
            assert [str(x) for x in F] == [str(_readable(x)) for x in G]
