"""Checks of the derived dynamics: the formulas.md §5.2–5.3 instance (layerwise vs end-to-end,
singular-vector rotation) and the finite-step correction (orders 1 and 2)."""

import numpy as np
import pytest

from ibsym.deep_linear import (completion, end_to_end_check, end_to_end_field, finite_step_check,
                               modified_singular_value_at)


def test_formulas_instance_layerwise_vs_end_to_end_and_the_diagonal_rates():
    """formulas.md §5.2-5.3: d = 3, N = 3, 70 % mask, seed 0."""
    rng = np.random.default_rng(0)
    M = rng.standard_normal((3, 3))
    mask = rng.random((3, 3)) < 0.7
    W0 = 0.5 * rng.standard_normal((3, 3))
    chk = end_to_end_check(completion(M, mask), W0, 3)
    assert max(chk.deviation) < 1e-9
    assert chk.imbalance < 1e-11
    assert chk.diagonal_rate == pytest.approx((1.16983216, -0.0741482, 0.31104431), abs=5e-9)
    assert chk.predicted_rate == pytest.approx(chk.diagonal_rate, abs=1e-12)


def test_singular_vector_rotation_from_the_derived_off_diagonal():
    """formulas.md §5.3: A = UᵀU̇ at t = 0.7 on the same instance, by finite differences."""
    import sympy as sp
    from scipy.integrate import solve_ivp

    from ibsym.deep_linear.flows import end_to_end_dynamics
    rng = np.random.default_rng(0)
    M = rng.standard_normal((3, 3))
    mask = rng.random((3, 3)) < 0.7
    W0 = 0.5 * rng.standard_normal((3, 3))
    problem = completion(M, mask)
    f = lambda _t, y: end_to_end_field(y.reshape(3, 3), problem.grad(y.reshape(3, 3)), 3).ravel()
    dt = 1e-5
    sol = solve_ivp(f, (0, 0.7 + dt), W0.ravel(), method="DOP853", rtol=1e-13, atol=1e-13,
                    t_eval=[0.7 - dt, 0.7, 0.7 + dt])
    Ws = [sol.y[:, k].reshape(3, 3) for k in range(3)]
    svd = [np.linalg.svd(W) for W in Ws]
    U0, s, Vt = svd[1]
    Us = []
    for U, _, V in (svd[0], svd[2]):
        signs = np.sign(np.sum(U * U0, axis=0))
        Us.append(U * signs)
    A_fd = U0.T @ (Us[1] - Us[0]) / (2 * dt)
    # M_rq from the derived closed form, G = Uᵀ∇L V
    e = end_to_end_dynamics()
    G = U0.T @ problem.grad(Ws[1]) @ Vt.T
    sr, sq = sp.symbols("sigma_r sigma_q", positive=True)
    off = sp.lambdify((sr, sq, sp.Symbol("G_rq")), e.subs(depth=3).frame_offdiagonal)
    Mf = np.array([[(-3 * s[r] ** (4 / 3) * G[r, r]) if r == q else off(s[r], s[q], G[r, q])
                    for q in range(3)] for r in range(3)])
    Wdot = f(0, Ws[1].ravel()).reshape(3, 3)
    assert np.allclose(Mf, U0.T @ Wdot @ Vt.T, atol=1e-10)
    A = np.array([[0 if r == q else (s[q] * Mf[r, q] + s[r] * Mf[q, r]) / (s[q] ** 2 - s[r] ** 2)
                   for q in range(3)] for r in range(3)])
    assert np.allclose(A, A_fd, atol=1e-6)
    assert (A[0, 1], A[0, 2], A[1, 2]) == pytest.approx((-0.20404, 0.17351, 1.33853), abs=5e-5)


@pytest.mark.parametrize("n", [2, 3])
def test_finite_step_correction_raises_the_order_to_two(n):
    chk = finite_step_check(n, 1.0, sigma0=0.2 if n == 2 else 0.3)
    assert chk.slope0 == pytest.approx(1.0, abs=0.1)
    assert chk.slope1 == pytest.approx(2.0, abs=0.15)
    v = modified_singular_value_at(n, 1.0, 0.3, 1.0, 0.02)
    assert abs(v["modified"] - v["gd"]) < abs(v["flow"] - v["gd"]) / 10
