"""NumPy and Python operations on traced values: exact, or an InputError naming them.

A user's update rule is run twice: traced on h-series (the derivation, and the numeric
transient of :mod:`ibsym.numeric.jets`) and on NumPy arrays (the iterates).  Whatever the
tracer follows must equal the true update; whatever it cannot represent (reductions across
coordinates, non-smooth or transcendental functions, conversions, branches) must raise
:class:`InputError` -- never a different optimizer (issue 9, item 2).
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import sympy as sp

import ibsym as ib
from ibsym.bea.algebras import ConcreteAlgebra, NeedAtoms
from ibsym.bea.optimizers import sqrt
from ibsym.bea.procedure import trace_update
from ibsym.bea.series import HSeries, SeriesVector, grad as series_grad
from ibsym.core.errors import DivergenceError, InputError
from ibsym.numeric.kernels import compile_gradient, iterate

LOSS = ib.Loss.parse("(a*b - 1)**2/2 + a**4/10", params="a b")
POINT = {"a": 0.4, "b": 1.3}
THETA = np.array([0.4, 1.3])


def _optimizer(direction, name="user-rule"):
    """θ_{n+1} = θ_n − h·direction(g, grad, θ, h) with g = ∇L(θ_n)."""
    def update(theta, state, grad, h, hp):
        return theta - h * direction(grad(theta), grad, theta, h), {}
    return ib.Optimizer(name, update)


# -- refused: every case runs numerically (a true optimizer exists) -----------------------
REFUSED = [
    ("np.linalg.norm ord=1", lambda g, *_: g / np.linalg.norm(g, ord=1), "numpy.linalg.norm"),
    ("np.einsum", lambda g, *_: g * np.einsum("i,i", g, g), "numpy.einsum"),
    ("np.max", lambda g, *_: g / (1 + np.max(g * g)), "numpy.max"),
    ("np.add.reduce", lambda g, *_: g * np.add.reduce(g), "numpy.add.reduce"),
    ("np.abs", lambda g, *_: g * np.abs(g), "numpy.absolute"),
    ("np.sign", lambda g, *_: np.sign(g), "numpy.sign"),
    ("np.where", lambda g, *_: np.where(g, g, -g), "numpy.where"),
    ("np.clip", lambda g, *_: np.clip(g, -0.1, 0.1), "numpy.clip"),
    ("np.maximum", lambda g, *_: np.maximum(g, 0.1), "numpy.maximum"),
    ("np.exp", lambda g, *_: g * np.exp(g), "numpy.exp"),
    ("np.tanh", lambda g, *_: np.tanh(g), "numpy.tanh"),
    ("np.asarray", lambda g, *_: np.asarray(g), "NumPy array"),
    ("array * g", lambda g, *_: np.array([1.0, 2.0]) * g, "shape (2,)"),
    ("g * array", lambda g, *_: g * np.array([1.0, 2.0]), "shape (2,)"),
    ("max(g)", lambda g, *_: g / (1 + max(g * g)), "comparison"),
    ("abs(g)", lambda g, *_: g * abs(g), "abs()"),
    ("if g", lambda g, *_: g if g else -g, "branch"),
    ("g > 0", lambda g, *_: g * (g > 0), "comparison '>'"),
    ("g ** g", lambda g, *_: g ** g, "traced exponent"),
    ("2 ** g", lambda g, *_: 2.0 ** g, "traced exponent"),
]


@pytest.mark.parametrize("label, direction, needle", REFUSED, ids=[c[0] for c in REFUSED])
def test_unrepresentable_operation_is_refused_by_name(label, direction, needle):
    opt = _optimizer(direction)
    # the numeric update is a true optimizer: it runs (or NumPy itself refuses it) ...
    try:
        with np.errstate(all="ignore"):
            iterate(opt, LOSS, THETA, 0.01, 2)
    except (TypeError, ValueError, DivergenceError):
        pass
    # ... so the derivation must refuse, not trace it coordinate-wise into another optimizer
    with pytest.raises(InputError) as exc:
        ib.modified_equation(opt, LOSS, order=1)
    assert needle in str(exc.value), str(exc.value)


GENERIC_REFUSED = [
    ("np.sum", lambda g, *_: g * np.sum(g), "numpy.sum"),
    ("np.linalg.norm", lambda g, *_: g / np.linalg.norm(g), "numpy.linalg.norm"),
    ("np.dot", lambda g, *_: g * np.dot(g, g), "numpy.dot"),
    ("g.sum()", lambda g, *_: g * g.sum(), ".sum()"),
    ("sum(g)", lambda g, *_: g * sum(g), "iteration"),
    ("g[0]", lambda g, *_: g[0], "indexing"),
    ("np.abs", lambda g, *_: np.abs(g), "numpy.absolute"),
]


@pytest.mark.parametrize("label, direction, needle", GENERIC_REFUSED,
                         ids=[c[0] for c in GENERIC_REFUSED])
def test_refused_in_the_generic_algebra_too(label, direction, needle):
    with pytest.raises(InputError) as exc:
        ib.modified_equation(_optimizer(direction), order=1)
    assert needle in str(exc.value)


def test_normalized_sam_is_not_derived_as_sign_sam():
    """Issue 15's case: before, np.linalg.norm acted as |g| coordinate-wise (sign-SAM,
    F_1 = (2.4889, 0.2273)); now it is the true norm."""
    def nsam(theta, state, grad, h, hp):
        g = grad(theta)
        return theta - h * grad(theta + h * g / np.linalg.norm(g)), {}
    opt = ib.Optimizer("nsam", nsam)
    F1 = ib.modified_equation(opt, LOSS, order=1).evaluate(POINT, h=0.1)["terms"][1]
    np.testing.assert_allclose(np.array(F1, dtype=float), [2.371171619061906, 0.114297841171260],
                               rtol=1e-12)


def test_messages_say_what_to_write_instead():
    with pytest.raises(InputError) as exc:
        ib.modified_equation(_optimizer(lambda g, *_: np.sign(g)), LOSS, order=1)
    assert "x/sqrt(x**2 + eps)" in str(exc.value)
    with pytest.raises(InputError) as exc:
        ib.modified_equation(_optimizer(lambda g, *_: g / np.max(g * g)), LOSS, order=1)
    assert "coordinate-wise" in str(exc.value) and "sqrt" in str(exc.value)
    with pytest.raises(InputError) as exc:
        ib.modified_equation(_optimizer(lambda g, *_: g / np.linalg.norm(g)), order=1)
    assert "concrete loss" in str(exc.value) and "numpy.linalg.norm" in str(exc.value)


# -- supported exactly: the trace equals the true update --------------------------------
EXACT = [
    ("np.sqrt", lambda g, *_: g / np.sqrt(g * g + 0.5)),
    ("np.float64 scalar", lambda g, *_: np.float64(0.5) * g),
    ("python float", lambda g, *_: 0.5 * g + g / 4.0),
    ("np.multiply, np.divide, np.square",
     lambda g, *_: np.divide(np.multiply(0.5, g), np.sqrt(np.square(g) + 1.0))),
    ("np.power", lambda g, *_: g * np.power(g * g + 0.25, -0.5)),
    ("np.reciprocal", lambda g, *_: g * np.reciprocal(1.0 + g * g)),
    ("np.negative, np.zeros_like", lambda g, *_: -np.negative(g) + np.zeros_like(g)),
    ("scalar series / vector", lambda g, grad, theta, h: (h + 1) / (1.0 + g * g)),
    # reductions (issue 15): exact sums over coordinates in the ring of a concrete loss
    ("np.sum", lambda g, *_: g / (1 + np.sum(g * g))),
    ("np.linalg.norm", lambda g, *_: g / np.linalg.norm(g)),
    ("np.linalg.norm ord=2", lambda g, *_: g / np.linalg.norm(g, ord=2)),
    ("np.dot", lambda g, *_: g * np.dot(g, g)),
    ("np.vdot", lambda g, *_: g * np.vdot(g, g)),
    ("np.inner", lambda g, *_: g * np.inner(g, g)),
    ("np.mean", lambda g, *_: g - np.mean(g)),
    ("a @ b", lambda g, *_: g * (g @ g)),
    ("g.sum()", lambda g, *_: g / (1 + (g * g).sum())),
    ("g.dot(g)", lambda g, *_: g / (2 + g.dot(g))),
    ("sum(g)", lambda g, *_: g / (1 + sum(g * g))),
    ("len(g)", lambda g, *_: g / len(g)),
    ("g[0], g[-1]", lambda g, *_: g * g[0] - g[-1]),
    ("unpacking", lambda g, *_: g * (lambda x, y: x * y)(*g)),
    ("normalized look-ahead",
     lambda g, grad, theta, h: grad(theta + h * g / np.linalg.norm(g))),
    ("look-ahead with np.sqrt",
     lambda g, grad, theta, h: grad(theta - h * g / np.sqrt(g * g + np.float64(0.5)))),
]


def _traced_displacement(opt, order):
    """Coefficients D_1..D_order of Ψ_h(θ) − θ at THETA, from the trace."""
    alg = ConcreteAlgebra(LOSS)
    while True:
        try:
            D = trace_update(opt, alg, order)
            break
        except NeedAtoms as need:
            alg = alg.extended(need.atoms)
    subs = dict(zip(LOSS.params, map(sp.Float, THETA)))
    return [np.array([float(x) for x in alg.to_sympy(c).xreplace(subs)]) for c in D]


@pytest.mark.parametrize("label, direction", EXACT, ids=[c[0] for c in EXACT])
def test_supported_operation_traces_the_true_update(label, direction):
    opt = _optimizer(direction)
    K = 2
    D = _traced_displacement(opt, K)
    g = compile_gradient(LOSS)

    def residual(h):
        new, _ = opt.update(THETA.copy(), {}, g, h, {})
        return np.max(np.abs(new - THETA - sum(h ** p * D[p] for p in range(K + 1))))

    r1, r2 = residual(2e-2), residual(1e-2)
    assert r1 < 1e-3
    # residual O(h^(K+1)) (or rounding, for updates polynomial in h): the trace is exact
    assert r1 < 1e-13 or r1 / r2 > 2 ** (K + 1) * 0.75, (r1, r2)
    # and F_0 is the true update's derivative in h at 0
    eq = ib.modified_equation(opt, LOSS, order=0)
    F0 = np.array(eq.evaluate(POINT, h=0.1)["terms"][0], dtype=float)
    h = 1e-7
    new, _ = opt.update(THETA.copy(), {}, g, h, {})
    np.testing.assert_allclose(F0, (new - THETA) / h, rtol=1e-5, atol=1e-6)


def test_supported_numpy_functions_verify_with_the_expected_orders():
    opt = _optimizer(lambda g, grad, theta, h: grad(theta - h * g / np.sqrt(g * g + 0.5)))
    eq = ib.modified_equation(opt, LOSS, order=1)
    slopes = ib.verify(eq, POINT, T=0.5, steps=[0.02, 0.01, 0.005, 0.0025]).slopes
    assert abs(slopes[0] - 1) < 0.15 and abs(slopes[1] - 2) < 0.15, slopes


# -- the numeric transient (jets) traces the same rule ----------------------------------
def _ema(theta, state, grad, h, hp):
    m = hp["beta"] * state["m"] + (1 - hp["beta"]) * grad(theta)
    return theta - h * m, {"m": m}


def test_verify_refuses_a_reduction_in_the_initial_state():
    def init(theta, grad, hp):
        g = grad(theta)
        return {"m": g / np.max(g * g)}
    opt = ib.Optimizer("ema-max-start", _ema, hyper=("beta",), state_names=("m",), init=init)
    eq = ib.modified_equation(opt, LOSS, order=1, hyper={"beta": 0.5})
    assert eq.initial_shift[1] is None          # not derived symbolically ...
    iterate(eq.optimizer, LOSS, THETA, 0.01, 3)  # ... the iterates use the true max ...
    with pytest.raises(InputError, match=r"numpy\.max"):
        ib.verify(eq, POINT, T=0.5, steps=[0.02, 0.01])   # ... the numeric transient refuses


def test_a_norm_in_the_initial_state_is_followed_exactly():
    def init(theta, grad, hp):
        g = grad(theta)
        return {"m": g / np.linalg.norm(g)}
    opt = ib.Optimizer("ema-unit-start", _ema, hyper=("beta",), state_names=("m",), init=init)
    eq = ib.modified_equation(opt, LOSS, order=1, hyper={"beta": 0.5})
    rep = ib.verify(eq, POINT, T=0.5, steps=[0.02, 0.01, 0.005, 0.0025])
    assert abs(rep.slopes[0] - 1) < 0.15 and abs(rep.slopes[1] - 2) < 0.15, rep.slopes


def test_verify_refuses_a_reduction_in_the_update():
    good = ib.Optimizer("ema", _ema, hyper=("beta",), state_names=("m",))
    eq = ib.modified_equation(good, LOSS, order=2, hyper={"beta": 0.5})

    def ema_sum(theta, state, grad, h, hp):
        g = grad(theta)
        m = hp["beta"] * state["m"] + (1 - hp["beta"]) * g / (1 + np.max(g * g))
        return theta - h * m, {"m": m}
    bad = dataclasses.replace(eq.optimizer, update=ema_sum)
    with pytest.raises(InputError, match=r"numpy\.max"):
        ib.verify(dataclasses.replace(eq, optimizer=bad), POINT, T=0.5, steps=[0.02, 0.01])


# -- the tracer objects themselves -----------------------------------------------------
def _traced():
    alg = ConcreteAlgebra(LOSS)
    theta = SeriesVector.point(alg, 1)
    return theta, series_grad(theta), HSeries.h(1)


@pytest.mark.parametrize("op, needle", [
    (lambda t, g, h: np.asarray(h), "NumPy array"),
    (lambda t, g, h: np.exp(h), "numpy.exp"),
    (lambda t, g, h: list(h), "iteration"),
    (lambda t, g, h: h < 0.1, "comparison '<'"),
    (lambda t, g, h: g == 0, "comparison '=='"),
    (lambda t, g, h: g.max(), ".max()"),
    (lambda t, g, h: np.linalg.norm(g, ord=1), "ord=1"),
    (lambda t, g, h: np.linalg.norm(g - t + t - g), "h⁰ part vanishes"),
    (lambda t, g, h: np.sum(h), "numpy.sum"),
    (lambda t, g, h: g[2], "out of range"),
    (lambda t, g, h: g[0:1], "no slices"),
    (lambda t, g, h: np.sum(g)[0], "indexing a traced scalar"),
    (lambda t, g, h: np.linalg.norm(np.sum(g)), "of a scalar"),
    (lambda t, g, h: g.reshape(2, 1), "'.reshape'"),
    (lambda t, g, h: np.cumsum(g), "numpy.cumsum"),
    (lambda t, g, h: np.multiply(g, g, dtype=float), "dtype="),
    (lambda t, g, h: 0.5 * g * 1j, "complex"),
])
def test_tracer_protocols_raise_input_error(op, needle):
    theta, g, h = _traced()
    with pytest.raises(InputError) as exc:
        op(theta, g, h)
    assert needle in str(exc.value), str(exc.value)


def test_tracer_supports_what_it_represents():
    theta, g, h = _traced()
    assert isinstance(np.sqrt(h + 1), HSeries)
    assert isinstance(h / (g * 0 + 2), SeriesVector)     # was a SympifyError
    assert not hasattr(g, "shape")                          # duck typing still answers False
    assert g == g and not (g != g)
    assert {g: 1}[g] == 1


# -- an optimizer with state but no init: the state starts at zero ---------------------
def _lookahead(theta, state, grad, h, hp):                 # README's my-nesterov
    v = hp["beta"] * state["v"] - grad(theta + h * hp["beta"] * state["v"])
    return theta + h * v, {"v": v}


def test_state_without_init_defaults_to_zero_and_verifies():
    mine = ib.Optimizer("my-nesterov", _lookahead, hyper=("beta",), state_names=("v",))
    bilinear = ib.Loss.parse("(a*b - 1)**2/2", params="a b")
    eq = ib.modified_equation(mine, bilinear, order=1, hyper={"beta": 0.5})
    rep = ib.verify(eq, {"a": 0.3, "b": 1.7}, steps=[0.02, 0.01, 0.005, 0.0025])
    assert abs(rep.slopes[0] - 1) < 0.15 and abs(rep.slopes[1] - 2) < 0.15, rep.slopes
    explicit = dataclasses.replace(mine, init=lambda th, g, hp: {"v": 0 * th})
    np.testing.assert_array_equal(
        iterate(eq.optimizer, bilinear, [0.3, 1.7], 0.01, 20),
        iterate(explicit.with_hyper(beta=0.5), bilinear, [0.3, 1.7], 0.01, 20))


def test_initial_state_fills_missing_fields_and_refuses_unknown_ones():
    partial = ib.Optimizer("two-fields", lambda th, st, g, h, hp: (th, st),
                           state_names=("m", "v"), init=lambda th, g, hp: {"m": th * 0 + 1})
    st = partial.initial_state(np.array([1.0, 2.0]), None, {})
    np.testing.assert_array_equal(st["m"], [1.0, 1.0])
    np.testing.assert_array_equal(st["v"], [0.0, 0.0])
    wrong = dataclasses.replace(partial, init=lambda th, g, hp: {"w": th})
    with pytest.raises(InputError, match="sets w, not among its state fields"):
        wrong.initial_state(np.array([1.0, 2.0]), None, {})


# -- guidance points to the real API ---------------------------------------------------
def test_coordinate_wise_generic_message_names_componentwise_equation():
    def signlike(theta, state, grad, h, hp):
        g = grad(theta)
        return theta - h * g / sqrt(g * g + hp["eps"]), {}
    opt = ib.Optimizer("smooth-sign", signlike, hyper=("eps",))
    with pytest.raises(InputError) as exc:
        ib.modified_equation(opt, order=1)
    msg = str(exc.value)
    assert "componentwise=True" not in msg
    assert "ib.componentwise_equation(optimizer, order)" in msg
    assert ib.componentwise_equation(opt, 0).order == 0     # the suggested call exists and works


# -- no NumPy function gives a result unless it is followed exactly ---------------------
_FOLLOWED = {"add", "subtract", "multiply", "true_divide", "divide", "negative", "positive",
             "power", "pow", "float_power", "sqrt", "square", "reciprocal", "zeros_like", "ones_like",
             "full_like", "copy", "sum", "mean", "dot", "vdot", "inner", "norm", "matmul"}


def _numpy_callables():
    for mod in (np, np.linalg):
        for name in sorted(dir(mod)):
            f = getattr(mod, name)
            if name.startswith(("save", "load", "genfromtxt", "fromfile", "memmap")):
                continue                                    # file I/O: never called here
            if isinstance(f, np.ufunc) or hasattr(f, "_implementation"):
                yield f"{mod.__name__}.{name}", f


def test_no_numpy_function_on_a_traced_vector_returns_unless_followed():
    from ibsym.bea.algebras import NeedAtoms
    theta, g, h = _traced()
    returned, odd = [], []
    for name, f in _numpy_callables():
        for args in ((g,), (g, g), (g, 2.0)):
            try:
                f(*args)
            except (InputError, NeedAtoms):
                continue
            except TypeError:       # NumPy's own signature check: nothing was computed
                continue
            except Exception as exc:            # pragma: no cover - reported below
                odd.append((name, type(exc).__name__))
                continue
            returned.append(name.rsplit(".", 1)[1])
    assert set(returned) <= _FOLLOWED, sorted(set(returned) - _FOLLOWED)
    assert not odd, odd
