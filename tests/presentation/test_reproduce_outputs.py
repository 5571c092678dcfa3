"""reproduce's outputs: relative --out and the PDF, failed builds, unverified results surfaced,
only marked scripts run, the --out lock, reports that list only what exists (issues 9 and 17)."""
import dataclasses
import fcntl
import json
import tempfile

import pytest

import ibsym.reproduce as rp
from ibsym.cli import main
from ibsym.reproduce import find_derivations, is_derivation_script, reproduce

FIGURE = """IBSYM_DERIVATION = True
from matplotlib.figure import Figure
from ibsym.plots import save_figure


def main(out, *, quick=False):
    fig = Figure(figsize=(2, 2))
    fig.add_subplot().plot([0, 1], [0, 1])
    save_figure(fig, out / "line.png", dpi=50)
    return {"title": "a figure", "files": ["line.png", "ghost.png"],
            "checks": [{"name": "x", "value": 1, "oracle": 1, "ok": True}]}
"""

UNVERIFIED = """IBSYM_DERIVATION = True
import dataclasses
import ibsym as ib
from ibsym.core import export


def main(out, *, quick=False):
    eq = ib.modified_equation("gd", ib.losses.bilinear(), order=1)
    rep = ib.verify(eq, {"a": 0.3, "b": 1.7}, T=1.0, steps=[0.04, 0.02])
    bad = dataclasses.replace(rep, slopes=(1.0, 1.0))       # the order-1 slope is off: FAILED
    export.write(eq.with_verification(bad), out / "gd", formats=("json",))
    return {"title": "exports a failed verification", "files": ["gd.json"], "checks": []}
"""


def _folder(tmp_path, **scripts):
    d = tmp_path / "derivs"
    d.mkdir(exist_ok=True)
    for name, text in scripts.items():
        (d / f"{name}.py").write_text(text)
    return d


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    d = tmp_path / "systemp"
    d.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(d))
    return d


def test_relative_out_gets_its_pdf_and_leaves_no_temporary_files(tmp_path, monkeypatch,
                                                                   private_tmp, capsys):
    d = _folder(tmp_path, figure=FIGURE)
    monkeypatch.chdir(tmp_path)
    assert main(["reproduce", "--derivations", str(d), "--out", "rel-out"]) == 0
    res = json.loads(capsys.readouterr().out)
    out = tmp_path / "rel-out"
    assert res["pdf"]["status"] == "ok"
    assert (out / "report.pdf").read_bytes()[:5] == b"%PDF-"
    assert sorted(p.name for p in out.iterdir()) == [".ibsym.lock", "figure", "report.html",
                                                     "report.md", "report.pdf", "report.tex",
                                                     "summary.json"]
    assert "{figure/line.pdf}" in (out / "report.tex").read_text()     # relative to --out
    assert (out / "figure" / "line.pdf").read_bytes()[:5] == b"%PDF-"   # vector beside PNG
    assert list(private_tmp.iterdir()) == []                 # no ibsym-tex-* folder left
    md = (out / "report.md").read_text()
    assert "figure/line.png" in md and "ghost.png" not in md  # lists only what exists
    summary = json.loads((out / "summary.json").read_text())
    assert summary["results"][0]["files"] == ["line.png"] and summary["pdf"]["status"] == "ok"


def test_a_failed_pdf_build_is_reported_and_fails_the_run(tmp_path, monkeypatch, capsys):
    d = _folder(tmp_path, figure=FIGURE)

    def broken(*a, **k):
        raise rp.InputError("pdflatex failed on the document: ! Undefined control sequence.")
    monkeypatch.setattr(rp, "compile_latex", broken)
    assert main(["reproduce", "--derivations", str(d), "--out", str(tmp_path / "o")]) == 1
    cap = capsys.readouterr()
    assert "report.pdf was not built: pdflatex failed" in cap.err
    assert json.loads(cap.out)["pdf"]["status"] == "failed"
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["ok"] is False and "Undefined control" in summary["pdf"]["message"]
    assert "PDF report: failed" in (tmp_path / "o" / "report.md").read_text()
    assert not (tmp_path / "o" / "report.pdf").exists()


def test_without_pdflatex_the_pdf_is_skipped_not_failed(tmp_path, monkeypatch, capsys):
    d = _folder(tmp_path, figure=FIGURE)
    monkeypatch.setattr(rp, "pdflatex_available", lambda: False)
    assert main(["reproduce", "--derivations", str(d), "--out", str(tmp_path / "o")]) == 0
    assert json.loads(capsys.readouterr().out)["pdf"]["status"] == "skipped"
    assert "PDF report: skipped" in (tmp_path / "o" / "report.md").read_text()


def test_a_result_exported_with_a_failed_verification_fails_the_run(tmp_path, capsys):
    d = _folder(tmp_path, unverified=UNVERIFIED, figure=FIGURE)
    code = main(["reproduce", "--derivations", str(d), "--out", str(tmp_path / "o")])
    res = json.loads(capsys.readouterr().out)
    assert code == 1 and not res["ok"]
    st = {r["name"]: r for r in res["results"]}
    assert st["figure"]["status"] == "ok" and st["unverified"]["status"] == "unverified"
    assert "gd.json" in st["unverified"]["message"]
    exported = json.loads((tmp_path / "o" / "unverified" / "gd.json").read_text())
    assert exported["verified"] is False and exported["verification"]["passed"] is False
    md = (tmp_path / "o" / "report.md").read_text()
    assert "FAILURES" in md and "`unverified` (unverified)" in md


def test_only_marked_scripts_run(tmp_path, capsys):
    canary = tmp_path / "CANARY"
    d = _folder(tmp_path, figure=FIGURE,
                stray=f"open({str(canary)!r}, 'w').close()\ndef main(out, *, quick=False): ...\n",
                commented="# IBSYM_DERIVATION = True\ndef main(out, *, quick=False): ...\n",
                nested="def f():\n    IBSYM_DERIVATION = True\ndef main(out, *, quick=False): ...\n",
                falsy="IBSYM_DERIVATION = 1\ndef main(out, *, quick=False): ...\n",
                broken="IBSYM_DERIVATION = True\ndef main(:\n")
    assert sorted(find_derivations(d)) == ["figure"]
    assert main(["reproduce", "--derivations", str(d), "--list"]) == 0
    assert capsys.readouterr().out.split() == ["figure"]
    assert not canary.exists()                                 # listing never imports
    assert main(["reproduce", "stray", "--derivations", str(d), "--out", str(tmp_path / "o")]) == 2
    assert "not marked as a derivation script" in capsys.readouterr().err
    assert not canary.exists()
    assert is_derivation_script(d / "figure.py") and not is_derivation_script(d / "broken.py")


def test_a_second_run_into_the_same_out_is_refused(tmp_path, capsys):
    d = _folder(tmp_path, figure=FIGURE)
    out = tmp_path / "o"
    out.mkdir()
    with open(out / ".ibsym.lock", "a+b") as fh:            # what a running reproduce holds
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert main(["reproduce", "--derivations", str(d), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert "another reproduce is writing to" in err and len(err.strip().splitlines()) == 1
        assert sorted(p.name for p in out.iterdir()) == [".ibsym.lock"]   # nothing written
    assert main(["reproduce", "--derivations", str(d), "--out", str(out)]) == 0   # released


def test_the_report_of_an_earlier_run_never_describes_this_one(tmp_path, monkeypatch):
    d = _folder(tmp_path, figure=FIGURE)
    out = tmp_path / "o"
    assert reproduce([], out, directory=d, progress=False)["ok"]
    assert (out / "report.md").exists()

    def killed(*a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr(rp, "_load", killed)
    with pytest.raises(KeyboardInterrupt):
        reproduce([], out, directory=d, progress=False)
    assert not (out / "report.md").exists() and not (out / "summary.json").exists()
    assert (out / "figure" / "line.png").read_bytes()[:4] == b"\x89PNG"


def test_out_that_is_a_file_is_bad_input(tmp_path, capsys):
    d = _folder(tmp_path, figure=FIGURE)
    (tmp_path / "f").write_text("x")
    assert main(["reproduce", "--derivations", str(d), "--out", str(tmp_path / "f")]) == 2
    assert "is a file" in capsys.readouterr().err


def test_help_says_that_scripts_run_as_code(capsys):
    assert main(["reproduce", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "run with your rights" in text and "IBSYM_DERIVATION = True" in text


def test_failed_report_is_a_real_failure():
    # the UNVERIFIED script's report really fails: the same construction, checked here
    import ibsym as ib
    eq = ib.modified_equation("gd", ib.losses.bilinear(), order=1)
    rep = ib.verify(eq, {"a": 0.3, "b": 1.7}, T=1.0, steps=[0.04, 0.02])
    assert rep.passed and not dataclasses.replace(rep, slopes=(1.0, 1.0)).passed


@pytest.mark.parametrize("plot, message", [("nodir/x.png", "does not exist"),
                                           ("x.foo", "unknown figure format 'foo'")])
def test_verify_plot_refuses_an_unwritable_path_before_running(tmp_path, monkeypatch, capsys,
                                                               plot, message):
    monkeypatch.chdir(tmp_path)
    args = ["verify", "gd", "--loss", "(a*b-1)**2/2", "--params", "a b", "--init", "a=0.3,b=1.7",
            "--order", "1", "--json", "--plot"]
    assert main(args + [plot]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and list(tmp_path.iterdir()) == []
    assert main(args + ["ok.png"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.png"]        # no temporary left
    assert (tmp_path / "ok.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_pdf_asked_for_without_pdflatex_is_refused_before_anything_runs(tmp_path, monkeypatch,
                                                                        capsys):
    d = _folder(tmp_path, figure=FIGURE)
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))         # a PATH that lacks pdflatex
    assert main(["reproduce", "--derivations", str(d), "--out", str(tmp_path / "o"), "--pdf"]) == 2
    cap = capsys.readouterr()
    assert cap.out == "" and "Traceback" not in cap.err
    assert len(cap.err.strip().splitlines()) == 1
    assert "--pdf" in cap.err and "pdflatex is not on the PATH" in cap.err
    assert not (tmp_path / "o").exists()           # nothing written
    # without --pdf the same PATH only skips the PDF
    assert main(["reproduce", "--derivations", str(d), "--out", str(tmp_path / "o")]) == 0
    assert json.loads(capsys.readouterr().out)["pdf"]["status"] == "skipped"


def test_pdf_asked_for_and_the_build_fails_exits_1_with_one_line(tmp_path, monkeypatch, capsys):
    d = _folder(tmp_path, figure=FIGURE)
    monkeypatch.setattr(rp, "pdflatex_available", lambda: True)

    def broken(*a, **k):
        raise rp.InputError("pdflatex failed on the document:\n! Undefined control sequence.\nl.12")
    monkeypatch.setattr(rp, "compile_latex", broken)
    assert main(["reproduce", "--derivations", str(d), "--out", str(tmp_path / "o"), "--pdf"]) == 1
    err = [ln for ln in capsys.readouterr().err.splitlines() if not ln.startswith("[reproduce]")]
    assert err == ["ibsym reproduce: report.pdf was not built: pdflatex failed on the document: "
                   "! Undefined control sequence. l.12"]
    assert not (tmp_path / "o" / "report.pdf").exists()


def test_pdf_asked_for_and_pdflatex_vanishing_mid_run_fails(tmp_path, monkeypatch):
    d = _folder(tmp_path, figure=FIGURE)
    answers = iter([True, False])                  # present at the check, gone at the build
    monkeypatch.setattr(rp, "pdflatex_available", lambda: next(answers))
    res = reproduce([], tmp_path / "o", directory=d, progress=False, pdf=True)
    assert not res["ok"] and res["pdf"]["status"] == "failed"
