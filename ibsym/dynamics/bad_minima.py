"""Bad global minima that SGD reaches from an adversarial initialization (Liu, Papailiopoulos &
Achlioptas, NeurIPS 2020), on scikit-learn's bundled digits.

Adversarial initialization: train first on R copies of the training images, in each copy a
fraction N of the pixels zeroed and every copy given a random label, as far as it fits; then
train on the true labels to 100 % training accuracy with vanilla SGD, or with momentum (heavy
ball), L2 regularization (weight decay in the gradient) and data augmentation (random ±1-pixel
shifts and Gaussian pixel noise), in all combinations.  Each run reports train and test accuracy,
its distance from its initialization and a norm-based complexity (Σ_l ‖W_l‖_F², and the product
of the layers' Frobenius norms).  The optimizers are ibsym ``Optimizer`` objects run by
:func:`ibsym.dynamics.training.train` (``gd`` on mini-batches is SGD).

Examples
--------
>>> ds = adversarial_copies(np.eye(4), replicas=2, noise=0.5, classes=3, seed=0)
>>> ds[0].shape, ds[1].shape, sorted(set(ds[1].sum(axis=1).tolist()))
((8, 4), (8, 3), [1.0])
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ibsym.bea.optimizers import get_optimizer
from ibsym.core.errors import InputError
from ibsym.core.export import escape_text
from ibsym.core.results import Result
from ibsym.dynamics.networks import MLP
from ibsym.dynamics.training import NetworkGradient, train

__all__ = ["adversarial_copies", "RegularizedGradient", "BadMinimaRun", "BadMinima",
           "bad_minima_experiment"]

REGULARIZERS = ("momentum", "l2", "augmentation")


def adversarial_copies(X: np.ndarray, *, replicas: int, noise: float, classes: int,
                       seed: int = 0, fill: np.ndarray | float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """``replicas`` copies of ``X`` with a fraction ``noise`` of the entries set to ``fill``
    (the pixel value 0, in the coordinates of the centred data) and uniformly random labels."""
    if replicas < 1 or not 0 <= noise <= 1:
        raise InputError(f"need replicas >= 1 and 0 <= noise <= 1 (got {replicas}, {noise})")
    rng = np.random.default_rng(seed)
    Xs, Ys = [], []
    for _ in range(replicas):
        Z = np.array(X, dtype=float)
        mask = rng.random(Z.shape) < noise
        Z[mask] = np.broadcast_to(fill, Z.shape)[mask]
        Xs.append(Z)
        Ys.append(np.eye(classes)[rng.integers(0, classes, len(Z))])
    return np.concatenate(Xs), np.concatenate(Ys)


class RegularizedGradient(NetworkGradient):
    """Mini-batch gradient with optional weight decay ``l2``·θ and augmentation of each batch
    (images of ``shape``: a random shift by up to one pixel per axis, blank pixels entering at
    the border, then N(0, σ²) noise); ``offset`` is what was subtracted to centre the pixels."""

    def __init__(self, net: MLP, X: np.ndarray, Y: np.ndarray, *, batch_size: int,
                 seed: int = 0, l2: float = 0.0, augment: bool = False,
                 shape: tuple[int, int] = (8, 8), sigma: float = 0.05,
                 offset: np.ndarray | float = 0.0):
        super().__init__(net, X, Y, batch_size=batch_size, seed=seed)
        if augment and shape[0] * shape[1] != self.X.shape[1]:
            raise InputError(f"augmentation needs images of {shape[0]}x{shape[1]} = "
                             f"{shape[0] * shape[1]} pixels; the data have {self.X.shape[1]}")
        self.l2, self.augment, self.shape, self.sigma = float(l2), augment, shape, sigma
        self.offset = offset          # X = raw pixels − offset (centred data)
        self.aug_rng = np.random.default_rng(seed + 7919)

    def _augment(self, Xb: np.ndarray) -> np.ndarray:
        n = len(Xb)
        imgs = (Xb + self.offset).reshape(n, *self.shape)          # raw pixels: blank is 0
        pad = np.pad(imgs, ((0, 0), (1, 1), (1, 1)), constant_values=0.0)
        dx, dy = self.aug_rng.integers(0, 3, n), self.aug_rng.integers(0, 3, n)
        out = np.stack([pad[i, dx[i]:dx[i] + self.shape[0], dy[i]:dy[i] + self.shape[1]]
                        for i in range(n)]).reshape(n, -1) - self.offset
        return out + self.sigma * self.aug_rng.normal(size=out.shape)

    def __call__(self, theta: np.ndarray, batch: int | None = None) -> np.ndarray:
        self.calls += 1
        rows = self._rows(self.current if batch is None else batch)
        Xb = self.X[rows]
        if self.augment:
            Xb = self._augment(Xb)
        value, g = self.net.loss_and_grad(theta, Xb, self.Y[rows])
        if self.l2:
            value += 0.5 * self.l2 * float(theta @ theta)
            g = g + self.l2 * theta
        if batch is None:
            self.last_loss, self.last_theta = value, theta
        return g


def _complexity(net: MLP, theta: np.ndarray) -> tuple[float, float]:
    norms = [float(np.sum(W * W)) for W, _ in net.unflatten(theta)]
    return float(sum(norms)), float(np.prod(np.sqrt(norms)))


@dataclass(frozen=True)
class BadMinimaRun:
    """One training run on the true labels."""

    start: str                      # "random" or "adversarial R=…"
    replicas: int
    regularizers: tuple[str, ...]
    train_accuracy: float
    test_accuracy: float
    distance: float                 # ‖θ_end − θ_start‖
    frobenius_sq: float             # Σ_l ‖W_l‖_F²
    norm_product: float             # Π_l ‖W_l‖_F
    epochs: int

    @property
    def label(self) -> str:
        return "+".join(self.regularizers) or "vanilla"


@dataclass(frozen=True)
class BadMinima(Result):
    """All runs, with the acceptance figures of issue 13 part 3."""

    schema = "bad-minima"
    runs: tuple[BadMinimaRun, ...]
    settings: dict[str, Any] = field(default_factory=dict)

    def run(self, start: str, regs: tuple[str, ...] = ()) -> BadMinimaRun:
        for r in self.runs:
            if r.start == start and r.regularizers == regs:
                return r
        raise InputError(f"no run {start} {regs}")

    @property
    def replicas(self) -> list[int]:
        return sorted({r.replicas for r in self.runs if r.replicas})

    def figures(self) -> dict[str, Any]:
        base = self.run("random").test_accuracy
        R = max(self.replicas)
        adv = f"adversarial R={R}"
        vanilla = self.run(adv).test_accuracy
        pairs = {f"{a}+{b}": self.run(adv, tuple(x for x in REGULARIZERS if x in (a, b))).test_accuracy
                 for a, b in itertools.combinations(REGULARIZERS, 2)}
        by_r = [self.run(f"adversarial R={r}").test_accuracy for r in self.replicas]
        return {"random_test": base, "adversarial_vanilla_test": vanilla,
                "drop_points": 100 * (base - vanilla),
                "pairs_gap_points": {k: 100 * (base - v) for k, v in pairs.items()},
                "vanilla_test_by_R": dict(zip(self.replicas, by_r)),
                "monotone_in_R": bool(all(a > b for a, b in zip(by_r, by_r[1:]))),
                "min_train_accuracy": min(r.train_accuracy for r in self.runs)}

    def table(self) -> str:
        head = (f"{'start':<18} {'training':<28} {'train':>7} {'test':>7} {'dist':>8} "
                f"{'Σ‖W‖²':>9} {'Π‖W‖':>9} {'epochs':>6}")
        rows = [f"{r.start:<18} {r.label:<28} {r.train_accuracy:>7.3f} {r.test_accuracy:>7.3f} "
                f"{r.distance:>8.3f} {r.frobenius_sq:>9.2f} {r.norm_product:>9.2f} {r.epochs:>6d}"
                for r in self.runs]
        f = self.figures()
        tail = (f"test accuracy drop from the adversarial start (vanilla SGD): "
                f"{f['drop_points']:.1f} points; gap with two regularizers: "
                + ", ".join(f"{k} {v:.1f}" for k, v in f["pairs_gap_points"].items())
                + f"; vanilla test accuracy by R: "
                + ", ".join(f"R={k}: {v:.3f}" for k, v in f["vanilla_test_by_R"].items()))
        return "\n".join([head] + rows + [tail])

    __str__ = table

    def to_dict_body(self) -> dict[str, Any]:
        return {"settings": self.settings, "figures": self.figures(),
                "runs": [{"start": r.start, "replicas": r.replicas,
                          "regularizers": list(r.regularizers),
                          "train_accuracy": r.train_accuracy, "test_accuracy": r.test_accuracy,
                          "distance": r.distance, "frobenius_sq": r.frobenius_sq,
                          "norm_product": r.norm_product, "epochs": r.epochs} for r in self.runs]}

    def to_latex(self) -> str:
        rows = [rf"\text{{{escape_text(r.start)}}} & \text{{{escape_text(r.label)}}} & "
                rf"{r.train_accuracy:.3f} & {r.test_accuracy:.3f} & {r.distance:.2f} & "
                rf"{r.frobenius_sq:.1f} \\" for r in self.runs]
        return (r"\begin{array}{llllll}" "\n" r"\text{start} & \text{training} & \text{train} & "
                r"\text{test} & \|\theta-\theta_0\| & \sum\|W\|_F^2 \\ \hline" "\n"
                + "\n".join(rows) + "\n" r"\end{array}")


def _until_full(opt, net, X, Y, theta, *, h, batch_size, max_epochs, seed, l2=0.0,
                augment=False, offset=0.0):
    """Train epoch by epoch (state carried over) until 100 % training accuracy."""
    g = RegularizedGradient(net, X, Y, batch_size=batch_size, seed=seed, l2=l2,
                            augment=augment, offset=offset)
    th = np.array(theta, dtype=float)
    state = None
    for ep in range(1, max_epochs + 1):
        run = train(opt, net, X, Y, th, h=h, steps=g.batches, grad=g, state=state)
        th, state = run.theta, run.state
        if net.accuracy(th, X, Y) >= 1.0:
            return th, ep
    return th, max_epochs


def bad_minima_experiment(*, replicas: tuple[int, ...] = (2, 4, 8), noise: float = 0.1,
                          n_train: int = 200, width: int = 512, lr: float = 0.01,
                          batch_size: int = 50, adversarial_epochs: int = 300,
                          max_epochs: int = 300, l2: float = 5e-4, beta: float = 0.9,
                          seed: int = 0, combos: str = "all",
                          progress: Any = None) -> BadMinima:
    """Random start vs adversarial starts (one per R), each trained on the true labels with
    every combination of momentum, L2 and augmentation (see the module docstring).

    ``combos="acceptance"`` runs only what the acceptance figures use: vanilla SGD from every
    start and the three pairs of regularizers from the largest R (7 runs instead of 32).
    ``progress(run)`` is called after each run."""
    if combos not in ("all", "acceptance"):
        raise InputError(f"combos must be 'all' or 'acceptance', got {combos!r}")
    from sklearn.datasets import load_digits
    raw = load_digits()
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(raw.target))
    if not 10 <= n_train < len(idx) - 100:
        raise InputError(f"n_train must be between 10 and {len(idx) - 101}, got {n_train}")
    tr, te = idx[:n_train], idx[n_train:]
    X = raw.data / 16.0
    mu = X[tr].mean(axis=0)
    Xc, Y = X - mu, np.eye(10)[raw.target]
    net = MLP((64, width, 10), activation="relu", objective="cross-entropy")
    theta0 = net.init(seed=seed)
    combos_all = [tuple(r for r, on in zip(REGULARIZERS, bits) if on)
                  for bits in itertools.product((False, True), repeat=3)]
    runs = []

    def record(start, R, regs, th_start):
        opt = get_optimizer("heavy-ball", beta=beta) if "momentum" in regs else get_optimizer("gd")
        th, ep = _until_full(opt, net, Xc[tr], Y[tr], th_start, h=lr, batch_size=batch_size,
                             max_epochs=max_epochs, seed=seed,
                             l2=l2 if "l2" in regs else 0.0, augment="augmentation" in regs,
                             offset=mu)
        fro, prod = _complexity(net, th)
        runs.append(BadMinimaRun(start, R, regs, net.accuracy(th, Xc[tr], Y[tr]),
                                 net.accuracy(th, Xc[te], Y[te]),
                                 float(np.linalg.norm(th - th_start)), fro, prod, ep))
        if progress is not None:
            progress(runs[-1])

    def chosen(R):
        if combos == "all":
            return combos_all
        if R != max(replicas, default=0):
            return [()]
        return [()] + [c for c in combos_all if len(c) == 2]

    for regs in (combos_all if combos == "all" else [()]):
        record("random", 0, regs, theta0)
    for R in replicas:
        Xa, Ya = adversarial_copies(Xc[tr], replicas=R, noise=noise, classes=10, seed=seed + R,
                                    fill=-mu)
        steps = adversarial_epochs * -(-len(Xa) // batch_size)
        th_adv = train(get_optimizer("gd"), net, Xa, Ya, theta0, h=0.1, steps=steps,
                       batch_size=batch_size, seed=seed).theta
        for regs in chosen(R):
            record(f"adversarial R={R}", R, regs, th_adv)
    settings = {"replicas": list(replicas), "noise": noise, "n_train": n_train, "width": width,
                "lr": lr, "batch_size": batch_size, "adversarial_epochs": adversarial_epochs,
                "max_epochs": max_epochs, "l2": l2, "beta": beta, "seed": seed,
                "network": f"MLP{net.sizes} relu, cross-entropy", "test_size": int(len(te)),
                "combos": combos}
    return BadMinima(tuple(runs), settings)
