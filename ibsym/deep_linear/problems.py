r"""Losses on the end-to-end matrix (NumPy): regression, completion, sensing, random instances.

A :class:`MatrixProblem` is a loss ``L(W_e)`` of one of three kinds:

* ``regression`` (whitened regression / denoising): ``L = ½‖W − Φ‖_F²``;
* ``completion``: ``L = ½ Σ_{(i,j)∈Ω} (W_ij − M_ij)²`` (sum over the observed entries);
* ``sensing``: ``L = ½ Σ_k (⟨A_k, W⟩ − y_k)²``.

Examples
--------
>>> import numpy as np
>>> completion(np.ones((2, 2)), np.array([[1, 0], [0, 1]], bool)).describe()
'completion of a 2×2 matrix from 2 entries'
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ibsym.core.errors import InputError
from ibsym.deep_linear.layers import random_orthogonal

__all__ = ["MatrixProblem", "regression", "completion", "sensing", "random_low_rank",
           "random_mask"]


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
