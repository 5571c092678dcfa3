"""RingEvaluator reads the ring's monomials as sparse exponent vectors ((generator,
exponent) pairs; issue 16 item 2): with 496 generators (the d = 100 log-cosh chain) a dense
exponent tuple is 4 KB per monomial and the read-out of 10^5 monomials was the memory peak
of ``verify``.  The sparse read-out must give the same trie, the same floats and the same
exact coefficients as the dense one, on both polynomial back ends."""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from ibsym.bea import polyring
from ibsym.bea.diffring import DiffRing
from ibsym.numeric.kernels import RingEvaluator, _sparse_terms

needs_flint = pytest.mark.skipif(not polyring.flint_available(),
                                 reason="python-flint is not installed")
BACKENDS = ["sympy", pytest.param("flint", marks=needs_flint)]
a, b, c = sp.symbols("a b c", real=True)
PARAMS = (a, b, c)
#: atoms exp(a), cos(b), sin(b) (from the closure under ∂/∂θ) after the parameters
SOURCE = sp.exp(a) + sp.cos(b) * c


def _ring(backend: str) -> DiffRing:
    old = polyring.set_backend(backend)
    try:
        return DiffRing.from_expressions([SOURCE], PARAMS)
    finally:
        polyring.set_backend(old)


def _random_terms(rng: np.random.Generator, ngens: int, n: int, top: int = 4) -> dict:
    terms = {(0,) * ngens: sp.Rational(-7, 3)}
    while len(terms) < n:
        mon = [0] * ngens
        for g in rng.choice(ngens, size=int(rng.integers(1, min(ngens, 4) + 1)), replace=False):
            mon[int(g)] = int(rng.integers(1, top + 1))
        num = int(rng.integers(-40, 41)) or 1
        terms[tuple(mon)] = sp.Rational(num, int(rng.integers(1, 12)))
    return terms


def _polys(R: DiffRing, seed: int = 0, n_out: int = 5) -> tuple[list, list[dict]]:
    rng = np.random.default_rng(seed)
    dicts = [_random_terms(rng, len(R.gens), int(rng.integers(3, 30))) for _ in range(n_out)]
    dom = R.ring.domain
    polys = [R.ring.from_dict({m: dom.from_sympy(v) for m, v in t.items()}) for t in dicts]
    polys.append(R.ring.zero)                               # an output without terms
    return polys, dicts + [{}]


def _generators(R: DiffRing, Y: np.ndarray) -> np.ndarray:
    env = dict(zip(PARAMS, Y))
    funcs = {sp.exp(a): lambda: np.exp(env[a]), sp.cos(b): lambda: np.cos(env[b]),
             sp.sin(b): lambda: np.sin(env[b])}
    return np.vstack([Y] + [funcs[x]()[None] for x in R.atoms])


def _dense_reference(R: DiffRing, dicts: list[dict], Y: np.ndarray) -> np.ndarray:
    """Σ_m c_m Π_g x_g^{e_{m,g}} straight from the dense exponent tuples."""
    G = _generators(R, Y)
    out = np.zeros((len(dicts), Y.shape[1]))
    for r, t in enumerate(dicts):
        for mon, v in t.items():
            out[r] += float(v) * np.prod(G ** np.array(mon)[:, None], axis=0)
    return out


def _dense_trie(polys: list) -> tuple[np.ndarray, np.ndarray, list]:
    """The trie the evaluator built from dense exponent tuples before (the reference)."""
    ngen = polys[0].ring.ngens
    index = {(0,) * ngen: 0}
    parent, gen, degree = [0], [0], [0]

    def add(mon):
        if mon in index:
            return index[mon]
        g = next(i for i, e in enumerate(mon) if e)
        par = list(mon)
        par[g] -= 1
        p = add(tuple(par))
        index[mon] = len(parent)
        parent.append(p)
        gen.append(g)
        degree.append(degree[p] + 1)
        return index[mon]

    for poly in polys:
        for mon, _ in poly.terms():
            add(tuple(mon))
    order = sorted(range(len(parent)), key=lambda i: degree[i])
    pos = {old: new for new, old in enumerate(order)}
    return (np.array([pos[parent[i]] for i in order]), np.array([gen[i] for i in order]),
            sorted(degree))


@pytest.mark.parametrize("backend", BACKENDS)
def test_sparse_evaluation_agrees_with_the_dense_sum(backend):
    R = _ring(backend)
    assert len(R.atoms) == 3 and R.ring.ngens == 6
    polys, dicts = _polys(R)
    ev = RingEvaluator(R, polys)
    # negative, mixed-sign and positive points
    Y = np.array([[-1.3, 0.4, 2.1, -0.2], [0.7, -2.2, 1.5, -0.9], [-0.5, 1.1, -1.8, 0.3]])
    got, ref = ev(Y), _dense_reference(R, dicts, Y)
    assert got.shape == (len(polys), 4)
    np.testing.assert_allclose(got, ref, rtol=1e-15, atol=1e-15 * np.abs(ref).max())
    assert np.all(got[-1] == 0.0)
    # the same trie as the dense read-out, level for level
    par, gen, degs = _dense_trie(polys)
    np.testing.assert_array_equal(ev.parent, par)
    np.testing.assert_array_equal(ev.gen, gen)
    assert ev.n_mon == len(degs)
    # the exact coefficients: entry i is exact[i] * monomial cols[i] in output rows[i]
    rows, cols, exact = ev.exact
    assert all(isinstance(x, sp.Rational) for x in exact)
    assert sorted(zip(rows.tolist(), exact)) == sorted(
        (r, v) for r, t in enumerate(dicts) for v in t.values())


@needs_flint
def test_both_back_ends_give_identical_floats_and_coefficients():
    (Rs, Rf) = _ring("sympy"), _ring("flint")
    assert Rs.atoms == Rf.atoms
    ps, _ = _polys(Rs, seed=3)
    pf, _ = _polys(Rf, seed=3)
    es, ef = RingEvaluator(Rs, ps), RingEvaluator(Rf, pf)
    Y = np.array([[-0.8, 1.9], [2.4, -0.6], [-1.1, -0.4]])
    assert np.array_equal(es(Y), ef(Y))                     # bit for bit
    for x, y in zip(es.exact[:2], ef.exact[:2]):
        np.testing.assert_array_equal(x, y)
    assert es.exact[2] == ef.exact[2]


@needs_flint
def test_flint_sparse_monomials_match_the_dense_ones():
    R = _ring("flint").ring
    rng = np.random.default_rng(7)
    for n in (1, 2, 17, 60):
        terms = _random_terms(rng, R.ngens, n, top=300)      # multi-digit exponents
        p = R.from_dict(terms)
        sparse = R.sparse_monoms_of(p.p)
        dense = [tuple(map(int, m)) for m in p.p.monoms()]
        assert sparse == [tuple((g, e) for g, e in enumerate(m) if e) for m in dense]
        assert [c for _, c in p.sparse_terms()] == list(p.p.coeffs())
    assert R.sparse_monoms_of(R.zero.p) == []
    assert R.sparse_monoms_of(R.one.p) == [()]
    # the fallback when FLINT's printed form is not the expected one reads monoms()
    R._parse = False
    try:
        assert R.sparse_monoms_of(p.p) == sparse
    finally:
        R._parse = True


@needs_flint
def test_flint_evaluator_never_builds_dense_exponent_tuples(monkeypatch):
    """The dense read-out (one ngens-entry tuple per monomial) is what the sparse one
    replaces: the evaluator must not call it."""
    R = _ring("flint")
    polys, dicts = _polys(R, seed=5)

    def refuse(self, p):
        raise AssertionError("dense exponent tuples read out")

    monkeypatch.setattr(polyring.FlintRing, "monoms_of", refuse)
    ev = RingEvaluator(R, polys)
    Y = np.array([[0.3], [-1.2], [0.9]])
    np.testing.assert_allclose(ev(Y), _dense_reference(R, dicts, Y), rtol=1e-15, atol=1e-13)


def test_sympy_sparse_terms_are_the_nonzero_entries():
    R = _ring("sympy")
    x = R.ring.gens
    p = 3 * x[0] ** 2 * x[4] - x[5] / 2 + 7
    assert sorted(_sparse_terms(p)) == sorted([(((0, 2), (4, 1)), 3), (((5, 1),), sp.Rational(-1, 2)),
                                               ((), 7)])


def test_huge_rational_coefficients_round_like_sympy():
    R = _ring("sympy")
    dom = R.ring.domain
    big = [sp.Integer(10) ** 400, sp.Rational(1, 10 ** 400), sp.Rational(-(10 ** 400), 3),
           sp.Rational(2 ** 80 + 1, 3 ** 50)]
    polys = [R.ring.from_dict({(0,) * R.ring.ngens: dom.from_sympy(v)}) for v in big]
    got = RingEvaluator(R, polys)(np.zeros((3, 1)))[:, 0]
    assert got.tolist() == [float(v) for v in big] == [np.inf, 0.0, -np.inf,
                                                       float(sp.Rational(2 ** 80 + 1, 3 ** 50))]
