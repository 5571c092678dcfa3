"""``ibsym limit`` on classification problems (issue 12): JSON, figure, bad input (exit 2)."""
import json

import pytest

from ibsym.cli import main


@pytest.fixture
def zfile(tmp_path):
    p = tmp_path / "z.json"
    p.write_text(json.dumps({"Z": [[1, 0], [0, 1], [2, 2], [3, 1]]}))
    return str(p)


def test_gd_soudry_json(capsys, zfile):
    assert main(["limit", "gd", "--problem", zfile, "--h", "0.1", "--max-steps", "10000",
                 "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["schema"] == "ibsym/implicit-bias-classification" and d["geometry"]["p"] == "2"
    assert d["margin"]["support"] == [0, 1] and abs(d["prediction"]["tL_limit"] - 20) < 1e-6
    assert max(abs(a - b) for a, b in zip(d["rho_final"], d["prediction"]["w_tilde"])) < 1e-2


def test_labels_file_sign_descent_plot(capsys, tmp_path):
    p = tmp_path / "xy.json"
    p.write_text(json.dumps({"X": [[3, 1], [-1, -2]], "labels": [1, -1]}))
    png = tmp_path / "conv.png"
    assert main(["limit", "sign-descent", "--problem", str(p), "--h", "0.1", "--decay", "0.5",
                 "--max-steps", "5000", "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert "ℓ_oo max-margin direction" in out and png.read_bytes()[:4] == b"\x89PNG"


def test_normalized_steepest_separable_random(capsys):
    assert main(["limit", "normalized-steepest", "--p", "3", "--problem", "separable:10,3,0",
                 "--h", "0.05", "--max-steps", "5000", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["margin"]["p"] == "3" and d["direction_error"][-1] < 2e-2


@pytest.mark.parametrize("argv,msg", [
    (["gd", "--problem", "separable:2,3"], "separable:n,d,seed"),
    (["gd", "--problem", "NS"], "not linearly separable"),
    (["gd", "--problem", "separable:5,2,0", "--max-steps", "3000000"], "2000000"),
    (["steepest", "--problem", "separable:5,2,0"], "--p"),
    (["gd", "--problem", "separable:5,2,0", "--decay", "2"], "[0, 1]"),
    (["gd", "--problem", "separable:5,2,0", "--w0", "1,2"], "--w0"),
    (["gd", "--problem", "random:2,4,0", "--loss", "logistic"], "classification problems"),
    (["gd", "--problem", "BADLABEL"], "labels"),
])
def test_bad_input_exit_2_one_line(capsys, tmp_path, argv, msg):
    ns = tmp_path / "ns.json"
    ns.write_text(json.dumps({"Z": [[1, 0], [-1, 0]]}))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"X": [[1, 0]], "labels": [3]}))
    argv = [{"NS": str(ns), "BADLABEL": str(bad)}.get(a, a) for a in argv]
    assert main(["limit", *argv]) == 2
    err = capsys.readouterr().err
    assert msg in err and err.count("\n") == 1 and "Traceback" not in err
