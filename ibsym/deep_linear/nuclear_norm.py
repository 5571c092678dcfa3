r"""The minimum nuclear-norm baseline (NumPy): Douglas--Rachford splitting with a dual certificate."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from ibsym.core.errors import InputError
from ibsym.core.progress import Progress
from ibsym.core.results import Result
from ibsym.deep_linear.blas import blas_threads
from ibsym.deep_linear.layers import effective_rank
from ibsym.deep_linear.problems import MatrixProblem

__all__ = ["min_nuclear_norm", "NuclearNormSolution"]


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
    >>> from ibsym.deep_linear.problems import completion
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
