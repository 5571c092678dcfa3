"""The figure of a :class:`~ibsym.limits.card.BiasCard`: flow verification and geometry.

Returns a :class:`matplotlib.figure.Figure`; never touches pyplot's state.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from ibsym.plots.style import (COLORS, finish, layout, legend_below, new_figure, order_color,
                               reference_slope)

__all__ = ["card_figure"]


def card_figure(card: Any) -> Figure:
    """Left: global error vs h of each truncation of the modified flow (the verification).
    Right: the geometry -- coordinates of w0, the implicit-problem solution and the measured
    limit (regression), or the direction error vs t (classification)."""
    fig = new_figure(9.6, 4.6)
    ax = fig.add_subplot(1, 2, 1)
    rep = card.flow_verification
    if rep is not None:
        hs = np.asarray(rep.step_sizes, dtype=float)
        for k, errs in zip(rep.orders, rep.errors):
            slope = rep.slopes[list(rep.orders).index(k)]
            label = f"order {k}" + ("" if slope is None else f" (slope {slope:.2f})")
            e = np.maximum(np.asarray(errs, dtype=float), 1e-300)
            ax.loglog(hs, e, "o-", color=order_color(k), label=label, zorder=3)
            ok = np.isfinite(e) & (e > 1e-300)
            if ok.any():      # the expected slope k+1, above the data and labelled
                j = int(np.argmax(np.where(ok, hs, -np.inf)))
                reference_slope(ax, hs, 2.0 * e[j], k + 1, color=order_color(k), at=j,
                                label=f"$h^{{{k + 1}}}$")
        ax.set_xticks(list(hs))
        ax.set_xticklabels([f"{x:g}" for x in hs], fontsize=8)
        ax.minorticks_off()
        ax.set_xlabel("step size $h$")
        ax.set_ylabel(r"max error on $[T/2,\,T]$")
        ax.grid(True, which="both", alpha=0.3)
        legend_below(ax)
    else:
        ax.text(0.5, 0.5, "modified flow:\n" + card.face("modified flow")["status"],
                ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
    ax.set_title("finite-step correction of the flow", fontsize=9)
    ax = fig.add_subplot(1, 2, 2)
    geo = card.geometry
    if card.kind == "regression":
        i = np.arange(len(card.w0))
        ax.plot(i, card.w0, "s", label="$w_0$", color=COLORS["minimizers"])
        if geo.solution is not None:
            ax.plot(i, geo.solution, "o", ms=10, mfc="none", color=COLORS["derived"],
                    label=r"implicit problem $w_\infty$")
        ax.plot(i, geo.measured, "x", ms=8, color=COLORS["data"],
                label=f"iterates after {geo.steps} steps")
        ax.set_xticks(i)
        ax.set_xlabel("coordinate")
        ax.set_ylabel("value")
        legend_below(ax)
    elif geo.direction_errors is not None:
        ax.loglog(geo.run.t, np.maximum(geo.direction_errors, 1e-300), "-",
                  color=COLORS["iterates"])
        ax.set_xlabel("step $t$")
        ax.set_ylabel("direction error")
    h_stab = "n/a" if card.threshold is None else f"{card.threshold:.4g}"
    finish(ax, legend=False, title=f"geometry (stability threshold h = {h_stab})")
    fig.suptitle(f"bias card: {card.optimizer}", fontsize=10)
    return layout(fig)
