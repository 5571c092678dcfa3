"""End-to-end dynamics and the singular-value flow against the published formulas
(formulas.md §5.1–5.3).

The derivations in ``ibsym.deep_linear.flows`` never see these formulas: they are oracles here.
"""

import pytest
import sympy as sp

from ibsym.core.errors import InputError
from ibsym.core.parsing import parse_expression
from ibsym.deep_linear import end_to_end_dynamics, singular_value_flow
from ibsym.deep_linear.symbols import LAM, PAIRING, SIGMA, N

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


def test_equals_parses_text_safely():
    assert singular_value_flow().equals("-N*(sigma^2)^(1 - 1/N)*g")
    with pytest.raises(InputError, match="unsupported construct '.system'"):
        singular_value_flow().equals("os.system")
    with pytest.raises(InputError, match="unknown name 'x'"):
        singular_value_flow().equals("x*g")
    assert isinstance(parse_expression("N*g", {"N": N, "g": PAIRING}), sp.Expr)
