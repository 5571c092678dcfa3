"""Numeric Taylor jets at a point: the initial value of the modified flow, numerically.

For an optimizer with memory the modified flow starts from
θ̃(0) = θ_0 + h s_1(θ_0) + h² s_2(θ_0) + … (see :mod:`ibsym.bea.transient`).  The
coefficients s_j are limits of the initial transient,

    s_j = lim_{n→∞} [a_j(n) − ã_j(n)],

where a_j(n) is the h^j coefficient of the true iterate θ_n (from θ_0 and the
true initial state) and ã_j(n) that of the iterate started *on* the slow
manifold from θ_0 + Σ_{i<j} h^i s_i: both sequences grow alike (polynomially in
n) and their difference converges geometrically, at the decay rate of the
state.  Both are produced by running the optimizer's *own update rule* on
truncated h-series whose coefficients are NumPy vectors at the fixed point θ_0
-- :class:`PointAlgebra` supplies ∇L(θ_0 + δ(h)) and M_i(θ_0 + δ(h)) from exact
derivative tensors of the derived expressions.  The result is exact up to
floating point and the truncation of the (geometrically convergent) limit.

Examples
--------
>>> import numpy as np
>>> from ibsym import modified_equation
>>> from ibsym.core import losses
>>> eq = modified_equation("heavy-ball", losses.bilinear(), order=1, hyper={"beta": 0.5})
>>> s = initial_shift(eq, [0.5, 1.5])
>>> np.allclose(s[1], 0.5 / 0.25 * np.array([-0.375, -0.125]))   # β/(1−β)² ∇L(θ_0)
True
"""
from __future__ import annotations

import itertools
from collections.abc import Sequence
from math import factorial, log
from typing import Any

import numpy as np
import sympy as sp

from ibsym.bea.algebras import Algebra
from ibsym.core.errors import InputError
from ibsym.numeric.kernels import RingEvaluator
from ibsym.bea.series import Gradient, HSeries, SeriesVector

__all__ = ["PointAlgebra", "initial_shift", "transient_steps"]


class _Jet:
    """Derivative tensors at θ_0 of a vector field given as ring elements."""

    def __init__(self, alg: Any, field: Sequence[Any], order: int, x0: np.ndarray,
                 subs: dict):
        R, d = alg.ring, alg.d
        entries: list[tuple[int, tuple[int, ...], int]] = []   # (m, idx, component)
        polys: list[Any] = []
        level = {(): tuple(field)}
        for m in range(order + 1):
            for idx, V in level.items():
                for c, p in enumerate(V):
                    if p:
                        entries.append((m, idx, c))
                        polys.append(p)
            if m == order:
                break
            nxt: dict[tuple[int, ...], tuple] = {}
            for idx, V in level.items():
                lo = idx[-1] if idx else 0
                for i in range(lo, d):
                    W = tuple(R.diff(p, i) if p else p for p in V)
                    if any(W):
                        nxt[idx + (i,)] = W
            level = nxt
        vals = RingEvaluator(R, polys, subs)(x0.reshape(d, 1))[:, 0] if polys else []
        self.tensors = [np.zeros((d,) * (m + 1)) for m in range(order + 1)]
        for (m, idx, c), v in zip(entries, vals):
            for perm in set(itertools.permutations(idx)):
                self.tensors[m][(c,) + perm] = v
        self.d, self.order = d, order

    def value(self, batch: int | None = None) -> np.ndarray:
        v = self.tensors[0]
        return v.copy() if batch is None else np.repeat(v[:, None], batch, axis=1)

    def taylor(self, deltas: Sequence[Any], order: int) -> list[np.ndarray]:
        """[h^0..h^order] coefficients of V(θ_0 + Σ_{p≥1} h^p δ_p).

        The δ_p are vectors (d,) or batches of vectors (d, B), one column per run."""
        batch = next((x.shape[1] for x in deltas[1:] if x is not None and x.ndim == 2), None)
        shape = (self.d,) if batch is None else (self.d, batch)
        out = [self.value(batch)] + [np.zeros(shape) for _ in range(order)]
        active = [p for p in range(1, min(len(deltas), order + 1))
                  if deltas[p] is not None and deltas[p].any()]
        # Σ_m T_m[δ, …, δ]/m! with δ = Σ_p h^p δ_p, collected by powers of h: T_m is
        # symmetric, so each multiset {p_1 ≤ … ≤ p_m} of total ≤ order is contracted once,
        # weighted by its m!/Π c_p! orderings (c_p: multiplicities), i.e. by 1/Π c_p!;
        # nondecreasing tuples are generated with pruning and share their prefixes
        def contract(v: np.ndarray, x: np.ndarray, first: bool) -> np.ndarray:
            if batch is None:
                return v @ x
            if first:
                return np.tensordot(v, x, axes=([v.ndim - 1], [0]))
            return np.einsum("...ib,ib->...b", v, x)

        def extend(v: np.ndarray, left: int, start: int, total: int, last: int, run: int,
                   denom: int, first: bool) -> None:
            if left == 0:
                out[total] = out[total] + v / denom
                return
            for i in range(start, len(active)):
                p = active[i]
                if total + p * left > order:       # the rest are ≥ p: nothing fits
                    break
                r = run + 1 if p == last else 1
                extend(contract(v, deltas[p], first), left - 1, i, total + p, p, r,
                       denom * r, False)

        for m in range(1, min(order, self.order) + 1):
            if active and m * active[0] <= order:
                extend(self.tensors[m], m, 0, 0, 0, 0, 1, True)
        return out


class PointAlgebra(Algebra):
    """Vectors are values at a fixed point θ_0 (NumPy arrays); coordinate-wise
    operations are NumPy's; ∇L at a displaced point comes from its jet."""

    generic = False

    def __init__(self, eq: Any, theta0: Sequence[float], order: int, batch: int | None = None):
        base = eq._algebra
        if base is None or base.generic:
            raise InputError("numeric jets need a concrete loss")
        self.base, self.d = base, base.d
        self.x0 = np.asarray(theta0, dtype=float)
        self.subs = eq.substitute_hyper()
        free = set(base.constants) - set(self.subs)
        if free:
            raise InputError(f"give values for hyper-parameter(s) "
                             f"{', '.join(sorted(map(str, free)))} to compute the initial value")
        self.order = order
        self.batch = batch            # vectors are (d,) or, for several runs at once, (d, B)
        self._shape = (self.d,) if batch is None else (self.d, batch)
        self._grad = _Jet(base, base.grad(), order, self.x0, self.subs)
        self.batches = base.batches
        self._bgrad = [_Jet(base, g, order, self.x0, self.subs) for g in base._bgrad]

    def jet(self, field: Sequence[Any], order: int) -> _Jet:
        """The jet of another vector field of the derivation (e.g. a slow manifold M_j)."""
        return _Jet(self.base, field, order, self.x0, self.subs)

    def zero(self) -> np.ndarray:
        return np.zeros(self._shape)

    def add(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a + b

    def scale(self, c: Any, a: np.ndarray) -> np.ndarray:
        if isinstance(c, (int, float)):
            return c * a
        return float(c.xreplace(self.subs) if c.free_symbols else c) * a

    def is_zero(self, a: np.ndarray) -> bool:
        return not a.any()

    def project(self, a: np.ndarray, indices: Sequence[int], what: str = "") -> np.ndarray:
        out = np.zeros_like(a)
        out[list(indices)] = a[list(indices)]
        return out

    def grad(self) -> np.ndarray:
        return self._grad.value(self.batch)

    def grad_taylor(self, deltas: Sequence[Any], order: int,
                    batch: int | None = None) -> list[np.ndarray]:
        jet = self._grad if batch is None else self._bgrad[batch]
        d0 = deltas[0] if deltas else None
        if d0 is not None and np.any(d0):
            # the gradient at θ_0 + δ_0 (a fixed radius or step): its jet at that point
            # (one jet per run when several runs are traced at once)
            fields = self.base.grad() if batch is None else self.base._bgrad[batch]
            if d0.ndim == 1:
                return _Jet(self.base, fields, self.order, self.x0 + d0,
                            self.subs).taylor(deltas, order)
            cols = []
            for j in range(d0.shape[1]):
                dj = [None if x is None else (x[:, j] if x.ndim == 2 else x) for x in deltas]
                cols.append(_Jet(self.base, fields, self.order, self.x0 + d0[:, j],
                                 self.subs).taylor(dj, order))
            return [np.stack([c[k] for c in cols], axis=1) for k in range(order + 1)]
        return jet.taylor(deltas, order)

    def lie(self, F: Any, G: Any) -> Any:  # pragma: no cover - not needed for iterating
        raise InputError("Lie derivatives are not available at a single point")

    def mul(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a * b

    def reduce_sum(self, a: np.ndarray, what: str = "sum") -> np.ndarray:
        return np.broadcast_to(a.sum(axis=0), a.shape).copy()

    def dimension(self, what: str = "the dimension") -> int:
        return self.d

    def coordinate(self, a: np.ndarray, i: int) -> np.ndarray:
        return np.broadcast_to(a[i], a.shape).copy()

    def power(self, a: np.ndarray, r: Any) -> np.ndarray:
        r = float(r)
        if r < 0 or r != int(r):
            if np.any(a == 0):
                raise InputError("division by a coordinate that vanishes in the transient")
            if r != int(r) and np.any(a < 0):
                raise InputError("fractional power of a negative coordinate in the transient")
        return a ** r

    def const(self, c: Any) -> np.ndarray:
        return np.full(self._shape, float(sp.sympify(c).xreplace(self.subs)))

    def identity(self) -> np.ndarray:
        return self.x0.copy() if self.batch is None else \
            np.repeat(self.x0[:, None], self.batch, axis=1)


def transient_steps(eq: Any, *, tol: float = 1e-16, max_steps: int = 200_000) -> int:
    """Steps after which the transient n^k·r^n has decayed below ``tol`` (r: the
    largest decay rate |λ(A)| of the state map)."""
    A = eq._structure.A.xreplace(eq.substitute_hyper())
    try:
        r = max(abs(complex(v)) for v in A.evalf().eigenvals())
    except (TypeError, ValueError):
        raise InputError("give numeric hyper-parameters to compute the initial value") from None
    if r >= 1:
        raise InputError(f"the state map does not contract (rate {r:.4g} ≥ 1)")
    k = max(eq.order, 1)
    if r == 0:
        return k + 2
    peak = k / -log(r)                      # n^k r^n decreases beyond its peak
    n = k + 2
    while n < max_steps and (n < peak or n ** k * r ** n > tol):
        n += 1
    if n >= max_steps:
        raise InputError(f"the initial transient decays too slowly (rate {r:.6g}): more than "
                         f"{max_steps} steps; choose hyper-parameters further from 1")
    return n


def _closed_form_s1(eq: Any, P: PointAlgebra) -> np.ndarray | None:
    """The closed-form s_1 of :mod:`ibsym.bea.transient` at θ_0, if there is one."""
    s1 = eq.initial_shift[1] if len(eq.initial_shift) > 1 else None
    if s1 is None or any(x.has(sp.Sum) for x in s1):
        return None
    subs = dict(P.subs)
    subs.update({p: sp.Float(v, 17) for p, v in zip(eq.params, P.x0)})
    try:
        return np.array([float(x.xreplace(subs)) for x in s1])
    except (TypeError, ValueError):
        return None


def initial_shift(eq: Any, theta0: Sequence[float], *, steps: int | None = None,
                  closed_form: bool = True) -> np.ndarray:
    """Numeric coefficients s_0..s_k of θ̃(0) = θ_0 + Σ h^j s_j at the point θ_0.

    Parameters
    ----------
    eq : ModifiedEquation
        Concrete, with numeric hyper-parameters.
    theta0 : sequence of float
        The true initial parameters (the state starts from the optimizer's ``init``).
    steps : int, optional
        Transient length (default: until the decay n^k r^n < 1e-16).
    closed_form : bool
        Use the closed-form s_1 of :mod:`ibsym.bea.transient` when it exists (default);
        ``False`` computes every coefficient from the transient (an independent check).

    Returns
    -------
    numpy.ndarray of shape (k+1, d); row 0 is zero.
    """
    K, d = eq.order, eq.loss.dim
    out = np.zeros((K + 1, d))
    if not eq.has_memory or K == 0:
        return out
    first = 1
    if closed_form:
        exact = _closed_form_s1(eq, PointAlgebra(eq, theta0, 0))
        if exact is not None:      # s_1 derived in closed form (ibsym.bea.transient): use it
            out[1] = exact
            first = 2
            if K == 1:
                return out
    # both runs at once: column 0 starts at θ_0 with the true state, column 1 on the manifold
    P = PointAlgebra(eq, theta0, K, batch=2)
    opt = eq.optimizer
    names = opt.state_names
    N = steps or transient_steps(eq)
    manifold = {f: [P.jet(m, K - i) for i, m in enumerate(ms)] for f, ms in eq._raw_manifold}
    hp = {k: float(v) for k, v in opt.numeric_hyper().items()} if opt.hyper else {}

    def run(start: list[np.ndarray], state: dict[str, list[np.ndarray]]) -> np.ndarray:
        """h^1..h^K coefficients of θ_n (both columns) for n = N − 1 and N."""
        theta = SeriesVector(P, HSeries.const(1, K), start)
        st = {f: SeriesVector.vector(P, state[f], K) for f in names}
        h = HSeries.h(K)
        hist = []
        for n in range(N):
            theta, st = opt.update(theta, st, Gradient(P.batches), h, hp)
            if n >= N - 2:
                hist.append(np.array(theta.displacement()[1:]))
        return np.array(hist)                     # (2, K, d, 2)

    th0 = SeriesVector.point(P, K)
    w0 = opt.initial_state(th0, Gradient(P.batches), hp)
    true_state = {}
    for f in names:
        v = w0.get(f, 0)
        true_state[f] = (v._folded() if isinstance(v, SeriesVector)
                         else [P.const(v)] + [P.zero()] * K)
    for j in range(first, K + 1):
        delta = [P.zero() for _ in range(K + 1)]
        for i in range(1, j):
            delta[i][:, 1] = out[i]                # the manifold run starts at θ_0 + Σ_{i<j} h^i s_i
        state = {}
        for f in names:
            coeffs = [P.zero() for _ in range(K + 1)]
            for i, jet in enumerate(manifold[f]):
                tay = jet.taylor(delta, K - i)
                for p in range(K + 1 - i):
                    coeffs[i + p] = coeffs[i + p] + tay[p]
            state[f] = [np.stack([t[:, 0], m[:, 1]], axis=1)
                        for t, m in zip(true_state[f], coeffs)]
        hist = run(delta, state)
        diff = hist[:, j - 1, :, 0] - hist[:, j - 1, :, 1]
        scale = 1.0 + float(np.max(np.abs(hist[-1, j - 1, :, 0])))
        if np.max(np.abs(diff[-1] - diff[0])) > 1e-9 * scale:
            raise InputError(f"the initial-value coefficient s_{j} did not converge within "
                             f"{N} steps of the transient; raise steps=")
        out[j] = diff[-1]
    return out
