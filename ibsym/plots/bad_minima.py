"""Figure of the bad-minima experiment (Liu, Papailiopoulos & Achlioptas 2020): test accuracy
against the replication R of the adversarial start, and train/test accuracy per combination
of regularizers.

Every function returns a :class:`matplotlib.figure.Figure` and never touches pyplot's global
state; write it with :func:`ibsym.plots.save_figure` (PNG ≥ 200 dpi, a vector PDF/SVG by suffix).
"""
from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from ibsym.plots.style import COLORS, finish, layout, legend_outside, series_color

__all__ = ["bad_minima_figure"]


def bad_minima_figure(result: Any, *, title: str = "") -> Figure:
    """Two panels for a :class:`~ibsym.dynamics.bad_minima.BadMinima`.

    Left: test accuracy of vanilla SGD (black) and of every regularized combination against
    R (log scale), the random start as a dashed line and the acceptance band (3 points below
    it) shaded.  Right: train (hatched) and test accuracy of every run from the largest-R
    adversarial start, with the random start's vanilla run first.
    """
    from ibsym.dynamics.bad_minima import COMBINATIONS, RECOVER_MAX
    Rs = result.replicas
    base = result.run("random")
    fig = Figure(figsize=(11.0, 4.2))
    grid = fig.add_gridspec(1, 2, width_ratios=(1.0, 1.25))   # nine labelled bar groups
    left = fig.add_subplot(grid[0])
    right = fig.add_subplot(grid[1])
    left.axhline(base.test_accuracy, color=COLORS["reference"], ls="--", lw=1.0,
                 label="random start, vanilla SGD")
    left.axhspan(base.test_accuracy - RECOVER_MAX / 100, base.test_accuracy,
                 color=COLORS["minimizers"], alpha=0.3, lw=0, label=f"within {RECOVER_MAX:g} points")
    for i, regs in enumerate(COMBINATIONS):
        pts = [(R, result.run(f"adversarial R={R}", regs).test_accuracy) for R in Rs
               if result._has(f"adversarial R={R}", regs)]
        if not pts:
            continue
        x, y = zip(*pts)
        colour = COLORS["iterates"] if not regs else series_color(i - 1)
        left.plot(x, y, "-o" if len(pts) > 1 else "s", color=colour, ms=4,
                  lw=2.0 if not regs else 1.0, label="+".join(regs) or "vanilla SGD")
    left.set_xscale("log", base=2)
    left.set_xticks(Rs)
    left.set_xticklabels([str(R) for R in Rs])
    left.set_xlabel(r"replication $R$ of the adversarial start")
    left.set_ylabel("test accuracy")
    finish(left, title="test accuracy from adversarial starts", legend=False)
    legend_outside(left, fontsize=7)

    R = max(Rs)
    bars = [("random\nstart", base)] + [
        ("+".join(c) or "vanilla", result.run(f"adversarial R={R}", c))
        for c in COMBINATIONS if result._has(f"adversarial R={R}", c)]
    pos = np.arange(len(bars))
    right.bar(pos - 0.2, [b.train_accuracy for _, b in bars], 0.4, color="white",
              edgecolor=COLORS["iterates"], hatch="//", label="train")
    right.bar(pos + 0.2, [b.test_accuracy for _, b in bars], 0.4,
              color=COLORS["modified_flow"], label="test")
    right.set_xticks(pos)
    short = {"momentum": "mom.", "l2": "L2", "augmentation": "aug."}
    right.set_xticklabels(["\n+".join(short.get(w, w) for w in name.split("+"))
                           for name, _ in bars], fontsize=7)
    lo = min(b.test_accuracy for _, b in bars)
    right.set_ylim(max(0.0, lo - 0.1), 1.01)
    right.set_ylabel("accuracy")
    finish(right, title=f"every run from the adversarial start $R = {R}$", legend=False,
           grid="major")
    legend_outside(right, fontsize=7)
    fig.suptitle(title or "bad global minima that SGD reaches (Liu et al. 2020), digits",
                 fontsize=10)
    return layout(fig)
