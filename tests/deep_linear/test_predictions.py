"""The derived solutions evaluated numerically: the solution and ODE routes agree."""

import numpy as np
import pytest

from ibsym.deep_linear import predicted_singular_values


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_solution_and_ode_routes_agree(n):
    t = np.linspace(0, 6, 25)
    for s0 in (0.02, 2.5):
        a = predicted_singular_values(n, 1.0, s0, t)
        b = predicted_singular_values(n, 1.0, s0, t, method="ode")
        assert np.max(np.abs(a - b)) < 1e-9
