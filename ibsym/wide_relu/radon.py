r"""The multivariate (Radon transform) statement of the wide-network penalty, as a formula (symbolic).

Examples
--------
>>> print(radon_penalty(1).dim)
1
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sympy as sp

from ibsym.core.results import Result
from ibsym.core.values import as_expr

__all__ = ["RadonPenalty", "radon_penalty"]


# ----------------------------------------------------------------------------- multivariate
class _RadonLaplacian(sp.Function):
    """R{(-Δ)^{(d+1)/2} h}(s, b): printed through SymPy's LaTeX printer hook."""

    nargs = 3

    def _latex(self, printer: Any, exp: Any = None) -> str:
        d, s, b = self.args
        tex = (r"\mathcal{R}\left\{(-\Delta)^{" + printer._print((d + 1) / 2) + r"} h\right\}("
               + printer._print(s) + ", " + printer._print(b) + ")")
        return tex if exp is None else r"\left(" + tex + r"\right)^{" + exp + "}"

    def _sympystr(self, printer: Any) -> str:
        d, s, b = self.args
        return f"R{{(-Δ)^(({printer._print(d)}+1)/2) h}}({printer._print(s)}, {printer._print(b)})"


@dataclass(frozen=True)
class RadonPenalty(Result):
    r"""Multivariate statement (formula only): for ``x ∈ ℝ^d`` the penalty is
    ``∫_{S^{d-1}×ℝ} (R{(-Δ)^{(d+1)/2} h}(s, b))² / ζ(s, b) ds db`` with
    ``ζ(s, c) = ∫_0^∞ r^{d+2} p_{W,B}(r s, -r c) dr`` (reduces to ζ(x) for d = 1).
    Normalizing constants are not confirmed against the paper.
    """

    schema = "zeta-radon"
    dim: Any = sp.Symbol("d", positive=True, integer=True)

    def expressions(self) -> tuple[sp.Expr, sp.Expr]:
        s, b, r, c = sp.symbols("s b r c", real=True)
        zeta_sb = sp.Function("zeta")(s, b)
        integrand = _RadonLaplacian(self.dim, s, b) ** 2 / zeta_sb
        penalty = sp.Integral(integrand, s, b)
        p = sp.Function("p_{W,B}")
        zdef = sp.Eq(sp.Function("zeta")(s, c),
                     sp.Integral(r ** (self.dim + 2) * p(r * s, -r * c), (r, 0, sp.oo)))
        return penalty, zdef

    def to_latex(self) -> str:
        penalty, zdef = self.expressions()
        return sp.latex(penalty) + r",\qquad " + sp.latex(zdef)

    def __str__(self) -> str:
        penalty, zdef = self.expressions()
        return f"{sp.sstr(penalty)}  over S^(d-1) × R,  {sp.sstr(zdef)}"

    def to_dict_body(self) -> dict[str, Any]:
        return {"dim": sp.sstr(self.dim), "latex": self.to_latex(), "text": str(self),
                "note": "structure as stated by Jin & Montúfar (multivariate result); "
                        "normalizing constants unconfirmed"}


def radon_penalty(dim: Any = None) -> RadonPenalty:
    """The multivariate (Radon transform) form of the penalty, as an exportable formula.

    Examples
    --------
    >>> r = radon_penalty(3)
    >>> "mathcal{R}" in r.to_latex()
    True
    """
    return RadonPenalty(sp.Symbol("d", positive=True, integer=True) if dim is None
                        else as_expr(dim, what="dimension", allow_free_names=True))
