"""Closed-form and implicit solutions of the singular-value flow against the published ones
(formulas.md §5.4).

The derivations in ``ibsym.deep_linear.solutions`` never see these formulas: they are oracles here.
"""
import math

import mpmath
import pytest
import sympy as sp

from ibsym.deep_linear import singular_value_at, solve_flow
from ibsym.deep_linear.symbols import SIGMA, SIGMA0, N, S, T


# ---------------------------------------------------------------------------- solutions
def test_closed_forms_equal_the_published_ones():
    one, two = solve_flow(1), solve_flow(2)
    assert sp.simplify(one.sigma_expr - (S + (SIGMA0 - S) * sp.exp(-T))) == 0
    saxe = S * sp.exp(2 * S * T) / (sp.exp(2 * S * T) - 1 + S / SIGMA0)   # formulas.md §5.4
    assert sp.simplify(two.sigma_expr - saxe) == 0
    saxe_time = sp.log(SIGMA * (S - SIGMA0) / (SIGMA0 * (S - SIGMA))) / (2 * S)
    vals = {SIGMA: sp.Rational(2, 3), S: 1, SIGMA0: sp.Rational(1, 50)}
    assert float(two.time_expr.xreplace(vals)) == pytest.approx(float(saxe_time.xreplace(vals)),
                                                                 rel=1e-13)


def test_saxe_instances():
    sol = solve_flow(2)
    assert sol.sigma_at(1, target=3, sigma0="1/1000") == pytest.approx(0.3557124789, abs=1e-10)
    assert sol.sigma_at(2, target=3, sigma0="1/1000") == pytest.approx(2.9457206986, abs=1e-10)
    assert solve_flow(2).time("1/2", target=1, sigma0="1/100") == pytest.approx(2.29755992507,
                                                                                abs=1e-11)
    assert solve_flow(3).time("1/2", target=1, sigma0="1/100") == pytest.approx(3.76803678108,
                                                                                abs=1e-11)


def test_depth_three_antiderivative_is_the_published_one():
    w = sp.Symbol("w", positive=True)
    pub = (-1 / w + sp.log(w ** 2 + w + 1) / 6 - sp.log(1 - w) / 3
           - sp.atan((2 * w + 1) / sp.sqrt(3)) / sp.sqrt(3))
    ours = solve_flow(3).antiderivative.xreplace({sp.Symbol("w", positive=True): w})
    for a, b in ((0.1, 0.5), (0.2, 0.9), (0.05, 0.3)):
        d_ours = float(ours.subs(w, b) - ours.subs(w, a))
        d_pub = float(pub.subs(w, b) - pub.subs(w, a))
        assert d_ours == pytest.approx(d_pub, rel=1e-13)


def test_general_depth_lerch_form_agrees_with_integer_depths():
    general = solve_flow().time_expr
    for n in (3, 4, 6, 7):              # depth 7: SymPy returns a RootSum → mpmath quadrature
        for s, s0, x in ((1, "1/100", "1/2"), (2, "1/10", "3/2")):
            v = general.xreplace({N: n, S: sp.sympify(s), SIGMA0: sp.Rational(s0),
                                  SIGMA: sp.Rational(x)})
            assert float(sp.re(sp.N(v, 30))) == pytest.approx(
                solve_flow(n).time(x, target=s, sigma0=s0), rel=1e-12)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 6])
@pytest.mark.parametrize("s0", ["1/100", "5/2"])        # from below and from above s = 1
def test_sigma_at_inverts_the_time_and_solves_the_ode(n, s0):
    sol = solve_flow(n)
    for t in (0.3, 1.7):
        x = sol.sigma_at(t, target=1, sigma0=s0)
        assert sol.time(x, target=1, sigma0=s0) == pytest.approx(t, rel=1e-9)
    # an independent route: mpmath's ODE solver on the derived flow
    f = sp.lambdify(SIGMA, sol.flow.rhs.xreplace({S: 1}), modules="mpmath")
    y = mpmath.odefun(lambda _t, y: f(y), 0, mpmath.mpf(sp.Rational(s0)))
    assert sol.sigma_at(1.2, target=1, sigma0=s0) == pytest.approx(float(y(1.2)), rel=1e-10)


def test_fixed_points_and_the_saddle():
    assert singular_value_at(3, 2, 0, 5.0) == 0.0          # σ = 0 is a saddle for N ≥ 2
    assert singular_value_at(1, 2, 0, 1.0) == pytest.approx(2 * (1 - math.exp(-1)))
    assert singular_value_at(4, 2, 2, 3.0) == 2.0
    assert solve_flow(3).time(2, target=2, sigma0="1/10") == math.inf
