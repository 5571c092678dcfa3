"""The ζ-spline: exact solution of the variational problem vs independent oracles."""
import numpy as np
import pytest
from scipy.interpolate import CubicSpline
from scipy.optimize import minimize  # noqa: F401  (documents that the QP below is solved directly)

from ibsym.wide_relu.densities import independent, normal, rademacher, uniform
from ibsym.core.errors import InputError
from ibsym.wide_relu.splines import smoothing_path, smoothing_spline, solve_variational
from ibsym.wide_relu.zeta import curvature_penalty

X = np.array([-1.5, -0.8, -0.2, 0.5, 1.1, 1.7])
Y = np.array([0.6, -0.3, 0.4, 0.9, -0.2, 0.3])


def test_constant_zeta_gives_the_natural_cubic_spline():
    pen = curvature_penalty(independent(rademacher(), uniform(-2, 2)))
    g = solve_variational(X, Y, pen)
    t = np.linspace(X[0], X[-1], 301)
    assert np.max(np.abs(g(t) - CubicSpline(X, Y, bc_type="natural")(t))) < 1e-10
    # linear outside the data hull (natural boundary conditions)
    out = np.linspace(1.7, 3.0, 14)
    assert np.max(np.abs(np.diff(g(out), 2))) < 1e-10


def _discrete_oracle(x, y, zf, lam, lo=-2.5, hi=2.5, n=2001):
    """Independent solution on a grid: minimize Σ r² + λ Σ (D²g)²/ζ h (or interpolate) as a QP."""
    s = np.linspace(lo, hi, n)
    h = s[1] - s[0]
    D = (np.eye(n, k=0)[1:-1] * -2 + np.eye(n, k=-1)[1:-1] + np.eye(n, k=1)[1:-1]) / h ** 2
    Wt = np.diag(h / zf(s[1:-1]))
    Q = D.T @ Wt @ D
    # data rows by linear interpolation on the grid
    E = np.zeros((len(x), n))
    for j, xj in enumerate(x):
        i = int(np.floor((xj - lo) / h))
        f = (xj - s[i]) / h
        E[j, i], E[j, i + 1] = 1 - f, f
    if lam == 0:
        K = np.block([[Q, E.T], [E, np.zeros((len(x), len(x)))]])
        sol = np.linalg.solve(K, np.concatenate([np.zeros(n), y]))
        return s, sol[:n]
    return s, np.linalg.solve(E.T @ E + lam * Q, E.T @ y)


@pytest.mark.parametrize("lam", [0.0, 1e-3, 1e-1])
def test_gaussian_zeta_spline_matches_a_brute_force_discretization(lam):
    pen = curvature_penalty(independent(normal(0, 1), normal(0, "sqrt(1/10)")))
    g = solve_variational(X, Y, pen, lam=lam)
    zf = g.zeta
    s, v = _discrete_oracle(X, Y, zf, lam)
    assert np.max(np.abs(g(s) - v)) < 3e-3


def test_euler_lagrange_structure_and_smoothing_identities():
    pen = curvature_penalty(independent(normal(0, 1), normal(0, 1)))
    g = solve_variational(X, Y, pen, lam=0.05)
    assert abs(g.mu.sum()) < 1e-10 and abs(g.mu @ g.x) < 1e-10         # ℓ = 0 outside the hull
    assert np.allclose(g.residuals(), -0.05 * g.mu, atol=1e-12)          # r_j = -λ μ_j
    t = np.linspace(-1.4, 1.6, 601)
    d2 = np.diff(g(t), 2) / (t[1] - t[0]) ** 2
    away = np.min(np.abs(t[1:-1, None] - X[None, :]), axis=1) > 0.02   # FD is O(h) at the knots
    assert np.max(np.abs(d2 - g.second_derivative(t[1:-1]))[away]) < 1e-4      # g'' = ζ ℓ
    interp = solve_variational(X, Y, pen)
    assert np.max(np.abs(interp.residuals())) < 1e-11


def test_three_point_smoothing_hand_formula():
    """ζ ≡ 1, x = (-1, 0, 1), y = (1, -1, 1): residual = (4/3) λ/(λ + 1/9) at the ends (by hand)."""
    x, y = np.array([-1.0, 0.0, 1.0]), np.array([1.0, -1.0, 1.0])
    for lam in (0.01, 1.0, 30.0):
        s = smoothing_spline(x, y, lambda t: np.ones_like(t), lam)
        assert np.max(np.abs(s.residuals())) == pytest.approx(4 / 3 * lam / (lam + 1 / 9), rel=1e-10)
    path = smoothing_path(x, y, lambda t: np.ones_like(t), [1, 10, 100], etabar=2.0)
    assert [p.lam for p in path] == [0.5, 0.05, 0.005]


def test_large_lambda_tends_to_least_squares_line():
    s = smoothing_spline(X, Y, lambda t: np.ones_like(t), 1e9)
    line = np.polyval(np.polyfit(X, Y, 1), X)
    assert np.max(np.abs(s(X) - line)) < 1e-6


def test_penalty_value_is_the_weighted_curvature_integral():
    pen = curvature_penalty(independent(normal(0, 1), normal(0, 1)))
    g = solve_variational(X, Y, pen)
    t = np.linspace(X[0], X[-1], 200001)
    dd = g.second_derivative(t)
    val = np.sum((dd ** 2 / g.zeta(t))[:-1]) * (t[1] - t[0])
    assert g.penalty_value == pytest.approx(val, rel=1e-4)


def test_bad_input():
    with pytest.raises(InputError, match="distinct"):
        solve_variational([0, 0, 1], [1, 2, 3], lambda t: np.ones_like(t))
    with pytest.raises(InputError, match="positive"):
        smoothing_spline(X, Y, lambda t: np.ones_like(t), 0.0)
    with pytest.raises(InputError, match="parameters"):
        solve_variational(X, Y, curvature_penalty(independent(normal(0, "s"), normal(0, 1))))
    assert solve_variational(X, Y, curvature_penalty(independent(normal(0, "s"), normal(0, 1))),
                             s=1).penalty_value > 0
