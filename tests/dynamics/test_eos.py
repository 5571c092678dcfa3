"""The edge-of-stability experiment on reduced sizes: progressive sharpening, then the sharpness
hovers at the level derived from the update rule (Cohen et al. 2021)."""
import json

import numpy as np
import pytest

from ibsym import get_optimizer
from ibsym.core.errors import InputError
from ibsym.dynamics.eos import EdgeOfStability, edge_of_stability, eos_experiment


@pytest.fixture(scope="module")
def gd_runs():
    # digits, 200 images, 64-32-32-10 tanh MLP, MSE: ~5 s per step size
    return eos_experiment(get_optimizer("gd"), [0.4, 0.5], n=200, steps=1500, every=50)


def test_gd_sharpens_then_hovers_at_two_over_eta(gd_runs):
    for run, eta in zip(gd_runs.runs, (0.4, 0.5)):
        assert run.quantity == "sharpness"
        assert run.level == pytest.approx(2 / eta, rel=1e-6)       # derived, oracle 2/η
        assert run.sharpness[0] < 0.5 * run.level                 # starts well below
        assert run.sharpened
        assert np.all(np.abs(run.last_half - 1) <= 0.10), run.last_half
        assert run.passed
    # the loss keeps falling overall (non-monotonically at EoS)
    assert all(r.losses[-1] < 0.2 * r.losses[0] for r in gd_runs.runs)


def test_record_exports(gd_runs):
    data = json.loads(gd_runs.to_json())
    assert data["schema"] == "ibsym/edge-of-stability" and data["passed"] is True
    run = data["runs"][0]
    assert run["level"] == pytest.approx(5.0, rel=1e-6) and len(run["sharpness"]) == 31
    assert 0.9 <= run["ratio_last_half"]["min"] <= run["ratio_last_half"]["max"] <= 1.1
    table = gd_runs.table()
    assert table.count("PASS") == 2 and "0.4" in table
    tex = gd_runs.to_latex()
    assert tex.startswith(r"\begin{array}") and r"\lambda_{\max}(\nabla^2 L)" in tex


def test_failed_acceptance_is_reported():
    # too short to sharpen: the record says FAIL instead of passing silently
    run = edge_of_stability(get_optimizer("gd"), 0.1, n=100, steps=40, every=10)
    assert run.level == pytest.approx(20.0, rel=1e-6)
    assert not run.within and not run.passed
    assert "FAIL" in EdgeOfStability((run,)).table()


def test_bad_input():
    with pytest.raises(InputError, match="positive"):
        edge_of_stability(get_optimizer("gd"), -0.1)
    with pytest.raises(InputError, match="hyper-parameter"):
        edge_of_stability(get_optimizer("heavy-ball"), 0.1, steps=10, every=5)
    with pytest.raises(InputError, match="unknown data set"):
        edge_of_stability(get_optimizer("gd"), 0.1, data="cifar")


@pytest.mark.slow
def test_gd_three_step_sizes_full():
    res = eos_experiment(get_optimizer("gd"), [0.3, 0.4, 0.5], steps=3000, every=75)
    assert res.passed, res.table()


@pytest.mark.slow
def test_heavy_ball_level():
    run = edge_of_stability(get_optimizer("heavy-ball", beta=0.9), 0.6, steps=2000, every=50)
    assert run.level == pytest.approx(3.8 / 0.6, rel=1e-6)        # (2 + 2β)/η
    assert run.passed, run.ratios


@pytest.mark.slow
def test_adam_preconditioned_level():
    opt = get_optimizer("adam", beta=0.9, rho=0.999, eps=1e-8)
    run = edge_of_stability(opt, 0.002, steps=2000, every=50, tol=0.15)
    assert run.quantity == "preconditioned sharpness"
    assert run.level == pytest.approx(38 / 0.002, rel=1e-4)       # (2 + 2β₁)/((1 − β₁)η)
    assert run.passed, run.ratios
