"""Figures for curvature penalties, ζ-splines and trained wide ReLU networks.

Every function returns a :class:`matplotlib.figure.Figure` and never touches
pyplot's global state.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from ibsym.plots.style import (COLORS, finish, layout, new_figure, reference_slope,
                               series_color)

__all__ = ["penalty_curves", "network_vs_spline", "width_scaling", "trajectory",
           "monte_carlo"]


def penalty_curves(curves: Sequence[tuple[str, Any]], *, xlim: tuple[float, float] = (-3, 3),
                   title: str = "curvature penalty") -> Figure:
    """ζ(x) and 1/ζ (log axis) for several penalties: ``[(label, zeta_callable), ...]``."""
    fig = new_figure(10, 3.6)
    ax1, ax2 = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    x = np.linspace(xlim[0], xlim[1], 601)
    for i, (label, zf) in enumerate(curves):
        z = np.asarray(zf(x), float)
        ax1.plot(x, z, color=series_color(i), label=label)
        with np.errstate(divide="ignore"):
            ax2.semilogy(x, np.where(z > 0, 1 / np.where(z > 0, z, 1), np.nan),
                         color=series_color(i), label=label)
    ax1.set_xlabel("$x$"), ax1.set_ylabel(r"$\zeta(x)$")
    ax2.set_xlabel("$x$"), ax2.set_ylabel(r"$1/\zeta(x)$")
    finish(ax1, title=title, legend=False)
    finish(ax2, title=r"curvature penalty $1/\zeta$")
    return layout(fig)


def network_vs_spline(run: Any, spline: Any, *, index: int = -1, show_zeta: bool = True,
                      extra: Sequence[tuple[str, Any]] = (), title: str = "") -> Figure:
    """Trained network (row ``index`` of a TrainingRun), the ζ-spline g*, their difference, ζ.

    ``extra`` adds ``(label, callable)`` curves (e.g. an independent natural cubic spline).
    """
    grid = run.grid
    network = run.outputs[index]
    x, y = spline.x, spline.y
    zeta = spline.zeta(grid) if show_zeta else None
    spline = spline(grid)
    extra = [(label, np.asarray(f(grid), float)) for label, f in extra]
    rows = 3 if zeta is not None else 2
    fig = new_figure(7.6, 2.4 * rows)
    ax = fig.add_subplot(rows, 1, 1)
    ax.plot(grid, spline, "-", color=COLORS["derived"], lw=2, label="$g^*$ (variational solution)")
    ax.plot(grid, network, "--", color=COLORS["network"], label="trained network")
    for i, (label, v) in enumerate(extra):
        ax.plot(grid, v, ":", color=series_color(i + 2), label=label)
    ax.plot(x, y, "o", color=COLORS["data"], label="data", zorder=4)
    finish(ax, title=title)
    ax2 = fig.add_subplot(rows, 1, 2, sharex=ax)
    ax2.plot(grid, network - spline, color=COLORS["difference"])
    ax2.set_ylabel("network $-$ $g^*$")
    finish(ax2, legend=False)
    if zeta is not None:
        ax3 = fig.add_subplot(rows, 1, 3, sharex=ax)
        ax3.plot(grid, zeta, color=COLORS["zeta"])
        ax3.set_ylabel(r"$\zeta(x)$")
        finish(ax3, legend=False)
    ax.figure.axes[-1].set_xlabel("$x$")
    return layout(fig)


def width_scaling(sweep: Any, *, title: str = "") -> Figure:
    """Log-log plot of ‖f(·,θ*) − g*‖ against the width with the fitted and n^{-1/2} slopes."""
    fig = new_figure(6.8, 4.2)
    ax = fig.add_subplot()
    w = np.asarray(sweep.widths, float)
    for s in range(sweep.errors.shape[1]):
        ax.loglog(w, sweep.errors[:, s], ".", color=COLORS["minimizers"],
                  label="seeds" if s == 0 else None)
    ax.loglog(w, sweep.mean_errors, "o-", color=COLORS["network"],
              label=f"mean over seeds (slope {sweep.slope:.2f})")
    # reference slope above the data (factor 2) and labelled
    reference_slope(ax, w, 2.0 * float(np.max(sweep.errors[0])), -0.5, label="$n^{-1/2}$")
    ax.set_xlabel("width $n$")
    ax.set_ylabel(r"RMS $\|f(\cdot,\theta^*) - g^*\|$")
    finish(ax, title=title or r"trained network vs $\zeta$-spline", grid="both")
    return layout(fig)


def trajectory(comparison: Any, x: np.ndarray, y: np.ndarray, *, title: str = "") -> Figure:
    """Network snapshots f_t (solid) and smoothing splines with λ = 1/(η̄ t) (dashed)."""
    fig = new_figure(7.6, 4.2)
    ax = fig.add_subplot()
    g = comparison.run.grid
    for k, (t, s) in enumerate(zip(comparison.times, comparison.splines)):
        c = series_color(k)
        ax.plot(g, comparison.run.snapshots[int(t)][0], "-", color=c, label=f"network, t={int(t)}")
        ax.plot(g, s(g), "--", color=c, alpha=0.8)
    ax.plot(x, y, "o", color=COLORS["data"], label="data", zorder=4)
    finish(ax, title=title or r"GD trajectory (solid) vs smoothing splines "
           r"$\lambda = 1/(\bar\eta t)$ (dashed)")
    return layout(fig)


def monte_carlo(centers: np.ndarray, estimate: np.ndarray, stderr: np.ndarray,
                grid: np.ndarray, exact: np.ndarray, *, title: str = "") -> Figure:
    """Monte Carlo ζ (breakpoint histogram weighted by W²) against the symbolic ζ."""
    fig = new_figure(7.0, 3.8)
    ax = fig.add_subplot()
    ax.errorbar(centers, estimate, yerr=2 * stderr, fmt=".", color=COLORS["monte_carlo"], ms=3,
                label=r"Monte Carlo ($\pm 2$ s.e.)", zorder=2)
    ax.plot(grid, exact, "-", color=COLORS["derived"], label=r"symbolic $\zeta$", zorder=3)
    ax.set_xlabel("$x$")
    ax.set_ylabel(r"$\zeta(x)$")
    finish(ax, title=title or r"$\zeta$ by simulation")
    return layout(fig)
