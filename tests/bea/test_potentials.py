from fractions import Fraction

import sympy as sp

import ibsym as ib
from ibsym.bea.trees import Combination

GRAD_NORM = ((),)  # free tree with two nodes: ‖∇L‖²


def test_first_order_modified_loss_comes_out_of_the_derivation():
    ml = ib.modified_equation("gd", order=1).modified_loss()
    assert ml.valid_order == 1
    assert ml.potentials[0] == Combination({(): 1}, scalar=True)
    assert ml.potentials[1] == Combination({GRAD_NORM: Fraction(1, 4)}, scalar=True)
    assert ml.text == "L̃ = L + h·(1/4 ‖∇L‖²) + O(h²)"


def test_second_order_is_not_a_gradient_and_says_so():
    eq = ib.modified_equation("gd", order=3)
    checks = eq.gradient_analysis()
    assert [c.is_gradient for c in checks] == [True, True, False, False]
    assert "NOT a gradient field" in checks[2].text and "≠ 0" in checks[2].witness
    ml = eq.modified_loss()
    assert ml.valid_order == 1 and "order 2: NOT a gradient field" in ml.note


def test_concrete_bilinear_potential_is_exact():
    loss = ib.losses.bilinear()
    eq = ib.modified_equation("gd", loss, order=2)
    assert eq.is_gradient_field(1) is True and eq.is_gradient_field(2) is False
    ml = eq.modified_loss()
    g = loss.gradient()
    assert sp.expand(ml.potentials[1] - (g.T * g)[0] / 4) == 0
    assert sp.expand(ml.potentials[0] - loss.expr) == 0
    assert "Jacobian asymmetric" in eq.gradient_analysis()[2].method


def test_transcendental_loss_first_order_potential():
    loss = ib.losses.log_cosh_regression()
    eq = ib.modified_equation("gd", loss, order=1)
    phi = eq.modified_loss().potentials[1]
    assert eq.gradient_analysis()[1].is_gradient is True
    for pt in [{"a": sp.Rational(1, 3), "b": sp.Rational(7, 5)}, {"a": -2, "b": sp.Rational(1, 2)}]:
        sub = {p: pt[str(p)] for p in loss.params}
        for i, p in enumerate(loss.params):
            assert abs(sp.N((-sp.diff(phi, p) - eq.terms[1][i]).xreplace(sub), 40)) < 1e-35


def test_one_dimensional_fields_are_always_gradients():
    loss = ib.Loss.parse("x^4/4 - x^2/2 + sin(x)", "x")
    eq = ib.modified_equation("gd", loss, order=3)
    assert all(c.is_gradient for c in eq.gradient_analysis())


def test_no_modified_loss_without_gradient_leading_term():
    from ibsym.bea.optimizers import Optimizer

    def rotate(theta, state, grad, h, hp):  # a non-gradient leading field on a 2-D problem
        return theta - h * grad(theta), {}
    eq = ib.modified_equation(Optimizer("gd-copy", rotate), ib.losses.bilinear(), order=1)
    assert eq.modified_loss().valid_order == 1
