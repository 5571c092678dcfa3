"""Figures for deep linear networks: singular-value trajectories, rates, spectra, noise.

Every function returns a :class:`matplotlib.figure.Figure` and never touches pyplot's global
state.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

__all__ = ["trajectories", "error_rates", "spectra", "perturbation", "learning_curves"]


def trajectories(sweep: Any, *, h: float | None = None, title: str = "") -> Figure:
    """GD singular values (markers) vs the derived solutions (lines), one panel per depth."""
    h = h if h is not None else sweep.steps[-1]
    depths = sweep.depths
    fig = Figure(figsize=(3.2 * len(depths), 3.3))
    for i, n in enumerate(depths):
        ax = fig.add_subplot(1, len(depths), i + 1)
        run, pred = sweep.runs[(n, h)], sweep.predictions[(n, h)]
        every = max(1, len(run.times) // 40)
        for r in range(pred.shape[1]):
            ax.plot(run.times, pred[:, r], "-", color=f"C{r}", lw=1.5)
            ax.plot(run.times[::every], run.singular_values[::every, r], "o", color=f"C{r}", ms=3)
        ax.set_title(f"depth {n}")
        ax.set_xlabel("t")
        if i == 0:
            ax.set_ylabel("singular values of $W_e$")
        ax.grid(True, alpha=0.3)
    fig.suptitle(title or f"GD (h = {h:g}, markers) vs derived σ_r(t) (lines)")
    fig.tight_layout()
    return fig


def error_rates(x: Sequence[float], errors: Sequence[Sequence[float]], labels: Sequence[str],
                slopes: Sequence[float], *, xlabel: str = "step size h",
                ylabel: str = "max error", title: str = "") -> Figure:
    """Log-log error curves with their fitted slopes in the legend (a curve shorter than ``x``
    uses its first values)."""
    fig = Figure(figsize=(5.2, 4.0))
    ax = fig.add_subplot()
    x = np.asarray(x, float)
    for k, (e, lab, s) in enumerate(zip(errors, labels, slopes)):
        e = np.asarray(e, float)
        ax.loglog(x[:len(e)], e, "o-", color=f"C{k}", label=f"{lab}: slope {s:.2f}")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def spectra(experiment: Any, *, top: int = 20, title: str = "") -> Figure:
    """Singular values of the solutions by depth, the nuclear-norm solution and the truth."""
    fig = Figure(figsize=(6.0, 4.2))
    ax = fig.add_subplot()
    for k, row in enumerate(experiment.rows):
        s = np.asarray(row["singular_values"], float)[:top]
        style = "k--" if row["method"] == "ground truth" else ("s:" if "nuclear" in row["method"]
                                                              else "o-")
        ax.semilogy(np.arange(1, len(s) + 1), np.maximum(s, 1e-16), style, ms=4,
                    label=f"{row['method']} (err {row['error']:.2g}, erank "
                          f"{row['effective_rank']:.2f})")
    ax.axvline(experiment.rank + 0.5, color="grey", lw=0.8)
    ax.set_xlabel("index")
    ax.set_ylabel("singular value")
    ax.set_title(title or experiment.problem)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def perturbation(experiment: Any, *, title: str = "") -> Figure:
    """Duration of the low-rank phase against the noise level, measured and predicted."""
    fig = Figure(figsize=(5.4, 4.0))
    ax = fig.add_subplot()
    depths = sorted({r["depth"] for r in experiment.rows if r["depth"] >= 2})
    for k, n in enumerate(depths):
        rows = [r for r in experiment.rows if r["depth"] == n]
        eps = [r["noise"] for r in rows]
        ax.loglog(eps, [r["duration"] for r in rows], "o-", color=f"C{k}",
                  label=f"N={n} measured (slope {experiment.slopes.get(n, float('nan')):.2f})")
        ax.loglog(eps, [r["predicted_duration"] for r in rows], "x:", color=f"C{k}",
                  label=f"N={n} aligned prediction")
    ax.set_xlabel("noise level ε (‖E‖ = 1)")
    ax.set_ylabel("duration of the low-rank phase")
    ax.set_title(title or "low-rank phase under a noisy target")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def learning_curves(curves: Sequence[tuple[str, Any, Any]], *, gd: Sequence[tuple[Any, Any]] = (),
                    title: str = "") -> Figure:
    """σ(t)/s for several depths: ``[(label, times, values), ...]``; ``gd`` adds markers."""
    fig = Figure(figsize=(5.6, 4.0))
    ax = fig.add_subplot()
    for k, (label, t, v) in enumerate(curves):
        ax.plot(t, v, "-", color=f"C{k}", label=label)
        if k < len(gd):
            tg, vg = gd[k]
            every = max(1, len(tg) // 30)
            ax.plot(np.asarray(tg)[::every], np.asarray(vg)[::every], "o", color=f"C{k}", ms=3)
    ax.set_xlabel("t")
    ax.set_ylabel("σ(t) / s")
    ax.set_title(title or "learning curves of one mode")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
