"""Optimizers with memory: fields, slow manifolds and initial values against published oracles
(``shared/formulas.md`` §1, §4) and against the discrete iterates."""
import numpy as np
import pytest
import sympy as sp

import ibsym as ib
from ibsym.core.errors import InputError
from ibsym.numeric.jets import initial_shift
from ibsym.bea.trees import LEAF

beta, rho, eps = (sp.Symbol(n, positive=True) for n in ("beta", "rho", "eps"))
HG = ((),)  # the tree ∇²L∇L


def _coef(comb, tree):
    return sp.factor(comb.coefficient(tree))


def test_heavy_ball_generic_matches_ghosh_et_al():
    eq = ib.modified_equation("heavy-ball", order=2)
    # Ghosh, Lyu, Zhang & Wang (ICLR 2023) Thm 4.1: −∇E/(1−β) − h(1+β)/(2(1−β)³) ∇²E∇E
    assert sp.simplify(_coef(eq.terms[0], LEAF) + 1 / (1 - beta)) == 0
    assert sp.simplify(_coef(eq.terms[1], HG) + (1 + beta) / (2 * (1 - beta) ** 3)) == 0
    ml = eq.modified_loss()
    assert ml.valid_order == 1
    assert sp.simplify(ml.potentials[0].coefficient(LEAF) - 1 / (1 - beta)) == 0
    assert sp.simplify(ml.potentials[1].coefficient(((),)) - (1 + beta) / (4 * (1 - beta) ** 3)) == 0
    assert eq.is_gradient_field(2) is False
    # initial value: θ̃(0) = θ_0 + h β/(1−β)² ∇E (formulas.md §4.1)
    assert sp.simplify(_coef(eq.initial_shift[1], LEAF) - beta / (1 - beta) ** 2) == 0
    # slow manifold of the velocity (θ_n − θ_{n−1})/h: −∇E/(1−β) + O(h)
    (name, M), = eq.slow_manifold
    assert name == "v" and sp.simplify(_coef(M[0], LEAF) + 1 / (1 - beta)) == 0


@pytest.mark.parametrize("name", ["heavy-ball", "nesterov", "nesterov-pytorch", "heavy-ball-ema"])
def test_momentum_reduces_to_gd_at_beta_zero(name):
    eq = ib.modified_equation(name, order=3, hyper={"beta": 0})
    gd = ib.modified_equation("gd", order=3)
    for a, b in zip(eq.terms, gd.terms):
        assert a == b
    assert not eq.initial_shift[1]


def test_heavy_ball_worked_instance():
    # formulas.md §4.1: β = 0.9, h = 0.01 at (0.5, 1.5): F_0 = (3.75, 1.25), hF_1 = (8.609375, 2.078125),
    # shift h β/(1−β)² ∇E = (−0.3375, −0.1125)
    eq = ib.modified_equation("heavy-ball", ib.losses.bilinear(), order=1, hyper={"beta": 0.9})
    v = eq.evaluate({"a": 0.5, "b": 1.5}, h=0.01)
    assert np.allclose(v["terms"][0], [3.75, 1.25])
    assert np.allclose(0.01 * np.array(v["terms"][1]), [8.609375, 2.078125])
    s = initial_shift(eq, [0.5, 1.5], closed_form=False)     # from the numeric transient
    assert np.allclose(0.01 * s[1], [-0.3375, -0.1125])
    exact = eq.initial_shift[1].xreplace({sp.Symbol("a", real=True): sp.Rational(1, 2),
                                          sp.Symbol("b", real=True): sp.Rational(3, 2)})
    assert np.allclose([float(x) for x in exact], s[1], rtol=1e-10)
    assert np.allclose(initial_shift(eq, [0.5, 1.5])[1], s[1], rtol=1e-10)


ADAM_POINT = {"a": 0.5, "b": 1.5}


def test_adam_first_order_field_matches_cattaneo_et_al_instance():
    # formulas.md §1.3, worked instance 1: β=0.5, ρ=0.8, ε=0.1 at (0.5, 1.5)
    loss = ib.losses.bilinear()
    eq = ib.modified_equation("adam", loss, order=1, hyper={"beta": 0.5, "rho": 0.8, "eps": 0.1})
    t = eq.evaluate(ADAM_POINT)["terms"]
    assert np.allclose(t[0], [0.764471, 0.367607], atol=1e-6)
    assert np.allclose(t[1], [-4.385245, 1.243628], atol=1e-6)
    rms = ib.modified_equation("rmsprop", loss, order=1, hyper={"rho": 0.8, "eps": 0.1})
    assert np.allclose(rms.evaluate(ADAM_POINT)["terms"][1], [-8.266438, -0.150743], atol=1e-6)
    # bias correction: the transient cancels at first order
    assert all(x == 0 for x in eq.initial_shift[1])


def test_adam_symbolic_first_order_equals_the_boxed_formula():
    # F_1,j = (1+ρ)/(2(1−ρ)) g_j² S_j/N_j³ − (1+β)/(2(1−β)) S_j/N_j, S_j = Σ_i H_ij g_i/N_i
    loss = ib.losses.bilinear()
    eq = ib.modified_equation("adam", loss, order=1)
    g = loss.gradient()
    H = loss.hessian()
    N = [sp.sqrt(gi ** 2 + eps) for gi in g]
    S = [sum(H[i, j] * g[i] / N[i] for i in range(2)) for j in range(2)]
    oracle = [(1 + rho) / (2 * (1 - rho)) * g[j] ** 2 * S[j] / N[j] ** 3
              - (1 + beta) / (2 * (1 - beta)) * S[j] / N[j] for j in range(2)]
    pts = [{"a": sp.Rational(1, 2), "b": sp.Rational(3, 2)}, {"a": sp.Rational(-2, 3), "b": sp.Rational(1, 5)}]
    hyp = {beta: sp.Rational(3, 10), rho: sp.Rational(9, 10), eps: sp.Rational(1, 7)}
    for pt in pts:
        sub = {sp.Symbol(k, real=True): v for k, v in pt.items()} | hyp
        for j in range(2):
            assert abs(sp.N((eq.terms[1][j] - oracle[j]).xreplace(sub), 30)) < 1e-25
        assert abs(sp.N((eq.terms[0][0] + g[0] / N[0]).xreplace(sub), 30)) < 1e-25


@pytest.mark.parametrize("hyper, F0, F1", [
    ({"beta": 0.5, "rho": 0.8, "eps": 0.1}, -0.953463, 7.066116),
    ({"beta": 0.9, "rho": 0.999, "eps": 1e-8}, None, 2969.99994),
])
def test_adam_one_dimensional_instances(hyper, F0, F1):
    loss = ib.Loss.parse("x^4/4", "x")
    eq = ib.modified_equation("adam", loss, order=1, hyper=hyper)
    t = eq.evaluate({"x": 1.0})["terms"]
    if F0 is not None:
        assert t[0][0] == pytest.approx(F0, abs=1e-6)
    assert t[1][0] == pytest.approx(F1, rel=1e-7)


def test_adam_without_bias_correction_needs_a_shift():
    loss = ib.losses.bilinear()
    hyp = {"beta": 0.5, "rho": 0.6, "eps": 0.2}
    eq = ib.modified_equation(ib.get_optimizer("adam", bias_correction=False, **hyp), loss, order=1)
    assert eq.optimizer.name == "adam[no-bias-correction]"
    s = initial_shift(eq, [0.5, 1.5])
    assert np.linalg.norm(s[1]) > 0.1          # an O(h) shift
    # the symbolic s_1 is an exact (unevaluated) sum over the transient; it agrees with the jets
    exact = eq.initial_shift[1]
    assert all(isinstance(x, sp.Sum) for x in exact)
    sub = {sp.Symbol("a", real=True): sp.Rational(1, 2), sp.Symbol("b", real=True): sp.Rational(3, 2)}
    vals = [float(sp.N(x.xreplace(sub), 20)) for x in exact]
    assert np.allclose(vals, s[1], rtol=1e-8)
    rep = ib.verify(eq, {"a": 0.3, "b": 1.7}, T=0.5, steps=[0.01, 0.005, 0.0025, 0.00125])
    assert rep.passed, rep.table()


def test_eps_outside_variant_differs_at_first_order():
    loss = ib.losses.bilinear()
    hyp = {"beta": 0.5, "rho": 0.6, "eps": 0.1}
    out = ib.modified_equation(ib.get_optimizer("adam", eps_outside=True, **hyp), loss, order=1)
    # F_0 = −g/(|g| + ε) (formulas.md §1.6)
    t = out.evaluate(ADAM_POINT)["terms"]
    assert np.allclose(t[0], [0.375 / 0.475, 0.125 / 0.225])
    rep = ib.verify(out, {"a": 0.3, "b": 1.7}, T=0.5, steps=[0.01, 0.005, 0.0025, 0.00125])
    assert rep.passed, rep.table()


STEPS_MOMENTUM = ([0.02, 0.01, 0.005, 0.0025], 1.0)
STEPS_ADAPTIVE = ([0.01, 0.005, 0.0025, 0.00125], 0.5)
LOSSES = {
    "bilinear": ib.losses.bilinear(),
    "logcosh": ib.losses.log_cosh_regression(),
    "quad-sin": ib.Loss.parse("(a*b - 1)^2/2 + sin(a)/5", "a b"),
}
CASES = [
    ("heavy-ball", {"beta": 0.5}, STEPS_MOMENTUM),
    ("heavy-ball-ema", {"beta": 0.5}, STEPS_MOMENTUM),
    ("nesterov", {"beta": 0.5}, STEPS_MOMENTUM),
    ("nesterov-pytorch", {"beta": 0.5}, STEPS_MOMENTUM),
    ("rmsprop", {"rho": 0.6, "eps": 0.2}, STEPS_ADAPTIVE),
    ("adam", {"beta": 0.5, "rho": 0.6, "eps": 0.2}, STEPS_ADAPTIVE),
]


@pytest.mark.parametrize("loss_name", list(LOSSES))
@pytest.mark.parametrize("name, hyper, ladder", CASES, ids=[c[0] for c in CASES])
def test_second_order_slopes_from_the_true_initial_state(name, hyper, ladder, loss_name):
    steps, T = ladder
    eq = ib.modified_equation(name, LOSSES[loss_name], order=2, hyper=hyper)
    rep = ib.verify(eq, {"a": 0.3, "b": 1.7}, T=T, steps=steps)
    for k, s in zip(rep.orders, rep.slopes):
        assert abs(s - (k + 1)) <= 0.15, (name, loss_name, k, s, rep.table())
    assert not rep.warnings


def test_without_the_shift_momentum_only_reaches_first_order():
    eq = ib.modified_equation("heavy-ball", ib.losses.bilinear(), order=1, hyper={"beta": 0.5})
    steps, T = STEPS_MOMENTUM
    good = ib.verify(eq, {"a": 0.3, "b": 1.7}, T=T, steps=steps)
    assert good.slopes[1] == pytest.approx(2, abs=0.15)
    bad = ib.verify(eq, {"a": 0.3, "b": 1.7}, T=T, steps=steps, shift=False)
    assert bad.slopes[1] < 1.3 and not bad.passed


def test_regime_warning_outside_the_expansion():
    eq = ib.modified_equation("adam", ib.losses.bilinear(), order=1,
                              hyper={"beta": 0.9, "rho": 0.95, "eps": 1e-4})
    rep = ib.verify(eq, {"a": 0.3, "b": 1.7}, T=0.08, steps=[0.04, 0.02])
    assert any("relaxation" in w and "1 − r" in w for w in rep.warnings)
    assert any("asymptotic regime" in w for w in rep.warnings)


def test_state_map_that_does_not_contract_is_refused():
    def adagrad(theta, state, grad, h, hp):
        g = grad(theta)
        s = state["s"] + g * g
        return theta - h * g / ib.bea.optimizers.sqrt(s + 1), {"s": s}

    opt = ib.Optimizer("adagrad", adagrad, state_names=("s",))
    with pytest.raises(InputError, match="does not contract"):
        ib.modified_equation(opt, ib.losses.bilinear(), order=1)


def test_adam_at_beta_zero_is_rmsprop():
    loss = ib.losses.bilinear()
    hyp = {"rho": 0.6, "eps": 0.2}
    a = ib.modified_equation("adam", loss, order=2, hyper={"beta": 0, **hyp})
    r = ib.modified_equation("rmsprop", loss, order=2, hyper=hyp)
    pt = {"a": 0.4, "b": 1.3}
    assert np.allclose(a.evaluate(pt)["terms"], r.evaluate(pt)["terms"], rtol=1e-13)
