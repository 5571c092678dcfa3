"""Component-wise generic forms (index notation) of coordinate-wise optimizers."""
import pytest
import sympy as sp

import ibsym as ib
from ibsym.bea.componentwise import _sign_condition, componentwise_equation
from ibsym.core.errors import InputError

beta, rho, eps = (sp.Symbol(n, positive=True) for n in ("beta", "rho", "eps"))


def _instantiate(terms, loss):
    """Evaluate index terms on a concrete loss (sums over all coordinates), coordinate by
    coordinate -- an independent route from the concrete derivation."""
    d = loss.dim
    g = loss.gradient()
    H = loss.hessian()
    out = []
    for j in range(d):
        total = 0
        for t in terms:
            idx = t.indices
            for values in (range(d) if idx else [None]):
                sub = {}
                names = {"j": j}
                if idx:
                    names[idx[0]] = values
                for s in t.expr.free_symbols:
                    kind, ix = str(s).split("_")
                    pos = [names[c] for c in ix]
                    if kind == "g":
                        sub[s] = g[pos[0]]
                    elif kind == "H":
                        sub[s] = H[pos[0], pos[1]]
                    elif kind == "N":
                        sub[s] = sp.sqrt(g[pos[0]] ** 2 + eps)
                    else:  # pragma: no cover
                        raise AssertionError(kind)
                total += t.coefficient * t.expr.xreplace(sub)
        out.append(total)
    return out


@pytest.mark.parametrize("name", ["adam", "rmsprop"])
def test_index_form_instantiates_to_the_concrete_derivation(name):
    ce = componentwise_equation(name, order=1)
    loss = ib.Loss.parse("(a*b*c - 1)^2/2 + a^2*c/3", "a b c")
    conc = ib.modified_equation(name, loss, order=1)
    pt = {sp.Symbol(n, real=True): v for n, v in
          {"a": sp.Rational(1, 2), "b": sp.Rational(3, 2), "c": sp.Rational(-2, 3)}.items()}
    hyp = {beta: sp.Rational(3, 10), rho: sp.Rational(9, 10), eps: sp.Rational(1, 7)}
    for k in range(2):
        inst = _instantiate(ce.terms[k], loss)
        for j in range(3):
            diff = (inst[j] - conc.terms[k][j]).xreplace(pt).xreplace(hyp)
            assert abs(sp.N(diff, 30)) < 1e-25, (name, k, j)


def test_adam_one_norm_form_and_regimes_match_cattaneo_et_al():
    ce = componentwise_equation("adam", order=1)
    one = ce.one_norm
    # θ̇_j = −(1/N_j)[g_j + h(β/(1−β) − ρ/(1−ρ)) ∂_j‖∇L‖_{1,ε} + h (1+ρ)ε/(2(1−ρ)) ∂_j‖∇L‖_{1,ε}/N_j²]
    assert sp.simplify(one.coefficient - (beta / (1 - beta) - rho / (1 - rho))) == 0
    assert sp.simplify(one.eps_coefficient - (1 + rho) / (2 * (1 - rho))) == 0
    small, large = one.regimes
    assert "penalized when β > ρ" in small["verdict"] or "penalized when ρ < β" in small["verdict"]
    assert "hindered" in small["verdict"]
    # large ε: GD-like two-norm penalty h(1+β)/(4(1−β)√ε)‖∇L‖² (formulas.md §1.3)
    assert sp.simplify(sp.sympify(large["coefficient"], locals={"beta": beta})
                       - (1 + beta) / (2 * (1 - beta))) == 0
    assert "always penalized" in large["verdict"]
    text = str(ce)
    assert "‖∇L‖_{1,ε}" in text and "Σ_i" in text


def test_rmsprop_always_hinders_the_one_norm():
    ce = componentwise_equation("rmsprop", order=1)
    assert sp.simplify(ce.one_norm.coefficient + rho / (1 - rho)) == 0
    assert "always hindered" in ce.one_norm.regimes[0]["verdict"]


def test_sign_conditions():
    assert _sign_condition((beta - rho) / ((1 - beta) * (1 - rho)), True) in ("β > ρ", "ρ < β")
    assert _sign_condition(-rho / (1 - rho), True) == "never"
    assert _sign_condition((1 + beta) / (2 * (beta - 1)), False) == "always"


def test_generic_adam_without_coordinates_says_what_to_do():
    with pytest.raises(InputError, match="componentwise"):
        ib.modified_equation("adam", order=1)


def test_json_and_latex_of_the_componentwise_result(tmp_path):
    import json
    from ibsym.core.export import compile_latex
    ce = componentwise_equation("adam", order=1)
    d = json.loads(ce.to_json())
    assert d["schema"] == "ibsym/componentwise-equation"
    assert d["terms"][1][0]["indices"] == ["i"]
    assert d["one_norm_form"]["regimes"][0]["regime"].startswith("√ε ≪")
    assert r"\sum_{i}" in ce.to_latex()
    path = tmp_path / "ce.tex"
    path.write_text(ce.latex_document())
    assert compile_latex(path).exists()


# -- issue 16 item 3: the fewest coordinates and jets, reductions refused ------------------
def _old_route(name, order, monkeypatch):
    """The previous instance: d = order + 2 coordinates, jets of L to order + 3, SymPy's
    FracField coefficients."""
    from sympy.core.function import AppliedUndef

    import ibsym.bea.procedure as procedure
    from ibsym.bea.algebras import ConcreteAlgebra, GenericAlgebra
    from ibsym.bea.coefficients import legacy_coefficients

    def old_make_algebra(loss, optimizer, order=8, **kw):
        if loss is None or loss.is_generic:
            return GenericAlgebra()
        jet = order + 3 if isinstance(loss.expr, AppliedUndef) else None
        return ConcreteAlgebra(loss, constants=optimizer.symbolic_hyper, jet_order=jet, **kw)

    with monkeypatch.context() as m, legacy_coefficients():
        m.setattr(procedure, "make_algebra", old_make_algebra)
        return componentwise_equation(name, order=order, coordinates=order + 2)


@pytest.mark.parametrize("name,order", [("rmsprop", 2), ("adam", 1)])
def test_fewest_coordinates_and_jets_give_the_old_engines_terms(name, order, monkeypatch):
    new = componentwise_equation(name, order=order)
    assert new.dim == order + 1
    assert new.instance._algebra.ring.jet_order == order + 1
    old = _old_route(name, order, monkeypatch)
    assert old.dim == order + 2
    for a, b in zip(new.terms, old.terms):
        key = lambda ts: sorted((str(t.expr), t.indices) for t in ts)
        assert key(a) == key(b)
        ca = {(str(t.expr), t.indices): t.coefficient for t in a}
        for t in b:
            assert sp.cancel(ca[(str(t.expr), t.indices)] - t.coefficient) == 0


@pytest.mark.parametrize("body", ["theta - h*g*sum(g)*sum(g)",
                                  "theta - h*g/sqrt(dot(g, g) + eps)"])
def test_reductions_across_coordinates_are_refused_in_index_notation(body):
    # before: the generic instance summed over its few coordinates and read the result back
    # as if coordinate-wise (g·(Σ_i g_i)² at order 0 came out as three wrong index terms)
    from ibsym.bea.update_rules import parse_update_rule
    opt = parse_update_rule(f"name = red\nhyper = eps\ng = grad(theta)\ntheta = {body}\n")
    with pytest.raises(InputError, match="component-wise .index notation. form"):
        componentwise_equation(opt, order=0)


def test_fixed_radius_look_ahead_is_refused_in_index_notation():
    # before: SAM's O(1) look-ahead substituted θ + ρ∂L into the jet ring's undefined L and
    # ended in a raw SymPy ValueError ("Can't calculate derivative wrt ...")
    with pytest.raises(InputError, match="O\\(1\\) look-ahead.*component-wise"):
        componentwise_equation("sam", order=1)


def test_gradient_structure_of_the_truncated_jet_instance_is_refused():
    ce = componentwise_equation("rmsprop", order=1)
    with pytest.raises(InputError, match="jet ring truncated at derivative order 2"):
        ce.instance.gradient_analysis()


def test_too_few_coordinates_refused():
    with pytest.raises(InputError, match="coordinates must be an integer"):
        componentwise_equation("rmsprop", order=2, coordinates=2)
