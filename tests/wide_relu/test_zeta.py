"""Curvature penalty ζ: closed forms against published/hand-derived oracles, quadrature,
homogeneous degrees, the inverse problem and LaTeX export."""
import math

import pytest
import sympy as sp

from ibsym.wide_relu.densities import (B, W, independent, laplace, normal, parse_joint, rademacher,
                             uniform)
from ibsym.core.export import compile_latex, latex_document
from ibsym.wide_relu.design import design_initialization
from ibsym.wide_relu.radon import radon_penalty
from ibsym.wide_relu.zeta import X, curvature_penalty, homogeneous_operator

sw, sb = sp.symbols("s_w s_b", positive=True)


def _same(pen, oracle):
    names = {s.name: s for s in pen.parameters}
    oracle = oracle.xreplace({s: names.get(s.name, s) for s in oracle.free_symbols})
    return pen.equals(oracle)


def test_gaussian_closed_form_is_the_published_formula():
    """formulas.md §6.1: ζ = 2σ_w³σ_b³/(π(σ_b² + x²σ_w²)²)."""
    pen = curvature_penalty(independent(normal(0, "s_w"), normal(0, "s_b")))
    assert pen.closed_form and pen.method == "sympy"
    assert _same(pen, 2 * sw ** 3 * sb ** 3 / (sp.pi * (sb ** 2 + X ** 2 * sw ** 2) ** 2))
    assert not _same(pen, 2 * sw ** 3 * sb ** 3 / (sp.pi * (sb ** 2 + X ** 2 * sw ** 2) ** 3))


@pytest.mark.parametrize("x0, value", [(0, 2 / math.pi), (1, 1 / (2 * math.pi)), (2, 0.0254648)])
def test_standard_gaussian_values(x0, value):
    pen = curvature_penalty(weight=normal(0, 1), bias=normal(0, 1))
    assert pen.evaluate(x0) == pytest.approx(value, rel=1e-6)


def test_total_mass_is_the_second_moment_of_the_weights():
    """∫ζ = E[W²] (change of variables b = -wc)."""
    assert curvature_penalty(independent(normal(0, "s_w"), normal(0, "s_b"))).total_mass() == sw ** 2
    assert curvature_penalty(independent(laplace(0, 1), laplace(0, 1))).total_mass() == 2


def test_uniform_weights_and_biases_give_a_constant_on_the_interval():
    """Constant a_w³/(8 a_b) on |x| <= a_b/a_w (formulas.md §6.1: constant on [-L, L])."""
    pen = curvature_penalty(independent(uniform(-1, 1), uniform(-2, 2)))
    assert pen.closed_form
    for k in range(-8, 9):
        assert pen.evaluate(sp.Rational(k, 4)) == pytest.approx(1 / 16, abs=1e-15)
    assert pen.evaluate(4) == pytest.approx((1 / 16) * (2 / 4) ** 4, rel=1e-12)   # decays as x^-4


def test_binary_uniform_is_the_indicator_over_2a():
    pen = curvature_penalty(independent(rademacher(), uniform("-a", "a")))
    a = pen.parameters[0]
    assert sp.simplify(pen.expr.xreplace({X: a / 3}) - 1 / (2 * a)) == 0
    assert pen.evaluate(2.5, a=2) == 0 and pen.evaluate(-1.5, a=2) == pytest.approx(0.25)


def test_laplace_hand_derived_oracle():
    """By hand: 2 ∫_0^∞ u³ e^{-u(1+|x|)}/4 du = 3/(1+|x|)^4."""
    pen = curvature_penalty(independent(laplace(0, 1), laplace(0, 1)))
    assert pen.equals(3 / (1 + sp.Abs(X)) ** 4)


def test_correlated_joint_density_asymmetric_closed_form():
    """By hand: p(w, -wx) = √3/(4π) exp(-w²(x² - x + 1)/2) ⇒ ζ = √3/(π (x² - x + 1)²)."""
    pen = curvature_penalty(parse_joint("sqrt(3)/(4*pi)*exp(-(w^2 + b^2 + w*b)/2)"))
    assert pen.equals(sp.sqrt(3) / (sp.pi * (X ** 2 - X + 1) ** 2))
    assert pen.evaluate(0.7) != pytest.approx(pen.evaluate(-0.7))


@pytest.mark.parametrize("init", [
    independent(normal(0, 1), normal(0, 1)),
    independent(normal(0, 1), uniform(-1, 1)),
    independent(uniform(-1, 1), uniform(-2, 2)),
    independent(laplace(0, 1), normal(0, 1)),
    pytest.param(independent(normal(0.5, 1), normal(0, 2)), marks=pytest.mark.slow),
])
def test_closed_forms_agree_with_quadrature(init):
    pen = curvature_penalty(init)
    assert pen.closed_form
    for x0 in (0.0, 0.4, -1.3, 2.7):
        assert pen.evaluate(x0) == pytest.approx(pen.quadrature(x0), rel=1e-10, abs=1e-14)


def test_degree_two_gaussian_hand_oracle():
    """ζ_2 = ∫|w|^5 p(w,-wx) dw = 8/(π(1+x²)³) for W, B ~ N(0,1) (= p_C E[W⁴|C])."""
    pen = curvature_penalty(independent(normal(0, 1), normal(0, 1)), degree=2)
    assert pen.equals(8 / (sp.pi * (1 + X ** 2) ** 3))
    assert pen.total_mass() == 3        # E[W^4]


def test_fallback_to_quadrature_is_flagged_and_correct():
    init = independent(normal(0, 1), normal(0, 1))
    pen = curvature_penalty(init, symbolic=False)
    assert not pen.closed_form and "quadrature" in pen.method and "skipped" in pen.note
    assert pen.evaluate(1.0) == pytest.approx(1 / (2 * math.pi), rel=1e-12)
    assert "no closed form" in str(pen)


def test_timeout_falls_back_to_quadrature():
    pen = curvature_penalty(parse_joint("exp(-w^2 - b^2 - sin(w*b)^2)"), timeout=0.05)
    assert not pen.closed_form and "0.05 s" in pen.note
    assert pen.evaluate(0.0) == pytest.approx(pen.quadrature(0.0))
    assert pen.evaluate(0.0) == pytest.approx(1.0, rel=1e-12)   # ∫ |w|³ e^{-w²} dw = 1


def test_homogeneous_operator_inverts_the_activation():
    for k in (1, 2, 3):
        L = homogeneous_operator(k)
        assert L.apply(X ** (k + 1)) == k + 1                  # (k+1)!/k!
        assert L.apply(X ** k) == 0
        # L [x]_+^k = δ: pair with a test function φ: ∫ [x]_+^k (-1)^{k+1} φ^{(k+1)} dx / k! = φ(0)
        phi = sp.exp(-X ** 2) * (1 + X)
        pair = sp.integrate(X ** k * (-1) ** (k + 1) * sp.diff(phi, X, k + 1), (X, 0, sp.oo))
        assert sp.simplify(pair / sp.factorial(k) - phi.subs(X, 0)) == 0


def test_design_realizes_the_target_exactly():
    target = sp.Piecewise((1 + X ** 2, sp.Abs(X) < 1), (0, True))
    d = design_initialization(target)
    assert d.realizes_target()
    assert sp.integrate(d.breakpoint_density, (X, -sp.oo, sp.oo)) == 1
    assert d.mass == sp.Rational(8, 3) and d.scale ** 2 == sp.Rational(8, 3)
    dn = design_initialization(sp.exp(-X ** 2), weight=normal(0, 1))
    assert dn.realizes_target()
    loose = design_initialization(sp.exp(-X ** 2), exact_scale=False)
    assert loose.penalty.equals(sp.exp(-X ** 2) / sp.sqrt(sp.pi))   # p_C E[W²], E[W²] = 1


def test_design_rejects_non_integrable_targets():
    from ibsym.core.errors import InputError
    with pytest.raises(InputError, match="finite positive integral"):
        design_initialization(1 + X ** 2)


def test_radon_form_reduces_to_zeta_in_one_dimension():
    """d = 1: Σ_{s=±1} ∫_0^∞ r³ p(rs, -rc) dr = ζ(c)."""
    r, c = sp.symbols("r c", positive=True)
    init = independent(normal(0, 1), normal(0, 1))
    p = init.joint_density()
    total = sum(sp.integrate(r ** 3 * p.xreplace({W: r * s, B: -r * c}), (r, 0, sp.oo))
                for s in (1, -1))
    assert sp.simplify(total - 2 / (sp.pi * (1 + c ** 2) ** 2)) == 0
    rp = radon_penalty()
    assert "mathcal{R}" in rp.to_latex() and "d + 2" in rp.to_latex()


def test_exports_compile_and_json_is_complete(tmp_path):
    pen = curvature_penalty(independent(normal(0, "s_w"), normal(0, "s_b")))
    d = pen.to_dict()
    assert d["schema"] == "ibsym/zeta" and d["closed_form"] is True
    assert d["latex"] == pen.to_latex() and "zeta" in d["latex"]
    assert "\\min_{g}" in pen.variational_problem().to_latex()
    smooth = pen.variational_problem(smoothing=True).to_latex()
    assert "\\bar{\\eta}" in smooth and "\\sum_{j=1}^{m}" in smooth
    assert "λ = 1/(η̄ t)" in str(pen.variational_problem(smoothing=True))
    design = design_initialization(sp.exp(-X ** 2))
    doc = latex_document("zeta", [("zeta", pen.to_latex()),
                                  ("problem", pen.variational_problem().to_latex()),
                                  ("smoothing", smooth),
                                  ("operator", homogeneous_operator(2).to_latex()),
                                  ("radon", radon_penalty().to_latex()),
                                  ("design", design.to_latex()),
                                  ("uniform", curvature_penalty(independent(
                                      uniform(-1, 1), uniform(-2, 2))).to_latex())])
    assert compile_latex(doc, outdir=tmp_path).exists()
