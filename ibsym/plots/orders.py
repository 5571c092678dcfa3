"""Figures of modified equations: error orders and trajectories."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

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
    fig = Figure(figsize=(5.5, 4.2))
    ax = fig.add_subplot()
    h = np.asarray(report.step_sizes)
    colors = ["C0", "C1", "C2", "C3", "C4", "C5", "C6"]
    for i, (k, errs, s) in enumerate(zip(report.orders, report.errors, report.slopes)):
        e = np.asarray(errs, float)
        c = colors[i % len(colors)]
        lab = f"order {k}: slope {s:.2f}" if s is not None else f"order {k}"
        ax.loglog(h, e, "o-", color=c, label=lab)
        ok = np.isfinite(e)
        if ok.any():
            j = int(np.argmax(np.where(ok, h, -np.inf)))
            ref = e[j] * (h / h[j]) ** (k + 1)
            ax.loglog(h, ref, ":", color=c, alpha=0.7)
    ax.set_xticks(list(report.step_sizes))
    ax.set_xticklabels([f"{x:g}" for x in report.step_sizes], fontsize=8)
    ax.minorticks_off()
    ax.set_xlabel("step size h")
    ax.set_ylabel("max error on [T/2, T]")
    ax.set_title(title or f"{report.optimizer}: global error vs h (dotted: slope k+1)",
                 fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    return fig


def trajectories(data: dict[str, np.ndarray], *, labels: Sequence[str] = ("a", "b"),
                 title: str = "", manifold: Any = None) -> Figure:
    """Phase-plane picture: discrete iterates vs flows (output of ``numerics.paths``).

    ``manifold`` is an optional callable x ↦ y drawing a curve of minimizers.
    """
    fig = Figure(figsize=(5.5, 4.5))
    ax = fig.add_subplot()
    it = data["iterates"]
    keys = sorted(k for k in data if k.startswith("flow_"))
    names = {"flow_0": "gradient flow", "flow_1": "modified flow (order 1)"}
    for k, style in zip(keys, ["--", "-", "-.", ":"]):
        y = data[k]
        ax.plot(y[:, 0], y[:, 1], style, lw=1.6, label=names.get(k, k.replace("_", " order ")))
    ax.plot(it[:, 0], it[:, 1], "k.", ms=5, label="GD iterates")
    if manifold is not None:
        lo, hi = ax.get_xlim()
        xs = np.linspace(lo, hi, 200)
        ax.plot(xs, manifold(xs), color="0.6", lw=0.8, label="minimizers")
        ax.set_xlim(lo, hi)
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
