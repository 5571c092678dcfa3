"""The minimum nuclear-norm baseline: oracles and certificates."""

import numpy as np
import pytest

from ibsym.core.errors import InputError
from ibsym.deep_linear import (completion, min_nuclear_norm, random_low_rank, random_mask,
                               regression, sensing)


# ---------------------------------------------------------------------------- nuclear norm
def test_nuclear_norm_two_by_two_oracle():
    # [[1, 1], [1, x]]: ‖·‖_* = 1 + x for x ≥ 1 and sqrt((1 − x)² + 4) > 2 for x < 1 ⇒ x* = 1
    sol = min_nuclear_norm(completion(np.array([[1.0, 1.0], [1.0, 7.0]]),
                                      np.array([[1, 1], [1, 0]], bool)))
    assert sol.X[1, 1] == pytest.approx(1.0, abs=1e-7)
    assert sol.nuclear_norm == pytest.approx(2.0, abs=1e-7)
    assert abs(sol.gap) < 1e-6


def test_nuclear_norm_certificate_and_exact_recovery_with_many_entries():
    M = random_low_rank((20, 20), 2, seed=4)
    sol = min_nuclear_norm(completion(M, random_mask((20, 20), 300, seed=5)))
    assert sol.converged and abs(sol.gap) < 1e-6 and sol.constraint_residual < 1e-12
    assert np.linalg.norm(sol.X - M) / np.linalg.norm(M) < 1e-6
    with pytest.raises(InputError, match="needs observations"):
        min_nuclear_norm(regression(M))


def test_nuclear_norm_for_sensing_has_a_certificate():
    M = random_low_rank((8, 8), 1, seed=1)
    rng = np.random.default_rng(2)
    A = rng.standard_normal((40, 64)) / np.sqrt(40)
    sol = min_nuclear_norm(sensing(A, A @ M.ravel(), (8, 8), truth=M))
    assert abs(sol.gap) < 1e-6 and sol.constraint_residual < 1e-10
