"""Training runs the optimizer's own update: same iterates as the update written out by hand;
mini-batches with reshuffling; rule files; divergence and refusals."""
import numpy as np
import pytest

from ibsym import get_optimizer
from ibsym.bea.update_rules import parse_update_rule
from ibsym.core.errors import DivergenceError, InputError
from ibsym.dynamics.data import synthetic
from ibsym.dynamics.networks import MLP
from ibsym.dynamics.training import NetworkGradient, train


@pytest.fixture(scope="module")
def problem():
    d = synthetic(n=24, dim=3, classes=2, seed=5)
    net = MLP((3, 6, 2))
    return net, d.X, d.Y, net.init(seed=3)


def test_heavy_ball_matches_the_update_by_hand(problem):
    net, X, Y, th0 = problem
    run = train(get_optimizer("heavy-ball", beta=0.7), net, X, Y, th0, h=0.2, steps=15)
    th, prev = th0.copy(), th0.copy()
    for _ in range(15):                   # θ_{n+1} = θ_n − h∇L(θ_n) + β(θ_n − θ_{n−1})
        th, prev = th - 0.2 * net.grad(th, X, Y) + 0.7 * (th - prev), th
    assert np.allclose(run.theta, th, rtol=1e-12, atol=1e-12)
    assert run.losses[0] == pytest.approx(net.loss(th0, X, Y), rel=1e-14)


def test_nesterov_records_the_loss_at_theta_not_at_the_lookahead(problem):
    net, X, Y, th0 = problem
    run = train(get_optimizer("nesterov", beta=0.9), net, X, Y, th0, h=0.1, steps=3,
                every=1, observe=lambda n, th, st, g: {"L": net.loss(th, X, Y)})
    assert np.allclose(run.losses, run.series("L")[:3], rtol=1e-14)


def test_rule_file_optimizer_trains(problem):
    net, X, Y, th0 = problem
    signum = parse_update_rule("""
name = signum
hyper = beta eps
state m = 0
m = beta*m + (1 - beta)*grad(theta)
theta = theta - h*m/sqrt(m^2 + eps)
""").with_hyper(beta=0.5, eps=1e-4)
    run = train(signum, net, X, Y, th0, h=0.01, steps=100)
    assert run.losses[-1] < 0.7 * run.losses[0]


def test_minibatches_reshuffle_every_epoch(problem):
    net, X, Y, th0 = problem
    g = NetworkGradient(net, X, Y, batch_size=10, seed=0)
    assert g.batches == 3
    seen = []
    for _ in range(3):
        seen.extend(g._rows(g.current).tolist())
        g.next_batch()
    assert sorted(seen) == list(range(24))          # one epoch visits every sample once
    assert not np.array_equal(g.order, np.arange(24))   # then a new order
    run = train(get_optimizer("gd"), net, X, Y, th0, h=0.2, steps=60, batch_size=8, seed=1)
    assert np.mean(run.losses[-6:]) < 0.8 * np.mean(run.losses[:6])


def test_divergence_and_refusals(problem):
    net, X, Y, th0 = problem
    with pytest.raises(DivergenceError, match="diverged at h=100"):
        train(get_optimizer("gd"), net, X, Y, th0 * 10, h=100.0, steps=50)
    with pytest.raises(InputError, match="whole epoch"):
        train(get_optimizer("sgd"), net, X, Y, th0, h=0.1, steps=2)
    with pytest.raises(InputError, match="batch size"):
        train(get_optimizer("gd"), net, X, Y, th0, h=0.1, steps=2, batch_size=100)
