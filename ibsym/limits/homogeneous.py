"""Homogeneous models on separable data: normalized margin and KKT residual (Lyu & Li 2020).

For a model f(x; θ) positively homogeneous of degree L in θ (f(x; cθ) = c^L f(x; θ), c > 0),
GD on the logistic loss Σ_n log(1 + exp(−y_n f(x_n; θ))) (a **sum**) makes, once the loss is
below log 2 (every point classified), the normalized margin q(θ)/‖θ‖^L (q = min_n y_n f(x_n; θ))
increase, and θ/‖θ‖ approach a KKT point of

    min ½‖θ‖²  s.t.  y_n f(x_n; θ) ≥ 1.

:func:`kkt_residual` measures how far the rescaled θ̃ = θ/q^{1/L} is from one: the stationarity
residual min_{λ≥0} ‖θ̃ − Σ λ_n y_n ∇_θ f(x_n; θ̃)‖/‖θ̃‖ (non-negative least squares) and the
complementary slackness Σ λ_n (y_n f(x_n; θ̃) − 1)/‖θ̃‖², λ fitted on the nearly active
points.  The homogeneity degree is measured, not assumed.

Two models: :class:`DiagonalNet` (w = θ_1 ⊙ … ⊙ θ_L, f = xᵀw, degree L) and :class:`ReLUNet`
(f = Σ_j a_j relu(b_jᵀx), no bias, degree 2).  For the diagonal net the induced margin problem is
derived by :func:`diagonal_penalty`: min Σ_l θ_{l,i}² s.t. Π_l θ_{l,i} = w_i is L|w_i|^{2/L}
(Lagrange conditions: all |θ_{l,i}| equal), so the limit is a KKT point of
min ‖w‖_{2/L} s.t. z_nᵀw ≥ 1 (Gunasekar et al. 2018; ℓ1 for L = 2).

Examples
--------
>>> diagonal_penalty(3)
3*Abs(w)**(2/3)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from ibsym.core.errors import DivergenceError, InputError

__all__ = ["log_logistic", "DiagonalNet", "ReLUNet", "homogeneity_degree", "kkt_residual", "run_homogeneous",
           "HomogeneousRun", "diagonal_penalty"]


def log_logistic(m: np.ndarray) -> np.ndarray:
    """log ℓ(m) = log log(1 + e^{−m}), accurate for large m (≈ −m − e^{−m}/2)."""
    m = np.asarray(m, dtype=float)
    big = m > 30
    small = np.log(np.logaddexp(0, -np.where(big, 0.0, m)))
    return np.where(big, -m - 0.5 * np.exp(-np.where(big, m, 30.0)), small)


def diagonal_penalty(L: int) -> sp.Expr:
    """min Σ_l u_l² s.t. Π_l u_l = w, derived from the Lagrange conditions (w > 0, then |w|)."""
    if not (isinstance(L, int) and L >= 1):
        raise InputError(f"depth L must be a positive integer, got {L!r}")
    w = sp.Symbol("w", positive=True)
    u = sp.symbols(f"u_1:{L + 1}", positive=True)
    mu = sp.Symbol("mu", positive=True)
    lag = sum(ui ** 2 for ui in u) - mu * (sp.Mul(*u) - w)
    eqs = [sp.diff(lag, ui) for ui in u] + [sp.Mul(*u) - w]
    sols = sp.solve(eqs, list(u) + [mu], dict=True)
    if not sols:
        raise InputError(f"no stationary point of the depth-{L} penalty found")
    vals = [sp.simplify(sum(s[ui] ** 2 for ui in u)) for s in sols]
    best = sp.simplify(vals[0])
    return best.subs(w, sp.Abs(sp.Symbol("w", real=True)))


class DiagonalNet:
    """f(x; θ) = xᵀ(θ_1 ⊙ … ⊙ θ_L), θ of shape (L, d)."""

    def __init__(self, depth: int, d: int):
        if depth < 1 or d < 1:
            raise InputError("DiagonalNet needs depth ≥ 1 and d ≥ 1")
        self.depth, self.d, self.shape = depth, d, (depth, d)

    def predict(self, theta: np.ndarray, X: np.ndarray) -> np.ndarray:
        """f(x_n; θ) for each row of X."""
        return X @ np.prod(theta.reshape(self.shape), axis=0)

    def jacobian(self, theta: np.ndarray, X: np.ndarray) -> np.ndarray:
        """∂f(x_n; θ)/∂θ, shape (N, L·d)."""
        t = theta.reshape(self.shape)
        J = np.empty((X.shape[0], self.depth, self.d))
        for l in range(self.depth):
            others = np.prod(np.delete(t, l, axis=0), axis=0) if self.depth > 1 else np.ones(self.d)
            J[:, l, :] = X * others
        return J.reshape(X.shape[0], -1)

    def weights(self, theta: np.ndarray) -> np.ndarray:
        """The end-to-end linear predictor w = Π_l θ_l."""
        return np.prod(theta.reshape(self.shape), axis=0)


class ReLUNet:
    """f(x; θ) = Σ_j a_j relu(b_jᵀx), θ = (a, B) flattened, no bias."""

    def __init__(self, width: int, d: int):
        if width < 1 or d < 1:
            raise InputError("ReLUNet needs width ≥ 1 and d ≥ 1")
        self.width, self.d = width, d

    def _split(self, theta):
        return theta[:self.width], theta[self.width:].reshape(self.width, self.d)

    def predict(self, theta: np.ndarray, X: np.ndarray) -> np.ndarray:
        """f(x_n; θ) for each row of X."""
        a, B = self._split(theta)
        return np.maximum(X @ B.T, 0) @ a

    def jacobian(self, theta: np.ndarray, X: np.ndarray) -> np.ndarray:
        """∂f(x_n; θ)/∂θ (the ReLU derivative taken as 1[b_jᵀx > 0]), shape (N, m + m·d)."""
        a, B = self._split(theta)
        pre = X @ B.T
        act = (pre > 0).astype(float)
        Ja = np.maximum(pre, 0)
        JB = (act * a)[:, :, None] * X[:, None, :]
        return np.concatenate([Ja, JB.reshape(X.shape[0], -1)], axis=1)

    def clarke_parts(self, theta: np.ndarray, X: np.ndarray, tol: float = 1e-3):
        """The Clarke subdifferential of f(x_n; ·): J_off (kinks set to 0) and, per kink
        (|b_jᵀx_n| ≤ tol‖b_j‖‖x_n‖), the row n and the vector D (a_j x_n in block b_j) that the
        factor c ∈ [0, 1] multiplies."""
        a, B = self._split(theta)
        pre = X @ B.T
        scale = np.linalg.norm(B, axis=1)[None, :] * np.linalg.norm(X, axis=1)[:, None]
        kink = np.abs(pre) <= tol * scale
        act = ((pre > 0) & ~kink).astype(float)
        Ja = np.maximum(pre, 0) * ~kink
        JB = (act * a)[:, :, None] * X[:, None, :]
        J = np.concatenate([Ja, JB.reshape(X.shape[0], -1)], axis=1)
        parts = []
        for n, j in zip(*np.nonzero(kink)):
            D = np.zeros(J.shape[1])
            D[self.width + j * self.d: self.width + (j + 1) * self.d] = a[j] * X[n]
            parts.append((int(n), D))
        return J, parts


def homogeneity_degree(model: Any, theta: np.ndarray, X: np.ndarray, c: float = 1.7) -> float:
    """log(f(x; cθ)/f(x; θ))/log c, checked equal on every example (else InputError)."""
    f1, fc = model.predict(theta, X), model.predict(c * theta, X)
    ok = np.abs(f1) > 1e-12
    if not np.any(ok):
        raise InputError("the model output is 0 on every example: degree undetermined")
    with np.errstate(divide="ignore", invalid="ignore"):
        deg = np.log(fc[ok] / f1[ok]) / np.log(c)
    if not np.all(np.isfinite(deg)) or np.ptp(deg) > 1e-8:
        raise InputError("the model is not positively homogeneous in θ")
    return float(np.mean(deg))


def kkt_residual(model: Any, theta: np.ndarray, X: np.ndarray, y: np.ndarray,
                 L: float, *, delta: float = 0.05) -> tuple[float, float, float]:
    """(stationarity residual, complementary slackness, q) of θ̃ = θ/q^{1/L} (see module doc).

    The multipliers λ ≥ 0 are fitted (non-negative least squares) on the points within a
    factor 1 + ``delta`` of the smallest margin -- an (ε, δ)-KKT measure in the sense of
    Lyu & Li (2020): stationarity ε = ‖θ̃ − Σλ_n y_n∇f_n(θ̃)‖/‖θ̃‖, slackness
    Σ λ_n (y_n f_n(θ̃) − 1)/‖θ̃‖² ≤ δ·Σλ_n/‖θ̃‖².
    """
    from scipy.optimize import nnls
    m = y * model.predict(theta, X)
    q = float(np.min(m))
    if q <= 0:
        return np.inf, np.inf, q
    tt = theta / q ** (1.0 / L)
    A = np.nonzero(m <= (1 + delta) * q)[0]
    nt = float(np.linalg.norm(tt))
    parts = []
    if hasattr(model, "clarke_parts"):
        J, parts = model.clarke_parts(tt, X[A])
    if parts:
        # a kink b_jᵀx_n = 0: the gradient of point n is G_off + c·D, c ∈ [0, 1] (Clarke)
        import cvxpy as cp
        G = y[A, None] * J
        lam = cp.Variable(len(A), nonneg=True)
        mu = cp.Variable(len(parts), nonneg=True)
        Dm = np.array([y[A[n]] * D for n, D in parts])
        cons = [mu[k] <= lam[n] for k, (n, _) in enumerate(parts)]
        prob = cp.Problem(cp.Minimize(cp.sum_squares(tt - G.T @ lam - Dm.T @ mu)), cons)
        prob.solve(solver=cp.CLARABEL)
        lamv = np.asarray(lam.value, dtype=float)
        res = float(np.linalg.norm(tt - G.T @ lamv - Dm.T @ np.asarray(mu.value, dtype=float)))
    else:
        G = y[A, None] * model.jacobian(tt, X[A])
        lamv, res = nnls(G.T, tt)
    slack = float(lamv @ (m[A] / q - 1)) / nt ** 2
    return float(res) / nt, slack, q


@dataclass(frozen=True, eq=False)
class HomogeneousRun:
    """A GD run on a homogeneous model: records at log-spaced t."""

    t: np.ndarray
    thetas: np.ndarray
    loss: np.ndarray
    normalized_margin: np.ndarray
    stationarity: np.ndarray
    slackness: np.ndarray
    degree: float
    seconds: float

    def after_threshold(self) -> np.ndarray:
        """Mask of the records with loss < log 2 (every point classified)."""
        return self.loss < np.log(2)


def run_homogeneous(model: Any, X: Any, y: Any, theta0: Any, *, h: float, steps: int,
                    record: int = 60, normalized: bool = False) -> HomogeneousRun:
    """GD on the logistic sum loss; normalized margin and KKT residual recorded.

    θ ← θ − h∇L(θ), or with ``normalized`` the unit step θ ← θ − h∇L(θ)/‖∇L(θ)‖ (the same
    directions without the exponential slow-down of a vanishing gradient).
    """
    import time
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    th = np.array(theta0, dtype=float).reshape(-1)
    if not (1 <= steps <= 5_000_000):
        raise InputError("steps must lie in [1, 5e6]")
    L = homogeneity_degree(model, th, X)
    rec = np.unique(np.round(np.logspace(0, np.log10(steps), record)).astype(np.int64))
    T, TH, LO, NM, ST, SL = [], [], [], [], [], []
    j = 0
    t0 = time.perf_counter()
    with np.errstate(over="raise", invalid="raise"):
        try:
            for k in range(1, steps + 1):
                m = y * model.predict(th, X)
                ls = -np.logaddexp(0, m)                      # log σ(−m) = log(−ℓ′(m))
                if normalized:
                    # −∇L/‖∇L‖ from the rescaled weights σ(−m_n)/max_n σ(−m_n): no underflow
                    g = (np.exp(ls - ls.max()) * y) @ model.jacobian(th, X)
                    th = th + h * g / np.linalg.norm(g)
                else:
                    th = th + h * (np.exp(ls) * y) @ model.jacobian(th, X)
                if k == rec[j]:
                    mm = y * model.predict(th, X)
                    st, sl, q = kkt_residual(model, th, X, y, L)
                    T.append(k)
                    TH.append(th.copy())
                    LO.append(float(np.logaddexp(0, -mm).sum()))
                    NM.append(q / float(np.linalg.norm(th)) ** L)
                    ST.append(st)
                    SL.append(sl)
                    j += 1
                    if j == len(rec):
                        break
        except FloatingPointError:
            raise DivergenceError(f"GD on the homogeneous model overflowed at step {k} (h = {h:g})") from None
    return HomogeneousRun(np.array(T, float), np.array(TH), np.array(LO), np.array(NM), np.array(ST),
                          np.array(SL), L, time.perf_counter() - t0)
