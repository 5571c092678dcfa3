r"""Wide shallow ReLU networks in NumPy: sampling, Monte Carlo ζ, vectorized GD training.

The network of Jin & Montúfar's theorem, with a skip connection:

.. math:: f(x, \theta) = \sum_{i=1}^n a_i\,[w_i x + b_i]_+ + u x + v ,

first layer ``(w_i, b_i) ~ p_{W,B}`` (:mod:`ibsym.wide_relu.densities`), anti-symmetric
initialization (neurons come in pairs with output weights ``±a_i``, so
``f(·, θ0) ≡ 0``), ``a_i ~ N(0, 1/n)``, standard parametrization: every hidden
parameter moves with step ``η̄ / n`` on the loss ``½ Σ_j (f(x_j) - y_j)²``
(``η̄`` is the effective learning rate).  The skip connection is unpenalized:
``skip="projected"`` (default) keeps ``(u, v)`` at its least-squares optimum after
every step (the limit of a fast skip learning rate), ``skip="gd"`` trains it by GD
with step ``skip_lr · η̄``.

Many networks (several widths × seeds) are trained *at once*: their neurons are
concatenated and per-network sums use ``np.add.reduceat`` (:func:`train_networks`).

Examples
--------
>>> import numpy as np
>>> from ibsym.wide_relu.densities import normal, independent
>>> init = independent(normal(0, 1), normal(0, 1))
>>> w, b = sample_initialization(init, 4, seed=0)
>>> w.shape, bool(np.all(w[:2] == w[2:]))          # anti-symmetric pairs share (w, b)
((4,), True)
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from ibsym.wide_relu.densities import B, Distribution, Initialization
from ibsym.core.errors import InputError
from ibsym.core.values import as_number, to_sympy
from ibsym.core.progress import Progress
from ibsym.core.results import Result
from ibsym.wide_relu.splines import SplineSolution, solve_variational, smoothing_path
from ibsym.wide_relu.design import DesignedInitialization
from ibsym.wide_relu.zeta import X

__all__ = ["sample_initialization", "sample_distribution", "empirical_zeta", "train_networks",
           "TrainingRun", "width_sweep", "WidthSweep", "fit_slope", "trajectory_comparison",
           "TrajectoryComparison", "SLOPE_INTERVAL", "MonteCarloZeta", "zeta_monte_carlo"]

#: Accepted interval for the fitted width exponent of ‖f(·,θ*) - g*‖ (theory: -1/2).
SLOPE_INTERVAL = (-0.75, -0.3)


# ----------------------------------------------------------------------------- sampling
def _num(e: Any, values: dict) -> float:
    e = to_sympy(e)
    if values:
        e = e.xreplace({s: as_number(values[s.name], what=s.name)
                        for s in e.free_symbols if s.name in values})
    if e.free_symbols:
        raise InputError(f"give numbers for the parameter(s) {', '.join(sorted(map(str, e.free_symbols)))}"
                         " to sample the initialization")
    return float(e)


def _inverse_cdf_sampler(expr: sp.Expr, var: sp.Symbol, values: dict) -> Any:
    """Sampler from a (possibly unnormalized) 1-D density expression via a tabulated CDF."""
    from scipy.integrate import quad
    e = to_sympy(expr)
    if values:
        e = e.xreplace({s: as_number(values[s.name], what=s.name)
                        for s in e.free_symbols if s.name in values})
    if e.free_symbols - {var}:
        raise InputError("give numbers for " + ", ".join(sorted(map(str, e.free_symbols - {var}))))
    f = sp.lambdify(var, e, modules="numpy")

    def pdf(t: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            v = np.broadcast_to(np.asarray(f(t), float), np.shape(t)).copy()
        v[~np.isfinite(v)] = 0.0
        return np.maximum(v, 0.0)

    R = 1.0
    grid = np.linspace(-64, 64, 200001)
    dens = pdf(grid)
    total = np.sum(dens) * (grid[1] - grid[0])
    if not total > 0:
        raise InputError(f"the density {e} has no mass on [-64, 64]")
    for R in (1, 2, 4, 8, 16, 32, 64):
        inside = dens[np.abs(grid) <= R].sum() * (grid[1] - grid[0])
        if inside >= total * (1 - 1e-9):
            break
    g = np.linspace(-R, R, 40001)
    d = pdf(g)
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (d[1:] + d[:-1]) * np.diff(g))])
    cdf /= cdf[-1]
    keep = np.concatenate([[True], np.diff(cdf) > 0])

    def sample(n: int, rng: np.random.Generator) -> np.ndarray:
        return np.interp(rng.random(n), cdf[keep], g[keep])
    _ = quad  # SciPy is the quadrature backend of the tabulated CDF's checks
    return sample


def sample_distribution(dist: Distribution, n: int, rng: np.random.Generator,
                        values: dict | None = None) -> np.ndarray:
    """``n`` draws from a :class:`~ibsym.wide_relu.densities.Distribution` (parameters as numbers)."""
    values = values or {}
    if dist.is_discrete:
        vals = np.array([_num(v, values) for v, _ in dist.atoms])
        probs = np.array([_num(p, values) for _, p in dist.atoms])
        return rng.choice(vals, size=n, p=probs / probs.sum())
    p = [_num(q, values) for q in dist.params]
    if dist.name == "normal":
        return rng.normal(p[0], p[1], n)
    if dist.name == "uniform":
        return rng.uniform(p[0], p[1], n)
    if dist.name == "laplace":
        return rng.laplace(p[0], p[1], n)
    if dist.name == "cauchy":
        return p[0] + p[1] * rng.standard_cauchy(n)
    return _inverse_cdf_sampler(dist.density, dist.var, values)(n, rng)


def sample_initialization(init: Initialization | DesignedInitialization, n: int, *, seed: int,
                          antisymmetric: bool = True,
                          values: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """First-layer weights and biases ``(w, b)`` of a width-``n`` network.

    With ``antisymmetric=True`` (``n`` even) the second half repeats the first
    (its output weights are negated in :func:`train_networks`).

    Supported laws: independent named/custom marginals; a discrete weight law with
    conditional bias densities; a :class:`~ibsym.wide_relu.design.DesignedInitialization`
    (``C ~ p_C``, ``B = -W C``).  A general joint density cannot be sampled here.
    """
    values = values or {}
    if antisymmetric and n % 2:
        raise InputError(f"anti-symmetric initialization needs an even width, got {n}")
    rng = np.random.default_rng(seed)
    k = n // 2 if antisymmetric else n
    if isinstance(init, DesignedInitialization):
        w = sample_distribution(init.weight, k, rng, values)
        c = _inverse_cdf_sampler(init.breakpoint_density, X, values)(k, rng)
        b = -w * c
    elif init.density is not None:
        raise InputError("sampling a general joint density p(w, b) is not supported; give "
                         "independent marginals (--weight/--bias) or a designed initialization")
    elif init.bias_given_weight is not None:
        if not init.weight.is_discrete:
            raise InputError("conditional bias laws are sampled for discrete weights only")
        w = sample_distribution(init.weight, k, rng, values)
        b = np.empty(k)
        for atom, _ in init.weight.atoms:
            av = _num(atom, values)
            sel = w == av
            if sel.any():
                b[sel] = _inverse_cdf_sampler(init.bias_density(atom), B, values)(int(sel.sum()), rng)
    else:
        w = sample_distribution(init.weight, k, rng, values)
        b = sample_distribution(init.bias, k, rng, values)
    if antisymmetric:
        w, b = np.concatenate([w, w]), np.concatenate([b, b])
    return w.astype(float), b.astype(float)


def empirical_zeta(init: Initialization | DesignedInitialization, edges: Sequence[float], *,
                   n_samples: int = 1_000_000, seed: int = 0, degree: int = 1,
                   values: dict | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Monte Carlo ζ: histogram of breakpoints ``C = -B/W`` weighted by ``|W|^{2k}``.

    Returns ``(centers, zeta_hat, stderr)`` with
    ``zeta_hat = Σ_i |w_i|^{2k} 1{c_i ∈ bin} / (N · width)`` -- an unbiased estimate of
    the bin average of ``ζ_k = p_C E[W^{2k} | C]`` -- and its standard error.
    """
    edges = np.asarray(edges, float)
    w, b = sample_initialization(init, n_samples, seed=seed, antisymmetric=False, values=values)
    nz = w != 0
    c = -b[nz] / w[nz]
    wt = np.abs(w[nz]) ** (2 * degree)
    idx = np.digitize(c, edges) - 1
    ok = (idx >= 0) & (idx < len(edges) - 1)
    s1 = np.bincount(idx[ok], weights=wt[ok], minlength=len(edges) - 1)
    s2 = np.bincount(idx[ok], weights=wt[ok] ** 2, minlength=len(edges) - 1)
    width = np.diff(edges)
    mean = s1 / (n_samples * width)
    var = (s2 / n_samples - (s1 / n_samples) ** 2) / n_samples
    return 0.5 * (edges[1:] + edges[:-1]), mean, np.sqrt(np.maximum(var, 0)) / width


def _bin_counts(init: Any, edges: np.ndarray, n_samples: int, seed: int,
                values: dict | None) -> np.ndarray:
    w, b = sample_initialization(init, n_samples, seed=seed, antisymmetric=False, values=values)
    nz = w != 0
    return np.histogram(-b[nz] / w[nz], bins=edges)[0]


# ----------------------------------------------------------------------------- training
@dataclass(frozen=True, eq=False)
class TrainingRun(Result):
    """Outputs of networks trained together (one row per (width, seed)).

    Attributes
    ----------
    widths, seeds : ndarray
        Per network.
    grid : ndarray
        Evaluation points.
    outputs : ndarray (networks, len(grid))
        Trained functions on the grid.
    snapshots : dict[int, ndarray]
        Step -> outputs on the grid during training.
    train_residual : ndarray
        Max |f(x_j) - y_j| per network at the end.
    etabar : float
        Effective learning rate (hidden step ``etabar / n``).
    steps : int
    seconds : float
        Wall time of the training loop.
    """

    schema = "relu-training"
    widths: np.ndarray = None
    seeds: np.ndarray = None
    grid: np.ndarray = None
    outputs: np.ndarray = None
    snapshots: dict = field(default_factory=dict)
    train_residual: np.ndarray = None
    etabar: float = 1.0
    steps: int = 0
    seconds: float = 0.0
    skip: str = "projected"
    first_layer_change: np.ndarray = None

    def to_latex(self) -> str:
        n = sp.Symbol("n", positive=True, integer=True)
        i = sp.Symbol("i", integer=True)
        a, w, b = (sp.IndexedBase(s) for s in "awb")
        u, v = sp.symbols("u v")
        f = sp.Function("f")
        return sp.latex(sp.Eq(f(X), sp.Sum(a[i] * sp.Max(0, w[i] * X + b[i]), (i, 1, n))
                              + u * X + v))

    def __str__(self) -> str:
        return (f"{len(self.widths)} network(s) f(x) = Σ a_i [w_i x + b_i]_+ + u x + v, widths "
                f"{sorted(set(int(v) for v in self.widths))}, {self.steps} GD steps, η̄ = "
                f"{self.etabar:.4g}, max train residual {float(np.max(self.train_residual)):.2e}")

    def to_dict_body(self) -> dict[str, Any]:
        return {"widths": self.widths, "seeds": self.seeds, "steps": self.steps,
                "etabar": self.etabar, "skip": self.skip, "seconds": self.seconds,
                "train_residual": self.train_residual, "grid": self.grid,
                "outputs": self.outputs, "first_layer_change": self.first_layer_change}


def _affine_projector(x: np.ndarray) -> np.ndarray:
    A = np.stack([x, np.ones_like(x)], axis=1)
    return A @ np.linalg.pinv(A)


def _kernel_lr(x: np.ndarray, w: np.ndarray, b: np.ndarray, skip: str, skip_lr: float) -> float:
    act = np.maximum(np.outer(w, x) + b[:, None], 0.0)
    K = act.T @ act / len(w)
    m = len(x)
    if skip == "projected":
        P = np.eye(m) - _affine_projector(x)
        K = P @ K @ P
    else:
        K = K + skip_lr * (np.outer(x, x) + 1.0)
    return 1.0 / float(np.linalg.eigvalsh(K)[-1])


def train_networks(x: Sequence[float], y: Sequence[float], init: Any, widths: Sequence[int],
                   seeds: Sequence[int] = (0,), *, steps: int = 4000, etabar: float | None = None,
                   grid: Sequence[float] | None = None, snapshot_steps: Sequence[int] = (),
                   skip: str = "projected", skip_lr: float = 1.0, antisymmetric: bool = True,
                   output_std: float = 1.0, train_first_layer: bool = True,
                   values: dict | None = None, progress: bool = True) -> TrainingRun:
    r"""Train one network per (width, seed) by full-batch GD, all at once (vectorized).

    Parameters
    ----------
    x, y : array_like
        1-D training data.
    init : Initialization or DesignedInitialization
        Law of the first layer.
    widths, seeds : sequences of int
        Every combination is trained (same data, same number of steps).
    steps : int, default 4000
        GD steps.
    etabar : float, optional
        Effective learning rate; hidden parameters move with ``etabar / n``.
        Default: ``1/λ_max`` of the (projected) empirical kernel of the widest network.
    grid : array_like, optional
        Evaluation points (default: 201 points over the data range ± 25 %).
    snapshot_steps : sequence of int
        Steps at which the functions on the grid are recorded.
    skip : {"projected", "gd"}
        How the unpenalized skip connection ``u x + v`` is trained (see module docs).
    skip_lr : float
        Relative step of ``(u, v)`` for ``skip="gd"``.
    antisymmetric : bool, default True
        Paired neurons with output weights ``±a`` (``f(·, θ0) ≡ 0``); otherwise ``a = 0``.
    output_std : float
        ``a_i ~ N(0, output_std² / n)``.
    train_first_layer : bool, default True
        Also train ``w, b`` (their effect is O(1/n) in this parametrization).

    Returns
    -------
    TrainingRun
    """
    x = np.asarray(x, float).ravel()
    y = np.asarray(y, float).ravel()
    if skip not in ("projected", "gd"):
        raise InputError(f"skip must be 'projected' or 'gd', got {skip!r}")
    if grid is None:
        span = x.max() - x.min()
        grid = np.linspace(x.min() - 0.25 * span, x.max() + 0.25 * span, 201)
    grid = np.asarray(grid, float)
    nets = [(int(n), int(s)) for n in widths for s in seeds]
    ws, bs, as_, sizes = [], [], [], []
    for n, s in nets:
        w, b = sample_initialization(init, n, seed=s, antisymmetric=antisymmetric, values=values)
        rng = np.random.default_rng([s, n, 7])
        if antisymmetric:
            a0 = rng.normal(0.0, output_std / np.sqrt(n), n // 2)
            a = np.concatenate([a0, -a0])
        else:
            a = np.zeros(n)
        ws.append(w), bs.append(b), as_.append(a), sizes.append(n)
    w, b, a = np.concatenate(ws), np.concatenate(bs), np.concatenate(as_)
    w0, b0 = w.copy(), b.copy()
    sizes = np.array(sizes)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    owner = np.repeat(np.arange(len(nets)), sizes)
    if etabar is None:
        big = int(np.argmax(sizes))
        sl = slice(offsets[big], offsets[big] + sizes[big])
        etabar = _kernel_lr(x, w[sl], b[sl], skip, skip_lr)
    lr = etabar / sizes[owner]
    P = np.eye(len(x)) - _affine_projector(x)
    A = np.stack([x, np.ones_like(x)], axis=1)
    uv = np.zeros((len(nets), 2))
    snaps = {int(k) for k in snapshot_steps}
    snapshots: dict[int, np.ndarray] = {}

    def hidden(points: np.ndarray) -> np.ndarray:
        act = np.maximum(np.multiply.outer(w, points) + b[:, None], 0.0)
        return np.add.reduceat(a[:, None] * act, offsets, axis=0)

    def evaluate(points: np.ndarray) -> np.ndarray:
        h = hidden(points)
        if skip == "projected":
            coef = np.linalg.lstsq(A, (y[None, :] - hidden(x)).T, rcond=None)[0].T
        else:
            coef = uv
        return h + coef[:, :1] * points[None, :] + coef[:, 1:]

    if 0 in snaps:
        snapshots[0] = evaluate(grid)
    t0 = time.perf_counter()
    every = max(1, steps // 10)
    with Progress("relu-train", total=steps // every, enabled=progress) as prog:
        for k in range(1, steps + 1):
            pre = np.multiply.outer(w, x) + b[:, None]
            act = np.maximum(pre, 0.0)
            out = np.add.reduceat(a[:, None] * act, offsets, axis=0)
            if skip == "projected":
                r = (out - y[None, :]) @ P
            else:
                r = out + uv[:, :1] * x[None, :] + uv[:, 1:] - y[None, :]
            R = r[owner]
            ga = np.einsum("ij,ij->i", act, R)
            if train_first_layer:
                IR = (pre > 0) * R
                gw = a * (IR @ x)
                gb = a * IR.sum(axis=1)
                w -= lr * gw
                b -= lr * gb
            a -= lr * ga
            if skip == "gd":
                uv -= skip_lr * etabar * np.stack([r @ x, r.sum(axis=1)], axis=1)
            if k in snaps:
                snapshots[k] = evaluate(grid)
            if k % every == 0:
                prog.update(f"step {k}, max |r| = {np.abs(r).max():.2e}")
    seconds = time.perf_counter() - t0
    outputs = evaluate(grid)
    res = np.abs(evaluate(x) - y[None, :]).max(axis=1)
    change = np.sqrt(np.add.reduceat((w - w0) ** 2 + (b - b0) ** 2, offsets))
    return TrainingRun(np.array([n for n, _ in nets]), np.array([s for _, s in nets]), grid,
                       outputs, snapshots, res, float(etabar), int(steps), seconds, skip, change)


# ----------------------------------------------------------------------------- width sweep
def fit_slope(widths: Sequence[float], errors: Sequence[float]) -> tuple[float, float]:
    """Least-squares slope and intercept of ``log(error)`` against ``log(width)``.

    Examples
    --------
    >>> fit_slope([1, 4, 16], [1.0, 0.5, 0.25])
    (-0.5, 0.0)
    """
    lw, le = np.log(np.asarray(widths, float)), np.log(np.asarray(errors, float))
    s, c = np.polyfit(lw, le, 1)
    return round(float(s), 12), round(float(c), 12)


@dataclass(frozen=True, eq=False)
class WidthSweep(Result):
    r"""``‖f(·, θ*) − g*‖`` against the width and its fitted exponent (theory ``-1/2``).

    ``errors[i, s]`` is the RMS difference on the grid for width ``widths[i]`` and seed ``s``;
    the slope is fitted to ``log mean_s errors`` vs ``log width``.
    """

    schema = "relu-width-sweep"
    widths: np.ndarray = None
    seeds: np.ndarray = None
    errors: np.ndarray = None
    max_errors: np.ndarray = None
    slope: float = 0.0
    intercept: float = 0.0
    interval: tuple = SLOPE_INTERVAL
    run: TrainingRun = None
    reference: SplineSolution = None

    @property
    def mean_errors(self) -> np.ndarray:
        return self.errors.mean(axis=1)

    @property
    def ok(self) -> bool:
        return self.interval[0] <= self.slope <= self.interval[1]

    def to_latex(self) -> str:
        n, C = sp.symbols("n C", positive=True)
        return (sp.latex(sp.Eq(sp.Symbol(r"\|f(\cdot,\theta^*) - g^*\|"),
                               sp.Float(float(np.exp(self.intercept)), 4)
                               * n ** sp.Float(self.slope, 4), evaluate=False)))

    def __str__(self) -> str:
        rows = ", ".join(f"n={int(w)}: {e:.3e}" for w, e in zip(self.widths, self.mean_errors))
        return (f"‖f(·,θ*) − g*‖ ≈ {np.exp(self.intercept):.3g} n^{self.slope:.3f} "
                f"(accepted slope interval {self.interval}); {rows}")

    def to_dict_body(self) -> dict[str, Any]:
        return {"widths": self.widths, "seeds": self.seeds, "errors": self.errors,
                "mean_errors": self.mean_errors, "max_errors": self.max_errors,
                "slope": self.slope, "intercept": self.intercept, "interval": self.interval,
                "ok": self.ok, "etabar": self.run.etabar, "steps": self.run.steps,
                "train_residual": self.run.train_residual, "seconds": self.run.seconds}


def width_sweep(x: Sequence[float], y: Sequence[float], init: Any, zeta: Any,
                widths: Sequence[int], seeds: Sequence[int] = (0, 1, 2), *, steps: int = 4000,
                grid: Sequence[float] | None = None, values: dict | None = None,
                progress: bool = True, **train_kw: Any) -> WidthSweep:
    """Train every width/seed, compare with the exact ζ-spline ``g*``, fit the exponent."""
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    ref = solve_variational(x, y, zeta, **(values or {}))
    run = train_networks(x, y, init, widths, seeds, steps=steps, grid=grid, values=values,
                         progress=progress, **train_kw)
    diff = run.outputs - ref(run.grid)[None, :]
    rms = np.sqrt(np.mean(diff ** 2, axis=1)).reshape(len(widths), len(seeds))
    mx = np.abs(diff).max(axis=1).reshape(len(widths), len(seeds))
    s, c = fit_slope(widths, rms.mean(axis=1))
    return WidthSweep(np.asarray(widths), np.asarray(seeds), rms, mx, s, c, SLOPE_INTERVAL,
                      run, ref)


# ----------------------------------------------------------------------------- trajectories
@dataclass(frozen=True, eq=False)
class TrajectoryComparison(Result):
    r"""Training trajectory vs smoothing splines with ``λ = 1/(η̄ t)``.

    ``distance[k]`` = RMS(f_t − s_λ(t)) and ``to_final[k]`` = RMS(f_t − g*) at ``times[k]``.
    """

    schema = "relu-trajectory"
    times: np.ndarray = None
    lambdas: np.ndarray = None
    distance: np.ndarray = None
    to_final: np.ndarray = None
    scale: float = 1.0
    run: TrainingRun = None
    splines: tuple = ()

    def to_latex(self) -> str:
        lam, eta, t = sp.symbols("lambda etabar t", positive=True)
        return sp.latex(sp.Eq(lam, 1 / (eta * t)))

    def __str__(self) -> str:
        rows = "; ".join(f"t={int(t)}: |f_t − s_λ| = {d:.3g}, |f_t − g*| = {f:.3g}"
                         for t, d, f in zip(self.times, self.distance, self.to_final))
        return f"trajectory vs smoothing spline (λ = 1/(η̄ t)): {rows}"

    def to_dict_body(self) -> dict[str, Any]:
        return {"times": self.times, "lambdas": self.lambdas, "distance": self.distance,
                "to_final": self.to_final, "scale": self.scale, "etabar": self.run.etabar}


def trajectory_comparison(x: Sequence[float], y: Sequence[float], init: Any, zeta: Any, *,
                          width: int = 4096, seed: int = 0, times: Sequence[int] = (10, 30, 100, 300, 1000),
                          steps: int | None = None, values: dict | None = None,
                          progress: bool = True, **train_kw: Any) -> TrajectoryComparison:
    """Train one wide network, recording ``f_t``, and compare with ``s_{1/(η̄ t)}``."""
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    steps = int(steps or max(times))
    run = train_networks(x, y, init, [width], [seed], steps=steps, snapshot_steps=times,
                         values=values, progress=progress, **train_kw)
    zkw = values or {}
    final = solve_variational(x, y, zeta, **zkw)
    path = smoothing_path(x, y, zeta, times, run.etabar, **zkw)
    g = run.grid
    rms = lambda v: float(np.sqrt(np.mean(v ** 2)))  # noqa: E731
    dist = np.array([rms(run.snapshots[int(t)][0] - s(g)) for t, s in zip(times, path)])
    tof = np.array([rms(run.snapshots[int(t)][0] - final(g)) for t in times])
    return TrajectoryComparison(np.asarray(times), 1.0 / (run.etabar * np.asarray(times, float)),
                                dist, tof, rms(final(g)), run, tuple(path))


# ----------------------------------------------------------------------------- Monte Carlo ζ
@dataclass(frozen=True, eq=False)
class MonteCarloZeta(Result):
    r"""Monte Carlo check of ζ: W^{2k}-weighted breakpoint histogram vs the symbolic ζ.

    ``exact`` holds bin averages of ζ (Gauss--Legendre on each bin); ``zscores`` are
    ``(estimate - exact) / stderr``.
    """

    schema = "zeta-monte-carlo"
    edges: np.ndarray = None
    estimate: np.ndarray = None
    stderr: np.ndarray = None
    exact: np.ndarray = None
    n_samples: int = 0
    seed: int = 0
    counts: np.ndarray = None
    min_count: int = 50

    @property
    def centers(self) -> np.ndarray:
        return 0.5 * (self.edges[1:] + self.edges[:-1])

    @property
    def tested(self) -> np.ndarray:
        """Bins with at least ``min_count`` samples (where the sample standard error is reliable)."""
        return (self.counts >= self.min_count) & (self.stderr > 0)

    @property
    def zscores(self) -> np.ndarray:
        """``(estimate - exact)/stderr`` on tested bins, NaN elsewhere."""
        se = np.where(self.tested, self.stderr, np.inf)
        return np.where(self.tested, (self.estimate - self.exact) / se, np.nan)

    @property
    def max_abs_z(self) -> float:
        return float(np.nanmax(np.abs(self.zscores)))

    @property
    def max_abs_error(self) -> float:
        return float(np.max(np.abs(self.estimate - self.exact)))

    def to_latex(self) -> str:
        zeta, n = sp.Function("zeta"), sp.Symbol("N", positive=True)
        i = sp.Symbol("i", integer=True)
        w = sp.IndexedBase("w")
        return sp.latex(sp.Eq(sp.Function("hat{zeta}")(X),
                              sp.Sum(sp.Abs(w[i]) ** 2, (i, 1, n)) / n, evaluate=False)) \
            + r"\ \text{per unit length of breakpoints } c_i = -b_i/w_i \approx " \
            + sp.latex(zeta(X))

    def __str__(self) -> str:
        return (f"Monte Carlo ζ ({self.n_samples} samples, {int(self.tested.sum())}/"
                f"{len(self.estimate)} bins with >= {self.min_count} samples): max |error| = "
                f"{self.max_abs_error:.3g}, max |z| = {self.max_abs_z:.2f}")

    def to_dict_body(self) -> dict[str, Any]:
        return {"edges": self.edges, "estimate": self.estimate, "stderr": self.stderr,
                "exact": self.exact, "n_samples": self.n_samples, "seed": self.seed,
                "counts": self.counts, "tested_bins": int(self.tested.sum()),
                "max_abs_z": self.max_abs_z, "max_abs_error": self.max_abs_error}


def zeta_monte_carlo(init: Any, penalty: Any, edges: Sequence[float], *, n_samples: int = 1_000_000,
                     seed: int = 0, values: dict | None = None) -> MonteCarloZeta:
    """Compare :func:`empirical_zeta` with bin averages of a (symbolic) penalty.

    z-scores use the sample standard error and are reported on bins holding at least
    50 breakpoints (in the far tails a handful of heavy ``W²`` weights make the sample
    standard error meaningless).
    """
    from ibsym.wide_relu.splines import _GL_W, _GL_X, zeta_function
    edges = np.asarray(edges, float)
    degree = getattr(penalty, "degree", 1)
    _, est, se = empirical_zeta(init, edges, n_samples=n_samples, seed=seed, degree=degree,
                                values=values)
    zf, _ = zeta_function(penalty, **(values or {}))
    lo, hi = edges[:-1], edges[1:]
    s = 0.5 * (hi - lo)[:, None] * _GL_X[None, :] + 0.5 * (hi + lo)[:, None]
    exact = (zf(s.ravel()).reshape(s.shape) * _GL_W[None, :]).sum(axis=1) / 2.0
    counts = _bin_counts(init, edges, n_samples, seed, values)
    return MonteCarloZeta(edges, est, se, exact, int(n_samples), int(seed), counts)
