"""The norm an update rule descends in -- read off the update, never looked up by name.

A steepest-descent step with respect to ‖·‖_p has, coordinate-wise,

    Δw_i = −c(g) sign(g_i) |g_i|^{q−1},   1/p + 1/q = 1,

(q = 2: GD; q = 1: sign descent, ℓ∞; q → ∞: only the largest |g_i| moves, coordinate descent,
ℓ1).  :func:`derive_geometry` runs the optimizer's *own* update with a constant gradient oracle
(so that momenta and second moments reach their stationary value), measures the step Δ(g) for a
few gradients with distinct, mixed-sign entries, and fits log|Δ_i| against log|g_i|: the slope is
q − 1.  The same probe at gradient scales s and 10s gives the homogeneity degree of the step
(1: an unnormalized step, ‖Δ‖ ∝ ‖g‖; 0: a normalized or sign step).  Because gradients vanish
along a run on separable data, the geometry that decides the limit is the one at small s; a
rule whose geometry changes with s (Adam with a fixed ε: ℓ∞ while g² ≫ ε, ℓ2 once g² ≪ ε) is
reported at each scale.

The module also builds the step rules used on classification problems:
:func:`sign_descent`, :func:`normalized_steepest` (unit ℓ_p-norm step) and
:func:`coordinate_descent` (greedy, Gauss–Southwell), as ordinary
:class:`~ibsym.bea.optimizers.Optimizer` objects.

Examples
--------
>>> import ibsym as ib
>>> derive_geometry(ib.get_optimizer("gd")).p, derive_geometry(sign_descent()).p
(2, oo)
>>> derive_geometry(coordinate_descent()).p, derive_geometry(normalized_steepest("4/3")).p
(1, 4/3)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Sequence

import numpy as np
import sympy as sp

from ibsym.bea.optimizers import Optimizer
from ibsym.core.errors import InputError
from ibsym.core.values import as_number

__all__ = ["Geometry", "derive_geometry", "stationary_step", "sign_descent", "normalized_steepest",
           "coordinate_descent"]

#: probe gradients (rows): distinct magnitudes, mixed signs
_PROBES = np.array([[1.0, -0.55, 0.3], [-0.8, 0.45, 1.7], [0.35, 1.2, -0.65]])


class _Constant:
    """A gradient oracle that returns the same vector wherever it is asked."""

    def __init__(self, g: np.ndarray):
        self.g = g
        self.batches = 1

    def __call__(self, theta: Any, k: int | None = None) -> np.ndarray:
        return self.g


def stationary_step(optimizer: Optimizer, g: np.ndarray, h: float = 1.0, *,
                    max_steps: int = 20_000, rtol: float = 1e-11) -> np.ndarray:
    """The step w_{k+1} − w_k the update settles to under a constant gradient ``g``."""
    hp = optimizer.numeric_hyper() if optimizer.hyper else {}
    grad = _Constant(np.asarray(g, dtype=float))
    w = np.zeros_like(grad.g)
    state = optimizer.initial_state(w, grad, hp)
    prev = None
    with np.errstate(all="ignore"):
        for k in range(max_steps):
            res = optimizer.update(w, state, grad, h, hp)
            w1, state = res if isinstance(res, tuple) else (res, {})
            w1 = np.asarray(w1, dtype=float)
            step = w1 - w
            w = w1
            if prev is not None and np.linalg.norm(step - prev) <= rtol * max(np.linalg.norm(step), 1e-300):
                return step
            prev = step
    return prev


@dataclass(frozen=True)
class Geometry:
    """The norm an update descends in, at each probed gradient scale."""

    optimizer: str
    p: Any                       #: SymPy number (oo for ℓ∞) at the smallest scale; None if none
    q_minus_1: float | None      #: fitted exponent of |g_i|
    degree: float | None         #: homogeneity degree of the step in g
    scales: tuple = ()           #: ((scale, p at that scale), ...)
    fit_residual: float = 0.0
    note: str = ""
    evidence: dict = field(default_factory=dict)

    @property
    def identified(self) -> bool:
        """Whether the step is a steepest-descent step of some ℓ_p norm."""
        return self.p is not None

    @property
    def normalized(self) -> bool:
        """Whether the step's size does not grow with ‖g‖ (degree 0)."""
        return self.degree is not None and abs(self.degree) < 0.05

    @property
    def step_rule(self) -> str:
        """The step rule, named from the measured degree."""
        if self.degree is None:
            return "unidentified"
        if self.normalized:
            return "normalized (step size independent of ‖∇L‖)"
        return f"unnormalized (step ∝ ‖∇L‖^{self.degree:.3g})"

    def __str__(self) -> str:
        if not self.identified:
            return f"{self.optimizer}: not a steepest-descent step of any ℓ_p norm ({self.note})"
        per = ", ".join(f"|g| ~ {s:g}: " + (f"ℓ_{p}" if p is not None else "none") for s, p in self.scales)
        return (f"{self.optimizer}: steepest descent in ℓ_{self.p} (|Δ_i| ∝ |g_i|^{self.q_minus_1:.4g}; "
                f"{self.step_rule}) [{per}]")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description."""
        return {"optimizer": self.optimizer, "p": None if self.p is None else str(self.p),
                "q_minus_1": self.q_minus_1, "degree": self.degree, "step_rule": self.step_rule,
                "scales": [[s, None if p is None else str(p)] for s, p in self.scales],
                "fit_residual": self.fit_residual, "note": self.note}


def _p_from_steps(G: np.ndarray, D: np.ndarray) -> tuple[Any, float | None, float, str]:
    """(p, q − 1, fit residual, note) from gradients G and their steps D (rows)."""
    if not np.all(np.isfinite(D)):
        return None, None, np.inf, "the step is not finite"
    scale = np.abs(D).max()
    if scale == 0:
        return None, None, np.inf, "the step is zero"
    if np.any(D * G > 1e-12 * scale):
        return None, None, np.inf, "some coordinate moves up its own gradient"
    nz = np.abs(D) > 1e-9 * np.abs(D).max(axis=1, keepdims=True)
    if np.all(nz.sum(axis=1) == 1):
        top = np.argmax(np.abs(G), axis=1)
        if np.all(nz[np.arange(len(G)), top]):
            return sp.Integer(1), np.inf, 0.0, "only the largest |g_i| moves (q = ∞)"
        return None, None, np.inf, "one coordinate moves, not the largest |g_i|"
    if not np.all(nz):
        return None, None, np.inf, "some coordinates do not move"
    slopes, resid = [], 0.0
    for g, dlt in zip(G, D):
        x, yv = np.log(np.abs(g)), np.log(np.abs(dlt))
        A = np.column_stack([x, np.ones_like(x)])
        coef, *_ = np.linalg.lstsq(A, yv, rcond=None)
        slopes.append(coef[0])
        resid = max(resid, float(np.abs(A @ coef - yv).max()))
    k = float(np.mean(slopes))
    if resid > 1e-6 or np.ptp(slopes) > 1e-6:
        return None, None, resid, (f"|Δ_i| is not a power of |g_i| (fit residual {resid:.2g}, "
                                   f"slopes {np.round(slopes, 6).tolist()})")
    if abs(k) < 1e-7:
        return sp.oo, 0.0, resid, ""
    if k < 0:
        return None, k, resid, f"|Δ_i| ∝ |g_i|^{k:.3g} decreases with |g_i|"
    fr = Fraction(1 + 1 / k).limit_denominator(100)
    p = sp.Rational(fr.numerator, fr.denominator)
    if abs(1 / float(p - 1) - k) > 1e-5 * max(1.0, k):
        return None, k, resid, f"|Δ_i| ∝ |g_i|^{k:.6g}: no ℓ_p with a simple rational p"
    return p, k, resid, ""


def derive_geometry(optimizer: Optimizer, *, scales: Sequence[float] = (1.0, 1e-4, 1e-8),
                    h: float = 1.0) -> Geometry:
    """The ℓ_p norm of the optimizer's steady step, from its update rule (see module docstring).

    Parameters
    ----------
    optimizer : Optimizer
        With every hyper-parameter given a number.
    scales : sequence of float
        Gradient magnitudes to probe, largest first; the last decides the asymptotic geometry.
    h : float
        The step size used in the probe.

    Returns
    -------
    Geometry
    """
    per, last = [], None
    for s in scales:
        G = _PROBES * s
        D = np.array([stationary_step(optimizer, g, h) for g in G])
        last = (_p_from_steps(G, D), G, D)
        per.append((float(s), last[0][0]))
    (p, k, resid, note), G, D = last
    s = float(scales[-1])
    D10 = np.array([stationary_step(optimizer, g * 10, h) for g in G])
    with np.errstate(all="ignore"):
        ratio = np.linalg.norm(D10, axis=1) / np.linalg.norm(D, axis=1)
    degree = float(np.mean(np.log10(ratio))) if np.all(np.isfinite(ratio)) and np.all(ratio > 0) else None
    if len({str(q) for _, q in per}) > 1:
        note = (note + "; " if note else "") + "the geometry depends on the gradient scale: " + \
            ", ".join((f"ℓ_{q}" if q is not None else "no ℓ_p") + f" at |g| ~ {sc:g}" for sc, q in per)
    return Geometry(optimizer.name, p, k, degree, tuple(per), float(resid), note,
                    {"scale": s, "gradients": G.tolist(), "steps": D.tolist()})


def _dual(p: Any) -> float:
    ps = as_number(p, what="p", rational=True)
    if not (ps.is_real and ps > 1 and ps.is_finite):
        raise InputError(f"ℓ_p steepest descent needs 1 < p < ∞, got p = {ps}")
    return float(ps / (ps - 1))


def sign_descent() -> Optimizer:
    """w⁺ = w − h sign(∇L) (the steepest-descent direction of ℓ∞, unit ℓ∞ step)."""
    def update(theta, state, grad, h, hp):
        return theta - h * np.sign(grad(theta)), {}
    return Optimizer("sign-descent", update, rule="θ_{n+1} = θ_n − h sign(∇L(θ_n))",
                     rule_latex=r"\theta_{n+1} = \theta_n - h\operatorname{sign}(\nabla L(\theta_n))")


def normalized_steepest(p: Any) -> Optimizer:
    """Steepest descent in ℓ_p with a unit-norm step: Δ = −h sign(g)|g|^{q−1}/‖g‖_q^{q−1}.

    ‖Δ‖_p = h whatever ‖g‖ -- the step is normalized, so the run can use a rescaled gradient.
    """
    q = _dual(p)
    ptxt = str(as_number(p, what="p", rational=True))

    def update(theta, state, grad, h, hp):
        g = grad(theta)
        a = np.abs(g)
        top = a.max()
        if top == 0:
            return theta, {}
        a = a / top                               # scale-free: no underflow in a**(q−1)
        nq = np.sum(a ** q) ** (1 / q)
        return theta - h * np.sign(g) * (a / nq) ** (q - 1), {}

    return Optimizer(f"normalized-steepest-l{ptxt.replace('/', '_')}", update,
                     rule=f"θ_{{n+1}} = θ_n − h sign(g)|g|^(q−1)/‖g‖_q^(q−1), q = {sp.nsimplify(q)} "
                          f"(unit-ℓ_{ptxt} steps)",
                     rule_latex=r"\theta_{n+1} = \theta_n - h\,\operatorname{sign}(g)|g|^{q-1}/\|g\|_q^{q-1}")


def coordinate_descent(normalized: bool = False) -> Optimizer:
    """Greedy (Gauss–Southwell) coordinate descent: move the coordinate with the largest |g_i|.

    ``normalized=True`` moves it by h sign(g_i) (the unit ℓ1 steepest-descent step).
    """
    def update(theta, state, grad, h, hp):
        g = grad(theta)
        i = int(np.argmax(np.abs(g)))
        step = np.zeros_like(g)
        step[i] = np.sign(g[i]) if normalized else g[i]
        return theta - h * step, {}
    move = "h sign(g_i) e_i" if normalized else "h g_i e_i"
    return Optimizer("normalized-coordinate-descent" if normalized else "coordinate-descent", update,
                     rule=f"θ_{{n+1}} = θ_n − {move}, i = argmax_j |g_j| (greedy coordinate descent)",
                     rule_latex=r"\theta_{n+1} = \theta_n - h\," + (r"\operatorname{sign}(g_i)" if normalized
                                                                  else "g_i") + r" e_i,\ i = \arg\max_j |g_j|")
