"""Issue 12 item 5: homogeneous models -- degree, derived diagonal-net penalty, margin, KKT residual."""
import numpy as np
import pytest
import sympy as sp

from ibsym.core.errors import InputError
from ibsym.limits.homogeneous import (DiagonalNet, ReLUNet, diagonal_penalty, homogeneity_degree,
                                      kkt_residual, log_logistic, run_homogeneous)
from ibsym.limits.margins import max_margin
from ibsym.limits.rates import direction_error

X = np.array([[1.0, 0.3, -0.2], [0.4, 1.0, 0.5], [-0.3, 0.2, 1.0], [0.8, -0.6, 0.3]])
Y = np.array([1, 1, -1, 1.0])
XR = np.array([[1.0, 0.2], [0.3, 1.0], [-1.0, 0.4], [-0.2, -1.0], [0.7, -0.5]])
YR = np.array([1, -1, 1, -1, 1.0])


def test_diagonal_penalty_derived():
    w = sp.Symbol("w", real=True)
    assert diagonal_penalty(2) == 2 * sp.Abs(w)
    assert sp.simplify(diagonal_penalty(4) - 4 * sp.sqrt(sp.Abs(w))) == 0
    with pytest.raises(InputError):
        diagonal_penalty(0)


def test_degree_measured_and_refused():
    th = np.random.default_rng(0).standard_normal((3, 3))
    assert homogeneity_degree(DiagonalNet(3, 3), th.ravel(), X) == pytest.approx(3, abs=1e-10)
    assert homogeneity_degree(ReLUNet(4, 2), np.random.default_rng(0).standard_normal(12), XR) == \
        pytest.approx(2, abs=1e-10)

    class Shifted(DiagonalNet):
        def predict(self, theta, X):
            return super().predict(theta, X) + 1.0
    with pytest.raises(InputError, match="not positively homogeneous"):
        homogeneity_degree(Shifted(2, 3), th[:2].ravel(), X)


def test_log_logistic_large_margin():
    m = np.array([0.0, 10.0, 800.0])
    v = log_logistic(m)
    assert v[0] == pytest.approx(np.log(np.log(2))) and v[2] == pytest.approx(-800.0)
    assert np.all(np.isfinite(v))


def test_diagonal_l2_unit_steps_reach_l1_margin_kkt():
    net = DiagonalNet(2, 3)
    th0 = 0.1 * np.random.default_rng(1).standard_normal((2, 3))
    r = run_homogeneous(net, X, Y, th0, h=0.05, steps=5_000, record=25, normalized=True)
    assert r.stationarity[-1] < 2e-3 and r.stationarity[-1] < 0.05 * r.stationarity[5]
    w = net.weights(r.thetas[-1])
    m1 = max_margin(Y[:, None] * X, 1)
    assert direction_error(w[None], m1.w)[0] < 1e-3
    assert direction_error(w[None], max_margin(Y[:, None] * X, 2).w)[0] > 0.05   # not ℓ2


def test_gd_normalized_margin_monotone_after_threshold():
    net = DiagonalNet(2, 3)
    th0 = 0.1 * np.random.default_rng(1).standard_normal((2, 3))
    r = run_homogeneous(net, X, Y, th0, h=0.1, steps=5_000, record=30)
    a = r.after_threshold()
    assert a.sum() >= 10 and np.all(np.diff(r.normalized_margin[a]) >= -1e-12)
    assert r.normalized_margin[a][-1] > r.normalized_margin[a][0]


def test_relu_kink_needs_clarke_subdifferential():
    net = ReLUNet(20, 2)
    th0 = 0.5 * np.random.default_rng(1).standard_normal(60)
    r = run_homogeneous(net, XR, YR, th0, h=0.05, steps=5_000, record=20, normalized=True)
    th = r.thetas[-1]
    st, slack, q = kkt_residual(net, th, XR, YR, 2)
    assert q > 0 and st < 2e-2 and abs(slack) < 1e-3
    # with the one-sided derivative 1[b_jᵀx > 0] at the kinks the residual stays large
    class OneSided(ReLUNet):                  # hides clarke_parts: hasattr() is False
        clarke_parts = property(lambda self: (_ for _ in ()).throw(AttributeError))
    st1, _, _ = kkt_residual(OneSided(20, 2), th, XR, YR, 2)
    assert st1 > 10 * st
