"""Issue 12: max-margin limits on separable data -- geometry, margins, Soudry rates, bad input."""
from __future__ import annotations

import numpy as np
import pytest

import ibsym as ib
from ibsym.core.errors import DivergenceError, InputError
from ibsym.limits.classification import (ClassificationBias, SeparableProblem,
                                         implicit_bias_classification, separable_problem,
                                         weight_sweep)
from ibsym.limits.geometry import (coordinate_descent, derive_geometry, normalized_steepest,
                                   sign_descent)
from ibsym.limits.margins import max_margin
from ibsym.limits.rates import direction_error, fit_rate
from ibsym.limits.steepest import steepest_descent

SOUDRY_Z = [[1, 0], [0, 1], [2, 2], [3, 1]]


# --- the Soudry et al. instance ---------------------------------------------------------------
def test_soudry_instance_margin_support_duals():
    m = max_margin(SOUDRY_Z, 2)
    np.testing.assert_allclose(m.w, [1, 1], atol=1e-9)
    assert m.support == (0, 1)
    np.testing.assert_allclose(m.alpha, [1, 1, 0, 0], atol=1e-8)
    assert m.margin == pytest.approx(1 / np.sqrt(2), abs=1e-9) and m.unique and m.degenerate == ()


def test_soudry_decomposition_at_1e4():
    r = ib.implicit_bias("gd", SeparableProblem(SOUDRY_Z), h=0.1, max_steps=10_000)
    assert isinstance(r, ClassificationBias) and r.geometry.p == 2
    pred = r.prediction
    # η exp(−z_nᵀw̃) = α_n on the support: w̃ = (log η, log η) here
    np.testing.assert_allclose(pred["w_tilde"], [np.log(0.1)] * 2, atol=1e-9)
    assert pred["spans"] and pred["tL_limit"] == pytest.approx(20.0, abs=1e-6)
    assert r.run.t[-1] == 10_000
    assert np.abs(r.rho_final - pred["w_tilde"]).max() < 1e-2
    assert r.t_loss[-1] == pytest.approx(20.0, rel=5e-3)
    # the first records are far from the prediction: the check can fail
    rho0 = r.run.W[5] - r.margin.w * np.log(r.run.t[5])
    assert np.abs(rho0 - pred["w_tilde"]).max() > 0.1


def test_mean_reduction_and_weights_enter_as_effective_step():
    P = SeparableProblem(SOUDRY_Z, reduction="mean")
    r = implicit_bias_classification("gd", P, h=0.1, steps=20_000)
    np.testing.assert_allclose(r.prediction["w_tilde"], [np.log(0.1 / 4)] * 2, atol=1e-9)
    assert np.abs(r.rho_final - r.prediction["w_tilde"]).max() < 2e-2
    assert r.prediction["tL_limit"] == pytest.approx(20.0, rel=1e-9)     # Σα/η, c_n = 1/N cancels
    assert r.t_loss[-1] == pytest.approx(r.prediction["tL_limit"], rel=2e-2)


def test_rate_constant_derived_and_measured():
    # S = {(1,0), (0,2)} spans R², w̃ not parallel to ŵ = (1, 1/2): error ≈ ‖P⊥w̃‖/(‖ŵ‖ log t)
    r = implicit_bias_classification("gd", SeparableProblem([[1, 0], [0, 2], [2, 2]]), h=0.1,
                                     steps=100_000)
    np.testing.assert_allclose(r.margin.alpha, [1, 0.25, 0], atol=1e-8)
    C = r.prediction["rate_constant"]
    assert C == pytest.approx(0.554518, abs=1e-5)
    assert r.final_direction_error == pytest.approx(r.predicted_final_error, rel=1e-2)
    assert 0.9 < r.fits["1/log t"]["exponent"] < 1.6


# --- geometry read off the update ---------------------------------------------------------------
@pytest.mark.parametrize("opt, p", [
    (lambda: ib.get_optimizer("gd"), 2),
    (lambda: ib.get_optimizer("heavy-ball", beta=0.9), 2),
    (sign_descent, "oo"),
    (coordinate_descent, 1),
    (lambda: coordinate_descent(normalized=True), 1),
    (lambda: steepest_descent("4/3"), "4/3"),
    (lambda: normalized_steepest(3), 3),
    (lambda: ib.get_optimizer("adam", beta=0.9, rho=0.999, eps=1e-30), "oo"),
])
def test_geometry_derived(opt, p):
    assert str(derive_geometry(opt()).p) == str(p)


def test_geometry_step_rule_and_adam_eps_regimes():
    assert derive_geometry(sign_descent()).normalized
    assert derive_geometry(normalized_steepest("4/3")).normalized
    g = derive_geometry(steepest_descent(3))
    assert not g.normalized and g.degree == pytest.approx(1, abs=1e-6)
    adam = derive_geometry(ib.get_optimizer("adam", beta=0.9, rho=0.999, eps=1e-8))
    assert adam.p == 2
    assert str(adam.scales[0][1]) == "oo" and str(adam.scales[-1][1]) == "2"
    assert "depends on the gradient scale" in adam.note


def test_geometry_unidentified_rules():
    up = ib.Optimizer("ascent", lambda th, st, g, h, hp: (th + h * g(th), {}))
    assert not derive_geometry(up).identified and "up its own gradient" in derive_geometry(up).note
    at = ib.Optimizer("arctan-step", lambda th, st, g, h, hp: (th - h * np.arctan(g(th)), {}))
    geo = derive_geometry(at)                     # not a power at |g| ~ 1, ≈ GD as |g| → 0
    assert geo.scales[0][1] is None and geo.p == 2 and "depends on the gradient scale" in geo.note
    irr = ib.Optimizer("irrational", lambda th, st, g, h, hp: (
        th - h * np.sign(g(th)) * np.abs(g(th)) ** (1 / np.sqrt(2)), {}))
    assert not derive_geometry(irr).identified and "rational" in derive_geometry(irr).note
    mix = ib.Optimizer("mixing", lambda th, st, g, h, hp: (th - h * (g(th) + 0.3 * np.roll(g(th), 1)), {}))
    assert not derive_geometry(mix).identified
    r = implicit_bias_classification(mix, SeparableProblem(SOUDRY_Z), h=0.1, steps=1_000)
    assert r.margin is None and r.outcome.startswith("geometry not identified")


# --- ℓ∞ vs ℓ2 -----------------------------------------------------------------------------------
def test_linf_vs_l2_sign_descent_and_gd():
    P = SeparableProblem([[3, 1], [1, 2]])
    np.testing.assert_allclose(max_margin(P.Z, "inf").direction, np.ones(2) / np.sqrt(2), atol=1e-9)
    l2 = max_margin(P.Z, 2)
    np.testing.assert_allclose(l2.direction, np.array([1, 2]) / np.sqrt(5), atol=1e-9)
    assert l2.degenerate == (0,)                       # (3,1) active with α = 0
    s = implicit_bias_classification(sign_descent(), P, h=0.1, decay=0.5, steps=200_000)
    assert str(s.margin.p) == "oo" and s.final_direction_error < 1e-3
    g = implicit_bias_classification("gd", P, h=0.1, steps=200_000)
    e = g.direction_errors
    half = len(e) // 2
    assert np.all(np.diff(e[half:]) <= 1e-12) and e[-1] < 0.8 * e[half]
    u_inf = np.ones(2) / np.sqrt(2)
    d_inf = np.linalg.norm(g.run.W[-1] / np.linalg.norm(g.run.W[-1]) - u_inf)
    assert d_inf > 0.1                                  # GD is not heading to the ℓ∞ direction
    assert any("degenerate SVM" in lab for lab in g.labels)


# --- ℓ_p margins reached by normalized steepest descent -----------------------------------------
@pytest.mark.parametrize("p", ["4/3", 3])
def test_lp_margin_normalized_steepest(p):
    P = separable_problem(10, 3, seed=0)
    r = implicit_bias_classification(normalized_steepest(p), P, h=0.05, steps=30_000)
    assert str(r.margin.p) == str(p) and r.geometry.normalized and r.run.scaled_gradient
    assert r.final_direction_error < 1e-2
    other = max_margin(P.Z, 3 if p == "4/3" else "4/3")
    assert np.linalg.norm(other.direction - r.margin.direction) > 0.05   # the geometry matters
    assert r.fits["1/t"]["exponent"] > 0.7                               # polynomial, not 1/log t


def test_unnormalized_steepest_is_slow_and_named():
    P = separable_problem(10, 3, seed=0)
    r = implicit_bias_classification(steepest_descent("4/3"), P, steps=20_000)
    assert r.final_direction_error > 0.02 and "1/log t" in r.predicted_rate
    assert r.geometry.step_rule.startswith("unnormalized")


# --- importance weights -------------------------------------------------------------------------
def test_importance_weights_gap_shrinks_as_predicted():
    P = SeparableProblem([[1, 0], [0, 2], [2, 2]])
    sw = weight_sweep(P, [[1, 10, 1], [5, 1, 1]], h=0.05, steps=50_000)
    for row in sw["rows"]:
        gap = row["gap"]
        assert gap[-1] < 0.6 * gap[len(gap) // 2]
        # same limit direction: both runs head to ŵ
        np.testing.assert_allclose(row["result"].margin.w, sw["unweighted"].margin.w, atol=1e-9)
        # the derived gap of the predicted paths ŵ log t + w̃_c vs ŵ log t + w̃_1
        assert gap[-1] == pytest.approx(row["predicted_final_gap"], rel=0.05)
        assert row["predicted_constant"] > 0.1 and row["fit"]["exponent"] > 0.8


# --- bad input and labelled outcomes ------------------------------------------------------------
def test_non_separable_refused():
    with pytest.raises(InputError, match="not linearly separable"):
        SeparableProblem([[1, 0], [-1, 0], [0, 1]])
    with pytest.raises(InputError, match="not linearly separable"):
        max_margin([[1.0, 1.0], [-1.0, -1.0]], 2)


def test_bad_inputs():
    with pytest.raises(InputError, match="weights"):
        SeparableProblem(SOUDRY_Z, weights=[1, -1, 1, 1])
    with pytest.raises(InputError, match="labels"):
        SeparableProblem.from_labels([[1, 0]], [2])
    with pytest.raises(InputError, match="unknown loss"):
        SeparableProblem(SOUDRY_Z, loss="hinge")
    with pytest.raises(InputError, match="z_n = 0"):
        SeparableProblem([[0, 0], [1, 1]])
    with pytest.raises(InputError, match="finite"):
        SeparableProblem([[np.nan, 1]])
    with pytest.raises(InputError, match="p ≥ 1"):
        max_margin(SOUDRY_Z, "1/2")


def test_square_loss_labelled_no_exponential_tail():
    P = SeparableProblem([[1, 0], [-1, 0.5], [0, 1]], loss="square")   # not separable: allowed
    r = implicit_bias_classification("gd", P, h=0.1, steps=5_000)
    assert r.margin is None and r.outcome.startswith("no exponential tail")
    assert np.isfinite(r.run.W[-1]).all() and np.linalg.norm(r.run.W[-1]) < 10


def test_step_past_stability_labelled_and_overflow_raises():
    r = implicit_bias_classification("gd", SeparableProblem(SOUDRY_Z), h=0.5, steps=1_000)
    assert any("past the local stability bound" in lab for lab in r.labels)
    with pytest.raises(DivergenceError, match="overflowed"):
        implicit_bias_classification("gd", SeparableProblem(SOUDRY_Z), h=10.0, steps=100,
                                     w0=[-400, -400])


def test_lp_and_linf_nonunique_flagged():
    assert not max_margin([[1, 1]], 1).unique
    assert not max_margin([[1, 0]], "inf").unique
    assert max_margin([[3, 1], [1, 2]], "inf").unique


def test_logistic_loss_reaches_l2_direction():
    r = implicit_bias_classification("gd", SeparableProblem(SOUDRY_Z, loss="logistic"), h=0.2,
                                     steps=20_000)
    assert r.prediction is None and r.final_direction_error < 1e-2


def test_fit_rate_and_direction_error_helpers():
    t = np.logspace(1, 6, 40)
    r = fit_rate(t, 3.0 / t ** 0.5, model="1/t")
    assert r["exponent"] == pytest.approx(0.5, abs=1e-9) and r["constant"] == pytest.approx(3.0)
    assert direction_error([[2.0, 0.0]], np.array([1.0, 0.0]))[0] == 0.0
    with pytest.raises(InputError):
        fit_rate(t[:2], t[:2])


def test_logistic_log_loss_finite_at_large_margins():
    P = SeparableProblem(SOUDRY_Z, loss="logistic")
    v = P.log_loss(np.array([[400.0, 400.0]]))[0]      # margins 400, 400, 1600, 1600
    assert np.isfinite(v) and v == pytest.approx(-400.0 + np.log(2), abs=1e-9)   # 2e^{−400}
