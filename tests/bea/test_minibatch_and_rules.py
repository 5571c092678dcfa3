"""Mini-batch optimizers (Smith et al. 2021), user-defined rule files, and their CLI."""
import json
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp

import ibsym as ib
from ibsym.core.errors import InputError, ParseError
from ibsym.bea.update_rules import load_update_rule, parse_update_rule

X = [1, 2, -1, 0.5, 1.5, -2]
Y = [1, -0.5, 0.3, 2, 1, 0.7]


def _smith_loss():
    def C(i):
        return f"(w0*w1*({X[i]}) - ({Y[i]}))^2/2"
    batches = [f"({C(0)} + {C(1)})/2", f"({C(2)} + {C(3)})/2", f"({C(4)} + {C(5)})/2"]
    return ib.Loss.from_batches(batches, "w0 w1")


def test_sgd_modified_loss_matches_smith_et_al():
    loss = _smith_loss()
    eq = ib.modified_equation("sgd", loss, order=1)
    assert eq.tau == 3
    # formulas.md §3: ∇C = (0.286667, −0.501667), (1/2m) Σ_k H_k g_k = (0.404458, −0.484880)
    t = eq.evaluate({"w0": 0.7, "w1": -0.4})["terms"]
    assert np.allclose(t[0], [-0.286667, 0.501667], atol=1e-6)
    assert np.allclose(t[1], [-0.404458, 0.484880], atol=1e-6)
    # C̃ = C + h/(4m) Σ_k ‖∇Ĉ_k‖², exactly
    m = loss.num_batches
    pen = sum((loss.batch_gradient(k).T * loss.batch_gradient(k))[0, 0] for k in range(m)) / (4 * m)
    target = -pen.diff(loss.params[0]), -pen.diff(loss.params[1])
    assert all(sp.expand(a - b) == 0 for a, b in zip(eq.terms[1], target))


def test_sgd_and_minibatch_adam_reach_their_orders():
    loss = _smith_loss()
    eq = ib.modified_equation("sgd", loss, order=2)
    rep = ib.verify(eq, {"w0": 0.7, "w1": -0.4}, T=0.96, steps=[0.04, 0.02, 0.01, 0.005])
    assert rep.passed, rep.table()
    assert [round(s) for s in rep.slopes] == [1, 2, 3]
    adam = ib.modified_equation("minibatch-adam", loss, order=1,
                                hyper={"beta": 0.5, "rho": 0.6, "eps": 0.2})
    rep = ib.verify(adam, {"w0": 0.7, "w1": -0.4}, T=0.48, steps=[0.01, 0.005, 0.0025, 0.00125])
    assert rep.passed, rep.table()


def test_minibatch_adam_with_equal_batches_is_full_batch_adam():
    hyp = {"beta": 0.5, "rho": 0.6, "eps": 0.2}
    same = ib.Loss.from_batches(["(a*b - 1)^2/2"] * 2, "a b")
    mb = ib.modified_equation("minibatch-adam", same, order=2, hyper=hyp)
    full = ib.modified_equation("adam", ib.losses.bilinear(), order=2, hyper=hyp)
    pt = {"a": 0.4, "b": 1.3}
    assert np.allclose(mb.evaluate(pt)["terms"], full.evaluate(pt)["terms"], rtol=1e-12)


def test_sgd_needs_batches():
    with pytest.raises(InputError, match="mini-batches"):
        ib.modified_equation("sgd", ib.losses.bilinear(), order=1)


SIGNUM = """
# signSGD with momentum, sign smoothed as m/sqrt(m^2 + eps)
name = signum
hyper = beta eps
state m = 0
m = beta*m + (1 - beta)*grad(theta)
theta = theta - h*m/sqrt(m^2 + eps)
"""

HB_TEXT = """
name = heavy-ball-as-text
hyper = beta
state v = 0
v = beta*v - grad(theta)
theta = theta + h*v
"""


def test_rule_file_reproduces_the_built_in_heavy_ball():
    mine = parse_update_rule(HB_TEXT)
    a = ib.modified_equation(mine, order=2)
    b = ib.modified_equation("heavy-ball", order=2)
    assert all(x == y for x, y in zip(a.terms, b.terms))
    assert a.initial_shift[1] == b.initial_shift[1]


def test_user_defined_signum_is_derived_and_verified():
    opt = parse_update_rule(SIGNUM)
    assert opt.state_names == ("m",) and opt.hyper == ("beta", "eps")
    eq = ib.modified_equation(opt, ib.losses.bilinear(), order=2, hyper={"beta": 0.5, "eps": 0.1})
    # at leading order signum moves like Adam/RMSProp: F_0 = −g/√(g² + ε)
    assert np.allclose(eq.evaluate({"a": 0.5, "b": 1.5})["terms"][0], [0.764471, 0.367607],
                       atol=1e-6)
    rep = ib.verify(eq, {"a": 0.3, "b": 1.7}, T=0.5, steps=[0.01, 0.005, 0.0025, 0.00125])
    assert rep.passed, rep.table()


@pytest.mark.parametrize("text, msg", [
    ("theta = theta - h*grad(theta).real", "unsupported construct"),
    ("theta = __import__('os')", "unknown function"),
    ("theta = theta - h*sign(grad(theta))", "not differentiable"),
    ("m = 1", "never assigns theta"),
    ("theta = theta - h*exp(grad(theta))", "unknown function 'exp'"),
    ("theta = theta - h*q", "unknown name 'q'"),
    ("state theta = 0\ntheta = theta", "declared twice or reserved"),
])
def test_bad_rules_are_refused(text, msg):
    with pytest.raises(ParseError, match=msg):
        parse_update_rule(text)


def test_cli_rule_file_and_flags(tmp_path):
    rule = tmp_path / "signum.opt"
    rule.write_text(SIGNUM)
    base = [sys.executable, "-m", "ibsym"]
    out = subprocess.run(base + ["derive", str(rule), "--order", "1", "--loss", "(a*b-1)^2/2",
                                 "--params", "a b", "--hyper", "beta=0.5", "--hyper", "eps=0.1",
                                 "--at", "a=0.5,b=1.5", "--format", "json"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert d["optimizer"] == "signum" and d["state"] == ["m"]
    assert np.allclose(d["terms"][0], [0.764471, 0.367607], atol=1e-6)
    out = subprocess.run(base + ["derive", "adam", "--eps-outside", "--order", "1", "--loss",
                                 "x^4/4", "--params", "x", "--hyper", "eps=0.1", "--hyper", "beta=0.5",
                                 "--hyper", "rho=0.6", "--at", "x=1",
                                 "--format", "json"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert d["optimizer"] == "adam[eps-outside]"
    assert d["terms"][0][0] == pytest.approx(-1 / 1.1)       # −g/(|g| + ε)
    bad = subprocess.run(base + ["derive", "gd", "--eps-outside", "--order", "1"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "apply to adam and rmsprop" in bad.stderr
    out = subprocess.run(base + ["verify", "sgd", "--batch", "(a*b-1)^2/2", "--batch",
                                 "(2*a*b+1)^2/2", "--params", "a b", "--init", "a=0.3,b=1.7",
                                 "--order", "1", "--T", "0.96", "--steps", "0.04,0.02,0.01",
                                 "--json"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert [round(r["slope"]) for r in d["results"]] == [1, 2]
    out = subprocess.run(base + ["derive", "adam", "--order", "1", "--format", "json"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["schema"] == "ibsym/componentwise-equation"


def test_load_update_rule_errors(tmp_path):
    with pytest.raises(InputError, match="no optimizer rule file"):
        load_update_rule(tmp_path / "missing.opt")


BATCH_LOSSES = {
    "bilinear": ["(a*b - 1)^2/2", "(2*a*b + 1)^2/2", "(a - b)^2/2"],
    "logcosh": ["log(cosh(a*b - 1))", "(1 - cos(a))/2 + (a*b)^2/4", "(a + b - 2)^2/4"],
    "quad-sin": ["(a*b - 1)^2/2 + sin(a)/5", "(a*b + 1)^2/4", "sin(a)/5 + b^2/4"],
}
# mini-batch Adam mixes the batches' gradients inside its square roots: kept polynomial here
ADAM_BATCHES = {
    "bilinear": ["(a*b - 1)^2/2", "(2*a*b + 1)^2/2"],
    "quartic": ["(a^2 - 1)^2/4 + a*b/2", "(b^2 - 1)^2/4 - a*b/4"],
    "regression": ["(a*b*1.5 - 1)^2/2", "(a*b*(-0.5) - 0.3)^2/2"],
}


@pytest.mark.parametrize("name", list(BATCH_LOSSES))
def test_sgd_on_three_losses(name):
    loss = ib.Loss.from_batches(BATCH_LOSSES[name], "a b")
    sgd = ib.modified_equation("sgd", loss, order=2)
    rep = ib.verify(sgd, {"a": 0.3, "b": 1.7}, T=0.96, steps=[0.02, 0.01, 0.005, 0.0025])
    for k, s in zip(rep.orders, rep.slopes):
        assert abs(s - (k + 1)) <= 0.15, (name, k, rep.table())


@pytest.mark.parametrize("name", list(ADAM_BATCHES))
def test_minibatch_adam_on_three_losses(name):
    loss = ib.Loss.from_batches(ADAM_BATCHES[name], "a b")
    adam = ib.modified_equation("minibatch-adam", loss, order=1,
                                hyper={"beta": 0.5, "rho": 0.6, "eps": 0.2})
    rep = ib.verify(adam, {"a": 0.3, "b": 1.7}, T=0.48, steps=[0.01, 0.005, 0.0025, 0.00125])
    for k, s in zip(rep.orders, rep.slopes):
        assert abs(s - (k + 1)) <= 0.15, (name, k, rep.table())
