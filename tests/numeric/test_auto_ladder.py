"""The verifier chooses its step ladder (issue 16, item 4): orders up to 8 verify by
default; a given ladder that hits the float64 floor reports the slope as not measurable."""
from __future__ import annotations

import json

import pytest

import ibsym as ib
from ibsym.core.errors import InputError
from ibsym.numeric.verify import auto_steps

START = [0.3, 1.7]


@pytest.fixture(scope="module")
def gd8_bilinear():
    return ib.modified_equation("gd", ib.Loss.parse("(a*b - 1)**2/2", "a b"), order=8)


@pytest.fixture(scope="module")
def gd8_transcendental():
    return ib.modified_equation("gd", ib.Loss.parse("exp(a*b)/4 + (a - b)**2/2", "a b"),
                                order=8)


@pytest.mark.parametrize("which", ["gd8_bilinear", "gd8_transcendental"])
def test_orders_0_to_8_verify_by_default(request, which):
    eq = request.getfixturevalue(which)
    rep = ib.verify(eq, START)
    assert rep.passed, rep
    assert len(rep.slopes) == 9 and all(s is not None for s in rep.slopes)
    assert all(abs(s - (k + 1)) <= 0.15 for k, s in enumerate(rep.slopes))
    assert abs(rep.slopes[8] - 9) <= 0.15
    assert rep.warnings == ()                            # inside the asymptotic regime
    assert rep.notes[0].startswith("step ladder chosen automatically")
    hs = rep.step_sizes
    assert len(hs) >= 3 and list(hs) == sorted(hs, reverse=True)
    assert all(abs(1 / h - round(1 / h)) < 1e-9 for h in hs)   # each divides T = 1
    assert max(hs[i] / hs[i + 1] for i in range(len(hs) - 1)) <= 2 + 1e-9
    for k, errs in zip(rep.orders, rep.errors):                # >= 3 points above the floor
        assert sum(e > rep.floor for e in errs) >= 3, (k, errs, rep.floor)


def test_a_ladder_that_hits_the_floor_reports_not_measurable(gd8_bilinear):
    rep = ib.verify(gd8_bilinear, START, steps=[0.04, 0.02, 0.01, 0.005])
    # orders 0-4 are measured as before; 7 and 8 sit on the float64 floor
    assert [round(s, 1) for s in rep.slopes[:5]] == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert rep.slopes[7] is None and rep.slopes[8] is None and not rep.passed
    for k in (7, 8):
        w = [w for w in rep.warnings if w.startswith(f"order {k}: only ")]
        assert len(w) == 1 and "not measurable" in w[0] and "above the floor" in w[0]
    # every order without a slope has its warning, none with a slope has one
    warned = {int(w.split(":")[0].split()[1]) for w in rep.warnings if "not measurable" in w}
    assert warned == {k for k, s in zip(rep.orders, rep.slopes) if s is None}
    body = json.loads(rep.to_json())
    res = {r["order"]: r for r in body["results"]}
    assert res[8]["slope"] is None and res[8]["ok"] is False
    assert any("order 8: only" in w for w in body["warnings"])


def test_no_slope_from_fewer_than_three_points_above_the_floor(gd8_bilinear):
    rep = ib.verify(gd8_bilinear, START, steps=[0.04, 0.02, 0.01, 0.005])
    for k, errs, s in zip(rep.orders, rep.errors, rep.slopes):
        above = sum(e > rep.floor for e in errs)
        assert (s is None) == (above < 3), (k, above, s)


def test_auto_steps_is_bounded_by_the_regime_and_the_floor(gd8_bilinear):
    ladder, why = auto_steps(gd8_bilinear, START)
    assert 3 <= len(ladder) <= 4 and ladder[0] <= 0.25
    assert "asymptotic regime" in why and "order 8" in why
    # low orders only: the floor does not bind, the ladder is finer
    low, _ = auto_steps(gd8_bilinear, START, orders=[0, 1, 2])
    assert low[0] < ladder[-1] * 2 and len(low) == 4


def test_no_float64_ladder_is_refused_with_a_message(gd8_bilinear):
    with pytest.raises(InputError, match="no float64 step ladder measures order 8"):
        ib.verify(gd8_bilinear, START, T=0.02, precision="float64")


def test_a_wrong_prediction_is_corrected_by_the_measured_constants(gd8_bilinear, monkeypatch):
    import ibsym.numeric.verify as V
    real = V.auto_steps

    def fooled(eq, theta0, T=1.0, orders=None, *, max_iterations=V.MAX_ITERATIONS,
               constants=None):
        if constants is None:   # predicted constants 1e4 x too large: a ladder too fine
            return [0.01, 0.005, 0.0025, 0.00125], "fooled"
        return real(eq, theta0, T, orders, max_iterations=max_iterations, constants=constants)

    monkeypatch.setattr(V, "auto_steps", fooled)
    rep = ib.verify(gd8_bilinear, START)
    assert rep.passed and "second run" in rep.notes[0]
    assert rep.step_sizes[0] > 0.02


@pytest.mark.parametrize("opt, hyper, order", [
    ("heavy-ball", {"beta": 0.5}, 3),
    ("adam", {"beta": 0.5, "rho": 0.6, "eps": 0.2}, 2),
])
def test_memory_optimizers_fit_clean_points_only(opt, hyper, order):
    # the predicted constants overshoot for these (‖F_2‖ >> ‖F_1‖): the ladder of the
    # first run is too fine and its smallest errors sit near the floor; the measured
    # constants choose a second ladder whose slopes are clean
    eq = ib.modified_equation(opt, ib.Loss.parse("(a*b - 1)**2/2", "a b"), order=order,
                              hyper=hyper)
    rep = ib.verify(eq, START)
    assert rep.passed and rep.warnings == ()
    assert all(abs(s - (k + 1)) < 0.05 for k, s in enumerate(rep.slopes)), rep.slopes
    for errs in rep.errors:
        assert min(errs) > 10 * rep.floor
