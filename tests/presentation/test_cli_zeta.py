"""``ibsym zeta`` in-process: JSON values against the closed forms, exit statuses, LaTeX."""
import json
import math

import pytest

from ibsym.cli import main
from ibsym.core.export import compile_latex


def _json(capsys, argv):
    code = main(argv)
    out = capsys.readouterr().out
    assert code == 0
    return json.loads(out)


def test_gaussian_value_and_closed_form(capsys):
    d = _json(capsys, ["zeta", "--weight", "normal(0, 1)", "--bias", "normal(0, 1)", "--at", "0.5",
                       "--format", "json"])
    assert d["schema"] == "ibsym/zeta" and d["closed_form"] is True
    assert d["value"] == pytest.approx(2 / (math.pi * 1.25 ** 2), rel=1e-12)
    assert "\\zeta" in d["latex"] and "\\pi" in d["latex"]
    assert "\\min_{g}" in d["variational_problem"]


def test_symbolic_parameters_with_values(capsys):
    d = _json(capsys, ["zeta", "--weight", "normal(0, s_w)", "--bias", "normal(0, s_b)",
                       "--at", "1", "--values", "s_w=2, s_b=1/2", "--format", "json"])
    sw, sb = 2, 0.5
    assert d["value"] == pytest.approx(2 * sw ** 3 * sb ** 3 / (math.pi * (sb ** 2 + sw ** 2) ** 2))
    assert sorted(d["parameters"]) == ["s_b", "s_w"]


def test_binary_uniform_and_joint_and_degree(capsys):
    d = _json(capsys, ["zeta", "--weight", "rademacher", "--bias", "uniform(-2, 2)", "--at",
                       "1.5", "--format", "json"])
    assert d["value"] == 0.25 and d["closed_form"]
    d = _json(capsys, ["zeta", "--joint", "exp(-(w^2 + b^2)/2)/(2*pi)", "--degree", "2", "--at",
                       "1", "--format", "json"])
    assert d["value"] == pytest.approx(8 / (math.pi * 8)) and d["degree"] == 2


def test_quadrature_fallback_is_reported(capsys):
    d = _json(capsys, ["zeta", "--joint", "exp(-w^2 - b^2 - sin(w*b)^2)", "--timeout", "0.05",
                       "--at", "0", "--format", "json"])
    assert d["closed_form"] is False and "quadrature" in d["method"]
    assert d["value"] == pytest.approx(1.0, rel=1e-10)


def test_text_and_latex_formats(capsys, tmp_path):
    assert main(["zeta", "--weight", "laplace(0, 1)", "--bias", "laplace(0, 1)"]) == 0
    out = capsys.readouterr().out
    assert "ζ(x) = 3/(Abs(x) + 1)**4" in out and "closed form: yes" in out
    assert main(["zeta", "--weight", "normal(0, 1)", "--bias", "normal(0, 1)", "--format",
                 "latex", "--standalone"]) == 0
    doc = capsys.readouterr().out
    assert doc.startswith("\\documentclass")
    (tmp_path / "z.tex").write_text(doc)
    assert compile_latex(tmp_path / "z.tex").exists()


@pytest.mark.parametrize("argv, message", [
    (["--weight", "student(3)", "--bias", "normal(0, 1)"], "unknown distribution"),
    (["--weight", "normal(0, __import__('os'))", "--bias", "normal(0, 1)"], "__import__"),
    (["--weight", "normal(0, 1)"], "give --weight DIST and --bias DIST"),
    (["--joint", "w+", "--at", "1"], "syntax error"),
    (["--joint", "exp(-w^2-b^2)", "--weight", "normal(0,1)"], "either --joint"),
    (["--weight", "normal(0, s)", "--bias", "normal(0, 1)", "--at", "1"], "needs numbers for s"),
    (["--weight", "normal(0, 1)", "--bias", "normal(0, 1)", "--values", "s=1"], "with --at"),
    (["--weight", "normal(0, 1)", "--bias", "normal(0, 1)", "--degree", "0"], "--degree"),
    (["--weight", "normal(0, 1)", "--bias", "rademacher"], "bias law must have a density"),
])
def test_bad_input_exits_with_status_2(capsys, argv, message):
    assert main(["zeta", *argv]) == 2
    assert message in capsys.readouterr().err


def test_help_has_an_example(capsys):
    assert main(["zeta", "--help"]) == 0
    assert 'ibsym zeta --weight "normal(0, 1)"' in capsys.readouterr().out
