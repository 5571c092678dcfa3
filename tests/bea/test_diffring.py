import pytest
import sympy as sp

from ibsym.bea.diffring import DiffRing
from ibsym.core.errors import NotDifferentiableError

a, b = sp.symbols("a b", real=True)

LOSSES = [
    sp.log(sp.cosh(a * b - 1)) + (1 - sp.cos(a)) / 2,
    sp.sqrt(1 + a ** 2 * b ** 2) + sp.atan(a) + sp.pi * sp.exp(-b ** 2),
    sp.asinh(a * b) + 1 / (1 + a ** 2) + sp.tanh(b) ** 3,
    (1 + a ** 2) ** sp.Rational(-3, 2) * b,
]


@pytest.mark.parametrize("L", LOSSES)
def test_ring_derivatives_match_sympy(L):
    R = DiffRing.from_expressions([L], (a, b))
    p = R.from_sympy(L)
    assert sp.simplify(R.to_sympy(p) - L) == 0
    for i, x in enumerate((a, b)):
        for j, y in enumerate((a, b)):
            d = R.diff(R.diff(p, i), j)
            assert sp.simplify(R.to_sympy(d) - sp.diff(L, x, y)) == 0


def test_polynomial_loss_has_no_atoms():
    R = DiffRing.from_expressions([(a * b - 1) ** 2 / 2], (a, b))
    assert R.is_polynomial and R.atoms == ()


def test_kinks_are_refused():
    with pytest.raises(NotDifferentiableError, match="not differentiable"):
        DiffRing.from_expressions([sp.Abs(a) + b ** 2], (a, b))
