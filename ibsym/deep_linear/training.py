r"""Deep matrix factorization trained by full-batch GD in NumPy (:func:`train`).

The end-to-end matrix ``W_e = W_N ⋯ W_1`` is trained by ``W_j ← W_j − h ∂ℓ/∂W_j`` on a loss
``L(W_e)`` (:class:`ibsym.deep_linear.problems.MatrixProblem`).  One GD step costs
``3(N − 1)`` matrix products (prefix products forward, one backward sweep), and BLAS runs
single-threaded in the loop (:func:`ibsym.deep_linear.blas.blas_threads`).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from ibsym.core.errors import DivergenceError, InputError
from ibsym.core.progress import Progress
from ibsym.core.results import Result
from ibsym.deep_linear.blas import blas_threads
from ibsym.deep_linear.layers import (_grads, _prefix, balanced_factors, balancedness,
                                      effective_rank, end_to_end, gaussian_factors,
                                      orthogonal_factors)
from ibsym.deep_linear.problems import MatrixProblem
from ibsym.deep_linear.symbols import check_depth

__all__ = ["train", "FactorizationRun"]


# ============================================================================ training
@dataclass(frozen=True, eq=False)
class FactorizationRun(Result):
    """A GD run of a deep factorization.

    Attributes
    ----------
    depth : int
    h : float
    steps : int
        GD steps taken.
    times : ndarray
        Recorded times ``t = n h``.
    singular_values : ndarray (len(times), k)
        Singular values of ``W_e`` at those times, decreasing.
    losses : ndarray
    W : ndarray
        Final end-to-end matrix.
    layers : tuple of ndarray
        Final layers.
    imbalance : tuple of float
        ``balancedness`` at the start and the end.
    converged : bool
        Whether the relative residual reached ``tol``.
    seconds : float
    seed : int
    init : str
    """

    schema = "factorization-run"
    depth: int = 1
    h: float = 0.0
    steps: int = 0
    times: np.ndarray = None
    singular_values: np.ndarray = None
    losses: np.ndarray = None
    W: np.ndarray = None
    layers: tuple = ()
    imbalance: tuple = (0.0, 0.0)
    converged: bool = False
    seconds: float = 0.0
    seed: int = 0
    init: str = ""
    problem: str = ""

    def to_latex(self) -> str:
        return (r"W_e = W_{" + str(self.depth) + r"}\cdots W_1,\quad W_j \leftarrow W_j - h\,"
                r"\partial\ell/\partial W_j,\quad h = " + f"{self.h:.4g}" + r",\ " + str(self.steps)
                + r"\text{ steps}")

    def __str__(self) -> str:
        top = ", ".join(f"{v:.4g}" for v in self.singular_values[-1][:6])
        return (f"depth-{self.depth} factorization, {self.problem}: {self.steps} GD steps (h = "
                f"{self.h:.3g}, {self.seconds:.2f} s), final loss {self.losses[-1]:.3e}, "
                f"top singular values {top}, effective rank {effective_rank(self.W):.3f}")

    def to_dict_body(self) -> dict[str, Any]:
        return {"depth": self.depth, "h": self.h, "steps": self.steps, "times": self.times,
                "singular_values": self.singular_values, "losses": self.losses,
                "effective_rank": effective_rank(self.W), "imbalance": list(self.imbalance),
                "converged": self.converged, "seconds": self.seconds, "seed": self.seed,
                "init": self.init, "problem": self.problem}


def _initial_layers(problem: MatrixProblem, depth: int, init: Any, scale: float,
                    seed: int, start: Any = None) -> tuple[list[np.ndarray], str]:
    if isinstance(init, str) and init == "balanced":
        if start is None:
            raise InputError('init="balanced" needs start=W_e(0), the initial end-to-end matrix')
        init = np.asarray(start, float)
    elif start is not None:
        raise InputError('start=W_e(0) is used with init="balanced"')
    if isinstance(init, str):
        if init == "orthogonal":
            return orthogonal_factors(problem.shape, depth, scale, seed=seed), \
                f"orthogonal, end-to-end scale {scale:g}"
        if init == "gaussian":
            return gaussian_factors(problem.shape, depth, scale, seed=seed), \
                f"gaussian, layer scale {scale:g}"
        raise InputError(f"unknown initialization '{init}'; choose orthogonal, gaussian, "
                         "balanced (with start=W_e(0)), an end-to-end matrix or a list of layers")
    if isinstance(init, np.ndarray):
        if init.shape != problem.shape:
            raise InputError(f"initial end-to-end matrix has shape {init.shape}, expected "
                             f"{problem.shape}")
        return balanced_factors(init, depth, seed=seed), "balanced factors of a given W_e(0)"
    layers = [np.array(W, float) for W in init]
    if len(layers) != depth:
        raise InputError(f"{len(layers)} layers given for depth {depth}")
    if end_to_end(layers).shape != problem.shape:
        raise InputError("the product of the given layers does not have the problem's shape")
    return layers, "given layers"


def train(problem: MatrixProblem, depth: int, *, h: float, steps: int,
          init: Any = "orthogonal", scale: float = 1e-3, seed: int = 0, start: Any = None,
          record_every: int | None = None, tol: float | None = None, check_every: int = 100,
          progress: bool = False, threads: int | None = 1) -> FactorizationRun:
    r"""Train a depth-``N`` factorization of ``problem`` by full-batch GD.

    Parameters
    ----------
    problem : MatrixProblem
    depth : int
        Number of layers ``N`` (1 = plain GD on ``W``).
    h : float
        Step size.
    steps : int
        Maximum number of GD steps.
    init : {"orthogonal", "gaussian", "balanced"}, ndarray or list of ndarray
        ``"orthogonal"``: exactly balanced ``scale^{1/N} O_j`` (``W_e(0) = scale·Q``);
        ``"gaussian"``: near-balanced ``scale·G_j/√fan_in``; ``"balanced"`` (or a matrix):
        balanced factors of ``start`` (:func:`balanced_factors`); a list: the layers.
    scale : float, default 1e-3
    start : array_like, optional
        ``W_e(0)`` for ``init="balanced"``.
    seed : int
        Seeds the initialization (runs are reproducible).
    record_every : int, optional
        Record singular values every this many steps (default: ~200 records).
    tol : float, optional
        Stop when the relative residual ``sqrt(2L)/‖data‖`` falls below ``tol``
        (checked every ``check_every`` steps).
    progress : bool
        Progress lines on stderr.
    threads : int or None, default 1
        BLAS threads inside the loop (``None``: leave the library default).

    Returns
    -------
    FactorizationRun

    Raises
    ------
    DivergenceError
        With the step and the local stability threshold when the iterates blow up.

    Examples
    --------
    >>> import numpy as np
    >>> from ibsym.deep_linear.problems import regression
    >>> run = train(regression(np.diag([2.0, 1.0])), 2, h=0.05, steps=400, scale=0.01)
    >>> np.round(run.singular_values[-1], 6)
    array([2., 1.])
    """
    n = check_depth(depth, symbolic=False)
    if not h > 0:
        raise InputError(f"the step size h must be positive, got {h}")
    if steps < 0:
        raise InputError(f"steps must be non-negative, got {steps}")
    layers, how = _initial_layers(problem, n, init, scale, seed, start)
    layers = [W.copy() for W in layers]
    every = record_every or max(1, steps // 200)
    times, svs, losses = [], [], []
    imb0 = balancedness(layers)
    converged = False
    t0 = time.perf_counter()
    blow = 1e8 * (1.0 + problem.data_norm())
    pchunk = max(1, steps // 10)
    k = 0
    with blas_threads(threads), Progress(f"factorization N={n}", total=10, enabled=progress) as prog:
        P = _prefix(layers)
        while True:
            W = P[-1]
            if k % every == 0 or k == steps:
                times.append(k * h)
                svs.append(np.linalg.svd(W, compute_uv=False))
                losses.append(problem.loss(W))
            if tol is not None and (k % check_every == 0 or k == steps):
                if problem.relative_residual(W) <= tol:
                    converged = True
                    if times[-1] != k * h:
                        times.append(k * h)
                        svs.append(np.linalg.svd(W, compute_uv=False))
                        losses.append(problem.loss(W))
                    break
            if k == steps:
                break
            gs = _grads(layers, P, problem.grad(W))
            for Wj, g in zip(layers, gs):
                Wj -= h * g
            P = _prefix(layers)
            k += 1
            if not np.isfinite(P[-1]).all() or np.abs(P[-1]).max() > blow:
                top = float(svs[0][0]) if svs else 0.0
                thr = 2.0 / (n * max(top, problem.data_norm() / np.sqrt(min(problem.shape))) **
                             (2 - 2 / n) * problem.curvature())
                raise DivergenceError(
                    f"GD on the depth-{n} factorization diverged at h={h:g} (step {k}); the local "
                    f"stability threshold 2/λ_max ≈ 2/(N σ_max^(2−2/N) λ_max(∇²L)) ≈ {thr:.3g} -- "
                    "try a smaller h")
            if progress and k % pchunk == 0:
                prog.update(f"step {k}, loss {problem.loss(P[-1]):.3e}")
    return FactorizationRun(n, float(h), k, np.array(times), np.array(svs), np.array(losses),
                            P[-1].copy(), tuple(layers), (imb0, balancedness(layers)), converged,
                            time.perf_counter() - t0, int(seed), how, problem.describe())
