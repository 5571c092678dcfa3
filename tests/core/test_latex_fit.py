"""LaTeX that fits the page (issue 14): long rows broken, one escaping function for Unicode."""
from __future__ import annotations

import re
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pytest

from ibsym.core import export
from ibsym.core.latexfit import TEXT_WIDTH_UNITS, fit_rows, latex_width

ROOT = Path(__file__).resolve().parents[2]
needs_tex = pytest.mark.skipif(not shutil.which("pdflatex"), reason="pdflatex not installed")


def overfull(log: str) -> list[float]:
    return [float(x) for x in re.findall(r"Overfull \\[hv]box \(([\d.]+)pt too wide", log)]


def compile_log(tmp_path: Path, doc: str) -> str:
    (tmp_path / "d.tex").write_text(doc, encoding="utf-8")
    proc = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "d.tex"],
                          cwd=tmp_path, capture_output=True, timeout=120)
    log = (tmp_path / "d.log").read_text(encoding="latin-1")
    assert proc.returncode == 0, log[-2000:]
    return log


LONG_SUM = "F_{1} = " + " + ".join(rf"\frac{{{k} a^{{{k}}} b^{{2}}}}{{{k + 1}}}"
                                   for k in range(1, 60))
VECTOR = (r"\mathrm{m} = \left[\begin{matrix}" + " - ".join(f"a^{{{k}}} b" for k in range(30))
          + r"\\" + " + ".join(f"b^{{{k}}}" for k in range(30)) + r"\end{matrix}\right] + h\left("
          r"\left[\begin{matrix}a - b\\a b\end{matrix}\right]\right) + O(h^{2})")


def test_short_row_untouched_and_long_sum_broken_at_top_level_signs():
    assert fit_rows("a + b") == ["a + b"]
    rows = fit_rows(LONG_SUM)
    assert len(rows) >= 4
    assert rows[0].startswith("F_{1} = ") and all(r.startswith(r"\qquad + ") for r in rows[1:])
    assert all(latex_width(r) <= 76 + 2 for r in rows)
    # nothing lost: the terms, in order
    joined = " ".join(r.replace(r"\qquad", "") for r in rows)
    assert re.sub(r"\s+", "", joined) == re.sub(r"\s+", "", LONG_SUM)


def test_column_vector_rows_become_components_and_minus_keeps_parentheses():
    rows = fit_rows(VECTOR)
    heads = [r.split(" = ")[0] for r in rows if not r.startswith(r"\qquad")]
    assert heads == [r"\bigl(\mathrm{m}\bigr)_{1}", r"\bigl(\mathrm{m}\bigr)_{2}"]
    first = [r for r in rows if r.startswith(r"\bigl(\mathrm{m}\bigr)_{1}")][0]
    assert r"\begin{matrix}" not in "".join(rows)
    assert r"h\left(a - b\right)" in "".join(rows)
    # a vector after a minus sign keeps its parentheses: x - (a - b), not x - a - b
    neg = fit_rows(r"G_{2} = x - \left[\begin{matrix}" + " - ".join(["a"] * 60)
                   + r"\\b\end{matrix}\right]")
    assert neg[0].startswith(r"G_{2,1} = x - \left(a - a")
    assert first


def test_break_inside_left_right_closes_and_reopens_delimiters():
    row = r"y = h\left(" + " + ".join(rf"\frac{{x^{{{k}}}}}{{{k}}}" for k in range(80)) + r"\right)"
    rows = fit_rows(row)
    assert len(rows) > 2
    assert rows[0].endswith(r"\right.") and rows[1].startswith(r"\qquad \left.")
    for r in rows:   # every row balances its own \left/\right
        assert r.count(r"\left") == r.count(r"\right")


def test_unbreakable_piece_is_scaled_to_the_line():
    row = r"z = \frac{" + " + ".join(f"x_{{{k}}}" for k in range(80)) + "}{2}"
    rows = fit_rows(row)
    assert rows == [r"\resizebox{0.96\linewidth}{!}{$\displaystyle " + row + "$}"]


def test_rows_laid_out_by_their_author_are_left_alone():
    row = r"a &= " + " + ".join(["b"] * 100)
    assert fit_rows(row) == [row]


@needs_tex
def test_long_rows_compile_without_overfull_boxes(tmp_path):
    doc = export.latex_document("Long", [("Sum", LONG_SUM), ("Vector", VECTOR), ("Terms", [
        r"y = h\left(" + " + ".join(rf"\frac{{x^{{{k}}}}}{{{k}}}" for k in range(80)) + r"\right)",
        r"z = \frac{" + " + ".join(f"x_{{{k}}}" for k in range(80)) + "}{2}"])])
    log = compile_log(tmp_path, doc)
    assert [x for x in overfull(log) if x > 10] == []


@needs_tex
def test_concrete_modified_equation_fits_the_page(tmp_path):
    import ibsym as ib
    loss = ib.Loss.parse("(a*b - 1)**2/2 + (a - 2*b)**4/4", params="a b")
    eq = ib.modified_equation("gd", loss, order=2)
    doc = eq.latex_document()
    log = compile_log(tmp_path, doc)
    assert [x for x in overfull(log) if x > 10] == []
    assert "F_{2,1}" in doc   # written per component


# ------------------------------------------------------------------ escaping
def _project_chars() -> set[str]:
    """Every non-ASCII character in the package's and the derivations' source."""
    chars: set[str] = set()
    for folder in ("ibsym", "derivations"):
        for p in (ROOT / folder).rglob("*.py"):
            chars |= {c for c in p.read_text(encoding="utf-8") if ord(c) > 127}
    return {c for c in chars if not unicodedata.combining(c) and c != "\ue000"}


def test_every_character_the_project_prints_has_a_latex_mapping():
    missing = sorted(c for c in _project_chars() if "[U+" in export.escape_text(c)
                     or "?" in export.escape_text(c))
    assert missing == []


def test_escape_text_maps_accents_and_greek_and_keeps_security_escapes():
    assert export.escape_text("Montúfar") == r"Mont{\'u}far"
    assert export.escape_text("Müller") == r'M{\"u}ller'
    assert export.escape_text("θ̂") == r"$\hat{\theta}$"
    assert export.escape_text("√ε ≪ |∂_jL|") == (r"$\surd $$\varepsilon $ $\ll $ "
                                                 r"\textbar{}$\partial $\_jL\textbar{}")
    assert export.escape_text("§ ∝ ≫") == r"\S{} $\propto $ $\gg $"
    assert export.escape_text("\u4e00") == "[U+4E00]"        # visible, never '?'
    assert export.escape_text("a\\b{c}") == r"a\textbackslash{}b\{c\}"


@needs_tex
def test_all_mapped_unicode_compiles_without_missing_characters(tmp_path):
    from ibsym.core.export import _UNICODE_MATH, _UNICODE_TEXT
    text = " ".join(sorted(set(_UNICODE_MATH) | set(_UNICODE_TEXT) | _project_chars())
                    ).replace("\ue000", "")
    log = compile_log(tmp_path, export.latex_document("Unicode §", [], notes=[text]))
    assert "Missing character" not in log
    assert "not set up for use with LaTeX" not in log


# ------------------------------------------------------------------ Jupyter
def test_repr_latex_of_a_concrete_result_shows_the_terms_truncated():
    import ibsym as ib
    loss = ib.Loss.parse("(a*b - 1)**2/2 + (a - 2*b)**4/4", params="a b")
    eq = ib.modified_equation("gd", loss, order=2)
    shown = eq._repr_latex_()
    assert shown.startswith("$\\displaystyle \\begin{aligned}") and shown.endswith("$")
    for j in range(3):
        assert f"F_{{{j}}} = " in shown
    assert r"+ \dots" in shown                         # F_2 has more than REPR_TERMS summands
    assert r"\dots" not in eq.latex()                  # in full on .latex()
    assert sp_latex_first_term(eq) in shown
    generic = ib.modified_equation("heavy-ball", order=1)._repr_latex_()
    assert r"\tilde\theta(0)" in generic and r"\nabla^{2}L" in generic


def sp_latex_first_term(eq):
    import sympy as sp
    return sp.latex(sp.expand(eq.readable_terms()[0][0]).as_ordered_terms()[0])


def test_a_piece_too_wide_to_scale_is_unfolded_and_broken():
    # 600 terms over a fraction: scaled, it would be ~1/25 of its size (past TeX's largest
    # dimension it does not even compile -- 'Dimension too large' in minibatch-adam's export)
    num = " + ".join(f"x_{{{k}}}" for k in range(600))
    rows = fit_rows(r"z = \frac{" + num + r"}{\sqrt{" + num + "}}")
    assert len(rows) > 20
    assert rows[0].startswith(r"z = \left(") and rows[-1].endswith(r"\right)^{1/2}\right)^{-1}")
    scaled = [r for r in rows if "resizebox" in r]       # a line a little too wide: scaled
    assert len(scaled) <= 3 and all(latex_width(r) < 1.5 * TEXT_WIDTH_UNITS for r in scaled)
