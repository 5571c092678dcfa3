"""The stability level read off the linearized update, per coordinate, against the oracles
(formulas.md §8 / Cohen et al. 2021) and against ibsym.numeric.kernels.update_stability_threshold."""
import numpy as np
import pytest

from ibsym import get_optimizer
from ibsym.bea.optimizers import Optimizer
from ibsym.bea.update_rules import parse_update_rule
from ibsym.core.errors import InputError
from ibsym.core.losses import Loss
from ibsym.dynamics.stability import linearized_level
from ibsym.numeric.kernels import update_stability_threshold

ETA = 0.05


def _state(opt, theta, rng):
    st = opt.initial_state(theta, None, opt.numeric_hyper() if opt.hyper else {})
    return {k: rng.normal(size=theta.shape) * 0.1 for k in st}      # an arbitrary (mixed-sign) state


@pytest.mark.parametrize("name, hyper, c", [
    ("gd", {}, 2.0),
    ("heavy-ball", {"beta": 0.9}, 3.8),
    ("heavy-ball", {"beta": 0.5}, 3.0),
    ("nesterov", {"beta": 0.9}, 3.8 / 2.8),
    ("nesterov-pytorch", {"beta": 0.5}, 3.0 / 2.0),
    ("heavy-ball-ema", {"beta": 0.5}, 3.0 / 0.5),
])
def test_isotropic_levels(name, hyper, c, rng):
    opt = get_optimizer(name, **hyper)
    theta = rng.normal(size=6)                   # negative and positive coordinates
    lv = linearized_level(opt, theta, _state(opt, theta, rng), ETA)
    assert not lv.preconditioned
    assert lv.level == pytest.approx(c / ETA, rel=1e-6)
    assert lv.spread < 1e-6
    # the same number as the threshold kernels reads off the update for its divergence message
    h_star = update_stability_threshold(opt, Loss.parse("x**2/2", "x"), [0.3])
    assert lv.level * ETA == pytest.approx(h_star, rel=1e-6)


@pytest.mark.parametrize("variant", [{}, {"eps_outside": True}])
def test_adam_preconditioned_level(variant, rng):
    beta, rho, eps = 0.9, 0.999, 1e-8
    opt = get_optimizer("adam", beta=beta, rho=rho, eps=eps, **variant)
    theta = rng.normal(size=8)
    st = {"m": rng.normal(size=8) * 1e-2, "nu": rng.uniform(1e-8, 1e-4, 8),
          "pb": np.full(8, beta ** 500), "pr": np.full(8, rho ** 500)}
    lv = linearized_level(opt, theta, st, ETA)
    assert lv.preconditioned
    assert lv.level == pytest.approx((2 + 2 * beta) / ((1 - beta) * ETA), rel=1e-5)   # 38/η
    # P⁻¹ is the update's own frozen preconditioner: 1/√(ν̂' + ε) with ν̂' one step on
    nu_hat = rho * st["nu"] / (1 - rho * st["pr"])
    P = np.sqrt(nu_hat) + eps if variant else np.sqrt(nu_hat + eps)
    assert np.allclose(lv.inv_precond * (1 - beta * st["pb"]), 1 / P, rtol=1e-5)
    assert lv.spread < 1e-4


def test_rmsprop_level_is_two_over_eta(rng):
    opt = get_optimizer("rmsprop", rho=0.99, eps=1e-8)
    theta = rng.normal(size=5)
    st = {"nu": rng.uniform(1e-6, 1e-3, 5), "pr": np.full(5, 0.99 ** 1000)}
    lv = linearized_level(opt, theta, st, ETA)
    assert lv.preconditioned and lv.level == pytest.approx(2 / ETA, rel=1e-5)


def test_rule_file_optimizer_gets_its_own_level(rng):
    rule = parse_update_rule("""
name = damped
hyper = beta
state v = 0
v = beta*v - grad(theta)
theta = theta + h*v/2
""")
    opt = rule.with_hyper(beta=0.5)
    theta = rng.normal(size=4)
    lv = linearized_level(opt, theta, {"v": np.zeros(4)}, ETA)
    # heavy ball with step h/2: level (2 + 2β)/(η/2)
    assert lv.level == pytest.approx(3.0 / (ETA / 2), rel=1e-6)


def test_non_coordinatewise_update_is_refused(rng):
    def mixing(theta, state, grad, h, hp):          # each step mixes neighbouring coordinates
        g = grad(theta)
        return theta - h * (g + 0.5 * np.roll(g, 1)), {}

    with pytest.raises(InputError, match="not coordinate-wise"):
        linearized_level(Optimizer("mixing-gd", mixing), rng.normal(size=5), {}, ETA)


def test_ascent_and_bad_step_are_refused(rng):
    ascent = Optimizer("ascent", lambda th, st, g, h, hp: (th + h * g(th), {}))
    with pytest.raises(InputError, match="does not descend"):
        linearized_level(ascent, rng.normal(size=3), {}, ETA)
    with pytest.raises(InputError, match="positive"):
        linearized_level(get_optimizer("gd"), rng.normal(size=3), {}, 0.0)


def test_per_coordinate_reduction_on_a_coupled_hessian():
    """formulas.md §8 instance: H = [[3, 1], [1, 0.5]], P = diag(2, 0.3), β₁ = 0.9:
    λ_max(P⁻¹H) = 2.87701, η* = 38/2.87701 = 13.2081; the full (θ, m) iteration has spectral
    radius 0.9487 at 0.99η* and 1.1664 at 1.01η*.  The level comes from per-coordinate
    Jacobians; the full coupled linearized update confirms it."""
    beta, rho, eps = 0.9, 0.999, 1e-8
    opt = get_optimizer("adam", beta=beta, rho=rho, eps=eps, eps_outside=True,
                        bias_correction=False)
    P = np.array([2.0, 0.3])
    theta = np.array([0.4, -0.7])
    state = {"m": np.zeros(2), "nu": (P - eps) ** 2 / rho}      # √(ρν) + ε = P after one step
    lv = linearized_level(opt, theta, state, 1.0)
    assert np.allclose(lv.inv_precond, 1 / P, rtol=1e-6)
    H = np.array([[3.0, 1.0], [1.0, 0.5]])
    lam = np.max(np.linalg.eigvals(np.diag(lv.inv_precond) @ H).real)
    assert lam == pytest.approx(2.87701, abs=1e-5)
    eta_star = lv.level * 1.0 / lam
    assert eta_star == pytest.approx(13.2081, abs=1e-3)

    hp = opt.numeric_hyper()
    grad = lambda x, batch=None: H @ (np.asarray(x) - theta)   # noqa: E731

    def radius(h):
        z0 = np.concatenate([theta, state["m"]])
        J = np.empty((4, 4))
        for k in range(4):
            e = np.zeros(4)
            e[k] = 1e-7
            out = []
            for z in (z0 + e, z0 - e):
                th, new = opt.update(z[:2], {"m": z[2:], "nu": state["nu"]}, grad, h, hp)
                out.append(np.concatenate([th, new["m"]]))
            J[:, k] = (out[0] - out[1]) / 2e-7
        return np.max(np.abs(np.linalg.eigvals(J)))

    assert radius(0.99 * eta_star) == pytest.approx(0.9487, abs=2e-4)
    assert radius(1.01 * eta_star) == pytest.approx(1.1664, abs=2e-4)
