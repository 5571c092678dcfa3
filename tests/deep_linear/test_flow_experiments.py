"""GD against the derived singular-value flow: trajectories (order 1 in h) and the flow law
from near-balanced initializations (error ∝ α²)."""

import pytest

from ibsym.deep_linear import imbalance_sweep, trajectory_sweep


def test_gd_trajectories_converge_to_the_derived_solutions_at_rate_one():
    sw = trajectory_sweep((1, 2, 3, 4), (3.0, 2.0, 1.0, 0.5), sigma0=0.05, T=8.0,
                          steps=(0.02, 0.01, 0.005))
    for n, slope, gap, errs in zip(sw.depths, sw.slopes, sw.route_gap, sw.errors):
        assert slope == pytest.approx(1.0, abs=0.1), (n, errs)
        assert gap < 1e-8
        assert errs[-1] < 0.06
    assert "slope" in str(sw) and sw.to_dict()["schema"] == "ibsym/singular-value-trajectories"


def test_flow_law_residual_shrinks_with_the_initialization_scale():
    sw = imbalance_sweep(2, (0.2, 0.1, 0.05, 0.025))
    assert sw.imbalance_slope == pytest.approx(2.0, abs=0.1)        # D = O(α²)
    assert sw.residual_slope == pytest.approx(2.0, abs=0.15)
    assert max(sw.residual) < 0.05 and min(sw.residual) < 1e-3
    sw3 = imbalance_sweep(3, (0.2, 0.1, 0.05))
    assert sw3.residual_slope > 1.8                                  # at least as fast as D
