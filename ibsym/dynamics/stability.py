"""The stability level of an update rule, read off its linearization -- for a whole network.

:func:`ibsym.numeric.kernels.update_stability_threshold` linearizes an optimizer's update on
the local quadratic model of a loss (gradient H(θ − θ₀)) and finds the step at which its
spectral radius reaches 1.  For a network with thousands of parameters the full Jacobian is
too large, but every coordinate-wise update (GD, momentum, Nesterov, Adam, RMSProp, rule files
written with element-wise operations) linearized on a *diagonal* quadratic model splits into one
small (k+1)×(k+1) Jacobian per coordinate (θ_i and its k state entries).  All of them are
obtained at once from 2(k+1) calls of the update on the whole parameter vector, by central
differences exactly as in kernels (the same update, the same quadratic model, the state held
at its value from the run, so an adaptive method's second moment is a frozen preconditioner:
at the model's minimum the gradient is zero, so ν' = ρν + (1 − ρ)g² does not respond to θ).

Two numbers per coordinate come out:

* the largest stable curvature λ*_i at the step h actually used (bisection on the spectral
  radius of the per-coordinate Jacobian), and
* the response m_i: the steady step per unit constant gradient, divided by h (the state
  relaxed to its fixed point under that gradient) -- the diagonal of P⁻¹ (1 for GD, 1/(1 − β)
  for heavy ball, 1/√(ν̂ + ε) for Adam late in training).

When m is the same for every coordinate the update is isotropic and the level is a bound on
λ_max(∇²L): λ_max < λ* (GD 2/h, heavy ball (2 + 2β)/h).  Otherwise the level is a bound on the
preconditioned sharpness λ_max(P⁻¹∇²L), P⁻¹ = diag(m): λ_max(P⁻¹H) < λ*_i m_i, which is the
same for every coordinate when the update is preconditioned gradient descent in disguise
(Adam: (2 + 2β₁)/((1 − β₁)h)); its spread is reported.  No optimizer is special-cased.

Examples
--------
>>> import numpy as np
>>> from ibsym import get_optimizer
>>> lv = linearized_level(get_optimizer("heavy-ball", beta=0.9), np.zeros(3), {"v": np.zeros(3)}, 0.1)
>>> round(lv.level, 6), lv.preconditioned
(38.0, False)
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ibsym.bea.optimizers import Optimizer
from ibsym.core.errors import InputError

__all__ = ["LinearizedLevel", "linearized_level", "coordinate_jacobians"]


class _DiagonalQuadratic:
    """Gradient oracle of the diagonal quadratic model ½Σ λ_i (x_i − θ_i)² plus a constant w."""

    batches = 0

    def __init__(self, lam: np.ndarray, theta0: np.ndarray, w: np.ndarray | float = 0.0):
        self.lam, self.theta0, self.w = lam, theta0, w

    def __call__(self, x: np.ndarray, batch: int | None = None) -> np.ndarray:
        return self.lam * (np.asarray(x, dtype=float) - self.theta0) + self.w


def _blocks(optimizer: Optimizer, theta: np.ndarray, state: Mapping[str, Any]) -> list[np.ndarray]:
    d = theta.shape[0]
    out = [theta.astype(float)]
    for f in optimizer.state_names:
        if f not in state:
            raise InputError(f"optimizer '{optimizer.name}': state field '{f}' missing")
        out.append(np.broadcast_to(np.asarray(state[f], dtype=float), (d,)).copy())
    return out


def _step(optimizer, z, oracle, h, hp):
    names = optimizer.state_names
    res = optimizer.update(z[0], {f: z[i + 1] for i, f in enumerate(names)}, oracle, h, hp)
    th, new = res if isinstance(res, tuple) else (res, {})
    d = z[0].shape[0]
    return [np.broadcast_to(np.asarray(th, dtype=float), (d,))] + \
        [np.broadcast_to(np.asarray(new[f], dtype=float), (d,)) for f in names]


def coordinate_jacobians(optimizer: Optimizer, theta: np.ndarray, state: Mapping[str, Any],
                         h: float, lam: np.ndarray | float, *, check: bool = True
                         ) -> tuple[np.ndarray, np.ndarray]:
    """Per-coordinate Jacobians of one update on the diagonal quadratic model.

    Returns ``(J, B)``: ``J`` of shape (d, k+1, k+1), ∂(θ_i, s_i)'/∂(θ_i, s_i), and ``B`` of
    shape (d, k+1), the response to a constant gradient ∂(θ_i, s_i)'/∂w_i.  With ``check``
    the update is probed with a mixed-sign perturbation and refused (InputError) if a
    coordinate responds to another one (the update is not coordinate-wise).
    """
    theta = np.asarray(theta, dtype=float)
    d = theta.shape[0]
    lam = np.broadcast_to(np.asarray(lam, dtype=float), (d,))
    hp = optimizer.numeric_hyper() if optimizer.hyper else {}
    z0 = _blocks(optimizer, theta, state)
    k = len(z0)
    J = np.empty((d, k, k))
    B = np.empty((d, k))
    q = _DiagonalQuadratic(lam, theta)
    with np.errstate(all="ignore"):
        base = _step(optimizer, z0, q, h, hp)
        for j in range(k):
            # steps relative to the field's own scale: a second moment of 1e-8 must not be
            # pushed below zero, a zero momentum still gets a step of 1e-6
            typ = float(np.max(np.abs(z0[j]))) if j else 1.0
            e = 1e-6 * (np.abs(z0[j]) + (typ if typ > 0 else 1.0))
            zp = [z.copy() for z in z0]
            zm = [z.copy() for z in z0]
            zp[j] = zp[j] + e
            zm[j] = zm[j] - e
            sp_, sm_ = _step(optimizer, zp, q, h, hp), _step(optimizer, zm, q, h, hp)
            for i in range(k):
                col = (sp_[i] - sm_[i]) / (2 * e)
                bad = ~np.isfinite(col)       # outside the domain on one side: one-sided
                if bad.any():
                    col = np.where(bad, (sp_[i] - base[i]) / e, col)
                J[:, i, j] = col
        ew = 1e-6
        sp_ = _step(optimizer, z0, _DiagonalQuadratic(lam, theta, ew), h, hp)
        sm_ = _step(optimizer, z0, _DiagonalQuadratic(lam, theta, -ew), h, hp)
        for i in range(k):
            B[:, i] = (sp_[i] - sm_[i]) / (2 * ew)
        if check and d > 1:
            r = np.where(np.random.default_rng(1).random(d) < 0.5, -1.0, 1.0)
            e = 1e-6 * (1.0 + np.abs(theta))
            zp = [z.copy() for z in z0]
            zm = [z.copy() for z in z0]
            zp[0] = zp[0] + r * e
            zm[0] = zm[0] - r * e
            sp_, sm_ = _step(optimizer, zp, q, h, hp), _step(optimizer, zm, q, h, hp)
            resp = (sp_[0] - sm_[0]) / (2 * e)
            if not np.allclose(resp, r * J[:, 0, 0], rtol=1e-4, atol=1e-6 * (1 + np.abs(J[:, 0, 0]))):
                raise InputError(f"the update of '{optimizer.name}' is not coordinate-wise (one "
                                 "parameter's step depends on another's); its stability level "
                                 "on a network cannot be split per coordinate")
    if not (np.all(np.isfinite(J)) and np.all(np.isfinite(B))):
        raise InputError(f"the update of '{optimizer.name}' cannot be linearized at this state "
                         "(non-finite derivatives)")
    return J, B


def _radius(J: np.ndarray) -> np.ndarray:
    return np.max(np.abs(np.linalg.eigvals(J)), axis=-1)


@dataclass(frozen=True)
class LinearizedLevel:
    """The stability level of an update at a state, from its linearization.

    Attributes
    ----------
    level : float
        The bound: on λ_max(∇²L) when ``preconditioned`` is False, on λ_max(P⁻¹∇²L) when True.
    preconditioned : bool
    inv_precond : ndarray
        diag(P⁻¹) = m_i, the response of the step to a constant gradient (per h).
    curvature : ndarray
        λ*_i, the largest stable curvature per coordinate at step h.
    spread : float
        max |λ*_i m_i / level − 1| -- 0 when the update is exactly preconditioned GD-like.
    """

    level: float
    preconditioned: bool
    inv_precond: np.ndarray
    curvature: np.ndarray
    spread: float


def linearized_level(optimizer: Optimizer, theta: np.ndarray, state: Mapping[str, Any], h: float,
                     *, isotropic_rtol: float = 1e-5, max_doublings: int = 80,
                     bisections: int = 30) -> LinearizedLevel:
    """The level at which the optimizer's own linearized update at step ``h`` loses stability.

    See the module docstring; ``state`` is the optimizer's state (e.g. from a run), held fixed.
    """
    theta = np.asarray(theta, dtype=float)
    if not h > 0:
        raise InputError(f"the step size must be positive, got {h}")
    d = theta.shape[0]
    J0, B = coordinate_jacobians(optimizer, theta, state, h, 0.0, check=False)
    # response to a constant gradient: the state relaxes, θ drifts by −h m w per step
    if J0.shape[1] == 1:
        m = -B[:, 0] / h
    else:
        Ass, Bs = J0[:, 1:, 1:], B[:, 1:]
        k = Ass.shape[1]
        try:
            s_star = np.linalg.solve(np.eye(k)[None] - Ass, Bs[..., None])[..., 0]
        except np.linalg.LinAlgError:
            raise InputError(f"the state of '{optimizer.name}' has no fixed point under a "
                             "constant gradient; no stability level can be read off") from None
        m = -(np.einsum("dk,dk->d", J0[:, 0, 1:], s_star) + B[:, 0]) / h
    if not np.all(np.isfinite(m)) or np.any(m <= 0):
        raise InputError(f"the update of '{optimizer.name}' does not descend along the gradient "
                         "at this state (non-positive response); no stability level")
    # largest stable curvature per coordinate: bracket by doubling, then bisect
    lo = np.zeros(d)
    hi = 0.25 / (h * m)               # below GD's 2/(h m): the doublings start stable
    unstable = np.zeros(d, dtype=bool)
    for it in range(max_doublings):
        # the first probe (curvature > 0, so coupled coordinates show) checks separability
        r = _radius(coordinate_jacobians(optimizer, theta, state, h, hi, check=it == 0)[0])
        newly = r > 1 + 1e-9
        unstable |= newly
        if unstable.all():
            break
        lo = np.where(unstable, lo, hi)
        hi = np.where(unstable, hi, 2 * hi)
    if not unstable.all():
        raise InputError(f"'{optimizer.name}' stays stable for every curvature at h={h:g} in some "
                         "coordinates; no edge-of-stability level")
    for _ in range(bisections):
        mid = 0.5 * (lo + hi)
        r = _radius(coordinate_jacobians(optimizer, theta, state, h, mid, check=False)[0])
        bad = r > 1 + 1e-9
        hi = np.where(bad, mid, hi)
        lo = np.where(bad, lo, mid)
    lam_star = 0.5 * (lo + hi)
    iso = float(np.max(np.abs(m / np.median(m) - 1))) <= isotropic_rtol
    if iso:
        level = float(np.median(lam_star))
        spread = float(np.max(np.abs(lam_star / level - 1)))
    else:
        prod = lam_star * m
        level = float(np.median(prod))
        spread = float(np.max(np.abs(prod / level - 1)))
    return LinearizedLevel(level, not iso, m, lam_star, spread)
