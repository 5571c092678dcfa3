"""The backward-error-analysis procedure against independent oracles."""
import random
from fractions import Fraction

import pytest
import sympy as sp

import ibsym as ib
from ibsym.core.errors import BudgetExceeded, InputError
from ibsym.bea.optimizers import Optimizer
from ibsym.bea.trees import LEAF, Combination, instantiate_tree

a, b = sp.symbols("a b", real=True)


def test_generic_gd_order_two_is_the_classical_explicit_euler_field():
    # f − (h/2) f′f + h²((1/12) f″(f,f) + (1/3) f′f′f) with f = −∇L: each tree node carries a −1
    eq = ib.modified_equation("gd", order=2)
    assert eq.terms[0] == Combination({LEAF: -1})
    assert eq.terms[1] == Combination({(LEAF,): Fraction(-1, 2)})
    assert eq.terms[2] == Combination({(LEAF, LEAF): Fraction(-1, 12), ((LEAF,),): Fraction(-1, 3)})


def naive_modified_field(f, params, order):
    """Plain SymPy reference: match the Lie series of the truncated field with θ + h f,
    expanding everything (the slow textbook route, independent of ibsym's algebras)."""
    h = sp.Symbol("h")
    F = []
    for k in range(order + 1):
        Fh = sum((h ** j * sp.Matrix(F[j]) for j in range(k)), sp.zeros(len(params), 1))
        G, flow = Fh, sp.zeros(len(params), 1)
        for m in range(1, k + 2):
            flow += h ** m / sp.factorial(m) * G
            G = (G.jacobian(params) * Fh).applyfunc(sp.expand)
        target = f if k == 0 else sp.zeros(len(params), 1)
        F.append([sp.expand(t - sp.expand(x).coeff(h, k + 1)) for t, x in zip(target, flow)])
    return F


def test_concrete_gd_matches_a_plain_sympy_reference_to_order_three():
    loss = ib.Loss.parse("a^2*b/2 + b^3/3 - a", "a b")
    ref = naive_modified_field(-loss.gradient(), loss.params, 3)
    eq = ib.modified_equation("gd", loss, order=3)
    for j in range(4):
        assert all(sp.expand(x - y) == 0 for x, y in zip(eq.terms[j], ref[j]))


def _instantiate(comb, loss):
    grad = list(loss.gradient())
    cache = {}
    out = [sp.Integer(0)] * loss.dim
    for t, c in comb.terms.items():
        v = instantiate_tree(t, grad, loss.params, cache)
        out = [o + c * x for o, x in zip(out, v)]
    return out


@pytest.mark.parametrize("loss", [ib.losses.bilinear(), ib.losses.log_cosh_regression(),
                                  ib.Loss.parse("sin(a)*cos(b) + exp(-a*b)/2", "a b")],
                         ids=["bilinear", "logcosh", "trig-exp"])
def test_generic_result_instantiated_equals_concrete_derivation(loss):
    k = 4 if loss.name == "bilinear" else 3
    generic = ib.modified_equation("gd", order=k)
    concrete = ib.modified_equation("gd", loss, order=k)
    rnd = random.Random(7)
    for j in range(k + 1):
        inst = _instantiate(generic.terms[j], loss)
        for _ in range(3):
            pt = {p: sp.Rational(rnd.randint(-20, 20), 13) for p in loss.params}
            for x, y in zip(inst, concrete.terms[j]):
                assert abs(sp.N((x - y).xreplace(pt), 30)) < 1e-20


@pytest.mark.parametrize("order", range(0, 7))
def test_quadratic_loss_gives_the_matrix_logarithm(order):
    # GD on θᵀAθ/2 is θ ↦ (I − hA)θ, whose exact modified field is log(I − hA)θ/h
    A = sp.Matrix([[2, 1], [1, 3]]) / 5
    loss = ib.losses.quadratic(A)
    eq = ib.modified_equation("gd", loss, order=order)
    th = sp.Matrix(loss.params)
    for j in range(order + 1):
        assert sp.expand(eq.terms[j] + A ** (j + 1) * th / (j + 1)) == sp.zeros(2, 1)


def test_concrete_order_six_on_two_parameters_and_worked_instance():
    eq = ib.modified_equation("gd", ib.losses.bilinear(), order=6)
    assert len(eq.terms) == 7
    vals = eq.evaluate({"a": 0.5, "b": 1.5}, h=0.1)
    assert vals["terms"][1] == pytest.approx([0.453125, 0.109375], abs=1e-12)
    assert vals["terms"][2] == pytest.approx([0.69140625, 0.12630208333], abs=1e-10)
    assert vals["field"] == pytest.approx(
        [sum(0.1 ** j * v[0] for j, v in enumerate(vals["terms"])),
         sum(0.1 ** j * v[1] for j, v in enumerate(vals["terms"]))])
    on_minimum = eq.evaluate({"a": 0.5, "b": 2})
    assert all(x == 0 for v in on_minimum["terms"] for x in v)


def test_midpoint_update_traces_the_gradient_at_a_displaced_point():
    # θ − h∇L(θ − (h/2)∇L(θ)) is a second-order method: its F_1 vanishes identically
    def update(theta, state, grad, h, hp):
        return theta - h * grad(theta - h / 2 * grad(theta)), {}

    mid = Optimizer("midpoint", update, rule="θ − h∇L(θ − h∇L(θ)/2)")
    g = ib.modified_equation(mid, order=2)
    assert g.terms[0] == Combination({LEAF: -1}) and not g.terms[1]
    c = ib.modified_equation(mid, ib.losses.log_cosh_regression(), order=2)
    assert all(sp.simplify(x) == 0 for x in c.terms[1])
    inst = _instantiate(g.terms[2], ib.losses.log_cosh_regression())
    pt = {p: sp.Rational(1, 3) for p in c.params}
    assert all(abs(sp.N((x - y).xreplace(pt))) < 1e-20 for x, y in zip(inst, c.terms[2]))


def test_budget_and_input_errors():
    with pytest.raises(BudgetExceeded, match="budget"):
        ib.modified_equation("gd", ib.losses.log_cosh_regression(), order=6, max_terms=50)
    with pytest.raises(InputError, match="unknown optimizer 'sgd-x'; choose one of: adam, adamw, gd, heavy-ball"):
        ib.modified_equation("sgd-x", order=1)
    with pytest.raises(InputError, match="non-negative"):
        ib.modified_equation("gd", order=-1)

    def jump(theta, state, grad, h, hp):
        return theta + grad(theta), {}

    with pytest.raises(InputError, match="O\\(1\\) amount"):
        ib.modified_equation(Optimizer("bad", jump), order=1)

    def memory(theta, state, grad, h, hp):
        return theta, state

    with pytest.raises(InputError, match="does not contract"):
        ib.modified_equation(Optimizer("mem", memory, state_names=("m",)), order=1)
