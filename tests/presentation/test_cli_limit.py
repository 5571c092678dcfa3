"""``ibsym limit`` in-process: derived implicit problems, JSON, bad input (exit 2, one line)."""
import json

import pytest

from ibsym.cli import main


@pytest.fixture
def data(tmp_path):
    p = tmp_path / "p.json"
    p.write_text(json.dumps({"X": [[1, 1, 1], [1, 2, 0]], "y": [1, 10]}))
    return str(p)


def test_gd_min_norm_json(capsys, data):
    code = main(["limit", "gd", "--problem", data, "--w0", "1,-1,2", "--h", "0.1", "--json"])
    d = json.loads(capsys.readouterr().out)
    assert code == 0 and d["schema"] == "ibsym/implicit-bias"
    assert d["solution_exact"] == ["2/3", "14/3", "-13/3"]
    assert d["invariant"]["symbolic"] == "proved" and d["distance"] < 1e-9


def test_heavy_ball_random_and_adam_text(capsys):
    assert main(["limit", "heavy-ball", "--hyper", "beta=0.8", "--problem", "random:2,5,3"]) == 0
    assert "w − w0 ∈ range(Xᵀ)" in capsys.readouterr().out
    assert main(["limit", "adam", "--problem", "random:2,4,1", "--h", "0.01"]) == 0
    assert "no affine invariant" in capsys.readouterr().out


def test_steepest_and_reparam(capsys, data):
    assert main(["limit", "steepest", "--p", "4/3", "--problem", data, "--h", "0.01",
                 "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert not d["invariant"]["exists"] and abs(d["measured"][0] - 0.28902) < 2e-5
    assert main(["limit", "gd", "--reparam", "up^2 - um^2", "--alpha", "0.3", "--problem",
                 "random:2,5,1", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["distance"] < 1e-8 and "asinh" in d["potential"]


@pytest.mark.parametrize("argv,msg", [
    (["gd", "--problem", "random:2,5"], "random:n,d,seed"),
    (["gd", "--problem", "nofile.json"], "no file"),
    (["gd", "--problem", "random:5,2,0"], "under-determined"),
    (["mirror-descent", "--problem", "random:2,4,0"], "--potential"),
    (["mirror-descent", "--problem", "random:2,4,0", "--potential", "__import__('os')"],
     "unknown function"),
    (["mirror-descent", "--problem", "random:2,4,0", "--potential=-w^2"], "not strictly convex"),
    (["gd", "--problem", "random:2,4,0", "--w0", "1,2"], "--w0 has 2 entries"),
    (["gd", "--problem", "random:2,4,0", "--h", "-1"], "positive"),
    (["steepest", "--problem", "random:2,4,0", "--p", "1"], "1 < p"),
    (["nosuch", "--problem", "random:2,4,0"], "unknown optimizer"),
    (["gd", "--problem", "random:2,4,0", "--reparam", "v^2"], "unknown name"),
])
def test_bad_input_exit_2_one_line(capsys, argv, msg):
    assert main(["limit", *argv]) == 2
    err = capsys.readouterr().err
    assert msg in err and err.count("\n") == 1 and "Traceback" not in err


def test_dependent_rows_file(capsys, tmp_path):
    p = tmp_path / "dep.json"
    p.write_text(json.dumps({"X": [[1, 2, 3], [2, 4, 6]], "y": [1, 2]}))
    assert main(["limit", "gd", "--problem", str(p)]) == 2
    assert "dependent rows" in capsys.readouterr().err


def test_divergent_step_exit_1(capsys, data):
    assert main(["limit", "gd", "--problem", data, "--h", "0.5"]) == 1
    assert "diverged" in capsys.readouterr().err
