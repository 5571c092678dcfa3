"""The edge-of-stability experiment (Cohen, Kaur, Li, Kolter & Talwalkar, ICLR 2021).

Full-batch training of a small tanh MLP with MSE on one-hot targets; every ``every`` steps the
sharpness λ_max(∇²L) (Lanczos on exact HVPs) -- or, for an update that is not isotropic, the
preconditioned sharpness λ_max(P⁻¹∇²L) with P⁻¹ read off the update at the current state -- is
compared with the level *derived from the update rule* (:mod:`ibsym.dynamics.stability`): GD
2/η, heavy ball (2 + 2β)/η, Adam (2 + 2β₁)/((1 − β₁)η) come out of the same linearization;
none is written here.

Examples
--------
>>> from ibsym import get_optimizer
>>> run = edge_of_stability(get_optimizer("gd"), 1.0, data="synthetic", n=40, width=8,
...                         steps=60, every=20)
>>> round(run.level, 6), run.quantity, len(run.sharpness)      # 2/η, derived
(2.0, 'sharpness', 4)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ibsym.bea.optimizers import Optimizer
from ibsym.core.errors import InputError
from ibsym.core.export import escape_text
from ibsym.core.results import Result
from ibsym.dynamics.data import Dataset, load
from ibsym.dynamics.networks import MLP
from ibsym.dynamics.sharpness import preconditioned_sharpness, sharpness
from ibsym.dynamics.stability import linearized_level
from ibsym.dynamics.training import train

__all__ = ["EdgeOfStabilityRun", "EdgeOfStability", "edge_of_stability", "eos_experiment"]


def _single_thread():
    """BLAS limited to one thread: on a shared machine small matmuls are ~8× faster so."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:        # pragma: no cover - ships with scikit-learn
        import contextlib
        return contextlib.nullcontext()
    return threadpool_limits(1)


@dataclass(frozen=True)
class EdgeOfStabilityRun(Result):
    """One training run at one step size, with its sharpness trace and derived level.

    ``ratio_*`` summarise sharpness/level over the last half of the measured steps;
    ``sharpened`` says the sharpness rose from below ``0.8·level`` to ``0.9·level`` or more
    (progressive sharpening); ``within`` that every ratio of the last half is within ``tol``.
    """

    schema = "edge-of-stability-run"

    optimizer: str
    hyper: dict[str, float]
    eta: float
    data: str
    network: str
    steps: int
    level: float
    quantity: str
    level_spread: float
    measured_steps: tuple[int, ...]
    sharpness: tuple[float, ...]
    losses: tuple[float, ...]
    tol: float = 0.1
    hvp_per_estimate: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratios(self) -> np.ndarray:
        return np.asarray(self.sharpness) / self.level

    @property
    def last_half(self) -> np.ndarray:
        r = self.ratios
        return r[len(r) // 2:]

    @property
    def ratio_mean(self) -> float:
        return float(np.mean(self.last_half))

    @property
    def ratio_min(self) -> float:
        return float(np.min(self.last_half))

    @property
    def ratio_max(self) -> float:
        return float(np.max(self.last_half))

    @property
    def sharpened(self) -> bool:
        r = self.ratios
        return bool(r[0] < 0.8 and np.max(r) >= 0.9)

    @property
    def within(self) -> bool:
        return bool(np.all(np.abs(self.last_half - 1) <= self.tol))

    @property
    def passed(self) -> bool:
        return self.sharpened and self.within

    def to_dict_body(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer, "hyper": self.hyper, "eta": self.eta,
                "data": self.data, "network": self.network, "steps": self.steps,
                "quantity": self.quantity, "level": self.level, "level_spread": self.level_spread,
                "initial_sharpness": self.sharpness[0], "ratio_last_half":
                {"mean": self.ratio_mean, "min": self.ratio_min, "max": self.ratio_max},
                "tol": self.tol, "progressive_sharpening": self.sharpened, "within": self.within,
                "passed": self.passed, "measured_steps": list(self.measured_steps),
                "sharpness": list(self.sharpness), "losses": list(self.losses),
                "hvp_per_estimate": self.hvp_per_estimate, **self.extra}

    def row(self) -> str:
        hp = ",".join(f"{k}={v:g}" for k, v in self.hyper.items())
        return (f"{self.optimizer + ('(' + hp + ')' if hp else ''):<28} {self.eta:>8g} "
                f"{self.level:>10.4g} {self.sharpness[0]:>9.4g} {self.ratio_mean:>7.3f} "
                f"{self.ratio_min:>7.3f} {self.ratio_max:>7.3f}  "
                f"{'yes' if self.sharpened else 'no':<4} {'PASS' if self.passed else 'FAIL'}")

    def __str__(self) -> str:
        return EdgeOfStability((self,)).table()

    def to_latex(self) -> str:
        return EdgeOfStability((self,)).to_latex()


@dataclass(frozen=True)
class EdgeOfStability(Result):
    """Several runs (step sizes, optimizers): a table of measured/derived levels."""

    schema = "edge-of-stability"
    runs: tuple[EdgeOfStabilityRun, ...]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.runs)

    def table(self) -> str:
        head = (f"{'optimizer':<28} {'eta':>8} {'level':>10} {'S(0)':>9} {'mean':>7} {'min':>7} "
                f"{'max':>7}  sharpened  (S/level over the last half; S = sharpness, or "
                "preconditioned sharpness for adaptive updates)")
        return "\n".join([head] + [r.row() for r in self.runs])

    __str__ = table

    def to_dict_body(self) -> dict[str, Any]:
        return {"passed": self.passed, "runs": [r.to_dict_body() for r in self.runs]}

    def to_latex(self) -> str:
        rows = []
        for r in self.runs:
            hp = ", ".join(f"{k}={v:g}" for k, v in r.hyper.items())
            name = r"\text{" + escape_text(r.optimizer + (f" ({hp})" if hp else "")) + "}"
            q = r"\lambda_{\max}(P^{-1}\nabla^2 L)" if r.quantity != "sharpness" \
                else r"\lambda_{\max}(\nabla^2 L)"
            rows.append(rf"{name} & {r.eta:g} & {q} & {r.level:.4g} & {r.ratio_mean:.3f} & "
                        rf"[{r.ratio_min:.3f}, {r.ratio_max:.3f}] \\")
        return (r"\begin{array}{llllll}" "\n"
                r"\text{optimizer} & \eta & \text{quantity} & \text{derived level} & "
                r"\text{mean ratio} & \text{range} \\ \hline" "\n" + "\n".join(rows)
                + "\n" r"\end{array}")


def edge_of_stability(optimizer: Optimizer, eta: float, *, data: str | Dataset = "digits",
                      n: int | None = None, width: int = 32, depth: int = 2,
                      activation: str = "tanh", steps: int = 3000, every: int = 50,
                      seed: int = 0, init_scale: float = 0.5, tol: float = 0.1,
                      lanczos_tol: float = 1e-4) -> EdgeOfStabilityRun:
    """Train at step size ``eta`` and trace the (preconditioned) sharpness against the level
    derived from the optimizer's update rule.

    Parameters
    ----------
    optimizer : Optimizer
        Numeric hyper-parameters given (``get_optimizer("heavy-ball", beta=0.9)``), or a rule file.
    eta : float
        Step size.
    data : "digits", "synthetic" or a :class:`~ibsym.dynamics.data.Dataset`
    n : int, optional
        Number of samples (digits default 500, synthetic 200).
    width, depth, activation : the MLP (``depth`` hidden layers of ``width``).
    steps, every : training length and measurement interval.
    init_scale : float
        Weight scale of the LeCun-normal initialization (0.5: the sharpness starts well
        below the level, so progressive sharpening is visible).
    tol : float
        Acceptance band of sharpness/level over the last half.
    """
    if not eta > 0:
        raise InputError(f"the step size must be positive, got {eta}")
    if steps < 2 or every < 1 or every > steps:
        raise InputError(f"need steps >= 2 and 1 <= every <= steps (got {steps}, {every})")
    ds = data if isinstance(data, Dataset) else load(data, n=n, seed=seed)
    net = MLP((ds.X.shape[1],) + (width,) * depth + (ds.Y.shape[1],), activation=activation)
    theta0 = net.init(seed=seed, scale=init_scale)
    hp = optimizer.numeric_hyper() if optimizer.hyper else {}
    prev: dict[str, Any] = {"v": None}
    mv: list[int] = []

    def observe(step, theta, state, grad):
        hv = lambda u: net.hvp(theta, u, ds.X, ds.Y)      # noqa: E731
        lv = linearized_level(optimizer, theta, state, eta)
        if lv.preconditioned:
            s = preconditioned_sharpness(hv, lv.inv_precond, net.dim, v0=prev["v"],
                                         tol=lanczos_tol)
        else:
            s = sharpness(hv, net.dim, v0=prev["v"], tol=lanczos_tol)
        prev["v"] = s.vector
        mv.append(s.matvecs)
        return {"sharpness": s.value, "level": lv.level, "spread": lv.spread,
                "preconditioned": lv.preconditioned}

    with _single_thread():
        run = train(optimizer, net, ds.X, ds.Y, theta0, h=eta, steps=steps, every=every,
                    observe=observe)
    # the quantity is the one of the run's end; earlier measurements of the other kind
    # (an adaptive state before its first gradient is isotropic: ν = 0) are dropped
    pre = bool(run.measurements[-1]["preconditioned"])
    keep = [i for i, m in enumerate(run.measurements) if m["preconditioned"] == pre]
    run.measured_steps = [run.measured_steps[i] for i in keep]
    run.measurements = [run.measurements[i] for i in keep]
    levels = run.series("level")
    sharp = run.series("sharpness")
    if not pre:
        quantity, level, spread = "sharpness", float(levels[-1]), float(run.series("spread")[-1])
    else:
        quantity = "preconditioned sharpness"
        level = float(np.median(levels[len(levels) // 2:]))
        spread = float(np.max(np.abs(levels[len(levels) // 2:] / level - 1)))
    losses = [run.losses[min(k, len(run.losses) - 1)] for k in run.measured_steps]
    return EdgeOfStabilityRun(
        optimizer.name, {k: float(v) for k, v in hp.items()}, float(eta), ds.name,
        f"MLP{net.sizes} {activation}, MSE", int(steps), level, quantity, spread,
        tuple(run.measured_steps), tuple(map(float, sharp)), tuple(map(float, losses)), tol,
        float(np.mean(mv)) if mv else 0.0,
        {"final_loss": float(run.losses[-1])})


def eos_experiment(optimizer: Optimizer, etas: list[float], **kwargs: Any) -> EdgeOfStability:
    """:func:`edge_of_stability` at each step size of ``etas``."""
    if not etas:
        raise InputError("give at least one step size")
    return EdgeOfStability(tuple(edge_of_stability(optimizer, e, **kwargs) for e in etas))
