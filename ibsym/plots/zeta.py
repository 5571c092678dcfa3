"""Figures for curvature penalties, ζ-splines and trained wide ReLU networks.

Every function returns a :class:`matplotlib.figure.Figure` and never touches
pyplot's global state.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

__all__ = ["penalty_curves", "network_vs_spline", "width_scaling", "trajectory",
           "monte_carlo"]


def penalty_curves(curves: Sequence[tuple[str, Any]], *, xlim: tuple[float, float] = (-3, 3),
                   title: str = "curvature penalty") -> Figure:
    """ζ(x) and 1/ζ (log axis) for several penalties: ``[(label, zeta_callable), ...]``."""
    fig = Figure(figsize=(9, 3.6))
    ax1, ax2 = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    x = np.linspace(xlim[0], xlim[1], 601)
    for label, zf in curves:
        z = np.asarray(zf(x), float)
        ax1.plot(x, z, label=label)
        with np.errstate(divide="ignore"):
            ax2.semilogy(x, np.where(z > 0, 1 / np.where(z > 0, z, 1), np.nan), label=label)
    ax1.set_xlabel("x"), ax1.set_ylabel("ζ(x)"), ax1.set_title(title)
    ax2.set_xlabel("x"), ax2.set_ylabel("1/ζ(x)"), ax2.set_title("curvature penalty 1/ζ")
    for ax in (ax1, ax2):
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


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
    fig = Figure(figsize=(6, 2.4 * rows))
    ax = fig.add_subplot(rows, 1, 1)
    ax.plot(grid, spline, "k-", lw=2, label="g* (variational solution)")
    ax.plot(grid, network, "C1--", label="trained network")
    for label, v in extra:
        ax.plot(grid, v, ":", label=label)
    ax.plot(x, y, "o", color="C3", label="data")
    ax.legend(fontsize=8)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax2 = fig.add_subplot(rows, 1, 2, sharex=ax)
    ax2.plot(grid, network - spline, "C2")
    ax2.set_ylabel("network − g*")
    ax2.grid(True, alpha=0.3)
    if zeta is not None:
        ax3 = fig.add_subplot(rows, 1, 3, sharex=ax)
        ax3.plot(grid, zeta, "C0")
        ax3.set_ylabel("ζ(x)")
        ax3.grid(True, alpha=0.3)
    ax.figure.axes[-1].set_xlabel("x")
    fig.tight_layout()
    return fig


def width_scaling(sweep: Any, *, title: str = "") -> Figure:
    """Log-log plot of ‖f(·,θ*) − g*‖ against the width with the fitted and n^{-1/2} slopes."""
    fig = Figure(figsize=(5.5, 4.2))
    ax = fig.add_subplot()
    w = np.asarray(sweep.widths, float)
    for s in range(sweep.errors.shape[1]):
        ax.loglog(w, sweep.errors[:, s], ".", color="0.6")
    ax.loglog(w, sweep.mean_errors, "o-", color="C0", label=f"mean over seeds (slope {sweep.slope:.2f})")
    ref = sweep.mean_errors[0] * (w / w[0]) ** -0.5
    ax.loglog(w, ref, "k:", label="n^{-1/2}")
    ax.set_xlabel("width n")
    ax.set_ylabel("RMS ‖f(·,θ*) − g*‖")
    ax.set_title(title or "trained network vs ζ-spline")
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    return fig


def trajectory(comparison: Any, x: np.ndarray, y: np.ndarray, *, title: str = "") -> Figure:
    """Network snapshots f_t (solid) and smoothing splines with λ = 1/(η̄ t) (dashed)."""
    fig = Figure(figsize=(6, 4.2))
    ax = fig.add_subplot()
    g = comparison.run.grid
    for k, (t, s) in enumerate(zip(comparison.times, comparison.splines)):
        c = f"C{k % 10}"
        ax.plot(g, comparison.run.snapshots[int(t)][0], "-", color=c, label=f"network, t={int(t)}")
        ax.plot(g, s(g), "--", color=c, alpha=0.8)
    ax.plot(x, y, "ko", label="data")
    ax.set_title(title or "GD trajectory (solid) vs smoothing splines λ=1/(η̄t) (dashed)")
    ax.legend(fontsize=7)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    return fig


def monte_carlo(centers: np.ndarray, estimate: np.ndarray, stderr: np.ndarray,
                grid: np.ndarray, exact: np.ndarray, *, title: str = "") -> Figure:
    """Monte Carlo ζ (breakpoint histogram weighted by W²) against the symbolic ζ."""
    fig = Figure(figsize=(5.5, 3.8))
    ax = fig.add_subplot()
    ax.plot(grid, exact, "k-", label="symbolic ζ")
    ax.errorbar(centers, estimate, yerr=2 * stderr, fmt=".", color="C1", ms=3,
                label="Monte Carlo (±2 s.e.)")
    ax.set_xlabel("x")
    ax.set_ylabel("ζ(x)")
    ax.set_title(title or "ζ by simulation")
    ax.legend(fontsize=8)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    return fig
