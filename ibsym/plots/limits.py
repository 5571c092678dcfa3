"""Figures for :mod:`ibsym.limits`: the kernel/rich α-sweep and step-size dependent limits.

Every function returns a :class:`matplotlib.figure.Figure` and never touches pyplot's state.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

__all__ = ["alpha_sweep_figure", "step_size_figure", "convergence_figure"]


def alpha_sweep_figure(rows: Sequence[dict[str, Any]], min_l1: np.ndarray, min_l2: np.ndarray,
                       *, title: str = "") -> Figure:
    """Distance of the limit to the min-ℓ1 and min-ℓ2 interpolants, and flow-vs-argmin gap, vs α."""
    a = np.array([r["alpha"] for r in rows])
    d1 = [np.max(np.abs(r["argmin"] - min_l1)) for r in rows]
    d2 = [np.max(np.abs(r["argmin"] - min_l2)) for r in rows]
    gap = [max(r["distance"], 1e-17) for r in rows]
    fig = Figure(figsize=(9, 3.4))
    ax = fig.add_subplot(1, 2, 1)
    ax.loglog(a, d1, "o-", label="‖w_α − w_ℓ1‖∞")
    ax.loglog(a, d2, "s-", label="‖w_α − w_ℓ2‖∞")
    ax.set_xlabel("initialization scale α")
    ax.set_ylabel("distance")
    ax.legend()
    ax.grid(True, alpha=0.3)
    ax = fig.add_subplot(1, 2, 2)
    ax.loglog(a, gap, "d-", color="C2")
    ax.set_xlabel("α")
    ax.set_ylabel("‖flow limit − argmin Q_α‖∞")
    ax.grid(True, alpha=0.3)
    fig.suptitle(title or "kernel (α → ∞, min-ℓ2) and rich (α → 0, min-ℓ1) regimes")
    fig.tight_layout()
    return fig


def step_size_figure(table: dict[str, Any], *, coordinate: int = 0, title: str = "") -> Figure:
    """One coordinate of the measured limit against the step size, with the min-norm value."""
    etas = [r["eta"] for r in table["rows"]]
    vals = [r["limit"][coordinate] for r in table["rows"]]
    fig = Figure(figsize=(4.6, 3.4))
    ax = fig.add_subplot(1, 1, 1)
    ax.semilogx(etas, vals, "o-", label="steepest-descent limit")
    ax.axhline(table["min_norm"][coordinate], color="k", ls="--", label="min-‖·‖_p interpolant")
    ax.set_xlabel("step size η")
    ax.set_ylabel(f"w_{coordinate + 1} at the limit")
    ax.legend()
    ax.grid(True, alpha=0.3)
    fig.suptitle(title or f"ℓ_{table['p']:g} steepest descent: the limit moves with η")
    fig.tight_layout()
    return fig


def convergence_figure(curves: dict[str, Sequence[float]], *, ylabel: str, title: str = "") -> Figure:
    """Semilog curves against the iteration index (one per label)."""
    fig = Figure(figsize=(4.8, 3.4))
    ax = fig.add_subplot(1, 1, 1)
    for label, ys in curves.items():
        ax.semilogy(np.arange(len(ys)), np.maximum(np.asarray(ys, float), 1e-17), label=label)
    ax.set_xlabel("iteration k")
    ax.set_ylabel(ylabel)
    ax.legend()
    ax.grid(True, alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
