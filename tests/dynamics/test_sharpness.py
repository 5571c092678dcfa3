"""Top eigenvalues by Lanczos on HVPs against dense eigvalsh."""
import numpy as np
import pytest

from ibsym.core.errors import InputError
from ibsym.dynamics.networks import MLP
from ibsym.dynamics.sharpness import power_iteration, preconditioned_sharpness, sharpness


def _net():
    net = MLP((5, 8, 3), activation="tanh")
    rng = np.random.default_rng(4)
    X = rng.normal(size=(20, 5))
    Y = np.eye(3)[rng.integers(0, 3, 20)]
    th = net.init(seed=2, scale=1.5)
    return net, X, Y, th


def test_lanczos_matches_dense_top_eigenvalue():
    net, X, Y, th = _net()
    H = net.hessian(th, X, Y)
    w = np.linalg.eigvalsh(H)
    s = sharpness(lambda v: net.hvp(th, v, X, Y), net.dim, tol=1e-10)
    assert abs(s.value - w[-1]) < 1e-8 * abs(w[-1])
    assert np.allclose(np.abs(H @ s.vector), np.abs(w[-1] * s.vector), atol=1e-6)
    assert w[0] < 0 < w[-1]          # indefinite: Lanczos takes the largest, not the biggest |λ|


def test_warm_start_costs_fewer_products():
    net, X, Y, th = _net()
    hv = lambda v: net.hvp(th, v, X, Y)  # noqa: E731
    cold = sharpness(hv, net.dim, tol=1e-8)
    warm = sharpness(hv, net.dim, tol=1e-8, v0=cold.vector)
    assert abs(warm.value - cold.value) < 1e-7 * cold.value
    assert warm.matvecs < cold.matvecs / 2


def test_preconditioned_sharpness_is_eig_of_pinv_h():
    net, X, Y, th = _net()
    H = net.hessian(th, X, Y)
    d = np.random.default_rng(0).uniform(0.2, 5.0, net.dim)     # diag(P^-1)
    ref = np.max(np.linalg.eigvals(np.diag(d) @ H).real)
    s = preconditioned_sharpness(lambda v: net.hvp(th, v, X, Y), d, net.dim, tol=1e-10)
    assert abs(s.value - ref) < 1e-8 * abs(ref)
    with pytest.raises(InputError, match="positive"):
        preconditioned_sharpness(lambda v: v, -d, net.dim)


def test_power_iteration_baseline_on_psd_matrix():
    A = np.diag([4.0, 2.0, 1.0, 0.5])
    s = power_iteration(lambda v: A @ v, 4, iters=500, tol=1e-12)
    assert abs(s.value - 4.0) < 1e-6
