"""Figures for training dynamics: loss and sharpness vs step with the derived stability level.

Every function returns a :class:`matplotlib.figure.Figure` and never touches pyplot's global
state; write it with :func:`ibsym.plots.save_figure`.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from ibsym.plots.style import layout, legend_panel, new_figure, series_color

__all__ = ["edge_of_stability"]


def edge_of_stability(result: Any, *, title: str = "") -> Figure:
    """Two panels per optimizer: training loss (top) and (preconditioned) sharpness (bottom)
    against the step, one colour per step size, the derived level as a dashed line.

    ``result`` is an :class:`~ibsym.dynamics.eos.EdgeOfStability` or a single run.
    """
    runs = list(getattr(result, "runs", (result,)))
    groups: dict[str, list[Any]] = {}
    for r in runs:
        hp = ",".join(f"{k}={v:g}" for k, v in r.hyper.items())
        groups.setdefault(r.optimizer + (f" ({hp})" if hp else ""), []).append(r)
    fig = new_figure(4.2 * len(groups) + 1.6, 6.0)
    gs = fig.add_gridspec(2, len(groups) + 1, width_ratios=[1.0] * len(groups) + [0.38])
    tops = []
    for j, (name, rs) in enumerate(groups.items()):
        top = fig.add_subplot(gs[0, j])
        bottom = fig.add_subplot(gs[1, j], sharex=top)
        tops.append(top)
        for i, r in enumerate(rs):
            col = series_color(i)          # one colour per step size, in both panels
            steps = np.asarray(r.measured_steps)
            top.plot(steps, r.losses, "-", color=col, lw=1.2, label=f"$\\eta = {r.eta:g}$")
            bottom.plot(steps, r.sharpness, "-", color=col, lw=1.2)
            bottom.axhline(r.level, color=col, ls="--", lw=1.0)
        top.set_yscale("log")
        top.set_title(name, fontsize=9)
        top.set_ylabel("training loss")
        top.grid(True, alpha=0.3)
        q = rs[0].quantity
        bottom.set_ylabel(r"$\lambda_{\max}(P^{-1}\nabla^2 L)$" if q != "sharpness"
                          else r"$\lambda_{\max}(\nabla^2 L)$")
        bottom.set_xlabel("step")
        bottom.grid(True, alpha=0.3)
    legend_panel(fig.add_subplot(gs[:, len(groups)]), tops, fontsize=8,
                 title="step size", title_fontsize=8)
    fig.suptitle(title or "edge of stability: sharpness (solid) and\nthe level derived from "
                          "the update rule (dashed)", fontsize=10)
    return layout(fig)
