r"""Checks of the derived dynamics by integration and iteration (NumPy, SciPy).

:func:`finite_step_check`: GD on a balanced scalar factorization against the singular-value
flow without and with the finite-step correction (fitted orders 1 and 2);
:func:`end_to_end_check`: the layerwise gradient flow against the derived end-to-end flow;
:func:`seeded_completion_instance`: the small seeded instance of ``formulas.md`` §5.2.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp
from scipy.integrate import solve_ivp

from ibsym.core.errors import InputError, IntegrationError
from ibsym.core.results import Result
from ibsym.numeric.kernels import compile_vector
from ibsym.deep_linear.blas import blas_threads
from ibsym.deep_linear.finite_step import finite_step_flow
from ibsym.deep_linear.layers import (_grads, _prefix, balanced_factors, balancedness, end_to_end,
                                      end_to_end_field, end_to_end_velocity, fit_slope)
from ibsym.deep_linear.problems import MatrixProblem, completion
from ibsym.deep_linear.symbols import SIGMA, check_depth

__all__ = ["finite_step_check", "FiniteStepCheck", "end_to_end_check", "EndToEndCheck",
           "seeded_completion_instance"]


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
    ``σ̇ = F_0(σ)`` and ``σ̇ = F_0(σ) + h F_1(σ)`` of
    :func:`ibsym.deep_linear.finite_step.finite_step_flow`."""
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
