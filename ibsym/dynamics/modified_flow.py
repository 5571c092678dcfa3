"""Where backward error analysis stops: the modified flow of an optimizer vs its iterates on a
network, before and after the edge of stability.

The modified field F_0 + hF_1 + … is *derived* by :func:`ibsym.modified_equation` in the
dimension-free notation (elementary differentials: ``()`` = ∇L, ``((),)`` = ∇²L∇L, …) and
evaluated on the network tree by tree: a chain ∇²L(∇²L(…∇L)) needs only Hessian-vector products;
a branching tree (∇³L(∇L, ∇L), first at order 2 for GD) would need third derivatives and is
refused with a message.  The flow is integrated by classical RK4 with a fixed sub-step and
compared with the iterates at t_n = n h.

Examples
--------
>>> import numpy as np
>>> from ibsym import get_optimizer
>>> from ibsym.dynamics.networks import MLP
>>> from ibsym.dynamics.data import synthetic
>>> d = synthetic(n=30, dim=3, classes=2)
>>> net = MLP((3, 4, 2))
>>> gap = flow_gap(get_optimizer("gd"), net, d.X, d.Y, net.init(seed=0), h=0.1, steps=20)
>>> bool(gap.gap[1][-1] < gap.gap[0][-1])        # the order-1 flow is closer than gradient flow
True
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ibsym.bea.optimizers import Optimizer
from ibsym.core.errors import InputError
from ibsym.dynamics.networks import MLP
from ibsym.dynamics.training import train

__all__ = ["network_field", "FlowGap", "flow_gap"]


def _tree_evaluator(grad: np.ndarray, hvp: Callable[[np.ndarray], np.ndarray]):
    cache: dict[Any, np.ndarray] = {}

    def ev(tree: tuple) -> np.ndarray:
        if tree in cache:
            return cache[tree]
        if len(tree) == 0:
            out = grad
        elif len(tree) == 1:
            out = hvp(ev(tree[0]))
        else:
            raise InputError(f"the modified field contains a derivative of order {len(tree) + 1} "
                             "of the loss (a branching elementary differential); on a network only "
                             "∇L and Hessian-vector products are evaluated -- use a lower order")
        cache[tree] = out
        return out

    return ev


def network_field(optimizer: Optimizer | str, order: int = 1
                  ) -> Callable[[MLP, np.ndarray, np.ndarray, np.ndarray, float], np.ndarray]:
    """The derived modified field Σ_{j≤order} h^j F_j as ``field(net, theta, X, Y, h)``.

    Refuses optimizers with memory (their flow starts from a shifted initial value that is
    not evaluated on networks) and any F_j with a branching elementary differential.
    """
    from ibsym.bea.procedure import modified_equation
    eq = modified_equation(optimizer, order=order)
    if getattr(eq, "has_memory", False):
        raise InputError(f"'{eq.optimizer.name}' has state (memory): the network flow gap is "
                         "computed for memoryless updates (e.g. gd)")
    terms = []
    for j, comb in enumerate(eq.terms):
        items = [(tree, float(c)) for tree, c in comb.items()]
        for tree, _ in items:
            _tree_evaluator(np.zeros(1), lambda v: v)(tree)     # refuse branching trees now
        terms.append(items)

    def field(net: MLP, theta: np.ndarray, X: np.ndarray, Y: np.ndarray, h: float) -> np.ndarray:
        g = net.grad(theta, X, Y)
        ev = _tree_evaluator(g, lambda v: net.hvp(theta, v, X, Y))
        out = np.zeros_like(theta)
        for j, items in enumerate(terms):
            for tree, c in items:
                out = out + (h ** j * c) * ev(tree)
        return out

    return field


@dataclass(frozen=True)
class FlowGap:
    """‖θ_n − θ̃_k(n h)‖ for the flows of order k = 0..order at the recorded steps."""

    steps: tuple[int, ...]
    gap: tuple[tuple[float, ...], ...]         # gap[k][i] at steps[i]
    travelled: tuple[float, ...]               # ‖θ_n − θ_0‖
    h: float

    def relative(self, k: int) -> np.ndarray:
        return np.asarray(self.gap[k]) / np.maximum(np.asarray(self.travelled), 1e-300)


def flow_gap(optimizer: Optimizer | str, net: MLP, X: np.ndarray, Y: np.ndarray,
             theta0: np.ndarray, *, h: float, steps: int, order: int = 1, substeps: int = 4,
             record: Sequence[int] | None = None) -> FlowGap:
    """Iterates of ``optimizer`` vs its derived modified flows of order 0..``order``.

    Parameters
    ----------
    substeps : int
        RK4 steps per time h (the field is stiff near the edge of stability: λ ≈ 2/h).
    record : steps at which to record the gap (default every step).
    """
    from ibsym.bea.optimizers import get_optimizer
    opt = get_optimizer(optimizer) if isinstance(optimizer, str) else optimizer
    if substeps < 1 or steps < 1:
        raise InputError("need steps >= 1 and substeps >= 1")
    fields = [network_field(opt, k) for k in range(order + 1)]
    run = train(opt, net, X, Y, theta0, h=h, steps=steps, every=1,
                observe=lambda n, th, st, g: {"theta": th.copy()})
    iterates = [m["theta"] for m in run.measurements]
    rec = sorted(set(range(steps + 1) if record is None else record))
    dt = h / substeps
    gaps = []
    for f in fields:
        y = np.array(theta0, dtype=float)
        out = []
        n_done = 0
        for n in rec:
            while n_done < n:
                for _ in range(substeps):
                    k1 = f(net, y, X, Y, h)
                    k2 = f(net, y + 0.5 * dt * k1, X, Y, h)
                    k3 = f(net, y + 0.5 * dt * k2, X, Y, h)
                    k4 = f(net, y + dt * k3, X, Y, h)
                    y = y + (dt / 6) * (k1 + 2 * k2 + 2 * k3 + k4)
                n_done += 1
            out.append(float(np.linalg.norm(iterates[n] - y)))
        gaps.append(tuple(out))
    travelled = tuple(float(np.linalg.norm(iterates[n] - iterates[0])) for n in rec)
    return FlowGap(tuple(rec), tuple(gaps), travelled, float(h))
