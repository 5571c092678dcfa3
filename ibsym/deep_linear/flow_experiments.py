r"""GD against the derived singular-value flow (NumPy): trajectories by depth and step, and
near-balanced initializations.

:func:`trajectory_sweep` compares GD singular values with the derived solutions (error
``O(h)``); :func:`imbalance_sweep` measures the singular-value flow law along GD from Gaussian
layers of scale α (residual ``O(α²)``).
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ibsym.core.errors import InputError
from ibsym.core.progress import Progress
from ibsym.core.results import Result
from ibsym.deep_linear.blas import blas_threads
from ibsym.deep_linear.layers import (_grads, _prefix, balancedness, end_to_end,
                                      end_to_end_velocity, fit_slope, gaussian_factors,
                                      random_orthogonal)
from ibsym.deep_linear.predictions import predicted_singular_values
from ibsym.deep_linear.problems import regression
from ibsym.deep_linear.symbols import check_depth
from ibsym.deep_linear.training import train

__all__ = ["trajectory_sweep", "TrajectorySweep", "imbalance_sweep", "ImbalanceSweep"]


# ============================================================================ trajectories
@dataclass(frozen=True, eq=False)
class TrajectorySweep(Result):
    r"""GD singular-value trajectories vs the derived solutions, for several depths and steps.

    ``errors[d][i]`` = max over modes and recorded times of ``|σ_r^{GD}(nh) − σ_r(nh)|`` for depth
    ``depths[d]`` and step ``steps[i]``; ``slopes[d]`` the fitted exponent in ``h`` (theory 1).
    ``route_gap[d]`` = max |closed/implicit solution − ODE| on the recorded times.
    """

    schema = "singular-value-trajectories"
    depths: tuple = ()
    targets: tuple = ()
    sigma0: float = 0.0
    T: float = 0.0
    steps: tuple = ()
    errors: np.ndarray = None
    slopes: tuple = ()
    route_gap: tuple = ()
    runs: dict = field(default_factory=dict)
    predictions: dict = field(default_factory=dict)
    seconds: float = 0.0

    def to_latex(self) -> str:
        rows = r"\\ ".join(f"N = {n}: & " + " & ".join(f"{e:.2e}" for e in errs)
                           + f" & {s:.3f}" for n, errs, s in zip(self.depths, self.errors,
                                                                self.slopes))
        return (r"\begin{array}{l" + "c" * (len(self.steps) + 1) + r"}\text{depth} & "
                + " & ".join(f"h={h:g}" for h in self.steps) + r" & \text{slope}\\ \hline "
                + rows + r"\end{array}")

    def __str__(self) -> str:
        lines = [f"GD vs derived σ_r(t), targets {list(self.targets)}, σ0 = {self.sigma0:g}, "
                 f"T = {self.T:g}; max error per step size, fitted slope (theory 1):"]
        for n, errs, s, g in zip(self.depths, self.errors, self.slopes, self.route_gap):
            lines.append(f"  N={n}: " + ", ".join(f"h={h:g}: {e:.2e}" for h, e in
                                                   zip(self.steps, errs))
                         + f"  slope {s:.3f}; |solution − ODE| ≤ {g:.1e}")
        return "\n".join(lines)

    def to_dict_body(self) -> dict[str, Any]:
        return {"depths": self.depths, "targets": self.targets, "sigma0": self.sigma0,
                "T": self.T, "steps": self.steps, "errors": self.errors, "slopes": self.slopes,
                "route_gap": self.route_gap, "seconds": self.seconds}


def trajectory_sweep(depths: Sequence[int] = (1, 2, 3, 4),
                     targets: Sequence[float] = (3.0, 2.0, 1.0, 0.5), *, sigma0: float = 0.05,
                     T: float = 10.0, steps: Sequence[float] = (0.02, 0.01, 0.005, 0.0025),
                     seed: int = 0, progress: bool = False) -> TrajectorySweep:
    r"""Whitened regression toward ``Φ = U diag(targets) V^T`` from the balanced, aligned
    initialization ``W_e(0) = σ_0 U V^T``: GD singular values against the derived solutions.

    Every mode follows ``σ̇ = N σ^{2−2/N}(s_r − σ)`` exactly under gradient flow, so the GD
    error is the discretization error, ``O(h)``.
    """
    t_start = time.perf_counter()
    targets = tuple(float(s) for s in sorted(targets, reverse=True))
    d = len(targets)
    rng = np.random.default_rng(seed)
    U, V = random_orthogonal(d, rng), random_orthogonal(d, rng)
    Phi = (U * np.array(targets)) @ V.T
    W0 = sigma0 * U @ V.T
    problem = regression(Phi)
    for h in steps:
        if abs(T / h - round(T / h)) > 1e-9 * T / h:
            raise InputError(f"step size {h:g} does not divide the horizon T={T:g}")
    errors = np.zeros((len(depths), len(steps)))
    slopes, gaps = [], []
    runs: dict = {}
    preds: dict = {}
    with Progress("trajectories", total=len(depths) * len(steps), enabled=progress) as prog:
        for di, n in enumerate(depths):
            n = check_depth(n, symbolic=False)
            for si, h in enumerate(steps):
                nsteps = int(round(T / h))
                every = max(1, nsteps // 400)
                run = train(problem, n, h=h, steps=nsteps, init=W0, seed=seed, record_every=every)
                pred = np.stack([predicted_singular_values(n, s, sigma0, run.times)
                                 for s in targets], axis=1)
                errors[di, si] = float(np.max(np.abs(run.singular_values - pred)))
                runs[(n, h)] = run
                preds[(n, h)] = pred
                prog.update(f"N={n} h={h:g}: error {errors[di, si]:.2e}")
            run = runs[(n, steps[-1])]
            ode = np.stack([predicted_singular_values(n, s, sigma0, run.times, method="ode")
                            for s in targets], axis=1)
            gaps.append(float(np.max(np.abs(ode - preds[(n, steps[-1])]))))
            slopes.append(fit_slope(steps, errors[di]))
    return TrajectorySweep(tuple(int(n) for n in depths), targets, float(sigma0), float(T),
                           tuple(float(h) for h in steps), errors, tuple(slopes), tuple(gaps),
                           runs, preds, time.perf_counter() - t_start)


# ============================================================================ imbalance
@dataclass(frozen=True, eq=False)
class ImbalanceSweep(Result):
    r"""The singular-value flow law along GD from near-balanced (Gaussian) initializations.

    For each layer scale α: ``imbalance[i]`` = max_j ‖W_{j+1}^TW_{j+1} − W_jW_j^T‖ at the start
    (``O(α²)``), ``residual[i]`` = max over the GD trajectory and the modes of
    ``|u_r^T Ẇ_e v_r + N σ_r^{2−2/N} ⟨∇L, u_r v_r^T⟩|`` (``Ẇ_e`` the exact velocity of the layerwise
    flow at the iterate; 0 for balanced layers).  Slopes are fitted in α.
    """

    schema = "imbalance-sweep"
    depth: int = 2
    scales: tuple = ()
    imbalance: tuple = ()
    residual: tuple = ()
    final_imbalance: tuple = ()
    imbalance_slope: float = 0.0
    residual_slope: float = 0.0
    h: float = 0.0
    steps: tuple = ()
    seconds: float = 0.0

    def to_latex(self) -> str:
        return (r"\max_t \left|\dot\sigma_r + N\sigma_r^{2-2/N}\langle\nabla L, u_rv_r^\top"
                r"\rangle\right| \propto \alpha^{" + f"{self.residual_slope:.2f}" + r"},\quad "
                r"\|W_{j+1}^\top W_{j+1} - W_jW_j^\top\| \propto \alpha^{"
                + f"{self.imbalance_slope:.2f}" + "}")

    def __str__(self) -> str:
        rows = ", ".join(f"α={a:g}: imbalance {i:.2e}, residual {r:.2e}"
                         for a, i, r in zip(self.scales, self.imbalance, self.residual))
        return (f"depth {self.depth}, Gaussian layers of scale α, GD h = {self.h:g}: {rows}; "
                f"slopes: imbalance {self.imbalance_slope:.3f}, flow-law residual "
                f"{self.residual_slope:.3f}")

    def to_dict_body(self) -> dict[str, Any]:
        return {"depth": self.depth, "scales": self.scales, "imbalance": self.imbalance,
                "final_imbalance": self.final_imbalance, "residual": self.residual,
                "imbalance_slope": self.imbalance_slope, "residual_slope": self.residual_slope,
                "h": self.h, "steps": self.steps, "seconds": self.seconds}


def _flow_law_residual(layers: Sequence[np.ndarray], G: np.ndarray, n: int) -> float:
    W = end_to_end(layers)
    U, s, Vt = np.linalg.svd(W)
    Wdot = end_to_end_velocity(layers, G)
    true = np.einsum("ir,ij,rj->r", U, Wdot, Vt)
    pred = -n * s ** (2 - 2 / n) * np.einsum("ir,ij,rj->r", U, G, Vt)
    return float(np.max(np.abs(true - pred)))


def imbalance_sweep(depth: int = 2, scales: Sequence[float] = (0.2, 0.1, 0.05, 0.025), *,
                    targets: Sequence[float] = (3.0, 2.0, 1.0), h: float | None = None,
                    max_steps: int = 100_000, seed: int = 0,
                    progress: bool = False) -> ImbalanceSweep:
    r"""How far GD from Gaussian layers of scale α is from the balanced singular-value flow.

    The imbalance ``D_j = W_{j+1}^TW_{j+1} − W_jW_j^T`` is conserved by gradient flow and starts
    at ``O(α²)``; the singular-value flow law is exact for ``D = 0``.  Each run goes until every
    singular value is within 0.1 % of its target.
    """
    t0 = time.perf_counter()
    n = check_depth(depth, symbolic=False)
    targets = np.array(sorted(targets, reverse=True), float)
    d = len(targets)
    rng = np.random.default_rng(seed)
    U, V = random_orthogonal(d, rng), random_orthogonal(d, rng)
    Phi = (U * targets) @ V.T
    step = h if h is not None else 0.25 / (n * targets[0] ** (2 - 2 / n))
    base = gaussian_factors((d, d), n, 1.0, seed=seed + 1)
    imb, res, fin, used = [], [], [], []
    with blas_threads(1), Progress(f"imbalance N={n}", total=len(scales), enabled=progress) as prog:
        for a in scales:
            layers = [a * W for W in base]
            imb.append(balancedness(layers))
            worst, k = 0.0, 0
            while k < max_steps:
                P = _prefix(layers)
                W = P[-1]
                G = W - Phi
                worst = max(worst, _flow_law_residual(layers, G, n))
                if np.all(np.abs(np.linalg.svd(W, compute_uv=False) - targets) < 1e-3 * targets):
                    break
                for Wj, g in zip(layers, _grads(layers, P, G)):
                    Wj -= step * g
                k += 1
            if k >= max_steps:
                raise InputError(f"α={a:g}: the modes were not learned within {max_steps} steps; "
                                 "raise max_steps or use larger scales")
            res.append(worst)
            fin.append(balancedness(layers))
            used.append(k)
            prog.update(f"α={a:g}: residual {worst:.2e} ({k} steps)")
    return ImbalanceSweep(n, tuple(float(a) for a in scales), tuple(imb), tuple(res), tuple(fin),
                          fit_slope(scales, imb), fit_slope(scales, res), float(step), tuple(used),
                          time.perf_counter() - t0)
