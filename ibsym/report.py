"""The report of a ``reproduce`` run: ``report.tex`` (→ ``report.pdf``) and ``report.html``.

Both have a summary table at the top (derivation · status · checks passed · time) and one
section per derivation: its reference, status and run time, its summary, the result typeset
(the bodies of the derivation's exported ``.tex`` documents), a table of oracle checks
(quantity · derived · oracle · tolerance · status) and its figures.

``report.html`` is self-contained (no network): figures are inlined as base64 PNG, and the
typeset results as PNG pages rendered locally (pdflatex + ``pdftoppm``); without those tools
the LaTeX source is shown instead.  Every text goes through :func:`ibsym.core.export.escape_text`
(LaTeX) or :func:`html.escape` (HTML).
"""
from __future__ import annotations

import base64
import html
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from ibsym.core.export import compile_latex, escape_text, pdflatex_available

__all__ = ["report_tex", "report_html", "check_rows", "SAFE_PATH"]

#: Relative paths that may be written into LaTeX unescaped (``\includegraphics``, ``\input``).
SAFE_PATH = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*")

_CELL_LIMIT = 240


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    if v is None:
        return "--"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    return str(v)


def _short(text: str, limit: int = _CELL_LIMIT) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def check_rows(result: dict[str, Any]) -> list[tuple[str, str, str, str, bool]]:
    """(quantity, derived, oracle, tolerance, ok) for each recorded check of a result.

    Examples
    --------
    >>> check_rows({"checks": [{"name": "F_0", "value": 0.375, "oracle": 0.375,
    ...                         "tolerance": 1e-12, "ok": True}]})
    [('F_0', '0.375', '0.375', '1e-12', True)]
    """
    rows = []
    for c in result.get("checks") or []:
        rows.append((str(c.get("name", "")), _fmt(c.get("value")), _fmt(c.get("oracle")),
                     _fmt(c.get("tolerance")), bool(c.get("ok"))))
    return rows


def _passed(result: dict[str, Any]) -> str:
    rows = check_rows(result)
    return f"{sum(r[4] for r in rows)}/{len(rows)}"


def _files(out: Path, result: dict[str, Any], suffix: str) -> list[str]:
    rels = []
    for f in result.get("files") or []:
        rel = f"{result['name']}/{f}"
        if (str(f).endswith(suffix) and SAFE_PATH.fullmatch(rel) and ".." not in rel
                and (out / rel).is_file()):
            rels.append(rel)
    return rels


# ------------------------------------------------------------------ LaTeX
_BREAK_AFTER = re.compile(r"(?<=[,;/=)\]·])")


def _tex_cell(text: str) -> str:
    """Escaped table-cell text with break opportunities after , ; / = ) ] (long values)."""
    pieces = _BREAK_AFTER.split(_short(text))
    return r"\allowbreak{}".join(escape_text(p) for p in pieces if p)


def _tex_body(path: Path) -> str | None:
    """The body of an exported standalone document, headings demoted, or None."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    m = re.search(r"\\begin\{document\}(.*)\\end\{document\}", text, re.S)
    if not m:
        return None
    body = m.group(1)
    body = body.replace(r"\subsection*{", r"\paragraph*{").replace(r"\section*{",
                                                                   r"\subsubsection*{")
    return body


_TEX_PREAMBLE = r"""\documentclass[10pt]{article}
\usepackage[utf8]{inputenc}
\usepackage{amsmath,amssymb}
\usepackage{graphicx}
\usepackage{longtable,array}
\usepackage[margin=2cm]{geometry}
\allowdisplaybreaks
\sloppy\emergencystretch=3em
\setcounter{secnumdepth}{1}
"""


def report_tex(out: Path, results: list[dict[str, Any]], ok: bool) -> str:
    """LaTeX source of ``report.pdf`` (compiled in ``out``: paths are relative to it)."""
    from ibsym.core.latexfit import fit_rows   # noqa: F401  (exported bodies are already fitted)
    p = [_TEX_PREAMBLE, r"\begin{document}", r"\section*{ibsym reproduce report}",
         escape_text("Overall: " + ("all derivations agree with their oracles" if ok
                                    else "FAILURES")) + r"\par\medskip",
         r"\begin{longtable}{p{8.2cm}p{2.2cm}p{2.2cm}p{1.8cm}}",
         r"\hline derivation & status & checks passed & time (s)\\ \hline\endhead"]
    for r in results:
        p.append(_tex_cell(str(r["name"])) + " & " + escape_text(str(r["status"])) + " & "
                 + escape_text(_passed(r)) + " & " + escape_text(str(r.get("seconds", ""))) + r"\\")
    p.append(r"\hline\end{longtable}")
    for r in results:
        p.append(r"\clearpage\section{" + escape_text(_short(str(r.get("title", r["name"])), 160))
                 + "}")
        meta = f"{r['name']}: status {r['status']}, {r.get('seconds', '?')} s"
        if r.get("reference"):
            meta += ". Reference: " + str(r["reference"])
        p.append(r"\noindent " + escape_text(meta) + r"\par\smallskip")
        if r.get("summary"):
            p.append(r"\noindent " + escape_text(str(r["summary"])) + r"\par")
        if r.get("message"):
            p.append(r"\noindent\textbf{Message:} " + _tex_cell(str(r["message"])[:1500]) + r"\par")
        rows = check_rows(r)
        if rows:
            p.append(r"\subsection*{Checks against the published oracles}")
            p.append(r"\begin{longtable}{p{4.8cm}p{3.6cm}p{3.6cm}p{1.75cm}p{1.1cm}}")
            p.append(r"\hline quantity & derived & oracle & tolerance & status\\ \hline\endhead")
            for name, val, orc, tol, good in rows:
                p.append(" & ".join(_tex_cell(x) for x in (name, val, orc, tol))
                         + " & " + ("ok" if good else r"\textbf{FAILED}") + r"\\")
            p.append(r"\hline\end{longtable}")
        bodies = [(rel, _tex_body(out / rel)) for rel in _files(out, r, ".tex")]
        bodies = [(rel, b) for rel, b in bodies if b]
        if bodies:
            p.append(r"\subsection*{Results (as exported)}")
            for rel, b in bodies:
                p.append(r"\noindent{\small\texttt{" + escape_text(rel) + r"}}\par" + b)
        figs = _figures(out, r)
        if figs:
            p.append(r"\subsection*{Figures}")
            for rel in figs:
                p.append(r"\begin{center}\includegraphics[width=0.72\textwidth,height=0.4\textheight,"
                         r"keepaspectratio]{" + rel + r"}\\{\small\texttt{" + escape_text(rel)
                         + r"}}\end{center}")
    p.append(r"\end{document}")
    return "\n".join(p) + "\n"


def _figures(out: Path, r: dict[str, Any]) -> list[str]:
    """Figures of a result: the vector PDF beside a PNG when it exists, else the PNG."""
    figs = []
    for rel in _files(out, r, ".png"):
        vec = rel[:-4] + ".pdf"
        figs.append(vec if (out / vec).is_file() else rel)
    return figs


# ------------------------------------------------------------------ HTML
_CSS = """body{font-family:Georgia,serif;max-width:60em;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1em}th,td{border:1px solid #bbb;padding:.25em .5em;
vertical-align:top;text-align:left;font-size:.9em}th{background:#eee}
td.ok{color:#1a7f37;font-weight:bold}td.bad{color:#b00020;font-weight:bold}
img{max-width:100%}figure{margin:1em 0;text-align:center}figcaption{font-family:monospace;
font-size:.8em}pre{white-space:pre-wrap;background:#f6f6f6;padding:.5em;font-size:.8em}
.eq{border:1px solid #ddd;margin:.5em 0}"""


def _png_pages(tex: Path, workdir: Path, dpi: int = 80) -> list[bytes]:
    """PNG pages of an exported ``.tex`` (pdflatex, then pdftoppm), or [] without them."""
    if not pdflatex_available() or shutil.which("pdftoppm") is None:
        return []
    with tempfile.TemporaryDirectory(prefix=".ibsym-html-", dir=workdir) as tmp:
        try:
            pdf = compile_latex(tex, outdir=tmp, workdir=workdir, timeout=60)
            subprocess.run(["pdftoppm", "-r", str(dpi), "-png", str(pdf), str(Path(tmp) / "p")],
                           capture_output=True, timeout=60, check=True,
                           stdin=subprocess.DEVNULL)
        except Exception:
            return []
        return [q.read_bytes() for q in sorted(Path(tmp).glob("p-*.png"))]


def _img(data: bytes, alt: str) -> str:
    return (f'<img alt="{html.escape(alt)}" src="data:image/png;base64,'
            f'{base64.b64encode(data).decode()}">')


def report_html(out: Path, results: list[dict[str, Any]], ok: bool,
                pdf: dict[str, str] | None = None, *, render: bool = True) -> str:
    """Self-contained HTML report (figures and typeset results inlined, no network)."""
    e = html.escape
    h = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
         "<title>ibsym reproduce report</title>", f"<style>{_CSS}</style></head><body>",
         "<h1>ibsym reproduce report</h1>",
         f"<p>Overall: <b>{'all derivations agree with their oracles' if ok else 'FAILURES'}"
         "</b></p>"]
    if pdf is not None:
        h.append("<p>PDF report: " + ('<a href="report.pdf">report.pdf</a>' if pdf["status"] == "ok"
                                      else e(f"{pdf['status']} -- {pdf['message']}")) + "</p>")
    h.append('<table id="summary"><tr><th>derivation</th><th>status</th><th>checks passed</th>'
             "<th>time (s)</th></tr>")
    for r in results:
        cls = "ok" if r["status"] == "ok" else "bad"
        h.append(f'<tr><td><a href="#{e(r["name"])}">{e(r["name"])}</a></td>'
                 f'<td class="{cls}">{e(str(r["status"]))}</td><td>{e(_passed(r))}</td>'
                 f'<td>{e(str(r.get("seconds", "")))}</td></tr>')
    h.append("</table>")
    for r in results:
        h.append(f'<section id="{e(r["name"])}"><h2>{e(str(r.get("title", r["name"])))}</h2>')
        meta = f"{r['name']}: status {r['status']}, {r.get('seconds', '?')} s"
        h.append(f"<p>{e(meta)}" + (f"<br>Reference: {e(str(r['reference']))}"
                                     if r.get("reference") else "") + "</p>")
        if r.get("summary"):
            h.append(f"<p>{e(str(r['summary']))}</p>")
        if r.get("message"):
            h.append(f"<pre>{e(str(r['message']))}</pre>")
        rows = check_rows(r)
        if rows:
            h.append('<h3>Checks against the published oracles</h3><table class="checks"><tr>'
                     "<th>quantity</th><th>derived</th><th>oracle</th><th>tolerance</th>"
                     "<th>status</th></tr>")
            for name, val, orc, tol, good in rows:
                h.append("<tr>" + "".join(f"<td>{e(_short(x))}</td>" for x in (name, val, orc, tol))
                         + (f'<td class="ok">ok</td>' if good else '<td class="bad">FAILED</td>')
                         + "</tr>")
            h.append("</table>")
        texs = _files(out, r, ".tex")
        if texs:
            h.append("<h3>Results (as exported)</h3>")
            for rel in texs:
                pages = _png_pages(out / rel, out) if render else []
                if pages:
                    h.append(f'<div class="eq"><figure>'
                             + "".join(_img(pg, rel) for pg in pages)
                             + f"<figcaption>{e(rel)}</figcaption></figure></div>")
                else:
                    src = (out / rel).read_text(encoding="utf-8", errors="replace")
                    h.append(f"<details><summary>{e(rel)} (LaTeX source)</summary><pre>"
                             f"{e(src[:20000])}</pre></details>")
        pngs = _files(out, r, ".png")
        if pngs:
            h.append("<h3>Figures</h3>")
            for rel in pngs:
                h.append("<figure>" + _img((out / rel).read_bytes(), rel)
                         + f"<figcaption>{e(rel)}</figcaption></figure>")
        h.append("</section>")
    h.append("</body></html>")
    return "\n".join(h) + "\n"
