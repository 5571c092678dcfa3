"""Issue 14 item 2, the size rule: an F_j too long to display is listed as a coefficient table
(or summarized) and the document says so; one ``align*`` per chunk of rows keeps any document
within pdflatex's default main memory (the order-2 mini-batch Adam document did not compile:
"TeX capacity exceeded").  Monomial counts and the table rows are checked against the
expression itself: nothing is dropped silently."""
from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import sympy as sp

import ibsym as ib
from ibsym.cli import main
from ibsym.core import latexfit
from ibsym.core.export import latex_document
from ibsym.core.latexfit import MAX_DISPLAY_CHARS, Block, chunk_rows, oversized_block

needs_tex = pytest.mark.skipif(not shutil.which("pdflatex"), reason="pdflatex not installed")

LOSS3 = "(a*b*c - 1)**2/2 + (a + 2*b - c)**4/12"


@pytest.fixture(scope="module")
def gd3():
    """GD order 2 on a three-parameter polynomial loss: F_2 is 13,045 characters of LaTeX."""
    return ib.modified_equation("gd", ib.Loss.parse(LOSS3, params="a b c"), order=2)


def _tables(doc: str) -> list[str]:
    return re.findall(r"\\begin\{longtable\}.*?\\end\{longtable\}", doc, re.S)


def _monomials(x, params):
    return sp.Poly(sp.expand(x), *params).terms()


def test_default_limit_summarizes_a_long_polynomial_term(gd3):
    sizes = [len(gd3.term_latex(j)) for j in range(3)]
    assert sizes[0] < sizes[1] < MAX_DISPLAY_CHARS < sizes[2]
    n2 = sum(len(_monomials(x, gd3.params)) for x in gd3.readable_terms()[2])
    assert n2 == 657 > latexfit.MAX_TABLE_ROWS
    doc = gd3.latex_document()
    assert not _tables(doc)
    assert "F_{0,1} = " in doc and "F_{1,3} = " in doc and "F_{2," not in doc
    assert (f"$F_{{2}}$ (3 components, 3 summands as printed, {sizes[2]:,} characters of "
            "LaTeX, about 3 pages) is longer than the display limit of 12,000 characters") in doc
    assert "not displayed (its coefficient table would have 657 rows, more than 400)" in doc


def test_a_term_over_the_limit_is_listed_monomial_by_monomial(gd3):
    doc = gd3.latex_document(max_display_chars=1000)
    (table,) = _tables(doc)          # F_1; F_2 (657 monomials) is summarized, F_0 displayed
    assert "coefficient in $F_{1}$" in table and "F_{0,1} = " in doc and "F_{1," not in doc
    assert "listed as a coefficient table by monomial in $a$, $b$, $c$" in doc
    a, b, c = gd3.params
    want = [(k + 1, sp.latex(a**e[0] * b**e[1] * c**e[2]), sp.latex(sp.factor(coef)))
            for k, x in enumerate(gd3.readable_terms()[1]) for e, coef in _monomials(x, gd3.params)]
    rows = [r.split("&") for r in table.split("\\endhead\n")[1].split(" \\\\\n") if "&" in r]
    got = [(int(r[0]), r[1].strip().strip("$"),
            r[2].strip().strip("$").replace(r"\displaystyle ", "")) for r in rows]
    assert got == want and len(want) > 20
    assert f"({len(want):,} rows)" in doc


def test_the_limit_is_a_keyword_and_a_cli_option(gd3, capsys):
    assert not _tables(gd3.latex_document(max_display_chars=10**6))
    assert len(_tables(gd3.latex_document(max_display_chars=1000))) == 1     # F_1
    argv = ["derive", "gd", "--order", "2", "--loss", "(a*b - 1)**2/2", "--params", "a b",
            "--format", "latex", "--standalone"]
    assert main(argv) == 0
    assert "longtable}" not in capsys.readouterr().out.split(r"\begin{document}")[1]
    assert main(argv + ["--max-display-chars", "100"]) == 0
    out = capsys.readouterr().out
    assert "display limit of 100 characters" in out and r"\begin{longtable}" in out
    for bad in ("12x", "99", "1.5", "-3"):
        assert main(argv + ["--max-display-chars", bad]) == 2
        cap = capsys.readouterr()
        assert cap.out == "" and cap.err.strip().splitlines() == [
            f"ibsym derive: error: --max-display-chars must be a whole number from 100 to "
            f"10**8, got {bad!r}"]


def test_a_non_polynomial_term_is_summarized_not_cut():
    a, b = sp.symbols("a b")
    x = sum(sp.sqrt(a**2 + k) * b**k for k in range(40))
    blk = oversized_block("F_{2}", [x, x + 1], [a, b], chars=50_000, limit=12_000)
    assert isinstance(blk, Block) and "longtable" not in blk
    assert "(2 components, 81 summands as printed, 50,000 characters of LaTeX, about 12 pages)" \
        in blk
    assert "not displayed (it is not a polynomial in the parameters" in blk
    assert r"JSON export (key \texttt{expressions}" in blk
    blk = oversized_block(r"\tilde\theta(0)", None, [a, b], chars=20_000, limit=12_000,
                          json_key="initial_shift")
    assert r"\texttt{initial\_shift}" in blk and "summands" not in blk


def test_a_table_longer_than_the_row_limit_is_not_written_half(monkeypatch):
    a, b = sp.symbols("a b")
    poly = sum(a**i * b**j for i in range(10) for j in range(10))
    monkeypatch.setattr(latexfit, "MAX_TABLE_ROWS", 150)
    blk = oversized_block("F_{1}", [poly, poly], [a, b], chars=20_000, limit=12_000)
    assert "longtable" not in blk and "would have 200 rows, more than 150" in blk
    blk = oversized_block("F_{1}", [poly], [a, b], chars=20_000, limit=12_000)
    assert blk.count(r" \\" + "\n") == 100


def test_display_rows_are_split_into_bounded_align_environments():
    rows = [f"x_{{{k}}} = " + " + ".join(f"y_{{{i}}}" for i in range(8)) for k in range(300)]
    doc = latex_document("Many rows", [("Rows", rows + [Block("Between.\n\n")] + rows[:3])])
    bodies = re.findall(r"\\begin\{align\*\}\n(.*?)\n\\end\{align\*\}", doc, re.S)
    assert len(bodies) >= 300 // latexfit.CHUNK_ROWS + 1
    assert all(b.count("\\\\\n") < latexfit.CHUNK_ROWS for b in bodies)
    assert all(len(b) <= latexfit.CHUNK_CHARS for b in bodies)
    assert sum(b.count("& ") for b in bodies) == 303           # no row lost or doubled
    assert doc.index("Between.") > doc.index("x_{299}") and doc.index("Between.") < doc.rindex(
        "x_{2} =")
    assert [len(c) for c in chunk_rows(["r"] * 81, max_rows=40)] == [40, 40, 1]


@needs_tex
def test_the_documents_compile(gd3, tmp_path):
    for name, doc in (("default", gd3.latex_document()),
                      ("small", gd3.latex_document(max_display_chars=500))):
        (tmp_path / f"{name}.tex").write_text(doc, encoding="utf-8")
        proc = subprocess.run(["pdflatex", "-no-shell-escape", "-interaction=nonstopmode",
                               "-halt-on-error", f"{name}.tex"], cwd=tmp_path,
                              capture_output=True, text=True, timeout=300, errors="replace")
        log = (tmp_path / f"{name}.log").read_text(encoding="latin-1")
        assert proc.returncode == 0, [ln for ln in log.splitlines() if ln.startswith("!")]
        over = [float(x) for x in re.findall(r"Overfull \\[hv]box \(([\d.]+)pt too", log)]
        assert max(over, default=0.0) <= 10.0, over
