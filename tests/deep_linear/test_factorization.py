"""Deep matrix factorization by GD against the derived dynamics, oracles and fitted rates."""
import math

import numpy as np
import pytest

from ibsym.core.errors import DivergenceError, InputError
from ibsym.deep_linear.factorization import (_blas_controls, balanced_factors, balancedness, blas_threads,
                                 completion, completion_experiment, effective_rank,
                                 end_to_end, end_to_end_check, end_to_end_field,
                                 end_to_end_velocity, finite_step_check, fit_slope,
                                 gaussian_factors, imbalance_sweep, layer_gradients,
                                 min_nuclear_norm, modified_singular_value_at,
                                 perturbation_experiment, predicted_singular_values,
                                 random_low_rank, random_mask, regression, sensing,
                                 sensing_experiment, train, trajectory_sweep)


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
    from scipy.integrate import solve_ivp
    from ibsym.deep_linear.spectral import end_to_end_dynamics
    import sympy as sp
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


# ---------------------------------------------------------------------------- predictions
@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_solution_and_ode_routes_agree(n):
    t = np.linspace(0, 6, 25)
    for s0 in (0.02, 2.5):
        a = predicted_singular_values(n, 1.0, s0, t)
        b = predicted_singular_values(n, 1.0, s0, t, method="ode")
        assert np.max(np.abs(a - b)) < 1e-9


def test_gd_trajectories_converge_to_the_derived_solutions_at_rate_one():
    sw = trajectory_sweep((1, 2, 3, 4), (3.0, 2.0, 1.0, 0.5), sigma0=0.05, T=8.0,
                          steps=(0.02, 0.01, 0.005))
    for n, slope, gap, errs in zip(sw.depths, sw.slopes, sw.route_gap, sw.errors):
        assert slope == pytest.approx(1.0, abs=0.1), (n, errs)
        assert gap < 1e-8
        assert errs[-1] < 0.06
    assert "slope" in str(sw) and sw.to_dict()["schema"] == "ibsym/singular-value-trajectories"


def test_flow_law_residual_shrinks_with_the_initialization_scale():
    sw = imbalance_sweep(2, (0.2, 0.1, 0.05, 0.025))
    assert sw.imbalance_slope == pytest.approx(2.0, abs=0.1)        # D = O(α²)
    assert sw.residual_slope == pytest.approx(2.0, abs=0.15)
    assert max(sw.residual) < 0.05 and min(sw.residual) < 1e-3
    sw3 = imbalance_sweep(3, (0.2, 0.1, 0.05))
    assert sw3.residual_slope > 1.8                                  # at least as fast as D


@pytest.mark.parametrize("n", [2, 3])
def test_finite_step_correction_raises_the_order_to_two(n):
    chk = finite_step_check(n, 1.0, sigma0=0.2 if n == 2 else 0.3)
    assert chk.slope0 == pytest.approx(1.0, abs=0.1)
    assert chk.slope1 == pytest.approx(2.0, abs=0.15)
    v = modified_singular_value_at(n, 1.0, 0.3, 1.0, 0.02)
    assert abs(v["modified"] - v["gd"]) < abs(v["flow"] - v["gd"]) / 10


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


def test_depth_lowers_effective_rank_and_beats_the_nuclear_norm():
    ex = completion_experiment(30, 2, 200, depths=(1, 2, 3), seed=0, max_steps=15000,
                               step_factor=1.0)
    err = {r["method"]: r["error"] for r in ex.rows}
    erank = {r["method"]: r["effective_rank"] for r in ex.rows}
    assert err["depth 3"] < err["depth 2"] < err["depth 1"]
    assert erank["depth 3"] < erank["depth 2"] < erank["depth 1"]
    assert err["depth 3"] < 0.1 < err["nuclear norm"]
    assert err["depth 1"] > 0.8               # depth 1 from small init: min-Frobenius fill-in
    assert abs(ex.nuclear.gap) < 1e-6
    gaps = {r["method"]: r["gap"] for r in ex.rows}
    assert gaps["depth 3"] > 10 * gaps["depth 2"]


def test_sensing_depth_three_recovers():
    ex = sensing_experiment(12, 1, 60, depths=(1, 3), seed=0, max_steps=8000, step_factor=1.0)
    err = {r["method"]: r["error"] for r in ex.rows}
    assert err["depth 3"] < 0.05 and err["depth 1"] > 0.3


def test_low_rank_phase_under_noise():
    ex = perturbation_experiment(10, (3.0, 2.0), (0.1, 0.2, 0.4), depths=(1, 2, 3))
    rows = {(r["depth"], r["noise"]): r for r in ex.rows}
    for eps in (0.1, 0.2, 0.4):
        assert rows[(1, eps)]["duration"] == pytest.approx(0.0, abs=0.1)   # no low-rank phase
        for n in (2, 3):
            r = rows[(n, eps)]
            assert r["duration"] > 4
            # non-aligned start: its projection on a mode is below σ0, so it takes longer
            assert 0.8 < r["duration"] / r["predicted_duration"] < 1.6
            assert r["best_error"] < 0.7 * r["final_error"]                 # early stopping helps
    for n in (2, 3):
        assert ex.slopes[n] == pytest.approx(-1.0, abs=0.2)


def test_fit_slope_and_input_checks():
    assert fit_slope([1, 10], [2, 0.2]) == pytest.approx(-1.0)
    with pytest.raises(InputError, match="at least two"):
        fit_slope([1], [1])
    with pytest.raises(InputError, match="mask shape"):
        completion(np.ones((2, 2)), np.ones((3, 3), bool))
    with pytest.raises(InputError, match="rank must lie"):
        random_low_rank((3, 3), 4)
