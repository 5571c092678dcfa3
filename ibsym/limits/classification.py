"""Where the iterates end up on separable classification: the max-margin limit of an optimizer.

Data are given as z_n = y_n x_n (labels y_n = ±1 folded in).  The loss is

    L(w) = Σ_n c_n ℓ(z_nᵀw),   ℓ(m) = exp(−m) ("exponential") or log(1 + exp(−m)) ("logistic"),

a **sum** by default (``reduction="mean"`` divides by N; ``weights`` gives importance weights
c_n).  On separable data ‖w_t‖ → ∞ and the implicit bias is the limit *direction*: the max-margin
direction in the norm the update descends in.  That norm is **derived from the update rule**
(:func:`~ibsym.limits.geometry.derive_geometry`: the exponent of |g_i| in the steady step, at the
small gradient scales of a late run), the ℓ_p max-margin problem is solved by CVXPY
(:func:`~ibsym.limits.margins.max_margin`), and the optimizer's own update is run for up to
10⁶+ steps with log-spaced recording: direction error ‖w_t/‖w_t‖ − ŵ/‖ŵ‖‖, margin gap and
log L(w_t), fitted against 1/log t and 1/t (:mod:`ibsym.limits.rates`).  For GD the
Soudry et al. decomposition w(t) = ŵ log t + ρ(t), ρ → w̃, is derived and compared.

float64 care: the loss is carried as log L (log-sum-exp); a step whose size does not depend on
‖∇L‖ (degree 0, read off the rule) is run on the gradient rescaled by exp(min_n z_nᵀw), which
never underflows however large ‖w‖ grows.

Labelled outcomes instead of a silent wrong limit: non-separable data → :class:`InputError`
(LP feasibility); the square loss → "no exponential tail" (a finite limit, no margin); a rule
that is not a steepest-descent step of any ℓ_p → "geometry not identified" (the run is still
measured); a step past the local stability bound → labelled, and a run that overflows →
:class:`DivergenceError`.

Examples
--------
>>> import ibsym as ib
>>> P = SeparableProblem([[1, 0], [0, 1], [2, 2], [3, 1]])
>>> r = implicit_bias_classification("gd", P, h=0.1, steps=10_000)
>>> r.geometry.p, np.round(r.margin.w, 6).tolist(), r.margin.support
(2, [1.0, 1.0], (0, 1))
>>> bool(np.abs(r.rho_final - r.prediction["w_tilde"]).max() < 1e-2)
True
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from ibsym.bea.optimizers import Optimizer, get_optimizer
from ibsym.core.errors import DivergenceError, InputError
from ibsym.core.results import Result
from ibsym.limits.geometry import Geometry, derive_geometry
from ibsym.limits.margins import MaxMargin, max_margin, pnorm
from ibsym.limits.rates import direction_error, fit_rate, soudry_prediction

__all__ = ["SeparableProblem", "separable_problem", "ClassificationRun", "run_classification",
           "ClassificationBias", "implicit_bias_classification", "weight_sweep", "LOSSES"]

#: losses with an exponential tail (ℓ(m) ~ exp(−m) as m → ∞) and one without
LOSSES = {"exponential": True, "logistic": True, "square": False}


def _separable(Z: np.ndarray) -> bool:
    """Whether some w has Zw ≥ 1 (⇔ z_nᵀw > 0 for all n), by an LP (HiGHS)."""
    from scipy.optimize import linprog
    n, d = Z.shape
    res = linprog(np.zeros(d), A_ub=-Z, b_ub=-np.ones(n), bounds=[(None, None)] * d, method="highs")
    return res.status == 0


@dataclass(frozen=True, eq=False)
class SeparableProblem:
    """A binary classification problem L(w) = Σ_n c_n ℓ(z_nᵀw), z_n = y_n x_n.

    Parameters
    ----------
    Z : array_like, shape (N, d)
        The rows z_n = y_n x_n (use :meth:`from_labels` for X and y).
    loss : {"exponential", "logistic", "square"}
        ℓ(m) = exp(−m), log(1 + exp(−m)) or ½(1 − m)² (the last has no exponential tail).
    reduction : {"sum", "mean"}
        Σ_n (default) or (1/N)Σ_n.
    weights : array_like, optional
        Importance weights c_n > 0 (default 1).
    name : str

    Raises
    ------
    InputError
        Non-finite data, bad shapes or weights, unknown loss, or data that are not linearly
        separable (for a loss with an exponential tail).
    """

    Z: Any
    loss: str = "exponential"
    reduction: str = "sum"
    weights: Any = None
    name: str = "separable"
    c: np.ndarray = field(init=False, repr=False, default=None)

    def __post_init__(self) -> None:
        try:
            Z = np.array(self.Z, dtype=float)
        except (TypeError, ValueError) as exc:
            raise InputError(f"Z must be a numeric (N, d) array ({exc})") from None
        if Z.ndim != 2 or Z.size == 0:
            raise InputError(f"Z must be a non-empty (N, d) matrix, got shape {Z.shape}")
        if not np.all(np.isfinite(Z)):
            raise InputError("Z must be finite")
        if self.loss not in LOSSES:
            raise InputError(f"unknown loss {self.loss!r}: use one of {', '.join(LOSSES)}")
        if self.reduction not in ("sum", "mean"):
            raise InputError(f"reduction must be 'sum' or 'mean', got {self.reduction!r}")
        n = Z.shape[0]
        if self.weights is None:
            w = np.ones(n)
        else:
            try:
                w = np.array(self.weights, dtype=float).reshape(-1)
            except (TypeError, ValueError):
                raise InputError("weights must be numbers") from None
            if w.shape != (n,) or not np.all(np.isfinite(w)) or np.any(w <= 0):
                raise InputError(f"weights must be {n} positive finite numbers")
        if np.any(np.linalg.norm(Z, axis=1) == 0):
            raise InputError("a row z_n = 0 has margin 0 for every w: not separable")
        if LOSSES[self.loss] and not _separable(Z):
            raise InputError("the data are not linearly separable (no w with z_nᵀw > 0 for all "
                             "n, LP infeasible): the iterates have no max-margin direction")
        Z.setflags(write=False)
        c = w / (n if self.reduction == "mean" else 1)
        object.__setattr__(self, "Z", Z)
        object.__setattr__(self, "weights", None if self.weights is None else w)
        object.__setattr__(self, "c", c)

    @classmethod
    def from_labels(cls, X: Any, y: Any, **kw: Any) -> "SeparableProblem":
        """Build from features X (N, d) and labels y ∈ {−1, +1}."""
        X = np.asarray(X, dtype=float)
        y = np.asarray(y, dtype=float).reshape(-1)
        if X.ndim != 2 or y.shape != (X.shape[0],):
            raise InputError(f"X must be (N, d) and y have N entries; got {X.shape}, {y.shape}")
        if not np.all(np.isin(y, (-1.0, 1.0))):
            raise InputError("labels y must be −1 or +1")
        return cls(y[:, None] * X, **kw)

    @property
    def n(self) -> int:
        """Number of examples."""
        return self.Z.shape[0]

    @property
    def d(self) -> int:
        """Dimension."""
        return self.Z.shape[1]

    @property
    def exponential_tail(self) -> bool:
        """Whether ℓ(m) ~ exp(−m) as m → ∞."""
        return LOSSES[self.loss]

    def log_loss(self, W: np.ndarray) -> np.ndarray:
        """log L(w) for each row of W (log-sum-exp; never under- or overflows)."""
        W = np.atleast_2d(W)
        M = W @ self.Z.T
        lc = np.log(self.c)
        if self.loss == "exponential":
            a = lc - M
        elif self.loss == "logistic":
            # log ℓ(m) = log log(1 + e^{−m}); for large m it is −m + log1p(...) ≈ −m
            big = M > 30                      # log log(1 + e^{−m}) ≈ −m − e^{−m}/2
            lp = np.where(big, -M - 0.5 * np.exp(-np.where(big, M, 30.0)),
                          np.log(np.logaddexp(0, -np.where(big, 0.0, M))))
            a = lc + lp
        else:
            with np.errstate(divide="ignore"):
                a = lc + np.log(0.5 * (1 - M) ** 2)
        top = a.max(axis=1, keepdims=True)
        return (top + np.log(np.exp(a - top).sum(axis=1, keepdims=True))).ravel()

    def hessian(self, w: np.ndarray) -> np.ndarray:
        """∇²L(w) = Σ c_n ℓ″(z_nᵀw) z_n z_nᵀ."""
        m = self.Z @ w
        if self.loss == "exponential":
            s = np.exp(-m)
        elif self.loss == "logistic":
            e = 1 / (1 + np.exp(-np.abs(m)))
            s = e * (1 - e)
        else:
            s = np.ones_like(m)
        return (self.Z * (self.c * s)[:, None]).T @ self.Z

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description."""
        return {"name": self.name, "Z": self.Z.tolist(), "loss": self.loss,
                "reduction": self.reduction,
                "weights": None if self.weights is None else self.weights.tolist()}

    def __str__(self) -> str:
        red = "Σ_n" if self.reduction == "sum" else "(1/N)Σ_n"
        ell = {"exponential": "exp(−z_nᵀw)", "logistic": "log(1 + exp(−z_nᵀw))",
               "square": "½(1 − z_nᵀw)²"}[self.loss]
        cw = "" if self.weights is None else "c_n "
        return f"{self.name}: L(w) = {red} {cw}{ell}, N = {self.n}, d = {self.d}"


def separable_problem(n: int, d: int, seed: int = 0, **kw: Any) -> SeparableProblem:
    """A seeded separable instance: x_n ~ N(0, I), y_n = sign(x_nᵀw*) for a Gaussian w*.

    Examples
    --------
    >>> separable_problem(20, 3, seed=1).n
    20
    """
    for what, v in (("n", n), ("d", d), ("seed", seed)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < (0 if what == "seed" else 1):
            raise InputError(f"separable problem: {what} must be a non-negative integer, got {v!r}")
    if n * d > 1_000_000:
        raise InputError(f"separable problem: n·d = {n * d} is larger than the limit 1e6")
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    ws = rng.standard_normal(d)
    y = np.sign(X @ ws)
    y[y == 0] = 1
    return SeparableProblem.from_labels(X, y, name=f"separable:{n},{d},{seed}", **kw)


class _Gradient:
    """∇L(w), or ∇L(w)/max_n(c_n|ℓ′(z_nᵀw)|)-type rescaled (for degree-0 steps)."""

    def __init__(self, problem: SeparableProblem, scaled: bool):
        self.Z, self.cZ, self.loss, self.scaled = problem.Z, problem.Z * problem.c[:, None], \
            problem.loss, scaled
        self.batches = 1

    def __call__(self, w: np.ndarray, k: int | None = None) -> np.ndarray:
        m = self.Z @ w
        if self.loss == "exponential":
            s = np.exp(m.min() - m) if self.scaled else np.exp(-m)
        elif self.loss == "logistic":
            ls = -np.logaddexp(0, m)                  # log σ(−m) = log |ℓ′(m)|
            s = np.exp(ls - ls.max()) if self.scaled else np.exp(ls)
        else:
            s = 1 - m
        return -(s @ self.cZ)


@dataclass(frozen=True, eq=False)
class ClassificationRun:
    """A recorded run: iterates at log-spaced steps t, and log L there."""

    t: np.ndarray
    W: np.ndarray
    log_loss: np.ndarray
    steps: int
    h: float
    decay: float
    scaled_gradient: bool
    seconds: float

    @property
    def step_schedule(self) -> str:
        """The step-size schedule, as text."""
        return f"h_k = {self.h:g}" if self.decay == 0 else f"h_k = {self.h:g}·k^(−{self.decay:g})"


def _record_steps(steps: int, record: int) -> np.ndarray:
    return np.unique(np.round(np.logspace(0, np.log10(steps), record)).astype(np.int64))


def run_classification(optimizer: Optimizer, problem: SeparableProblem, h: float, steps: int, *,
                       decay: float = 0.0, w0: Sequence[float] | None = None, record: int = 200,
                       scaled: bool = False) -> ClassificationRun:
    """Run the optimizer's own update for ``steps`` steps, recording at log-spaced t.

    Parameters
    ----------
    optimizer : Optimizer
        Every hyper-parameter numeric.
    problem : SeparableProblem
    h : float
        Step size; with ``decay`` = a > 0 the k-th step uses h·k^(−a).
    steps : int
        Number of steps (at most 10⁷).
    w0 : sequence of float, optional
        Start (default 0).
    record : int
        Number of log-spaced records (t = 1 … steps).
    scaled : bool
        Feed the update the rescaled gradient (exact only for a degree-0 step).

    Raises
    ------
    DivergenceError
        Overflow or non-finite iterates.
    """
    if not (isinstance(steps, (int, np.integer)) and 1 <= steps <= 10_000_000):
        raise InputError(f"steps must be an integer in [1, 1e7], got {steps!r}")
    if not (np.isfinite(h) and h > 0):
        raise InputError(f"step size h must be a positive number, got {h!r}")
    if not (np.isfinite(decay) and 0 <= decay <= 1):
        raise InputError(f"step decay exponent must lie in [0, 1], got {decay!r}")
    hp = optimizer.numeric_hyper() if optimizer.hyper else {}
    grad = _Gradient(problem, scaled)
    w = np.zeros(problem.d) if w0 is None else np.array(w0, dtype=float).reshape(-1)
    if w.shape != (problem.d,) or not np.all(np.isfinite(w)):
        raise InputError(f"w0 must be {problem.d} finite numbers")
    state = optimizer.initial_state(w, grad, hp)
    rec = _record_steps(int(steps), record)
    out = np.empty((len(rec), problem.d))
    upd = optimizer.update
    j, nxt = 0, int(rec[0])
    t0 = time.perf_counter()
    try:
        with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
            for k in range(1, int(steps) + 1):
                res = upd(w, state, grad, h if decay == 0 else h * k ** (-decay), hp)
                w, state = res if isinstance(res, tuple) else (res, {})
                if k == nxt:
                    if not np.all(np.isfinite(w)):
                        raise FloatingPointError("non-finite iterate")
                    out[j] = w
                    j += 1
                    nxt = int(rec[j]) if j < len(rec) else -1
    except FloatingPointError as exc:
        raise DivergenceError(f"{optimizer.name} on {problem.name}: the iterates overflowed at "
                              f"step {k} with h = {h:g} ({exc}); try a smaller step") from None
    secs = time.perf_counter() - t0
    return ClassificationRun(rec.astype(float), out, problem.log_loss(out), int(steps), float(h),
                             float(decay), scaled, secs)


def _rate_text(geometry: Geometry, decay: float) -> str:
    if not geometry.identified:
        return "not predicted (geometry not identified)"
    if decay == 0 and not geometry.normalized:
        return ("Θ(1/log t): direction error ≈ C/log t (Soudry et al. 2018 for ℓ2; Gunasekar et "
                "al. 2018 for steepest descent)")
    if decay == 0:
        return "faster than 1/log t: ‖w_t‖ grows like t with normalized steps (fitted against 1/t)"
    return "decaying steps: fitted (against 1/t and 1/log t)"


@dataclass(frozen=True, eq=False)
class ClassificationBias(Result):
    """The max-margin problem an optimizer's iterates approach, and the measured approach."""

    schema = "implicit-bias-classification"
    optimizer: str
    rule: str
    problem: SeparableProblem
    geometry: Geometry
    outcome: str
    margin: MaxMargin | None
    run: ClassificationRun
    direction_errors: np.ndarray | None
    margin_gaps: np.ndarray | None
    fits: dict
    predicted_rate: str
    prediction: dict | None
    rho_final: np.ndarray | None
    labels: tuple = ()

    @property
    def final_direction_error(self) -> float | None:
        """The direction error at the last recorded step."""
        return None if self.direction_errors is None else float(self.direction_errors[-1])

    @property
    def error_log_t(self) -> float | None:
        """(direction error)·log t at the last record (→ the constant C of C/log t)."""
        if self.direction_errors is None:
            return None
        return float(self.direction_errors[-1] * np.log(self.run.t[-1]))

    @property
    def predicted_final_error(self) -> float | None:
        """Direction error of the predicted path ŵ log t + w̃ at the last record (GD, S spans)."""
        if self.prediction is None or not self.prediction["spans"]:
            return None
        t = self.run.t[-1]
        return float(direction_error(self.margin.w * np.log(t) + self.prediction["w_tilde"],
                                     self.margin.w)[0])

    @property
    def t_loss(self) -> np.ndarray:
        """t·L(w_t) at the recorded t."""
        return self.run.t * np.exp(self.run.log_loss)

    def __str__(self) -> str:
        r = self.run
        lines = [f"{self.optimizer} on {self.problem}", f"  rule: {self.rule}",
                 f"  geometry (derived from the update): {self.geometry}",
                 f"  outcome: {self.outcome}"]
        if self.margin is not None:
            m = self.margin
            lines.append(f"  implicit problem: {m.objective}  (ℓ_{m.p} max margin γ = {m.margin:.6g})")
            lines.append(f"  ŵ = {np.round(m.w, 8).tolist()}, direction {np.round(m.direction, 8).tolist()}, "
                         f"support {list(m.support)}, α = {np.round(m.alpha, 8).tolist()}"
                         + ("" if m.unique else "  [NOT unique]"))
        lines.append(f"  run: {r.steps} steps, {r.step_schedule}, {r.seconds:.2f} s"
                     + (", rescaled gradient" if r.scaled_gradient else ""))
        if self.direction_errors is not None:
            lines.append(f"  direction error at t = {int(r.t[-1])}: {self.final_direction_error:.3e}; "
                         f"margin gap {self.margin_gaps[-1]:.3e}; log L = {r.log_loss[-1]:.4g}")
            lines.append(f"  predicted rate: {self.predicted_rate}")
            for f in self.fits.values():
                lines.append(f"  fit err ≈ C·({f['model']})^a: a = {f['exponent']:.3f}, "
                             f"C = {f['constant']:.3g}")
        else:
            lines.append(f"  w_t at t = {int(r.t[-1])}: {np.round(r.W[-1], 8).tolist()}")
        if self.prediction is not None:
            p = self.prediction
            lines.append(f"  Soudry et al.: ρ(t) = w(t) − ŵ log t → w̃ = {np.round(p['w_tilde'], 6).tolist()}"
                         f" (derived), measured {np.round(self.rho_final, 6).tolist()}; "
                         f"t·L → Σα/η = {p['tL_limit']:.6g}, measured {self.t_loss[-1]:.6g}")
            if p["rate_constant"] is not None:
                lines.append(f"  direction error ≈ C/log t with C = ‖P⊥w̃‖/‖ŵ‖ = {p['rate_constant']:.6g} "
                             f"(derived); measured err·log t = {self.error_log_t:.6g}; direction error "
                             f"of ŵ log t + w̃ at t = {int(r.t[-1])}: {self.predicted_final_error:.4e} "
                             f"(measured {self.final_direction_error:.4e})")
        for lab in self.labels:
            lines.append(f"  note: {lab}")
        return "\n".join(lines)

    def to_latex(self) -> str:
        if self.margin is None:
            return r"\text{" + self.outcome.replace("_", r"\_") + "}"
        p = self.margin.p
        obj = r"\tfrac12\|w\|_2^2" if p == 2 else (r"\|w\|_\infty" if p.is_infinite
                                                    else rf"\|w\|_{{{p}}}")
        return (r"\lim_{t\to\infty}\frac{w_t}{\|w_t\|} \propto \hat w = \operatorname*{argmin}_w "
                + obj + r"\quad\text{s.t.}\quad z_n^\top w \ge 1\ \forall n")

    def to_dict_body(self) -> dict[str, Any]:
        r = self.run
        return {"optimizer": self.optimizer, "rule": self.rule, "problem": self.problem.to_dict(),
                "geometry": self.geometry.to_dict(), "outcome": self.outcome,
                "margin": None if self.margin is None else self.margin.to_dict(),
                "run": {"steps": r.steps, "schedule": r.step_schedule, "seconds": r.seconds,
                        "scaled_gradient": r.scaled_gradient, "t": r.t, "log_loss": r.log_loss,
                        "w_last": r.W[-1]},
                "direction_error": self.direction_errors, "margin_gap": self.margin_gaps,
                "fits": self.fits, "predicted_rate": self.predicted_rate,
                "prediction": self.prediction, "rho_final": self.rho_final,
                "labels": list(self.labels), "latex": self.to_latex()}


def _resolve(optimizer: str | Optimizer, hyper: dict | None) -> Optimizer:
    from ibsym.limits.implicit import DEFAULT_HYPER
    opt = (optimizer.with_hyper(**hyper) if hyper else optimizer) if isinstance(optimizer, Optimizer) \
        else get_optimizer(optimizer, **(hyper or {}))
    fill = {k: DEFAULT_HYPER[k] for k in opt.hyper if k not in dict(opt.values) and k in DEFAULT_HYPER}
    return opt.with_hyper(**fill) if fill else opt


def implicit_bias_classification(optimizer: str | Optimizer, problem: SeparableProblem, *,
                                 h: float | None = None, steps: int = 100_000, decay: float = 0.0,
                                 hyper: dict | None = None, w0: Sequence[float] | None = None,
                                 record: int = 200) -> ClassificationBias:
    """Derive the margin geometry of ``optimizer``, solve its max-margin problem, run and fit.

    Parameters
    ----------
    optimizer : str or Optimizer
    problem : SeparableProblem
    h : float, optional
        Step size (default 1/λ_max(∇²L(w0)) for an unnormalized step, 0.1 for a normalized one).
    steps : int
        Length of the run.
    decay : float
        Step schedule h_k = h·k^(−decay).
    hyper : dict, optional
        Hyper-parameter values (open ones take :data:`ibsym.limits.implicit.DEFAULT_HYPER`).
    w0 : sequence of float, optional
        Start (default 0).
    record : int
        Log-spaced records.

    Returns
    -------
    ClassificationBias
    """
    if not isinstance(problem, SeparableProblem):
        raise InputError("problem must be a SeparableProblem")
    opt = _resolve(optimizer, hyper)
    geo = derive_geometry(opt)
    labels = []
    if geo.note:
        labels.append(geo.note)
    w_start = np.zeros(problem.d) if w0 is None else np.asarray(w0, dtype=float)
    with np.errstate(over="ignore", invalid="ignore"):
        H0 = problem.hessian(w_start) if w_start.shape == (problem.d,) else np.full((1, 1), np.nan)
        lam0 = float(np.linalg.eigvalsh(H0).max()) if np.all(np.isfinite(H0)) else np.inf
    if h is None:
        if not np.isfinite(lam0) and not geo.normalized:
            raise InputError("the loss Hessian at w0 overflows float64: give the step size h")
        h = 0.1 if geo.normalized else 1.0 / lam0
    h = float(h)
    if geo.identified and not geo.normalized and geo.p == 2 and decay == 0:
        g = np.asarray(geo.evidence["gradients"][0])
        kappa = np.linalg.norm(geo.evidence["steps"][0]) / np.linalg.norm(g)
        bound = 2.0 / (kappa * lam0)
        if h > bound:
            labels.append(f"h = {h:g} is past the local stability bound 2/(κ λ_max(∇²L(w0))) = "
                          f"{bound:.4g} (κ = {kappa:.4g}, the step per unit gradient): the rate "
                          "theorems assume a stable step")
    scaled = geo.normalized
    run = run_classification(opt, problem, h, steps, decay=decay, w0=w0, record=record,
                             scaled=scaled)
    if not problem.exponential_tail:
        outcome = (f"no exponential tail: the {problem.loss} loss has finite minimizers, the "
                   f"iterates converge to a point (‖w_T‖ = {np.linalg.norm(run.W[-1]):.6g}) and no "
                   "max-margin direction is selected")
        return ClassificationBias(opt.name, opt.rule, problem, geo, outcome, None, run, None, None,
                                  {}, "none (finite limit)", None, None, tuple(labels))
    if not geo.identified:
        outcome = ("geometry not identified: the update is not a steepest-descent step of an "
                   "ℓ_p norm; the run is measured, no margin problem is derived")
        return ClassificationBias(opt.name, opt.rule, problem, geo, outcome, None, run, None, None,
                                  {}, "not predicted", None, None, tuple(labels))
    mm = max_margin(problem.Z, geo.p)
    if not mm.unique:
        labels.append(f"the ℓ_{geo.p} max-margin solution is not unique: the limit direction is "
                      "not determined by the margin problem alone (the direction error is measured "
                      "against one solution)")
    pf = float(mm.p)
    err = direction_error(run.W, mm.w)
    with np.errstate(invalid="ignore", divide="ignore"):
        gaps = mm.margin - (run.W @ problem.Z.T).min(axis=1) / pnorm(run.W, pf, axis=1)
    fits = {}
    for model in ("1/log t", "1/t"):
        try:
            fits[model] = fit_rate(run.t, err, model=model)
        except InputError:
            pass
    pred = rho = None
    if geo.p == 2 and not geo.normalized and decay == 0 and problem.loss == "exponential":
        g = np.asarray(geo.evidence["gradients"][0])
        kappa = np.linalg.norm(geo.evidence["steps"][0]) / np.linalg.norm(g)
        pred = soudry_prediction(mm, h * kappa, problem.c, problem.Z)
        rho = run.W[-1] - mm.w * np.log(run.t[-1])
        if mm.degenerate:
            labels.append(f"degenerate SVM: constraint(s) {list(mm.degenerate)} active with α_n = 0 "
                          "(strict complementarity fails); Soudry et al.'s ρ(t) → w̃ assumes it, "
                          "so the prediction and the 1/log t rate may not hold")
        if not pred["spans"]:
            labels.append("the support vectors do not span R^d: only the component of w̃ in their "
                          "span is predicted")
        if abs(kappa - 1) > 1e-9:
            labels.append(f"the steady step is κ = {kappa:.6g} times the GD step: the prediction "
                          f"uses the effective step η = κh = {kappa * h:.6g}")
    outcome = f"ℓ_{mm.p} max-margin direction ({geo.step_rule} steps)"
    return ClassificationBias(opt.name, opt.rule, problem, geo, outcome, mm, run, err, gaps, fits,
                              _rate_text(geo, decay), pred, rho, tuple(labels))


def weight_sweep(problem: SeparableProblem, weight_sets: Sequence[Sequence[float]], *, h: float,
                 steps: int, optimizer: str | Optimizer = "gd", record: int = 120) -> dict[str, Any]:
    """Importance weighting: runs with loss Σ c_n exp(−z_nᵀw) for each weight set.

    Returns, per weight set, the direction gap to the unweighted run and to ŵ along t, the
    fitted rate of the gap against 1/log t, and the *derived* constant of that gap,
    ‖P_ŵ^⊥(w̃_c − w̃_1)‖/‖ŵ‖ (Soudry decomposition; the weights shift w̃ only).
    """
    base = SeparableProblem(problem.Z, loss="exponential", reduction=problem.reduction,
                            name=problem.name)
    r0 = implicit_bias_classification(optimizer, base, h=h, steps=steps, record=record)
    u0 = r0.run.W / np.linalg.norm(r0.run.W, axis=1, keepdims=True)
    rows = []
    for c in weight_sets:
        P = SeparableProblem(problem.Z, loss="exponential", reduction=problem.reduction,
                             weights=c, name=f"{problem.name}, weights {list(c)}")
        r = implicit_bias_classification(optimizer, P, h=h, steps=steps, record=record)
        u = r.run.W / np.linalg.norm(r.run.W, axis=1, keepdims=True)
        gap = np.linalg.norm(u - u0, axis=1)
        row = {"weights": list(map(float, c)), "gap": gap, "direction_error": r.direction_errors,
               "fit": fit_rate(r.run.t, gap, model="1/log t"), "result": r}
        if r.prediction is not None and r0.prediction is not None and r.prediction["spans"]:
            uh = r.margin.w / np.linalg.norm(r.margin.w)
            dw = r.prediction["w_tilde"] - r0.prediction["w_tilde"]
            row["predicted_constant"] = float(np.linalg.norm(dw - uh * (uh @ dw))
                                              / np.linalg.norm(r.margin.w))
            lt = np.log(r.run.t[-1])
            a = r.margin.w * lt + r.prediction["w_tilde"]
            b = r0.margin.w * lt + r0.prediction["w_tilde"]
            row["predicted_final_gap"] = float(np.linalg.norm(a / np.linalg.norm(a)
                                                              - b / np.linalg.norm(b)))
        rows.append(row)
    return {"t": r0.run.t, "unweighted": r0, "rows": rows}
