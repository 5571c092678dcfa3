import numpy as np
import pytest
import sympy as sp

import ibsym as ib
from ibsym.core.errors import DivergenceError, InputError
from ibsym.numeric.kernels import compile_terms, integrate_batch, iterate, stability_threshold


def test_compiled_terms_match_exact_evaluation(rng):
    eq = ib.modified_equation("gd", ib.losses.log_cosh_regression(), order=3)
    terms = compile_terms(eq)
    pts = rng.uniform(-1, 1, size=(2, 5))
    got = terms(pts)
    for c in range(5):
        exact = eq.evaluate({"a": float(pts[0, c]), "b": float(pts[1, c])})["terms"]
        assert np.allclose(got[:, :, c], exact, rtol=1e-12, atol=1e-14)
    assert "rows ('a', 'b')" in terms.fn.__doc__


def test_iterates_of_the_traced_rule_equal_a_hand_written_gd_loop():
    loss = ib.losses.bilinear()
    th = np.array([0.3, 1.7])
    ours = iterate(ib.get_optimizer("gd"), loss, th, 0.05, 40)
    x = th.copy()
    for _ in range(40):
        a, b = x
        x = x - 0.05 * np.array([b * (a * b - 1), a * (a * b - 1)])
    assert np.allclose(ours[-1], x, rtol=0, atol=1e-15)


def test_divergence_reports_step_and_stability_threshold():
    loss = ib.Loss.parse("5*x^2 + y^2/2", "x y")   # λ_max = 10 -> 2/λ = 0.2
    assert stability_threshold(loss, np.array([1.0, 1.0])) == pytest.approx(0.2)
    with pytest.raises(DivergenceError, match=r"diverged at h=0.5 \(step \d+\).*≈ 0.2 -- try h < 0.2"):
        iterate(ib.get_optimizer("gd"), loss, [1.0, 1.0], 0.5, 200)


def test_batch_integration_of_a_linear_flow_is_exact():
    # dθ/dt = F_0 = −Aθ for a quadratic loss: exp(−tA)θ0
    A = np.array([[2.0, 0.0], [0.0, 0.5]])
    eq = ib.modified_equation("gd", ib.losses.quadratic(sp.Matrix(A).applyfunc(sp.nsimplify)), order=0)
    terms = compile_terms(eq)
    y0 = np.array([[1.0, 2.0], [1.0, -1.0]])
    t = np.linspace(0, 1, 5)
    sol = integrate_batch(terms, y0, np.ones((1, 2)), 1.0, t, rtol=1e-12, atol=1e-12)
    exact = np.exp(-t[:, None] * np.diag(A)[None, :])
    assert np.allclose(sol[:, :, 0], exact * y0[:, 0], atol=1e-10)
    assert np.allclose(sol[:, :, 1], exact * y0[:, 1], atol=1e-10)


def test_symbolic_hyper_parameters_must_be_given_before_compiling():
    from ibsym.bea.optimizers import Optimizer

    def scaled(theta, state, grad, h, hp):
        return theta - h * hp["c"] * grad(theta), {}
    opt = Optimizer("scaled", scaled, hyper=("c",))
    eq = ib.modified_equation(opt, ib.losses.bilinear(), order=1)
    with pytest.raises(InputError, match="give a value for hyper-parameter"):
        compile_terms(eq)
    eq2 = ib.modified_equation(opt, ib.losses.bilinear(), order=1, hyper={"c": 2})
    assert compile_terms(eq2)(np.array([[0.5], [1.5]]))[0, :, 0] == pytest.approx([0.75, 0.25])


def test_paths_follow_epochs_and_start_from_the_derived_initial_value():
    from ibsym.numeric.kernels import paths
    loss = ib.Loss.from_batches(["(a*b-1)^2/2", "(2*a*b+1)^2/2", "(a-b)^2/2"], "a b")
    d = paths(ib.modified_equation("sgd", loss, order=1), [0.5, 1.5], 0.01, 0.3)
    assert d["t"][-1] == pytest.approx(0.3) and len(d["t"]) == 11      # 10 epochs of 3 steps
    e0 = np.abs(d["iterates"] - d["flow_0"]).max()
    e1 = np.abs(d["iterates"] - d["flow_1"]).max()
    assert e1 < e0 / 5
    eq = ib.modified_equation("heavy-ball", ib.losses.bilinear(), order=1, hyper={"beta": 0.5})

    def err(h, shift):
        d = paths(eq, [0.3, 1.7], h, 1.0, shift=shift)
        n = len(d["t"]) // 2
        return np.abs(d["iterates"][n:] - d["flow_1"][n:]).max()

    # halving h: the shifted order-1 flow gains a factor 4 (O(h²)), the unshifted only 2
    assert err(0.01, True) / err(0.005, True) > 3.4
    assert err(0.01, False) / err(0.005, False) < 2.4


@pytest.mark.parametrize("name, hyper, oracle", [
    # formulas.md §8 (edge of stability), λ_max = 10, β = 0.5
    ("gd", {}, 2 / 10),
    ("heavy-ball", {"beta": 0.5}, (2 + 2 * 0.5) / 10),
    ("nesterov", {"beta": 0.5}, (2 + 2 * 0.5) / ((1 + 2 * 0.5) * 10)),
    ("nesterov-pytorch", {"beta": 0.5}, (2 + 2 * 0.5) / ((1 + 2 * 0.5) * 10)),
    ("heavy-ball-ema", {"beta": 0.5}, (2 + 2 * 0.5) / ((1 - 0.5) * 10)),
    # Adam with its preconditioner frozen at √ε (gradient 0): (2 + 2β)/(1 − β) · √ε/λ
    ("adam", {"beta": 0.9, "rho": 0.999, "eps": 1e-2}, 3.8 / 0.1 * 0.1 / 10),
])
def test_stability_thresholds_read_off_the_update_rule(name, hyper, oracle):
    from ibsym.numeric.kernels import update_stability_threshold
    loss = ib.losses.quadratic([[10, 0], [0, 1]])
    thr = update_stability_threshold(ib.get_optimizer(name, **hyper), loss, [1.0, 1.0])
    assert thr == pytest.approx(oracle, rel=1e-7)


def test_divergent_momentum_reports_its_own_threshold():
    loss = ib.Loss.parse("5*x^2 + y^2/2", "x y")
    with pytest.raises(DivergenceError, match=r"≈ 0.3 .*try h < 0.3"):
        iterate(ib.get_optimizer("heavy-ball", beta=0.5), loss, [1.0, 1.0], 0.4, 400)
