"""One look for every ibsym figure: a colour per meaning, legends outside the data,
reference slopes drawn above the data and labelled, mathtext labels.

Meanings, not positions, choose colours: the order-k curve has the same colour in every
error-order figure (:func:`order_color`); discrete iterates are always black markers, the
exact/derived solution always a black line, data red, Monte Carlo orange, ζ blue.

Examples
--------
>>> order_color(0) == order_color(0) and order_color(0) != order_color(1)
True
>>> COLORS["iterates"]
'black'
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

__all__ = ["COLORS", "ORDER_COLORS", "order_color", "series_color", "new_figure",
           "legend_outside", "legend_below", "legend_panel", "reference_slope", "finish",
           "mathtext", "layout"]

import re

_WORD_SCRIPT = re.compile(r"([_^])([A-Za-z]{3,})(?![\w{])")   # h_eff -> h_{eff}
_SCRIPT = re.compile(r"[^\s$(),;:]*[_^](\{[^{}$]*\}|[^\s$(),;:_^{}])[^\s$(),;:]*")


def mathtext(text: str) -> str:
    r"""Words with TeX sub/superscripts outside ``$…$`` become mathtext (``a_{1,ε}`` →
    ``$a_{1,ε}$``), so that no label shows a literal ``_{``.

    Examples
    --------
    >>> mathtext("‖∇L‖_{1,ε} penalized, n^{-1/2} and $x_1$")
    '$‖∇L‖_{1,ε}$ penalized, $n^{-1/2}$ and $x_1$'
    >>> mathtext("h_eff, C_SGD, ∂_jE")
    '$h_{eff}$, $C_{SGD}$, $∂_jE$'
    >>> mathtext("Q_α, ℓ_p and ‖x‖_∞")
    '$Q_α$, $ℓ_p$ and $‖x‖_∞$'
    """
    parts = re.split(r"(\$[^$]*\$)", str(text))
    return "".join(p if p.startswith("$") else _SCRIPT.sub(lambda m: "$" + m.group(0) + "$",
                                                           _WORD_SCRIPT.sub(r"\1{\2}", p))
                   for p in parts)

#: One colour per meaning (the same in all figures).
COLORS: dict[str, str] = {
    "iterates": "black",        # discrete optimizer iterates (markers)
    "derived": "black",         # the derived / exact solution (line)
    "gradient_flow": "#7f7f7f",
    "modified_flow": "#1f77b4",
    "data": "#d62728",
    "network": "#ff7f0e",
    "monte_carlo": "#ff7f0e",
    "zeta": "#1f77b4",
    "difference": "#2ca02c",
    "reference": "#555555",     # reference slopes, guides
    "minimizers": "#bbbbbb",
}

#: Colour of order k (error-order figures), colour-blind-safe (Okabe-Ito), black excluded.
ORDER_COLORS: tuple[str, ...] = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9",
                                 "#D55E00", "#F0E442")


def order_color(k: int) -> str:
    """The colour of order ``k`` in every figure."""
    return ORDER_COLORS[int(k) % len(ORDER_COLORS)]


def series_color(i: int) -> str:
    """Colour of the i-th of several series of the same kind (depths, widths, modes)."""
    return ORDER_COLORS[int(i) % len(ORDER_COLORS)]


def new_figure(width: float = 5.5, height: float = 4.0, **kwargs: Any) -> Figure:
    """A figure of the given size in inches (no layout engine: callers may still add a
    colorbar and call ``tight_layout``); finish it with :func:`layout`."""
    return Figure(figsize=(width, height), **kwargs)


def layout(fig: Figure) -> Figure:
    """``tight_layout`` that makes room for titles, suptitles and outside legends."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)   # "not compatible with tight_layout"
        fig.tight_layout()
    return fig


def legend_outside(ax: Any, *, fontsize: float = 8, **kwargs: Any) -> Any:
    """Legend to the right of the axes, outside the data."""
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return None
    return ax.legend(handles, [mathtext(x) for x in labels], loc="upper left",
                     bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, fontsize=fontsize,
                     frameon=False, **kwargs)


def legend_below(ax: Any, *, fontsize: float = 7, ncol: int = 1, **kwargs: Any) -> Any:
    """Legend under the axes (below the x label), outside the data: for panels side by
    side, where a legend to the right would cover the next panel."""
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return None
    return ax.legend(handles, [mathtext(x) for x in labels], loc="upper center",
                     bbox_to_anchor=(0.5, -0.16), borderaxespad=0.0, fontsize=fontsize,
                     frameon=False, ncol=ncol, **kwargs)


def legend_panel(ax: Any, sources: Sequence[Any], *, fontsize: float = 7, **kwargs: Any) -> Any:
    """One legend for several panels drawn in a blank axes ``ax`` (a grid cell of its own,
    so it covers no data); entries of ``sources`` with the same label appear once."""
    seen: dict[str, Any] = {}
    for src in sources:
        for h, lab in zip(*src.get_legend_handles_labels()):
            seen.setdefault(lab, h)
    ax.set_axis_off()
    if not seen:
        return None
    return ax.legend(list(seen.values()), [mathtext(x) for x in seen], loc="center left",
                     borderaxespad=0.0, fontsize=fontsize, frameon=False, **kwargs)


def reference_slope(ax: Any, x: Sequence[float], anchor: float, slope: float, *,
                    color: str | None = None, label: str | None = None,
                    at: int = 0) -> Any:
    """A dotted reference line y = anchor·(x/x[at])^slope drawn above the data (zorder 5),
    labelled at its right end (default label: ``slope k``)."""
    x = np.asarray(x, float)
    y = anchor * (x / x[at]) ** slope
    color = color or COLORS["reference"]
    (line,) = ax.plot(x, y, ":", color=color, lw=1.4, zorder=5)
    j = int(np.argmax(x))
    ax.annotate(label if label is not None else f"slope {slope:g}", (x[j], y[j]),
                xytext=(4, 0), textcoords="offset points", fontsize=7, color=color,
                va="center", zorder=6, annotation_clip=False)
    return line


def finish(ax: Any, *, title: str | None = None, legend: bool = True, grid: str = "major",
           title_size: float = 9) -> None:
    """Common finish: grid, wrapped title, legend outside."""
    ax.grid(True, which=grid, alpha=0.3)
    if title:
        ax.set_title(mathtext(title), fontsize=title_size, wrap=True)
    if legend:
        legend_outside(ax)
