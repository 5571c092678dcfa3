"""ℓ_p steepest descent: derived step, no invariant, step-size dependent limit (Gunasekar et al. 2018)."""
import numpy as np
import pytest
import sympy as sp

import ibsym as ib
from ibsym.core.errors import InputError
from ibsym.limits.problems import RegressionProblem
from ibsym.limits.steepest import (dual_exponent, min_pnorm_interpolant, steepest_descent,
                                   steepest_step, step_size_table)

P = RegressionProblem([[1, 1, 1], [1, 2, 0]], [1, 10])


def test_step_is_derived_from_the_norm():
    g1, g2 = sp.symbols("g_1:3", positive=True)
    h = sp.Symbol("h", positive=True)
    step = steepest_step(sp.Rational(4, 3), 2)
    # ‖g‖_4^{2−4} g_i^3 = g_i^3/√(g_1⁴ + g_2⁴)
    assert sp.simplify(step[0] + h * g1 ** 3 / sp.sqrt(g1 ** 4 + g2 ** 4)) == 0
    assert dual_exponent(2) == 2 and dual_exponent(sp.Rational(4, 3)) == 4
    assert sp.simplify(steepest_step(2, 2)[1] + h * g2) == 0           # p = 2: GD
    with pytest.raises(InputError, match="1 < p"):
        dual_exponent(1)


def test_min_l43_interpolant_matches_the_closed_form():
    t = (5 ** (1 / 3) - 4 ** (1 / 3)) ** 3 / 16                         # formulas.md §7.6
    w = min_pnorm_interpolant(P, "4/3")
    assert np.max(np.abs(w - [2 * t, 5 - t, -4 - t])) < 2e-6


def test_l43_limit_table():
    tab = step_size_table("4/3", P, [0.001, 0.01, 0.05])
    w1 = [r["limit"][0] for r in tab["rows"]]
    assert all(r["residual"] < 1e-10 for r in tab["rows"])
    assert all(abs(v - tab["min_norm"][0]) > 0.1 for v in w1)          # not the min-norm point
    assert w1[0] < w1[1] < w1[2]                                        # monotone in η
    assert abs(w1[0] - 0.28323) < 2e-5 and abs(w1[1] - 0.28902) < 2e-5  # formulas.md §7.6
    assert all(r["norm_p"] > tab["min_norm_p"] for r in tab["rows"])


def test_steepest_descent_has_no_invariant_but_p2_does():
    r = ib.implicit_bias(steepest_descent("4/3"), P, h=0.01)
    assert not r.invariant.exists and r.invariant.symbolic == "fails"
    assert r.objective is None
    r2 = ib.implicit_bias(steepest_descent(2), P, h=0.1)
    assert r2.invariant.exists and r2.distance < 1e-9
