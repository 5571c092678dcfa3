"""Figures for training dynamics: loss and sharpness vs step with the derived stability level.

Every function returns a :class:`matplotlib.figure.Figure` and never touches pyplot's global
state; write it with :func:`ibsym.plots.save_figure`.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

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
    fig = Figure(figsize=(4.2 * len(groups), 6.0))
    for j, (name, rs) in enumerate(groups.items()):
        top = fig.add_subplot(2, len(groups), j + 1)
        bottom = fig.add_subplot(2, len(groups), len(groups) + j + 1, sharex=top)
        for i, r in enumerate(rs):
            col = f"C{i}"
            steps = np.asarray(r.measured_steps)
            top.plot(steps, r.losses, "-", color=col, lw=1.2, label=f"η = {r.eta:g}")
            bottom.plot(steps, r.sharpness, "-", color=col, lw=1.2)
            bottom.axhline(r.level, color=col, ls="--", lw=1.0)
        top.set_yscale("log")
        top.set_title(name)
        top.set_ylabel("training loss")
        top.legend(fontsize=8)
        top.grid(True, alpha=0.3)
        q = rs[0].quantity
        bottom.set_ylabel(r"$\lambda_{\max}(P^{-1}\nabla^2 L)$" if q != "sharpness"
                          else r"$\lambda_{\max}(\nabla^2 L)$")
        bottom.set_xlabel("step")
        bottom.grid(True, alpha=0.3)
    fig.suptitle(title or "edge of stability: sharpness (solid) and the level derived from "
                          "the update rule (dashed)", fontsize=10)
    fig.tight_layout()
    return fig
