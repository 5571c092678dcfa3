"""Layers of a deep factorization (products, gradients, balanced factors), measurements,
problem input checks and BLAS threads."""
import math

import numpy as np
import pytest

from ibsym.core.errors import InputError
from ibsym.deep_linear import (balanced_factors, balancedness, blas_threads, completion,
                               effective_rank, end_to_end, end_to_end_field, end_to_end_velocity,
                               fit_slope, gaussian_factors, layer_gradients, random_low_rank)
from ibsym.deep_linear.blas import _blas_controls


# ---------------------------------------------------------------------------- building blocks
def test_balanced_factors_multiply_to_the_target_and_are_balanced(rng):
    M = rng.standard_normal((5, 5))
    for n in (1, 2, 3, 4):
        layers = balanced_factors(M, n, seed=3)
        assert np.allclose(end_to_end(layers), M, atol=1e-12)
        assert balancedness(layers) < 1e-12
    assert balancedness(gaussian_factors((5, 5), 3, 0.1, seed=0)) > 1e-4


def test_layer_gradients_by_finite_differences(rng):
    M = rng.standard_normal((4, 4))
    problem = completion(M, rng.random((4, 4)) < 0.6)
    layers = gaussian_factors((4, 4), 3, 1.0, seed=1)
    grads = layer_gradients(layers, problem.grad(end_to_end(layers)))
    eps = 1e-6
    for j in range(3):
        for (a, b) in ((0, 0), (1, 3), (2, 1)):
            up = [W.copy() for W in layers]
            dn = [W.copy() for W in layers]
            up[j][a, b] += eps
            dn[j][a, b] -= eps
            fd = (problem.loss(end_to_end(up)) - problem.loss(end_to_end(dn))) / (2 * eps)
            assert grads[j][a, b] == pytest.approx(fd, rel=1e-6, abs=1e-8)


def test_end_to_end_field_is_the_layerwise_velocity_for_balanced_layers(rng):
    M = rng.standard_normal((4, 4))
    G = rng.standard_normal((4, 4))
    for n in (2, 3, 4):
        layers = balanced_factors(M, n, seed=n)
        assert np.allclose(end_to_end_velocity(layers, G), end_to_end_field(M, G, n), atol=1e-10)
    # and not for unbalanced ones
    layers = gaussian_factors((4, 4), 3, 1.0, seed=2)
    W = end_to_end(layers)
    assert np.abs(end_to_end_velocity(layers, G) - end_to_end_field(W, G, 3)).max() > 1e-2


def test_effective_rank_oracles():
    assert effective_rank(np.eye(4)) == 4.0
    assert effective_rank(np.outer([1, 2], [3, 4])) == pytest.approx(1.0, abs=1e-12)
    p = np.array([0.75, 0.25])
    assert effective_rank([3.0, 1.0], singular_values=True) == pytest.approx(
        math.exp(-(p * np.log(p)).sum()), rel=1e-12)
    assert effective_rank(np.zeros((2, 2))) == 0.0


def test_blas_threads_restores_the_setting():
    controls = _blas_controls()
    before = [get() for _, get in controls]
    with blas_threads(1):
        assert all(get() == 1 for _, get in controls)
    assert [get() for _, get in controls] == before


def test_fit_slope_and_input_checks():
    assert fit_slope([1, 10], [2, 0.2]) == pytest.approx(-1.0)
    with pytest.raises(InputError, match="at least two"):
        fit_slope([1], [1])
    with pytest.raises(InputError, match="mask shape"):
        completion(np.ones((2, 2)), np.ones((3, 3), bool))
    with pytest.raises(InputError, match="rank must lie"):
        random_low_rank((3, 3), 4)
