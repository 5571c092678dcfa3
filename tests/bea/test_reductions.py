"""Vector reductions and O(1) displacements in update rules (issue 15, items 1-2).

Every modified field is checked against an independent derivation written here in plain
SymPy -- the one-step map Ψ_h(θ) differentiated in h, matched term by term with the
h-flow of F_0 + hF_1 + h²F_2 -- and verified numerically (slopes k + 1 for orders 0-2).
"""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import ibsym as ib
from ibsym.bea import optimizers as O
from ibsym.bea.update_rules import parse_update_rule
from ibsym.core.errors import InputError

a, b, hs = sp.symbols("a b h", real=True)
POLY = "(a*b - 1)**2/2 + a**4/10"
TRANS = "exp(a/2)*b**2/2 + cos(b) + a**2/4"
P_POLY = {"a": 0.4, "b": 1.3}
P_TRANS = {"a": 0.3, "b": -0.8}        # a negative coordinate: roots must be branch-correct


# -- the independent derivation ----------------------------------------------------------
def _gradient(expr: str) -> sp.Matrix:
    L = sp.sympify(expr, locals={"a": a, "b": b})
    return sp.Matrix([sp.diff(L, a), sp.diff(L, b)])


def _at(V: sp.Matrix, x: sp.Matrix) -> sp.Matrix:
    return V.xreplace({a: x[0], b: x[1]})


def _taylor_fields(step, expr: str, point: dict, order: int) -> list[np.ndarray]:
    """F_0..F_order at ``point`` by matching Ψ_h(θ) = φ_h(θ) of F = Σ h^j F_j:

    φ_h = θ + hF + h²/2 F'F + h³/6 (F''(F, F) + F'F'F) + …, so
    F_0 = D_1, F_1 = D_2 − ½F_0'F_0,
    F_2 = D_3 − ½(F_0'F_1 + F_1'F_0) − (F_0''(F_0, F_0) + F_0'F_0'F_0)/6,
    with D_p = (1/p!) ∂_h^p Ψ_h(θ) at h = 0."""
    th = sp.Matrix([a, b])
    G = _gradient(expr)
    psi = step(th, lambda x: _at(G, x), hs)
    D = [sp.zeros(2, 1)]
    for p in range(1, order + 2):
        D.append((sp.diff(psi, hs, p) / sp.factorial(p)).xreplace({hs: 0}))
    J = lambda V: V.jacobian(th)                                           # noqa: E731
    s = sp.Symbol("s")

    def second(V, W):
        return sp.diff(_at(V, th + s * W), s, 2).xreplace({s: 0})
    F = [D[1]]
    if order >= 1:
        F.append(D[2] - J(F[0]) * F[0] / 2)
    if order >= 2:
        F.append(D[3] - (J(F[0]) * F[1] + J(F[1]) * F[0]) / 2
                 - (second(F[0], F[0]) + J(F[0]) * (J(F[0]) * F[0])) / 6)
    subs = {a: sp.Float(point["a"], 30), b: sp.Float(point["b"], 30)}
    return [np.array([float(sp.N(x.xreplace(subs), 20)) for x in f]) for f in F]


def _sym_norm(v):
    return sp.sqrt(v[0] ** 2 + v[1] ** 2)


def _engine_fields(eq, point):
    return [np.array(t, dtype=float) for t in eq.evaluate(point, h=0.1)["terms"]]


def _check(opt, step, loss, point, order=2, hyper=None, slopes=True,
           steps=(0.02, 0.01, 0.005, 0.0025)):
    eq = ib.modified_equation(opt, ib.Loss.parse(loss, params="a b"), order=order,
                              hyper=hyper or {})
    mine = _engine_fields(eq, point)
    ref = _taylor_fields(step, loss, point, order)
    for k in range(order + 1):
        np.testing.assert_allclose(mine[k], ref[k], rtol=1e-9, atol=1e-11, err_msg=f"F_{k}")
    if slopes:
        rep = ib.verify(eq, point, T=0.5, steps=list(steps))
        for k in range(order + 1):
            assert abs(rep.slopes[k] - (k + 1)) < 0.15, rep.slopes
    return eq, mine


# -- the optimizers, each written twice: NumPy/tracer rule and plain SymPy step -------------
def _nsam_c(theta, state, grad, h, hp):            # normalized SAM, ρ = c·h
    g = grad(theta)
    return theta - h * grad(theta + hp["c"] * h * g / np.linalg.norm(g)), {}


def _nsam_c_ref(th, G, h, c=1):
    g = G(th)
    return th - h * G(th + c * h * g / _sym_norm(g))


def test_normalized_sam_matches_the_independent_derivation_and_the_issue():
    opt = ib.Optimizer("nsam-c", _nsam_c, hyper=("c",))
    _, F = _check(opt, _nsam_c_ref, POLY, P_POLY, hyper={"c": 1})
    np.testing.assert_allclose(F[1], [2.3712, 0.1143], atol=5e-5)       # issue 15's numbers
    assert abs(F[1][0] - 2.4889) > 0.1                                  # not sign-SAM


def test_normalized_sam_on_a_transcendental_loss_at_a_mixed_sign_point():
    opt = ib.Optimizer("nsam-c", _nsam_c, hyper=("c",))
    _check(opt, _nsam_c_ref, TRANS, P_TRANS, order=1, hyper={"c": 1})


def _ngd(theta, state, grad, h, hp):
    g = grad(theta)
    return theta - h * g / O.norm(g), {}


def test_normalized_gd():
    # unit-speed steps: the asymptotic regime starts at smaller h
    _check(ib.Optimizer("ngd", _ngd), lambda th, G, h: th - h * G(th) / _sym_norm(G(th)),
           POLY, P_POLY, steps=(0.005, 0.0025, 0.00125, 0.000625))


def _clip(theta, state, grad, h, hp):            # clipping by norm, smoothed: g/√(1 + ‖g‖²/τ²)
    g = grad(theta)
    return theta - h * g / np.sqrt(1 + np.dot(g, g) / hp["tau"] ** 2), {}


def test_smoothed_clipping_by_norm():
    tau = sp.Rational(1, 2)
    _check(ib.Optimizer("clip", _clip, hyper=("tau",)),
           lambda th, G, h: th - h * G(th) / sp.sqrt(1 + (G(th).T * G(th))[0] / tau ** 2),
           TRANS, P_TRANS, hyper={"tau": tau})


def test_one_dimensional_norm_is_an_absolute_value_from_both_sides():
    """‖g‖ = |g| in one dimension: normalized GD is (smooth) sign descent, F_0 = −sign(L')."""
    loss = ib.Loss.parse("x**2/2 + x**3/3", params="x")
    eq = ib.modified_equation(ib.Optimizer("ngd", _ngd), loss, order=1)
    for x, sign in ((0.5, 1.0), (-0.5, -1.0), (-2.0, 1.0)):     # L' = x + x² changes sign
        F = _engine_fields(eq, {"x": x})
        assert F[0][0] == pytest.approx(-sign) and F[1][0] == pytest.approx(0.0, abs=1e-14)


# -- O(1) displacements (item 2) -------------------------------------------------------
def _sam_rho(theta, state, grad, h, hp):          # SAM with a fixed radius
    g = grad(theta)
    return theta - h * grad(theta + hp["rho"] * g / np.linalg.norm(g)), {}


def test_normalized_sam_with_a_fixed_radius():
    rho = sp.Rational(1, 20)
    _check(ib.Optimizer("nsam", _sam_rho, hyper=("rho",)),
           lambda th, G, h: th - h * G(th + rho * G(th) / _sym_norm(G(th))),
           POLY, P_POLY, order=1, hyper={"rho": rho})


def _eg(theta, state, grad, h, hp):               # extragradient with a separate fixed step
    return theta - h * grad(theta - hp["rho"] * grad(theta)), {}


def test_extragradient_with_a_fixed_step_on_a_transcendental_loss():
    rho = sp.Rational(1, 10)
    _check(ib.Optimizer("eg", _eg, hyper=("rho",)),
           lambda th, G, h: th - h * G(th - rho * G(th)), TRANS, P_TRANS, order=1,
           hyper={"rho": rho})


def test_symbolic_radius_stays_symbolic():
    eq = ib.modified_equation(ib.Optimizer("nsam", _sam_rho, hyper=("rho",)),
                              ib.Loss.parse(POLY, params="a b"), order=1)
    rho = sp.Rational(1, 20)
    ref = _taylor_fields(lambda th, G, h: th - h * G(th + rho * G(th) / _sym_norm(G(th))),
                         POLY, P_POLY, 1)
    sub = {O.hyper_symbol("rho"): rho, **{p: sp.Rational(str(P_POLY[str(p)])) for p in eq.params}}
    got = [[float(sp.N(x.xreplace(sub), 20)) for x in F] for F in eq.terms]
    assert eq.terms[1].has(O.hyper_symbol("rho"))
    np.testing.assert_allclose(np.array(got, dtype=float), np.array(ref), rtol=1e-9)


# -- rule files --------------------------------------------------------------------------
def test_rule_file_reductions_match_the_python_api():
    opt = parse_update_rule("""
name = nsam-file
hyper = c
g = grad(theta)
theta = theta - h*grad(theta + c*h*g/norm(g)) + 0*sum(g)*dot(g, g)
""")
    _check(opt, _nsam_c_ref, POLY, P_POLY, order=1, hyper={"c": 1}, slopes=False)
    clip = parse_update_rule("""
hyper = tau
g = grad(theta)
theta = theta - h*g/sqrt(1 + dot(g, g)/tau^2)
""")
    tau = sp.Rational(1, 2)
    _check(clip, lambda th, G, h: th - h * G(th) / sp.sqrt(1 + (G(th).T * G(th))[0] / tau ** 2),
           POLY, P_POLY, order=1, hyper={"tau": tau}, slopes=False)


# -- refusals --------------------------------------------------------------------------
def test_generic_loss_refuses_reductions_and_o1_displacements_with_the_suggestion():
    with pytest.raises(InputError, match=r"numpy\.linalg\.norm .*generic loss.*concrete loss"):
        ib.modified_equation(ib.Optimizer("nsam-c", _nsam_c, hyper=("c",)), order=1,
                             hyper={"c": 1})
    with pytest.raises(InputError, match=r"O\(1\) displacement.*concrete loss"):
        ib.modified_equation(ib.Optimizer("eg", _eg, hyper=("rho",)), order=1,
                             hyper={"rho": sp.Rational(1, 10)})
    with pytest.raises(InputError, match=r"dot.*generic loss"):
        ib.modified_equation(parse_update_rule("theta = theta - h*grad(theta)*dot(grad(theta), "
                                               "grad(theta))"), order=1)


def test_norm_of_a_vector_vanishing_at_h0_is_refused():
    def bad(theta, state, grad, h, hp):
        g = grad(theta)
        return theta - h * g * np.linalg.norm(grad(theta - h * g) - g), {}
    with pytest.raises(InputError, match="h⁰ part vanishes"):
        ib.modified_equation(ib.Optimizer("bad", bad), ib.Loss.parse(POLY, params="a b"), 1)


def test_a_scalar_in_the_state_is_refused():
    def upd(theta, state, grad, h, hp):
        s = np.linalg.norm(grad(theta))
        return theta - h * grad(theta) * state["s"], {"s": s}
    opt = ib.Optimizer("scalar-state", upd, state_names=("s",),
                       init=lambda th, g, hp: {"s": th * 0 + 1})
    with pytest.raises(InputError, match="state field .s. holds a scalar"):
        ib.modified_equation(opt, ib.Loss.parse(POLY, params="a b"), 1)


def _sam_ema(theta, state, grad, h, hp):          # momentum of fixed-radius SAM gradients
    g = grad(theta)
    m = hp["beta"] * state["m"] + (1 - hp["beta"]) * grad(theta + hp["rho"] * g)
    return theta - h * m, {"m": m}


@pytest.mark.parametrize("loss, point", [(POLY, P_POLY), (TRANS, P_TRANS)], ids=["poly", "trans"])
def test_o1_look_ahead_with_state_verifies_from_the_true_initial_state(loss, point):
    """The transient's numeric jets take the gradient at θ_0 + ρ∇L(θ_0) too (one jet per
    run), and the symbolic initial shift survives SymPy merging exp atoms of the composite."""
    opt = ib.Optimizer("sam-ema", _sam_ema, hyper=("beta", "rho"), state_names=("m",))
    eq = ib.modified_equation(opt, ib.Loss.parse(loss, params="a b"), order=2,
                              hyper={"beta": 0.5, "rho": sp.Rational(1, 10)})
    assert eq.initial_shift[1] is not None
    G = _gradient(loss)
    th = sp.Matrix([a, b])
    F0 = -_at(G, th + _at(G, th) / 10)            # slow manifold m = ∇L(θ + ρ∇L(θ))
    sub = {a: sp.Rational(str(point["a"])), b: sp.Rational(str(point["b"]))}
    np.testing.assert_allclose(_engine_fields(eq, point)[0],
                               [float(x.xreplace(sub)) for x in F0], rtol=1e-12)
    rep = ib.verify(eq, point, T=0.5, steps=[0.02, 0.01, 0.005, 0.0025])
    for k in range(3):
        assert abs(rep.slopes[k] - (k + 1)) < 0.15, rep.slopes
