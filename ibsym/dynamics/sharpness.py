"""Sharpness: the top eigenvalue of the Hessian (or of a preconditioned Hessian) from HVPs.

``sharpness`` runs Lanczos (:func:`scipy.sparse.linalg.eigsh`, ``which="LA"``) on a
:class:`~scipy.sparse.linalg.LinearOperator` whose matvec is an exact Hessian-vector product;
``preconditioned_sharpness`` the same on D^{1/2} H D^{1/2} (D = P⁻¹ diagonal, positive), whose
eigenvalues are those of P⁻¹H.  A warm start (the previous top eigenvector) makes repeated calls
during training cheap.  ``power_iteration`` is the plain baseline.

Examples
--------
>>> import numpy as np
>>> H = np.diag([3.0, 1.0, -5.0])
>>> round(sharpness(lambda v: H @ v, 3).value, 8)
3.0
>>> round(preconditioned_sharpness(lambda v: H @ v, np.array([1.0, 4.0, 1.0]), 3).value, 8)
4.0
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigsh

from ibsym.core.errors import InputError, IntegrationError

__all__ = ["Sharpness", "sharpness", "preconditioned_sharpness", "power_iteration"]


@dataclass(frozen=True)
class Sharpness:
    """A top eigenvalue estimate: ``value``, unit ``vector`` and the number of HVPs used."""

    value: float
    vector: np.ndarray
    matvecs: int


def _top(op: Callable[[np.ndarray], np.ndarray], dim: int, v0: np.ndarray | None,
         tol: float, maxiter: int, ncv: int = 8) -> Sharpness:
    count = [0]

    def mv(v: np.ndarray) -> np.ndarray:
        count[0] += 1
        return op(np.asarray(v, dtype=float).ravel())

    if dim < 3:          # ARPACK needs ncv > k + 1 <= dim; tiny problems are dense
        M = np.stack([mv(e) for e in np.eye(dim)], axis=1)
        w, V = np.linalg.eigh(0.5 * (M + M.T))
        return Sharpness(float(w[-1]), V[:, -1], count[0])
    A = LinearOperator((dim, dim), matvec=mv, dtype=float)
    start = None if v0 is None else np.asarray(v0, dtype=float)
    if start is not None and (start.shape != (dim,) or not np.any(start)):
        start = None
    if start is None:
        start = np.random.default_rng(0).normal(size=dim)
    try:
        w, V = eigsh(A, k=1, which="LA", v0=start, tol=tol, maxiter=maxiter,
                     ncv=min(dim, ncv))
    except ArpackNoConvergence as exc:
        if len(exc.eigenvalues):
            return Sharpness(float(exc.eigenvalues[-1]), exc.eigenvectors[:, -1], count[0])
        raise IntegrationError(f"Lanczos did not converge in {maxiter} restarts") from None
    return Sharpness(float(w[0]), V[:, 0], count[0])


def sharpness(hvp: Callable[[np.ndarray], np.ndarray], dim: int, *,
              v0: np.ndarray | None = None, tol: float = 1e-6, maxiter: int = 1000) -> Sharpness:
    """λ_max(H) by Lanczos on Hessian-vector products ``hvp(v) = H v``.

    Parameters
    ----------
    hvp : callable
        v ↦ H v for a symmetric H of size ``dim``.
    dim : int
    v0 : array, optional
        Starting vector (e.g. the previous top eigenvector).
    tol : float
        Relative accuracy asked of ARPACK.
    """
    if dim < 1:
        raise InputError("sharpness of an empty parameter vector")
    return _top(hvp, dim, v0, tol, maxiter)


def preconditioned_sharpness(hvp: Callable[[np.ndarray], np.ndarray], inv_precond: np.ndarray,
                             dim: int, *, v0: np.ndarray | None = None, tol: float = 1e-6,
                             maxiter: int = 1000) -> Sharpness:
    """λ_max(P⁻¹H) for a diagonal positive P, given ``inv_precond`` = diag(P⁻¹).

    Computed as λ_max(D^{1/2} H D^{1/2}), D = P⁻¹ (similar to P⁻¹H, symmetric); ``vector``
    is the eigenvector of the symmetric form.
    """
    d = np.asarray(inv_precond, dtype=float)
    if d.shape != (dim,) or not np.all(np.isfinite(d)) or np.any(d <= 0):
        raise InputError("the preconditioner must be a finite positive diagonal of the "
                         f"parameter dimension {dim}")
    r = np.sqrt(d)
    return _top(lambda v: r * hvp(r * v), dim, v0, tol, maxiter)


def power_iteration(hvp: Callable[[np.ndarray], np.ndarray], dim: int, *, iters: int = 100,
                    tol: float = 1e-6, seed: int = 0) -> Sharpness:
    """The naive baseline: power iteration v ← Hv/‖Hv‖ until the Rayleigh quotient settles.

    Converges to the eigenvalue of largest *modulus* (which is λ_max once training has
    sharpened, but not in general -- Lanczos with ``which="LA"`` is the default).
    """
    v = np.random.default_rng(seed).normal(size=dim)
    v /= np.linalg.norm(v)
    lam = 0.0
    for k in range(1, iters + 1):
        w = hvp(v)
        new = float(v @ w)
        nrm = np.linalg.norm(w)
        if nrm == 0:
            return Sharpness(0.0, v, k)
        v = w / nrm
        if abs(new - lam) <= tol * max(1.0, abs(new)):
            return Sharpness(new, v, k)
        lam = new
    return Sharpness(lam, v, iters)
