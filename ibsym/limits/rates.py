"""Rates of directional convergence on separable data: predicted and fitted.

**Soudry et al. (2018), GD on the exponential loss.**  With L(w) = Σ_n c_n exp(−z_nᵀw) (weights
c_n = 1 unless importance-weighted; a mean loss has c_n = 1/N) and a constant step η,

    w(t) = ŵ log t + ρ(t),   ρ(t) → w̃,   η c_n exp(−z_nᵀw̃) = α_n  (n ∈ S),

where ŵ = Σ α_n z_n is the hard-margin SVM and S its support vectors.  :func:`soudry_prediction`
*derives* w̃ from that system: z_nᵀw̃ = log(η c_n/α_n) on S fixes the component of w̃ in
span{z_n : n ∈ S} (the component orthogonal to it depends on the start and on the non-support
points and is not predicted -- the record says when S does not span).  Then

    t·L(w_t) → Σ_{n∈S} c_n exp(−z_nᵀw̃) = Σ_n α_n/η,
    ‖w_t/‖w_t‖ − ŵ/‖ŵ‖‖ ≈ ‖P_ŵ^⊥ w̃‖/(‖ŵ‖ log t),

so the direction error is Θ(1/log t) with a derived constant.  Weights c_n only shift w̃ by
log c_n on S: the limit direction does not depend on them and their effect on the direction
decays like 1/log t (Xu, Ye & Ruan 2021).

:func:`fit_rate` fits err ≈ C·x^a on the late part of a run for x = 1/log t or x = 1/t.

Examples
--------
>>> from ibsym.limits.margins import max_margin
>>> Z = [[1, 0], [0, 1], [2, 2], [3, 1]]
>>> pred = soudry_prediction(max_margin(Z), 0.1, Z=Z)
>>> np.round(pred["w_tilde"], 6).tolist(), round(pred["tL_limit"], 6), pred["spans"]
([-2.302585, -2.302585], 20.0, True)
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ibsym.core.errors import InputError

__all__ = ["soudry_prediction", "fit_rate", "direction_error"]


def direction_error(W: np.ndarray, w_hat: np.ndarray) -> np.ndarray:
    """‖w/‖w‖₂ − ŵ/‖ŵ‖₂‖₂ for each row w of ``W``."""
    W = np.atleast_2d(np.asarray(W, dtype=float))
    u = w_hat / np.linalg.norm(w_hat)
    n = np.linalg.norm(W, axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.linalg.norm(W / n - u, axis=1)


def soudry_prediction(margin: Any, eta: float, weights: Sequence[float] | None = None,
                      Z: np.ndarray | None = None) -> dict[str, Any]:
    """The limit w̃ of ρ(t) = w(t) − ŵ log t (on the support span), t·L's limit, the rate constant.

    Parameters
    ----------
    margin : MaxMargin
        The ℓ2 hard-margin solution (p = 2), with its dual variables α.
    eta : float
        The constant step size of GD.
    weights : sequence of float, optional
        Loss weights c_n (1/N for a mean loss); default 1.
    Z : array
        The rows z_n (the system lives on the support rows); required.

    Returns
    -------
    dict
        ``w_tilde`` (minimum-norm solution in span S), ``spans`` (S spans R^d: w̃ fully
        predicted), ``system_residual``, ``tL_limit`` (Σα/η), ``rate_constant`` (the C of
        C/log t, None when S does not span), ``support``.
    """
    if margin.p != 2:
        raise InputError("the Soudry et al. decomposition is for the ℓ2 margin (GD)")
    if Z is None:
        raise InputError("soudry_prediction needs the data rows Z")
    Z = np.asarray(Z, dtype=float)
    S = list(margin.support)
    c = np.ones(len(Z)) if weights is None else np.asarray(weights, dtype=float)
    alpha = margin.alpha[S]
    if np.any(alpha <= 0):
        raise InputError("a support vector with zero dual variable: w̃ is not determined by "
                         "η c_n exp(−z_nᵀw̃) = α_n (degenerate SVM)")
    ZS = Z[S]
    rhs = np.log(eta * c[S] / alpha)
    w_t, *_ = np.linalg.lstsq(ZS, rhs, rcond=None)        # minimum norm: in span{z_n : n ∈ S}
    resid = float(np.abs(ZS @ w_t - rhs).max())
    d = Z.shape[1]
    spans = np.linalg.matrix_rank(ZS) == d
    u = margin.w / np.linalg.norm(margin.w)
    perp = w_t - u * (u @ w_t)
    return {"w_tilde": w_t, "spans": bool(spans), "system_residual": resid,
            "tL_limit": float(alpha.sum() / eta),
            "rate_constant": float(np.linalg.norm(perp) / np.linalg.norm(margin.w)) if spans else None,
            "support": S, "alpha": margin.alpha}


def fit_rate(t: np.ndarray, err: np.ndarray, *, model: str = "1/log t",
             window: tuple[float, float] = (0.5, 1.0)) -> dict[str, float]:
    """Fit err ≈ C·x^a with x = 1/log t (``"1/log t"``) or x = 1/t (``"1/t"``).

    The fit uses the recorded points with log t in the given fraction ``window`` of
    [0, log t_max] (the late part of the run) and err > 0.

    Examples
    --------
    >>> t = np.logspace(1, 6, 50)
    >>> r = fit_rate(t, 0.7 / np.log(t))
    >>> round(r["exponent"], 6), round(r["constant"], 6)
    (1.0, 0.7)
    """
    t, err = np.asarray(t, float), np.asarray(err, float)
    lt = np.log(t)
    lo, hi = window[0] * lt.max(), window[1] * lt.max()
    keep = (lt >= lo) & (lt <= hi) & (err > 0) & np.isfinite(err) & (t > 1)
    if keep.sum() < 3:
        raise InputError("fit_rate: fewer than 3 usable points in the window")
    if model == "1/log t":
        x = -np.log(lt[keep])
    elif model == "1/t":
        x = -lt[keep]
    else:
        raise InputError(f"fit_rate: unknown model {model!r} (use '1/log t' or '1/t')")
    A = np.column_stack([x, np.ones_like(x)])
    (a, b), *_ = np.linalg.lstsq(A, np.log(err[keep]), rcond=None)
    res = np.log(err[keep]) - A @ np.array([a, b])
    return {"model": model, "exponent": float(a), "constant": float(np.exp(b)),
            "points": int(keep.sum()), "max_log_residual": float(np.abs(res).max())}
