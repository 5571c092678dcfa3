"""Training a small network under any ibsym :class:`~ibsym.bea.optimizers.Optimizer`.

The optimizer is run exactly as :func:`ibsym.numeric.kernels.iterate` runs it: its own
``initial_state`` and ``update(theta, state, grad, h, hp)`` on NumPy arrays, with a gradient
oracle ``grad(theta)`` -- here backpropagation through the network on the full batch, or on
the current mini-batch (random reshuffling every epoch).  Built-in optimizers and rule files
(:func:`ibsym.bea.update_rules.parse_update_rule`) are the same objects the symbolic procedure
traces; nothing is re-implemented per optimizer.

Examples
--------
>>> from ibsym import get_optimizer
>>> from ibsym.dynamics.data import synthetic
>>> from ibsym.dynamics.networks import MLP
>>> d = synthetic(n=40, dim=4, classes=2)
>>> net = MLP((4, 8, 2))
>>> run = train(get_optimizer("gd"), net, d.X, d.Y, net.init(seed=0), h=0.5, steps=50)
>>> bool(run.losses[-1] < run.losses[0])
True
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ibsym.bea.optimizers import Optimizer
from ibsym.core.errors import DivergenceError, InputError
from ibsym.dynamics.networks import MLP

__all__ = ["NetworkGradient", "TrainingRun", "train"]


class NetworkGradient:
    """The gradient oracle of a network on data: ``g(theta)`` (the current batch) and
    ``g(theta, k)`` (batch k), like :class:`ibsym.numeric.kernels.NumericGradient`.

    It also remembers the loss of its last full-batch evaluation (``last_loss``), so the
    trainer records L(θ_n) without a second forward pass.
    """

    def __init__(self, net: MLP, X: np.ndarray, Y: np.ndarray, *,
                 batch_size: int | None = None, seed: int = 0):
        self.net, self.X, self.Y = net, np.asarray(X, dtype=float), np.asarray(Y, dtype=float)
        n = self.X.shape[0]
        if batch_size is not None and not 1 <= batch_size <= n:
            raise InputError(f"batch size must be between 1 and the sample count {n}, "
                             f"got {batch_size}")
        self.batch_size = batch_size
        self.rng = np.random.default_rng(seed)
        self.order = np.arange(n)
        self.batches = 1 if batch_size is None else -(-n // batch_size)
        self.current = 0
        self.calls = 0
        self.last_loss = float("nan")
        self.last_theta: np.ndarray | None = None

    def next_batch(self) -> None:
        """Advance to the next mini-batch (reshuffle at each epoch)."""
        if self.batch_size is None:
            return
        self.current += 1
        if self.current >= self.batches:
            self.current = 0
            self.order = self.rng.permutation(len(self.order))

    def _rows(self, k: int) -> np.ndarray:
        b = self.batch_size
        return self.order[k * b:(k + 1) * b]

    def __call__(self, theta: np.ndarray, batch: int | None = None) -> np.ndarray:
        self.calls += 1
        if self.batch_size is None:
            value, g = self.net.loss_and_grad(theta, self.X, self.Y)
            self.last_loss, self.last_theta = value, theta
            return g
        rows = self._rows(self.current if batch is None else batch)
        value, g = self.net.loss_and_grad(theta, self.X[rows], self.Y[rows])
        if batch is None:
            self.last_loss, self.last_theta = value, theta
        return g


@dataclass
class TrainingRun:
    """Losses per step and the measurements taken every ``every`` steps."""

    optimizer: str
    h: float
    steps: list[int] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    measured_steps: list[int] = field(default_factory=list)
    measurements: list[dict[str, Any]] = field(default_factory=list)
    theta: np.ndarray | None = None
    state: dict[str, Any] | None = None

    def series(self, key: str) -> np.ndarray:
        """One measurement as an array over the measured steps."""
        return np.array([m[key] for m in self.measurements], dtype=float)


def train(optimizer: Optimizer, net: MLP, X: np.ndarray, Y: np.ndarray, theta0: np.ndarray, *,
          h: float, steps: int, batch_size: int | None = None, seed: int = 0,
          every: int = 0, observe: Callable[..., dict[str, Any]] | None = None,
          blowup: float = 1e6, grad: NetworkGradient | None = None,
          state: dict[str, Any] | None = None) -> TrainingRun:
    """Run ``steps`` updates of ``optimizer`` with step size ``h`` from ``theta0``.

    Parameters
    ----------
    optimizer : Optimizer
        Any optimizer with numeric hyper-parameters and one step per update (for
        mini-batches give ``batch_size``; epoch-type optimizers such as ``sgd`` are refused).
    net, X, Y : the network and its training data.
    every : int
        Call ``observe(step, theta, state, grad)`` every ``every`` steps (and at the last
        step); its dict is stored in ``measurements`` (None: nothing recorded).
    blowup : float
        A loss above ``blowup`` times the initial loss (or a non-finite one) raises
        :class:`~ibsym.core.errors.DivergenceError`.
    grad : NetworkGradient, optional
        A prepared gradient oracle (e.g. with weight decay or data augmentation); its data
        and batch size are used instead of ``X, Y, batch_size``.
    state : dict, optional
        The optimizer state to start from (to continue a run); default its initial state.

    Returns
    -------
    TrainingRun
        ``losses[n]`` is L(θ_n) on the full batch (on the mini-batch used at step n for
        mini-batch training), n = 0..steps-1.
    """
    if optimizer.steps_per_update != 1:
        raise InputError(f"optimizer '{optimizer.name}' advances a whole epoch per update; "
                         "train with a one-step optimizer (e.g. gd) and batch_size for mini-batches")
    if steps < 1 or h <= 0:
        raise InputError(f"need steps >= 1 and a step size h > 0 (got steps={steps}, h={h})")
    hp = optimizer.numeric_hyper() if optimizer.hyper else {}
    g = grad if grad is not None else NetworkGradient(net, X, Y, batch_size=batch_size, seed=seed)
    batch_size = g.batch_size
    th = np.array(theta0, dtype=float)
    state = optimizer.initial_state(th, g, hp) if state is None else dict(state)
    run = TrainingRun(optimizer.name, float(h))
    first = None
    for n in range(steps):
        if every and observe is not None and (n % every == 0):
            seen = observe(n, th, state, g)
            if seen is not None:           # the observer may skip a step
                run.measured_steps.append(n)
                run.measurements.append(seen)
        g.last_theta = None
        res = optimizer.update(th, state, g, h, hp)
        th_new, state = res if isinstance(res, tuple) else (res, {})
        if g.last_theta is not None and np.array_equal(g.last_theta, th):
            value = g.last_loss                 # the update evaluated the gradient at θ_n
        elif batch_size is None:
            value = net.loss(th, g.X, g.Y)
        else:
            rows = g._rows(g.current)
            value = net.loss(th, g.X[rows], g.Y[rows])
        first = value if first is None else first
        run.steps.append(n)
        run.losses.append(float(value))
        if not np.isfinite(value) or value > blowup * max(first, 1e-12):
            raise DivergenceError(f"{optimizer.name} diverged at h={h:g} (step {n + 1}, loss "
                                  f"{value:.3g}); try a smaller step size")
        th = np.asarray(th_new, dtype=float)
        g.next_batch()
    if every and observe is not None:
        run.measured_steps.append(steps)
        run.measurements.append(observe(steps, th, state, g))
    run.theta, run.state = th, state
    return run
