"""Small data sets that ship with a package or are generated from a seed (no download).

Examples
--------
>>> d = synthetic(n=20, dim=4, classes=3, seed=1)
>>> d.X.shape, d.Y.shape, d.Y.sum(axis=1).tolist() == [1.0] * 20
((20, 4), (20, 3), True)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ibsym.core.errors import InputError

__all__ = ["Dataset", "digits", "synthetic", "load"]

DATASETS = ("digits", "synthetic")


@dataclass(frozen=True)
class Dataset:
    """Inputs ``X`` (n, d), one-hot targets ``Y`` (n, classes) and a name."""

    X: np.ndarray
    Y: np.ndarray
    name: str

    @property
    def n(self) -> int:
        return int(self.X.shape[0])


def _one_hot(labels: np.ndarray, classes: int) -> np.ndarray:
    Y = np.zeros((len(labels), classes))
    Y[np.arange(len(labels)), labels] = 1.0
    return Y


def digits(n: int = 500, classes: int = 10, seed: int = 0) -> Dataset:
    """``n`` seeded samples of scikit-learn's bundled 8×8 digits (1797 images, no download),
    of the first ``classes`` digits; pixels scaled to [0, 1] and centred per feature."""
    from sklearn.datasets import load_digits
    if not 2 <= classes <= 10:
        raise InputError(f"digits has 2..10 classes, got {classes}")
    raw = load_digits()
    keep = np.flatnonzero(raw.target < classes)
    if not 1 <= n <= len(keep):
        raise InputError(f"digits with {classes} classes has {len(keep)} samples; asked for {n}")
    idx = np.sort(np.random.default_rng(seed).choice(keep, size=n, replace=False))
    X = raw.data[idx] / 16.0
    X = X - X.mean(axis=0)
    return Dataset(X, _one_hot(raw.target[idx], classes), f"digits[{n}, {classes} classes]")


def synthetic(n: int = 200, dim: int = 16, classes: int = 4, seed: int = 0) -> Dataset:
    """Seeded Gaussian inputs labelled by a random teacher network (arg-max of a random
    two-layer tanh map), so the labels are learnable but not linearly trivial."""
    if n < 1 or dim < 1 or classes < 2:
        raise InputError("synthetic data needs n >= 1, dim >= 1 and classes >= 2")
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, dim))
    W1 = rng.normal(size=(dim, 2 * dim)) / np.sqrt(dim)
    W2 = rng.normal(size=(2 * dim, classes)) / np.sqrt(2 * dim)
    labels = np.argmax(np.tanh(X @ W1) @ W2, axis=1)
    return Dataset(X, _one_hot(labels, classes), f"synthetic[{n}, d={dim}, {classes} classes]")


def load(name: str, n: int | None = None, seed: int = 0) -> Dataset:
    """A data set by name: ``"digits"`` or ``"synthetic"``."""
    if name == "digits":
        return digits(n=500 if n is None else n, seed=seed)
    if name == "synthetic":
        return synthetic(n=200 if n is None else n, seed=seed)
    raise InputError(f"unknown data set '{name}'; choose one of {', '.join(DATASETS)}")
