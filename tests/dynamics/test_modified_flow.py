"""The derived modified flow evaluated on a network: orders of the gap, refusals."""
import numpy as np
import pytest

from ibsym import get_optimizer
from ibsym.core.errors import InputError
from ibsym.dynamics.data import synthetic
from ibsym.dynamics.modified_flow import flow_gap, network_field
from ibsym.dynamics.networks import MLP


@pytest.fixture(scope="module")
def problem():
    d = synthetic(n=30, dim=3, classes=2, seed=2)
    net = MLP((3, 5, 2))
    return net, d.X, d.Y, net.init(seed=1)


def test_field_is_minus_grad_minus_half_h_hvp(problem):
    net, X, Y, th = problem
    f = network_field("gd", 1)
    g = net.grad(th, X, Y)
    expected = -g - 0.5 * 0.1 * net.hvp(th, g, X, Y)      # Barrett & Dherin: F_1 = −½∇²L∇L
    assert np.allclose(f(net, th, X, Y, 0.1), expected, rtol=1e-12, atol=1e-14)


def test_gap_orders_at_fixed_time(problem):
    net, X, Y, th = problem
    T = 1.0
    gaps = {}
    for h in (0.1, 0.05):
        n = int(round(T / h))
        gp = flow_gap("gd", net, X, Y, th, h=h, steps=n, record=[n], substeps=4)
        gaps[h] = (gp.gap[0][-1], gp.gap[1][-1])
    # gradient flow is O(h) away, the order-1 flow O(h²): halving h halves / quarters the gap
    assert gaps[0.1][0] / gaps[0.05][0] == pytest.approx(2.0, rel=0.15)
    assert gaps[0.1][1] / gaps[0.05][1] == pytest.approx(4.0, rel=0.2)
    assert gaps[0.05][1] < 0.1 * gaps[0.05][0]


def test_refusals():
    with pytest.raises(InputError, match="order 3"):
        network_field("gd", 2)             # ∇³L(∇L, ∇L) appears at h²
    with pytest.raises(InputError, match="memory"):
        network_field(get_optimizer("heavy-ball", beta=0.5), 1)
