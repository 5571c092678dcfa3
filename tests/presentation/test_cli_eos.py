"""``ibsym eos`` in-process: a small run, JSON, the figure, bad input (exit 2, one line)."""
import json

import pytest

from ibsym.cli import main

SMALL = ["--data", "synthetic", "--n", "40", "--width", "8", "--steps", "60", "--every", "20"]


def test_small_run_json_and_plot(capsys, tmp_path):
    fig = tmp_path / "eos.png"
    code = main(["eos", "heavy-ball", "--hyper", "beta=0.5", "--eta", "0.3,0.6", *SMALL,
                 "--json", "--plot", str(fig)])
    d = json.loads(capsys.readouterr().out)
    assert code in (0, 1) and code == (0 if d["passed"] else 1)
    assert d["schema"] == "ibsym/edge-of-stability" and len(d["runs"]) == 2
    assert [r["level"] for r in d["runs"]] == pytest.approx([3.0 / 0.3, 3.0 / 0.6], rel=1e-6)
    assert fig.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_text_table(capsys):
    main(["eos", "gd", "--eta", "1", *SMALL])
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("optimizer") and "gd" in out.splitlines()[1]


@pytest.mark.parametrize("argv, needle", [
    (["eos", "gd", "--eta", "-1"], "--eta must be positive"),
    (["eos", "gd", "--eta", "0.1", "--steps", "1e9"], "--steps must be an integer"),
    (["eos", "gd", "--eta", "abc"], "--eta"),
    (["eos", "adam", "--eta", "0.1"], "give a value for hyper-parameter"),
    (["eos", "sgd", "--eta", "0.1"], "whole epoch"),
    (["eos", "gd", "--eta", "0.1", "--plot", "/nonexistent-dir/x.png"], "does not exist"),
    (["eos", "gd", "--eta", "0.1", "--plot", "x.xyz"], "unknown figure format"),
    (["eos", "nosuch", "--eta", "0.1"], "unknown optimizer"),
])
def test_bad_input_exit_2_one_line(capsys, tmp_path, monkeypatch, argv, needle):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1 and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []
