"""Implicit update rules (issue 15 item 3): the new iterate on the right-hand side.

Proximal point θ_{n+1} = θ_n − h∇L(θ_{n+1}) is checked against the published oracle in ∇L
notation and, on two concrete losses (one transcendental), against an independent
derivation written here in plain SymPy: the implicit step solved as a series in h by
undetermined coefficients, then matched with the Taylor map of the flow of
F_0 + hF_1 + h²F_2.  The numeric step (Newton) is checked against the implicit equation
itself, and every refused rule against its message.
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import sympy as sp

import ibsym as ib
from ibsym.bea.implicit import ImplicitStep, solve_fixed_point
from ibsym.bea.optimizers import OPTIMIZERS, Optimizer
from ibsym.bea.trees import LEAF, Combination
from ibsym.bea.update_rules import parse_update_rule
from ibsym.core.errors import DivergenceError, InputError, ParseError
from ibsym.numeric.implicit import newton_step
from ibsym.numeric.kernels import compile_gradient, iterate

a, b, hs = sp.symbols("a b h", real=True)
TH = sp.Matrix([a, b])
POLY = "(a*b - 1)**2/2 + a**4/10"
TRANS = "log(cosh(a - b)) + (a*b - 1)**2/2"
START = {"a": -0.4, "b": 1.1}                   # mixed signs: roots and logs stay branch-correct


# -- the independent derivation ----------------------------------------------------------
def _gradient(expr: str) -> sp.Matrix:
    L = sp.sympify(expr, locals={"a": a, "b": b})
    return sp.Matrix([sp.diff(L, a), sp.diff(L, b)])


def _implicit_step(rhs, expr: str, order: int) -> list[sp.Matrix]:
    """D_1..D_order of θ_1 = θ + Σ_p h^p D_p solving θ_1 = rhs(θ, θ_1, ∇L, h): the h^p
    coefficient of θ_1 − rhs(θ, θ_1) is set to zero, order by order, with every D_q
    written as a vector of symbols c_q while differentiating in h (then replaced by the
    D_q already found) and D_p the unknown, solved from the linear equations."""
    g = _gradient(expr)

    def grad_at(x):
        return g.xreplace({a: x[0], b: x[1]})
    cs = [sp.Matrix(sp.symbols(f"c{p}_0:2")) for p in range(1, order + 1)]
    th1 = TH + sum((hs ** p * cs[p - 1] for p in range(1, order + 1)), sp.zeros(2, 1))
    residual = th1 - rhs(TH, th1, grad_at, hs)
    known: dict[sp.Symbol, sp.Expr] = {}
    D: list[sp.Matrix] = []
    for p in range(1, order + 1):
        C = cs[p - 1]
        coeff = (sp.diff(residual, hs, p) / sp.factorial(p)).xreplace({hs: 0}).xreplace(known)
        A = coeff.jacobian(C)
        assert not (A.free_symbols & set(C)) and A.det() != 0, f"h^{p} is not linear in D_{p}"
        D.append(-A.inv() * coeff.xreplace({c: 0 for c in C}))
        known.update(dict(zip(C, D[-1])))
    return D


def _flow_fields(D: list[sp.Matrix], point: dict, order: int = 2) -> list[np.ndarray]:
    """F_0..F_order at ``point`` from the step's Taylor coefficients D_1..D_{order+1}: the
    time-h flow of F = Σ h^j F_j is θ + hF + (h²/2) F'F + (h³/6)(F''(F, F) + F'F'F) + …;
    matching h^1, h^2, h^3 gives F_0 = D_1, F_1 = D_2 − ½F_0'F_0 and
    F_2 = D_3 − ½(F_0'F_1 + F_1'F_0) − (F_0''(F_0, F_0) + F_0'F_0'F_0)/6."""
    s = sp.Symbol("s")

    def J(V):
        return V.jacobian(TH)

    def second(V, W):
        return sp.diff(V.xreplace({a: a + s * W[0], b: b + s * W[1]}), s, 2).xreplace({s: 0})
    F = [D[0]]
    if order >= 1:
        F.append(D[1] - J(F[0]) * F[0] / 2)
    if order >= 2:
        F.append(D[2] - (J(F[0]) * F[1] + J(F[1]) * F[0]) / 2
                 - (second(F[0], F[0]) + J(F[0]) * (J(F[0]) * F[0])) / 6)
    subs = {a: sp.Float(point["a"], 30), b: sp.Float(point["b"], 30)}
    return [np.array([float(sp.N(x.xreplace(subs), 20)) for x in f]) for f in F]


def _prox(th, th1, grad, h):
    return th - h * grad(th1)


def _trapezoid(th, th1, grad, h):
    return th - h / 2 * (grad(th) + grad(th1))


def _engine(opt, loss: str, order: int = 2, hyper=None):
    eq = ib.modified_equation(opt, ib.Loss.parse(loss, params="a b"), order=order,
                              hyper=hyper or {})
    return eq, [np.array(t, dtype=float) for t in eq.evaluate(START, h=0.1)["terms"]]


def _slopes(eq, point=START, steps=(0.02, 0.01, 0.005, 0.0025)):
    rep = ib.verify(eq, point, T=0.5, steps=list(steps))
    for k in range(eq.order + 1):
        assert abs(rep.slopes[k] - (k + 1)) < 0.15, rep.slopes
    return rep.slopes


# -- proximal point ------------------------------------------------------------------------
def test_generic_proximal_point_is_the_oracle_and_its_modified_loss_has_the_minus_sign():
    eq = ib.modified_equation("proximal-point", order=2)
    assert eq.terms[0] == Combination({LEAF: -1})
    assert eq.terms[1] == Combination({(LEAF,): Fraction(1, 2)})          # +(h/2)∇²L∇L
    assert eq.terms[2] == Combination({(LEAF, LEAF): Fraction(-1, 12),   # ∇³L(∇L, ∇L)
                                       ((LEAF,),): Fraction(-1, 3)})     # (∇²L)²∇L
    ml = eq.modified_loss()
    assert ml.potentials[1] == Combination({((),): Fraction(-1, 4)}, scalar=True)
    assert ml.text.startswith("L̃ = L + h·(-1/4 ‖∇L‖²) + O(h²)")


def test_proximal_point_is_registered_with_its_update_in_help():
    from ibsym.cli._common import optimizer_help
    opt = OPTIMIZERS["proximal-point"]
    assert opt.implicit and isinstance(opt.update, ImplicitStep)
    assert "  proximal-point\n" in optimizer_help() and opt.rule in optimizer_help()
    assert "θ_{n+1} = θ_n − h∇L(θ_{n+1})" in opt.rule


@pytest.mark.parametrize("loss", [POLY, TRANS], ids=["polynomial", "log-cosh"])
def test_proximal_point_matches_the_independent_derivation_and_verifies(loss):
    eq, mine = _engine("proximal-point", loss)
    ref = _flow_fields(_implicit_step(_prox, loss, 3), START)
    for k in range(3):
        np.testing.assert_allclose(mine[k], ref[k], rtol=1e-12, atol=1e-13, err_msg=f"F_{k}")
    _slopes(eq)


def test_rule_file_and_python_function_give_the_builtin():
    text = "name = my-prox\ntheta = theta - h*grad(theta_next)   # implicit GD\n"
    from_file = parse_update_rule(text)

    def prox(theta, state, grad, h, hp, theta_next):
        return theta - h * grad(theta_next), {}
    from_python = Optimizer("my-prox-py", prox, implicit=True)
    builtin = ib.modified_equation("proximal-point", order=3).terms
    for opt in (from_file, from_python):
        assert opt.implicit
        assert ib.modified_equation(opt, order=3).terms == builtin
        assert opt.with_hyper().implicit and isinstance(opt.with_hyper().update, ImplicitStep)
    loss = ib.Loss.parse(TRANS, params="a b")
    a_ = ib.modified_equation(from_file, loss, order=2).evaluate(START)["terms"]
    b_ = ib.modified_equation("proximal-point", loss, order=2).evaluate(START)["terms"]
    assert a_ == b_


# -- a semi-implicit scheme and implicit momentum ------------------------------------------
def test_trapezoidal_rule_is_second_order_and_matches_the_independent_derivation():
    trap = parse_update_rule("name = trapezoid\ntheta = theta - h/2*(grad(theta) + "
                             "grad(theta_next))\n")
    generic = ib.modified_equation(trap, order=3)
    assert not generic.terms[1] and not generic.terms[3]        # a symmetric method
    eq, mine = _engine(trap, TRANS)
    ref = _flow_fields(_implicit_step(_trapezoid, TRANS, 3), START)
    for k in range(3):
        np.testing.assert_allclose(mine[k], ref[k], rtol=1e-12, atol=1e-13, err_msg=f"F_{k}")


def test_implicit_heavy_ball_reduces_to_proximal_point_and_verifies_with_its_transient():
    ihb = parse_update_rule("name = ihb\nhyper = beta\nstate v = 0\n"
                            "v = beta*v - grad(theta_next)\ntheta = theta + h*v\n")
    assert ib.modified_equation(ihb, order=2, hyper={"beta": 0}).terms == \
        ib.modified_equation("proximal-point", order=2).terms
    beta = sp.Symbol("beta", positive=True)
    eq = ib.modified_equation(ihb, order=1)
    (c1,) = eq.terms[1].terms.values()
    assert sp.simplify(sp.sympify(c1) + (3 * beta - 1) / (2 * (1 - beta) ** 3)) == 0
    eq = ib.modified_equation(ihb, ib.Loss.parse(POLY, params="a b"), order=2,
                              hyper={"beta": 0.5})
    _slopes(eq)                          # order 2 needs s_2: the numeric transient (jets)


# -- what is refused -----------------------------------------------------------------------
BAD = [("theta_next = theta_next", lambda th, st, g, h, hp, nx: (nx, {})),
       ("2*theta_next - theta", lambda th, st, g, h, hp, nx: (2 * nx - th, {})),
       ("theta_next + h*grad(theta)", lambda th, st, g, h, hp, nx: (nx + h * g(th), {}))]


@pytest.mark.parametrize("label, rule", BAD, ids=[c[0] for c in BAD])
@pytest.mark.parametrize("loss", [None, POLY], ids=["generic", "concrete"])
def test_a_rule_without_a_series_solution_is_refused_by_name(label, rule, loss):
    opt = Optimizer("bad-rule", rule, implicit=True)
    with pytest.raises(InputError, match="implicit rule of 'bad-rule'") as err:
        ib.modified_equation(opt, ib.Loss.parse(loss, params="a b") if loss else None,
                             order=1)
    assert "theta_next" in str(err.value) and "h*grad(theta_next)" in str(err.value)
    if label.startswith("theta_next +"):
        assert "no solution as a series in h" in str(err.value)
    else:
        assert "depends on theta_next at h⁰" in str(err.value)


def test_a_sweep_that_never_settles_is_refused():
    calls = [0]

    def drifting(theta, state, grad, h, hp, theta_next):     # a different rule every call
        calls[0] += 1
        return theta - (calls[0] * h) * grad(theta_next), {}
    with pytest.raises(InputError, match="still changed the coefficients up to h\\^2 after 4"):
        ib.modified_equation(Optimizer("drifting", drifting, implicit=True), order=1)


def test_rule_file_refusals():
    with pytest.raises(InputError, match="depends on theta_next at h⁰"):
        ib.modified_equation(parse_update_rule("theta = 2*theta_next - theta"), order=1)
    with pytest.raises(ParseError, match="'theta_next' is the new iterate"):
        parse_update_rule("theta_next = theta - h*grad(theta)")
    with pytest.raises(ParseError, match="cannot use theta_next"):
        parse_update_rule("state m = theta_next\ntheta = theta - h*m")
    with pytest.raises(ParseError, match="cannot be a hyper-parameter"):
        parse_update_rule("hyper = theta_next\ntheta = theta - h*grad(theta)")
    assert not parse_update_rule("theta = theta - h*grad(theta)").implicit


# -- numerics --------------------------------------------------------------------------------
def test_each_numeric_step_solves_the_implicit_equation_to_1e_14():
    loss = ib.Loss.parse(TRANS, params="a b")
    g = compile_gradient(loss)
    for h in (0.01, 0.3, 50.0):           # large h: the proximal step is still well posed
        it = iterate(OPTIMIZERS["proximal-point"], loss, [-0.4, 1.1], h, 10)
        for n in range(10):
            res = it[n + 1] - it[n] + h * g(it[n + 1])
            assert np.max(np.abs(res)) <= 1e-14 * (1 + h) * (1 + np.max(np.abs(it[n + 1])))


def test_newton_and_fixed_point_on_a_quadratic_are_exact_and_refuse_a_singular_step():
    rule = OPTIMIZERS["proximal-point"].update.rule
    theta = np.array([1.0, -2.0])
    for solve in (newton_step, solve_fixed_point):
        x, _ = solve(rule, theta, {}, lambda x: 0.5 * x, 0.1, {})       # L = ‖x‖²/4
        np.testing.assert_allclose(x, theta / 1.05, rtol=1e-15)
    batch = np.stack([theta, 2 * theta], axis=1)                         # runs in columns
    x, _ = newton_step(rule, batch, {}, lambda x: 0.5 * x, 0.1, {})
    np.testing.assert_allclose(x, batch / 1.05, rtol=1e-15)
    # L = −‖x‖²/2 at h = 1: θ_next = θ + θ_next has no solution
    with pytest.raises(DivergenceError, match="implicit step of 'proximal-point' did not "
                                              "converge at h=1"):
        newton_step(rule, theta, {}, lambda x: -x, 1.0, {}, name="proximal-point")
    with pytest.raises(DivergenceError, match="fixed-point iteration"):
        solve_fixed_point(rule, theta, {}, lambda x: -x, 1.0, {}, name="proximal-point")
