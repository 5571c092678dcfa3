"""Export of results: LaTeX documents that compile, JSON files, NumPy code.

Every result follows :class:`ibsym.results.Result` (``to_latex``, ``to_dict``);
this module turns one or several of them into files.

Examples
--------
>>> doc = latex_document("Demo", [("A formula", r"\\dot\\theta = -\\nabla L")])
>>> doc.startswith("\\\\documentclass") and "\\\\end{document}" in doc
True
"""
from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .errors import InputError

__all__ = [
    "latex_document",
    "compile_latex",
    "pdflatex_available",
    "write_json",
    "write_latex",
    "escape_text",
]

_PREAMBLE = r"""\documentclass[11pt]{article}
\usepackage[utf8]{inputenc}
\usepackage[T1]{fontenc}
\usepackage{amsmath,amssymb}
\usepackage[margin=2cm]{geometry}
\allowdisplaybreaks
"""

_TEXT_ESCAPES = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
    "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
}


def escape_text(text: str) -> str:
    """Escape plain text for LaTeX (outside math mode).

    Examples
    --------
    >>> escape_text("50% of a_b")
    '50\\\\% of a\\\\_b'
    """
    return "".join(_TEXT_ESCAPES.get(c, c) for c in text)


def latex_document(title: str, sections: Iterable[tuple[str, str | Sequence[str]]],
                   *, notes: Sequence[str] = ()) -> str:
    """A standalone LaTeX document (``pdflatex``-compilable, only base packages).

    Parameters
    ----------
    title : str
        Plain-text title.
    sections : iterable of (heading, math)
        ``math`` is a display-math body (or a list of them, one ``align*`` row
        each); it is placed in ``\\begin{align*} ... \\end{align*}``.
    notes : sequence of str
        Plain-text paragraphs appended at the end.
    """
    parts = [_PREAMBLE, "\\begin{document}\n", f"\\section*{{{escape_text(title)}}}\n"]
    for heading, math in sections:
        parts.append(f"\\subsection*{{{escape_text(heading)}}}\n")
        rows = [math] if isinstance(math, str) else list(math)
        body = " \\\\\n".join(r if "&" in r else "& " + r for r in rows)
        parts.append("\\begin{align*}\n" + body + "\n\\end{align*}\n")
    for note in notes:
        parts.append(escape_text(note) + "\n\n")
    parts.append("\\end{document}\n")
    return "".join(parts)


def pdflatex_available() -> bool:
    """Whether a ``pdflatex`` executable is on the PATH."""
    return shutil.which("pdflatex") is not None


def compile_latex(tex: str | Path, *, outdir: str | Path | None = None,
                  timeout: float = 120.0) -> Path:
    """Compile a ``.tex`` file (or LaTeX source text) with ``pdflatex``.

    Returns the path of the PDF.  Raises :class:`InputError` with the first
    LaTeX error line when compilation fails, or when ``pdflatex`` is missing
    (install the Debian package ``texlive-latex-base``).
    """
    if not pdflatex_available():
        raise InputError("pdflatex not found; install it (Debian: apt-get install texlive-latex-base)")
    if isinstance(tex, Path) or (isinstance(tex, str) and tex.endswith(".tex") and "\n" not in tex):
        path = Path(tex)
        source_dir = path.parent
    else:
        source_dir = Path(tempfile.mkdtemp(prefix="ibsym-tex-"))
        path = source_dir / "document.tex"
        path.write_text(str(tex), encoding="utf-8")
    out = Path(outdir) if outdir is not None else path.parent
    out.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error",
         f"-output-directory={out}", path.name],
        cwd=source_dir, capture_output=True, text=True, timeout=timeout)
    pdf = out / (path.stem + ".pdf")
    if proc.returncode != 0 or not pdf.exists():
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("!")]
        first = lines[0] if lines else proc.stdout[-500:]
        raise InputError(f"pdflatex failed on {path}: {first}")
    return pdf


def write_json(obj: Any, path: str | Path) -> Path:
    """Write a result (anything with ``to_dict``) or a plain dict as JSON."""
    from .results import jsonable
    data = obj.to_dict() if hasattr(obj, "to_dict") else jsonable(obj)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def write_latex(obj: Any, path: str | Path, *, title: str | None = None,
                standalone: bool = True) -> Path:
    """Write a result's LaTeX: a formula file, or a standalone document."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if hasattr(obj, "latex_document") and standalone:
        text = obj.latex_document(title=title)
    elif standalone:
        text = latex_document(title or type(obj).__name__, [("Result", obj.to_latex())])
    else:
        text = obj.to_latex() + "\n"
    path.write_text(text, encoding="utf-8")
    return path
