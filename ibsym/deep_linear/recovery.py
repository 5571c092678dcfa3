r"""Low-rank recovery by depth against the nuclear norm, and the low-rank phase under noise (NumPy).

:func:`recovery_experiment` (with :func:`completion_experiment`, :func:`sensing_experiment`)
trains each depth from a small initialization and compares with
:func:`ibsym.deep_linear.nuclear_norm.min_nuclear_norm` and the truth;
:func:`perturbation_experiment` measures how long the low-rank phase lasts when the target is
noisy, next to the learning times of :func:`ibsym.deep_linear.learning.time_to_learn`.
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
from ibsym.deep_linear.layers import _grads, _prefix, effective_rank, fit_slope
from ibsym.deep_linear.learning import time_to_learn
from ibsym.deep_linear.nuclear_norm import NuclearNormSolution, min_nuclear_norm
from ibsym.deep_linear.problems import (MatrixProblem, completion, random_low_rank, random_mask,
                                        regression, sensing)
from ibsym.deep_linear.symbols import check_depth
from ibsym.deep_linear.training import _initial_layers, train

__all__ = [
    "recovery_experiment", "RecoveryExperiment", "completion_experiment", "sensing_experiment",
    "perturbation_experiment", "PerturbationExperiment",
]


# ============================================================================ recovery
@dataclass(frozen=True, eq=False)
class RecoveryExperiment(Result):
    r"""Low-rank recovery by deep factorizations of several depths vs the nuclear norm.

    Per method (``"depth 1"``, …, ``"nuclear norm"``, ``"ground truth"``): relative Frobenius
    error to the ground truth (all entries, and unobserved entries for completion), effective
    rank, singular values, the ratio ``σ_r/σ_{r+1}`` at the true rank.
    """

    schema = "low-rank-recovery"
    problem: str = ""
    rank: int = 0
    rows: tuple = ()
    runs: dict = field(default_factory=dict)
    nuclear: NuclearNormSolution = None
    seconds: float = 0.0

    def row(self, name: str) -> dict:
        for r in self.rows:
            if r["method"] == name:
                return r
        raise InputError(f"no row '{name}'; rows: {', '.join(r['method'] for r in self.rows)}")

    def to_latex(self) -> str:
        body = r"\\ ".join(
            r"\text{" + r["method"] + "} & " + f"{r['error']:.3e} & {r['effective_rank']:.2f} & "
            + f"{r['gap']:.3g}" for r in self.rows)
        return (r"\begin{array}{lccc}\text{method} & \|W - M\|_F/\|M\|_F & \text{effective rank} & "
                r"\sigma_r/\sigma_{r+1}\\ \hline " + body + r"\end{array}")

    def __str__(self) -> str:
        lines = [f"{self.problem}, true rank {self.rank}:"]
        for r in self.rows:
            extra = f", unobserved {r['error_unobserved']:.3e}" if "error_unobserved" in r else ""
            lines.append(f"  {r['method']:>13}: relative error {r['error']:.3e}{extra}, effective "
                         f"rank {r['effective_rank']:.3f}, σ_r/σ_(r+1) = {r['gap']:.3g}")
        return "\n".join(lines)

    def to_dict_body(self) -> dict[str, Any]:
        return {"problem": self.problem, "rank": self.rank, "rows": list(self.rows),
                "nuclear_norm": None if self.nuclear is None else self.nuclear.to_dict_body(),
                "seconds": self.seconds}


def _row(name: str, W: np.ndarray, problem: MatrixProblem, rank: int, **extra: Any) -> dict:
    M = problem.truth
    s = np.linalg.svd(W, compute_uv=False)
    row = {"method": name, "error": float(np.linalg.norm(W - M) / np.linalg.norm(M)),
           "effective_rank": effective_rank(s, singular_values=True),
           "gap": float(s[rank - 1] / max(s[rank], 1e-300)) if rank < len(s) else float("inf"),
           "singular_values": s}
    if problem.kind == "completion":
        un = ~problem.mask
        row["error_unobserved"] = float(np.linalg.norm((W - M)[un]) / np.linalg.norm(M[un]))
    row.update(extra)
    return row


def recovery_experiment(problem: MatrixProblem, rank: int, depths: Sequence[int] = (1, 2, 3, 4),
                        *, sigma0: float = 1e-3, step_factor: float = 0.5,
                        max_steps: int = 40_000, tol: float = 1e-4, seed: int = 0,
                        nuclear: bool = True, progress: bool = False) -> RecoveryExperiment:
    r"""Train each depth from a small balanced initialization (end-to-end scale ``sigma0``) to a
    relative residual ``tol`` and compare with the minimum nuclear-norm solution and the truth.

    The step of depth ``N`` is ``step_factor / (N σ_max^{2−2/N} λ_max(∇²L))`` with ``σ_max`` the
    top singular value of the truth (the stable range of the end of training).
    """
    if problem.truth is None:
        raise InputError("the problem needs a ground truth (truth=...) to report errors")
    t0 = time.perf_counter()
    smax = float(np.linalg.svd(problem.truth, compute_uv=False)[0])
    rows, runs = [], {}
    with Progress("recovery", total=len(depths) + int(nuclear), enabled=progress) as prog:
        for n in depths:
            n = check_depth(n, symbolic=False)
            h = step_factor / (n * smax ** (2 - 2 / n) * problem.curvature())
            run = train(problem, n, h=h, steps=max_steps, init="orthogonal", scale=sigma0,
                        seed=seed, tol=tol, record_every=max(1, max_steps // 200))
            runs[n] = run
            rows.append(_row(f"depth {n}", run.W, problem, rank, steps=run.steps, h=h,
                             converged=run.converged, seconds=run.seconds))
            prog.update(f"depth {n}: error {rows[-1]['error']:.3e}, {run.steps} steps")
        nn = None
        if nuclear:
            nn = min_nuclear_norm(problem)
            rows.append(_row("nuclear norm", nn.X, problem, rank, gap_certificate=nn.gap))
            prog.update(f"nuclear norm: error {rows[-1]['error']:.3e}")
    rows.append(_row("ground truth", problem.truth, problem, rank))
    return RecoveryExperiment(problem.describe(), rank, tuple(rows), runs, nn,
                              time.perf_counter() - t0)


def completion_experiment(size: int = 100, rank: int = 5, n_obs: int = 2000,
                          depths: Sequence[int] = (1, 2, 3, 4), *, seed: int = 0,
                          **kw: Any) -> RecoveryExperiment:
    """Matrix completion of a random ``size×size`` rank-``rank`` matrix (unit-RMS entries)."""
    M = random_low_rank((size, size), rank, seed=seed)
    mask = random_mask((size, size), n_obs, seed=seed + 1)
    return recovery_experiment(completion(M, mask), rank, depths, seed=seed, **kw)


def sensing_experiment(size: int = 30, rank: int = 2, n_meas: int = 300,
                       depths: Sequence[int] = (1, 2, 3, 4), *, seed: int = 0,
                       **kw: Any) -> RecoveryExperiment:
    """Matrix sensing with i.i.d. N(0, 1/m) measurement matrices."""
    M = random_low_rank((size, size), rank, seed=seed)
    rng = np.random.default_rng(seed + 2)
    A = rng.standard_normal((n_meas, size * size)) / np.sqrt(n_meas)
    return recovery_experiment(sensing(A, A @ M.ravel(), (size, size), truth=M), rank, depths,
                               seed=seed, **kw)


# ============================================================================ perturbation
@dataclass(frozen=True, eq=False)
class PerturbationExperiment(Result):
    r"""The low-rank phase of GD on ``½‖W − (M + εE)‖²`` (noisy target), by depth and noise.

    ``rows``: per (depth, ε): ``t_signal`` (the ``r``-th singular value reaches half of
    ``σ_r(Φ)``), ``t_noise`` (the ``(r+1)``-th reaches half of ``σ_{r+1}(Φ)``), their difference
    ``duration`` (the low-rank phase), the same from :func:`ibsym.deep_linear.learning.time_to_learn`
    (aligned prediction), the best relative error to the clean ``M`` during training and at the
    end.  ``slopes[N]``: fitted exponent of the duration in ε.
    """

    schema = "perturbation"
    size: int = 0
    rank: int = 0
    signal: tuple = ()
    sigma0: float = 0.0
    init: str = ""
    rows: tuple = ()
    slopes: dict = field(default_factory=dict)
    seconds: float = 0.0

    def to_latex(self) -> str:
        body = r"\\ ".join(
            f"{r['depth']} & {r['noise']:g} & {r['duration']:.3g} & {r['predicted_duration']:.3g}"
            f" & {r['best_error']:.3g} & {r['final_error']:.3g}" for r in self.rows)
        return (r"\begin{array}{cccccc}N & \varepsilon & \text{low-rank phase} & \text{predicted}"
                r" & \min_t\|W - M\|/\|M\| & \text{final}\\ \hline " + body + r"\end{array}")

    def __str__(self) -> str:
        lines = [f"noisy target M + εE ({self.size}×{self.size}, rank {self.rank}, singular values "
                 f"{list(self.signal)}), init {self.init}, σ0 = {self.sigma0:g}:"]
        for r in self.rows:
            lines.append(f"  N={r['depth']} ε={r['noise']:g}: low-rank phase t ∈ [{r['t_signal']:.3g}, "
                         f"{r['t_noise']:.3g}] (duration {r['duration']:.3g}, aligned prediction "
                         f"{r['predicted_duration']:.3g}); error to M: best {r['best_error']:.3g} "
                         f"at t={r['best_time']:.3g}, final {r['final_error']:.3g}")
        lines.append("  duration ∝ ε^slope: " + ", ".join(f"N={k}: {v:.3f}"
                                                         for k, v in self.slopes.items()))
        return "\n".join(lines)

    def to_dict_body(self) -> dict[str, Any]:
        return {"size": self.size, "rank": self.rank, "signal": self.signal,
                "sigma0": self.sigma0, "init": self.init, "rows": list(self.rows),
                "slopes": {str(k): v for k, v in self.slopes.items()}, "seconds": self.seconds}


def perturbation_experiment(size: int = 20, signal: Sequence[float] = (3.0, 2.0, 1.5),
                            noise: Sequence[float] = (0.05, 0.1, 0.2),
                            depths: Sequence[int] = (1, 2, 3, 4), *, sigma0: float = 1e-3,
                            init: str = "orthogonal", step_factor: float = 0.3,
                            max_steps: int = 200_000, seed: int = 0,
                            progress: bool = False) -> PerturbationExperiment:
    r"""Does the low-rank phase survive noise in the target, and for how long?  Measured.

    The target is ``Φ = M + εE`` with ``M`` of rank ``r`` (singular values ``signal``) and ``E``
    a Gaussian matrix of operator norm 1.  GD (step ``step_factor/(N σ_1(Φ)^{2−2/N})``) starts
    from a small non-aligned initialization (``init``: exactly balanced ``"orthogonal"`` or
    near-balanced ``"gaussian"``) and runs until the ``(r+1)``-th singular value has reached half
    of ``σ_{r+1}(Φ)``.  The aligned prediction uses the exact learning times of
    :func:`ibsym.deep_linear.learning.time_to_learn` from ``σ0``.
    """
    t0 = time.perf_counter()
    r = len(signal)
    M = random_low_rank((size, size), r, seed=seed, singular_values=signal)
    rng = np.random.default_rng(seed + 3)
    E = rng.standard_normal((size, size))
    E /= np.linalg.norm(E, 2)
    rows = []
    slopes: dict = {}
    with blas_threads(1), Progress("perturbation", total=len(depths) * len(noise),
                                   enabled=progress) as prog:
        for n in depths:
            n = check_depth(n, symbolic=False)
            durations = []
            tl = time_to_learn(n)
            for eps in noise:
                Phi = M + eps * E
                sv = np.linalg.svd(Phi, compute_uv=False)
                h = step_factor / (n * sv[0] ** (2 - 2 / n))
                scale = sigma0 if init == "orthogonal" else sigma0 ** (1 / n)
                layers = _initial_layers(regression(Phi), n, init, scale, seed)[0]
                ta = tb = None
                best, best_t, k = np.inf, 0.0, 0
                while k <= max_steps:
                    P = _prefix(layers)
                    W = P[-1]
                    s = np.linalg.svd(W, compute_uv=False)
                    err = float(np.linalg.norm(W - M) / np.linalg.norm(M))
                    if err < best:
                        best, best_t = err, k * h
                    if ta is None and s[r - 1] >= sv[r - 1] / 2:
                        ta = k * h
                    if tb is None and s[r] >= sv[r] / 2:
                        tb = k * h
                    if ta is not None and tb is not None:
                        break
                    for Wj, g in zip(layers, _grads(layers, P, W - Phi)):
                        Wj -= h * g
                    k += 1
                if tb is None:
                    raise InputError(f"N={n}, ε={eps:g}: the noise was not learned within "
                                     f"{max_steps} steps; raise max_steps")
                pa = tl.evaluate(target=sv[r - 1], sigma0=sigma0)
                pb = tl.evaluate(target=sv[r], sigma0=sigma0)
                rows.append({"depth": n, "noise": float(eps), "t_signal": ta, "t_noise": tb,
                             "duration": tb - ta, "predicted_t_signal": pa, "predicted_t_noise": pb,
                             "predicted_duration": pb - pa, "best_error": best, "best_time": best_t,
                             "final_error": float(np.linalg.norm(Phi - M) / np.linalg.norm(M)),
                             "steps": k, "h": h})
                durations.append(tb - ta)
                prog.update(f"N={n} ε={eps:g}: low-rank phase {tb - ta:.3g}")
            if n >= 2 and all(v > 0 for v in durations) and len(noise) >= 2:
                slopes[n] = fit_slope(noise, durations)
    return PerturbationExperiment(size, r, tuple(float(v) for v in signal), float(sigma0), init,
                                  tuple(rows), slopes, time.perf_counter() - t0)
