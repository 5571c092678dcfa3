"""The MLP's gradient and exact Hessian-vector products against finite differences."""
import numpy as np
import pytest

from ibsym.core.errors import InputError
from ibsym.dynamics.networks import MLP


def _problem(act, loss, seed=1):
    net = MLP((3, 4, 3, 2), activation=act, objective=loss)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(7, 3))
    Y = np.eye(2)[rng.integers(0, 2, 7)]
    return net, X, Y, net.init(seed=seed + 1)


@pytest.mark.parametrize("act", ["tanh", "relu", "softplus"])
@pytest.mark.parametrize("loss", ["mse", "cross-entropy"])
def test_gradient_matches_central_differences(act, loss):
    net, X, Y, th = _problem(act, loss)
    e = 1e-6
    fd = np.array([(net.loss(th + e * u, X, Y) - net.loss(th - e * u, X, Y)) / (2 * e)
                   for u in np.eye(net.dim)])
    assert np.max(np.abs(net.grad(th, X, Y) - fd)) < 1e-6


@pytest.mark.parametrize("act", ["tanh", "relu", "softplus"])
@pytest.mark.parametrize("loss", ["mse", "cross-entropy"])
def test_hvp_matches_finite_difference_hessian(act, loss):
    net, X, Y, th = _problem(act, loss)
    e = 1e-6
    Hfd = np.stack([(net.grad(th + e * u, X, Y) - net.grad(th - e * u, X, Y)) / (2 * e)
                    for u in np.eye(net.dim)], axis=1)
    v = np.random.default_rng(3).normal(size=net.dim)
    assert np.max(np.abs(net.hvp(th, v, X, Y) - Hfd @ v)) < 1e-6 * (1 + np.abs(Hfd @ v).max())
    H = net.hessian(th, X, Y)
    assert np.max(np.abs(H - Hfd)) < 1e-6
    assert np.max(np.abs(H)) > 0.1            # not trivially zero


def test_hvp_is_linear_in_the_direction():
    net, X, Y, th = _problem("tanh", "mse")
    rng = np.random.default_rng(0)
    u, v = rng.normal(size=(2, net.dim))
    lhs = net.hvp(th, 2 * u - 3 * v, X, Y)
    rhs = 2 * net.hvp(th, u, X, Y) - 3 * net.hvp(th, v, X, Y)
    assert np.allclose(lhs, rhs, rtol=1e-12, atol=1e-12)


def test_flat_layout_and_refusals():
    net = MLP((2, 3, 1))
    assert net.dim == 2 * 3 + 3 + 3 * 1 + 1
    th = np.arange(net.dim, dtype=float)
    (W1, b1), (W2, b2) = net.unflatten(th)
    assert W1.shape == (2, 3) and b1.tolist() == [6.0, 7.0, 8.0] and b2.tolist() == [12.0]
    assert np.array_equal(net.flatten(net.unflatten(th)), th)
    with pytest.raises(InputError, match="activation"):
        MLP((2, 1), activation="sigmoid")
    with pytest.raises(InputError, match="parameters"):
        net.unflatten(np.zeros(3))
    with pytest.raises(InputError, match="do not fit"):
        net.loss(th, np.zeros((4, 3)), np.zeros((4, 1)))
