"""Figures for deep linear networks: singular-value trajectories, rates, spectra, noise.

Every function returns a :class:`matplotlib.figure.Figure` and never touches pyplot's global
state.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from ibsym.plots.style import (COLORS, finish, layout, legend_outside, new_figure,
                               series_color)

__all__ = ["trajectories", "error_rates", "spectra", "perturbation", "learning_curves"]


def trajectories(sweep: Any, *, h: float | None = None, title: str = "") -> Figure:
    """GD singular values (markers) vs the derived solutions (lines), one panel per depth."""
    h = h if h is not None else sweep.steps[-1]
    depths = sweep.depths
    fig = new_figure(3.2 * len(depths), 3.5)
    for i, n in enumerate(depths):
        ax = fig.add_subplot(1, len(depths), i + 1)
        run, pred = sweep.runs[(n, h)], sweep.predictions[(n, h)]
        every = max(1, len(run.times) // 40)
        for r in range(pred.shape[1]):
            ax.plot(run.times, pred[:, r], "-", color=series_color(r), lw=1.5)
            ax.plot(run.times[::every], run.singular_values[::every, r], "o",
                    color=series_color(r), ms=3, zorder=3)
        ax.set_title(f"depth {n}", fontsize=9)
        ax.set_xlabel("$t$")
        if i == 0:
            ax.set_ylabel("singular values of $W_e$")
        ax.grid(True, alpha=0.3)
    fig.suptitle(title or f"GD ($h = {h:g}$, markers) vs derived $\\sigma_r(t)$ (lines)",
                 fontsize=10)
    return layout(fig)


def error_rates(x: Sequence[float], errors: Sequence[Sequence[float]], labels: Sequence[str],
                slopes: Sequence[float], *, xlabel: str = "step size h",
                ylabel: str = "max error", title: str = "") -> Figure:
    """Log-log error curves with their fitted slopes in the legend (a curve shorter than ``x``
    uses its first values)."""
    fig = new_figure(6.6, 4.0)
    ax = fig.add_subplot()
    x = np.asarray(x, float)
    for k, (e, lab, s) in enumerate(zip(errors, labels, slopes)):
        e = np.asarray(e, float)
        ax.loglog(x[:len(e)], e, "o-", color=series_color(k), label=f"{lab}: slope {s:.2f}")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    finish(ax, title=title, grid="both")
    return layout(fig)


def spectra(experiment: Any, *, top: int = 20, title: str = "") -> Figure:
    """Singular values of the solutions by depth, the nuclear-norm solution and the truth."""
    fig = new_figure(8.4, 4.2)
    ax = fig.add_subplot()
    k = 0
    for row in experiment.rows:
        s = np.asarray(row["singular_values"], float)[:top]
        truth = row["method"] == "ground truth"
        style = "--" if truth else ("s:" if "nuclear" in row["method"] else "o-")
        color = COLORS["derived"] if truth else series_color(k)
        k += 0 if truth else 1
        ax.semilogy(np.arange(1, len(s) + 1), np.maximum(s, 1e-16), style, ms=4, color=color,
                    label=f"{row['method']} (err {row['error']:.2g}, erank "
                          f"{row['effective_rank']:.2f})")
    ax.axvline(experiment.rank + 0.5, color=COLORS["reference"], lw=0.8)
    ax.set_xlabel("index")
    ax.set_ylabel("singular value")
    finish(ax, title=title or experiment.problem, legend=False, grid="both")
    legend_outside(ax, fontsize=7)
    return layout(fig)


def perturbation(experiment: Any, *, title: str = "") -> Figure:
    """Duration of the low-rank phase against the noise level, measured and predicted."""
    fig = new_figure(7.4, 4.0)
    ax = fig.add_subplot()
    depths = sorted({r["depth"] for r in experiment.rows if r["depth"] >= 2})
    for k, n in enumerate(depths):
        rows = [r for r in experiment.rows if r["depth"] == n]
        eps = [r["noise"] for r in rows]
        ax.loglog(eps, [r["duration"] for r in rows], "o-", color=series_color(k),
                  label=f"$N={n}$ measured (slope {experiment.slopes.get(n, float('nan')):.2f})")
        ax.loglog(eps, [r["predicted_duration"] for r in rows], "x:", color=series_color(k),
                  label=f"$N={n}$ aligned prediction")
    ax.set_xlabel(r"noise level $\varepsilon$ ($\|E\| = 1$)")
    ax.set_ylabel("duration of the low-rank phase")
    finish(ax, title=title or "low-rank phase under a noisy target", legend=False, grid="both")
    legend_outside(ax, fontsize=7)
    return layout(fig)


def learning_curves(curves: Sequence[tuple[str, Any, Any]], *, gd: Sequence[tuple[Any, Any]] = (),
                    title: str = "") -> Figure:
    """σ(t)/s for several depths: ``[(label, times, values), ...]``; ``gd`` adds markers."""
    fig = new_figure(7.0, 4.0)
    ax = fig.add_subplot()
    for k, (label, t, v) in enumerate(curves):
        ax.plot(t, v, "-", color=series_color(k), label=label)
        if k < len(gd):
            tg, vg = gd[k]
            every = max(1, len(tg) // 30)
            ax.plot(np.asarray(tg)[::every], np.asarray(vg)[::every], "o", color=series_color(k),
                    ms=3, zorder=3)
    ax.set_xlabel("$t$")
    ax.set_ylabel(r"$\sigma(t)/s$")
    finish(ax, title=title or "learning curves of one mode")
    return layout(fig)
