"""Figures for classification limits: direction error vs log t with its fitted line, margin vs t.

Every function returns a :class:`matplotlib.figure.Figure` and never touches pyplot's state.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from ibsym.plots.style import (finish, layout, legend_below, legend_outside, mathtext,
                               new_figure, series_color)

__all__ = ["margin_convergence_figure", "weight_sweep_figure", "kkt_figure"]


def margin_convergence_figure(results: Sequence[Any], *, title: str = "") -> Figure:
    """Direction error (log-log against log t, with the fitted C·(1/log t)^a) and margin gap vs t.

    ``results`` are :class:`~ibsym.limits.classification.ClassificationBias` records with a
    margin problem.
    """
    fig = new_figure(10.4, 4.8)
    ax1, ax2 = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    for i, r in enumerate(results):
        t, e = r.run.t, r.direction_errors
        keep = (t > 1) & (e > 0)
        c = series_color(i)
        lab = f"{r.optimizer} ($\\ell_{{{r.margin.p}}}$)"
        ax1.loglog(np.log(t[keep]), e[keep], "-", color=c, label=lab)
        f = r.fits.get("1/log t")
        if f is not None:
            lt = np.log(t[keep])
            lt = lt[lt >= 0.5 * lt.max()]                 # the fit window
            ax1.loglog(lt, f["constant"] * lt ** (-f["exponent"]), "--", color=c, lw=1.5,
                       zorder=4, label=f"fit ${f['constant']:.2g}\\,(\\log t)^{{-{f['exponent']:.2f}}}$")
        g = r.margin_gaps
        ax2.loglog(t[g > 0], g[g > 0], "-", color=c, label=lab)
    ax1.set_xlabel(r"$\log t$")
    ax1.set_ylabel(r"$\Vert w_t/\Vert w_t\Vert - \hat w/\Vert\hat w\Vert\Vert$")
    ax1.grid(True, which="both", alpha=0.3)
    legend_below(ax1, ncol=2)
    ax2.set_xlabel("$t$ (steps)")
    ax2.set_ylabel(r"margin gap $\gamma_p - \min_n z_n^\top w_t/\Vert w_t\Vert_p$")
    ax2.grid(True, which="both", alpha=0.3)
    legend_below(ax2, ncol=2)
    fig.suptitle(mathtext(title) if title else "directional convergence to the max-margin "
                 "solution", fontsize=10)
    return layout(fig)


def weight_sweep_figure(sweep: dict[str, Any], *, title: str = "") -> Figure:
    """The direction gap between weighted and unweighted runs against 1/log t."""
    fig = new_figure(7.6, 4.0)
    ax = fig.add_subplot(1, 1, 1)
    t = sweep["t"]
    keep = t > 1
    for i, row in enumerate(sweep["rows"]):
        c = series_color(i)
        ax.loglog(1 / np.log(t[keep]), row["gap"][keep], "-", color=c,
                  label=f"$c$ = {row['weights']}")
        if "predicted_constant" in row:
            x = 1 / np.log(t[keep])
            ax.loglog(x, row["predicted_constant"] * x, ":", color=c, lw=1.2, zorder=4,
                      label=f"derived ${row['predicted_constant']:.3g}/\\log t$")
    ax.set_xlabel(r"$1/\log t$")
    ax.set_ylabel(r"$\Vert u_c(t) - u_1(t)\Vert$")
    finish(ax, grid="both", title=title or r"importance weights: the effect on the direction "
           r"fades as $1/\log t$")
    return layout(fig)


def kkt_figure(runs: Sequence[tuple[str, Any]], *, title: str = "") -> Figure:
    """Normalized margin (after the loss falls below log 2) and KKT stationarity residual
    along runs of a homogeneous model (``runs``: ``(label, run)`` pairs of
    :mod:`ibsym.limits.homogeneous` runs)."""
    fig = new_figure(11.0, 3.8)
    ax1, ax2 = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    for i, (label, r) in enumerate(runs):
        a = r.after_threshold()
        ax1.semilogx(r.t[a], r.normalized_margin[a], "-", color=series_color(i), label=label)
        ok = np.isfinite(r.stationarity) & (r.stationarity > 0)
        ax2.loglog(r.t[ok], r.stationarity[ok], "-", color=series_color(i), label=label)
    ax1.set_xlabel("$t$ (steps)")
    ax1.set_ylabel(r"$q(\theta)/\Vert\theta\Vert^L$  (after $L(\theta) < \log 2$)")
    ax2.set_xlabel("$t$ (steps)")
    ax2.set_ylabel("KKT stationarity residual")
    for ax in (ax1, ax2):
        ax.grid(True, which="both", alpha=0.3)
    legend_outside(ax2, fontsize=7)          # the same runs in both panels: one legend
    if title:
        fig.suptitle(mathtext(title), fontsize=10)
    return layout(fig)
