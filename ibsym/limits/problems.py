"""Under-determined regression problems L(w) = ½‖Xw − y‖² (the input of :mod:`ibsym.limits`).

A :class:`RegressionProblem` holds the data as floats *and*, where every entry is a small
rational, exactly (SymPy), so that the implicit problem and its closed-form solution are exact.

Examples
--------
>>> p = RegressionProblem([[1, 1, 1], [1, 2, 0]], [1, 10])
>>> p.n, p.d, p.exact
(2, 3, True)
>>> RegressionProblem([[1, 2], [2, 4]], [1, 2])
Traceback (most recent call last):
...
ibsym.core.errors.InputError: X has dependent rows (rank 1 < 2 rows): drop redundant equations
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Sequence

import numpy as np
import sympy as sp

from ibsym.core.errors import InputError

__all__ = ["RegressionProblem", "random_problem", "as_problem"]


def _exact(value: float) -> sp.Rational | None:
    """The value as a rational with a small denominator, if it is one exactly."""
    if isinstance(value, (int, np.integer)):
        return sp.Integer(int(value))
    f = Fraction(float(value)).limit_denominator(10_000)
    return sp.Rational(f.numerator, f.denominator) if float(f) == float(value) else None


@dataclass(frozen=True, eq=False)
class RegressionProblem:
    """The square-loss regression problem L(w) = ½‖Xw − y‖² with more unknowns than equations.

    Parameters
    ----------
    X : array_like, shape (n, d)
        Design matrix; its rows must be linearly independent (n ≤ d), so that every y is
        interpolated and the interpolating set {w : Xw = y} is an affine subspace.
    y : array_like, shape (n,)
        Targets.
    name : str
        A label (used in printing and JSON).

    Raises
    ------
    InputError
        Non-finite data, wrong shapes, dependent rows, or y not in the range of X.
    """

    X: Any
    y: Any
    name: str = "regression"
    X_exact: sp.Matrix | None = field(init=False, default=None)
    y_exact: sp.Matrix | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        try:
            X = np.array(self.X, dtype=float)
            y = np.array(self.y, dtype=float).reshape(-1)
        except (TypeError, ValueError) as exc:
            raise InputError(f"X and y must be numeric arrays ({exc})") from None
        if X.ndim == 1:
            X = X.reshape(1, -1)
        if X.ndim != 2 or X.size == 0:
            raise InputError(f"X must be a non-empty (n, d) matrix, got shape {X.shape}")
        if y.shape != (X.shape[0],):
            raise InputError(f"y has {y.size} entries; X has {X.shape[0]} rows")
        if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
            raise InputError("X and y must be finite")
        n, d = X.shape
        rank = np.linalg.matrix_rank(X)
        if rank < n:
            # a consistent system with dependent rows still has redundant equations; an
            # inconsistent one has no interpolant at all
            r = y - X @ np.linalg.lstsq(X, y, rcond=None)[0]
            if np.linalg.norm(r) > 1e-9 * (1 + np.linalg.norm(y)):
                raise InputError(f"y is not in the range of X (rank {rank} < {n} rows, least-"
                                 f"squares residual {np.linalg.norm(r):.3g}): no w interpolates")
            raise InputError(f"X has dependent rows (rank {rank} < {n} rows): drop redundant "
                             "equations")
        X.setflags(write=False)
        y.setflags(write=False)
        object.__setattr__(self, "X", X)
        object.__setattr__(self, "y", y)
        ex = [_exact(v) for v in X.ravel()] + [_exact(v) for v in y]
        if all(e is not None for e in ex):
            object.__setattr__(self, "X_exact", sp.Matrix(n, d, ex[:n * d]))
            object.__setattr__(self, "y_exact", sp.Matrix(ex[n * d:]))

    @property
    def n(self) -> int:
        """Number of equations (rows of X)."""
        return self.X.shape[0]

    @property
    def d(self) -> int:
        """Number of unknowns (columns of X)."""
        return self.X.shape[1]

    @property
    def exact(self) -> bool:
        """Whether X and y are held exactly (small rationals)."""
        return self.X_exact is not None

    @property
    def lambda_max(self) -> float:
        """Largest eigenvalue of XᵀX (GD converges iff 0 < h < 2/λ_max)."""
        return float(np.linalg.eigvalsh(self.X @ self.X.T).max())

    def residual(self, w: np.ndarray) -> float:
        """‖Xw − y‖₂ (``w`` may be a stack of vectors in its last axis)."""
        return float(np.linalg.norm(np.asarray(w) @ self.X.T - self.y))

    def gradient(self, w: Any) -> Any:
        """∇L(w) = Xᵀ(Xw − y) for a NumPy vector."""
        return self.X.T @ (self.X @ w - self.y)

    def null_basis(self) -> np.ndarray:
        """An orthonormal basis (d, d − n) of the null space of X."""
        _, _, vt = np.linalg.svd(self.X)
        return vt[self.n:].T

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description."""
        return {"name": self.name, "X": self.X.tolist(), "y": self.y.tolist()}

    def __str__(self) -> str:
        return f"{self.name}: L(w) = ½‖Xw − y‖², X ∈ R^{self.n}×{self.d}"


def random_problem(n: int, d: int, seed: int = 0) -> RegressionProblem:
    """A seeded random instance: X with i.i.d. standard normal entries, y = X w_* + noise-free.

    Examples
    --------
    >>> p = random_problem(3, 6, seed=1)
    >>> (p.n, p.d), p.residual(np.linalg.pinv(p.X) @ p.y) < 1e-12
    ((3, 6), True)
    """
    for what, v in (("n", n), ("d", d), ("seed", seed)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < (0 if what == "seed" else 1):
            raise InputError(f"random problem: {what} must be a non-negative integer, got {v!r}")
    if n > d:
        raise InputError(f"random problem: n = {n} equations > d = {d} unknowns is not "
                         "under-determined")
    if d > 10_000:
        raise InputError(f"random problem: d = {d} is larger than the limit 10000")
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = rng.standard_normal(n)
    return RegressionProblem(X, y, name=f"random:{n},{d},{seed}")


def as_problem(problem: Any) -> RegressionProblem:
    """Accept a :class:`RegressionProblem` or an ``(X, y)`` pair."""
    if isinstance(problem, RegressionProblem):
        return problem
    if isinstance(problem, Sequence) and len(problem) == 2:
        return RegressionProblem(problem[0], problem[1])
    raise InputError("problem must be a RegressionProblem or an (X, y) pair")
