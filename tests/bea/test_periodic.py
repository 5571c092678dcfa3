"""Periodic schedules (issue 15 item 4): Lookahead, cyclic / warm-restart step sizes and
alternating GDA on two parameter groups -- the modified equation of the k-step map per unit
time (one update advances time k·h).

Every concrete field is checked against an independent derivation written here in plain
SymPy: the period map Ψ_h(θ) built from ∇L by hand, differentiated in h, and matched term by
term with the flow of F_0 + hF_1 + h²F_2 over time τh,

    φ_τh = θ + τhF + (τh)²/2 F'F + (τh)³/6 (F''(F, F) + F'F'F) + …

The generic (∇L-notation) coefficients are derived by hand in the docstrings below.
"""
from __future__ import annotations

from fractions import Fraction as Q

import numpy as np
import pytest
import sympy as sp

import ibsym as ib
from ibsym.bea.optimizers import Optimizer, get_optimizer, part
from ibsym.bea.schedules import lookahead, periodic
from ibsym.bea.update_rules import parse_update_rule
from ibsym.core.errors import InputError, ParseError

a, b, hs = sp.symbols("a b h", real=True)
POLY = "(a*b - 1)**2/2 + a**4/10"
TRANS = "exp(a/2)*b**2/2 + cos(b) + a**2/4"
GAME = "a*b + a**2/2 - b**2/4 + a**3*b/6"                  # f(a, b): a descends, b ascends
GAME_TRANS = "exp(a/2)*b + cos(a) - b**2/4"
P = {"a": 0.4, "b": -0.7}                                  # a mixed-sign point
STEPS = (0.02, 0.01, 0.005, 0.0025)


# -- the independent derivation ----------------------------------------------------------
def _grad(expr: str) -> sp.Matrix:
    L = sp.sympify(expr, locals={"a": a, "b": b})
    return sp.Matrix([sp.diff(L, a), sp.diff(L, b)])


def _at(V: sp.Matrix, x: sp.Matrix) -> sp.Matrix:
    return V.xreplace({a: x[0], b: x[1]})


def _fields(period_map, expr: str, tau: int, point: dict) -> list[np.ndarray]:
    """F_0, F_1, F_2 at ``point`` from Ψ_h = φ_τh, coefficient by coefficient:
    h:  τF_0 = D_1;   h²: τF_1 + τ²/2 F_0'F_0 = D_2;
    h³: τF_2 + τ²/2 (F_0'F_1 + F_1'F_0) + τ³/6 (F_0''(F_0, F_0) + F_0'F_0'F_0) = D_3."""
    th = sp.Matrix([a, b])
    G = _grad(expr)
    psi = period_map(th, lambda x: _at(G, x), hs)
    D = [None] + [(sp.diff(psi, hs, p) / sp.factorial(p)).xreplace({hs: 0}) for p in (1, 2, 3)]
    J = lambda V: V.jacobian(th)                                        # noqa: E731
    s = sp.Symbol("s")
    t = sp.Integer(tau)
    F0 = D[1] / t
    F1 = (D[2] - t ** 2 / 2 * J(F0) * F0) / t
    second = sp.diff(_at(F0, th + s * F0), s, 2).xreplace({s: 0})
    F2 = (D[3] - t ** 2 / 2 * (J(F0) * F1 + J(F1) * F0)
          - t ** 3 / 6 * (second + J(F0) * (J(F0) * F0))) / t
    sub = {a: sp.Float(point["a"], 30), b: sp.Float(point["b"], 30)}
    return [np.array([float(sp.N(x.xreplace(sub), 20)) for x in F]) for F in (F0, F1, F2)]


def _engine(eq, point):
    return [np.array(v, dtype=float) for v in eq.evaluate(point, h=0.1)["terms"]]


def _agree(opt, period_map, expr, tau, hyper=None):
    eq = ib.modified_equation(opt, ib.Loss.parse(expr, params="a b"), order=2, hyper=hyper or {})
    assert eq.tau == tau
    mine, ref = _engine(eq, P), _fields(period_map, expr, tau, P)
    for k in range(3):
        np.testing.assert_allclose(mine[k], ref[k], rtol=1e-10, atol=1e-12, err_msg=f"F_{k}")
    return eq, mine


def _slopes(eq, point=P, T=1.0):
    rep = ib.verify(eq, point, T=T, steps=list(STEPS))
    for k in range(eq.order + 1):
        assert abs(rep.slopes[k] - (k + 1)) < 0.15, rep.slopes
    return rep.slopes


def _hessian_gradient_coeff(F) -> sp.Expr:
    """The coefficient of ∇²L∇L in a generic field with only that term."""
    (tree, c), = F.terms.items()
    assert str(F).endswith("∇²L∇L"), str(F)
    return sp.sympify(c)


# -- Lookahead ---------------------------------------------------------------------------
def _lookahead_map(k, alpha):
    def psi(th, G, h):
        x = th
        for _ in range(k):
            x = x - h * G(x)
        return th + alpha * (x - th)
    return psi


@pytest.mark.parametrize("expr", [POLY, TRANS], ids=["poly", "trans"])
def test_lookahead_matches_the_independent_derivation(expr):
    alpha = sp.Rational(1, 3)          # k = 2: F_1 = (α/2)(1 − 2α)∇²L∇L ≠ 0
    _agree(lookahead("gd", 2), _lookahead_map(2, alpha), expr, 2, hyper={"alpha": alpha})


def test_builtin_lookahead_generic_first_correction_by_hand():
    """k GD steps: θ_k = θ − khg + h² k(k−1)/2 Hg + O(h³), so Ψ = θ − αkhg + αh² k(k−1)/2 Hg.
    Over time kh: kF_0 = −αkg and kF_1 + k²/2 α² Hg = αk(k−1)/2 Hg, hence
    F_0 = −α∇L and F_1 = (α/2)(k − 1 − kα) ∇²L∇L (α = 1: GD's −½∇²L∇L)."""
    al = sp.Symbol("alpha", positive=True)
    for k in (2, 3, 5):
        eq = ib.modified_equation("lookahead", order=1, hyper={"k": k})
        assert eq.tau == k
        assert str(eq.terms[0]) == "-(α) ∇L"
        got = _hessian_gradient_coeff(eq.terms[1])
        assert sp.simplify(got - al / 2 * (k - 1 - k * al)) == 0, (k, got)
    # k = 2, α = 1/2 has no first correction at all
    eq = ib.modified_equation("lookahead", order=1, hyper={"k": 2, "alpha": 0.5})
    assert not eq.terms[1].terms


def test_lookahead_alpha_one_is_gradient_descent():
    loss = ib.Loss.parse(TRANS, params="a b")
    la = ib.modified_equation(lookahead("gd", 3, alpha=1), loss, order=2)
    gd = ib.modified_equation("gd", loss, order=2)
    for x, y in zip(_engine(la, P), _engine(gd, P)):
        np.testing.assert_allclose(x, y, rtol=1e-13, atol=1e-14)


def test_lookahead_slopes_from_a_mixed_sign_start():
    eq = ib.modified_equation("lookahead", ib.Loss.parse(POLY, params="a b"), order=2,
                              hyper={"k": 3, "alpha": 0.5})
    _slopes(eq, T=1.2)                 # T/h a multiple of the period 3


def test_lookahead_rule_file_is_the_builtin():
    rule = parse_update_rule("""
    name = my-lookahead           # k = 3 fast GD steps, then the slow step alpha
    hyper = alpha
    period = 3
    slow = theta
    repeat 3:
        theta = theta - h*grad(theta)
    theta = slow + alpha*(theta - slow)
    """)
    assert rule.tau() == 3
    loss = ib.Loss.parse(TRANS, params="a b")
    r = ib.modified_equation(rule, loss, order=2, hyper={"alpha": 0.5})
    o = ib.modified_equation("lookahead", loss, order=2, hyper={"k": 3, "alpha": 0.5})
    for x, y in zip(_engine(r, P), _engine(o, P)):
        np.testing.assert_allclose(x, y, rtol=1e-13, atol=1e-14)
    it_r = ib.numeric.kernels.iterate(r.optimizer, loss, [0.4, -0.7], 0.05, 4)
    it_o = ib.numeric.kernels.iterate(o.optimizer, loss, [0.4, -0.7], 0.05, 4)
    np.testing.assert_allclose(it_r, it_o, rtol=1e-14)


def test_lookahead_on_heavy_ball_keeps_the_inner_state():
    la = lookahead("heavy-ball", 2, alpha=0.5)
    assert la.state_names == ("v",) and la.tau() == 2 and "beta" in la.hyper
    eq = ib.modified_equation(la, ib.Loss.parse(POLY, params="a b"), order=1,
                              hyper={"beta": 0.5})
    g = _at(_grad(POLY), sp.Matrix([sp.Rational(2, 5), sp.Rational(-7, 10)]))
    # on the slow manifold heavy ball moves by −h g/(1 − β) per step: F_0 = −α g/(1 − β)
    np.testing.assert_allclose(_engine(eq, P)[0], [float(-x) for x in g], rtol=1e-12)


# -- cyclic and warm-restart step sizes ----------------------------------------------------
def _cyclic_map(cs):
    def psi(th, G, h):
        x = th
        for c in cs:
            x = x - c * h * G(x)
        return x
    return psi


@pytest.mark.parametrize("expr", [POLY, TRANS], ids=["poly", "trans"])
def test_cyclic_step_sizes_match_the_independent_derivation(expr):
    cs = (sp.Rational(1, 2), sp.Rational(3, 2))
    _agree(periodic("gd", (Q(1, 2), Q(3, 2))), _cyclic_map(cs), expr, 2)


def test_cyclic_and_warm_restart_generic_first_correction_by_hand():
    """Steps h·c_i, i = 1..k: Ψ = θ − hΣc g + h² Σ_{i<j} c_i c_j Hg, so over time kh
    F_0 = −(Σc/k)∇L and F_1 = (Σ_{i<j} c_i c_j − (Σc)²/2)/k ∇²L∇L = −(Σc_i²)/(2k) ∇²L∇L."""
    for cs in ((Q(1, 2), Q(3, 2)), (Q(3, 2), Q(1), Q(1, 2)), tuple(Q(2 * (4 - i), 5)
                                                                  for i in range(4))):
        eq = ib.modified_equation(periodic("gd", cs), order=1)
        k = len(cs)
        assert eq.tau == k
        assert str(eq.terms[0]) == ("-∇L" if sum(cs) == k else str(eq.terms[0]))
        want = -sp.Rational(sum(c * c for c in cs)) / (2 * k)
        assert _hessian_gradient_coeff(eq.terms[1]) == want, (cs, eq.terms[1])
    eq = ib.modified_equation(periodic("gd", (Q(1, 2), Q(3, 2))), order=1)
    assert _hessian_gradient_coeff(eq.terms[1]) == sp.Rational(-5, 8)


def test_cyclic_rule_file_with_a_schedule():
    rule = parse_update_rule("""
    name = cyclic-half-three-halves
    period = 2
    schedule c = 1/2, 3/2          # step sizes h*c_i, one value per repetition
    repeat 2:
        theta = theta - c*h*grad(theta)
    """)
    loss = ib.Loss.parse(POLY, params="a b")
    r = ib.modified_equation(rule, loss, order=2)
    o = ib.modified_equation(periodic("gd", (Q(1, 2), Q(3, 2))), loss, order=2)
    for x, y in zip(_engine(r, P), _engine(o, P)):
        np.testing.assert_allclose(x, y, rtol=1e-13, atol=1e-14)


def test_cyclic_and_warm_restart_slopes():
    loss = ib.Loss.parse(TRANS, params="a b")
    _slopes(ib.modified_equation(periodic("gd", (Q(1, 2), Q(3, 2))), loss, order=2))
    warm = periodic("gd", [Q(2 * (3 - i), 4) for i in range(3)])      # 3/2, 1, 1/2: restarts
    _slopes(ib.modified_equation(warm, loss, order=2), T=1.2)


# -- alternating GDA on two parameter groups ----------------------------------------------
def _alt_gda(theta, state, grad, h, hp):
    theta = theta - h * part(grad(theta), hp["x"])         # x descends
    return theta + h * part(grad(theta), hp["y"]), {}      # y ascends, at the new x


ALT = Optimizer("alt-gda", _alt_gda, groups={"x": ("a",), "y": ("b",)})


def _alt_map(th, G, h):
    x = th[0] - h * G(th)[0]
    y = th[1] + h * G(sp.Matrix([x, th[1]]))[1]
    return sp.Matrix([x, y])


def _sim_map(th, G, h):
    g = G(th)
    return sp.Matrix([th[0] - h * g[0], th[1] + h * g[1]])


@pytest.mark.parametrize("expr", [GAME, GAME_TRANS], ids=["poly", "trans"])
def test_alternating_gda_matches_the_independent_derivation(expr):
    _agree(ALT, _alt_map, expr, 1)


def test_alternating_differs_from_simultaneous_gda_by_hand():
    """y' = y + h f_y(x − h f_x, y) = y + h f_y − h² f_xy f_x + O(h³): the h² displacement of
    alternating GDA has the extra (0, −f_xy f_x), so F_1(alt) − F_1(sim) = (0, −f_xy f_x)."""
    def sim(theta, state, grad, h, hp):
        g = grad(theta)
        return theta - h * part(g, hp["x"]) + h * part(g, hp["y"]), {}
    SIM = Optimizer("sim-gda", sim, groups={"x": ("a",), "y": ("b",)})
    loss = ib.Loss.parse(GAME_TRANS, params="a b")
    Fa = _engine(ib.modified_equation(ALT, loss, order=1), P)
    Fs = _engine(ib.modified_equation(SIM, loss, order=1), P)
    f = sp.sympify(GAME_TRANS, locals={"a": a, "b": b})
    sub = {a: sp.Rational(2, 5), b: sp.Rational(-7, 10)}
    extra = float(-(sp.diff(f, a, b) * sp.diff(f, a)).xreplace(sub))
    np.testing.assert_allclose(Fa[0], Fs[0], rtol=1e-14)
    np.testing.assert_allclose(Fa[1] - Fs[1], [0.0, extra], rtol=1e-12, atol=1e-14)
    assert abs(extra) > 0.1
    np.testing.assert_allclose(Fs, _fields(_sim_map, GAME_TRANS, 1, P)[:2], rtol=1e-10)


def test_alternating_gda_rule_file_and_slopes():
    rule = parse_update_rule("""
    name = alt-gda
    group x = a                   # the loss parameters of each player
    group y = b
    x = x - h*grad(theta)         # x descends (only x's coordinates change)
    y = y + h*grad(theta)         # y ascends, seeing the new x
    """)
    loss = ib.Loss.parse(GAME, params="a b")
    r = ib.modified_equation(rule, loss, order=2)
    o = ib.modified_equation(ALT, loss, order=2)
    for x, y in zip(_engine(r, P), _engine(o, P)):
        np.testing.assert_allclose(x, y, rtol=1e-13, atol=1e-14)
    _slopes(r)


def test_groups_need_a_concrete_loss_and_a_binding():
    with pytest.raises(InputError, match="no split of θ into groups.*concrete loss"):
        ib.modified_equation(ALT, order=1)
    with pytest.raises(InputError, match="bind it to a loss first"):
        ib.numeric.kernels.iterate(ALT, ib.Loss.parse(GAME, params="a b"), [0.1, 0.2], 0.1, 2)


# -- bad uses ------------------------------------------------------------------------------
@pytest.mark.parametrize("k", [0, -1, 2.5, "2.5"])
def test_lookahead_period_must_be_a_positive_integer(k):
    with pytest.raises(InputError, match="positive integer"):
        lookahead("gd", k)
    with pytest.raises(InputError, match="positive integer"):
        get_optimizer("lookahead", k=k)


@pytest.mark.parametrize("alpha", [0, -0.5, 1.5])
def test_lookahead_alpha_in_the_unit_interval(alpha):
    with pytest.raises(InputError, match=r"alpha=.* must be in \(0,1\]"):
        lookahead("gd", 2, alpha=alpha)
    with pytest.raises(InputError, match=r"alpha=.* must be in \(0,1\]"):
        ib.modified_equation("lookahead", order=1, hyper={"alpha": alpha})


def test_bad_periods_and_schedules():
    with pytest.raises(InputError, match="steps_per_update"):
        Optimizer("x", lambda *a: None, steps_per_update=0)
    with pytest.raises(InputError, match="positive number"):
        periodic("gd", (1, 0))
    with pytest.raises(InputError, match="empty"):
        periodic("gd", ())
    for text, msg in [
        ("period = 0\ntheta = theta - h*grad(theta)", "positive integer"),
        ("period = 2.5\ntheta = theta - h*grad(theta)", "positive integer"),
        ("repeat 2:\n    theta = theta - h*grad(theta)", "must declare 'period"),
        ("period = 2\nrepeat 0:\n    theta = theta - h*grad(theta)", "positive integer"),
        ("period = 2\nschedule c = 1, 2, 3\nrepeat 2:\n    theta = theta - c*h*grad(theta)",
         "3 values for a block repeated 2 times"),
        ("schedule c = 1, 2\ntheta = theta - c*h*grad(theta)", "outside a 'repeat"),
        ("period = 2\nrepeat 2:\ntheta = theta - h*grad(theta)", "no indented statements"),
        ("period = 4\nrepeat 2:\n    repeat 2:\n        theta = theta", "do not nest"),
        ("group x = a\ngroup x = b\nx = x - h*grad(theta)", "declared twice"),
    ]:
        with pytest.raises(ParseError, match=msg):
            parse_update_rule(text)


def test_group_errors():
    with pytest.raises(InputError, match="group x is declared twice"):
        Optimizer("g", _alt_gda, groups=(("x", ("a",)), ("x", ("b",))))
    with pytest.raises(InputError, match="parameter a is in two groups"):
        Optimizer("g", _alt_gda, groups={"x": ("a",), "y": ("a", "b")})
    three = ib.Loss.parse("a*b*c", params="a b c")
    with pytest.raises(InputError, match="parameter c is in no group"):
        ib.modified_equation(ALT, three, order=1)
    with pytest.raises(InputError, match="group y names q, not a parameter"):
        ib.modified_equation(Optimizer("g", _alt_gda, groups={"x": ("a",), "y": ("b", "q")}),
                             ib.Loss.parse(GAME, params="a b"), order=1)
    rule = parse_update_rule("group x = a\nx = x - h*grad(theta)")
    with pytest.raises(InputError, match="parameter b is in no group"):
        ib.modified_equation(rule, ib.Loss.parse(GAME, params="a b"), order=1)


def test_cli_lookahead(capsys):
    from ibsym.cli import main
    assert main(["derive", "lookahead", "--hyper", "k=2", "--order", "1"]) == 0
    assert "∇²L∇L" in capsys.readouterr().out
    assert main(["derive", "lookahead", "--hyper", "k=2.5", "--order", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert "positive integer" in err and "\n" not in err and "Traceback" not in err


def test_readme_periodic_snippets_run(tmp_path, monkeypatch):
    """The README's periodic-schedule blocks (Lookahead end to end, the rule files) run as
    written, and print what the README says."""
    from pathlib import Path
    from ibsym.core import export
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    part_ = text[text.index("Periodic schedules -- Lookahead"):text.index("### Wide ReLU")]
    blocks = [blk.split("```", 1)[0] for blk in part_.split("```python\n")[1:]]
    assert len(blocks) == 2
    monkeypatch.chdir(tmp_path)
    env = {"ib": ib, "export": export, "parse_update_rule": parse_update_rule}
    exec(compile(blocks[0], "README-lookahead", "exec"), env)     # our own file, not user text
    assert (tmp_path / "out" / "lookahead.json").is_file()
    assert np.allclose(env["rep"].slopes, (1.006, 1.997, 3.015), atol=0.01)
    F = env["eq"].evaluate({"a": 0.4, "b": -0.7})["terms"]
    np.testing.assert_allclose(F[0], [-0.4608, 0.256], atol=5e-5)
    np.testing.assert_allclose(F[1], [0.1784, -0.19], atol=5e-5)
    exec(compile(blocks[1], "README-rules", "exec"), env)
    assert env["my_lookahead"].tau() == 3
