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
