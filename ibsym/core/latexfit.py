r"""Display maths that fits the page: long rows of LaTeX broken over lines.

SymPy prints an F_j, a slow manifold or an implicit solution as one long line; in an
``align*`` row that runs off the page.  :func:`fit_rows` turns one display row into rows
that fit a text width:

1. a row ``LHS = RHS`` whose right side is a sum of column vectors (``\left[\begin{matrix}
   e_1\\ e_2 \end{matrix}\right]`` with scalar coefficients) is written per component,
   ``LHS_{,i} = RHS_i`` (only when every vector in it has the same length and there is one
   top-level ``=``);
2. a long row is broken at top-level ``+``/``-`` and at ``,\ ``/``\quad`` separators;
   a break inside ``\left( … \right)`` closes the open delimiters with ``\right.`` and
   reopens them with ``\left.`` on the next line (braces, ``\frac``, environments are never
   broken);
3. a piece that still does not fit (a huge fraction, a wide table) is scaled to the line
   width with ``\resizebox`` (the document needs ``graphicx``) -- unless it is more than
   :data:`MAX_SCALE` line widths wide: then its wide fractions and roots are written as
   ``\left(A\right) \left(B\right)^{-1}`` and ``\left(A\right)^{1/2}`` and broken inside.

Widths are estimated from the source (about 5.5 pt per unit at 11 pt), conservatively.

Beyond a size a quantity is not displayed in full (:func:`oversized_block`): an F_j whose
LaTeX is longer than :data:`MAX_DISPLAY_CHARS` characters (about three pages; keyword
``max_display_chars`` of ``ModifiedEquation.latex_document``, CLI ``--max-display-chars``) is
listed as a coefficient table (``longtable``: component · monomial in the parameters ·
coefficient) when it is a polynomial in the parameters with at most :data:`MAX_TABLE_ROWS`
monomials, and otherwise summarized (summands, characters, pages); the document says which and
points to the JSON and NumPy exports, which always hold the full expression.

Examples
--------
>>> rows = fit_rows("F_{1} = " + " + ".join(f"x_{{{i}}}^{{2}}" for i in range(40)), width=40)
>>> len(rows) > 1, rows[1].startswith(r"\qquad")
(True, True)
>>> fit_rows("a + b")
['a + b']
>>> rows = fit_rows(r"F = \frac{" + " + ".join(f"x_{{{i}}}" for i in range(300)) + "}{2}")
>>> len(rows) > 10, rows[-1].endswith(r"\right)^{-1}"), any("resizebox" in r for r in rows)
(True, True, False)
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

__all__ = ["fit_rows", "latex_width", "TEXT_WIDTH_UNITS", "Block", "MAX_DISPLAY_CHARS",
           "MAX_TABLE_ROWS", "oversized_block", "chunk_rows"]

#: Width of the text block (A4, 2 cm margins, 11 pt) in the units of :func:`latex_width`.
TEXT_WIDTH_UNITS = 76.0

_TOKEN = re.compile(r"\\[A-Za-z]+\*?|\\.|[{}]|\s+|.", re.S)
_WIDE_CMDS = {"quad": 3.0, "qquad": 6.0, ",": 0.3, ";": 0.5, ":": 0.4, " ": 0.5, "!": 0.0,
              "left": 0.4, "right": 0.4, "cdot": 1.5, "cdots": 3.0, "dots": 3.0, "ldots": 3.0,
              "sum": 2.0, "int": 1.5, "log": 2.5, "exp": 2.5, "sin": 2.5, "cos": 2.5,
              "tanh": 3.5, "min": 2.5, "max": 2.5, "operatorname": 0.0, "displaystyle": 0.0,
              "mathrm": 0.0, "mathbf": 0.0, "boldsymbol": 0.0, "mathcal": 0.0, "hline": 0.0,
              "limits": 0.0, "nolimits": 0.0, "bigl": 0.5, "bigr": 0.5, "Bigl": 0.6, "Bigr": 0.6}


def _tokens(s: str) -> list[str]:
    return _TOKEN.findall(s)


def _group(toks: list[str], i: int) -> tuple[list[str], int]:
    """The tokens of the brace group (or single token) starting at ``toks[i]``; next index."""
    while i < len(toks) and toks[i].isspace():
        i += 1
    if i >= len(toks):
        return [], i
    if toks[i] != "{":
        return [toks[i]], i + 1
    depth, j = 0, i
    while j < len(toks):
        if toks[j] == "{":
            depth += 1
        elif toks[j] == "}":
            depth -= 1
            if depth == 0:
                return toks[i + 1:j], j + 1
        j += 1
    return toks[i + 1:], len(toks)


def _width(toks: list[str]) -> float:
    w, i = 0.0, 0
    while i < len(toks):
        t = toks[i]
        i += 1
        if t.isspace() or t in ("{", "}", "&", r"\\"):
            continue
        if t in ("^", "_"):
            g, i = _group(toks, i)
            w += 0.7 * _width(g)
        elif t in (r"\frac", r"\dfrac", r"\tfrac"):
            a, i = _group(toks, i)
            b, i = _group(toks, i)
            w += max(_width(a), _width(b)) + 0.6
        elif t == r"\sqrt":
            if i < len(toks) and toks[i] == "[":
                while i < len(toks) and toks[i] != "]":
                    i += 1
                i += 1
            g, i = _group(toks, i)
            w += _width(g) + 1.2
        elif t in (r"\text", r"\textrm", r"\mathrm", r"\textit", r"\textbf", r"\mbox"):
            g, i = _group(toks, i)
            w += 0.95 * _width(g)
        elif t in (r"\begin", r"\end"):
            g, i = _group(toks, i)
            if t == r"\begin" and "".join(g) == "array":
                _, i = _group(toks, i)   # column spec
        elif t.startswith("\\"):
            w += _WIDE_CMDS.get(t[1:], 1.1)
        elif t in ("+", "-", "=", "<", ">"):
            w += 2.2
        elif t in (",", ";"):
            w += 0.8
        elif t in ("(", ")", "[", "]", "|"):
            w += 0.7
        else:
            w += 1.0
    return w


def latex_width(s: str) -> float:
    """Estimated width of a one-line LaTeX maths string, in units of about 5.5 pt.

    A column vector (``\\begin{matrix} … \\end{matrix}``) counts as its widest entry.

    Examples
    --------
    >>> latex_width("a + b") < latex_width(r"\\frac{a^{2} + b^{2} + c^{2}}{2}")
    True
    """
    return _width(_collapse_envs(_tokens(s)))


def _collapse_envs(toks: list[str]) -> list[str]:
    """Replace each ``\\begin{matrix}`` … ``\\end{matrix}`` (column) by its widest row, for width."""
    out: list[str] = []
    i = 0
    while i < len(toks):
        if toks[i] == r"\begin":
            g, j = _group(toks, i + 1)
            name = "".join(g)
            end = _env_end(toks, i)
            if name in ("matrix", "pmatrix", "bmatrix"):
                inner = toks[j:end]
                rows = _split_top(inner, r"\\")
                best = max(rows, key=lambda r: _width(_collapse_envs(r)), default=[])
                out.extend(_collapse_envs(best))
                _, i = _group(toks, end + 1)
                continue
        out.append(toks[i])
        i += 1
    return out


def _env_end(toks: list[str], i: int) -> int:
    """Index of the ``\\end`` matching the ``\\begin`` at ``toks[i]``."""
    depth, j = 0, i
    while j < len(toks):
        if toks[j] == r"\begin":
            depth += 1
        elif toks[j] == r"\end":
            depth -= 1
            if depth == 0:
                return j
        j += 1
    return len(toks) - 1


def _split_top(toks: list[str], sep: str) -> list[list[str]]:
    """Split at ``sep`` tokens outside braces and environments."""
    parts: list[list[str]] = [[]]
    depth = 0
    for t in toks:
        if t in ("{", r"\begin"):
            depth += 1
        elif t in ("}", r"\end"):
            depth -= 1
        if t == sep and depth == 0:
            parts.append([])
        else:
            parts[-1].append(t)
    return parts


def _column_vectors(toks: list[str]) -> list[tuple[int, int, list[list[str]]]]:
    """Top-level ``\\left[\\begin{matrix} … \\end{matrix}\\right]`` column vectors:
    (start, stop, entries)."""
    found = []
    i = 0
    while i < len(toks):
        if (toks[i] == r"\left" and i + 2 < len(toks) and toks[i + 1] == "["
                and toks[i + 2] == r"\begin"):
            g, j = _group(toks, i + 3)
            if "".join(g) == "matrix":
                end = _env_end(toks, i + 2)
                _, k = _group(toks, end + 1)
                if k + 1 < len(toks) and toks[k] == r"\right" and toks[k + 1] == "]":
                    inner = toks[j:end]
                    if "&" in inner:
                        return []          # a matrix, not a column vector
                    found.append((i, k + 2, _split_top(inner, r"\\")))
                    i = k + 2
                    continue
        i += 1
    return found


def _componentwise(row: str) -> list[str] | None:
    """``LHS = (sum of column vectors)`` as one row per component, or None."""
    toks = _tokens(row)
    eq = [i for i, t in enumerate(toks) if t == "=" and _depth_at(toks, i) == 0]
    if len(eq) != 1:
        return None
    lhs, rhs = toks[:eq[0]], toks[eq[0] + 1:]
    if r"\begin" in lhs:
        return None
    vecs = _column_vectors(rhs)
    if not vecs or len({len(v[2]) for v in vecs}) != 1 or len(vecs[0][2]) < 2:
        return None
    if r"\begin" in [t for k, t in enumerate(rhs)
                     if not any(a <= k < b for a, b, _ in vecs)]:
        return None                         # another environment: leave the row alone
    left = "".join(lhs).strip()
    m = re.fullmatch(r"([A-Za-z]+|\\[A-Za-z]+)_\{([^{}]+)\}", left)
    rows = []
    for c in range(len(vecs[0][2])):
        out, k = [], 0
        for a, b, entries in vecs:
            out.extend(rhs[k:a])
            entry = "".join(entries[c]).strip()
            before = next((t for t in reversed(rhs[:a]) if not t.isspace()), "=")
            after = next((t for t in rhs[b:] if not t.isspace()), "")
            bare = (before in ("=", "(", "+") and after in ("", "+", "-", r"\right", ",")
                    or len(_tokens(entry)) == 1)
            out.append(entry if bare else r"\left(" + entry + r"\right)")
            k = b
        out.extend(rhs[k:])
        name = (f"{m.group(1)}_{{{m.group(2)},{c + 1}}}" if m
                else rf"\bigl({left}\bigr)_{{{c + 1}}}")
        rows.append(name + " = " + "".join(out).strip())
    return rows


def _depth_at(toks: list[str], i: int) -> int:
    depth = 0
    for t in toks[:i]:
        if t in ("{", r"\begin"):
            depth += 1
        elif t in ("}", r"\end"):
            depth -= 1
    return depth


def _break_points(toks: list[str]) -> list[tuple[int, int]]:
    """(index, open-\\left count) of top-level break points: before a binary + or -,
    after a ``,\\ ``/``\\quad`` separator."""
    points = []
    depth, lefts = 0, 0
    prev = ""
    for i, t in enumerate(toks):
        if t in ("{", r"\begin"):
            depth += 1
        elif t in ("}", r"\end"):
            depth -= 1
        elif t == r"\left" and depth == 0:
            lefts += 1
        elif t == r"\right" and depth == 0:
            lefts -= 1
        if depth == 0 and i > 0:
            if t in "+-" and prev not in ("", "(", "[", "=", "+", "-", ",", r"\left", "^", "_",
                                          r"\cdot", r"\times", "{", "&"):
                points.append((i, lefts))
            elif t in (r"\quad", r"\qquad") and prev in (",", ";", r"\quad", r"\qquad", ""):
                points.append((i, lefts))
        if not t.isspace():
            prev = t
    return points


def _delims_open(toks: list[str], stop: int) -> int:
    depth, lefts = 0, 0
    for t in toks[:stop]:
        if t in ("{", r"\begin"):
            depth += 1
        elif t in ("}", r"\end"):
            depth -= 1
        elif t == r"\left" and depth == 0:
            lefts += 1
        elif t == r"\right" and depth == 0:
            lefts -= 1
    return lefts


def _break_row(row: str, width: float) -> list[str]:
    toks = _tokens(row)
    points = _break_points(toks)
    lines: list[str] = []
    start, open_at_start = 0, 0
    last_ok = None
    indent = 6.0
    for idx, lefts in points + [(len(toks), 0)]:
        piece = toks[start:idx]
        avail = width - (indent if lines else 0.0)
        if _width(_collapse_envs(piece)) + 0.8 * open_at_start <= avail or last_ok is None:
            if idx == len(toks):
                break
            last_ok = (idx, lefts)
            if _width(_collapse_envs(piece)) + 0.8 * open_at_start > avail:
                # even the first piece is too long: cut here anyway
                lines.append(_emit(toks, start, idx, open_at_start, lefts))
                start, open_at_start, last_ok = idx, lefts, None
            continue
        cut, cut_lefts = last_ok
        lines.append(_emit(toks, start, cut, open_at_start, cut_lefts))
        start, open_at_start, last_ok = cut, cut_lefts, None
        piece = toks[start:idx]
        if idx < len(toks):
            last_ok = (idx, lefts)
    lines.append(_emit(toks, start, len(toks), open_at_start, 0))
    lines = [ln for ln in lines if ln.strip()]
    return lines


def _emit(toks: list[str], a: int, b: int, open_before: int, open_after: int) -> str:
    body = "".join(toks[a:b]).strip()
    return (r"\left. " * open_before + body + r" \right." * open_after).strip()


def _unfold(toks: list[str], width: float) -> list[str]:
    """``\\frac{A}{B}`` and ``\\sqrt{A}`` wider than ``width`` rewritten as
    ``\\left(A\\right) \\left(B\\right)^{-1}`` and ``\\left(A\\right)^{1/2}`` (the same
    value), recursively, so that their insides become break points of the row."""
    out: list[str] = []
    i = 0
    while i < len(toks):
        t = toks[i]
        if t in (r"\frac", r"\dfrac", r"\sqrt") and not (t == r"\sqrt" and i + 1 < len(toks)
                                                       and toks[i + 1] == "["):
            j = i + 1
            a, j = _group(toks, j)
            b, j2 = _group(toks, j) if t != r"\sqrt" else ([], j)
            whole = toks[i:j2]
            if _width(_collapse_envs(whole)) > width:
                out += [r"\left", "("] + _unfold(a, width) + [r"\right", ")"]
                if t == r"\sqrt":
                    out += ["^", "{", "1", "/", "2", "}"]
                else:
                    out += [" ", r"\left", "("] + _unfold(b, width) + [r"\right", ")",
                                                                       "^", "{", "-", "1", "}"]
                i = j2
                continue
        out.append(t)
        i += 1
    return out


#: a piece wider than this many line widths is unfolded (see :func:`_unfold`), not scaled:
#: scaled it would be unreadable, and past TeX's largest dimension it does not compile
MAX_SCALE = 8.0


def _scaled(line: str) -> str:
    return r"\resizebox{0.96\linewidth}{!}{$\displaystyle " + line + "$}"


def fit_rows(row: str, width: float = TEXT_WIDTH_UNITS) -> list[str]:
    """One display row as rows that fit ``width`` (see the module text).

    Parameters
    ----------
    row : str
        A display-maths row (no ``&``, no ``\\\\``), e.g. ``F_{1} = …``.
    width : float
        Available width in :func:`latex_width` units.

    Returns
    -------
    list of str
        Rows for an ``align*`` (continuation rows start with ``\\qquad``); a row that
        cannot be broken is wrapped in ``\\resizebox``.
    """
    toks = _tokens(row)
    if any(t in ("&", r"\\") and _depth_at(toks, k) == 0 for k, t in enumerate(toks)):
        return [row]                        # already laid out by its author
    if latex_width(row) <= width:
        return [row]
    comps = _componentwise(row)
    rows = comps if comps is not None else [row]
    out: list[str] = []
    for r in rows:
        if latex_width(r) <= width:
            out.append(r)
            continue
        lines = _break_row(r, width)
        if any(latex_width(ln) > MAX_SCALE * width for ln in lines):
            lines = _break_row("".join(_unfold(_tokens(r), width - 6.0)), width)
        for k, ln in enumerate(lines):
            avail = width - (6.0 if k else 0.0)
            ln = ln if latex_width(ln) <= avail + 2 else _scaled(ln)
            out.append(ln if k == 0 else r"\qquad " + ln)
    return out


class Block(str):
    r"""LaTeX that a document places as is between its displays (a paragraph, a
    ``longtable``), not as a row of an ``align*``."""


#: A displayed quantity (one F_j, θ̃(0), a slow manifold) whose LaTeX source is longer than this
#: many characters is not displayed in full (SymPy's LaTeX of a rational function runs to about
#: 4,000 characters a page at 11 pt: this is about three pages).
MAX_DISPLAY_CHARS = 12_000

#: A coefficient table longer than this many rows (about ten pages) is not written either.
MAX_TABLE_ROWS = 400

#: One ``align*`` holds at most this many rows / characters: amsmath reads an environment's
#: whole body as one macro argument (and typesets it twice), and a few megabytes of it exhaust
#: pdflatex's main memory ("TeX capacity exceeded").
CHUNK_ROWS = 40
CHUNK_CHARS = 20_000


def chunk_rows(rows: Sequence[str], *, max_rows: int = CHUNK_ROWS,
               max_chars: int = CHUNK_CHARS) -> list[list[str]]:
    """Consecutive groups of display rows, one ``align*`` each (see :data:`CHUNK_ROWS`).

    Examples
    --------
    >>> [len(c) for c in chunk_rows(["x"] * 90)]
    [40, 40, 10]
    >>> [len(c) for c in chunk_rows(["y" * 15_000] * 3)]
    [1, 1, 1]
    """
    chunks: list[list[str]] = []
    size = 0
    for r in rows:
        if not chunks or len(chunks[-1]) >= max_rows or (chunks[-1] and size + len(r) > max_chars):
            chunks.append([])
            size = 0
        chunks[-1].append(r)
        size += len(r)
    return chunks


def _count(n: int) -> str:
    return f"{n:,}"


def oversized_block(name: str, components: Sequence[Any] | None, params: Sequence[Any], *,
                    chars: int, limit: int, option: str = "max_display_chars",
                    json_key: str = "expressions") -> Block:
    r"""What a document shows in place of a quantity too long to display (see the module text).

    Parameters
    ----------
    name : str
        The quantity in LaTeX maths (``F_{2}``).
    components : sequence of sympy.Expr, or None
        Its components (None: only the summary is possible).
    params : sequence of sympy.Symbol
        The parameters: the monomials of the coefficient table are in these.
    chars : int
        Length of its LaTeX source.
    limit : int
        The display limit it exceeds.
    option : str
        The keyword / option that changes the limit, named in the text.
    json_key : str
        Where the JSON export holds the quantity, named in the text.

    Returns
    -------
    Block
        A paragraph that says what is shown and why, then the coefficient table if there is
        one. Nothing is cut silently: every monomial is listed, or none.

    Examples
    --------
    >>> import sympy as sp
    >>> a, b = sp.symbols("a b")
    >>> blk = oversized_block("F_{1}", [3*a**2*b - a, b], [a, b], chars=20_000, limit=12_000)
    >>> "coefficient table" in blk and r"\begin{longtable}" in blk and "a^{2} b" in blk
    True
    >>> blk = oversized_block("F_{1}", [sp.sqrt(a) + b], [a, b], chars=20_000, limit=12_000)
    >>> "not displayed" in blk and "longtable" not in blk
    True
    """
    import sympy as sp
    pages = max(1, round(chars / 4000))
    summands = None
    if components is not None:
        summands = sum(len(sp.Add.make_args(x)) for x in components)
    size = (f"{len(components)} components, {_count(summands)} summands as printed, "
            if summands is not None else "")
    what = (f"${name}$ ({size}{_count(chars)} characters of LaTeX, about {pages} "
            f"page{'s' if pages > 1 else ''}) is longer than the display limit of "
            f"{_count(limit)} characters (\\texttt{{{option.replace('_', chr(92) + '_')}}}, CLI "
            r"\texttt{-{}-max-display-chars})")
    tail = (r" The full expression is in the JSON export (key \texttt{"
            + json_key.replace("_", r"\_") + r"}; \texttt{ibsym derive \dots{} -{}-format json}) "
            r"and the NumPy export (\texttt{export.write} with the formats json and py).")
    if components is None:
        return Block(f"\\noindent {what}; not displayed." + tail + "\n\n")
    if not params or not _is_poly(components, params):
        return Block(f"\\noindent {what}; not displayed (it is not a polynomial in the "
                     "parameters, so it has no coefficient table)." + tail + "\n\n")
    polys = [sp.Poly(sp.expand(x), *params) for x in components]
    n_rows = sum(len(p.terms()) for p in polys)
    if n_rows > MAX_TABLE_ROWS:
        return Block(f"\\noindent {what}; not displayed (its coefficient table would have "
                     f"{_count(n_rows)} rows, more than {MAX_TABLE_ROWS})." + tail + "\n\n")
    return Block(f"\\noindent {what}; listed as a coefficient table by monomial in "
                 f"{', '.join('$' + sp.latex(p) + '$' for p in params)} "
                 f"({_count(n_rows)} rows)." + tail + "\n\n"
                 + _coefficient_table(name, polys, params))


def _is_poly(components: Sequence[Any], params: Sequence[Any]) -> bool:
    return all(x.is_polynomial(*params) for x in components)


def _coefficient_table(name: str, polys: Sequence[Any], params: Sequence[Any]) -> str:
    """``longtable`` of (component, monomial, coefficient) of polynomials in ``params``."""
    import sympy as sp
    rows = []
    for c, poly in enumerate(polys):
        for exps, coef in poly.terms():
            mono = sp.Mul(*[p ** e for p, e in zip(params, exps)])
            coef = sp.factor(coef) if sp.count_ops(coef) < 200 else coef
            rows.append(f"{c + 1} & ${sp.latex(mono)}$ & $\\displaystyle {sp.latex(coef)}$")
    head = (r"\begin{longtable}{r l p{0.7\linewidth}}" + "\n"
            + rf"component & monomial & coefficient in ${name}$ \\ \hline" + "\n\\endhead\n")
    return head + " \\\\\n".join(rows) + " \\\\\n\\end{longtable}\n"
