"""GD training of a deep factorization: reproducible by seed, divergence reported."""

import numpy as np
import pytest

from ibsym.core.errors import DivergenceError, InputError
from ibsym.deep_linear import completion, random_low_rank, random_mask, train


# ---------------------------------------------------------------------------- training
def test_training_is_reproducible_by_seed_and_reports_divergence():
    M = random_low_rank((10, 10), 2, seed=0)
    p = completion(M, random_mask((10, 10), 60, seed=1))
    a = train(p, 3, h=0.01, steps=200, seed=7)
    b = train(p, 3, h=0.01, steps=200, seed=7)
    c = train(p, 3, h=0.01, steps=200, seed=8)
    assert np.array_equal(a.W, b.W) and not np.allclose(a.W, c.W)
    with pytest.raises(DivergenceError, match=r"diverged at h=5 \(step \d+\).*smaller h"):
        train(p, 3, h=5.0, steps=200, scale=1.0)
    with pytest.raises(InputError, match="unknown initialization 'uniform'"):
        train(p, 3, h=0.01, steps=10, init="uniform")
    with pytest.raises(InputError, match="step size h must be positive"):
        train(p, 3, h=0.0, steps=10)
