"""Figures for classification limits: direction error vs log t with its fitted line, margin vs t.

Every function returns a :class:`matplotlib.figure.Figure` and never touches pyplot's state.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

__all__ = ["margin_convergence_figure", "weight_sweep_figure"]


def margin_convergence_figure(results: Sequence[Any], *, title: str = "") -> Figure:
    """Direction error (log-log against log t, with the fitted C·(1/log t)^a) and margin gap vs t.

    ``results`` are :class:`~ibsym.limits.classification.ClassificationBias` records with a
    margin problem.
    """
    fig = Figure(figsize=(10, 3.8))
    ax1, ax2 = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    for i, r in enumerate(results):
        t, e = r.run.t, r.direction_errors
        keep = (t > 1) & (e > 0)
        lab = f"{r.optimizer} (ℓ_{r.margin.p})"
        ax1.loglog(np.log(t[keep]), e[keep], "-", color=f"C{i}", label=lab)
        f = r.fits.get("1/log t")
        if f is not None:
            lt = np.log(t[keep])
            lt = lt[lt >= 0.5 * lt.max()]                 # the fit window
            ax1.loglog(lt, f["constant"] * lt ** (-f["exponent"]), "--", color=f"C{i}", lw=1.5,
                       label=f"fit {f['constant']:.2g}·(log t)^−{f['exponent']:.2f}")
        g = r.margin_gaps
        ax2.loglog(t[g > 0], g[g > 0], "-", color=f"C{i}", label=lab)
    ax1.set_xlabel("log t")
    ax1.set_ylabel("‖w_t/‖w_t‖ − ŵ/‖ŵ‖‖")
    ax1.legend(fontsize=7)
    ax1.grid(True, which="both", alpha=0.3)
    ax2.set_xlabel("t (steps)")
    ax2.set_ylabel("margin gap γ_p − min_n z_nᵀw_t/‖w_t‖_p")
    ax2.legend(fontsize=7)
    ax2.grid(True, which="both", alpha=0.3)
    fig.suptitle(title or "directional convergence to the max-margin solution")
    fig.tight_layout()
    return fig


def weight_sweep_figure(sweep: dict[str, Any], *, title: str = "") -> Figure:
    """The direction gap between weighted and unweighted runs against 1/log t."""
    fig = Figure(figsize=(5.5, 3.8))
    ax = fig.add_subplot(1, 1, 1)
    t = sweep["t"]
    keep = t > 1
    for i, row in enumerate(sweep["rows"]):
        ax.loglog(1 / np.log(t[keep]), row["gap"][keep], "-", color=f"C{i}",
                  label=f"c = {row['weights']}")
        if "predicted_constant" in row:
            x = 1 / np.log(t[keep])
            ax.loglog(x, row["predicted_constant"] * x, ":", color=f"C{i}", lw=0.8,
                      label=f"derived {row['predicted_constant']:.3g}/log t")
    ax.set_xlabel("1/log t")
    ax.set_ylabel("‖u_c(t) − u_1(t)‖")
    ax.legend(fontsize=7)
    ax.grid(True, which="both", alpha=0.3)
    ax.set_title(title or "importance weights: the effect on the direction fades as 1/log t")
    fig.tight_layout()
    return fig


def kkt_figure(runs: Sequence[tuple[str, Any]], *, title: str = "") -> Figure:
    """Normalized margin (after the loss falls below log 2) and KKT stationarity residual
    along runs of a homogeneous model (``runs``: ``(label, run)`` pairs of
    :mod:`ibsym.limits.homogeneous` runs)."""
    fig = Figure(figsize=(10, 3.6))
    ax1, ax2 = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    for i, (label, r) in enumerate(runs):
        a = r.after_threshold()
        ax1.semilogx(r.t[a], r.normalized_margin[a], "-", color=f"C{i}", label=label)
        ok = np.isfinite(r.stationarity) & (r.stationarity > 0)
        ax2.loglog(r.t[ok], r.stationarity[ok], "-", color=f"C{i}", label=label)
    ax1.set_xlabel("t (steps)")
    ax1.set_ylabel("q(θ)/‖θ‖^L  (after L(θ) < log 2)")
    ax2.set_xlabel("t (steps)")
    ax2.set_ylabel("KKT stationarity residual")
    for ax in (ax1, ax2):
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
