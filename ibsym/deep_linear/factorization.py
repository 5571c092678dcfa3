r"""Deep matrix factorization in NumPy: GD training, completion, sensing, nuclear norm, experiments.

The end-to-end matrix ``W_e = W_N ⋯ W_1`` is trained by full-batch gradient descent
``W_j ← W_j − h ∂ℓ/∂W_j`` on a loss ``L(W_e)`` of one of three kinds (:class:`MatrixProblem`):

* ``regression`` (whitened regression / denoising): ``L = ½‖W − Φ‖_F²``;
* ``completion``: ``L = ½ Σ_{(i,j)∈Ω} (W_ij − M_ij)²`` (sum over the observed entries);
* ``sensing``: ``L = ½ Σ_k (⟨A_k, W⟩ − y_k)²``.

One GD step costs ``3(N − 1)`` matrix products (prefix products forward, one backward sweep),
and BLAS runs single-threaded in the loop (:func:`blas_threads`): for 100×100 matrices a
multi-threaded BLAS only adds synchronization, and on a loaded machine it can be 100× slower.

The experiments compare the runs with the symbolic predictions of :mod:`ibsym.deep_linear.spectral`:
singular-value trajectories by depth (:func:`trajectory_sweep`), the singular-value flow law
along GD from near-balanced initializations (:func:`imbalance_sweep`), low-rank recovery by
depth against the minimum nuclear-norm solution (:func:`recovery_experiment`,
:func:`min_nuclear_norm`), the low-rank phase under a noisy target
(:func:`perturbation_experiment`) and the finite-step correction of the singular-value flow
(:func:`finite_step_check`).

Examples
--------
>>> import numpy as np
>>> layers = balanced_factors(np.diag([3.0, 1.0]), 3, seed=0)
>>> np.allclose(end_to_end(layers), np.diag([3.0, 1.0])), balancedness(layers) < 1e-12
(True, True)
>>> round(effective_rank(np.diag([1.0, 1.0, 0.0])), 12)
2.0
"""
from __future__ import annotations

import contextlib
import ctypes
import functools
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp
from scipy.integrate import solve_ivp

from ibsym.core.errors import DivergenceError, InputError, IntegrationError
from ibsym.numeric.kernels import compile_vector
from ibsym.core.progress import Progress
from ibsym.core.results import Result
from ibsym.deep_linear.spectral import (SIGMA, SIGMA0, S, T, check_depth, finite_step_flow, solve_flow,
                       time_to_learn)

__all__ = [
    "blas_threads", "random_orthogonal", "balanced_factors", "orthogonal_factors",
    "gaussian_factors", "end_to_end", "layer_gradients", "end_to_end_velocity",
    "end_to_end_field", "balancedness", "effective_rank", "fit_slope",
    "MatrixProblem", "regression", "completion", "sensing", "random_low_rank", "random_mask",
    "train", "FactorizationRun", "min_nuclear_norm", "NuclearNormSolution",
    "predicted_singular_values", "trajectory_sweep", "TrajectorySweep",
    "imbalance_sweep", "ImbalanceSweep", "recovery_experiment", "RecoveryExperiment",
    "completion_experiment", "sensing_experiment",
    "perturbation_experiment", "PerturbationExperiment",
    "finite_step_check", "FiniteStepCheck", "end_to_end_check", "EndToEndCheck",
    "modified_singular_value_at", "seeded_completion_instance",
]


# ============================================================================ BLAS threads
@functools.lru_cache(maxsize=1)
def _blas_controls() -> tuple[tuple[Any, Any], ...]:
    """(set, get) pairs of the OpenBLAS libraries loaded in this process (Linux)."""
    names = (("scipy_openblas_set_num_threads64_", "scipy_openblas_get_num_threads64_"),
             ("scipy_openblas_set_num_threads", "scipy_openblas_get_num_threads"),
             ("openblas_set_num_threads64_", "openblas_get_num_threads64_"),
             ("openblas_set_num_threads", "openblas_get_num_threads"))
    out = []
    try:
        with open("/proc/self/maps", encoding="utf-8") as fh:
            paths = sorted({ln.split()[-1] for ln in fh if "openblas" in ln and ".so" in ln})
    except OSError:  # pragma: no cover - not Linux
        return ()
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:  # pragma: no cover
            continue
        for set_name, get_name in names:
            if hasattr(lib, set_name) and hasattr(lib, get_name):
                out.append((getattr(lib, set_name), getattr(lib, get_name)))
                break
    return tuple(out)


@contextlib.contextmanager
def blas_threads(n: int | None) -> Iterator[None]:
    """Run the block with ``n`` OpenBLAS threads (``None``: unchanged), then restore.

    Examples
    --------
    >>> with blas_threads(1):
    ...     pass
    """
    controls = _blas_controls() if n is not None else ()
    old = [get() for _, get in controls]
    for set_, _ in controls:
        set_(int(n))
    try:
        yield
    finally:
        for (set_, _), v in zip(controls, old):
            set_(int(v))


# ============================================================================ building blocks
def random_orthogonal(d: int, rng: np.random.Generator) -> np.ndarray:
    """A Haar-random orthogonal ``d×d`` matrix."""
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.sign(np.diag(r))


def balanced_factors(target: np.ndarray, depth: int, *, seed: int = 0) -> list[np.ndarray]:
    r"""Balanced layers with product ``target``: ``W_1 = O_1 S^{1/N} V^T``, ``W_j = O_j S^{1/N}
    O_{j-1}^T``, ``W_N = U S^{1/N} O_{N-1}^T`` (``target = U S V^T``, ``O_j`` random orthogonal).

    Hidden widths are ``min(m, n)``; ``W_{j+1}^T W_{j+1} = W_j W_j^T`` for every ``j``.
    """
    n = check_depth(depth, symbolic=False)
    target = np.asarray(target, float)
    if target.ndim != 2:
        raise InputError("the target of balanced_factors must be a matrix")
    U, s, Vt = np.linalg.svd(target, full_matrices=False)
    k = len(s)
    root = np.diag(s ** (1.0 / n))
    rng = np.random.default_rng(seed)
    O = [Vt.T] + [random_orthogonal(k, rng) for _ in range(n - 1)] + [U]
    return [O[j + 1] @ root @ O[j].T for j in range(n)]


def orthogonal_factors(shape: tuple[int, int], depth: int, scale: float, *,
                       seed: int = 0) -> list[np.ndarray]:
    """Exactly balanced layers ``scale^{1/N} O_j`` (square hidden layers): ``W_e(0) = scale·Q``."""
    m, n_in = shape
    d = max(m, n_in)
    rng = np.random.default_rng(seed)
    a = float(scale) ** (1.0 / depth)
    dims = [n_in] + [d] * (depth - 1) + [m]
    return [a * random_orthogonal(d, rng)[: dims[j + 1], : dims[j]] for j in range(depth)]


def gaussian_factors(shape: tuple[int, int], depth: int, scale: float, *, seed: int = 0,
                     hidden: int | None = None) -> list[np.ndarray]:
    """Near-balanced layers ``scale · G_j / sqrt(fan_in)`` (imbalance ``O(scale²)``)."""
    m, n_in = shape
    d = hidden or max(m, n_in)
    rng = np.random.default_rng(seed)
    dims = [n_in] + [d] * (depth - 1) + [m]
    return [scale * rng.standard_normal((dims[j + 1], dims[j])) / np.sqrt(dims[j])
            for j in range(depth)]


def _prefix(layers: Sequence[np.ndarray]) -> list[np.ndarray]:
    P = [layers[0]]
    for W in layers[1:]:
        P.append(W @ P[-1])
    return P


def end_to_end(layers: Sequence[np.ndarray]) -> np.ndarray:
    """``W_N ⋯ W_1``."""
    return _prefix(layers)[-1]


def _grads(layers: Sequence[np.ndarray], P: Sequence[np.ndarray], G: np.ndarray) -> list[np.ndarray]:
    """``∂ℓ/∂W_j = A_j^T G B_j^T`` with one backward sweep (``R_j = A_j^T G``)."""
    n = len(layers)
    out: list[np.ndarray] = [None] * n  # type: ignore[list-item]
    R = G
    for j in range(n - 1, -1, -1):
        out[j] = R @ P[j - 1].T if j > 0 else R
        if j > 0:
            R = layers[j].T @ R
    return out


def layer_gradients(layers: Sequence[np.ndarray], grad_e: np.ndarray) -> list[np.ndarray]:
    """``∂ℓ/∂W_j = (W_N⋯W_{j+1})^T ∇L(W_e) (W_{j-1}⋯W_1)^T`` for every layer."""
    return _grads(layers, _prefix(layers), np.asarray(grad_e, float))


def end_to_end_velocity(layers: Sequence[np.ndarray], grad_e: np.ndarray) -> np.ndarray:
    """``Ẇ_e`` of the layerwise gradient flow (product rule, no balancedness assumed)."""
    P = _prefix(layers)
    gs = _grads(layers, P, grad_e)
    n = len(layers)
    out = np.zeros_like(P[-1])
    A = np.eye(layers[-1].shape[0])
    for j in range(n - 1, -1, -1):
        B = P[j - 1] if j > 0 else np.eye(layers[0].shape[1])
        out -= A @ gs[j] @ B
        A = A @ layers[j]
    return out


def _psd_power(M: np.ndarray, p: float) -> np.ndarray:
    lam, Q = np.linalg.eigh(0.5 * (M + M.T))
    return (Q * np.clip(lam, 0.0, None) ** p) @ Q.T


def end_to_end_field(W: np.ndarray, grad_e: np.ndarray, depth: int) -> np.ndarray:
    r"""``−Σ_j (W W^T)^{(N−j)/N} ∇L (W^T W)^{(j−1)/N}``: the balanced end-to-end dynamics
    with the exponents derived in :func:`ibsym.deep_linear.spectral.end_to_end_dynamics`."""
    n = check_depth(depth, symbolic=False)
    A, B = W @ W.T, W.T @ W
    return -sum(_psd_power(A, (n - j) / n) @ grad_e @ _psd_power(B, (j - 1) / n)
                for j in range(1, n + 1))


def balancedness(layers: Sequence[np.ndarray]) -> float:
    """``max_j ‖W_{j+1}^T W_{j+1} − W_j W_j^T‖_F`` (0 for balanced layers)."""
    return max((float(np.linalg.norm(layers[j + 1].T @ layers[j + 1] - layers[j] @ layers[j].T))
                for j in range(len(layers) - 1)), default=0.0)


def effective_rank(W: np.ndarray | Sequence[float], *, singular_values: bool = False) -> float:
    r"""Effective rank ``exp(H(p))``, ``p_i = σ_i / Σ σ`` (Roy & Vetterli 2007).

    ``k`` equal non-zero singular values give exactly ``k``.

    Examples
    --------
    >>> effective_rank([2.0, 2.0, 2.0], singular_values=True)
    3.0
    """
    s = np.asarray(W, float) if singular_values else np.linalg.svd(np.asarray(W, float),
                                                                    compute_uv=False)
    s = np.abs(s)
    if s.sum() == 0:
        return 0.0
    p = s / s.sum()
    p = p[p > 0]
    return round(float(np.exp(-(p * np.log(p)).sum())), 13)


def fit_slope(x: Sequence[float], y: Sequence[float]) -> float:
    """Least-squares slope of ``log y`` against ``log x``.

    Examples
    --------
    >>> round(fit_slope([1, 2, 4], [1, 4, 16]), 12)
    2.0
    """
    x, y = np.log(np.asarray(x, float)), np.log(np.asarray(y, float))
    if len(x) < 2 or not np.all(np.isfinite(y)):
        raise InputError("fitting a slope needs at least two positive finite values")
    return float(np.polyfit(x, y, 1)[0])


# ============================================================================ problems
@dataclass(frozen=True, eq=False)
class MatrixProblem:
    """A loss on the end-to-end matrix: ``regression``, ``completion`` or ``sensing``.

    Attributes
    ----------
    kind : str
    shape : tuple of int
    target : ndarray or None
        Φ (regression) or the matrix whose entries are observed (completion).
    mask : ndarray of bool or None
        Observed entries (completion).
    A : ndarray (m, rows·cols) or None
        Measurement matrices, flattened row-major (sensing).
    y : ndarray or None
        Measurements (sensing).
    truth : ndarray or None
        Ground truth for reporting errors (not used by the loss).
    """

    kind: str
    shape: tuple[int, int]
    target: np.ndarray | None = None
    mask: np.ndarray | None = None
    A: np.ndarray | None = None
    y: np.ndarray | None = None
    truth: np.ndarray | None = None

    def grad(self, W: np.ndarray) -> np.ndarray:
        """∇L(W)."""
        if self.kind == "regression":
            return W - self.target
        if self.kind == "completion":
            return self.mask * (W - self.target)
        r = self.A @ W.ravel() - self.y
        return (self.A.T @ r).reshape(self.shape)

    def loss(self, W: np.ndarray) -> float:
        """L(W)."""
        if self.kind == "regression":
            return 0.5 * float(np.sum((W - self.target) ** 2))
        if self.kind == "completion":
            return 0.5 * float(np.sum((self.mask * (W - self.target)) ** 2))
        return 0.5 * float(np.sum((self.A @ W.ravel() - self.y) ** 2))

    def data_norm(self) -> float:
        """Norm of the data (‖Φ‖, ‖P_Ω M‖ or ‖y‖), the scale of the relative residual."""
        if self.kind == "regression":
            return float(np.linalg.norm(self.target))
        if self.kind == "completion":
            return float(np.linalg.norm(self.mask * self.target))
        return float(np.linalg.norm(self.y))

    def relative_residual(self, W: np.ndarray) -> float:
        return float(np.sqrt(2 * self.loss(W)) / self.data_norm())

    def curvature(self) -> float:
        """Largest eigenvalue of ∇²L (1 for regression/completion, ‖A‖² for sensing)."""
        if self.kind in ("regression", "completion"):
            return 1.0
        return float(np.linalg.norm(self.A, 2) ** 2)

    @property
    def n_observations(self) -> int:
        if self.kind == "completion":
            return int(self.mask.sum())
        if self.kind == "sensing":
            return int(len(self.y))
        return int(np.prod(self.shape))

    def describe(self) -> str:
        m, n = self.shape
        if self.kind == "regression":
            return f"regression ½‖W − Φ‖², {m}×{n}"
        if self.kind == "completion":
            return f"completion of a {m}×{n} matrix from {self.n_observations} entries"
        return f"sensing of a {m}×{n} matrix from {self.n_observations} Gaussian measurements"


def regression(target: np.ndarray, *, truth: np.ndarray | None = None) -> MatrixProblem:
    """``L = ½‖W − Φ‖²``."""
    t = np.asarray(target, float)
    return MatrixProblem("regression", t.shape, target=t, truth=truth)


def completion(M: np.ndarray, mask: np.ndarray, *, truth: np.ndarray | None = None) -> MatrixProblem:
    """``L = ½ Σ_{Ω} (W_ij − M_ij)²`` (unobserved entries of ``M`` are ignored)."""
    M, mask = np.asarray(M, float), np.asarray(mask, bool)
    if M.shape != mask.shape:
        raise InputError(f"mask shape {mask.shape} differs from the matrix shape {M.shape}")
    if not mask.any():
        raise InputError("the mask observes no entry")
    return MatrixProblem("completion", M.shape, target=np.where(mask, M, 0.0), mask=mask,
                         truth=M if truth is None else truth)


def sensing(A: np.ndarray, y: np.ndarray, shape: tuple[int, int], *,
            truth: np.ndarray | None = None) -> MatrixProblem:
    """``L = ½ Σ_k (⟨A_k, W⟩ − y_k)²`` with ``A`` of shape (m, rows·cols)."""
    A, y = np.asarray(A, float), np.asarray(y, float)
    if A.ndim != 2 or A.shape[1] != shape[0] * shape[1] or A.shape[0] != y.shape[0]:
        raise InputError("sensing needs A of shape (m, rows*cols) and y of length m")
    return MatrixProblem("sensing", tuple(shape), A=A, y=y, truth=truth)


def random_low_rank(shape: tuple[int, int], rank: int, *, seed: int = 0,
                    singular_values: Sequence[float] | None = None) -> np.ndarray:
    """A random rank-``r`` matrix: Gaussian factors scaled to unit RMS entries, or random
    singular vectors with the given singular values."""
    m, n = shape
    if not 1 <= rank <= min(m, n):
        raise InputError(f"rank must lie in 1..{min(m, n)}, got {rank}")
    rng = np.random.default_rng(seed)
    if singular_values is not None:
        s = np.asarray(singular_values, float)
        if len(s) != rank:
            raise InputError("give one singular value per rank")
        U = random_orthogonal(m, rng)[:, :rank]
        V = random_orthogonal(n, rng)[:, :rank]
        return (U * s) @ V.T
    M = rng.standard_normal((m, rank)) @ rng.standard_normal((rank, n))
    return M * np.sqrt(m * n) / np.linalg.norm(M)


def random_mask(shape: tuple[int, int], n_obs: int, *, seed: int = 0) -> np.ndarray:
    """``n_obs`` entries chosen uniformly without replacement."""
    m, n = shape
    if not 1 <= n_obs <= m * n:
        raise InputError(f"the number of observed entries must lie in 1..{m * n}, got {n_obs}")
    rng = np.random.default_rng(seed)
    mask = np.zeros(m * n, bool)
    mask[rng.choice(m * n, n_obs, replace=False)] = True
    return mask.reshape(m, n)


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


# ============================================================================ nuclear norm
@dataclass(frozen=True, eq=False)
class NuclearNormSolution(Result):
    r"""``min ‖X‖_*`` subject to the observations, with its optimality certificate.

    Attributes
    ----------
    X : ndarray
    nuclear_norm : float
    dual_bound : float
        ``⟨y, λ⟩`` for a dual-feasible ``λ`` (operator norm of the adjoint ≤ 1): a lower bound.
    gap : float
        Relative duality gap ``(‖X‖_* − dual_bound)/‖X‖_*``.
    constraint_residual : float
        Relative violation of the constraints.
    iterations : int
    """

    schema = "nuclear-norm"
    X: np.ndarray = None
    nuclear_norm: float = 0.0
    dual_bound: float = 0.0
    gap: float = 0.0
    constraint_residual: float = 0.0
    iterations: int = 0
    seconds: float = 0.0
    converged: bool = False

    def to_latex(self) -> str:
        return (r"\min_X \|X\|_* \ \text{s.t. the observations},\quad \|X^\star\|_* = "
                + f"{self.nuclear_norm:.6g}" + r",\ \text{duality gap } " + f"{self.gap:.1e}")

    def __str__(self) -> str:
        return (f"min ‖X‖_* = {self.nuclear_norm:.6g} (dual bound {self.dual_bound:.6g}, relative "
                f"gap {self.gap:.1e}, constraint residual {self.constraint_residual:.1e}, "
                f"{self.iterations} iterations, effective rank {effective_rank(self.X):.3f})")

    def to_dict_body(self) -> dict[str, Any]:
        return {"nuclear_norm": self.nuclear_norm, "dual_bound": self.dual_bound, "gap": self.gap,
                "constraint_residual": self.constraint_residual, "iterations": self.iterations,
                "seconds": self.seconds, "converged": self.converged,
                "effective_rank": effective_rank(self.X),
                "singular_values": np.linalg.svd(self.X, compute_uv=False)}


def _svt(Z: np.ndarray, tau: float) -> np.ndarray:
    U, s, Vt = np.linalg.svd(Z, full_matrices=False)
    s = np.maximum(s - tau, 0.0)
    k = int((s > 0).sum())
    return (U[:, :k] * s[:k]) @ Vt[:k]


def min_nuclear_norm(problem: MatrixProblem, *, gamma: float | None = None, tol: float = 1e-9,
                     max_iter: int = 20000, progress: bool = False,
                     threads: int | None = 1) -> NuclearNormSolution:
    r"""Minimum nuclear-norm matrix consistent with the observations (completion or sensing).

    Douglas--Rachford splitting of ``‖X‖_* + ι{X : 𝒜(X) = b}``: the proximal step of the
    nuclear norm is singular-value thresholding, the other step the projection onto the affine
    set (``X_Ω ← b`` for completion; ``X − 𝒜^*(𝒜𝒜^*)^{-1}(𝒜X − y)`` for sensing).  The
    scaled difference ``(Z − X)/γ`` converges to a dual certificate; rescaled to operator norm
    ≤ 1 it gives the lower bound reported as :attr:`NuclearNormSolution.dual_bound`.

    Parameters
    ----------
    problem : MatrixProblem
        ``completion`` or ``sensing``.
    gamma : float, optional
        Prox parameter (default: ‖data‖/√(number of observations)).
    tol : float
        Stop when the relative change of the iterate falls below ``tol``.
    max_iter : int

    Returns
    -------
    NuclearNormSolution

    Examples
    --------
    >>> import numpy as np
    >>> sol = min_nuclear_norm(completion(np.ones((2, 2)), np.array([[1, 1], [1, 0]], bool)))
    >>> np.round(sol.X, 6), round(sol.nuclear_norm, 6)      # the rank-one completion
    (array([[1., 1.],
           [1., 1.]]), 2.0)
    """
    if problem.kind not in ("completion", "sensing"):
        raise InputError("the minimum nuclear-norm problem needs observations: completion or "
                         "sensing (for regression the answer is Φ itself)")
    t0 = time.perf_counter()
    if problem.kind == "completion":
        mask, b = problem.mask, problem.target[problem.mask]

        def project(X: np.ndarray) -> np.ndarray:
            Y = X.copy()
            Y[mask] = b
            return Y

        def adjoint_pairing(D: np.ndarray) -> tuple[float, np.ndarray]:
            Dm = np.where(mask, D, 0.0)
            return float(np.sum(Dm[mask] * b)), Dm
        Z = np.where(mask, problem.target, 0.0)
    else:
        A, y = problem.A, problem.y
        chol = np.linalg.cholesky(A @ A.T)

        def solve_aat(r: np.ndarray) -> np.ndarray:
            return np.linalg.solve(chol.T, np.linalg.solve(chol, r))

        def project(X: np.ndarray) -> np.ndarray:
            r = A @ X.ravel() - y
            return X - (A.T @ solve_aat(r)).reshape(problem.shape)

        def adjoint_pairing(D: np.ndarray) -> tuple[float, np.ndarray]:
            lam = solve_aat(A @ D.ravel())                    # D ≈ 𝒜^*(λ) in the range
            return float(lam @ y), (A.T @ lam).reshape(problem.shape)
        Z = project(np.zeros(problem.shape))
    g = gamma if gamma is not None else problem.data_norm() / np.sqrt(problem.n_observations)
    it, converged = 0, False
    with blas_threads(threads), Progress("nuclear norm", enabled=progress) as prog:
        X = _svt(Z, g)
        for it in range(1, max_iter + 1):
            X = _svt(Z, g)
            Y = project(2 * X - Z)
            dz = Y - X
            Z = Z + dz
            if np.linalg.norm(dz) <= tol * max(1.0, np.linalg.norm(X)):
                converged = True
                break
            if progress and it % 500 == 0:
                prog.update(f"iteration {it}, change {np.linalg.norm(dz):.2e}")
    X = project(X)
    nuc = float(np.linalg.svd(X, compute_uv=False).sum())
    pair, Dfull = adjoint_pairing((Z - _svt(Z, g)) / g)
    opn = float(np.linalg.norm(Dfull, 2))
    bound = pair / opn if opn > 0 else 0.0
    if problem.kind == "completion":
        res = float(np.linalg.norm(X[problem.mask] - problem.target[problem.mask]))
    else:
        res = float(np.linalg.norm(problem.A @ X.ravel() - problem.y))
    return NuclearNormSolution(X, nuc, bound, (nuc - bound) / max(nuc, 1e-300),
                               res / problem.data_norm(), it, time.perf_counter() - t0, converged)


# ============================================================================ predictions
@functools.lru_cache(maxsize=64)
def _compiled_solution(depth: int, target: float, sigma0: float) -> tuple[str, Any]:
    sol = solve_flow(depth)
    rep = {S: sp.nsimplify(target, rational=True), SIGMA0: sp.nsimplify(sigma0, rational=True)}
    if sol.is_closed_form:
        return "closed", compile_vector([sol.sigma_expr.xreplace(rep)], [T])
    return "implicit", compile_vector([sol.time_expr.xreplace(rep)], [SIGMA])


def predicted_singular_values(depth: int, target: float, sigma0: float, times: Sequence[float],
                              *, method: str = "solution") -> np.ndarray:
    r"""σ(t) of one mode of whitened regression at many times.

    ``method="solution"``: the closed form (depths 1, 2) or the implicit solution ``t(σ)`` of
    :func:`ibsym.deep_linear.spectral.solve_flow`, inverted by vectorized bisection in
    ``q = −log|1 − σ/s|``; ``method="ode"``: ``solve_ivp`` (DOP853, rtol 1e-12) of the derived
    flow.  The two routes are independent checks of each other.
    """
    n = check_depth(depth, symbolic=False)
    t = np.asarray(times, float)
    s, s0 = float(target), float(sigma0)
    if s0 == s or (s0 == 0 and n >= 2):
        return np.full_like(t, s0)
    if method == "ode":
        flow = solve_flow(n).flow.rhs.xreplace({S: sp.nsimplify(s, rational=True)})
        f = compile_vector([flow], [SIGMA])
        order = np.argsort(t)
        sol = solve_ivp(lambda _t, y: f(np.abs(y)[None, :])[0], (0.0, float(t.max())), [s0],
                        method="DOP853", rtol=1e-12, atol=1e-14, t_eval=t[order])
        if not sol.success:  # pragma: no cover
            raise IntegrationError(f"the singular-value flow could not be integrated: {sol.message}")
        out = np.empty_like(t)
        out[order] = sol.y[0]
        return out
    if method != "solution":
        raise InputError(f"method must be 'solution' or 'ode', got {method!r}")
    if solve_flow(n).uses_quadrature:       # RootSum antiderivative: integrate the flow instead
        return predicted_singular_values(n, s, s0, t, method="ode")
    kind, fn = _compiled_solution(n, s, s0)
    if kind == "closed":
        with np.errstate(over="ignore", invalid="ignore"):
            v = fn(t[None, :])[0]
        return np.where(np.isfinite(v), v, s)
    sign = 1.0 if s0 < s else -1.0
    q0 = -np.log(abs(1 - s0 / s))

    def tt(q: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return fn((s * (1 - sign * np.exp(-q)))[None, :])[0]

    qmax = 36.0                                  # σ within 1e-16 of s
    lo = np.full_like(t, q0)
    hi = np.full_like(t, qmax)
    done = tt(np.array([qmax]))[0] < t           # beyond double precision: σ = s
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        below = tt(mid) < t
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    out = s * (1 - sign * np.exp(-0.5 * (lo + hi)))
    out = np.where(done, s, out)
    return np.where(t <= 0, s0, out)


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
    ``duration`` (the low-rank phase), the same from :func:`ibsym.deep_linear.spectral.time_to_learn`
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
    :func:`ibsym.deep_linear.spectral.time_to_learn` from ``σ0``.
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


# ============================================================================ finite step
@dataclass(frozen=True, eq=False)
class FiniteStepCheck(Result):
    r"""GD on a balanced scalar depth-``N`` factorization vs the singular-value flow without and
    with the derived ``h``-correction: global error on ``[T/2, T]`` and fitted orders (1 and 2).
    """

    schema = "finite-step-check"
    depth: int = 2
    target: float = 1.0
    sigma0: float = 0.0
    T: float = 0.0
    steps: tuple = ()
    errors0: tuple = ()
    errors1: tuple = ()
    slope0: float = 0.0
    slope1: float = 0.0
    flow: Any = None

    def to_latex(self) -> str:
        return (r"\text{slopes: } \dot\sigma = F_0:\ " + f"{self.slope0:.3f}"
                + r",\quad \dot\sigma = F_0 + hF_1:\ " + f"{self.slope1:.3f}")

    def __str__(self) -> str:
        rows = ", ".join(f"h={h:g}: {a:.2e} / {b:.2e}" for h, a, b in
                         zip(self.steps, self.errors0, self.errors1))
        return (f"depth {self.depth}, s = {self.target:g}, σ0 = {self.sigma0:g}: error of "
                f"F_0 / F_0 + hF_1 on [T/2, T]: {rows}; slopes {self.slope0:.3f} (expected 1), "
                f"{self.slope1:.3f} (expected 2)")

    def to_dict_body(self) -> dict[str, Any]:
        return {"depth": self.depth, "target": self.target, "sigma0": self.sigma0, "T": self.T,
                "steps": self.steps, "errors0": self.errors0, "errors1": self.errors1,
                "slope0": self.slope0, "slope1": self.slope1,
                "flow": None if self.flow is None else self.flow.to_dict_body()}


def finite_step_check(depth: int = 2, target: float = 1.0, sigma0: float = 0.2, T: float = 2.0,
                      steps: Sequence[float] = (0.04, 0.02, 0.01, 0.005)) -> FiniteStepCheck:
    r"""GD iterates ``σ_n = Π_k w_k,n`` (balanced start ``w_k = σ_0^{1/N}``) vs the flows
    ``σ̇ = F_0(σ)`` and ``σ̇ = F_0(σ) + h F_1(σ)`` of :func:`ibsym.deep_linear.spectral.finite_step_flow`."""
    n = check_depth(depth, symbolic=False)
    fs = finite_step_flow(n, sp.nsimplify(target, rational=True))
    f0 = compile_vector([fs.flow0], [SIGMA])
    f1 = compile_vector([fs.flow1], [SIGMA])
    e0, e1 = [], []
    for h in steps:
        m = int(round(T / h))
        if abs(m * h - T) > 1e-9:
            raise InputError(f"step size {h:g} does not divide T={T:g}")
        w = np.full(n, float(sigma0) ** (1.0 / n))
        sig = np.empty(m + 1)
        sig[0] = np.prod(w)
        for k in range(m):
            p = np.prod(w)
            w = w - h * (p - target) * p / w
            sig[k + 1] = np.prod(w)
        tt = np.arange(m + 1) * h
        out = []
        for c in (0.0, h):
            sol = solve_ivp(lambda _t, y, c=c: f0(y[None, :])[0] + c * f1(y[None, :])[0],
                            (0.0, T), [float(sigma0)], method="DOP853", rtol=1e-13, atol=1e-15,
                            t_eval=tt)
            keep = tt >= T / 2 - 1e-12
            out.append(float(np.max(np.abs(sol.y[0][keep] - sig[keep]))))
        e0.append(out[0])
        e1.append(out[1])
    return FiniteStepCheck(n, float(target), float(sigma0), float(T), tuple(map(float, steps)),
                           tuple(e0), tuple(e1), fit_slope(steps, e0), fit_slope(steps, e1), fs)


# ============================================================================ end-to-end check
@dataclass(frozen=True, eq=False)
class EndToEndCheck(Result):
    r"""Layerwise gradient flow vs the derived end-to-end flow from balanced factors.

    ``deviation[i]`` = ‖W_e^{layers}(t_i) − W_e^{end-to-end}(t_i)‖_max; ``imbalance`` = max over the
    times of the balancedness residual of the layerwise flow; ``diagonal_rate`` = ``u_r^TẆ_ev_r``
    at t = 0 next to ``−N σ_r^{2−2/N}⟨∇L, u_rv_r^T⟩``.
    """

    schema = "end-to-end-check"
    depth: int = 3
    times: tuple = ()
    deviation: tuple = ()
    imbalance: float = 0.0
    diagonal_rate: tuple = ()
    predicted_rate: tuple = ()
    rtol: float = 1e-11

    def to_latex(self) -> str:
        return (r"\max_t \|W_e^{\text{layers}}(t) - W_e^{\text{end-to-end}}(t)\|_{\max} = "
                + f"{max(self.deviation):.1e}")

    def __str__(self) -> str:
        return (f"depth {self.depth}: layerwise vs end-to-end flow, max deviation "
                + ", ".join(f"t={t:g}: {d:.1e}" for t, d in zip(self.times, self.deviation))
                + f"; balancedness residual ≤ {self.imbalance:.1e}; u_rᵀẆv_r at t=0: "
                + ", ".join(f"{a:.8f}" for a in self.diagonal_rate) + " (flow law: "
                + ", ".join(f"{a:.8f}" for a in self.predicted_rate) + ")")

    def to_dict_body(self) -> dict[str, Any]:
        return {"depth": self.depth, "times": self.times, "deviation": self.deviation,
                "imbalance": self.imbalance, "diagonal_rate": self.diagonal_rate,
                "predicted_rate": self.predicted_rate, "rtol": self.rtol}


def end_to_end_check(problem: MatrixProblem, W0: np.ndarray, depth: int = 3, *,
                     times: Sequence[float] = (0.5, 1.0, 2.0), seed: int = 0,
                     rtol: float = 1e-11) -> EndToEndCheck:
    """Integrate the layerwise flow from balanced factors of ``W0`` and the end-to-end flow from
    ``W0`` (DOP853) and compare them (``formulas.md`` §5.2 check)."""
    n = check_depth(depth, symbolic=False)
    layers = balanced_factors(W0, n, seed=seed)
    shapes = [W.shape for W in layers]
    sizes = [W.size for W in layers]
    cuts = np.cumsum([0] + sizes)

    def unpack(y: np.ndarray) -> list[np.ndarray]:
        return [y[cuts[i]:cuts[i + 1]].reshape(shapes[i]) for i in range(n)]

    def rhs_layers(_t: float, y: np.ndarray) -> np.ndarray:
        Ls = unpack(y)
        P = _prefix(Ls)
        return -np.concatenate([g.ravel() for g in _grads(Ls, P, problem.grad(P[-1]))])

    def rhs_e2e(_t: float, y: np.ndarray) -> np.ndarray:
        W = y.reshape(W0.shape)
        return end_to_end_field(W, problem.grad(W), n).ravel()

    te = np.asarray(times, float)
    with blas_threads(1):
        a = solve_ivp(rhs_layers, (0, te.max()), np.concatenate([W.ravel() for W in layers]),
                      method="DOP853", rtol=rtol, atol=rtol, t_eval=te)
        b = solve_ivp(rhs_e2e, (0, te.max()), W0.ravel().astype(float), method="DOP853",
                      rtol=rtol, atol=rtol, t_eval=te)
    if not (a.success and b.success):  # pragma: no cover
        raise IntegrationError("the layerwise or end-to-end flow could not be integrated")
    dev, imb = [], 0.0
    for k in range(len(te)):
        Ls = unpack(a.y[:, k])
        dev.append(float(np.max(np.abs(end_to_end(Ls) - b.y[:, k].reshape(W0.shape)))))
        imb = max(imb, balancedness(Ls))
    G = problem.grad(W0)
    U, s, Vt = np.linalg.svd(W0)
    Wdot = end_to_end_velocity(layers, G)
    diag = np.einsum("ir,ij,rj->r", U, Wdot, Vt)
    pred = -n * s ** (2 - 2 / n) * np.einsum("ir,ij,rj->r", U, G, Vt)
    return EndToEndCheck(n, tuple(map(float, te)), tuple(dev), imb, tuple(map(float, diag)),
                         tuple(map(float, pred)), rtol)


def modified_singular_value_at(depth: int, target: float, sigma0: float, t: float,
                               h: float) -> dict[str, float]:
    """σ(t) of the flow ``F_0`` and of the first-order modified flow ``F_0 + h F_1`` (GD with
    step ``h``, :func:`ibsym.deep_linear.spectral.finite_step_flow`), and of the GD iterates themselves
    (balanced scalar layers; ``t/h`` rounded to an integer number of steps).

    Examples
    --------
    >>> v = modified_singular_value_at(2, 1.0, 0.2, 1.0, 0.05)
    >>> abs(v["modified"] - v["gd"]) < abs(v["flow"] - v["gd"])
    True
    """
    n = check_depth(depth, symbolic=False)
    if not h > 0:
        raise InputError(f"the step size h must be positive, got {h}")
    fs = finite_step_flow(n, sp.nsimplify(target, rational=True))
    f0 = compile_vector([fs.flow0], [SIGMA])
    f1 = compile_vector([fs.flow1], [SIGMA])
    out = {}
    for name, c in (("flow", 0.0), ("modified", float(h))):
        if t == 0:
            out[name] = float(sigma0)
            continue
        sol = solve_ivp(lambda _t, y, c=c: f0(np.abs(y)[None, :])[0] + c * f1(np.abs(y)[None, :])[0],
                        (0.0, float(t)), [float(sigma0)], method="DOP853", rtol=1e-12, atol=1e-14)
        out[name] = float(sol.y[0, -1])
    steps = int(round(t / h))
    w = np.full(n, float(sigma0) ** (1.0 / n))
    for _ in range(steps):
        p = np.prod(w)
        w = w - h * (p - target) * p / w
    out["gd"] = float(np.prod(w))
    out["gd_steps"] = steps
    return out


def seeded_completion_instance(size: int = 3, observed: float = 0.7, init_scale: float = 0.5, *,
                               seed: int = 0) -> tuple[MatrixProblem, np.ndarray]:
    """A small completion problem and an initial end-to-end matrix, all from one seed:
    ``M ~ N(0,1)^{d×d}``, entries observed with probability ``observed``,
    ``W0 = init_scale·N(0,1)^{d×d}`` (the instance of ``formulas.md`` §5.2 with the defaults).

    Examples
    --------
    >>> p, W0 = seeded_completion_instance()
    >>> p.n_observations, W0.shape
    (4, (3, 3))
    """
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((size, size))
    mask = rng.random((size, size)) < observed
    W0 = init_scale * rng.standard_normal((size, size))
    return completion(M, mask), W0
