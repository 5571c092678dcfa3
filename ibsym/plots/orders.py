"""Figures of modified equations: error orders and trajectories."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from ibsym.plots.style import (COLORS, finish, layout, new_figure, order_color,
                               reference_slope)

__all__ = ["error_orders", "trajectories"]


def error_orders(report: Any, *, title: str | None = None) -> Figure:
    """Log-log plot of the global error against h per order, with reference slopes k+1.

    Parameters
    ----------
    report : VerifyReport
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = new_figure(6.4, 4.2)
    ax = fig.add_subplot()
    h = np.asarray(report.step_sizes)
    for k, errs, s in zip(report.orders, report.errors, report.slopes):
        e = np.asarray(errs, float)
        c = order_color(k)
        lab = f"order {k}: slope {s:.2f}" if s is not None else f"order {k}"
        ax.loglog(h, e, "o-", color=c, label=lab, zorder=3)
        ok = np.isfinite(e) & (e > 0)
        if ok.any():
            j = int(np.argmax(np.where(ok, h, -np.inf)))
            # drawn above the data (zorder) and offset above it by a factor 2, labelled
            reference_slope(ax, h, 2.0 * e[j], k + 1, color=c, at=j,
                            label=f"$h^{{{k + 1}}}$")
    ax.set_xticks(list(report.step_sizes))
    ax.set_xticklabels([f"{x:g}" for x in report.step_sizes], fontsize=8)
    ax.minorticks_off()
    ax.set_xlabel("step size $h$")
    ax.set_ylabel(r"max error on $[T/2,\,T]$")
    finish(ax, title=title or f"{report.optimizer}: global error vs $h$ "
           r"(dotted: reference slope $k+1$)", grid="both")
    return layout(fig)


def trajectories(data: dict[str, np.ndarray], *, labels: Sequence[str] = ("a", "b"),
                 title: str = "", manifold: Any = None) -> Figure:
    """Phase-plane picture: discrete iterates vs flows (output of ``numerics.paths``).

    ``manifold`` is an optional callable x ↦ y drawing a curve of minimizers.
    """
    fig = new_figure(6.6, 4.5)
    ax = fig.add_subplot()
    it = data["iterates"]
    keys = sorted(k for k in data if k.startswith("flow_"))
    names = {"flow_0": "gradient flow", "flow_1": "modified flow (order 1)"}
    for k, style in zip(keys, ["--", "-", "-.", ":"]):
        y = data[k]
        order = int(k.split("_")[1]) if k.split("_")[1].isdigit() else 0
        color = COLORS["gradient_flow"] if order == 0 else order_color(order)
        ax.plot(y[:, 0], y[:, 1], style, lw=1.6, color=color,
                label=names.get(k, k.replace("_", " order ")))
    ax.plot(it[:, 0], it[:, 1], ".", color=COLORS["iterates"], ms=5, label="GD iterates",
            zorder=4)
    if manifold is not None:
        lo, hi = ax.get_xlim()
        xs = np.linspace(lo, hi, 200)
        ax.plot(xs, manifold(xs), color=COLORS["minimizers"], lw=0.8, label="minimizers",
                zorder=1)
        ax.set_xlim(lo, hi)
    ax.set_xlabel(f"${labels[0]}$" if labels[0].isidentifier() else labels[0])
    ax.set_ylabel(f"${labels[1]}$" if labels[1].isidentifier() else labels[1])
    finish(ax, title=title)
    return layout(fig)
