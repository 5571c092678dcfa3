"""Small multilayer perceptrons in NumPy: loss, gradient by backprop, exact Hessian-vector products.

The parameters are one flat vector θ (layer by layer: W_1, b_1, W_2, b_2, …, each W_l of shape
(fan_in, fan_out), row-major).  The gradient is hand-written reverse mode; the Hessian-vector
product ∇²L(θ)·v is forward-over-reverse -- Pearlmutter's R-operator R_v{·} = d/dr ·(θ + r v)|_{r=0}
pushed through the forward pass and the backward pass -- so it is exact (no finite
differences) and costs about two gradients.

Examples
--------
>>> import numpy as np
>>> net = MLP((3, 4, 2), activation="tanh", objective="mse")
>>> X, Y = np.ones((5, 3)), np.zeros((5, 2))
>>> theta = net.init(seed=0)
>>> theta.shape
(26,)
>>> bool(np.isfinite(net.loss(theta, X, Y)))
True
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ibsym.core.errors import InputError

__all__ = ["MLP", "ACTIVATIONS", "LOSSES"]

ACTIVATIONS = ("tanh", "relu", "softplus")
LOSSES = ("mse", "cross-entropy")


def _act(name: str, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """σ(z), σ'(z), σ''(z)."""
    if name == "tanh":
        a = np.tanh(z)
        d1 = 1.0 - a * a
        return a, d1, -2.0 * a * d1
    if name == "relu":
        d1 = (z > 0).astype(z.dtype)
        return z * d1, d1, np.zeros_like(z)
    # softplus, computed stably: log(1 + e^z) = max(z, 0) + log1p(e^{-|z|})
    a = np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))
    s = 0.5 * (1.0 + np.tanh(0.5 * z))          # the logistic sigmoid, overflow-free
    return a, s, s * (1.0 - s)


@dataclass(frozen=True)
class MLP:
    """A fully connected network x ↦ W_L σ(… σ(x W_1 + b_1) …) + b_L with a training loss.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths, input first and output last (``(64, 32, 32, 10)``).
    activation : {"tanh", "relu", "softplus"}
    objective : {"mse", "cross-entropy"}
        ``"mse"``: L = (1/2n) Σ_i ‖f(x_i) − y_i‖² (Cohen et al. 2021 train on one-hot targets with
        it); ``"cross-entropy"``: L = (1/n) Σ_i −log softmax(f(x_i))·y_i.
    """

    sizes: tuple[int, ...]
    activation: str = "tanh"
    objective: str = "mse"

    def __post_init__(self) -> None:
        sizes = tuple(int(s) for s in self.sizes)
        if len(sizes) < 2 or min(sizes) < 1:
            raise InputError(f"an MLP needs at least an input and an output width >= 1, got {sizes}")
        if self.activation not in ACTIVATIONS:
            raise InputError(f"unknown activation '{self.activation}'; choose one of "
                             f"{', '.join(ACTIVATIONS)}")
        if self.objective not in LOSSES:
            raise InputError(f"unknown loss '{self.objective}'; choose one of {', '.join(LOSSES)}")
        object.__setattr__(self, "sizes", sizes)
        shapes, offsets, k = [], [], 0
        for a, b in zip(sizes[:-1], sizes[1:]):
            shapes.append((a, b))
            offsets.append(k)
            k += a * b + b
        object.__setattr__(self, "_shapes", tuple(shapes))
        object.__setattr__(self, "_offsets", tuple(offsets))
        object.__setattr__(self, "dim", k)

    # -- parameters --------------------------------------------------------------------
    def unflatten(self, theta: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """The layers (W_l, b_l) as views into ``theta``."""
        theta = np.asarray(theta, dtype=float)
        if theta.shape != (self.dim,):
            raise InputError(f"parameter vector has shape {theta.shape}; this network has "
                             f"{self.dim} parameters")
        out = []
        for (a, b), k in zip(self._shapes, self._offsets):
            out.append((theta[k:k + a * b].reshape(a, b), theta[k + a * b:k + a * b + b]))
        return out

    def flatten(self, layers: Sequence[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """The flat vector of a list of (W_l, b_l)."""
        return np.concatenate([np.concatenate([W.ravel(), b.ravel()]) for W, b in layers])

    def init(self, seed: int = 0, scale: float = 1.0) -> np.ndarray:
        """LeCun-normal weights N(0, scale²/fan_in), zero biases (seeded)."""
        rng = np.random.default_rng(seed)
        return self.flatten([(rng.normal(0.0, scale / np.sqrt(a), (a, b)), np.zeros(b))
                             for a, b in self._shapes])

    # -- forward / backward ------------------------------------------------------------
    def _forward(self, layers, X):
        acts, derivs = [X], []
        a = X
        n = len(layers)
        for i, (W, b) in enumerate(layers):
            z = a @ W + b
            if i < n - 1:
                a, d1, d2 = _act(self.activation, z)
                derivs.append((z, d1, d2))
            else:
                a = z
            acts.append(a)
        return acts, derivs

    def _check_data(self, X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        X, Y = np.asarray(X, dtype=float), np.asarray(Y, dtype=float)
        if X.ndim != 2 or X.shape[1] != self.sizes[0] or Y.shape != (X.shape[0], self.sizes[-1]):
            raise InputError(f"data shapes X {X.shape}, Y {Y.shape} do not fit the network "
                             f"{self.sizes} (X: (n, {self.sizes[0]}), Y: (n, {self.sizes[-1]}))")
        return X, Y

    def _out_loss(self, out: np.ndarray, Y: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """Loss, ∂L/∂out and the softmax (cross-entropy) or None."""
        n = out.shape[0]
        if self.objective == "mse":
            r = out - Y
            return 0.5 * float(np.sum(r * r)) / n, r / n, None
        z = out - out.max(axis=1, keepdims=True)
        lse = np.log(np.sum(np.exp(z), axis=1, keepdims=True))
        s = np.exp(z - lse)
        return float(-np.sum(Y * (z - lse))) / n, (s * Y.sum(axis=1, keepdims=True) - Y) / n, s

    def predict(self, theta: np.ndarray, X: np.ndarray) -> np.ndarray:
        """Network outputs f(X), shape (n, sizes[-1])."""
        return self._forward(self.unflatten(theta), np.asarray(X, dtype=float))[0][-1]

    def loss(self, theta: np.ndarray, X: np.ndarray, Y: np.ndarray) -> float:
        """The training loss L(θ) on (X, Y)."""
        X, Y = self._check_data(X, Y)
        return self._out_loss(self.predict(theta, X), Y)[0]

    def loss_and_grad(self, theta: np.ndarray, X: np.ndarray,
                      Y: np.ndarray) -> tuple[float, np.ndarray]:
        """L(θ) and ∇L(θ) by reverse mode (backpropagation)."""
        X, Y = self._check_data(X, Y)
        layers = self.unflatten(theta)
        acts, derivs = self._forward(layers, X)
        value, g, _ = self._out_loss(acts[-1], Y)
        grads = [None] * len(layers)
        for i in range(len(layers) - 1, -1, -1):
            W, _ = layers[i]
            grads[i] = (acts[i].T @ g, g.sum(axis=0))
            if i > 0:
                g = (g @ W.T) * derivs[i - 1][1]
        return value, self.flatten(grads)

    def grad(self, theta: np.ndarray, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """∇L(θ)."""
        return self.loss_and_grad(theta, X, Y)[1]

    def hvp(self, theta: np.ndarray, v: np.ndarray, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """The exact Hessian-vector product ∇²L(θ)·v (forward-over-reverse, R-operator).

        R{z_l} = R{a_{l−1}} W_l + a_{l−1} V_l + c_l, R{a_l} = σ'(z_l) R{z_l}; at the output
        R{∂L/∂f} = R{f}/n (MSE) or (s ⊙ R{f} − s (s·R{f}))/n (softmax s); then backwards
        R{∂L/∂W_l} = R{a_{l−1}}ᵀ g_l + a_{l−1}ᵀ R{g_l} and
        R{g_{l−1}} = (R{g_l} W_lᵀ + g_l V_lᵀ) ⊙ σ'(z_{l−1}) + (g_l W_lᵀ) ⊙ σ''(z_{l−1}) R{z_{l−1}}.
        """
        X, Y = self._check_data(X, Y)
        layers = self.unflatten(theta)
        dirs = self.unflatten(v)
        acts, derivs = self._forward(layers, X)
        # forward R-pass
        r_acts: list[np.ndarray | None] = [None]      # R{x} = 0: the data do not move
        r_z = []
        ra = None
        n_layers = len(layers)
        for i, ((W, _), (V, c)) in enumerate(zip(layers, dirs)):
            rz = acts[i] @ V + c if ra is None else ra @ W + acts[i] @ V + c
            r_z.append(rz)
            ra = rz * derivs[i][1] if i < n_layers - 1 else rz
            r_acts.append(ra)
        _, g, s = self._out_loss(acts[-1], Y)
        n = X.shape[0]
        rf = r_acts[-1]
        if self.objective == "mse":
            rg = rf / n
        else:
            w = Y.sum(axis=1, keepdims=True)
            rg = w * (s * rf - s * np.sum(s * rf, axis=1, keepdims=True)) / n
        out = [None] * n_layers
        for i in range(n_layers - 1, -1, -1):
            W, _ = layers[i]
            V, _ = dirs[i]
            rW = acts[i].T @ rg if i == 0 else r_acts[i].T @ g + acts[i].T @ rg
            out[i] = (rW, rg.sum(axis=0))
            if i > 0:
                _, d1, d2 = derivs[i - 1]
                gW = g @ W.T
                rg = (rg @ W.T + g @ V.T) * d1 + gW * d2 * r_z[i - 1]
                g = gW * d1
        return self.flatten(out)

    def hessian(self, theta: np.ndarray, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """The dense Hessian, column by column from :meth:`hvp` (small networks only)."""
        if self.dim > 3000:
            raise InputError(f"a dense Hessian of {self.dim} parameters is too large; use "
                             "ibsym.dynamics.sharpness (Lanczos on Hessian-vector products)")
        eye = np.eye(self.dim)
        H = np.stack([self.hvp(theta, eye[k], X, Y) for k in range(self.dim)], axis=1)
        return 0.5 * (H + H.T)

    def accuracy(self, theta: np.ndarray, X: np.ndarray, Y: np.ndarray) -> float:
        """Fraction of samples whose arg-max output is the arg-max target."""
        out = self.predict(theta, X)
        return float(np.mean(np.argmax(out, axis=1) == np.argmax(np.asarray(Y), axis=1)))
