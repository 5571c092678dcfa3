"""Low-rank recovery by depth against the nuclear norm, and the low-rank phase under noise."""

import pytest

from ibsym.deep_linear import completion_experiment, perturbation_experiment, sensing_experiment


def test_depth_lowers_effective_rank_and_beats_the_nuclear_norm():
    ex = completion_experiment(30, 2, 200, depths=(1, 2, 3), seed=0, max_steps=15000,
                               step_factor=1.0)
    err = {r["method"]: r["error"] for r in ex.rows}
    erank = {r["method"]: r["effective_rank"] for r in ex.rows}
    assert err["depth 3"] < err["depth 2"] < err["depth 1"]
    assert erank["depth 3"] < erank["depth 2"] < erank["depth 1"]
    assert err["depth 3"] < 0.1 < err["nuclear norm"]
    assert err["depth 1"] > 0.8               # depth 1 from small init: min-Frobenius fill-in
    assert abs(ex.nuclear.gap) < 1e-6
    gaps = {r["method"]: r["gap"] for r in ex.rows}
    assert gaps["depth 3"] > 10 * gaps["depth 2"]


def test_sensing_depth_three_recovers():
    ex = sensing_experiment(12, 1, 60, depths=(1, 3), seed=0, max_steps=8000, step_factor=1.0)
    err = {r["method"]: r["error"] for r in ex.rows}
    assert err["depth 3"] < 0.05 and err["depth 1"] > 0.3


def test_low_rank_phase_under_noise():
    ex = perturbation_experiment(10, (3.0, 2.0), (0.1, 0.2, 0.4), depths=(1, 2, 3))
    rows = {(r["depth"], r["noise"]): r for r in ex.rows}
    for eps in (0.1, 0.2, 0.4):
        assert rows[(1, eps)]["duration"] == pytest.approx(0.0, abs=0.1)   # no low-rank phase
        for n in (2, 3):
            r = rows[(n, eps)]
            assert r["duration"] > 4
            # non-aligned start: its projection on a mode is below σ0, so it takes longer
            assert 0.8 < r["duration"] / r["predicted_duration"] < 1.6
            assert r["best_error"] < 0.7 * r["final_error"]                 # early stopping helps
    for n in (2, 3):
        assert ex.slopes[n] == pytest.approx(-1.0, abs=0.2)
