"""``ibsym bad-minima``: bad input (exit 2, one line, nothing written), JSON/LaTeX/text output,
the figure files, Ctrl-C (exit 130, one line, nothing written).  The experiment itself is
replaced by a prepared record (its own tests are in tests/dynamics/test_bad_minima.py)."""
import json

import pytest

from ibsym.cli import main
from ibsym.dynamics.bad_minima import (COMBINATIONS, AdversarialStart, BadMinima,
                                       BadMinimaRun)


def _record(drop=15.0):
    base = 0.937
    runs = [BadMinimaRun("random", 0, (), 1.0, base, 8.0, 620.0, 186.0, 400, 0.01, 0.2)]
    for R, acc, loss, fro in ((1, 0.91, 0.33, 967.0), (4, 0.87, 0.49, 2156.0),
                              (16, base - drop / 100, 1.08, 6963.0)):
        runs.append(BadMinimaRun(f"adversarial R={R}", R, (), 1.0, acc, 5.0, fro, fro / 2,
                                 400, 0.01, loss))
    runs += [BadMinimaRun("adversarial R=16", 16, c, 1.0, base - 0.01, 80.0, 100.0, 50.0, 400,
                          0.02, 0.25) for c in COMBINATIONS if len(c) >= 2]
    starts = tuple(AdversarialStart(R, 200 * R, 0.99, 0.1, 1000.0 * R, 150) for R in (1, 4, 16))
    return BadMinima(tuple(runs), {"size": "quick"}, starts)


@pytest.fixture
def fake(monkeypatch):
    calls = []

    def experiment(**kwargs):
        calls.append(kwargs)
        for k in range(3):
            kwargs["progress"](f"phase {k}")
        return _record(kwargs.pop("drop", 15.0))
    monkeypatch.setattr("ibsym.dynamics.bad_minima.bad_minima_experiment", experiment)
    return calls


def test_json_on_stdout_progress_on_stderr_and_the_files(capsys, tmp_path, fake):
    out = tmp_path / "bm"
    code = main(["bad-minima", "--size", "quick", "--replication", "2,8", "32", "--noise", "20%",
                 "--seed", "3", "--format", "json", "--out", str(out)])
    got = capsys.readouterr()
    d = json.loads(got.out)
    assert code == 0 and d["schema"] == "ibsym/bad-minima" and d["passed"] is True
    assert fake[0]["replicas"] == (2, 8, 32) and fake[0]["noise"] == pytest.approx(0.2)
    assert fake[0]["seed"] == 3 and fake[0]["size"] == "quick"
    assert "[bad-minima] 3/" in got.err and "phase 2" in got.err
    names = {p.name for p in out.iterdir()}
    assert {"bad_minima.json", "bad_minima.pdf", "bad_minima.png", "bad_minima.tex"} <= names
    assert all(n.startswith("bad_minima.") for n in names)
    assert (out / "bad_minima.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "bad_minima.pdf").read_bytes()[:5] == b"%PDF-"
    assert json.loads((out / "bad_minima.json").read_text())["figures"]["drop_points"] == \
        pytest.approx(15.0)
    assert r"\begin{array}" in (out / "bad_minima.tex").read_text()


def test_text_and_latex_and_the_exit_status_of_a_missed_acceptance(capsys, fake, monkeypatch):
    assert main(["bad-minima", "--size", "quick"]) == 0
    assert "acceptance: met" in capsys.readouterr().out
    assert main(["bad-minima", "--format", "latex"]) == 0
    assert capsys.readouterr().out.startswith(r"\begin{array}")
    import ibsym.dynamics.bad_minima as bm
    monkeypatch.setattr(bm, "bad_minima_experiment", lambda **kw: _record(drop=5.0))
    assert main(["bad-minima"]) == 1
    assert "loses 5.0 < 10 points" in capsys.readouterr().out


def test_interrupt_exits_130_with_one_line_and_writes_nothing(capsys, tmp_path, monkeypatch):
    def interrupted(**kwargs):
        kwargs["progress"]("phase 0")
        raise KeyboardInterrupt
    monkeypatch.setattr("ibsym.dynamics.bad_minima.bad_minima_experiment", interrupted)
    assert main(["bad-minima", "--out", str(tmp_path / "bm")]) == 130
    err = capsys.readouterr().err
    assert err.splitlines()[-1] == "ibsym bad-minima: interrupted" and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv, needle", [
    (["--replication", "0"], "each R must be an integer between 1 and 64, got 0"),
    (["--replication", "1.5"], "each R must be an integer"),
    (["--replication", "abc"], "--replication"),
    (["--replication", "1,1,4"], "at most 8 distinct values"),
    (["--replication", *"1 2 3 4 5 6 7 8 9".split()], "at most 8 distinct values"),
    (["--noise", "2"], "--noise must be a fraction strictly between 0 and 1"),
    (["--noise", "0%"], "--noise must be a fraction"),
    (["--noise", "nan"], "--noise"),
    (["--seed", "-1"], "--seed must be an integer"),
    (["--size", "huge"], "invalid choice: 'huge'"),
    (["--format", "xml"], "invalid choice: 'xml'"),
    (["--out", "/nonexistent-dir/bm"], "its parent folder does not exist"),
    (["--out", "file.txt"], "exists and is not a folder"),
    (["--budget", "0"], "--budget must be a positive number of seconds"),
])
def test_bad_input_exit_2_one_line_nothing_written(capsys, tmp_path, monkeypatch, fake, argv,
                                                   needle):
    monkeypatch.chdir(tmp_path)
    if "file.txt" in argv:
        (tmp_path / "file.txt").write_text("x")
    before = sorted(tmp_path.iterdir())
    assert main(["bad-minima", *argv]) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1 and "Traceback" not in err
    assert sorted(tmp_path.iterdir()) == before and fake == []


def test_figure_texts_are_mathtext_and_legends_stay_off_the_data():
    from matplotlib.figure import Figure

    from ibsym.plots.bad_minima import bad_minima_figure
    import importlib.util
    from pathlib import Path
    spec = importlib.util.spec_from_file_location(
        "_figure_texts", Path(__file__).with_name("test_figure_texts.py"))
    ft = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ft)
    draw, figure_texts, legend_problems, literal_scripts = (
        ft.draw, ft.figure_texts, ft.legend_problems, ft.literal_scripts)
    fig = draw(bad_minima_figure(_record()))
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert not [s for _, s in figure_texts(fig) if literal_scripts(s)]
    assert not legend_problems(fig), legend_problems(fig)
    left, right = fig.axes
    assert [t.get_text() for t in left.get_legend().get_texts()][:3] == [
        "random start, vanilla SGD", "within 3 points", "vanilla SGD"]
    assert len(right.patches) == 2 * 6                 # train + test bars: random + 5 runs
    assert left.lines[1].get_ydata()[-1] == pytest.approx(0.787)
