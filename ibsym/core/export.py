"""Export of results: LaTeX documents that compile, JSON files, NumPy code.

Every result follows :class:`ibsym.core.results.Result` (``to_latex``, ``to_dict``);
this module turns one or several of them into files.

Examples
--------
>>> doc = latex_document("Demo", [("A formula", r"\\dot\\theta = -\\nabla L")])
>>> doc.startswith("\\\\documentclass") and "\\\\end{document}" in doc
True
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ibsym.core.errors import InputError
from ibsym.core.files import atomic_write_bytes, atomic_write_text
from ibsym.core.latexfit import Block, chunk_rows, fit_rows

__all__ = [
    "latex_document",
    "compile_latex",
    "pdflatex_available",
    "write_json",
    "write_latex",
    "escape_text",
    "to_numpy_code",
    "to_jax_code",
    "write",
]

_PREAMBLE = r"""\documentclass[11pt]{article}
\usepackage[utf8]{inputenc}
\usepackage{amsmath,amssymb}
\usepackage[margin=2cm]{geometry}
\usepackage{graphicx}
\usepackage{longtable}
\allowdisplaybreaks
\sloppy\emergencystretch=3em
"""

_TEXT_ESCAPES = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
    "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}",
}


_UNICODE_MATH = {
    "∇": r"\nabla ", "‖": r"\|", "θ": r"\theta ", "β": r"\beta ", "ρ": r"\rho ",
    "ε": r"\varepsilon ", "λ": r"\lambda ", "σ": r"\sigma ", "ζ": r"\zeta ", "η": r"\eta ",
    "Φ": r"\Phi ", "φ": r"\varphi ", "ψ": r"\psi ", "Ψ": r"\Psi ", "δ": r"\delta ",
    "∂": r"\partial ", "∫": r"\int ", "≈": r"\approx ", "≤": r"\le ", "≥": r"\ge ",
    "≠": r"\neq ", "≢": r"\not\equiv ", "·": r"\cdot ", "−": "-", "→": r"\to ", "×": r"\times ",
    "ᵀ": r"^{\top}", "•": r"\bullet ", "∈": r"\in ", "Σ": r"\Sigma ", "π": r"\pi ",
    "⁰": "^{0}", "¹": "^{1}", "²": "^{2}", "³": "^{3}", "⁴": "^{4}", "⁵": "^{5}", "⁶": "^{6}",
    "\ue000": r"\tilde{L}", "⁷": "^{7}", "⁸": "^{8}", "⁹": "^{9}", "±": r"\pm ", "∞": r"\infty ", "…": r"\dots ",
    # the rest of the Unicode the project prints (issue 14): Greek, relations, arrows, indices
    "α": r"\alpha ", "γ": r"\gamma ", "ι": r"\iota ", "κ": r"\kappa ", "μ": r"\mu ",
    "ν": r"\nu ", "ξ": r"\xi ", "τ": r"\tau ", "υ": r"\upsilon ", "χ": r"\chi ", "ω": r"\omega ",
    "ϱ": r"\varrho ", "ϵ": r"\epsilon ", "ϑ": r"\vartheta ", "ϕ": r"\phi ", "ς": r"\varsigma ",
    "Γ": r"\Gamma ", "Δ": r"\Delta ", "Θ": r"\Theta ", "Λ": r"\Lambda ", "Ξ": r"\Xi ",
    "Π": r"\Pi ", "Υ": r"\Upsilon ", "Ω": r"\Omega ",
    "∝": r"\propto ", "√": r"\surd ", "≪": r"\ll ", "≫": r"\gg ", "≡": r"\equiv ",
    "∘": r"\circ ", "⊗": r"\otimes ", "⊙": r"\odot ", "⊥": r"\perp ", "⋯": r"\cdots ",
    "⟨": r"\langle ", "⟩": r"\rangle ", "←": r"\leftarrow ", "↦": r"\mapsto ",
    "⇒": r"\Rightarrow ", "⇔": r"\Leftrightarrow ", "↔": r"\leftrightarrow ", "∑": r"\sum ",
    "∏": r"\prod ", "∀": r"\forall ", "∃": r"\exists ", "∅": r"\emptyset ", "∩": r"\cap ",
    "∪": r"\cup ", "⊂": r"\subset ", "⊆": r"\subseteq ", "≲": r"\lesssim ", "≳": r"\gtrsim ",
    "∼": r"\sim ", "≃": r"\simeq ", "≅": r"\cong ", "ℓ": r"\ell ", "ℝ": r"\mathbb{R}",
    "ℚ": r"\mathbb{Q}", "ℕ": r"\mathbb{N}", "ℤ": r"\mathbb{Z}", "𝒜": r"\mathcal{A}",
    "′": r"^{\prime}", "″": r"^{\prime\prime}", "⁺": "^{+}", "⁻": "^{-}", "⁽": "^{(}", "⁾": "^{)}",
    "ⁿ": "^{n}", "ⁱ": "^{i}", "₀": "_{0}", "₁": "_{1}", "₂": "_{2}", "₃": "_{3}", "₄": "_{4}",
    "₅": "_{5}", "₆": "_{6}", "₇": "_{7}", "₈": "_{8}", "₉": "_{9}", "₊": "_{+}", "₋": "_{-}",
    "ᵢ": "_{i}", "ⱼ": "_{j}", "ₖ": "_{k}", "ₙ": "_{n}", "¼": r"\tfrac{1}{4}", "½": r"\tfrac{1}{2}",
    "¾": r"\tfrac{3}{4}", "÷": r"\div ", "¬": r"\neg ", "°": r"^{\circ}", "µ": r"\mu ",
}

# text-mode replacements (prose punctuation, names with accents), final forms
_UNICODE_TEXT = {
    "§": r"\S{}", "–": "--", "—": "---", "‘": "`", "’": "'", "“": "``", "”": "''",
    "\u00a0": "~", "\u2009": r"\,", "\u202f": r"\,", "ß": r"{\ss}", "æ": r"{\ae}", "Æ": r"{\AE}",
    "ø": r"{\o}", "Ø": r"{\O}", "å": r"{\aa}", "Å": r"{\AA}", "œ": r"{\oe}", "Œ": r"{\OE}",
    "ł": r"{\l}", "Ł": r"{\L}", "ı": r"{\i}", "¡": r"{\textexclamdown}", "¿": r"{\textquestiondown}",
    "«": "``", "»": "''", "©": r"{\textcopyright}", "€": "EUR",
}

# accents: text accents for names (Montúfar, Müller, Çelik), maths accents for symbols (θ̂, L̃, ẇ)
_TEXT_ACCENTS = {"\u0301": "'", "\u0300": "`", "\u0308": '"', "\u0327": "c", "\u030c": "v",
                 "\u030a": "r", "\u030b": "H", "\u0306": "u"}
_MATH_ACCENTS = {"\u0302": "hat", "\u0303": "tilde", "\u0304": "bar", "\u0307": "dot",
                 "\u0308": "ddot", "\u20d7": "vec"}


def _accent_tables() -> None:
    import unicodedata
    greek = {k: v.strip() for k, v in _UNICODE_MATH.items() if v.startswith("\\") and
             "GREEK" in unicodedata.name(k, "")}
    letters = [chr(c) for c in range(65, 91)] + [chr(c) for c in range(97, 123)]
    for base in letters + list(greek):
        bmath = greek.get(base, base)
        for mark, acc in _MATH_ACCENTS.items():
            if base in letters and mark in _TEXT_ACCENTS:
                continue
            form = "$\\" + acc + "{" + bmath + "}$"
            _UNICODE_TEXT.setdefault(base + mark, form)
            pre = unicodedata.normalize("NFC", base + mark)
            if len(pre) == 1:
                _UNICODE_TEXT.setdefault(pre, form)
        if base in letters:
            for mark, acc in _TEXT_ACCENTS.items():
                form = "{\\" + acc + ("{" + base + "}" if acc.isalpha() else base) + "}"
                if base in "ij" and acc in "'`\"^":
                    form = "{\\" + acc + "\\" + base + "}"
                _UNICODE_TEXT.setdefault(base + mark, form)
                pre = unicodedata.normalize("NFC", base + mark)
                if len(pre) == 1:
                    _UNICODE_TEXT.setdefault(pre, form)
    _UNICODE_TEXT["L\u0303"] = r"$\tilde{L}$"


_accent_tables()


def escape_text(text: str) -> str:
    r"""Escape plain text for LaTeX (outside math mode); Unicode maths becomes inline math.

    The one escaping function for every prose string that reaches LaTeX (titles,
    headings, notes, optimizer names, report text): the ten special characters
    ``\ { } $ & # ^ _ % ~`` become their text commands, ``< > |`` their glyphs,
    line breaks and tabs a space, other control characters are dropped.  The Unicode the
    project prints maps to LaTeX: Greek letters, ``∇ ‖ ∂ ∝ √ ≪ ≫ ≤ ∈ →``, super- and
    subscript digits and ``ᵀ`` as inline maths; ``§ – —`` and accented names
    (``ü é ñ ç``) as text; a letter with a combining hat/tilde/bar/dot as a maths accent.
    A character with no mapping (and no compatibility form that has one) becomes the
    visible ASCII ``[U+XXXX]``, never ``?``.  Nothing in the result can start a command
    or a group.

    Examples
    --------
    >>> escape_text("50% of a_b")
    '50\\% of a\\_b'
    >>> escape_text("L̃ = L + h‖∇L‖²")
    '$\\tilde{L}$ = L + h$\\|$$\\nabla $L$\\|$$^{2}$'
    >>> escape_text("x}\\input{/etc/passwd}")
    'x\\}\\textbackslash{}input\\{/etc/passwd\\}'
    >>> escape_text("§3, Montúfar, √ε ≪ |g|")
    "\\S{}3, Mont{\\'u}far, $\\surd $$\\varepsilon $ $\\ll $ \\textbar{}g\\textbar{}"
    """
    import unicodedata
    text = str(text).replace("\ue000", "")
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        pair = text[i:i + 2]
        if len(pair) == 2 and pair in _UNICODE_TEXT:
            out.append(_UNICODE_TEXT[pair])
            i += 2
            continue
        i += 1
        if c in _TEXT_ESCAPES:
            out.append(_TEXT_ESCAPES[c])
        elif c in _UNICODE_MATH:
            out.append("$" + _UNICODE_MATH[c] + "$")
        elif c in _UNICODE_TEXT:
            out.append(_UNICODE_TEXT[c])
        elif c in "\n\r\t\f\v":
            out.append(" ")
        elif 32 <= ord(c) < 127:
            out.append(c)
        elif unicodedata.category(c).startswith("C") or unicodedata.combining(c):
            continue                     # control/format characters, stray combining marks
        else:
            compat = unicodedata.normalize("NFKC", c)
            if compat != c and all(32 <= ord(x) < 127 or x in _UNICODE_MATH for x in compat):
                out.append(escape_text(compat))
            elif unicodedata.category(c) == "Zs":
                out.append(" ")
            else:
                out.append(f"[U+{ord(c):04X}]")
    return "".join(out)


def latex_document(title: str, sections: Iterable[tuple[str, str | Sequence[str]]],
                   *, notes: Sequence[str] = ()) -> str:
    """A standalone LaTeX document (``pdflatex``-compilable, only base packages).

    Parameters
    ----------
    title : str
        Plain-text title.
    sections : iterable of (heading, math)
        ``math`` is a display-math body (or a list of them, one ``align*`` row
        each); it is placed in ``\\begin{align*} ... \\end{align*}`` (one environment per
        :func:`~ibsym.core.latexfit.chunk_rows` chunk). A
        :class:`~ibsym.core.latexfit.Block` in the list is placed as is, between displays.
    notes : sequence of str
        Plain-text paragraphs appended at the end.
    """
    parts = [_PREAMBLE, "\\begin{document}\n", f"\\section*{{{escape_text(title)}}}\n"]
    for heading, math in sections:
        parts.append(f"\\subsection*{{{escape_text(heading)}}}\n")
        rows = [math] if isinstance(math, str) else list(math)
        fitted: list[str] = []
        for r in rows + [Block("")]:
            if not isinstance(r, Block):
                fitted.extend(fit_rows(r))   # long rows broken over lines (ibsym.core.latexfit)
                continue
            # one align* per chunk of rows: a single huge environment body exhausts
            # pdflatex's main memory (ibsym.core.latexfit.CHUNK_ROWS)
            for chunk in chunk_rows(fitted):
                body = " \\\\\n".join(x if "&" in x else "& " + x for x in chunk)
                parts.append("\\begin{align*}\n" + body + "\n\\end{align*}\n")
            fitted = []
            parts.append(str(r))           # a paragraph or a table (latexfit.Block), as is
    for note in notes:
        parts.append(escape_text(note) + "\n\n")
    parts.append("\\end{document}\n")
    return "".join(parts)


def pdflatex_available() -> bool:
    """Whether a ``pdflatex`` executable is on the PATH."""
    return shutil.which("pdflatex") is not None


def compile_latex(tex: str | Path, *, outdir: str | Path | None = None,
                  timeout: float = 120.0, name: str | None = None,
                  workdir: str | Path | None = None) -> Path:
    """Compile a ``.tex`` file (or LaTeX source text) with ``pdflatex``.

    pdflatex runs in a private temporary folder (its ``.aux``/``.log`` never touch the
    output folder, concurrent builds cannot share them, and the folder is always removed);
    the finished PDF is then moved atomically to ``outdir/NAME.pdf``.

    Parameters
    ----------
    tex : str or Path
        A ``.tex`` file (relative ``\\input``/``\\includegraphics`` paths resolve against
        its folder), or LaTeX source text.
    outdir : str or Path, optional
        Where the PDF goes (created if missing); default: the ``.tex`` file's folder.
        Required for source text.
    timeout : float
        Seconds before pdflatex is stopped.
    name : str, optional
        File stem of the PDF (default: the ``.tex`` file's stem, ``document`` for text).
    workdir : str or Path, optional
        Where the private build folder ``.ibsym-tex-*`` is made (default: the system's
        temporary folder).  A caller that owns an output folder passes it, so that a build
        killed mid-way leaves its folder where the caller's next run removes it.

    Returns
    -------
    Path
        The PDF (absolute).

    Raises
    ------
    InputError
        With the first LaTeX error line when compilation fails, or when ``pdflatex`` is
        missing (install the Debian package ``texlive-latex-base``).
    """
    if not pdflatex_available():
        raise InputError("pdflatex not found; install it (Debian: apt-get install texlive-latex-base)")
    if isinstance(tex, Path) or (isinstance(tex, str) and tex.endswith(".tex") and "\n" not in tex):
        src: Path | None = Path(tex).resolve()
        if not src.is_file():
            raise InputError(f"no LaTeX file at {tex}")
        stem = src.stem
    else:
        if outdir is None:
            raise InputError("compile_latex of LaTeX source text needs outdir=")
        src, stem = None, "document"
    out = (Path(outdir) if outdir is not None else src.parent).resolve()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".ibsym-tex-" if workdir is not None else "ibsym-tex-",
                                     dir=workdir) as work:
        job = Path(work) / "document.tex"
        if src is None:
            job.write_text(str(tex), encoding="utf-8")   # private folder: removed below
            cwd = Path(work)
        else:
            job = src
            cwd = src.parent
        try:
            # no shell escape (\write18), and kpathsea's paranoid mode: no file outside the
            # document's folder can be read (\input{/etc/passwd}) or written
            env = {**os.environ, "openin_any": "p", "openout_any": "p",
                   "TEXMFOUTPUT": str(cwd), "shell_escape": "f"}
            proc = subprocess.run(
                ["pdflatex", "-no-shell-escape", "-interaction=nonstopmode", "-halt-on-error",
                 f"-output-directory={work}", job.name],
                cwd=cwd, capture_output=True, text=True, errors="replace", timeout=timeout,
                stdin=subprocess.DEVNULL,
                env=env)
        except subprocess.TimeoutExpired as exc:
            raise InputError(f"pdflatex did not finish on {src or 'the document'} within "
                             f"{timeout:g} s") from exc
        built = Path(work) / (job.stem + ".pdf")
        if proc.returncode != 0 or not built.exists():
            lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("!")]
            first = lines[0] if lines else proc.stdout[-500:]
            raise InputError(f"pdflatex failed on {src or 'the document'}: {first}")
        pdf = out / ((name or stem) + ".pdf")
        atomic_write_bytes(pdf, built.read_bytes())
    return pdf


def write_json(obj: Any, path: str | Path) -> Path:
    """Write a result (anything with ``to_dict``) or a plain dict as JSON."""
    from ibsym.core.results import jsonable
    data = obj.to_dict() if hasattr(obj, "to_dict") else jsonable(obj)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


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
    return atomic_write_text(path, text)


def to_numpy_code(eq: Any, *, module_doc: str | None = None) -> str:
    """Python source of a module evaluating F_0..F_k with NumPy (callable, importable).

    The module defines ``PARAMS``, ``ORDER``, ``terms(theta, *, <hyper>)`` returning an
    array (k+1, d, ...) and ``field(theta, h, order=ORDER, *, <hyper>)`` = Σ h^j F_j
    (symbolic hyper-parameters are keyword-only).  No name or text of the result is
    copied into the code: see :mod:`ibsym.core.codegen`.

    Examples
    --------
    >>> from ibsym import modified_equation
    >>> from ibsym.core import losses
    >>> src = to_numpy_code(modified_equation("gd", losses.bilinear(), order=1))
    >>> ns = {}; exec(compile(src, "<ibsym>", "exec"), ns)
    >>> ns["field"]([0.5, 1.5], 0.1).round(6)
    array([0.420312, 0.135938])
    """
    from ibsym.core.codegen import numpy_module_source
    return numpy_module_source(eq, module_doc=module_doc)


def to_jax_code(eq: Any, *, module_doc: str | None = None) -> str:
    """Python source of a JAX module: ``terms``, ``field``, ``modified_loss`` and
    ``implicit_regularizer`` (see :func:`ibsym.core.codegen.jax_module_source`)."""
    from ibsym.core.codegen import jax_module_source
    return jax_module_source(eq, module_doc=module_doc)


def write(result: Any, stem: str | Path, formats: Sequence[str] = ("tex", "json")) -> list[Path]:
    """Write a result as ``stem.tex`` (standalone), ``stem.json``, ``stem.py`` (NumPy)
    and/or ``stem_jax.py`` (JAX, with the modified loss and implicit regularizer)."""
    stem = Path(stem)
    out = []
    for fmt in formats:
        if fmt == "tex":
            out.append(write_latex(result, stem.with_suffix(".tex")))
        elif fmt == "json":
            out.append(write_json(result, stem.with_suffix(".json")))
        elif fmt == "py":
            p = stem.with_suffix(".py")
            p.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(p, to_numpy_code(result))
            out.append(p)
        elif fmt == "jax":
            p = stem.with_name(stem.name + "_jax.py")
            p.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(p, to_jax_code(result))
            out.append(p)
        else:
            raise InputError(f"unknown export format '{fmt}'; choose tex, json, py or jax")
    return out
