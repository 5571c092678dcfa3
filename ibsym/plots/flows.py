r"""Figures of modified flows of optimizers with memory or noise: Adam's perturbed one-norm
along the iterates, the strength of the first-order implicit regularizer against the
hyper-parameters, the initial value of a momentum method's flow, and the drift that random
reshuffling adds to SGD.

The derivation scripts compute the curves (NumPy); these functions only draw them, in the
shared style (:mod:`ibsym.plots.style`): the step size ``h`` has one colour per value
(:func:`~ibsym.plots.style.series_color`), discrete iterates are markers, the ``h → 0``
flow is the grey gradient-flow line, legends sit outside the data, labels are mathtext.
Every function returns a :class:`matplotlib.figure.Figure` and never touches pyplot's state.

Examples
--------
>>> import numpy as np
>>> t = np.linspace(0.0, 1.0, 5)
>>> fig = initial_shift_figure(
...     {"beta": 0.7, "h": 0.1, "t": t, "iterates": t, "flow": t + 0.1, "shifted": t,
...      "lag": 0.2},
...     [{"h": 0.1, "t": t, "plain": 1e-2 + t, "shifted": 1e-3 + t}], window=(0.5, 1.0))
>>> [ax.get_yscale() for ax in fig.axes]
['linear', 'log']
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from ibsym.plots.style import (COLORS, finish, layout, legend_below, legend_panel, mathtext,
                               new_figure, series_color)

__all__ = ["one_norm_illustration", "regularization_strength", "initial_shift_figure",
           "sgd_drift_figure"]

#: mathtext of the perturbed one-norm ‖∇E‖_{1,ε}
ONE_NORM = r"$\Vert\nabla E\Vert_{1,\varepsilon}$"


def one_norm_illustration(field: Mapping[str, Any], panels: Sequence[Mapping[str, Any]], *,
                          theta0: Sequence[float], eps: float, loss_text: str = "",
                          coefficient_text: str = "c",
                          minimizers: Callable[[np.ndarray], np.ndarray] | None = None) -> Figure:
    r"""Adam in the parameter plane over the perturbed one-norm, one column per
    hyper-parameter pair; below each, the one-norm along the iterates (solid) and the
    order-1 flow (dotted) minus along the ``h → 0`` flow.

    Parameters
    ----------
    field : mapping
        ``{"a": x-grid, "b": y-grid, "values": one-norm on the grid (len(b) × len(a))}``.
    panels : sequence of mappings
        ``{"beta", "rho", "c", "runs"}`` with ``runs`` a list of ``{"h", "t", "iterates",
        "flow_0", "flow_1", "gap", "gap_flow1"}`` (paths as ``n × 2`` arrays).
    theta0 : the start; eps : ε; loss_text : the loss as printed in the titles;
    coefficient_text : the derived coefficient ``c`` of the one-norm term, as text.
    minimizers : callable, optional
        ``a ↦ b`` on the set of minimizers (drawn as a curve).
    """
    ncol = len(panels)
    fig = new_figure(5.2 * ncol + 2.6, 8.6)
    gs = fig.add_gridspec(2, ncol + 1, width_ratios=[1.0] * ncol + [0.5])
    A, B = np.asarray(field["a"], float), np.asarray(field["b"], float)
    Z = np.asarray(field["values"], float)
    lo, hi = float(Z.min()), float(Z.max())
    levels = lo * (hi / lo) ** (np.arange(15) / 14)               # geometric levels
    tops, bottoms = [], []
    for col, p in enumerate(panels):
        ax = fig.add_subplot(gs[0, col])
        ax2 = fig.add_subplot(gs[1, col])
        tops.append(ax)
        bottoms.append(ax2)
        cs = ax.contourf(A, B, Z, levels=levels, cmap="Blues", alpha=0.45, zorder=0)
        ax.contour(A, B, Z, levels=levels, colors="0.5", linewidths=0.3, zorder=0)
        if minimizers is not None:
            ax.plot(A, minimizers(A), color=COLORS["minimizers"], lw=1.2, zorder=1,
                    label="minimizers")
        runs = list(p["runs"])
        for i, r in enumerate(runs):
            c = series_color(i)
            if i == len(runs) - 1:
                f0 = np.asarray(r["flow_0"])
                ax.plot(f0[:, 0], f0[:, 1], "--", color=COLORS["gradient_flow"], lw=1.3,
                        label=r"$h \to 0$ flow (order 0)", zorder=2)
            f1, it = np.asarray(r["flow_1"]), np.asarray(r["iterates"])
            ax.plot(f1[:, 0], f1[:, 1], "-", color=c, lw=1.3, zorder=2,
                    label=f"order-1 flow, $h = {r['h']:g}$")
            ax.plot(it[::2, 0], it[::2, 1], ".", color=c, ms=3, zorder=3,
                    label=f"Adam iterates, $h = {r['h']:g}$")
            ax2.plot(r["t"], r["gap"], "-", color=c, lw=1.6, label=f"iterates, $h = {r['h']:g}$")
            ax2.plot(r["t"], r["gap_flow1"], ":", color=c, lw=1.4,
                     label=f"order-1 flow, $h = {r['h']:g}$")
        ax.plot([theta0[0]], [theta0[1]], "s", color=COLORS["iterates"], mfc="none", ms=8,
                label=r"$\theta_0$", zorder=4)
        ax.set_xlim(A[0], A[-1])
        ax.set_ylim(B[0], B[-1])
        ax.set_xlabel("$a$")
        ax.set_ylabel("$b$")
        verdict = "penalized" if p["c"] > 0 else "decrease hindered"
        on = f" on {loss_text}" if loss_text else ""
        ax.set_title(f"Adam β = {p['beta']:g}, ρ = {p['rho']:g}, ε = {eps:g}{on}\n"
                     f"c = {coefficient_text} = {p['c']:.3g}: one-norm {verdict}", fontsize=9)
        if col == ncol - 1:
            cb = fig.colorbar(cs, ax=ax, use_gridspec=True)
            cb.set_label(ONE_NORM + r" $= \Sigma_j \sqrt{(\partial_j E)^2 + \varepsilon}$",
                         fontsize=8)
            cb.ax.tick_params(labelsize=7)
        ax2.axhline(0.0, color=COLORS["reference"], lw=0.8)
        ax2.set_xlabel("$t = nh$")
        ax2.set_ylabel(ONE_NORM + r" minus along the $h \to 0$ flow", fontsize=8)
        finish(ax2, legend=False, title=f"β = {p['beta']:g}, ρ = {p['rho']:g}: above 0 the "
               "decrease is hindered,\nbelow 0 the one-norm is penalized")
    legend_panel(fig.add_subplot(gs[0, ncol]), tops)
    legend_panel(fig.add_subplot(gs[1, ncol]), bottoms[:1],
                 title="one-norm along", title_fontsize=7)
    return layout(fig)


def regularization_strength(betas: Sequence[float],
                            two_norm: Sequence[tuple[str, Sequence[float], str]],
                            one_norm: Sequence[tuple[str, Sequence[float], str]], *,
                            reference: tuple[str, Sequence[float]] | None = None,
                            points: Sequence[tuple[str, float, float]] = (),
                            rmsprop: tuple[str, Sequence[float]] | None = None,
                            one_norm_text: str = "c") -> Figure:
    r"""The first-order implicit regularizer's strength against β, read off derived results.

    Left: the two-norm penalty λ/h_eff (``Ẽ ∝ E + λ‖∇E‖²``) per method, ``(label, values,
    linestyle)``, and an optional ``reference`` curve (grey, dotted).  Right: the coefficient
    of Adam's one-norm term for several ρ, ``points`` marked as ``(label, β, value)`` stars,
    and RMSProp's values (β = 0) as triangles.
    """
    fig = new_figure(12.0, 5.6)
    ax, ax2 = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    b = np.asarray(betas, float)
    for i, (label, ys, style) in enumerate(two_norm):
        ax.semilogy(b, ys, style, color=series_color(i), lw=1.8, label=label)
    if reference is not None:
        ax.semilogy(b, reference[1], ":", color=COLORS["reference"], lw=1.4, label=reference[0])
    ax.set_xlabel(r"$\beta$")
    ax.set_ylabel(r"$\lambda / h_{\mathrm{eff}}$  ($\tilde E \propto E + \lambda\Vert\nabla E\Vert^2$)")
    finish(ax, legend=False, grid="both",
           title=r"two-norm penalty at equal effective step $h_{\mathrm{eff}}$" "\n"
                 r"(GD: $h$; heavy ball, Nesterov: $h/(1-\beta)$; EMA: $h$; "
                 r"Adam, $\sqrt{\varepsilon} \gg |\partial E|$: $h/\sqrt{\varepsilon}$)")
    legend_below(ax)
    for i, (label, ys, style) in enumerate(one_norm):
        ax2.plot(b, ys, style, color=series_color(i), lw=1.7, label=label)
    for label, x, y in points:
        ax2.plot([x], [y], "*", color=COLORS["data"], ms=11, label=label, zorder=4)
    if rmsprop is not None:
        ax2.plot(np.zeros(len(rmsprop[1])), rmsprop[1], "v", color=COLORS["iterates"], ms=5,
                 label=rmsprop[0], zorder=4)
    ax2.axhline(0.0, color=COLORS["reference"], lw=0.8)
    ax2.set_yscale("symlog", linthresh=1.0)
    ax2.set_xlabel(r"$\beta$")
    ax2.set_ylabel(r"$c$ = coefficient of $h\,$" + ONE_NORM + " (symlog)")
    finish(ax2, legend=False, title=r"Adam, $\sqrt{\varepsilon} \ll |\partial E|$: one-norm "
           r"term $h\,c\,$" + ONE_NORM + f", $c$ = {one_norm_text}\n$c > 0$: penalized "
           r"($\beta > \rho$); $c < 0$: decrease hindered ($\beta < \rho$)")
    legend_below(ax2, ncol=2)
    return layout(fig)


def initial_shift_figure(lag: Mapping[str, Any], errors: Sequence[Mapping[str, Any]], *,
                         window: tuple[float, float], loss_text: str = "",
                         beta_errors: float | None = None) -> Figure:
    r"""A momentum method's iterates start at rest, so its modified flow starts at a shifted
    value θ̃(0).

    Left (``lag``: ``{"beta", "h", "t", "iterates", "flow", "shifted", "lag"}``, first
    coordinates): the iterates against the order-1 flow from θ_0 and from θ̃(0), with the
    time lag drawn as an arrow.  Right (``errors``: ``[{"h", "t", "plain", "shifted"}]``):
    the distance of the iterates to both flows against t, the order test's ``window``
    shaded.
    """
    fig = new_figure(11.5, 5.4)
    ax, ax2 = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    t = np.asarray(lag["t"], float)
    flow, shifted = np.asarray(lag["flow"], float), np.asarray(lag["shifted"], float)
    ax.plot(t, flow, "--", color=COLORS["gradient_flow"], lw=1.6,
            label=r"order-1 flow from $\theta_0$")
    ax.plot(t, shifted, "-", color=COLORS["modified_flow"], lw=1.6,
            label=r"order-1 flow from $\tilde\theta(0)$")
    ax.plot(t, lag["iterates"], ".", color=COLORS["iterates"], ms=7, zorder=4,
            label=r"iterates $\theta_n$ at $t = nh$")
    mid = len(t) * 2 // 3
    y = float(shifted[mid])
    ax.annotate("", xy=(t[mid] - lag["lag"], y), xytext=(t[mid], y),
                arrowprops={"arrowstyle": "<->", "color": COLORS["reference"]})
    ax.annotate(r"time lag $h\beta/(1-\beta)$", (t[mid] - lag["lag"] / 2, y),
                xytext=(0, 5), textcoords="offset points", ha="center", fontsize=7,
                color=COLORS["reference"], bbox={"fc": "white", "ec": "none", "pad": 1.0})
    ax.set_xlabel("$t = nh$")
    ax.set_ylabel("first coordinate")
    on = f" on {loss_text}" if loss_text else ""
    finish(ax, legend=False, title=f"heavy ball β = {lag['beta']:g}, h = {lag['h']:g}{on}: "
           "the iterates start at rest\nand lag the unshifted flow; the shifted flow "
           "matches them")
    legend_below(ax)
    for i, e in enumerate(errors):
        c = series_color(i)
        te = np.asarray(e["t"], float)
        ax2.semilogy(te[1:], np.asarray(e["plain"])[1:], "--", color=c, lw=1.4,
                     label=fr"$h = {e['h']:g}$, from $\theta_0$")
        ax2.semilogy(te[1:], np.asarray(e["shifted"])[1:], "-", color=c, lw=1.8,
                     label=fr"$h = {e['h']:g}$, from $\tilde\theta(0)$")
    ax2.axvspan(*window, color="0.92", zorder=0, label="window of the order test")
    ax2.set_xlabel("$t = nh$")
    ax2.set_ylabel(r"$\Vert\theta_n - \tilde\theta(nh)\Vert$, order-1 flow")
    b = "" if beta_errors is None else f"β = {beta_errors:g}: "
    finish(ax2, legend=False, grid="both",
           title=f"{b}halving h halves the error without the shift (O(h)),\n"
                 "and quarters it with the shift (O(h²))")
    legend_below(ax2, ncol=2)
    return layout(fig)


def sgd_drift_figure(drift: Sequence[Mapping[str, Any]], distances: Sequence[Mapping[str, Any]],
                     *, runs: int, names: Sequence[str] = ("w_0", "w_1")) -> Figure:
    r"""Random-reshuffling SGD against the flow with its variance term.

    Left (``drift``: ``[{"h", "t", "predicted", "measured", "stderr"}]`` with ``n × d``
    arrays): displacement from the GD-modified flow, predicted (lines) and the Monte-Carlo
    mean of ``runs`` shuffles (markers, ±2 s.e.), one colour per coordinate and step.
    Right (``distances``: ``[{"h", "t", "sgd", "gd", "stderr"}]``): the mean iterate's
    distance to both flows and the Monte-Carlo error, one colour per step size.
    """
    fig = new_figure(12.0, 5.8)
    ax, ax2 = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    markers = "os^D"
    for i, d in enumerate(drift):
        t = np.asarray(d["t"], float)
        pred, got = np.atleast_2d(d["predicted"]), np.atleast_2d(d["measured"])
        se = np.atleast_2d(d["stderr"])
        for j in range(pred.shape[1]):
            c = series_color(len(names) * i + j)
            nm = mathtext(names[j]) if j < len(names) else f"coordinate {j}"
            ax.plot(t, pred[:, j], "-", color=c, lw=1.5,
                    label=fr"$h = {d['h']:g}$, {nm}: $\tilde C_{{\mathrm{{SGD}}}}$ flow")
            ax.errorbar(t, got[:, j], yerr=2 * se[:, j], fmt=markers[j % len(markers)],
                        color=c, ms=3.5, elinewidth=0.8, capsize=1.5,
                        label=fr"$h = {d['h']:g}$, {nm}: Monte-Carlo mean ($\pm 2$ s.e.)")
    ax.axhline(0.0, color=COLORS["reference"], lw=0.7)
    ax.set_xlabel(r"$t$ = epoch $\cdot\, m h$")
    ax.set_ylabel("displacement from the GD-modified flow")
    finish(ax, legend=False, title=r"drift caused by the variance term "
           r"$(h/4m)\,\Sigma_k\Vert\nabla\hat C_k - \nabla C\Vert^2$ (flows to order $h^2$):" "\n"
           f"prediction (lines) vs the mean of {runs} seeded random-shuffle runs (markers)")
    legend_below(ax, ncol=2, fontsize=6)
    for i, d in enumerate(distances):
        c = series_color(i)
        t = np.asarray(d["t"], float)
        ax2.semilogy(t[1:], np.asarray(d["sgd"])[1:], "-", color=c, lw=1.8,
                     label=fr"$h = {d['h']:g}$: vs $\tilde C_{{\mathrm{{SGD}}}}$ flow")
        ax2.semilogy(t[1:], np.asarray(d["gd"])[1:], "--", color=c, lw=1.4,
                     label=fr"$h = {d['h']:g}$: vs GD-modified flow")
        ax2.semilogy(t[1:], np.asarray(d["stderr"])[1:], ":", color=c, lw=1.0,
                     label=fr"$h = {d['h']:g}$: 2 × Monte-Carlo s.e.")
    ax2.set_xlabel(r"$t$ = epoch $\cdot\, m h$")
    ax2.set_ylabel(r"$\Vert$mean iterate $-$ flow$\Vert_\infty$ (flows to order $h^2$)")
    finish(ax2, legend=False, grid="both", title="the mean over random shuffles follows the "
           "flow with the variance term,\nto within the Monte-Carlo error")
    legend_below(ax2, ncol=2, fontsize=6)
    return layout(fig)
