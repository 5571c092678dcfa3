"""The built-ins of issue 15 (sam, nsam, adamw, lion, rmsprop-nu0): one rule each.

Memoryless ones are checked against the independent SymPy Taylor matching of
tests/bea/test_reductions.py to order 2; the stateful ones against their leading field
written by hand; all verify with slopes k + 1 (orders 0-2) from the true initial state.
"""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import ibsym as ib
from ibsym.bea.optimizers import OPTIMIZERS, get_optimizer
from tests.bea.test_reductions import (P_POLY, P_TRANS, POLY, TRANS, _check, _gradient,
                                       _sym_norm)
from ibsym.core.errors import InputError

a, b = sp.symbols("a b", real=True)


def test_registered_with_their_update_in_help():
    from ibsym.cli._common import optimizer_help
    text = optimizer_help()
    for name in ("sam", "nsam", "adamw", "lion", "rmsprop-nu0"):
        assert name in OPTIMIZERS
        assert f"  {name} [hyper:" in text and OPTIMIZERS[name].rule in text


def test_sam_fixed_radius_matches_the_independent_derivation():
    rho = sp.Rational(1, 20)
    _check(get_optimizer("sam"), lambda th, G, h: th - h * G(th + rho * G(th)),
           TRANS, P_TRANS, order=2, hyper={"rho": rho})


@pytest.mark.slow           # ~70 s: the independent SymPy derivation of D_3 (nested roots)
def test_nsam_fixed_radius_matches_the_independent_derivation_to_order_2():
    rho = sp.Rational(1, 20)
    _check(get_optimizer("nsam"),
           lambda th, G, h: th - h * G(th + rho * G(th) / _sym_norm(G(th))),
           POLY, P_POLY, order=2, hyper={"rho": rho})


def test_fixed_radius_builtins_refuse_the_generic_loss():
    for name in ("sam", "nsam"):
        with pytest.raises(InputError, match="concrete loss"):
            ib.modified_equation(name, order=1, hyper={"rho": 0.05})


def _slopes(eq, point, steps=(0.02, 0.01, 0.005, 0.0025)):
    rep = ib.verify(eq, point, T=0.5, steps=list(steps))
    for k in range(eq.order + 1):
        assert abs(rep.slopes[k] - (k + 1)) < 0.15, rep.slopes
    return rep.slopes


def _F0(expr, point, field):
    g = _gradient(expr)
    sub = {a: sp.Rational(str(point["a"])), b: sp.Rational(str(point["b"]))}
    return np.array([float(sp.N(x.xreplace(sub), 20)) for x in field(g, sp.Matrix([a, b]))])


STATEFUL = [
    ("adamw", {"beta": 0.5, "rho": 0.6, "eps": 1, "lam": sp.Rational(1, 10)},
     lambda g, th: -(g.applyfunc(lambda x: x / sp.sqrt(x ** 2 + 1)) + th / 10)),
    ("lion", {"beta": 0.5, "rho": 0.6, "eps": sp.Rational(1, 5)},
     lambda g, th: -g.applyfunc(lambda x: x / sp.sqrt(x ** 2 + sp.Rational(1, 5)))),
    ("rmsprop-nu0", {"rho": 0.5, "eps": 1},
     lambda g, th: -g.applyfunc(lambda x: x / sp.sqrt(x ** 2 + 1))),
]


@pytest.mark.parametrize("name, hyper, field", STATEFUL, ids=[c[0] for c in STATEFUL])
def test_stateful_builtins_leading_field_and_slopes(name, hyper, field):
    eq = ib.modified_equation(name, ib.Loss.parse(TRANS, params="a b"), order=2, hyper=hyper)
    F = [np.array(t, dtype=float) for t in eq.evaluate(P_TRANS, h=0.1)["terms"]]
    np.testing.assert_allclose(F[0], _F0(TRANS, P_TRANS, field), rtol=1e-12)
    _slopes(eq, P_TRANS)


def test_adamw_without_decay_is_adam():
    """AdamW's update is Adam's minus hλθ_n: with λ = 0 it is Adam, term by term."""
    loss = ib.Loss.parse(POLY, params="a b")
    hy = {"beta": 0.5, "rho": 0.6, "eps": 1}
    Fa = ib.modified_equation("adam", loss, order=1, hyper=hy).evaluate(P_POLY)["terms"]
    Fw = ib.modified_equation("adamw", loss, order=1, hyper={**hy, "lam": 0}).evaluate(
        P_POLY)["terms"]
    np.testing.assert_allclose(np.array(Fw, dtype=float), np.array(Fa, dtype=float),
                               rtol=1e-14)


def test_rmsprop_nu0_starts_on_the_squared_gradient():
    opt = get_optimizer("rmsprop-nu0", rho=0.5, eps=1)
    st = opt.initial_state(np.array([0.3, -0.8]), lambda x: np.array([2.0, -3.0]), {})
    np.testing.assert_array_equal(st["nu"], [4.0, 9.0])
