r"""Symbols and shared helpers of the symbolic deep-linear-network derivations.

The depth :data:`N`, a singular value :data:`SIGMA` and its initial value :data:`SIGMA0`, the
target singular value :data:`S`, time :data:`T`, the weight decay :data:`LAM`, the pairing
:data:`PAIRING` ``g = ⟨∇L(W_e), u_r v_r^T⟩`` and the step size :data:`H`; the dummy layer
indices and weights of the symbolic-depth sums; depth and number validation and printing.
SymPy only (no NumPy): used by :mod:`ibsym.deep_linear.flows`,
:mod:`ibsym.deep_linear.solutions`, :mod:`ibsym.deep_linear.learning` and
:mod:`ibsym.deep_linear.finite_step`.

Examples
--------
>>> check_depth(3), SIGMA.is_positive
(3, True)
"""
from __future__ import annotations

from typing import Any

import sympy as sp

from ibsym.core.errors import InputError

__all__ = ["N", "SIGMA", "SIGMA0", "S", "T", "LAM", "PAIRING", "H", "REFERENCES", "check_depth"]

N = sp.Symbol("N", positive=True, integer=True)
#: A singular value of the end-to-end matrix, its initial value, the target singular value.
SIGMA = sp.Symbol("sigma", positive=True)
SIGMA0 = sp.Symbol("sigma_0", positive=True)
S = sp.Symbol("s", positive=True)
#: Time and weight decay.
T = sp.Symbol("t", nonnegative=True)
LAM = sp.Symbol("lambda", nonnegative=True)
#: ⟨∇L(W_e), u_r v_r^T⟩ -- the gradient of L along the mode (its "force").
PAIRING = sp.Symbol("g")
#: The step size (same symbol as in :mod:`ibsym.bea.equations`).
H = sp.Symbol("h", positive=True)

REFERENCES = (
    "S. Arora, N. Cohen, E. Hazan, On the Optimization of Deep Networks: Implicit Acceleration "
    "by Overparameterization, ICML 2018, Thm 1 (end-to-end dynamics)",
    "S. Arora, N. Cohen, W. Hu, Y. Luo, Implicit Regularization in Deep Matrix Factorization, "
    "NeurIPS 2019, Thm 3 (singular-value dynamics)",
    "A. Saxe, J. McClelland, S. Ganguli, Exact solutions to the nonlinear dynamics of learning "
    "in deep linear neural networks, ICLR 2014 (closed-form learning curves)",
)

_PAIR_TEXT = "⟨∇L(W), u vᵀ⟩"
_PAIR_LATEX = r"\left\langle \nabla L(W_e),\, u_r v_r^{\top}\right\rangle"
_LATEX_NAMES = {PAIRING: _PAIR_LATEX, SIGMA: r"\sigma_r", SIGMA0: r"\sigma_0"}

# dummy indices and layer weights of the symbolic-depth derivations
_i, _j, _k, _l = sp.symbols("i j k l", integer=True, positive=True)
_m = sp.Symbol("m", integer=True, nonnegative=True)
_w = sp.IndexedBase("w", positive=True)
_sr, _sq = sp.symbols("sigma_r sigma_q", positive=True)
_Grq = sp.Symbol("G_rq")


def check_depth(depth: Any, *, symbolic: bool = True) -> Any:
    """Validate a depth: the symbol :data:`N` (if ``symbolic``) or an integer in 1..64.

    Examples
    --------
    >>> check_depth(3), check_depth(N)
    (3, N)
    >>> check_depth(0)
    Traceback (most recent call last):
    ...
    ibsym.core.errors.InputError: depth must be an integer between 1 and 64 (number of weight matrices), got 0
    """
    if symbolic and depth is N:
        return N
    if isinstance(depth, sp.Integer):
        depth = int(depth)
    if isinstance(depth, bool) or not isinstance(depth, int) or not 1 <= depth <= 64:
        raise InputError("depth must be an integer between 1 and 64 (number of weight matrices), "
                         f"got {depth!r}")
    return depth


def _flow_text(e: sp.Expr) -> str:
    return sp.sstr(e.xreplace({PAIRING: sp.Symbol(_PAIR_TEXT)}))


def _latex(e: Any) -> str:
    return sp.latex(e, symbol_names=_LATEX_NAMES)


def _resolve_index_range(expr: sp.Expr, index: sp.Symbol) -> sp.Expr:
    """Choose the branch of every Piecewise whose condition holds for 1 ≤ index ≤ N.

    ``Sum(... KroneckerDelta(i, k) ..., (i, 1, N)).doit()`` returns
    ``Piecewise((value, k <= N), (0, True))``; a layer index always lies in range, which is
    decided by writing ``N = index + m`` with ``m ≥ 0``.
    """
    def pick(*args: Any) -> sp.Expr:
        for e, c in args:
            cond = sp.simplify(sp.sympify(c).xreplace({N: index + _m}))
            if cond == sp.true:
                return e
        raise InputError(f"could not decide the layer-index range in {args}")  # pragma: no cover
    return expr.replace(sp.Piecewise, pick)


def _on_balanced_diagonal(expr: sp.Expr, value: sp.Expr) -> sp.Expr:
    """Replace every layer weight ``w[i]`` by the balanced value."""
    return expr.replace(lambda e: isinstance(e, sp.Indexed) and e.base == _w, lambda e: value)


def _weight_decay(value: Any) -> sp.Expr:
    """0, a non-negative number, or the symbol λ (``"lambda"``)."""
    if isinstance(value, str) and value.strip() in ("lambda", "lam", "λ"):
        return LAM
    if value is LAM:
        return LAM
    lam = _number(value, "weight decay")
    if lam < 0:
        raise InputError(f"weight decay must be non-negative, got {value}")
    return lam


def _tidy(e: sp.Expr) -> sp.Expr:
    """Expand exponents (σ^(2(N−1)/N) → σ^(2 − 2/N)) for reading."""
    return e.replace(lambda x: x.is_Pow and not x.exp.is_number,
                     lambda x: sp.Pow(x.base, sp.expand(x.exp)))



def _number(v: Any, what: str) -> sp.Expr:
    if isinstance(v, str):
        from ibsym.core.parsing import parse_number
        return parse_number(v)
    if isinstance(v, float):
        return sp.nsimplify(v, rational=True) if v == v and abs(v) != float("inf") else sp.Float(v)
    from ibsym.core.values import to_sympy     # never sympify: it runs strings in tuples
    e = to_sympy(v, what=what)
    if not e.is_number:
        raise InputError(f"{what} must be a number, got {v!r}")
    return e

