r"""The layers of a deep matrix factorization in NumPy: initializations, products, gradients.

``W_e = W_N ⋯ W_1``: balanced, orthogonal and Gaussian initializations, the end-to-end product,
the layer gradients ``∂ℓ/∂W_j = A_j^T ∇L(W_e) B_j^T`` (prefix products forward, one backward
sweep), the end-to-end velocity of the layerwise flow and the derived balanced end-to-end
field, and the measurements used by the experiments (balancedness, effective rank, fitted
slopes).

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

from collections.abc import Sequence

import numpy as np

from ibsym.core.errors import InputError
from ibsym.deep_linear.symbols import check_depth

__all__ = [
    "random_orthogonal", "balanced_factors", "orthogonal_factors", "gaussian_factors",
    "end_to_end", "layer_gradients", "end_to_end_velocity", "end_to_end_field", "balancedness",
    "effective_rank", "fit_slope",
]


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
    with the exponents derived in :func:`ibsym.deep_linear.flows.end_to_end_dynamics`."""
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
