"""``ibsym spectral`` in-process: σ(T) against the published instances, formats, exit statuses."""
import json

import pytest

from ibsym.cli import main
from ibsym.core.export import compile_latex


def _json(capsys, argv):
    code = main(["spectral", *argv, "--format", "json"])
    out = capsys.readouterr().out
    assert code == 0
    return json.loads(out)


def test_saxe_instance_depth_two(capsys):
    d = _json(capsys, ["--depth", "2", "--target", "3", "--sigma0", "0.001", "--t", "2"])
    assert d["schema"] == "ibsym/spectral"
    assert d["sigma"] == pytest.approx(2.9457206986, abs=1e-10)          # formulas.md §5.4
    assert d["solution_kind"] == "closed form" and "closed form" in d["method"]
    assert "2 \\sigma_r" in d["flow_latex"]


def test_depth_three_implicit_solution_hits_the_published_time(capsys):
    # t(0.01 → 0.5) = 3.76803678108 for N = 3, s = 1 (formulas.md §5.4)
    d = _json(capsys, ["--depth", "3", "--target", "1", "--sigma0", "0.01",
                       "--t", "3.76803678108"])
    assert d["sigma"] == pytest.approx(0.5, abs=1e-10)
    assert d["time_to_learn"] == pytest.approx(3.76803678108, abs=1e-10)
    assert d["solution_kind"] == "implicit" and "bisection" in d["method"]


def test_depth_one_and_decay_from_above(capsys):
    d = _json(capsys, ["--depth", "1", "--target", "2", "--sigma0", "0", "--t", "1"])
    assert d["sigma"] == pytest.approx(2 * (1 - 2.718281828459045 ** -1), rel=1e-12)
    d = _json(capsys, ["--depth", "4", "--target", "1", "--sigma0", "3", "--t", "0.5"])
    assert 1 < d["sigma"] < 3


def test_fraction_and_time_to_learn(capsys):
    d = _json(capsys, ["--depth", "2", "--target", "1", "--sigma0", "1/100", "--fraction", "1/2"])
    assert d["sigma"] is None and d["time_to_learn"] == pytest.approx(2.29755992507, abs=1e-10)
    assert d["time_to_learn_leading"] == "-log(sigma_0)/(2*s)"


def test_finite_step_correction(capsys):
    d = _json(capsys, ["--depth", "3", "--target", "1", "--sigma0", "0.2", "--t", "2",
                       "--h", "0.05"])
    f = d["finite_step"]
    assert abs(f["sigma_modified"] - f["sigma_gd"]) < abs(f["sigma_flow"] - f["sigma_gd"]) / 5
    assert f["sigma_flow"] == pytest.approx(d["sigma"], rel=1e-9)
    assert f["gd_steps"] == 40


def test_text_latex_and_symbolic_depth(capsys, tmp_path):
    assert main(["spectral", "--depth", "2", "--target", "3", "--sigma0", "0.001", "--t", "1"]) == 0
    out = capsys.readouterr().out
    assert "σ(1) = 0.355712478919" in out and "dσ/dt = 2*sigma*(3 - sigma)" in out
    assert main(["spectral", "--depth", "3", "--target", "1", "--sigma0", "0.01", "--t", "2",
                 "--format", "latex", "--standalone"]) == 0
    doc = capsys.readouterr().out
    (tmp_path / "s.tex").write_text(doc)
    assert compile_latex(tmp_path / "s.tex").exists()
    assert main(["spectral", "--depth", "N", "--format", "latex", "--standalone"]) == 0
    doc = capsys.readouterr().out
    assert r"\sum_{j=1}^{N}" in doc
    (tmp_path / "n.tex").write_text(doc)
    assert compile_latex(tmp_path / "n.tex").exists()
    assert main(["spectral", "--depth", "N"]) == 0
    assert "N*sigma**(2 - 2/N)*(s - sigma)" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["--depth", "0", "--target", "1", "--sigma0", "0.1"], "between 1 and 64"),
    (["--depth", "2.5", "--target", "1", "--sigma0", "0.1"], "between 1 and 64"),
    (["--depth", "x", "--target", "1", "--sigma0", "0.1"], "positive integer or N"),
    (["--depth", "3", "--target", "-1", "--sigma0", "0.1"], "must be positive"),
    (["--depth", "3", "--target", "1", "--sigma0", "-0.1"], "must be >= 0"),
    (["--depth", "3", "--target", "1", "--sigma0", "0.1", "--t", "-1"], "non-negative"),
    (["--depth", "3", "--target", "1", "--sigma0", "0.1", "--fraction", "3/2"],
     "strictly between 0 and 1"),
    (["--depth", "3", "--target", "__import__('os')", "--sigma0", "0.1"], "__import__"),
    (["--depth", "3", "--sigma0", "0.1"], "give --target"),
    (["--depth", "3", "--target", "1", "--sigma0", "0.1", "--t", "1", "--h", "0"], "positive"),
    (["--depth", "3", "--target", "1", "--sigma0", "0.1", "--h", "0.1"], "--h needs --t"),
    (["--depth", "N", "--target", "1"], "needs an integer --depth"),
])
def test_bad_input_exits_with_status_2(capsys, argv, message):
    assert main(["spectral", *argv]) == 2
    assert message in capsys.readouterr().err


def test_help_has_an_example(capsys):
    assert main(["spectral", "--help"]) == 0
    assert "ibsym spectral --depth 2 --target 3 --sigma0 0.001 --t 1" in capsys.readouterr().out
