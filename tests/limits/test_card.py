"""The bias card (issue 12 item 6): one record gathering geometry, modified flow, stability."""
from __future__ import annotations

import json
import re
import subprocess

import numpy as np
import pytest
import sympy as sp

import ibsym as ib
from ibsym.core import export
from ibsym.core.errors import InputError
from ibsym.limits.card import BiasCard, problem_loss

X = np.array([[1.0, 1, 1], [1, 2, 0]])
Y = np.array([1.0, 10])
W0 = np.array([1.0, -1, 2])
LAM = float(np.linalg.eigvalsh(X.T @ X).max())


@pytest.fixture(scope="module")
def gd_card() -> BiasCard:
    return ib.bias_card("gd", (X.tolist(), Y.tolist()), w0=W0.tolist(), h=0.1)


def test_issue11_instance_every_face(gd_card):
    geo = gd_card.geometry
    assert list(geo.solution_exact) == [sp.Rational(2, 3), sp.Rational(14, 3), sp.Rational(-13, 3)]
    assert np.allclose(geo.measured, [2 / 3, 14 / 3, -13 / 3], atol=1e-9)
    # F_1 = -1/2 ∇²L ∇L at w0, against the matrix form
    expected_F1 = -0.5 * X.T @ X @ X.T @ (X @ W0 - Y)
    assert np.allclose(expected_F1, [41, 67, 15])
    assert np.allclose(gd_card.F1_at_w0, expected_F1, rtol=0, atol=1e-10)
    assert gd_card.threshold == pytest.approx(2 / LAM, rel=1e-6)
    rep = gd_card.flow_verification
    assert rep.passed and list(rep.orders) == [0, 1]
    assert rep.slopes[0] == pytest.approx(1, abs=0.05) and rep.slopes[1] == pytest.approx(2, abs=0.05)
    assert [f["face"] for f in gd_card.faces] == ["geometry", "modified flow", "stability"]
    assert [f["status"] for f in gd_card.faces] == ["verified", "verified", "computed"]


def test_record_prints_serializes_and_renders(gd_card):
    text = str(gd_card)
    assert "[geometry] verified" in text and "[modified flow] verified" in text
    assert "h_stab = 0.279241" in text
    data = json.loads(gd_card.to_json())
    assert data["schema"] == "ibsym/bias-card"
    assert data["threshold"] == pytest.approx(2 / LAM, rel=1e-6)
    assert np.allclose(data["F1_at_w0"], [41, 67, 15])
    assert data["geometry"]["solution_exact"] == ["2/3", "14/3", "-13/3"]
    assert [f["status"] for f in data["faces"]] == ["verified", "verified", "computed"]
    assert gd_card._repr_latex_().startswith("$\\displaystyle ")
    assert r"\frac{14}{3}" in gd_card.to_latex()


def test_heavy_ball_threshold_read_off_the_rule():
    card = ib.bias_card("heavy-ball", (X.tolist(), Y.tolist()), w0=W0.tolist(), h=0.05,
                        hyper={"beta": 0.5})
    assert card.threshold == pytest.approx((2 + 2 * 0.5) / LAM, rel=1e-6)
    assert card.geometry.distance < 1e-8
    assert card.face("modified flow")["status"] == "verified"


def test_regression_loss_is_half_squared_residual():
    loss = problem_loss((X.tolist(), Y.tolist()))
    w = [-0.7, 0.3, 2.5]
    value = float(loss.expr.subs(dict(zip(loss.params, w))))
    assert value == pytest.approx(0.5 * np.sum((X @ w - Y) ** 2), rel=1e-14)


def test_classification_large_d_is_labelled_not_available():
    from ibsym.limits.classification import separable_problem
    card = ib.bias_card("gd", separable_problem(8, 5, 0), h=0.1, max_steps=300)
    assert card.kind == "classification"
    flow = card.face("modified flow")
    assert flow["status"] == "not available" and "d ≤ 4" in flow["summary"]
    assert card.face("stability")["status"] == "not available"
    assert card.equation is None and card.threshold is None
    assert card.face("geometry")["status"] == "measured"
    json.loads(card.to_json())


def test_classification_small_d_threshold_and_F1():
    from ibsym.limits.classification import SeparableProblem
    Z = np.array([[1.0, 0], [0, 1], [2, 2], [3, 1]])
    card = ib.bias_card("gd", SeparableProblem(Z.tolist()), h=0.1, max_steps=2000,
                        verify_flow=False)
    # exponential loss at w = 0: ∇L = -Σ z_n, ∇²L = Σ z_n z_nᵀ
    g, H = -Z.sum(0), Z.T @ Z
    assert np.allclose(card.F1_at_w0, -0.5 * H @ g, atol=1e-10)
    assert card.threshold == pytest.approx(2 / np.linalg.eigvalsh(H).max(), rel=1e-6)
    assert card.face("modified flow")["status"] == "derived"


@pytest.mark.skipif(not export.pdflatex_available(), reason="pdflatex not installed")
def test_latex_page_compiles_without_overfull_boxes(gd_card, tmp_path, monkeypatch):
    seen = []
    real = subprocess.run

    def run(*a, **kw):
        proc = real(*a, **kw)
        seen.append(proc.stdout)
        return proc
    monkeypatch.setattr(export.subprocess, "run", run)
    doc = gd_card.latex()
    assert doc.startswith(r"\documentclass") and "Stability threshold" in doc
    pdf = export.compile_latex(doc, outdir=tmp_path, name="card")
    assert pdf.is_file() and pdf.stat().st_size > 1000
    over = [float(x) for x in re.findall(r"Overfull \\[hv]box \(([\d.]+)pt too wide", seen[-1])]
    assert over == []
    pages = re.findall(r"Output written on .*?\((\d+) page", seen[-1].replace("\n", ""))
    assert pages == ["1"]


def test_figure_saved(gd_card, tmp_path):
    from ibsym.plots import save_figure
    from ibsym.plots.card import card_figure
    fig = card_figure(gd_card)
    assert len(fig.axes) == 2
    path = save_figure(fig, tmp_path / "card.png")
    assert path.stat().st_size > 5000


def test_cli_card_json_latex_plot_and_bad_input(tmp_path, capsys):
    from ibsym.cli import main
    data = tmp_path / "p.json"
    data.write_text(json.dumps({"X": X.tolist(), "y": Y.tolist()}))
    tex, png = tmp_path / "c.tex", tmp_path / "c.png"
    code = main(["card", "gd", "--problem", str(data), "--w0", "1,-1,2", "--h", "0.1", "--json",
                 "--latex", str(tex), "--plot", str(png)])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["threshold"] == pytest.approx(2 / LAM, rel=1e-6)
    assert tex.read_text().startswith(r"\documentclass") and png.stat().st_size > 5000
    for argv in (["card", "gd", "--problem", str(data), "--latex", str(tmp_path / "c.txt")],
                 ["card", "nosuch", "--problem", str(data)],
                 ["card", "gd", "--problem", str(data), "--w0", "1,2"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("ibsym card: error:")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.png", "c.pdf", "c.tex", "p.json"] or \
        sorted(p.name for p in tmp_path.iterdir()) == ["c.png", "c.tex", "p.json"]


def test_corrected_limit_of_gd_on_a_reparametrization():
    from ibsym.limits.problems import RegressionProblem
    card = ib.bias_card("gd", RegressionProblem([[1, 1, 1], [1, 2, 0]], [1, 1.2]), reparam="u^2",
                        alpha=0.5, h=0.04, verify_flow=False)
    face = card.face("corrected limit")
    assert face["status"] == "verified"
    assert abs(face["slopes"]["0"] - 1) < 0.1 and abs(face["slopes"]["1"] - 2) < 0.1
    assert all(e1 < e0 / 4 for e0, e1 in zip(face["errors"]["0"], face["errors"]["1"]))
    with pytest.raises(InputError,
                       match="corrected limit is derived for GD"):
        ib.bias_card("heavy-ball", (X.tolist(), Y.tolist()), reparam="u^2", verify_flow=False)
