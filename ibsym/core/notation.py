"""Coefficients in the papers' notation: β, ρ, ε and factors (1 − β) rather than (β − 1).

SymPy's canonical forms write 1/(β − 1)³ and ``beta``; the literature writes
−1/(1 − β)³ and β.  These helpers only change how a coefficient is *printed*
(text and LaTeX); the expressions themselves stay canonical.

Examples
--------
>>> import sympy as sp
>>> b = sp.Symbol("beta", positive=True)
>>> coefficient_text((b + 1) / (2 * (b - 1) ** 3))
'-(β + 1)/(2(1 - β)³)'
>>> coefficient_latex(1 / (b - 1))
'- \\\\frac{1}{1 - \\\\beta}'
"""
from __future__ import annotations

import re

import sympy as sp

__all__ = ["coefficient_text", "coefficient_latex", "greek", "paper_form"]

_GREEK = {"beta": "β", "rho": "ρ", "eps": "ε", "alpha": "α", "gamma": "γ", "lam": "λ",
          "mu": "μ", "tau": "τ", "sigma": "σ", "eta": "η"}
_SUP = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def greek(text: str) -> str:
    """Replace hyper-parameter names by Greek letters (and ``**k`` by superscripts)."""
    text = re.sub(r"\b(" + "|".join(_GREEK) + r")\b", lambda m: _GREEK[m.group(1)], text)
    return re.sub(r"\*\*(\d+)", lambda m: m.group(1).translate(_SUP), text)


def paper_form(c: sp.Expr) -> tuple[int, sp.Expr, sp.Expr, list[tuple[sp.Expr, int]]]:
    """(sign, numerator, constant, [(denominator factor, power)]) with every denominator
    factor s − 1 flipped to 1 − s."""
    c = sp.factor(sp.cancel(c))
    num, den = sp.fraction(c)
    sign = 1
    factors: list[tuple[sp.Expr, int]] = []
    const, flist = sp.factor_list(den)
    for f, m in flist:
        if f.is_Add and len(f.args) == 2 and sp.Integer(-1) in f.args:
            f = sp.Add(1, -(f + 1), evaluate=False)          # s − 1 → −(1 − s)
            sign *= (-1) ** m
        factors.append((f, m))
    if const < 0:
        sign, const = -sign, -const
    num = sp.factor(num)
    if num.could_extract_minus_sign():
        sign, num = -sign, -num
    return sign, num, const, factors


def coefficient_text(c: sp.Expr) -> str:
    """A coefficient in plain text, papers' style."""
    c = sp.sympify(c)
    if not c.free_symbols:
        return sp.sstr(c)
    sign, num, const, factors = paper_form(c)
    n = sp.sstr(num)
    if num.is_Add:
        n = f"({n})"
    pieces = [] if const == 1 else [sp.sstr(const)]
    for f, m in factors:
        t = sp.sstr(f)
        if f.is_Add:
            t = f"({t})"
        pieces.append(t + (str(m).translate(_SUP) if m > 1 else ""))
    if not pieces:
        out = n
    elif len(pieces) == 1:
        out = f"{n}/{pieces[0]}"
    else:
        out = f"{n}/(" + "".join(pieces) + ")"
    return greek(("-" if sign < 0 else "") + out)


def coefficient_latex(c: sp.Expr) -> str:
    """A coefficient in LaTeX, papers' style (\\frac with (1 − β)^k denominators)."""
    c = sp.sympify(c)
    if not c.free_symbols:
        return sp.latex(c)
    sign, num, const, factors = paper_form(c)
    if not factors and const == 1:
        return ("- " if sign < 0 else "") + sp.latex(num)
    dens = [] if const == 1 else [sp.latex(const)]
    for f, m in factors:
        t = sp.latex(f)
        if f.is_Add and (m > 1 or len(factors) > 1 or const != 1):
            t = r"\left(" + t + r"\right)"
        dens.append(t + (f"^{{{m}}}" if m > 1 else ""))
    return ("- " if sign < 0 else "") + r"\frac{" + sp.latex(num) + "}{" + " ".join(dens) + "}"
