"""The report of a reproduce run (issue 14): report.pdf and a self-contained report.html,
every exported .tex compiling without overfull boxes or missing glyphs, checked by
rendering (pdftoppm for the PDF, headless Debian chromium for the HTML).

Screenshots and page renders are written to the test's temporary folder
(``<pytest tmp>/report*/html-screenshot.png``, ``.../pdf-page-N.png``) and, when the
environment variable ``IBSYM_SCREENSHOT_DIR`` is set, copied there as well.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from ibsym.reproduce import reproduce

FAST = ["barrett_dherin_2021_igr", "ghosh_2023_heavy_ball", "min_norm_least_squares"]
needs_tex = pytest.mark.skipif(not shutil.which("pdflatex"),
                               reason="pdflatex not installed (.ci/setup installs it)")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _keep(path: Path) -> Path:
    dest = os.environ.get("IBSYM_SCREENSHOT_DIR")
    if dest:
        Path(dest).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(dest) / path.name)
    return path


def _ink(png: Path) -> float:
    """Fraction of pixels that are not (near) white."""
    import matplotlib.image as mpimg
    img = mpimg.imread(png)[..., :3]
    return float((img.min(axis=2) < 0.9).mean())


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    res = reproduce(FAST, out, quick=True, progress=False)
    return out, res


@needs_tex
def test_run_produces_pdf_and_html(run):
    out, res = run
    # no derivation crashes in the report/figure/export code (a mismatch with an oracle is
    # the derivation's own business, tested in test_reproduce.py)
    assert all(r["status"] in ("ok", "mismatch") for r in res["results"]), \
        [(r["name"], r["status"], r.get("message")) for r in res["results"]]
    assert res["pdf"]["status"] == "ok"
    assert (out / "report.pdf").read_bytes()[:5] == b"%PDF-"
    assert (out / "report.html").stat().st_size > 10_000


@needs_tex
def test_every_exported_tex_compiles_without_overfull_boxes_or_missing_glyphs(run, tmp_path):
    out, _ = run
    texs = sorted(out.rglob("*.tex"))
    assert len(texs) >= 10 and out / "report.tex" in texs
    bad = []
    for tex in texs:
        work = tmp_path / tex.stem
        work.mkdir()
        proc = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error",
                               f"-output-directory={work}", tex.name], cwd=tex.parent,
                              capture_output=True, timeout=120)
        log = (work / (tex.stem + ".log")).read_text(encoding="latin-1")
        over = [float(x) for x in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide", log)]
        text = tex.read_text(encoding="utf-8")
        if proc.returncode != 0:
            bad.append((tex.name, "does not compile"))
        if [x for x in over if x > 10]:
            bad.append((tex.name, f"overfull {max(over):.0f} pt"))
        if "Missing character" in log or "not set up for use with LaTeX" in log:
            bad.append((tex.name, "missing character"))
        if "[U+" in text:
            bad.append((tex.name, "unmapped character " + text[text.index("[U+"):][:9]))
    assert bad == []


@needs_tex
def test_report_tex_has_summary_table_check_tables_results_and_figures(run):
    out, res = run
    tex = (out / "report.tex").read_text(encoding="utf-8")
    assert tex.count(r"\section{") == len(FAST)
    assert "derivation & status & checks passed & time (s)" in tex
    with_checks = sum(bool(r.get("checks")) for r in res["results"])
    assert with_checks >= 2
    assert tex.count("quantity & derived & oracle & tolerance & status") == with_checks
    assert r"\includegraphics" in tex and "barrett_dherin_2021_igr/orders" in tex
    assert r"F_{0} =" in tex                           # the typeset result itself
    n_checks = sum(len(r.get("checks") or []) for r in res["results"])
    assert tex.count(r" & ok\\") == n_checks           # one table row per check


@needs_tex
@pytest.mark.skipif(shutil.which("pdftoppm") is None,
                    reason="pdftoppm not installed (Debian poppler-utils; .ci/setup installs it)")
def test_report_pdf_pages_render(run, tmp_path):
    out, _ = run
    subprocess.run(["pdftoppm", "-r", "40", "-png", "-f", "1", "-l", "3", str(out / "report.pdf"),
                    str(tmp_path / "pdf-page")], check=True, timeout=120, capture_output=True)
    pages = sorted(tmp_path.glob("pdf-page-*.png"))
    assert len(pages) == 3
    for p in pages:
        _keep(p)
        assert 0.003 < _ink(p) < 0.6, p


def test_report_html_is_self_contained(run):
    out, res = run
    page = (out / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page)
    assert "<script" not in page and "@import" not in page
    assert page.count('src="data:image/png;base64,') >= 3
    assert page.count("<h2>") == len(FAST) and '<table id="summary">' in page
    assert page.count('<table class="checks">') == sum(bool(r.get("checks"))
                                                        for r in res["results"])
    assert "<th>quantity</th><th>derived</th><th>oracle</th><th>tolerance</th>" in page


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (Debian package chromium; "
                                             ".ci/setup installs it)")
def test_report_html_renders_in_headless_chromium(run, tmp_path):
    out, _ = run
    shot = tmp_path / "html-screenshot.png"
    proc = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                           "--disable-dev-shm-usage", "--hide-scrollbars",
                           f"--user-data-dir={tmp_path / 'profile'}",
                           f"--screenshot={shot}", "--window-size=1200,2400",
                           (out / "report.html").as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert shot.is_file(), proc.stderr[-2000:]
    _keep(shot)
    assert 0.01 < _ink(shot) < 0.7


def test_summary_lists_the_html_report(run):
    out, res = run
    assert Path(res["html"]) == out / "report.html"
    assert json.loads((out / "summary.json").read_text())["ok"] is res["ok"]
