"""Every plotting function of ibsym.plots, drawn from small inputs (issue 14, figures for
papers): no text of the figure shows a literal TeX sub/superscript outside ``$…$`` (titles,
suptitle, axis labels, tick labels, legend texts and titles, annotations, colorbar labels),
and no legend covers a data point (legend boxes against the data in display coordinates)
or leaves the figure.  ``test_every_plotting_function_is_covered`` keeps the list complete.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from types import SimpleNamespace

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.text import Text

import ibsym.plots

# ---------------------------------------------------------------------------------- inputs


def _report(orders=(0, 1, 2)):
    h = [0.04, 0.02, 0.01, 0.005]
    errs = [[3e-2 * (x / 0.04) ** (k + 1) for x in h] for k in orders]
    return SimpleNamespace(step_sizes=h, orders=list(orders), errors=errs,
                           slopes=[k + 1.0 for k in orders], optimizer="gd")


def _card(kind):
    t = np.geomspace(1, 1e4, 30)
    geo = SimpleNamespace(solution=np.array([0.5, -0.25, 1.0]), measured=np.array([0.49, -0.26, 1.0]),
                          steps=1000, direction_errors=1 / np.log(t + 2), run=SimpleNamespace(t=t))
    return SimpleNamespace(flow_verification=_report((0, 1)), kind=kind, geometry=geo,
                           w0=np.array([0.1, -0.2, 0.3]), threshold=1.5, optimizer="gd",
                           face=lambda name: {"status": "ok"})


def _eos():
    steps = np.arange(0, 200, 1)       # at the edge of stability the loss oscillates
    runs = [SimpleNamespace(hyper={}, optimizer="gd", eta=eta, measured_steps=steps,
                            losses=10.0 ** (1.5 * np.sin(steps * (1 + eta))), level=2 / eta,
                            sharpness=2 / eta * (1 + 0.3 * np.sin(steps / 3 + eta)),
                            quantity="sharpness")
            for eta in (0.4, 0.5)]
    return SimpleNamespace(runs=runs)


def _classification(p, opt):
    t = np.geomspace(1, 1e5, 60)
    lt = np.log(t[t > 1])
    return SimpleNamespace(run=SimpleNamespace(t=t), direction_errors=1 / np.log(t + 2),
                           margin=SimpleNamespace(p=p), optimizer=opt,
                           fits={"1/log t": {"constant": 1.1, "exponent": 1.0}} if lt.size else {},
                           margin_gaps=0.5 / (1 + t))


def _homogeneous(scale):
    t = np.geomspace(1, 1e4, 200)
    return SimpleNamespace(t=t, after_threshold=lambda: t > 10,
                           normalized_margin=scale * (1 + 0.5 * np.sin(3 * np.log(t))),
                           stationarity=10.0 ** (-2 * np.sin(2 * np.log(t)) ** 2) / scale)


def _spectral_sweep():
    times = np.linspace(0, 5, 60)
    pred = np.c_[1 - np.exp(-times), 0.5 * (1 - np.exp(-2 * times))]
    runs = {(n, 0.1): SimpleNamespace(times=times, singular_values=pred * 1.01) for n in (1, 2)}
    return SimpleNamespace(steps=[0.1], depths=[1, 2], runs=runs,
                           predictions={(n, 0.1): pred for n in (1, 2)})


def _spectra():
    rows = [{"method": m, "singular_values": np.geomspace(1, 1e-6, 8) * (1 + i),
             "error": 0.1 * i, "effective_rank": 1.0 + i}
            for i, m in enumerate(("ground truth", "depth 2", "depth 3", "nuclear norm"))]
    return SimpleNamespace(rows=rows, rank=2, problem="completion n=8 rank 2")


def _perturbation():
    rows = [{"depth": n, "noise": e, "duration": n / e ** 0.5, "predicted_duration": n / e ** 0.5}
            for n in (2, 3) for e in (1e-3, 1e-2, 1e-1)]
    return SimpleNamespace(rows=rows, slopes={2: -0.5, 3: -0.5})


class _Spline:
    x = np.array([-1.0, 0.0, 1.0])
    y = np.array([0.5, -0.5, 0.5])

    def __call__(self, g):
        return np.interp(g, self.x, self.y)

    def zeta(self, g):
        return np.exp(-np.asarray(g) ** 2)


def _zeta_run():
    grid = np.linspace(-2, 2, 80)
    return SimpleNamespace(grid=grid, outputs=[np.interp(grid, _Spline.x, _Spline.y) + 0.01],
                           snapshots={10: [np.sin(grid)], 100: [np.cos(grid)]})


def _one_norm_inputs():
    a, b = np.linspace(0.4, 1.3, 12), np.linspace(1.6, 2.5, 12)
    Z = 1 + np.add.outer(b, a)
    t = np.linspace(0, 1.5, 20)
    path = np.c_[np.linspace(1.2, 0.6, 20), np.linspace(2.4, 1.7, 20)]
    runs = [{"h": h, "t": t, "iterates": path + h, "flow_0": path, "flow_1": path + h / 2,
             "gap": h * np.sin(t), "gap_flow1": 0.9 * h * np.sin(t)} for h in (0.005, 0.01)]
    panels = [{"beta": 0.6, "rho": 0.9, "c": -3.0, "runs": runs},
              {"beta": 0.9, "rho": 0.6, "c": 3.0, "runs": runs}]
    return {"a": a, "b": b, "values": Z}, panels


def _bad_minima():
    from ibsym.dynamics.bad_minima import (COMBINATIONS, AdversarialStart, BadMinima,
                                           BadMinimaRun)
    base = 0.937
    runs = [BadMinimaRun("random", 0, (), 1.0, base, 8.0, 620.0, 186.0, 400, 0.01, 0.2)]
    for R, acc in ((1, 0.91), (4, 0.87), (16, 0.80)):
        runs += [BadMinimaRun(f"adversarial R={R}", R, c, 1.0, acc + 0.05 * len(c), 5.0,
                              900.0 * R, 450.0 * R, 400, 0.01, 0.3 * R) for c in COMBINATIONS]
    starts = tuple(AdversarialStart(R, 200 * R, 0.99, 0.1, 1000.0 * R, 150) for R in (1, 4, 16))
    return BadMinima(tuple(runs), {"size": "default"}, starts)


def cases():
    """``name -> zero-argument callable`` drawing one figure of each plotting function."""
    from ibsym.plots import (bad_minima, card, dynamics, flows, limits, margins, orders, spectral,
                             zeta)
    x = np.linspace(-2, 2, 40)
    betas = np.linspace(0, 0.95, 20)
    t = np.linspace(0, 1, 30)
    field, panels = _one_norm_inputs()
    sweep = SimpleNamespace(widths=[100, 400, 1600], errors=np.array([[0.1, 0.12], [0.05, 0.06],
                                                                      [0.025, 0.03]]),
                            mean_errors=np.array([0.11, 0.055, 0.0275]), slope=-0.5)
    alpha_rows = [{"alpha": a, "argmin": np.array([a, 1 - a]), "distance": 1e-12 * a}
                  for a in (0.01, 0.1, 1.0, 10.0)]
    tw = np.geomspace(2, 1e5, 40)
    c = {
        "bad_minima.bad_minima_figure": lambda: bad_minima.bad_minima_figure(_bad_minima()),
        "card.card_figure[regression]": lambda: card.card_figure(_card("regression")),
        "card.card_figure[classification]": lambda: card.card_figure(_card("classification")),
        "dynamics.edge_of_stability": lambda: dynamics.edge_of_stability(_eos()),
        "flows.one_norm_illustration": lambda: flows.one_norm_illustration(
            field, panels, theta0=[1.2, 2.4], eps=0.1, loss_text="(ab−1)²/2",
            coefficient_text="(β − ρ)/((1 − β)(1 − ρ))", minimizers=lambda a: 1 / a),
        "flows.regularization_strength": lambda: flows.regularization_strength(
            betas, [("GD: 1/4", 0.25 + 0 * betas, "-"), ("heavy ball, h_eff = h/(1−β)",
                                                         (1 + betas) / 4 / (1 - betas), "-")],
            [("Adam, ρ = 0.9", (betas - 0.9) / (1 - betas) / 0.1, "-")],
            reference=("heavy ball at the same h", (1 + betas) / 4 / (1 - betas) ** 2),
            points=[("PyTorch default", 0.9, -90.0)], rmsprop=("RMSProp", [-1.0, -9.0]),
            one_norm_text="(β − ρ)/((1 − β)(1 − ρ))"),
        "flows.initial_shift_figure": lambda: flows.initial_shift_figure(
            {"beta": 0.7, "h": 0.005, "t": t, "iterates": t ** 2 + 0.01, "flow": t ** 2 + 0.05,
             "shifted": t ** 2, "lag": 0.01},
            [{"h": h, "t": t, "plain": h * (1 + t), "shifted": h * h * (1 + t)}
             for h in (0.004, 0.002)], window=(0.5, 1.0), loss_text="(ab−1)²/2"),
        "flows.sgd_drift_figure": lambda: flows.sgd_drift_figure(
            [{"h": h, "t": t, "predicted": np.c_[h * t, -h * t], "measured": np.c_[h * t, -h * t],
              "stderr": np.c_[0 * t + 1e-4, 0 * t + 1e-4]} for h in (0.04, 0.02)],
            [{"h": h, "t": t, "sgd": 1e-5 + 0 * t, "gd": h * (1 + t), "stderr": 2e-5 + 0 * t}
             for h in (0.04, 0.02)], runs=100),
        "limits.alpha_sweep_figure": lambda: limits.alpha_sweep_figure(
            alpha_rows, np.array([0.0, 1.0]), np.array([0.5, 0.5])),
        "limits.step_size_figure": lambda: limits.step_size_figure(
            {"rows": [{"eta": e, "limit": [1 + e, 0.0]} for e in (0.01, 0.1, 1.0)],
             "min_norm": [1.0, 0.0], "p": 4 / 3}),
        "limits.convergence_figure": lambda: limits.convergence_figure(
            {"GD": np.geomspace(1, 1e-12, 30), "Adam": np.geomspace(1, 1e-2, 30)},
            ylabel="‖N^T(w_k − w_0)‖_∞ (null-space part)", title="w_{k} null space"),
        "margins.margin_convergence_figure": lambda: margins.margin_convergence_figure(
            [_classification(2, "gd"), _classification(1, "coordinate-descent")],
            title="ℓ_p max-margin directions"),
        "margins.weight_sweep_figure": lambda: margins.weight_sweep_figure(
            {"t": tw, "rows": [{"weights": "(1, 1)", "gap": 0 * tw + 1e-9},
                               {"weights": "(1, 4)", "gap": 0.5 / np.log(tw),
                                "predicted_constant": 0.5}]}),
        "margins.kkt_figure": lambda: margins.kkt_figure(
            [("diagonal net L=2", _homogeneous(1.0)), ("ReLU net", _homogeneous(0.5))],
            title="normalized margin q_{min}"),
        "orders.error_orders": lambda: orders.error_orders(_report()),
        "orders.trajectories": lambda: orders.trajectories(
            {"iterates": np.c_[x, x ** 2], "flow_0": np.c_[x, x ** 2], "flow_1": np.c_[x, x]},
            title="GD on a_{1}", manifold=lambda s: 1 + 0 * s),
        "spectral.trajectories": lambda: spectral.trajectories(_spectral_sweep()),
        "spectral.error_rates": lambda: spectral.error_rates(
            [0.1, 0.05, 0.025], [[1e-2, 5e-3, 2.5e-3], [1e-3, 2.5e-4]], ["depth 2", "N^{3}"],
            [1.0, 2.0], title="error of σ_{r}"),
        "spectral.spectra": lambda: spectral.spectra(_spectra()),
        "spectral.perturbation": lambda: spectral.perturbation(_perturbation()),
        "spectral.learning_curves": lambda: spectral.learning_curves(
            [("N = 2", t, t), ("N = 3", t, t ** 2)], gd=[(t, t)]),
        "zeta.penalty_curves": lambda: zeta.penalty_curves(
            [("W,B ~ N(0,1)", lambda s: np.exp(-s ** 2)), ("designed ϱ", lambda s: 1 + 0 * s)]),
        "zeta.network_vs_spline": lambda: zeta.network_vs_spline(
            _zeta_run(), _Spline(), extra=[("natural cubic spline", _Spline())]),
        "zeta.width_scaling": lambda: zeta.width_scaling(sweep),
        "zeta.trajectory": lambda: zeta.trajectory(
            SimpleNamespace(run=_zeta_run(), times=[10, 100], splines=[_Spline(), _Spline()]),
            _Spline.x, _Spline.y),
        "zeta.monte_carlo": lambda: zeta.monte_carlo(x, np.exp(-x ** 2), 0.01 + 0 * x, x,
                                                     np.exp(-x ** 2)),
    }
    return c


#: modules of ibsym.plots drawn by tests of their own owner (a new module is covered here
#: once its inputs are written; ``test_every_plotting_function_is_covered`` lists the gaps)
ELSEWHERE: set[str] = set()

# -------------------------------------------------------------------------------- checks

_MATH = re.compile(r"(?<!\\)\$(?:[^$\\]|\\.)*\$")


def literal_scripts(text: str) -> list[str]:
    """Pieces of ``text`` outside ``$…$`` that matplotlib would print literally:
    ``_{`` / ``^{`` and any ``_x`` / ``^x`` glued to a word (``θ_0``, ``w_α``)."""
    outside = _MATH.sub(" ", text)
    return re.findall(r"[_^]\{|(?<=\S)[_^](?=\S)", outside)


def figure_texts(fig: Figure) -> list[tuple[str, str]]:
    """(where, text) of every visible text of a drawn figure."""
    out: list[tuple[str, str]] = []
    seen: set[int] = set()

    def add(where, t):
        if t is not None and id(t) not in seen and t.get_visible() and t.get_text():
            seen.add(id(t))
            out.append((where, t.get_text()))

    for t in fig.texts:
        add("figure text", t)
    add("suptitle", getattr(fig, "_suptitle", None))
    for legend in fig.legends:
        for t in legend.get_texts():
            add("figure legend", t)
        add("figure legend title", legend.get_title())
    for i, ax in enumerate(fig.axes):
        for title in (ax.title, getattr(ax, "_left_title", None), getattr(ax, "_right_title", None)):
            add(f"axes {i} title", title)
        add(f"axes {i} x label", ax.xaxis.label)
        add(f"axes {i} y label", ax.yaxis.label)
        for t in ax.get_xticklabels(which="both") + ax.get_yticklabels(which="both"):
            add(f"axes {i} tick label", t)
        for t in ax.texts:
            add(f"axes {i} annotation", t)
        leg = ax.get_legend()
        if leg is not None:
            for t in leg.get_texts():
                add(f"axes {i} legend", t)
            add(f"axes {i} legend title", leg.get_title())
    for t in fig.findobj(Text):        # anything else: offset texts, colorbar labels, ...
        add("text", t)
    return out


def _densify(xy: np.ndarray, n: int = 24) -> np.ndarray:
    """Points along a polyline (display coordinates), ``n`` per segment."""
    xy = xy[np.all(np.isfinite(xy), axis=1)]
    if len(xy) < 2:
        return xy
    s = np.linspace(0.0, 1.0, n, endpoint=False)[:, None, None]
    pts = xy[:-1][None] + s * (xy[1:] - xy[:-1])[None]
    return np.vstack([pts.reshape(-1, 2), xy[-1:]])


def data_points(ax) -> np.ndarray:
    """Display coordinates of the data drawn in ``ax`` and visible inside it: lines (with
    their segments), markers, scatter points and error bars."""
    pts = []
    for ln in ax.get_lines():
        if not ln.get_visible() or len(ln.get_xydata()) == 0:
            continue
        xy = ln.get_transform().transform(np.asarray(ln.get_xydata(), float))
        pts.append(_densify(xy) if ln.get_linestyle() not in ("None", "", " ") else xy)
    for col in ax.collections:
        if isinstance(col, PathCollection) and len(col.get_offsets()):
            pts.append(col.get_offset_transform().transform(np.asarray(col.get_offsets(), float)))
        elif isinstance(col, LineCollection):
            for seg in col.get_segments():
                if len(seg):
                    pts.append(_densify(col.get_transform().transform(np.asarray(seg, float))))
    if not pts:
        return np.zeros((0, 2))
    p = np.vstack(pts)
    p = p[np.all(np.isfinite(p), axis=1)]
    bb = ax.bbox
    inside = (p[:, 0] >= bb.x0) & (p[:, 0] <= bb.x1) & (p[:, 1] >= bb.y0) & (p[:, 1] <= bb.y1)
    return p[inside]


def legend_problems(fig: Figure) -> list[str]:
    """Legends that cover a data point of any axes, or stick out of the figure."""
    renderer = fig.canvas.get_renderer()
    legends = [(f"axes {i}", ax.get_legend()) for i, ax in enumerate(fig.axes)]
    legends += [("figure", leg) for leg in fig.legends]
    data = [(i, data_points(ax)) for i, ax in enumerate(fig.axes)]
    bad = []
    fb = fig.bbox
    for where, leg in legends:
        if leg is None or not leg.get_visible():
            continue
        lb = leg.get_window_extent(renderer)
        if lb.x0 < fb.x0 - 1 or lb.y0 < fb.y0 - 1 or lb.x1 > fb.x1 + 1 or lb.y1 > fb.y1 + 1:
            bad.append(f"{where}: legend outside the figure {lb.bounds} vs {fb.bounds}")
        for i, p in data:
            hit = ((p[:, 0] > lb.x0) & (p[:, 0] < lb.x1) & (p[:, 1] > lb.y0) & (p[:, 1] < lb.y1))
            if hit.any():
                bad.append(f"{where}: legend covers {int(hit.sum())} data points of axes {i}")
    return bad


def draw(fig: Figure) -> Figure:
    FigureCanvasAgg(fig)
    fig.canvas.draw()
    return fig


# --------------------------------------------------------------------------------- tests


@pytest.mark.parametrize("name", list(cases()))
def test_no_literal_tex_and_no_legend_on_the_data(name):
    fig = draw(cases()[name]())
    assert isinstance(fig, Figure)
    literal = [(w, s) for w, s in figure_texts(fig) if literal_scripts(s)]
    assert not literal, (name, literal)
    assert not legend_problems(fig), (name, legend_problems(fig))
    renderer, fb = fig.canvas.get_renderer(), fig.bbox
    titles = [fig._suptitle] + [t for ax in fig.axes for t in (ax.title, ax.xaxis.label,
                                                                ax.yaxis.label)]
    for t in titles:                              # titles and axis labels are not clipped
        if t is not None and t.get_visible() and t.get_text():
            tb = t.get_window_extent(renderer)
            assert (fb.x0 - 1 <= tb.x0 and tb.x1 <= fb.x1 + 1 and fb.y0 - 1 <= tb.y0
                    and tb.y1 <= fb.y1 + 1), (name, t.get_text(), tb.bounds, fb.bounds)
    assert not tick_overlaps(fig), (name, tick_overlaps(fig))


def tick_overlaps(fig: Figure) -> list[str]:
    """Pairs of neighbouring tick labels of one axis whose boxes overlap ("random start"
    printed into "vanilla")."""
    renderer, bad = fig.canvas.get_renderer(), []
    for i, ax in enumerate(fig.axes):
        for axis in (ax.xaxis, ax.yaxis):
            boxes = [(t.get_window_extent(renderer), t.get_text())
                     for t in axis.get_ticklabels() if t.get_visible() and t.get_text()]
            for (a, ta), (b, tb) in zip(boxes, boxes[1:]):
                if a.overlaps(b) and a.width > 0 and b.width > 0:
                    bad.append(f"axes {i}: tick labels {ta!r} and {tb!r} overlap")
    return bad


def test_every_plotting_function_is_covered():
    covered = {k.split("[")[0] for k in cases()}
    missing = []
    for mod in pkgutil.iter_modules(ibsym.plots.__path__):
        if mod.name in ("style",) or mod.name in ELSEWHERE:
            continue
        m = importlib.import_module(f"ibsym.plots.{mod.name}")
        for fname in getattr(m, "__all__", ()):
            f = getattr(m, fname)
            if inspect.isfunction(f) and f"{mod.name}.{fname}" not in covered:
                missing.append(f"{mod.name}.{fname}")
    assert not missing, f"plotting functions without a case in cases(): {missing}"


def test_the_checks_catch_a_literal_subscript_and_a_legend_on_the_data():
    assert literal_scripts("‖∇E‖_{1,ε} and n^{-1/2}") == ["_{", "^{"]
    assert literal_scripts("θ_0 and w_α") == ["_", "_"]
    assert literal_scripts(r"$\Vert\nabla E\Vert_{1,\varepsilon}$ and $\theta_0$, x = 1") == []
    assert literal_scripts("heavy-ball (β=0.5) t = n h, 1e-3") == []
    fig = Figure(figsize=(4, 3))
    ax = fig.add_subplot()
    x = np.linspace(0, 1, 50)
    ax.plot(x, x, label="y = x")
    ax.plot(x, 1 - x, label="y = 1 − x")
    ax.legend(loc="center")                                   # on both lines' crossing
    ax.set_title("‖∇E‖_{1,ε}")
    draw(fig)
    assert any("legend covers" in p for p in legend_problems(fig))
    assert [s for _, s in figure_texts(fig) if literal_scripts(s)] == ["‖∇E‖_{1,ε}"]
