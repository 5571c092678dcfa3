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

__all__ = ["fit_rows", "latex_width", "TEXT_WIDTH_UNITS"]

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
