"""``implicit_bias``: which interpolant an optimizer selects on L(w) = ½‖Xw − y‖².

The implicit problem is *derived* from the update rule (:func:`~ibsym.limits.invariants.
derive_invariant`): if the rule keeps m(w) = ∇ψ(w) in m(w0) + range(Xᵀ), a limit that interpolates
satisfies the KKT conditions of argmin D_ψ(w, w0) s.t. Xw = y.  The record holds that problem
(SymPy objective, constraints, KKT conditions), its solution -- closed form w0 + X⁺(y − Xw0) for
ψ = ½‖w‖² (exact when the data are), else the dual-Newton Bregman projection -- the limit the
iterates actually reach, their distance, and, when the update is affine in (w, state), the
closed-form iterates z_k = z_∞ + A^k(z_0 − z_∞) with A traced from the rule.

Examples
--------
>>> import ibsym as ib
>>> r = ib.implicit_bias("gd", ([[1, 1, 1], [1, 2, 0]], [1, 10]), w0=[1, -1, 2], h=0.1)
>>> r.solution_exact.T
Matrix([[2/3, 14/3, -13/3]])
>>> r.distance < 1e-9, r.invariant.symbolic
(True, 'proved')
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import sympy as sp

from ibsym.bea.optimizers import Optimizer, get_optimizer
from ibsym.core.errors import InputError
from ibsym.core.results import Result
from ibsym.limits.invariants import Invariant, RegressionGradient, derive_invariant, run_optimizer
from ibsym.limits.mirror import EUCLIDEAN, W, Potential, bregman_projection
from ibsym.limits.problems import RegressionProblem, as_problem

__all__ = ["ImplicitBias", "implicit_bias", "min_norm_solution", "DEFAULT_HYPER"]

#: Values used for hyper-parameters the caller leaves open (by hyper-parameter name).
DEFAULT_HYPER = {"beta": 0.5, "rho": 0.9, "eps": 1e-8}


def min_norm_solution(problem: RegressionProblem, w0: Sequence[float]) -> tuple[np.ndarray, sp.Matrix | None]:
    """w0 + X⁺(y − Xw0) = argmin ‖w − w0‖₂ s.t. Xw = y, numerically and (exact data) exactly."""
    w0 = np.asarray(w0, dtype=float)
    num = w0 + np.linalg.pinv(problem.X) @ (problem.y - problem.X @ w0)
    exact = None
    w0e = [sp.Rational(repr(float(v))) if float(v) == round(float(v), 12) else None for v in w0]
    if problem.exact and all(v is not None for v in w0e):
        X, y, w0m = problem.X_exact, problem.y_exact, sp.Matrix([sp.nsimplify(v) for v in w0e])
        exact = w0m + X.T * (X * X.T).inv() * (y - X * w0m)
    return num, exact


def _flatten(opt: Optimizer, w: np.ndarray, state: dict) -> np.ndarray:
    return np.concatenate([np.atleast_1d(w)] + [np.atleast_1d(np.asarray(state[f], float))
                                                 for f in opt.state_names])


def _affine_map(opt: Optimizer, problem: RegressionProblem, h: float, batches: int):
    """(A, b) with z⁺ = Az + b for z = (w, state...), by evaluating the update on a basis."""
    d, S = problem.d, len(opt.state_names)
    grad = RegressionGradient(problem.X, problem.y, batches)
    hp = opt.numeric_hyper() if opt.hyper else {}

    def F(z):
        w = z[:d]
        st = {f: z[d * (i + 1): d * (i + 2)] for i, f in enumerate(opt.state_names)}
        res = opt.update(w, st, grad, h, hp)
        w1, st1 = res if isinstance(res, tuple) else (res, {})
        return _flatten(opt, np.asarray(w1, float), st1)

    size = d * (S + 1)
    b = F(np.zeros(size))
    A = np.column_stack([F(e) - b for e in np.eye(size)])
    return A, b


@dataclass(frozen=True, eq=False)
class ImplicitBias(Result):
    """The implicit problem an optimizer solves on a regression problem, and its check."""

    schema = "implicit-bias"
    optimizer: str
    rule: str
    problem: RegressionProblem
    w0: np.ndarray
    h: float
    invariant: Invariant
    w: tuple
    objective: sp.Expr | None
    constraints: tuple
    kkt: tuple
    solution: np.ndarray | None
    solution_exact: sp.Matrix | None
    method: str
    measured: np.ndarray
    steps: int
    residual: float
    converged: bool
    distance: float | None
    iterate_map: tuple | None = field(default=None, repr=False)

    def closed_form_iterate(self, k: int) -> np.ndarray:
        """w_k = w_∞ + (A^k (z_0 − z_∞))_w from the affine update (None if not affine)."""
        if self.iterate_map is None:
            raise InputError(f"{self.optimizer}: the update is not affine in (w, state) on this "
                             "problem; no closed-form iterates")
        A, z0, zinf = self.iterate_map
        return (zinf + np.linalg.matrix_power(A, int(k)) @ (z0 - zinf))[:self.problem.d]

    def _objective_text(self) -> str:
        if self.objective is None:
            return "(no implicit problem: the update has no affine invariant)"
        return f"argmin_w {self.objective}  s.t.  Xw = y"

    def __str__(self) -> str:
        lines = [f"{self.optimizer} on {self.problem}, w0 = {np.round(self.w0, 6).tolist()}, "
                 f"h = {self.h:g}", f"  invariant: {self.invariant}",
                 f"  implicit problem: {self._objective_text()}"]
        if self.solution is not None:
            sol = (str(list(self.solution_exact)) if self.solution_exact is not None
                   else str(np.round(self.solution, 8).tolist()))
            lines.append(f"  solution ({self.method}): w∞ = {sol}")
        lines.append(f"  iterates after {self.steps} steps: {np.round(self.measured, 8).tolist()} "
                     f"(‖Xw − y‖ = {self.residual:.2e}{'' if self.converged else ', NOT converged'})")
        if self.distance is not None:
            lines.append(f"  distance ‖w_measured − w∞‖ = {self.distance:.2e}")
        return "\n".join(lines)

    def to_latex(self) -> str:
        if self.objective is None:
            return r"\text{" + self.optimizer + r": no affine invariant; limit } w_\infty \approx " \
                + sp.latex(sp.Matrix(np.round(self.measured, 6)).T)
        obj = sp.latex(self.objective)
        out = (r"w_\infty = \operatorname*{argmin}_{w}\ " + obj + r"\quad\text{s.t.}\quad Xw = y")
        if self.solution_exact is not None:
            out += r",\qquad w_\infty = " + sp.latex(self.solution_exact.T)
        return out

    def to_dict_body(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer, "rule": self.rule, "problem": self.problem.to_dict(),
                "w0": self.w0, "h": self.h, "invariant": self.invariant.to_dict_body(),
                "objective": None if self.objective is None else str(self.objective),
                "constraints": [str(c) for c in self.constraints],
                "kkt": [str(c) for c in self.kkt], "method": self.method,
                "solution": None if self.solution is None else self.solution,
                "solution_exact": (None if self.solution_exact is None
                                   else [str(v) for v in self.solution_exact]),
                "measured": self.measured, "steps": self.steps, "residual": self.residual,
                "converged": self.converged, "distance": self.distance,
                "latex": self.to_latex()}


def _symbolic_problem(psi: Potential, problem: RegressionProblem, w0: np.ndarray):
    d = problem.d
    w = sp.symbols(f"w_1:{d + 1}", real=True)
    lam = sp.symbols(f"lambda_1:{problem.n + 1}", real=True)
    X = problem.X_exact if problem.exact else sp.Matrix(problem.X)
    y = problem.y_exact if problem.exact else sp.Matrix(problem.y)
    w0s = [sp.nsimplify(float(v), rational=True) for v in w0]
    if psi is EUCLIDEAN:
        obj = sp.Rational(1, 2) * sum((wi - ci) ** 2 for wi, ci in zip(w, w0s))
    else:
        # D_ψ(w, w0) = Σ_i ψ_i(w_i) − ψ_i(w0_i) − ψ_i'(w0_i)(w_i − w0_i)
        obj = sum(psi.sym(wi) - psi.sym(ci) - psi.grad_expr.subs(W, ci) * (wi - ci)
                  for wi, ci in zip(w, w0s))
    Xw = X * sp.Matrix(w)
    cons = tuple(sp.Eq(Xw[i], y[i]) for i in range(problem.n))
    grad_obj = [sp.diff(obj, wi) for wi in w]
    XtL = X.T * sp.Matrix(lam)
    kkt = tuple(sp.Eq(grad_obj[i], XtL[i]) for i in range(d)) + cons
    return w, obj, cons, kkt


def implicit_bias(optimizer: str | Optimizer, problem: Any, w0: Sequence[float] | None = None, *,
                  h: float | None = None, hyper: dict | None = None,
                  potential: str | Potential | None = None, max_steps: int = 200_000,
                  tol: float = 1e-10, batches: int = 1) -> ImplicitBias:
    """Derive, solve and check the implicit problem of ``optimizer`` on ``problem``.

    Parameters
    ----------
    optimizer : str or Optimizer
        A registered name, an :class:`~ibsym.bea.optimizers.Optimizer` (e.g. from
        :func:`~ibsym.limits.mirror.mirror_descent` or :func:`~ibsym.limits.steepest.
        steepest_descent`).
    problem : RegressionProblem or (X, y)
    w0 : sequence of float, optional
        Start (default 0, or 1 in every coordinate when ψ needs w > 0).
    h : float, optional
        Step size (default 1/λ_max(XᵀX)).
    hyper : dict, optional
        Hyper-parameter values; open ones take :data:`DEFAULT_HYPER`.
    potential : str or Potential, optional
        An extra candidate geometry for the invariant search.
    max_steps, tol : int, float
        Run until ‖Xw − y‖ < tol or max_steps.
    batches : int
        Row blocks for mini-batch optimizers (``sgd``).

    Returns
    -------
    ImplicitBias
        (a :class:`~ibsym.limits.classification.ClassificationBias` for a
        :class:`~ibsym.limits.classification.SeparableProblem`: the max-margin limit, run for
        ``max_steps`` steps -- see :func:`~ibsym.limits.classification.implicit_bias_classification`)
    """
    from ibsym.limits.classification import SeparableProblem, implicit_bias_classification
    if isinstance(problem, SeparableProblem):
        if potential is not None or batches != 1:
            raise InputError("classification problems take no potential and no mini-batches")
        return implicit_bias_classification(optimizer, problem, h=h, hyper=hyper, w0=w0,
                                            steps=max_steps)
    prob = as_problem(problem)
    if isinstance(optimizer, Optimizer):
        opt = optimizer.with_hyper(**hyper) if hyper else optimizer
    else:
        opt = get_optimizer(optimizer, **(hyper or {}))
    open_ = [k for k in opt.hyper if k not in dict(opt.values)]
    fill = {k: DEFAULT_HYPER[k] for k in open_ if k in DEFAULT_HYPER}
    if fill:
        opt = opt.with_hyper(**fill)
    psi_user = Potential.parse(potential) if isinstance(potential, str) else potential
    declared = getattr(opt.update, "potential", None)
    positive = any(p is not None and p.positive for p in (psi_user, declared))
    if w0 is None:
        w0 = np.ones(prob.d) if positive else np.zeros(prob.d)
    w0 = np.array(w0, dtype=float).reshape(-1)
    if w0.shape != (prob.d,) or not np.all(np.isfinite(w0)):
        raise InputError(f"w0 must be {prob.d} finite numbers, got {w0.size}")
    if h is None:
        h = 1.0 / prob.lambda_max
    if not (isinstance(h, (int, float)) and 0 < h < np.inf):
        raise InputError(f"step size h must be a positive number, got {h!r}")
    if opt.steps_per_update == "batches":
        batches = max(batches, 2) if prob.n >= 2 else 1
    inv = derive_invariant(opt, prob, w0, float(h), potentials=[p for p in (psi_user,) if p],
                           batches=batches)
    meas, steps, _ = run_optimizer(opt, prob, w0, float(h), max_steps=max_steps, tol=tol,
                                   batches=batches)
    resid = prob.residual(meas)
    w_syms, obj, cons, kkt, sol, sol_exact, method, dist = (), None, (), (), None, None, "none", None
    if inv.exists:
        psi = inv.potential
        w_syms, obj, cons, kkt = _symbolic_problem(psi, prob, w0)
        if psi is EUCLIDEAN:
            sol, sol_exact = min_norm_solution(prob, w0)
            method = "closed form w0 + X⁺(y − Xw0)"
        else:
            sol = bregman_projection(psi, prob, w0)
            method = "Bregman projection (Newton on the dual)"
        dist = float(np.linalg.norm(meas - sol))
    imap = None
    if inv.affine and inv.exists and inv.potential is EUCLIDEAN:
        A, b = _affine_map(opt, prob, float(h), batches)
        grad = RegressionGradient(prob.X, prob.y, batches)
        hp = opt.numeric_hyper() if opt.hyper else {}
        z0 = _flatten(opt, w0, opt.init(w0, grad, hp) if opt.init else {})
        d = prob.d
        M = (np.eye(len(b)) - A)
        s_inf = np.linalg.lstsq(M[:, d:], b - M[:, :d] @ sol, rcond=None)[0] if len(b) > d \
            else np.zeros(0)
        zinf = np.concatenate([sol, s_inf])
        if np.linalg.norm(M @ zinf - b) < 1e-9 * (1 + np.linalg.norm(b)):
            imap = (A, z0, zinf)
    return ImplicitBias(opt.name, opt.rule, prob, w0, float(h), inv, tuple(w_syms), obj, cons, kkt,
                        sol, sol_exact, method, meas, steps, resid, resid < tol, dist, imap)
