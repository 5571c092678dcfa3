"""The polynomial back ends of the differential ring (SymPy's PolyRing, python-flint's
fmpq_mpoly) give identical results; the choice is a module-level setting with an
environment-variable override.  The comparisons run both back ends when python-flint is
installed and are skipped otherwise."""
import pickle

import pytest
import sympy as sp
from sympy.polys.domains import QQ

import ibsym as ib
from ibsym.bea import polyring
from ibsym.bea.diffring import DiffRing
from ibsym.core.errors import InputError

needs_flint = pytest.mark.skipif(not polyring.flint_available(),
                                 reason="python-flint is not installed")


@pytest.fixture
def restore_backend(monkeypatch):
    monkeypatch.setattr(polyring, "_choice", polyring._choice)


def derive(backend, *args, **kw):
    old = polyring.set_backend(backend)
    try:
        return ib.modified_equation(*args, **kw)
    finally:
        polyring.set_backend(old)


# -- the choice ------------------------------------------------------------------------
def test_unknown_backend_is_refused(monkeypatch, restore_backend):
    with pytest.raises(InputError, match="'numpy' is not a polynomial back end; use one of "
                                         "auto, sympy, flint"):
        polyring.set_backend("numpy")
    monkeypatch.setenv(polyring.ENV_VAR, "Maple")
    polyring.set_backend(None)
    with pytest.raises(InputError, match="IBSYM_POLY_BACKEND = 'maple'"):
        polyring.backend()


def test_flint_without_python_flint_is_refused(monkeypatch, restore_backend):
    monkeypatch.setattr(polyring, "flint_available", lambda: False)
    with pytest.raises(InputError, match="python-flint is not installed"):
        polyring.set_backend("flint")
    monkeypatch.setenv(polyring.ENV_VAR, "auto")
    polyring.set_backend(None)
    assert polyring.backend() == "sympy"          # auto falls back to SymPy


def test_environment_variable_selects_sympy(monkeypatch, restore_backend):
    monkeypatch.setenv(polyring.ENV_VAR, " SymPy ")
    polyring.set_backend(None)
    assert polyring.backend() == "sympy"
    a, b = sp.symbols("a b", real=True)
    R = DiffRing.from_expressions([sp.sin(a * b)], (a, b))
    assert R.backend == "sympy" and type(R.ring).__name__ == "PolyRing"


@needs_flint
def test_auto_prefers_flint_for_rational_coefficients_only(monkeypatch, restore_backend):
    monkeypatch.setenv(polyring.ENV_VAR, "auto")
    polyring.set_backend(None)
    assert polyring.backend() == "flint"
    a, b, beta = sp.symbols("a b beta", real=True)
    assert DiffRing.from_expressions([sp.exp(a * b)], (a, b)).backend == "flint"
    # a coefficient field ℚ(β) of a symbolic hyper-parameter: SymPy's ring
    R = DiffRing.from_expressions([a * b], (a, b), constants=(beta,))
    assert R.backend == "sympy" and R.domain != QQ


# -- the flint ring element against SymPy's PolyElement ---------------------------------
@needs_flint
def test_flint_element_behaves_like_polyelement():
    x, y = sp.symbols("x y")
    F = polyring.poly_ring((x, y), QQ, backend="flint")
    S = polyring.poly_ring((x, y), QQ, backend="sympy")
    assert isinstance(F, polyring.FlintRing)

    def build(R):
        X, Y = R.gens
        p = (X * Y - QQ(1, 3)) ** 2 * (2 * X - 1) + sp.Rational(3, 4) * Y - 5
        return p, X, Y

    p, X, Y = build(F)
    q, _, _ = build(S)
    assert p.terms() == q.terms()                      # lex order, int monomials, QQ coefficients
    assert all(type(m[0]) is int for m, _ in p.terms())
    assert type(p.LC) is type(q.LC) and p.LC == q.LC == 2
    assert p.as_expr() == q.as_expr()
    assert len(p) == len(q) and dict(p.items()) == dict(q)
    assert p.get((0, 1)) == q.get((0, 1)) and p.get((9, 9)) is None
    assert p.degrees() == q.degrees() == (3, 2)
    assert not p.is_ground and F(QQ(2, 7)).is_ground and F(QQ(2, 7)).LC == QQ(2, 7)
    assert F({(1, 0): QQ(1, 2)}) == X / 2 and 1 - X == -(X - 1)
    assert p.diff_gen(0).as_expr() == sp.diff(q.as_expr(), x)
    # hashable and equal by value (a dictionary key, as the O(1) look-ahead cache uses it)
    assert hash(X * Y + 1) == hash(Y * X + 1) and {X * Y + 1: 1}[1 + Y * X] == 1
    assert (X * Y != X * Y + 1) and (F.zero == 0) and not F.zero and bool(F.one)
    # SymPy's factorization and content, the same normalization
    assert [(f.as_expr(), k) for f, k in p.factor_list()[1]] == \
        [(f.as_expr(), k) for f, k in q.factor_list()[1]]
    assert p.factor_list()[0] == q.factor_list()[0]
    assert p.primitive()[0] == q.primitive()[0]
    quo, rem = p.div(X * Y + Y)
    squo, srem = q.div(q.ring.gens[0] * q.ring.gens[1] + q.ring.gens[1])
    assert not (quo * (X * Y + Y) + rem - p)
    assert (quo.as_expr(), rem.as_expr()) == (squo.as_expr(), srem.as_expr())
    quo, rem = ((X - 1) * (Y + 2)).div(X - 1)
    assert not rem and quo == Y + 2
    r = pickle.loads(pickle.dumps(p))                   # process pools pickle results
    assert r == p and not (r - p) and r.ring.ctx is p.ring.ctx
    with pytest.raises(TypeError):
        X * 0.5                                         # floats never enter the exact ring
    with pytest.raises(ValueError):
        X ** -1


# -- identical derivations ---------------------------------------------------------------
def _same(e1, e2):
    assert e1._algebra.ring.backend != e2._algebra.ring.backend or e1._algebra.constants
    assert len(e1.terms) == len(e2.terms)
    for F, G in zip(e1.terms, e2.terms):
        assert list(F) == list(G)                        # the same SymPy expressions
    assert str(e1) == str(e2)
    assert [list(F) for F in e1.readable_terms()] == [list(F) for F in e2.readable_terms()]


@needs_flint
def test_gd_order_8_bilinear_is_identical():
    loss = ib.losses.bilinear()
    e1 = derive("sympy", "gd", loss, order=8)
    e2 = derive("flint", "gd", loss, order=8)
    assert (e1._algebra.ring.backend, e2._algebra.ring.backend) == ("sympy", "flint")
    _same(e1, e2)
    # the numeric path reads the ring's monomials (RingEvaluator): identical floats
    pt = {"a": -0.7, "b": 1.3}
    v1, v2 = e1.evaluate(pt, h=0.1), e2.evaluate(pt, h=0.1)
    assert v1["terms"] == v2["terms"] and v1["field"] == v2["field"]
    assert [c.is_gradient for c in e1.gradient_analysis()] == \
        [c.is_gradient for c in e2.gradient_analysis()] == [True, True, False] + [False] * 6
    assert str(e1.modified_loss()) == str(e2.modified_loss())


@needs_flint
def test_transcendental_loss_with_atoms_is_identical():
    loss = ib.losses.log_cosh_regression()              # log cosh(ab − 1) + (1 − cos a)/2
    e1 = derive("sympy", "gd", loss, order=4)
    e2 = derive("flint", "gd", loss, order=4)
    assert e2._algebra.ring.atoms and e2._algebra.ring.backend == "flint"
    _same(e1, e2)
    rep1 = ib.verify(e1, {"a": -0.3, "b": 1.1}, T=0.4, steps=[0.04, 0.02, 0.01, 0.005])
    rep2 = ib.verify(e2, {"a": -0.3, "b": 1.1}, T=0.4, steps=[0.04, 0.02, 0.01, 0.005])
    assert rep1.slopes == rep2.slopes
    assert rep2.slopes[2] == pytest.approx(3, abs=0.1)


@needs_flint
def test_heavy_ball_is_identical_numeric_and_symbolic_beta():
    loss = ib.losses.bilinear()
    e1 = derive("sympy", "heavy-ball", loss, order=3, hyper={"beta": 0.5})
    e2 = derive("flint", "heavy-ball", loss, order=3, hyper={"beta": 0.5})
    assert e2._algebra.ring.backend == "flint"
    _same(e1, e2)
    assert [[list(v) for v in ms] for _, ms in e1.slow_manifold] == \
        [[list(v) for v in ms] for _, ms in e2.slow_manifold]
    assert e1.initial_shift == e2.initial_shift
    # symbolic β: the coefficient field ℚ(β) is SymPy's under either choice
    s1 = derive("sympy", "heavy-ball", loss, order=2)
    s2 = derive("flint", "heavy-ball", loss, order=2)
    assert s1._algebra.ring.backend == s2._algebra.ring.backend == "sympy"
    _same(s1, s2)


@needs_flint
def test_coordinatewise_roots_and_sam_are_identical():
    loss = ib.Loss.parse("(a*b - 1)^2/2 + exp(-a)/4", "a b")
    hyp = {"beta": 0.5, "rho": 0.6, "eps": 0.2}
    _same(derive("sympy", "adam", loss, order=1, hyper=hyp),
          derive("flint", "adam", loss, order=1, hyper=hyp))
    loss = ib.Loss.parse("(a*b - 1)^2/2 + a^4/10", "a b")
    _same(derive("sympy", "nsam", loss, order=1, hyper={"rho": 0.05}),
          derive("flint", "nsam", loss, order=1, hyper={"rho": 0.05}))
