"""Max-margin problems in an ℓ_p geometry, solved by CVXPY (Clarabel).

For separable data z_n = y_n x_n the ℓ_p max-margin direction is the solution of

    ŵ = argmin ‖w‖_p  s.t.  z_nᵀw ≥ 1 (n = 1..N),      margin γ_p = 1/‖ŵ‖_p,

and for p = 2 the hard-margin SVM ½‖w‖² with the same constraints, whose dual variables α give
ŵ = Σ α_n z_n (Soudry et al. 2018 use exactly these α).  Support vectors are the active
constraints.  For p ∈ {1, ∞} the solution may be non-unique; :func:`max_margin` checks this by
two extra LPs and says so (the margin problem then does not determine the limit direction).

Examples
--------
>>> m = max_margin([[1, 0], [0, 1], [2, 2], [3, 1]], 2)
>>> np.round(m.w, 6).tolist(), m.support, np.round(m.alpha, 6).tolist()
([1.0, 1.0], (0, 1), [1.0, 1.0, 0.0, 0.0])
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from ibsym.core.errors import InputError
from ibsym.core.values import as_number

__all__ = ["MaxMargin", "max_margin", "pnorm"]


def pnorm(w: np.ndarray, p: float, axis: int = -1) -> np.ndarray:
    """‖w‖_p along ``axis`` (p = inf allowed)."""
    w = np.abs(np.asarray(w, dtype=float))
    if np.isinf(p):
        return w.max(axis=axis)
    return np.sum(w ** p, axis=axis) ** (1.0 / p)


@dataclass(frozen=True, eq=False)
class MaxMargin:
    """The solution of an ℓ_p max-margin problem."""

    p: Any                      #: SymPy number (oo for ∞)
    w: np.ndarray               #: ŵ = argmin ‖w‖_p s.t. Zw ≥ 1
    margin: float               #: γ_p = 1/‖ŵ‖_p = max_{‖w‖_p ≤ 1} min_n z_nᵀw
    alpha: np.ndarray           #: dual variables of the constraints
    support: tuple              #: indices of the active constraints
    unique: bool                #: False if the optimal set has more than one point
    status: str
    degenerate: tuple = ()      #: active constraints with a zero multiplier

    @property
    def direction(self) -> np.ndarray:
        """ŵ/‖ŵ‖₂ (directions are compared in ℓ2)."""
        return self.w / np.linalg.norm(self.w)

    @property
    def objective(self) -> str:
        """The problem, as text."""
        obj = "½‖w‖₂²" if self.p == 2 else f"‖w‖_{self.p}"
        return f"argmin_w {obj}  s.t.  z_nᵀw ≥ 1 for all n"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description."""
        return {"p": str(self.p), "problem": self.objective, "w": self.w, "direction": self.direction,
                "margin": self.margin, "alpha": self.alpha, "support": list(self.support),
                "unique": self.unique, "status": self.status, "degenerate": list(self.degenerate)}


def _p_value(p: Any) -> tuple[Any, float]:
    if isinstance(p, str) and p.strip().lower() in ("inf", "oo", "∞"):
        return sp.oo, np.inf
    if isinstance(p, float) and np.isinf(p):
        return sp.oo, np.inf
    if p is sp.oo:
        return sp.oo, np.inf
    ps = as_number(p, what="p", rational=True)
    if not (ps.is_real and ps >= 1):
        raise InputError(f"max-margin problem needs p ≥ 1 (or ∞), got p = {ps}")
    return ps, float(ps)


def _polish_svm(Z: np.ndarray, w: np.ndarray, alpha: np.ndarray, active: np.ndarray):
    """Solve the KKT system of the hard-margin SVM on the active set exactly.

    min ½‖w‖² s.t. Z_A w = 1 gives w = Z_Aᵀα_A with (Z_A Z_Aᵀ)α_A = 1; accepted when α_A ≥ 0
    (up to 1e-9) and every constraint holds -- interior-point duals are only ~1e-6 accurate
    when a constraint is active with a zero multiplier (degenerate SVM).
    """
    A = np.nonzero(active)[0]
    ZA = Z[A]
    aA, *_ = np.linalg.lstsq(ZA @ ZA.T, np.ones(len(A)), rcond=None)
    wp = ZA.T @ aA
    scale = max(float(np.abs(aA).max()), 1e-300)
    if (np.all(aA >= -1e-9 * scale) and np.all(Z @ wp >= 1 - 1e-10)
            and np.abs(ZA @ wp - 1).max() < 1e-10):
        alpha = np.zeros(len(Z))
        alpha[A] = np.maximum(aA, 0.0)
        strong = alpha > 1e-9 * scale
        return wp, alpha, tuple(int(i) for i in np.nonzero(strong)[0])
    return w, alpha, tuple(int(i) for i in np.nonzero(active & (alpha > 1e-6 * scale))[0])


def max_margin(Z: Any, p: Any = 2, *, tol: float = 1e-10) -> MaxMargin:
    """Solve the ℓ_p max-margin problem for the rows z_n of ``Z``.

    Parameters
    ----------
    Z : array_like, shape (N, d)
        Rows z_n = y_n x_n.
    p : number, "inf"
        The geometry (1 ≤ p ≤ ∞).
    tol : float
        Solver tolerance (gap and feasibility).

    Returns
    -------
    MaxMargin

    Raises
    ------
    InputError
        Data that are not linearly separable (the problem is infeasible), or a solver failure.
    """
    import cvxpy as cp
    Z = np.asarray(Z, dtype=float)
    ps, pf = _p_value(p)
    n, d = Z.shape
    w = cp.Variable(d)
    cons = [Z @ w >= 1]
    if pf == 2:
        obj = 0.5 * cp.sum_squares(w)
    elif pf == 1:
        obj = cp.norm1(w)
    elif np.isinf(pf):
        obj = cp.norm_inf(w)
    else:
        obj = cp.pnorm(w, pf)
    prob = cp.Problem(cp.Minimize(obj), cons)
    prob.solve(solver=cp.CLARABEL, tol_gap_abs=tol, tol_gap_rel=tol, tol_feas=tol)
    if prob.status in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE):
        raise InputError("the data are not linearly separable: no w has z_nᵀw > 0 for every n")
    if prob.status != cp.OPTIMAL:
        raise InputError(f"CVXPY could not solve the ℓ_{ps} max-margin problem ({prob.status})")
    wv = np.asarray(w.value, dtype=float)
    alpha = np.maximum(np.asarray(cons[0].dual_value, dtype=float).reshape(-1), 0.0)
    norm = float(pnorm(wv, pf))
    m = Z @ wv
    active = np.abs(m - 1) < 1e-6
    strong = alpha > 1e-6 * max(alpha.max(), 1e-300)
    support = tuple(int(i) for i in np.nonzero(active & strong)[0]) or \
        tuple(int(i) for i in np.nonzero(active)[0])
    if pf == 2:
        wv, alpha, support = _polish_svm(Z, wv, alpha, active)
    alpha = np.where(alpha > 1e-9 * max(alpha.max(), 1e-300), alpha, 0.0)
    unique = True
    if pf in (1.0, np.inf):
        # the optimal set {Zw ≥ 1, ‖w‖_p ≤ opt}: spread along two random directions
        rng = np.random.default_rng(0)
        nrm = cp.norm1(w) if pf == 1 else cp.norm_inf(w)
        for r in rng.standard_normal((2, d)):
            vals = []
            for sense in (cp.Maximize, cp.Minimize):
                q = cp.Problem(sense(r @ w), cons + [nrm <= norm * (1 + 1e-9)])
                q.solve(solver=cp.CLARABEL, tol_gap_abs=tol, tol_gap_rel=tol, tol_feas=tol)
                vals.append(float(q.value) if q.status == cp.OPTIMAL else np.nan)
            if not np.all(np.isfinite(vals)) or vals[0] - vals[1] > 1e-5 * (1 + np.linalg.norm(r)) * norm:
                unique = False
    degenerate = tuple(int(i) for i in np.nonzero(np.abs(Z @ wv - 1) < 1e-7)[0] if int(i) not in support)
    return MaxMargin(ps, wv, 1.0 / norm, alpha, support, unique, prob.status, degenerate)
