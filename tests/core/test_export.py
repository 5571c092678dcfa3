import importlib.util
import json

import numpy as np
import pytest
import sympy as sp

import ibsym as ib
from ibsym.core import export
from ibsym.numeric.kernels import compile_terms


@pytest.fixture(scope="module")
def eqs():
    return {"generic": ib.modified_equation("gd", order=3),
            "bilinear": ib.modified_equation("gd", ib.losses.bilinear(), order=2),
            "logcosh": ib.modified_equation("gd", ib.losses.log_cosh_regression(), order=1)}


@pytest.mark.parametrize("name", ["generic", "bilinear", "logcosh"])
def test_standalone_latex_compiles_with_pdflatex(eqs, name, tmp_path):
    # CI installs texlive-latex-base; a missing pdflatex is a failure, not a skip
    tex = export.write_latex(eqs[name], tmp_path / f"{name}.tex")
    pdf = export.compile_latex(tex)
    assert pdf.exists() and pdf.stat().st_size > 1000
    text = tex.read_text()
    assert r"\dot\theta" in text and r"\tilde L" in text


def test_latex_uses_the_papers_notation(eqs):
    lat = eqs["generic"].to_latex()
    assert r"\nabla^{2}L\,\nabla L" in lat and r"\nabla^{3}L\left(\nabla L, \nabla L\right)" in lat
    assert eqs["generic"]._repr_latex_().startswith("$\\displaystyle \\dot\\theta")
    assert eqs["generic"].modified_loss().to_latex() == \
        r"\tilde L = L + h\left(\frac{1}{4}\,\|\nabla L\|^{2}\right) + O(h^{2})"


def test_broken_latex_is_reported(tmp_path):
    with pytest.raises(ib.core.errors.InputError, match="pdflatex failed"):
        export.compile_latex("\\documentclass{article}\\begin{document}$\\frac{$\\end{document}\n",
                             outdir=tmp_path)
    assert list(tmp_path.iterdir()) == []                  # nothing half-built left behind


def test_json_schema_is_stable_and_complete(eqs, tmp_path):
    p = export.write_json(eqs["bilinear"], tmp_path / "eq.json")
    d = json.loads(p.read_text())
    for key in ["schema", "schema_version", "ibsym_version", "optimizer", "order", "params", "loss",
                "expressions", "expressions_latex", "initial_shift", "slow_manifold",
                "gradient_analysis", "verified", "time_variable"]:
        assert key in d, key
    assert d["schema"] == "ibsym/modified-equation" and d["params"] == ["a", "b"]
    a, b = sp.symbols("a b", real=True)
    names = {"a": a, "b": b}
    for j, F in enumerate(d["expressions"]):
        parsed = [ib.core.parsing.parse_expression(x, names) for x in F]
        assert all(sp.expand(x - y) == 0 for x, y in zip(parsed, eqs["bilinear"].terms[j]))
    assert [g["is_gradient"] for g in d["gradient_analysis"]] == [True, True, False]
    g = json.loads(eqs["generic"].to_json())
    assert g["expressions"][1] == [{"tree": "[•]", "coefficient": "-1/2", "text": "∇²L∇L",
                                    "latex": r"\nabla^{2}L\,\nabla L"}]


def test_numpy_code_is_importable_and_matches(eqs, tmp_path, rng):
    path = export.write(eqs["logcosh"], tmp_path / "field", ("py",))[0]
    spec = importlib.util.spec_from_file_location("field_mod", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    pts = rng.uniform(-1, 1, size=(2, 7))
    assert np.allclose(mod.terms(pts), compile_terms(eqs["logcosh"])(pts), rtol=1e-13)
    assert mod.PARAMS == ("a", "b") and mod.ORDER == 1
    assert np.allclose(mod.field([0.2, 0.4], 0.1), mod.terms([0.2, 0.4])[0] + 0.1 * mod.terms([0.2, 0.4])[1])


def test_text_printing(eqs):
    s = str(eqs["generic"])
    assert s.startswith("dθ/dt = -∇L + h·(-1/2 ∇²L∇L) + h²·(-1/12 ∇³L(∇L, ∇L) - 1/3 (∇²L)²∇L)")
    assert "F_1 = [-(a*b - 1)*(2*a**2*b - a + b**3)/2" in str(eqs["bilinear"])
    assert repr(eqs["bilinear"]).startswith("ModifiedEquation(optimizer=Optimizer('gd'), loss=bilinear")
