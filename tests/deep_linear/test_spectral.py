"""Symbolic deep-linear-network dynamics against the published formulas (formulas.md §5, §2.1).

The derivations in ``ibsym.deep_linear.spectral`` never see these formulas: they are oracles here.
"""
import math

import mpmath
import pytest
import sympy as sp

from ibsym.core.errors import InputError
from ibsym.core.parsing import parse_expression
from ibsym.deep_linear.spectral import (LAM, N, PAIRING, S, SIGMA, SIGMA0, T, end_to_end_dynamics,
                            finite_step_flow, mode_solution, singular_value_at,
                            singular_value_flow, solve_flow, time_to_learn)

j = sp.Symbol("j", integer=True, positive=True)
sr, sq = sp.symbols("sigma_r sigma_q", positive=True)


def _zero(e) -> bool:
    return sp.simplify(sp.powsimp(sp.expand_power_base(sp.expand(e), force=True), force=True)) == 0


# ---------------------------------------------------------------------------- end-to-end
def test_aligned_mode_rate_is_the_published_singular_value_flow():
    e = end_to_end_dynamics()
    published = -N * (SIGMA ** 2) ** (1 - 1 / N) * PAIRING          # formulas.md §5.3
    assert _zero(e.mode_rate - published)
    assert e.balancedness_rate == 0                                    # §5.1: conserved


def test_weight_decay_term_and_balancedness_residual():
    e = end_to_end_dynamics(weight_decay="lambda")
    # §5.2: the end-to-end equation gains −Nλ W_e; the imbalance obeys Ḋ = −2λD
    assert _zero(e.mode_rate - (-N * SIGMA ** (2 - 2 / N) * PAIRING - N * LAM * SIGMA))
    assert sp.simplify(e.balancedness_rate + 2 * LAM * sp.Symbol("D_k")) == 0
    e3 = end_to_end_dynamics(3, weight_decay=sp.Rational(1, 10))
    assert _zero(e3.frame_diagonal - (-3 * sr ** sp.Rational(4, 3) * sp.Symbol("G_rq")
                                      - sp.Rational(3, 10) * sr))


def test_exponents_are_the_published_ones_after_reindexing():
    e = end_to_end_dynamics()
    # published: (W W^T)^{(j-1)/N} ∇L (W^T W)^{(N-j)/N}; ours is the same sum with j → N+1-j
    assert sp.simplify(e.left_exponent.subs(j, N + 1 - j) - (j - 1) / N) == 0
    assert sp.simplify(e.right_exponent.subs(j, N + 1 - j) - (N - j) / N) == 0


def test_frame_sum_equals_the_published_sum_for_symbolic_depth():
    e = end_to_end_dynamics()
    G = sp.Symbol("G_rq")
    published = -G * sp.Sum(sr ** (2 * (j - 1) / N) * sq ** (2 * (N - j) / N), (j, 1, N))
    assert _zero(e.frame_diagonal - published.xreplace({sq: sr}).doit())
    # off-diagonal closed form vs the published sum, numerically for N = 1..6
    for n in range(1, 7):
        for a, b in ((0.7, 1.9), (2.5, 0.3), (1.1, 1.2)):
            rep = {N: n, sr: sp.Float(a), sq: sp.Float(b), G: 1}
            direct = float(published.xreplace({N: n}).doit().xreplace(rep))
            closed = float(e.frame_offdiagonal.xreplace(rep))
            assert closed == pytest.approx(direct, rel=1e-12), (n, a, b)


def test_matrix_and_kronecker_forms_print_the_derived_exponents():
    e = end_to_end_dynamics()
    tex = e.to_latex()
    assert r"\sum_{j=1}^{N}" in tex and r"\frac{N - j}{N}" in tex and r"\frac{j - 1}{N}" in tex
    assert r"\otimes" in e.kronecker_latex()
    assert len(e.steps_latex()) == 10
    d = e.to_dict()
    assert d["schema"] == "ibsym/end-to-end-dynamics" and d["left_exponent"] == "(N - j)/N"


# ---------------------------------------------------------------------------- σ-flow
@pytest.mark.parametrize("n, expected", [
    (1, "-g"), (2, "-2*sigma*g"), (3, "-3*sigma^(4/3)*g"), (4, "-4*sigma^(3/2)*g")])
def test_singular_value_flow_at_concrete_depths(n, expected):
    assert singular_value_flow(n).equals(expected)


def test_whitened_flow_is_saxes_equation_and_its_depth_n_form():
    assert singular_value_flow(2).whitened().equals("2*sigma*(s - sigma)")     # τu̇ = 2u(s−u)
    assert singular_value_flow().whitened().equals("N*sigma^(2 - 2/N)*(s - sigma)")
    assert not singular_value_flow().whitened().equals("N*sigma^(2 - 1/N)*(s - sigma)")
    assert singular_value_flow(3).whitened(2).evaluate(1) == pytest.approx(3.0)


def test_flow_printing_and_json():
    f = singular_value_flow()
    assert str(f) == "dσ/dt = -N*sigma**(2 - 2/N)*⟨∇L(W), u vᵀ⟩"
    assert r"\left\langle \nabla L(W_e)" in f.to_latex()
    assert f._repr_latex_().startswith("$\\displaystyle")
    assert f.to_dict()["schema"] == "ibsym/singular-value-flow"


# ---------------------------------------------------------------------------- solutions
def test_closed_forms_equal_the_published_ones():
    one, two = solve_flow(1), solve_flow(2)
    assert sp.simplify(one.sigma_expr - (S + (SIGMA0 - S) * sp.exp(-T))) == 0
    saxe = S * sp.exp(2 * S * T) / (sp.exp(2 * S * T) - 1 + S / SIGMA0)   # formulas.md §5.4
    assert sp.simplify(two.sigma_expr - saxe) == 0
    saxe_time = sp.log(SIGMA * (S - SIGMA0) / (SIGMA0 * (S - SIGMA))) / (2 * S)
    vals = {SIGMA: sp.Rational(2, 3), S: 1, SIGMA0: sp.Rational(1, 50)}
    assert float(two.time_expr.xreplace(vals)) == pytest.approx(float(saxe_time.xreplace(vals)),
                                                                 rel=1e-13)


def test_saxe_instances():
    sol = solve_flow(2)
    assert sol.sigma_at(1, target=3, sigma0="1/1000") == pytest.approx(0.3557124789, abs=1e-10)
    assert sol.sigma_at(2, target=3, sigma0="1/1000") == pytest.approx(2.9457206986, abs=1e-10)
    assert solve_flow(2).time("1/2", target=1, sigma0="1/100") == pytest.approx(2.29755992507,
                                                                                abs=1e-11)
    assert solve_flow(3).time("1/2", target=1, sigma0="1/100") == pytest.approx(3.76803678108,
                                                                                abs=1e-11)


def test_depth_three_antiderivative_is_the_published_one():
    w = sp.Symbol("w", positive=True)
    pub = (-1 / w + sp.log(w ** 2 + w + 1) / 6 - sp.log(1 - w) / 3
           - sp.atan((2 * w + 1) / sp.sqrt(3)) / sp.sqrt(3))
    ours = solve_flow(3).antiderivative.xreplace({sp.Symbol("w", positive=True): w})
    for a, b in ((0.1, 0.5), (0.2, 0.9), (0.05, 0.3)):
        d_ours = float(ours.subs(w, b) - ours.subs(w, a))
        d_pub = float(pub.subs(w, b) - pub.subs(w, a))
        assert d_ours == pytest.approx(d_pub, rel=1e-13)


def test_general_depth_lerch_form_agrees_with_integer_depths():
    general = solve_flow().time_expr
    for n in (3, 4, 6, 7):              # depth 7: SymPy returns a RootSum → mpmath quadrature
        for s, s0, x in ((1, "1/100", "1/2"), (2, "1/10", "3/2")):
            v = general.xreplace({N: n, S: sp.sympify(s), SIGMA0: sp.Rational(s0),
                                  SIGMA: sp.Rational(x)})
            assert float(sp.re(sp.N(v, 30))) == pytest.approx(
                solve_flow(n).time(x, target=s, sigma0=s0), rel=1e-12)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 6])
@pytest.mark.parametrize("s0", ["1/100", "5/2"])        # from below and from above s = 1
def test_sigma_at_inverts_the_time_and_solves_the_ode(n, s0):
    sol = solve_flow(n)
    for t in (0.3, 1.7):
        x = sol.sigma_at(t, target=1, sigma0=s0)
        assert sol.time(x, target=1, sigma0=s0) == pytest.approx(t, rel=1e-9)
    # an independent route: mpmath's ODE solver on the derived flow
    f = sp.lambdify(SIGMA, sol.flow.rhs.xreplace({S: 1}), modules="mpmath")
    y = mpmath.odefun(lambda _t, y: f(y), 0, mpmath.mpf(sp.Rational(s0)))
    assert sol.sigma_at(1.2, target=1, sigma0=s0) == pytest.approx(float(y(1.2)), rel=1e-10)


def test_fixed_points_and_the_saddle():
    assert singular_value_at(3, 2, 0, 5.0) == 0.0          # σ = 0 is a saddle for N ≥ 2
    assert singular_value_at(1, 2, 0, 1.0) == pytest.approx(2 * (1 - math.exp(-1)))
    assert singular_value_at(4, 2, 2, 3.0) == 2.0
    assert solve_flow(3).time(2, target=2, sigma0="1/10") == math.inf


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


# ---------------------------------------------------------------------------- BEA bridge
def test_finite_step_depth_one_is_the_exact_gd_rate():
    # GD on (s − w)²/2: w_{n+1} − s = (1 − h)(w_n − s) ⇒ rate log(1 − h)/h = −1 − h/2 − …
    fs = finite_step_flow(1, 2)
    assert sp.simplify(fs.flow0 - (2 - SIGMA)) == 0
    assert sp.simplify(fs.flow1 - (2 - SIGMA) / 2) == 0


@pytest.mark.parametrize("n", [2, 3])
def test_finite_step_matches_the_barrett_dherin_modified_loss(n):
    """Second implementation: −∇(L + h/4 ‖∇L‖²) on the layers (formulas.md §2.1), reduced."""
    fs = finite_step_flow(n, sp.Rational(3, 2))
    ws = sp.symbols(" ".join(f"w{k}" for k in range(1, n + 1)), real=True)
    L = (sp.Rational(3, 2) - sp.Mul(*ws)) ** 2 / 2
    g = [sp.diff(L, w) for w in ws]
    reg = sum(x ** 2 for x in g) / 4
    F1 = [-sp.diff(reg, w) for w in ws]
    c = SIGMA ** sp.Rational(1, n)
    rate = sum(sp.diff(sp.Mul(*ws), w) * f for w, f in zip(ws, F1)).xreplace({w: c for w in ws})
    assert _zero(rate - fs.flow1)
    assert fs.invariant and fs.agrees


def test_finite_step_general_depth_formula():
    fs = finite_step_flow(4, 2)
    assert fs.agrees and fs.invariant
    # the h-correction vanishes at σ = s and at σ = (N−1)s/(2N−1), and slows early growth
    g1 = fs.general1
    for n in range(2, 7):               # (N = 1: the second root is σ = 0, cancelled by σ^{-1})
        rep = {N: n, S: sp.Rational(3, 2)}
        for root in (S, (N - 1) * S / (2 * N - 1)):
            assert sp.simplify(g1.xreplace(rep).xreplace({SIGMA: root.xreplace(rep)})) == 0
    assert float(g1.xreplace({N: 3, S: 1, SIGMA: sp.Rational(1, 10)})) < 0
    assert "O(h^{2})" in fs.to_latex() and fs.to_dict()["agrees"] is True


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


def test_equals_parses_text_safely():
    assert singular_value_flow().equals("-N*(sigma^2)^(1 - 1/N)*g")
    with pytest.raises(InputError, match="unsupported construct '.system'"):
        singular_value_flow().equals("os.system")
    with pytest.raises(InputError, match="unknown name 'x'"):
        singular_value_flow().equals("x*g")
    assert isinstance(parse_expression("N*g", {"N": N, "g": PAIRING}), sp.Expr)
