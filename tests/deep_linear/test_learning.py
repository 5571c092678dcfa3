"""The time to learn a mode and the one-mode record; bad input to the symbolic modules."""
import math

import pytest
import sympy as sp

from ibsym.core.errors import InputError
from ibsym.deep_linear import (end_to_end_dynamics, finite_step_flow, mode_solution,
                               singular_value_flow, solve_flow, time_to_learn)
from ibsym.deep_linear.symbols import SIGMA0, N, S


# ---------------------------------------------------------------------------- time to learn
def test_time_to_learn_leading_terms():
    assert sp.simplify(time_to_learn(3).leading - 1 / (S * SIGMA0 ** sp.Rational(1, 3))) == 0
    assert sp.simplify(time_to_learn(4).leading - 1 / (2 * S * sp.sqrt(SIGMA0))) == 0
    assert sp.simplify(time_to_learn(2).leading + sp.log(SIGMA0) / (2 * S)) == 0
    assert sp.simplify(time_to_learn(1).leading - sp.log(2)) == 0
    general = time_to_learn().leading
    assert sp.simplify(general - SIGMA0 ** (-(N - 2) / N) / ((N - 2) * S)) == 0
    assert time_to_learn().exponent == (2 - N) / N


@pytest.mark.parametrize("n", [3, 4, 6])
def test_fitted_small_init_exponent(n):
    tl = time_to_learn(n)
    s0s = [1e-12, 1e-11, 1e-10, 1e-9]
    times = [tl.evaluate(target=1, sigma0=v) for v in s0s]
    slope = (math.log(times[-1]) - math.log(times[0])) / (math.log(s0s[-1]) - math.log(s0s[0]))
    assert slope == pytest.approx(-(n - 2) / n, abs=0.01)
    assert times[0] / tl.asymptotic(target=1, sigma0=s0s[0]) == pytest.approx(1, abs=1e-3)


def test_incremental_learning_modes_in_order_of_their_singular_values():
    tl = time_to_learn(3)
    t_big, t_small = (tl.evaluate(target=s, sigma0=1e-9) for s in (3, 1))
    assert t_small / t_big == pytest.approx(3, rel=1e-2)        # ∝ 1/s
    width = tl.transition_width(target=1)
    sol = solve_flow(3)
    direct = sol.time(0.9, target=1, sigma0=1e-6) - sol.time(0.1, target=1, sigma0=1e-6)
    assert width == pytest.approx(direct, rel=1e-9)
    assert (t_small - t_big) / width > 100                      # separated learning phases


# ---------------------------------------------------------------------------- one mode, errors
def test_mode_solution_record():
    m = mode_solution(2, 3, "0.001", 1)
    assert m.sigma == pytest.approx(0.3557124789, abs=1e-10)
    assert m.to_dict()["sigma"] == m.sigma and "closed form" in m.method
    assert "σ(1) = 0.355712478919" in str(m)
    m0 = mode_solution(3, 1, 0, 2)
    assert m0.sigma == 0 and "saddle" in m0.method


@pytest.mark.parametrize("call, message", [
    (lambda: solve_flow(0), "depth must be an integer between 1 and 64"),
    (lambda: solve_flow(2.5), "depth must be an integer"),
    (lambda: solve_flow(3).sigma_at(-1, target=1, sigma0=0.1), "non-negative"),
    (lambda: solve_flow(3).sigma_at(1, target=0, sigma0=0.1), "must be positive"),
    (lambda: solve_flow(3).time(0.5, target=1, sigma0=-0.1), "must be >= 0"),
    (lambda: solve_flow().sigma_at(1, target=1, sigma0=0.1), "with an integer"),
    (lambda: end_to_end_dynamics(weight_decay=-1), "non-negative"),
    (lambda: finite_step_flow(7), "depth <= 6"),
    (lambda: time_to_learn(3, fraction=1), "strictly between 0 and 1"),
    (lambda: singular_value_flow().evaluate(1, beta=2), "unknown name"),
    (lambda: mode_solution(3, "__import__('os')", 1), "__import__"),
])
def test_bad_input_is_refused_with_a_clear_message(call, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(")):
        call()
