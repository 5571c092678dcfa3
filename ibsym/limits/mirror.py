"""Mirror descent with a separable potential ψ(w) = Σ_i ψ_i(w_i), and its Bregman projection.

The potential is typed as the per-coordinate expression in ``w`` (``"w*log(w) - w"``); the
wrapper ``"sum(...)"`` is accepted and means the same thing: **ψ is always separable**,
ψ(w) = Σ_i ψ_i(w_i) with one ψ_i for every coordinate.  Text goes through the whitelist parser
(:func:`ibsym.core.parsing.parse_expression`), never ``eval``/``sympify``.

Mirror descent ∇ψ(w_{k+1}) = ∇ψ(w_k) − h∇L(w_k) keeps ∇ψ(w_k) − ∇ψ(w_0) in range(Xᵀ) on
L(w) = ½‖Xw − y‖², so a limit that interpolates is argmin D_ψ(w, w_0) s.t. Xw = y
(Gunasekar et al. 2018) -- :func:`bregman_projection` solves that problem (Newton on the dual,
whose Hessian X diag(1/ψ″(w)) Xᵀ is positive definite).

Examples
--------
>>> psi = Potential.parse("sum(w*log(w) - w)")
>>> psi.expr, psi.grad_expr, psi.domain
(w*log(w) - w, log(w), 'w > 0')
>>> Potential.parse("-w^2")
Traceback (most recent call last):
...
ibsym.core.errors.InputError: potential -w**2 is not strictly convex on w ∈ R: ψ''(w) = -2 is ≤ 0 or undefined at w = -3
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from ibsym.core.values import to_sympy
from ibsym.bea.optimizers import Optimizer
from ibsym.core.errors import InputError
from ibsym.core.parsing import parse_expression
from ibsym.limits.problems import RegressionProblem
from ibsym.limits.tracing import SymVec, vmap

__all__ = ["Potential", "EUCLIDEAN", "mirror_descent", "bregman_projection", "mirror_flow_limit"]

W = sp.Symbol("w", real=True)
WP = sp.Symbol("w", positive=True)
_SUM_RE = re.compile(r"^\s*sum\s*\((.*)\)\s*$", re.S)


def _needs_positive(expr: sp.Expr) -> bool:
    """Whether ψ_i is defined (real) only for w > 0: logs, or non-integer powers of w."""
    for node in sp.preorder_traversal(expr):
        if isinstance(node, sp.log) and node.args[0].has(W):
            return True
        if isinstance(node, sp.Pow) and node.base.has(W) and not node.exp.is_integer \
                and not isinstance(node.base, sp.Abs) and not node.base.is_positive:
            return True
    return False


def _collapse(expr: sp.Expr, var: sp.Symbol) -> sp.Expr:
    """Write |w^a| as |w|^a and drop a point branch Piecewise((c, Eq(w, a)), (f, True)) whose f
    is defined and equal to c at a."""
    # |w^a| = |w|^a for real w (SymPy writes |√w|, which NumPy evaluates as nan for w < 0)
    abs_pow = lambda e: isinstance(e, sp.Abs) and e.args[0].is_Pow and e.args[0].base == var  # noqa: E731
    expr = expr.replace(abs_pow, lambda e: sp.Abs(var) ** e.args[0].exp)
    if isinstance(expr, sp.Piecewise) and len(expr.args) == 2 and expr.args[1].cond == True:  # noqa: E712
        (c, cond), (f, _) = expr.args
        f = sp.simplify(f)
        if isinstance(cond, sp.Eq) and var in cond.free_symbols:
            at = sp.solve(cond, var)
            if len(at) == 1 and sp.limit(f, var, at[0]) == c == f.subs(var, at[0]):
                return f
    return expr


@dataclass(frozen=True, eq=False)
class Potential:
    """A strictly convex separable potential ψ(w) = Σ_i ψ_i(w_i).

    Parameters
    ----------
    expr : sympy.Expr
        ψ_i as an expression in the real symbol ``w`` (:data:`W`).
    name : str
        Label for printing.
    """

    expr: sp.Expr
    name: str = ""
    positive: bool = field(init=False, default=False)
    grad_expr: sp.Expr = field(init=False, default=None)
    hess_expr: sp.Expr = field(init=False, default=None)
    inverse_expr: sp.Expr | None = field(init=False, default=None)
    _num: dict = field(init=False, default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        expr = to_sympy(self.expr, what="potential")   # text: Potential.parse (whitelist)
        free = expr.free_symbols - {W}
        if free:
            raise InputError(f"potential {expr} has free symbols {sorted(map(str, free))}; give "
                             "numeric values (ψ must be an expression in w only)")
        pos = _needs_positive(expr)
        var = WP if pos else W
        e = expr.subs(W, var)
        g = sp.diff(e, var)
        # d/dw sign(w) = 2δ(w) multiplies |w|^(p−1) = 0 at w = 0 for p > 1: drop it (a.e.)
        hs = sp.simplify(sp.diff(g, var).replace(sp.DiracDelta, lambda *a: sp.S.Zero))
        hs = _collapse(hs, var)
        object.__setattr__(self, "positive", pos)
        self._check_convex(expr, hs.subs(var, W))
        z = sp.Symbol("z", real=True)
        inv = None
        try:
            sols = [s for s in sp.solve(sp.Eq(g, z), var, check=False, simplify=False)
                    if not s.has(sp.I)]
        except (NotImplementedError, ValueError):
            sols = []
        if len(sols) == 1 and not sols[0].has(sp.Piecewise):
            inv = sols[0].subs(z, W)
            # keep the closed form only if it inverts ψ' on the whole domain (branch check)
            pts = (np.logspace(-3, 2, 11) if pos
                   else np.concatenate([-np.logspace(-2, 2, 7), np.logspace(-2, 2, 7)]))
            gf = sp.lambdify(W, g.subs(var, W), modules="numpy")
            invf = sp.lambdify(W, inv, modules="numpy")
            with np.errstate(all="ignore"):
                back = np.asarray(invf(np.asarray(gf(pts), dtype=float)), dtype=float)
            if back.shape != pts.shape or not np.allclose(back, pts, rtol=1e-9, atol=1e-12):
                inv = None
        object.__setattr__(self, "expr", expr)
        object.__setattr__(self, "grad_expr", g.subs(var, W))
        object.__setattr__(self, "hess_expr", hs.subs(var, W))
        object.__setattr__(self, "inverse_expr", inv)
        if not self.name:
            object.__setattr__(self, "name", str(expr))
        f = lambda ex: sp.lambdify(W, ex, modules="numpy")  # noqa: E731 -- our own expressions
        self._num.update(psi=f(expr), grad=f(self.grad_expr), hess=f(self.hess_expr))
        if inv is not None:
            self._num["inv"] = f(inv)

    def _check_convex(self, expr: sp.Expr, hess: sp.Expr) -> None:
        var = WP if self.positive else W
        if sp.simplify(hess.subs(W, var)).is_positive:
            return
        pts = (np.logspace(-3, 3, 25) if self.positive
               else np.concatenate([-np.logspace(-2, 3, 12), np.logspace(-2, 3, 12), [-3.0, 3.0]]))
        fn = sp.lambdify(W, hess, modules="numpy")
        for p in sorted(pts, key=lambda x: (x != -3.0, x)):
            with np.errstate(all="ignore"):
                v = np.asarray(fn(p), dtype=float)
            if not np.isfinite(v) or v <= 0:
                dom = "w > 0" if self.positive else "w ∈ R"
                raise InputError(f"potential {expr} is not strictly convex on {dom}: ψ''(w) = "
                                 f"{sp.simplify(hess)} is ≤ 0 or undefined at w = {p:g}")

    @property
    def _inverse_function(self) -> type:
        return sp.Function("dpsi_inv")

    @classmethod
    def parse(cls, text: str) -> "Potential":
        """Parse ψ_i from text (``"w*log(w) - w"``, ``"sum(abs(w)^3)/3"`` …)."""
        if not isinstance(text, str):
            raise InputError("potential must be a text expression in w")
        body = text
        m = _SUM_RE.match(text)
        if m:
            body = m.group(1)
        else:
            m2 = re.match(r"^\s*sum\s*\((.*)\)\s*(/.*)$", text, re.S)   # sum(...)/p
            if m2:
                body = f"({m2.group(1)}){m2.group(2)}"
        if re.search(r"\bsum\s*\(", body):
            raise InputError(f"potential \"{text}\": write sum(...) once around the per-"
                             "coordinate expression in w (ψ is separable)")
        return cls(parse_expression(body, {"w": W}), name=text.strip())

    @property
    def domain(self) -> str:
        """Where ψ_i is defined and strictly convex."""
        return "w > 0" if self.positive else "w ∈ R"

    # ---- numeric maps (NumPy arrays) ----
    def value(self, w: np.ndarray) -> float:
        """ψ(w) = Σ_i ψ_i(w_i)."""
        return float(np.sum(self._num["psi"](np.asarray(w, dtype=float))))

    def grad(self, w: Any) -> Any:
        """∇ψ(w) coordinate-wise (NumPy array or :class:`SymVec`)."""
        if isinstance(w, SymVec):
            # ∇ψ(∇ψ⁻¹(z)) = z for the opaque inverse (no closed form)
            return SymVec(e.args[0] if isinstance(e, self._inverse_function) else
                          self.grad_expr.subs(W, e) for e in w)
        with np.errstate(all="ignore"):
            return np.broadcast_to(self._num["grad"](np.asarray(w, dtype=float)), np.shape(w)) * 1.0

    def hess(self, w: np.ndarray) -> np.ndarray:
        """Diagonal of ∇²ψ(w)."""
        with np.errstate(all="ignore"):
            return np.broadcast_to(self._num["hess"](np.asarray(w, dtype=float)), np.shape(w)) * 1.0

    def grad_inverse(self, z: Any, start: np.ndarray | None = None) -> Any:
        """(∇ψ)⁻¹(z): closed form when SymPy finds it, else safeguarded Newton."""
        if isinstance(z, SymVec):
            if self.inverse_expr is None:      # an opaque (∇ψ)⁻¹: traced as a function symbol
                return SymVec(self._inverse_function(e) for e in z)
            return vmap(self.inverse_expr, W, z)
        z = np.asarray(z, dtype=float)
        if "inv" in self._num:
            return np.broadcast_to(self._num["inv"](z), z.shape) * 1.0
        return self._newton_inverse(z, start)

    def _newton_inverse(self, z: np.ndarray, start: np.ndarray | None) -> np.ndarray:
        return increasing_inverse(self.grad, self.hess, z, positive=self.positive, start=start)

    def bregman(self, w: np.ndarray, w0: np.ndarray) -> float:
        """D_ψ(w, w0) = ψ(w) − ψ(w0) − ⟨∇ψ(w0), w − w0⟩."""
        return self.value(w) - self.value(w0) - float(self.grad(w0) @ (np.asarray(w) - w0))

    def sym(self, wi: sp.Expr) -> sp.Expr:
        """ψ_i at a symbolic coordinate."""
        return self.expr.subs(W, wi)

    def check_domain(self, w: np.ndarray, what: str = "w0") -> None:
        """Refuse a point outside the domain of ψ."""
        if self.positive and np.any(np.asarray(w) <= 0):
            raise InputError(f"{what} must lie in the domain of ψ = {self.name} ({self.domain} "
                             "in every coordinate)")


EUCLIDEAN = Potential(W ** 2 / 2, name="½‖w‖²")


def increasing_inverse(f, df, z: np.ndarray, *, positive: bool = False,
                       start: np.ndarray | None = None) -> np.ndarray:
    """Solve f(x) = z coordinate-wise for a strictly increasing f (on x > 0 if ``positive``).

    Brackets by doubling, then takes Newton steps that stay inside the bracket (bisection
    otherwise) -- converges for every strictly increasing f.
    """
    z = np.asarray(z, dtype=float)
    c = (np.ones(z.shape) if positive else np.zeros(z.shape)) if start is None \
        else np.asarray(start, dtype=float).copy()
    with np.errstate(all="ignore"):
        # bracket around the start, the gap doubling until f(lo) ≤ z ≤ f(hi)
        gap = 1e-3 * (1 + np.abs(c))
        hi = c + gap
        for _ in range(2000):
            bad = f(hi) < z
            if not bad.any():
                break
            hi = np.where(bad, hi + (hi - c) , hi)
        if positive:
            lo = c / 2
            for _ in range(2000):
                bad = f(lo) > z
                if not bad.any():
                    break
                lo = np.where(bad, lo / 2, lo)
        else:
            lo = c - gap
            for _ in range(2000):
                bad = f(lo) > z
                if not bad.any():
                    break
                lo = np.where(bad, lo - (c - lo), lo)
        x = np.clip(c, lo, hi)
        for _ in range(300):
            r = f(x) - z
            lo = np.where(r < 0, x, lo)
            hi = np.where(r > 0, x, hi)
            step = x - r / df(x)
            inside = (step > lo) & (step < hi)
            x_new = np.where(inside, step, 0.5 * (lo + hi))
            if np.all(np.abs(x_new - x) <= 1e-15 * (1 + np.abs(x))):
                return x_new
            x = x_new
    return x


class MirrorStep:
    """The update ∇ψ(θ_{n+1}) = ∇ψ(θ_n) − h∇L(θ_n) (carries its potential)."""

    def __init__(self, potential: Potential):
        self.potential = potential

    def __call__(self, theta, state, grad, h, hp):
        psi = self.potential
        z = psi.grad(theta) - h * grad(theta)
        start = None if isinstance(theta, SymVec) else theta
        return psi.grad_inverse(z, start) if start is None else psi.grad_inverse(z, start), {}


def mirror_descent(potential: str | Potential) -> Optimizer:
    """Mirror descent with the separable potential ψ.

    Examples
    --------
    >>> mirror_descent("w*log(w) - w").rule
    '∇ψ(θ_{n+1}) = ∇ψ(θ_n) − h∇L(θ_n),  ψ = Σ_i w*log(w) - w'
    """
    psi = Potential.parse(potential) if isinstance(potential, str) else potential
    return Optimizer("mirror-descent", MirrorStep(psi),
                     rule=f"∇ψ(θ_{{n+1}}) = ∇ψ(θ_n) − h∇L(θ_n),  ψ = Σ_i {psi.expr}",
                     rule_latex=r"\nabla\psi(\theta_{n+1}) = \nabla\psi(\theta_n) - h\nabla L(\theta_n)")


def bregman_projection(potential: Potential, problem: RegressionProblem, w0: np.ndarray,
                       *, tol: float = 1e-13, max_iter: int = 200) -> np.ndarray:
    """argmin D_ψ(w, w0) s.t. Xw = y, by damped Newton on the dual.

    The KKT conditions ∇ψ(w) = ∇ψ(w0) + Xᵀλ, Xw = y are solved for λ; each Newton step
    uses the dual Hessian X diag(1/ψ″(w)) Xᵀ and halves until ‖Xw − y‖ decreases.

    Raises
    ------
    InputError
        If the projection does not exist (no interpolant in the domain of ψ).
    """
    X, y = problem.X, problem.y
    w0 = np.asarray(w0, dtype=float)
    potential.check_domain(w0)
    z0 = potential.grad(w0)
    lam = np.zeros(problem.n)
    w = w0.copy()
    r = X @ w - y
    for _ in range(max_iter):
        if np.linalg.norm(r) <= tol * (1 + np.linalg.norm(y)):
            return w
        H = (X / potential.hess(w)) @ X.T
        step = np.linalg.solve(H, -r)
        t = 1.0
        while t > 1e-12:
            lam_t = lam + t * step
            with np.errstate(all="ignore"):          # overflowing trial steps are rejected
                w_t = potential.grad_inverse(z0 + X.T @ lam_t, w)
                r_t = X @ w_t - y
                ok = np.all(np.isfinite(w_t)) and np.linalg.norm(r_t) < (1 - 1e-4 * t) * np.linalg.norm(r)
            if ok:
                break
            t *= 0.5
        else:
            break
        lam, w, r = lam_t, w_t, r_t
    if np.linalg.norm(r) <= 1e-9 * (1 + np.linalg.norm(y)):
        return w
    raise InputError(f"the Bregman projection argmin D_ψ(w, w0) s.t. Xw = y for ψ = "
                     f"{potential.name} was not found (residual {np.linalg.norm(r):.3g}): "
                     f"is there an interpolant with {potential.domain}?")


def mirror_flow_limit(potential: Potential, problem: RegressionProblem, w0: np.ndarray,
                      *, T: float = 200.0, rtol: float = 1e-12) -> np.ndarray:
    """Integrate the mirror flow d/dt ∇ψ(w) = −∇L(w) in the dual variable to time T."""
    from scipy.integrate import solve_ivp
    X, y = problem.X, problem.y

    def rhs(_t, z):
        w = potential.grad_inverse(z)
        return -(X.T @ (X @ w - y))

    sol = solve_ivp(rhs, (0.0, T), potential.grad(np.asarray(w0, float)), method="LSODA",
                    rtol=rtol, atol=1e-14)
    return potential.grad_inverse(sol.y[:, -1])




def kl_projection(problem: RegressionProblem, w0: np.ndarray) -> np.ndarray:
    """argmin Σ_i w_i log(w_i/w0_i) − w_i + w0_i s.t. Xw = y by CVXPY (exponential cones).

    An independent solver for the entropy potential's Bregman projection (accuracy ~1e-6,
    limited by the conic solver) -- used to cross-check :func:`bregman_projection`.
    """
    import cvxpy as cp
    w0 = np.asarray(w0, dtype=float)
    w = cp.Variable(problem.d)
    prob = cp.Problem(cp.Minimize(cp.sum(cp.kl_div(w, w0))), [problem.X @ w == problem.y])
    prob.solve(solver=cp.CLARABEL, tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)
    if prob.status != cp.OPTIMAL:
        raise InputError(f"CVXPY could not solve the KL projection ({prob.status})")
    return np.asarray(w.value)
