"""Figures for :mod:`ibsym.limits`: the kernel/rich α-sweep and step-size dependent limits.

Every function returns a :class:`matplotlib.figure.Figure` and never touches pyplot's state.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from ibsym.plots.style import (COLORS, finish, layout, legend_below, mathtext, new_figure,
                               series_color)

__all__ = ["alpha_sweep_figure", "step_size_figure", "convergence_figure"]


def alpha_sweep_figure(rows: Sequence[dict[str, Any]], min_l1: np.ndarray, min_l2: np.ndarray,
                       *, title: str = "") -> Figure:
    """Distance of the limit to the min-ℓ1 and min-ℓ2 interpolants, and flow-vs-argmin gap, vs α."""
    a = np.array([r["alpha"] for r in rows])
    d1 = [np.max(np.abs(r["argmin"] - min_l1)) for r in rows]
    d2 = [np.max(np.abs(r["argmin"] - min_l2)) for r in rows]
    gap = [max(r["distance"], 1e-17) for r in rows]
    fig = new_figure(9.6, 4.2)
    ax = fig.add_subplot(1, 2, 1)
    ax.loglog(a, d1, "o-", color=series_color(0),
              label=r"$\Vert w_\alpha - w_{\ell_1}\Vert_\infty$")
    ax.loglog(a, d2, "s-", color=series_color(1),
              label=r"$\Vert w_\alpha - w_{\ell_2}\Vert_\infty$")
    ax.set_xlabel(r"initialization scale $\alpha$")
    ax.set_ylabel("distance")
    ax.grid(True, which="both", alpha=0.3)
    legend_below(ax, ncol=2)
    ax = fig.add_subplot(1, 2, 2)
    ax.loglog(a, gap, "d-", color=COLORS["difference"])
    ax.set_xlabel(r"$\alpha$")
    ax.set_ylabel(r"$\Vert$flow limit $-$ argmin $Q_\alpha\Vert_\infty$")
    ax.grid(True, which="both", alpha=0.3)
    fig.suptitle(mathtext(title) if title else r"kernel ($\alpha \to \infty$, min-$\ell_2$) "
                 r"and rich ($\alpha \to 0$, min-$\ell_1$) regimes", fontsize=10)
    return layout(fig)


def step_size_figure(table: dict[str, Any], *, coordinate: int = 0, title: str = "") -> Figure:
    """One coordinate of the measured limit against the step size, with the min-norm value."""
    etas = [r["eta"] for r in table["rows"]]
    vals = [r["limit"][coordinate] for r in table["rows"]]
    fig = new_figure(6.4, 3.8)
    ax = fig.add_subplot(1, 1, 1)
    ax.semilogx(etas, vals, "o-", color=COLORS["iterates"], label="steepest-descent limit")
    ax.axhline(table["min_norm"][coordinate], color=COLORS["derived"], ls="--",
               label=r"min-$\Vert\cdot\Vert_p$ interpolant")
    ax.set_xlabel(r"step size $\eta$")
    ax.set_ylabel(f"$w_{{{coordinate + 1}}}$ at the limit")
    finish(ax, title=title or f"$\\ell_{{{table['p']:g}}}$ steepest descent: the limit "
           r"moves with $\eta$")
    return layout(fig)


def convergence_figure(curves: dict[str, Sequence[float]], *, ylabel: str, title: str = "") -> Figure:
    """Semilog curves against the iteration index (one per label)."""
    fig = new_figure(6.6, 3.8)
    ax = fig.add_subplot(1, 1, 1)
    for i, (label, ys) in enumerate(curves.items()):
        ax.semilogy(np.arange(len(ys)), np.maximum(np.asarray(ys, float), 1e-17),
                    color=series_color(i), label=label)
    ax.set_xlabel("iteration $k$")
    ax.set_ylabel(mathtext(ylabel))
    finish(ax, title=title or None)
    return layout(fig)
