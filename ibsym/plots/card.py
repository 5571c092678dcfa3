"""The figure of a :class:`~ibsym.limits.card.BiasCard`: flow verification and geometry.

Returns a :class:`matplotlib.figure.Figure`; never touches pyplot's state.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

__all__ = ["card_figure"]


def card_figure(card: Any) -> Figure:
    """Left: global error vs h of each truncation of the modified flow (the verification).
    Right: the geometry -- coordinates of w0, the implicit-problem solution and the measured
    limit (regression), or the direction error vs t (classification)."""
    fig = Figure(figsize=(9, 3.4))
    ax = fig.add_subplot(1, 2, 1)
    rep = card.flow_verification
    if rep is not None:
        hs = np.asarray(rep.step_sizes, dtype=float)
        for k, errs in zip(rep.orders, rep.errors):
            slope = rep.slopes[list(rep.orders).index(k)]
            label = f"order {k}" + ("" if slope is None else f" (slope {slope:.2f})")
            ax.loglog(hs, np.maximum(np.asarray(errs, dtype=float), 1e-300), "o-", label=label)
        ax.set_xlabel("step size h")
        ax.set_ylabel("max error on [T/2, T]")
        ax.legend()
        ax.grid(True, alpha=0.3)
    else:
        ax.text(0.5, 0.5, "modified flow:\n" + card.face("modified flow")["status"],
                ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
    ax.set_title("finite-step correction of the flow")
    ax = fig.add_subplot(1, 2, 2)
    geo = card.geometry
    if card.kind == "regression":
        i = np.arange(len(card.w0))
        ax.plot(i, card.w0, "s", label="w0", color="C7")
        if geo.solution is not None:
            ax.plot(i, geo.solution, "o", ms=10, mfc="none", label="implicit problem w∞")
        ax.plot(i, geo.measured, "x", ms=8, label=f"iterates after {geo.steps} steps")
        ax.set_xticks(i)
        ax.set_xlabel("coordinate")
        ax.set_ylabel("value")
        ax.legend()
    elif geo.direction_errors is not None:
        ax.loglog(geo.run.t, np.maximum(geo.direction_errors, 1e-300), "-")
        ax.set_xlabel("step t")
        ax.set_ylabel("direction error")
    ax.grid(True, alpha=0.3)
    h_stab = "n/a" if card.threshold is None else f"{card.threshold:.4g}"
    ax.set_title(f"geometry (stability threshold h = {h_stab})")
    fig.suptitle(f"bias card: {card.optimizer}")
    fig.tight_layout()
    return fig
