"""Declared hyper-parameter domains (issue 17 item 8: ``eps=-1`` was accepted for Adam).

One mechanism: an :class:`Optimizer` declares ``hyper_domains`` and ``with_hyper`` checks
every numeric value against it; no optimizer-specific branch anywhere.
"""
from __future__ import annotations

import pytest
import sympy as sp

import ibsym as ib
from ibsym.bea.optimizers import OPTIMIZERS, Optimizer, get_optimizer
from ibsym.cli import main
from ibsym.core.errors import InputError


@pytest.mark.parametrize("name, values, match", [
    ("adam", {"eps": -1}, "eps=-1 of 'adam' must be positive"),
    ("adam", {"eps": 0}, "eps=0 of 'adam' must be positive"),
    ("adam", {"beta": 1}, r"beta=1 of 'adam' must be in \[0,1\)"),
    ("adam", {"rho": "-0.1"}, r"rho=-1/10 of 'adam' must be in \[0,1\)"),
    ("rmsprop", {"eps": "-1e-8"}, "must be positive"),
    ("heavy-ball", {"beta": 1.5}, r"beta=3/2 of 'heavy-ball' must be in \[0,1\)"),
    ("heavy-ball", {"beta": -0.5}, r"\[0,1\)"),
    ("nesterov", {"beta": 2}, r"\[0,1\)"),
    ("nesterov-pytorch", {"beta": 1}, r"\[0,1\)"),
    ("heavy-ball-ema", {"beta": 1}, r"\[0,1\)"),
    ("minibatch-adam", {"eps": -1}, "must be positive"),
])
def test_values_outside_the_declared_domain_are_refused(name, values, match):
    with pytest.raises(InputError, match=match):
        get_optimizer(name, **values)


def test_variants_declare_the_same_domains():
    with pytest.raises(InputError, match="must be positive"):
        get_optimizer("adam", eps_outside=True, bias_correction=False, eps=-1)


def test_values_inside_and_symbolic_values_pass():
    assert dict(get_optimizer("adam", beta=0, rho=0.999, eps="1e-8").values) == {
        "beta": 0, "rho": sp.Rational(999, 1000), "eps": sp.Rational(1, 10 ** 8)}
    b = sp.Symbol("b", positive=True)
    assert dict(get_optimizer("heavy-ball", beta=b).values) == {"beta": b}
    assert get_optimizer("gd").hyper_domains == ()


def test_every_registered_hyper_parameter_of_the_momentum_and_adaptive_methods_has_a_domain():
    for name in ("heavy-ball", "heavy-ball-ema", "nesterov", "nesterov-pytorch", "adam",
                 "rmsprop", "minibatch-adam"):
        opt = OPTIMIZERS[name]
        assert {k for k, _ in opt.hyper_domains} == set(opt.hyper), name


def test_a_users_optimizer_declares_domains_the_same_way():
    def update(theta, state, grad, h, hp):
        return theta - h * hp["lam"] * grad(theta), {}

    opt = Optimizer("scaled", update, hyper=("lam",), hyper_domains={"lam": "(0, 2]"})
    assert dict(opt.with_hyper(lam=2).values) == {"lam": 2}
    with pytest.raises(InputError, match=r"lam=5/2 of 'scaled' must be in \(0, 2\]"):
        opt.with_hyper(lam=2.5)
    with pytest.raises(InputError, match="not one of its hyper-parameters"):
        Optimizer("bad", update, hyper=("lam",), hyper_domains={"mu": "positive"})
    with pytest.raises(InputError, match="is not one of positive"):
        Optimizer("bad", update, hyper=("lam",), hyper_domains={"lam": "small"})


def test_the_api_and_the_cli_refuse_eps_minus_one(capsys):
    loss = ib.Loss.parse("(a*b - 1)^2/2", "a b")
    with pytest.raises(InputError, match="must be positive"):
        ib.modified_equation("adam", loss, order=1, hyper={"beta": 0.5, "rho": 0.6, "eps": -1})
    code = main(["derive", "adam", "--order", "1", "--loss", "a^2", "--params", "a",
                 "--hyper", "eps=-1"])
    err = capsys.readouterr().err
    assert code == 2
    assert "eps=-1 of 'adam' must be positive" in err and err.count("\n") == 1
