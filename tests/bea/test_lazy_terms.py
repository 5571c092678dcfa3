"""Lazy SymPy conversion of concrete results and the public atom budget (issue 16, item 2).

A concrete ModifiedEquation keeps its F_j (and slow manifold) as ring elements and converts
each F_j to a SymPy matrix on first access; numerics never convert.  The atom budget of the
exact ring is the public ``max_atoms`` (API) / ``--max-atoms`` (CLI).
"""
from __future__ import annotations

import json

import numpy as np
import pytest
import sympy as sp

import ibsym as ib
from ibsym.bea.componentwise import componentwise_equation
from ibsym.bea.diffring import DEFAULT_MAX_ATOMS, DiffRing
from ibsym.bea.equations import LazyTerms, ModifiedEquation
from ibsym.cli import main
from ibsym.core import export
from ibsym.core.errors import BudgetExceeded, InputError


def chain(d: int) -> ib.Loss:
    """Σ log cosh(θ_i − θ_(i+1)) + Σ θ_i²/2: four atoms per link."""
    ps = sp.symbols(" ".join(f"t{i}" for i in range(d)), real=True)
    expr = (sum(sp.log(sp.cosh(ps[i] - ps[i + 1])) for i in range(d - 1))
            + sum(p ** 2 for p in ps) / 2)
    return ib.Loss(expr, ps, name=f"logcosh{d}")


def eager(eq: ModifiedEquation) -> ModifiedEquation:
    """The same derivation wrapped by the eager route (every F_j converted at once)."""
    return ModifiedEquation.from_algebra(eq.optimizer, eq.loss, eq.order, eq._algebra,
                                         list(eq._raw), eq.seconds,
                                         manifold={f: list(ms) for f, ms in eq._raw_manifold},
                                         structure=eq._structure, lazy=False)


def same_matrix(x: sp.Matrix, y: sp.Matrix) -> bool:
    return x.shape == y.shape and all(sp.expand(u - v) == 0 for u, v in zip(x, y))


CASES = [
    ("gd", lambda: ib.losses.bilinear(), 3, None),
    ("gd", lambda: chain(3), 2, None),
    ("heavy-ball", lambda: ib.losses.bilinear(), 2, {"beta": sp.Rational(1, 2)}),
    ("heavy-ball", lambda: ib.Loss.parse("log(cosh(a - b)) + a^2/2", "a b"), 1, None),
]


@pytest.mark.parametrize("name, make_loss, order, hyper", CASES)
def test_lazy_and_eager_terms_are_identical(name, make_loss, order, hyper):
    eq = ib.modified_equation(name, make_loss(), order=order, hyper=hyper)
    assert isinstance(eq.terms, LazyTerms)
    assert eq.terms.converted == (False,) * (order + 1)
    ref = eager(eq)
    assert isinstance(ref.terms, tuple)
    assert len(eq.terms) == len(ref.terms) == order + 1
    # an independent conversion of the ring elements, component by component
    R = eq._algebra.ring
    for j in (order, 0):                 # out of order: each F_j is converted on its own
        assert same_matrix(eq.terms[j], ref.terms[j])
        assert same_matrix(eq.terms[j], sp.Matrix([R.to_sympy(p) for p in eq._raw[j]]))
    assert eq.terms.converted == tuple(j in (0, order) for j in range(order + 1))
    assert eq.terms[order] is eq.terms[order]          # cached, not converted twice
    assert all(same_matrix(x, y) for x, y in zip(eq.terms, ref.terms))
    assert eq.terms == ref.terms and eq == ref
    assert [same_matrix(x, y) for x, y in zip(eq.terms[1:], ref.terms[1:])] == [True] * order
    assert tuple(eq.terms[-1:]) == (eq.terms[order],)
    for (f, ms), (g, ns) in zip(eq.slow_manifold, ref.slow_manifold):
        assert f == g and len(ms) == len(ns)
        assert all(same_matrix(x, y) for x, y in zip(ms, ns))
    # the initial value of the flow is derived from the ring elements either way
    for s, t in zip(eq.initial_shift, ref.initial_shift):
        assert (s is None and t is None) or same_matrix(s, t)


def test_truncate_keeps_the_lazy_terms():
    eq = ib.modified_equation("gd", chain(3), order=3)
    _ = eq.terms[1]
    tr = eq.truncate(2)
    assert isinstance(tr.terms, LazyTerms) and tr.terms.converted == (False, True, False)
    ref = eager(eq)
    assert all(same_matrix(tr.terms[j], ref.terms[j]) for j in range(3))
    assert len(tr.terms) == 3 and eq.terms.converted == (False, True, False, False)


def test_numerics_never_convert_to_sympy(monkeypatch):
    eq = ib.modified_equation("gd", chain(4), order=2)
    alg = eq._algebra

    def refuse(_):
        raise AssertionError("numerics converted a term to SymPy")

    monkeypatch.setattr(eq.terms, "_convert", refuse)
    rep = ib.verify(eq, np.array([0.4, -0.3, 0.9, -1.1]), T=0.4, steps=[0.04, 0.02, 0.01, 0.005])
    assert eq.terms.converted == (False, False, False)
    assert rep.passed, rep.slopes
    assert [round(s) for s in rep.slopes] == [1, 2, 3]
    # the gradient structure is decided in the ring too
    assert [a.is_gradient for a in eq.gradient_analysis()][:2] == [True, True]
    assert eq.terms.converted == (False, False, False)
    assert alg is eq._algebra


def test_printing_and_export_convert_on_demand(tmp_path):
    eq = ib.modified_equation("gd", ib.Loss.parse("log(cosh(a - b)) + a^2/2", "a b"), order=2)
    ref = eager(eq)
    assert eq.terms.converted == (False, False, False)
    text = str(eq)
    assert text == str(ref) and "F_2 = [" in text and "cosh(a - b)" in text
    assert eq.latex() == ref.latex() and eq._repr_latex_() == ref._repr_latex_()
    d = eq.to_dict()
    assert d["expressions"] == ref.to_dict()["expressions"]
    assert d["expressions"][0] == [str(x) for x in ref.terms[0]]
    assert d["expressions"][0][0] == "-a - sinh(a - b)/cosh(a - b)"
    assert eq.evaluate({"a": 0.5, "b": -1.5}) == ref.evaluate({"a": 0.5, "b": -1.5})
    paths = export.write(eq, tmp_path / "lazy", formats=("tex", "json", "py"))
    assert len(paths) == 3 and all(p.stat().st_size > 0 for p in paths)
    assert json.loads((tmp_path / "lazy.json").read_text())["expressions"] == d["expressions"]
    assert eq.terms.converted == (True, True, True)


def test_lazy_terms_behave_like_the_tuple():
    raw = [(1, 2), (3,), (4, 5, 6)]
    calls = []

    def conv(v):
        calls.append(v)
        return sp.Matrix(v)

    t = LazyTerms(raw, conv)
    assert len(t) == 3 and calls == []
    assert t[-1] == sp.Matrix([4, 5, 6]) and calls == [(4, 5, 6)]
    assert list(t[::2]) == [sp.Matrix([1, 2]), sp.Matrix([4, 5, 6])]
    assert calls == [(4, 5, 6), (1, 2)]              # the slice shares what was converted
    assert t == tuple(sp.Matrix(v) for v in raw) and t != (sp.Matrix([1, 2]),)
    with pytest.raises(IndexError):
        t[3]
    with pytest.raises(TypeError):
        hash(t)


# -- the new directional derivative against the chain rule, component by component --------
def test_lie_derivative_matches_the_chain_rule():
    a, b, c = sp.symbols("a b c", real=True)
    L = sp.log(sp.cosh(a - b)) + sp.sin(b * c) + sp.exp(-a * c) / (1 + c ** 2)
    R = DiffRing.from_expressions([L], (a, b, c))
    g = R.gradient(R.from_sympy(L))
    F = tuple(-x for x in g)
    G = tuple(R.diff(x, 1) * x for x in g)
    got = R.lie(F, G)
    for gj, lj in zip(G, got):
        ref = sum((R.diff(gj, i) * F[i] for i in range(3)), R.zero)
        assert lj == ref
        # and against SymPy on the converted expressions
        e = sum(sp.diff(R.to_sympy(gj), x) * R.to_sympy(fi) for x, fi in zip((a, b, c), F))
        assert sp.simplify(R.to_sympy(lj) - e) == 0
    assert R.lie(F, G) == got                          # the cached directions are reused


def test_lie_sum_and_the_exponent_fallback():
    a, b = sp.symbols("a b", real=True)
    R = DiffRing.from_expressions([sp.sinh(a - b) + a ** 2], (a, b))
    x, y = R.param_gens
    s = R.atom_gens[R.atoms.index(sp.sinh(a - b))]
    F1, G1 = (x ** 3 * s, y), (x * y, s ** 2)
    F2, G2 = (y ** 2, x), (x ** 200, y ** 100 * x)      # exponents past 255: unpacked route
    ref = [R.directional(g1, F1) + R.directional(g2, F2) for g1, g2 in zip(G1, G2)]
    assert R.lie_sum([(F1, G1), (F2, G2)]) == ref
    assert R.lie_sum([(F1, G1), (F1, G1)]) == [2 * R.directional(g, F1) for g in G1]
    assert R.lie(F2, G2) == [200 * x ** 199 * y ** 2, y ** 102 + 100 * x ** 2 * y ** 99]
    assert R.lie_sum([(F2, G2)]) == R.lie(F2, G2)


# -- the atom budget --------------------------------------------------------------------
def test_atom_budget_message_names_the_knob():
    with pytest.raises(BudgetExceeded) as exc:
        ib.modified_equation("gd", chain(3), order=1, max_atoms=5)
    msg = str(exc.value)
    assert "exceeds max_atoms=5" in msg and "pass max_atoms=10" in msg
    assert "--max-atoms 10" in msg
    assert DEFAULT_MAX_ATOMS == 200


def test_max_atoms_lifts_the_refusal():
    # the chain with 3 parameters needs 8 atoms (log cosh, sinh, cosh, 1/cosh per link)
    with pytest.raises(BudgetExceeded, match="max_atoms=7"):
        ib.modified_equation("gd", chain(3), order=1, max_atoms=7)
    eq = ib.modified_equation("gd", chain(3), order=1, max_atoms=8)
    assert len(eq._algebra.ring.atoms) == 8
    ref = ib.modified_equation("gd", chain(3), order=1)
    assert all(same_matrix(x, y) for x, y in zip(eq.terms, ref.terms))


def test_max_atoms_reaches_restarts_and_the_componentwise_form():
    # the ring is rebuilt for coordinate-wise roots (Adam): the budget goes with it
    loss = ib.Loss.parse("log(cosh(a - b))", "a b")
    with pytest.raises(BudgetExceeded, match="max_atoms=4"):
        ib.modified_equation("adam", loss, order=0, hyper={"beta": 0.5, "rho": 0.6, "eps": 0.2},
                             max_atoms=4)
    with pytest.raises(BudgetExceeded, match="max_atoms=3"):
        componentwise_equation("adam", order=1, max_atoms=3)


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "200", None])
def test_max_atoms_must_be_a_positive_integer(bad):
    with pytest.raises(InputError, match="max_atoms must be a positive integer"):
        ib.modified_equation("gd", ib.losses.bilinear(), order=1, max_atoms=bad)


def _run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


CHAIN3 = ["--loss", "log(cosh(a-b)) + log(cosh(b-c)) + (a^2+b^2+c^2)/2", "--params", "a b c"]


@pytest.mark.parametrize("command, extra", [
    ("derive", []),
    ("verify", ["--init", "a=0.3,b=-0.7,c=1.1", "--T", "0.4", "--steps", "0.04,0.02,0.01"]),
])
def test_cli_max_atoms(capsys, command, extra):
    base = [command, "gd", "--order", "1", *CHAIN3, *extra]
    code, out, err = _run(capsys, *base, "--max-atoms", "7")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "exceeds max_atoms=7" in err and "--max-atoms 14" in err
    code, out, err = _run(capsys, *base, "--max-atoms", "8")
    assert code == 0, err
    assert ("F_1 = [" in out) if command == "derive" else ("PASSED" in out)


@pytest.mark.parametrize("value", ["0", "-3", "2.5", "abc", "", "1e999", "10001", "2**20",
                                   "__import__('os')", "nan"])
@pytest.mark.parametrize("command", ["derive", "verify"])
def test_cli_bad_max_atoms_exit_2(capsys, tmp_path, monkeypatch, command, value):
    monkeypatch.chdir(tmp_path)
    extra = ["--init", "a=0.3,b=-0.7,c=1.1"] if command == "verify" else []
    code, out, err = _run(capsys, command, "gd", "--order", "1", *CHAIN3, *extra,
                          f"--max-atoms={value}")
    assert code == 2 and out == "" and "Traceback" not in err
    assert err.count("\n") == 1
    assert ("--max-atoms needs a value" if value == "" else
            "--max-atoms must be a whole number from 1 to 10000") in err
    assert list(tmp_path.iterdir()) == []
