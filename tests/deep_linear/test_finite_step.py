"""The finite-step (BEA) correction of the singular-value flow against a second
implementation (the modified loss of formulas.md §2.1)."""

import pytest
import sympy as sp

from ibsym.deep_linear import finite_step_flow
from ibsym.deep_linear.symbols import SIGMA, N, S


def _zero(e) -> bool:
    return sp.simplify(sp.powsimp(sp.expand_power_base(sp.expand(e), force=True), force=True)) == 0


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
