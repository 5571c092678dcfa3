"""The affine invariant of an update rule on linear regression -- derived, not looked up.

For L(w) = ½‖Xw − y‖² every gradient lies in range(Xᵀ).  An update rule keeps a *mirror
coordinate* m(w) = ∇ψ(w) in the affine set m(w_0) + range(Xᵀ) when one step changes m(w) by
a vector of range(Xᵀ) -- for GD, SGD, heavy ball and Nesterov with m(w) = w, for mirror descent
with m = ∇ψ.  If the limit interpolates, it is then the Bregman projection
argmin D_ψ(w, w_0) s.t. Xw = y (its KKT conditions say exactly m(w) − m(w_0) ∈ range(Xᵀ)).

:func:`derive_invariant` decides this for the user's optimizer object by two independent tests:

* **symbolic** -- the update is traced with SymPy entries (:class:`~ibsym.limits.tracing.SymVec`)
  on an exact instance, from an arbitrary point w and with every state field that starts in
  range(Xᵀ) written as Xᵀb (induction hypothesis); the null-space components Nᵀ(m(w⁺) − m(w))
  and Nᵀ(state⁺) must vanish identically.  They are evaluated at random rational points to 30
  digits (a non-zero value *disproves* the invariant) and then simplified to 0 (a proof);
* **numeric** -- the optimizer is run on the user's problem and max_k ‖Nᵀ(m(w_k) − m(w_0))‖ is
  measured relative to ‖m(w_k) − m(w_0)‖.

No optimizer name is inspected.  The same trace tells whether the update is affine in
(w, state) and gives its matrix (closed-form iterates, :mod:`ibsym.limits.implicit`).
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import sympy as sp

from ibsym.bea.optimizers import Optimizer
from ibsym.core.errors import DivergenceError, InputError
from ibsym.core.results import Result
from ibsym.limits.mirror import EUCLIDEAN, Potential
from ibsym.limits.problems import RegressionProblem
from ibsym.limits.tracing import SymVec

__all__ = ["Invariant", "derive_invariant", "trace_update", "run_optimizer", "RegressionGradient",
           "mirror_potentials"]

H = sp.Symbol("h", positive=True)


class RegressionGradient:
    """∇L(w) = Xᵀ(Xw − y) (NumPy or :class:`SymVec`); ``grad(w, k)`` uses the k-th row block."""

    def __init__(self, X: Any, y: Any, batches: int = 1):
        self.X, self.y, self.batches = X, y, batches
        n = X.shape[0]
        self.blocks = [list(range(n))[k::batches] for k in range(batches)]

    def __call__(self, w: Any, k: int | None = None) -> Any:
        rows = self.blocks[k] if k is not None else None
        if isinstance(w, SymVec):
            X = self.X if rows is None else self.X.extract(rows, list(range(self.X.shape[1])))
            y = self.y if rows is None else self.y.extract(rows, [0])
            return SymVec(X.T * (X * w.matrix() - y))
        X = self.X if rows is None else self.X[rows]
        y = self.y if rows is None else self.y[rows]
        return X.T @ (X @ w - y)


def mirror_potentials(optimizer: Optimizer) -> list[Potential]:
    """Potentials an update rule declares (a mirror step carries one) -- candidates to test."""
    psi = getattr(optimizer.update, "potential", None)
    return [psi] if isinstance(psi, Potential) else []


def run_optimizer(optimizer: Optimizer, problem: RegressionProblem, w0: np.ndarray, h: float,
                  *, max_steps: int = 200_000, tol: float = 1e-10, record: int = 0,
                  batches: int = 1, min_steps: int = 0) -> tuple[np.ndarray, int, np.ndarray]:
    """Run the optimizer's own update on the problem until ‖Xw − y‖ < tol or the budget.

    Returns ``(w_last, steps, recorded)``: ``recorded`` holds w_0..w_record (record > 0).

    Raises
    ------
    DivergenceError
        Non-finite or exploding iterates (with the GD threshold 2/λ_max(XᵀX) for scale).
    """
    grad = RegressionGradient(problem.X, problem.y, batches)
    hp = optimizer.numeric_hyper() if optimizer.hyper else {}
    w = np.array(w0, dtype=float)
    state = optimizer.init(w, grad, hp) if optimizer.init is not None else {}
    rec = [w.copy()] if record else []
    scale = 1e8 * (1 + np.linalg.norm(w) + np.linalg.norm(problem.y))
    k = 0
    for k in range(1, max_steps + 1):
        res = optimizer.update(w, state, grad, h, hp)
        w, state = res if isinstance(res, tuple) else (res, {})
        w = np.asarray(w, dtype=float)
        if not np.all(np.isfinite(w)) or np.linalg.norm(w) > scale:
            raise DivergenceError(
                f"{optimizer.name} iterates diverged at h={h:g} (step {k}) on {problem.name}; "
                f"GD converges for h < 2/λ_max(XᵀX) = {2 / problem.lambda_max:.4g}")
        if record and k <= record:
            rec.append(w.copy())
        if k >= max(min_steps, record) and np.linalg.norm(problem.X @ w - problem.y) < tol:
            break
    return w, k, np.array(rec)


@dataclass(frozen=True, eq=False)
class Invariant(Result):
    """What an update rule keeps in an affine set on linear regression."""

    schema = "invariant"
    optimizer: str
    exists: bool
    potential: Potential | None
    symbolic: str
    numeric_defect: float
    affine: bool
    linear_part: sp.Matrix | None = None
    instance: str = ""
    witness: dict = field(default_factory=dict)

    @property
    def quantity(self) -> str:
        """The conserved coordinate, as text."""
        if not self.exists:
            return "(none)"
        return "w − w0" if self.potential is EUCLIDEAN else "∇ψ(w) − ∇ψ(w0)"

    def __str__(self) -> str:
        if self.exists:
            psi = "" if self.potential is EUCLIDEAN else f", ψ = Σ_i {self.potential.expr}"
            return (f"{self.optimizer}: {self.quantity} ∈ range(Xᵀ) for every k{psi}  "
                    f"[symbolic: {self.symbolic}; numeric defect {self.numeric_defect:.1e}]")
        return (f"{self.optimizer}: no affine invariant -- the update leaves m(w0) + range(Xᵀ) "
                f"[symbolic: {self.symbolic}; numeric defect {self.numeric_defect:.2g}]; the "
                "limit depends on the step size and the start")

    def to_latex(self) -> str:
        if not self.exists:
            return r"\text{no affine invariant: } w_k - w_0 \notin \operatorname{range}(X^\top)"
        lhs = "w_k - w_0" if self.potential is EUCLIDEAN else r"\nabla\psi(w_k) - \nabla\psi(w_0)"
        return lhs + r" \in \operatorname{range}(X^\top)\quad \forall k"

    def to_dict_body(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer, "exists": self.exists, "quantity": self.quantity,
                "potential": None if self.potential is None else str(self.potential.expr),
                "symbolic": self.symbolic, "numeric_defect": self.numeric_defect,
                "affine": self.affine, "instance": self.instance,
                "linear_part": None if self.linear_part is None else str(self.linear_part.tolist()),
                "witness": self.witness}


def _exact_instance(problem: RegressionProblem, seed: int = 7) -> tuple[sp.Matrix, sp.Matrix, str]:
    if problem.exact and problem.d <= 6:
        return problem.X_exact, problem.y_exact, problem.name
    rng = np.random.default_rng(seed)
    n, d = min(problem.n, 2), min(problem.d, 4) if problem.d > problem.n else min(problem.n, 2) + 1
    while True:
        X = sp.Matrix(rng.integers(-3, 4, size=(n, d)).tolist())
        if X.rank() == n:
            return X, sp.Matrix(rng.integers(-3, 4, size=n).tolist()), f"integer instance {n}×{d}"


def _state_symbols(name: str, length: int) -> list[sp.Symbol]:
    return [sp.Symbol(f"{name}_{i}", real=True) for i in range(length)]


def trace_update(optimizer: Optimizer, X: sp.Matrix, y: sp.Matrix, potential: Potential,
                 *, restrict_state: bool = True) -> dict[str, Any]:
    """One step of the update with SymPy entries from an arbitrary point.

    Returns the symbols, the traced new point and state and the null-space defects.
    """
    n, d = X.shape
    pos = potential.positive
    w = [sp.Symbol(f"w_{i}", positive=True) if pos else sp.Symbol(f"w_{i}", real=True)
         for i in range(d)]
    theta = SymVec(w)
    grad = RegressionGradient(X, y)
    hp = optimizer.hyper_values
    N = sp.Matrix.hstack(*X.nullspace()) if d > n else sp.zeros(d, 0)
    state0 = optimizer.init(theta, grad, hp) if optimizer.init is not None else \
        {f: theta * 0 for f in optimizer.state_names}
    state, in_range, free = {}, {}, list(w)
    for f in optimizer.state_names:
        v = state0[f]
        zero_null = all(sp.expand(e) == 0 for e in (N.T * v.matrix())) if N.shape[1] else True
        if restrict_state and zero_null:
            b = _state_symbols(f"b_{f}", n)
            state[f] = SymVec(X.T * sp.Matrix(b))
            in_range[f] = True
        else:
            b = _state_symbols(f"s_{f}", d)
            state[f] = SymVec(b)
            in_range[f] = False
        free += b
    res = optimizer.update(theta, state, grad, H, hp)
    new, new_state = res if isinstance(res, tuple) else (res, {})
    defects = list(N.T * (potential.grad(new) - potential.grad(theta)).matrix())
    for f, ok in in_range.items():
        defects += list(N.T * new_state[f].matrix())
    return {"w": w, "free": free, "new": new, "state": new_state, "defects": defects,
            "hyper": [s for s in optimizer.symbolic_hyper], "N": N}


def _random_point(symbols: Sequence[sp.Symbol], rng: random.Random) -> dict:
    # rationals in (0.1, 0.9) keep step sizes and momenta in range and points in every domain
    return {s: sp.Rational(rng.randint(1, 9), 10) * (1 if s.is_positive or rng.random() < 0.5
                                                    or s.name in ("beta", "rho", "eps") else -1)
            for s in symbols}


def _decide(defects: list, symbols: list, *, points: int = 4, seed: int = 0) -> tuple[str, dict]:
    rng = random.Random(seed)
    worst = 0.0
    for _ in range(points):
        at = _random_point(symbols, rng)
        for e in defects:
            val = sp.N(e.subs(at), 30)
            if not val.is_number:            # an opaque function left: undecided symbolically
                return "undecided (opaque terms)", {}
            v = abs(complex(val))
            worst = max(worst, v)
            if v > 1e-20:
                return "fails", {"at": {str(k): str(v_) for k, v_ in at.items()},
                                 "null-space component": float(v)}
    if all(sp.simplify(e) == 0 for e in defects):
        return "proved", {}
    return f"holds at {points} random points to 30 digits", {"max": worst}


def derive_invariant(optimizer: Optimizer, problem: RegressionProblem, w0: Sequence[float],
                     h: float, *, potentials: Sequence[Potential] = (), steps: int = 60,
                     batches: int = 1) -> Invariant:
    """Find the mirror coordinate the update keeps in m(w0) + range(Xᵀ), if any.

    Candidates: the potentials given, those the update declares (mirror descent) and the
    Euclidean ½‖w‖² (m(w) = w).  The first candidate passing both tests is returned;
    otherwise an ``exists=False`` record with the symbolic witness and the numeric defect.

    Examples
    --------
    >>> from ibsym import get_optimizer
    >>> p = RegressionProblem([[1, 1, 1], [1, 2, 0]], [1, 10])
    >>> inv = derive_invariant(get_optimizer("heavy-ball", beta=0.5), p, [1, -1, 2], 0.1)
    >>> inv.exists, inv.quantity, inv.symbolic, inv.affine
    (True, 'w − w0', 'proved', True)
    """
    if optimizer.steps_per_update == "batches" and batches < 1:
        raise InputError(f"{optimizer.name} needs mini-batches")
    cands = list(potentials) + mirror_potentials(optimizer) + [EUCLIDEAN]
    seen: list[Potential] = []
    Xe, ye, inst = _exact_instance(problem)
    w0 = np.asarray(w0, dtype=float)
    affine, A = _affinity(optimizer, Xe, ye)
    first = None
    for psi in cands:
        if any(psi is s for s in seen):
            continue
        seen.append(psi)
        if psi.positive and np.any(w0 <= 0):
            continue
        tr = trace_update(optimizer, Xe, ye, psi)
        verdict, witness = _decide(tr["defects"], tr["free"] + [H] + tr["hyper"])
        try:
            _, _, rec = run_optimizer(optimizer, problem, w0, h, max_steps=steps, record=steps,
                                      tol=-1.0, batches=batches)
        except DivergenceError:
            rec = np.array([w0])
        N = problem.null_basis()
        m0 = psi.grad(w0)
        dm = np.array([psi.grad(w) for w in rec]) - m0
        size = np.linalg.norm(dm, axis=1)
        rel = np.linalg.norm(dm @ N, axis=1) / np.maximum(size, 1e-300)
        defect = float(rel[size > 1e-12].max()) if np.any(size > 1e-12) else 0.0
        rec_ = Invariant(optimizer.name, verdict != "fails" and defect < 1e-8, psi, verdict,
                         defect, affine, A, inst, witness)
        if rec_.exists:
            return rec_
        first = first or rec_
    return Invariant(optimizer.name, False, None, first.symbolic, first.numeric_defect, affine, A,
                     inst, first.witness)


def _affinity(optimizer: Optimizer, X: sp.Matrix, y: sp.Matrix) -> tuple[bool, sp.Matrix | None]:
    """Whether (w, state) ↦ (w⁺, state⁺) is affine, and its matrix (on the exact instance)."""
    tr = trace_update(optimizer, X, y, EUCLIDEAN, restrict_state=False)
    out = list(tr["new"]) + [e for f in optimizer.state_names for e in tr["state"][f]]
    z = tr["free"]
    try:
        J = sp.Matrix(out).jacobian(z)
    except (TypeError, ValueError):
        return False, None
    zs = set(z)
    if any(e.free_symbols & zs for e in J):
        return False, None
    return True, J.applyfunc(sp.simplify)
