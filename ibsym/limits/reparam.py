"""Reparametrizations w = φ(u): the mirror potential that gradient flow on u induces on w.

Gradient flow on u for L(φ(u)) gives u̇ = −φ′(u)∇L(w), hence ẇ = −φ′(u)²∇L(w): a mirror flow
d/dt ∇ψ(w) = −∇L(w) with the metric ∇²ψ(w) = 1/φ′(φ⁻¹(w))² (coordinate-wise).  With
G(u) = ∫_α^u ds/φ′(s) this integrates to ψ′(φ(u)) = G(u) -- SymPy does both integrals.

Two branches w = φ(u₊) − φ(u₋), u₊(0) = u₋(0) = α: along the flow d/dt G(u₊) = −∇L and
d/dt G(u₋) = +∇L, so G(u₊) + G(u₋) = 2G(α) is conserved; solving that together with
w = φ(u₊) − φ(u₋) gives the metric ẇ = −(φ′(u₊)² + φ′(u₋)²)∇L in terms of w, which SymPy
integrates twice.  The limit of the flow is then argmin D_ψ(w, w(0)) s.t. Xw = y
(:func:`~ibsym.limits.mirror.bregman_projection`).

Examples
--------
>>> r = Reparametrization.parse("u^2", alpha=1)
>>> r.hess_expr, r.potential.expr
(1/(4*w), w*log(w)/4 - w/4 + 1/4)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from ibsym.core.errors import InputError
from ibsym.core.parsing import parse_expression
from ibsym.core.values import as_number
from ibsym.limits.mirror import W, Potential, bregman_projection, increasing_inverse
from ibsym.limits.problems import RegressionProblem

__all__ = ["Reparametrization", "flow_limit", "gd_limit", "alpha_sweep"]

U = sp.Symbol("u", real=True)
UP, UM = sp.Symbol("up", positive=True), sp.Symbol("um", positive=True)
S = sp.Symbol("s", positive=True)


def _branch_inverse(phi: sp.Expr, alpha: sp.Expr) -> sp.Expr | None:
    """u = φ⁻¹(w) on the branch through u = α, if SymPy solves w = φ(u) and the branch checks."""
    try:
        sols = sp.solve(sp.Eq(phi.subs(U, S if alpha > 0 else U), W), S if alpha > 0 else U)
    except (NotImplementedError, ValueError):
        return None
    w_a = phi.subs(U, alpha)
    good = []
    for s in sols:
        try:
            val = complex(sp.N(s.subs(W, w_a), 30))
            val2 = complex(sp.N(s.subs(W, w_a + sp.Rational(1, 7)), 30))
        except (TypeError, ValueError):
            continue
        if abs(val - float(alpha)) < 1e-20 and abs(val2.imag) < 1e-20:
            good.append(s)
    return good[0] if len(good) == 1 else None


def _cheap_to_invert(phi: sp.Expr) -> bool:
    """Explicit inversion is attempted for c·u^p, quadratics and non-polynomial φ only
    (Cardano roots of cubics make SymPy's integration unbounded)."""
    if not phi.is_polynomial(U):
        return True
    poly = sp.Poly(phi, U)
    return poly.degree() <= 2 or len(poly.terms()) == 1


class InducedPotential:
    """The potential induced by w = φ(u), held in the parameter: ψ′(φ(u)) = G(u) = ∫_α^u ds/φ′(s),
    ψ(φ(u)) = ∫_α^u G(s)φ′(s) ds, ∇²ψ(w) = 1/φ′(u)² at u = φ⁻¹(w) (monotone inverse, numeric).

    Same numeric interface as :class:`~ibsym.limits.mirror.Potential`.
    """

    positive = False
    domain = "w ∈ φ(R)"

    def __init__(self, phi: sp.Expr, dphi: sp.Expr, alpha: sp.Expr, text: str = ""):
        if not _monotone(dphi):
            raise InputError(f"φ = {phi} is not strictly monotone (φ′ = {dphi} changes sign): w ↦ u "
                             "is not a reparametrization and no potential exists")
        self.sign = 1 if sp.N(dphi.subs(U, alpha)) > 0 else -1
        self.G_expr = sp.simplify(sp.integrate(1 / dphi.subs(U, S), (S, alpha, U)))
        psi_u = sp.integrate(self.G_expr.subs(U, S) * dphi.subs(U, S), (S, alpha, U))
        self.expr = sp.simplify(psi_u) if not psi_u.has(sp.Integral) else psi_u
        self.grad_expr = self.G_expr
        self.name = f"ψ induced by w = {text or phi} (in u = φ⁻¹(w))"
        lam = lambda e: sp.lambdify(U, e, modules="numpy")  # noqa: E731 -- derived expressions
        self._phi, self._dphi, self._G = lam(phi), lam(dphi), lam(self.G_expr)
        self._psi = lam(self.expr) if not self.expr.has(sp.Integral) else None

    def _b(self, f, x):
        return np.broadcast_to(f(np.asarray(x, dtype=float)), np.shape(x)) * 1.0

    def u_of(self, w: np.ndarray, start: np.ndarray | None = None) -> np.ndarray:
        """φ⁻¹(w) (strictly monotone φ)."""
        s = self.sign
        return increasing_inverse(lambda u: s * self._b(self._phi, u), lambda u: s * self._b(self._dphi, u),
                                  s * np.asarray(w, dtype=float), start=start)

    def grad(self, w):
        return self._b(self._G, self.u_of(w))

    def hess(self, w):
        return 1.0 / self._b(self._dphi, self.u_of(w)) ** 2

    def grad_inverse(self, z, start=None):
        s = self.sign
        u = increasing_inverse(lambda u: s * self._b(self._G, u),
                               lambda u: 1.0 / np.abs(self._b(self._dphi, u)), s * np.asarray(z, float))
        return self._b(self._phi, u)

    def value(self, w):
        if self._psi is None:
            raise InputError("ψ(w) has no closed form in u for this φ (its gradient does)")
        return float(np.sum(self._b(self._psi, self.u_of(w))))

    def check_domain(self, w, what="w0"):
        return None


def _monotone(dphi: sp.Expr) -> bool:
    """φ′ keeps one strict sign on R (symbolic where SymPy decides, else sampled)."""
    pos = dphi.is_positive
    if pos is True or dphi.is_negative is True:
        return True
    f = sp.lambdify(U, dphi, modules="numpy")
    with np.errstate(all="ignore"):
        v = np.broadcast_to(f(np.linspace(-50, 50, 2001)), (2001,))
    return bool(np.all(v > 0) or np.all(v < 0))


@dataclass(frozen=True, eq=False)
class Reparametrization:
    """w = φ(u) coordinate-wise (or w = φ(u₊) − φ(u₋)), started at u = α.

    Attributes
    ----------
    phi : sympy.Expr
        φ(u) in the symbol ``u``.
    two_branch : bool
        w = φ(u₊) − φ(u₋) with u₊(0) = u₋(0) = α.
    alpha : sympy.Expr
        The initialization scale.
    hess_expr : sympy.Expr
        The derived metric ∇²ψ(w) (coordinate), an expression in ``w``.
    potential : Potential
        ψ with ψ(w(0)) = ψ′(w(0)) = 0, integrated symbolically.
    """

    phi: sp.Expr
    alpha: Any
    two_branch: bool = False
    text: str = ""
    hess_expr: sp.Expr = field(init=False, default=None)
    potential: Potential = field(init=False, default=None)
    inverse: sp.Expr | None = field(init=False, default=None)
    _num: dict = field(init=False, default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        a = as_number(self.alpha, what="alpha", rational=True)
        if not (a.is_real and a > 0):
            raise InputError(f"alpha must be a positive number, got {self.alpha}")
        object.__setattr__(self, "alpha", a)
        phi = self.phi
        dphi = sp.diff(phi, U)
        if not (dphi.subs(U, a) != 0 and sp.N(dphi.subs(U, a)) != 0):
            raise InputError(f"φ′(α) = 0 for φ = {phi}: the flow does not move from u = α")
        f = sp.lambdify(U, phi, modules="numpy")
        df = sp.lambdify(U, dphi, modules="numpy")
        self._num.update(phi=f, dphi=df)
        if self.two_branch:
            hess = self._two_branch_metric(phi, dphi, a)
        else:
            inv = _branch_inverse(phi, a) if _cheap_to_invert(phi) else None
            object.__setattr__(self, "inverse", inv)
            if inv is None:
                # no explicit φ⁻¹: the potential in the parameter u (ψ′(φ(u)) = G(u)), exact
                object.__setattr__(self, "potential", InducedPotential(phi, dphi, a, self.text))
                object.__setattr__(self, "hess_expr", sp.simplify(1 / dphi ** 2))
                return
            hess = sp.simplify(1 / dphi.subs(U, inv) ** 2)
        if hess is None:
            what = (f"w = φ(u₊) − φ(u₋) with G(u₊) + G(u₋) = 2G(α), φ = {phi}," if self.two_branch
                    else f"w = {phi}")
            raise InputError(f"SymPy could not solve {what} for the parameters on the branch "
                             f"through u = {a}: no closed-form metric (not supported yet)")
        object.__setattr__(self, "hess_expr", hess)
        w0 = self.w_start
        g1 = sp.integrate(hess, W)
        g1 = sp.simplify(g1 - g1.subs(W, w0))
        psi = sp.integrate(g1, W)
        psi = sp.simplify(psi - psi.subs(W, w0))
        if psi.has(sp.Integral):
            raise InputError(f"SymPy could not integrate the metric {hess} of φ = {phi} in "
                             "closed form")
        object.__setattr__(self, "potential", Potential(psi, name=f"ψ induced by w = {self.text or phi}"))

    @staticmethod
    def _two_branch_metric(phi: sp.Expr, dphi: sp.Expr, a: sp.Expr) -> sp.Expr | None:
        G = sp.integrate(1 / dphi.subs(U, S), (S, a, UP)) + sp.integrate(1 / dphi.subs(U, S), (S, a, UM))
        eqs = [sp.Eq(phi.subs(U, UP) - phi.subs(U, UM), W), sp.Eq(sp.simplify(G), 0)]
        wsym = sp.Symbol("w", real=True)
        try:
            sols = sp.solve(eqs, [UP, UM], dict=True, check=False, simplify=False)
        except (NotImplementedError, ValueError):
            return None
        for sol in sols:
            m = sp.simplify(dphi.subs(U, sol[UP]) ** 2 + dphi.subs(U, sol[UM]) ** 2)
            try:
                ok = all(abs(complex(sp.N(sol[v].subs(wsym, t)))) > 0
                         and abs(complex(sp.N(sol[v].subs(wsym, t))).imag) < 1e-20
                         and complex(sp.N(sol[v].subs(wsym, t))).real > 0
                         for v in (UP, UM) for t in (-3, 0, sp.Rational(1, 3), 5))
            except (TypeError, ValueError):
                ok = False
            if ok:
                return sp.simplify(1 / m)
        return None

    @classmethod
    def parse(cls, text: str, alpha: Any = 1) -> "Reparametrization":
        """Parse ``"u^2"``, ``"u^3 + u"`` (one branch) or ``"up^2 - um^2"`` (two branches)."""
        expr = parse_expression(text, {"u": U, "up": UP, "um": UM})
        names = expr.free_symbols
        if names <= {U} and U in names:
            return cls(expr, alpha, False, text)
        if names and names <= {UP, UM} and UP in names and UM in names:
            phi = expr.subs({UP: U, UM: 0}) - expr.subs({UP: 0, UM: 0})
            if sp.simplify(expr - (phi.subs(U, UP) - phi.subs(U, UM))) != 0:
                raise InputError(f"reparametrization \"{text}\": two branches must read "
                                 "φ(up) − φ(um) with the same φ")
            return cls(phi, alpha, True, text)
        raise InputError(f"reparametrization \"{text}\" must be an expression in u (one branch) or "
                         "in up and um (w = φ(up) − φ(um))")

    def latex_lines(self) -> list[str]:
        """The reparametrization, the derived metric and potential as display-math lines."""
        w = (r"w = \varphi(u_+) - \varphi(u_-)" if self.two_branch else r"w = \varphi(u)")
        return [w + r",\quad \varphi(u) = " + sp.latex(self.phi) + r",\quad u(0) = " + sp.latex(self.alpha),
                r"\nabla^2\psi(w) = " + sp.latex(self.hess_expr),
                r"\psi = " + sp.latex(self.potential.expr)]

    @property
    def w_start(self) -> sp.Expr:
        """w(0) = φ(α) (one branch) or 0 (two branches)."""
        return sp.S.Zero if self.two_branch else self.phi.subs(U, self.alpha)

    # numeric
    def phi_num(self, u: np.ndarray) -> np.ndarray:
        """φ(u) coordinate-wise."""
        return np.broadcast_to(self._num["phi"](u), np.shape(u)) * 1.0

    def dphi_num(self, u: np.ndarray) -> np.ndarray:
        """φ′(u) coordinate-wise."""
        return np.broadcast_to(self._num["dphi"](u), np.shape(u)) * 1.0

    def w_of(self, u: np.ndarray) -> np.ndarray:
        """w from the stacked parameters (u, or (u₊, u₋))."""
        if self.two_branch:
            d = u.shape[-1] // 2
            return self.phi_num(u[..., :d]) - self.phi_num(u[..., d:])
        return self.phi_num(u)

    def u_start(self, d: int) -> np.ndarray:
        """All parameters at α."""
        return np.full(2 * d if self.two_branch else d, float(self.alpha))

    def u_gradient(self, u: np.ndarray, problem: RegressionProblem) -> np.ndarray:
        """∇_u L(w(u)) by the chain rule."""
        g = problem.gradient(self.w_of(u))
        if self.two_branch:
            d = problem.d
            return np.concatenate([self.dphi_num(u[:d]) * g, -self.dphi_num(u[d:]) * g])
        return self.dphi_num(u) * g

    def mirror_velocity(self, w: np.ndarray, problem: RegressionProblem) -> np.ndarray:
        """ẇ = −∇²ψ(w)⁻¹∇L(w) from the derived metric."""
        return -problem.gradient(w) / self.potential.hess(w)

    def implicit_limit(self, problem: RegressionProblem) -> np.ndarray:
        """argmin D_ψ(w, w(0)) s.t. Xw = y."""
        return bregman_projection(self.potential, problem, np.full(problem.d, float(self.w_start)))


def flow_limit(rep: Reparametrization, problem: RegressionProblem, *, T: float | None = None,
               tol: float = 1e-11) -> tuple[np.ndarray, float]:
    """Gradient flow on u (LSODA, rtol 1e-12), extended until ‖Xw − y‖ < tol; returns (w, T)."""
    from scipy.integrate import solve_ivp
    u = rep.u_start(problem.d)
    t, T = 0.0, T or 50.0
    for _ in range(12):
        sol = solve_ivp(lambda _t, x: -rep.u_gradient(x, problem), (t, t + T), u, method="LSODA",
                        rtol=1e-12, atol=1e-15)
        u, t = sol.y[:, -1], t + T
        if problem.residual(rep.w_of(u)) < tol:
            break
        T *= 2
    return rep.w_of(u), t


def gd_limit(rep: Reparametrization, problem: RegressionProblem, h: float, *,
             max_steps: int = 400_000, tol: float = 1e-10) -> tuple[np.ndarray, int]:
    """Discrete GD on u (only approximately mirror descent: the limit moves with h)."""
    u = rep.u_start(problem.d)
    for k in range(1, max_steps + 1):
        u = u - h * rep.u_gradient(u, problem)
        if not np.all(np.isfinite(u)):
            raise InputError(f"GD on u diverged at h={h:g} (step {k})")
        if problem.residual(rep.w_of(u)) < tol:
            return rep.w_of(u), k
    return rep.w_of(u), max_steps


def alpha_sweep(text: str, problem: RegressionProblem,
                alphas: tuple = (1e-3, 1e-2, 0.1, 0.3, 1.0, 10.0)) -> list[dict[str, Any]]:
    """For each α: the derived argmin, the gradient-flow limit, their distance, ‖w‖₁ and ‖w‖₂."""
    rows = []
    for a in alphas:
        rep = Reparametrization.parse(text, alpha=a)
        w_star = rep.implicit_limit(problem)
        w_flow, _ = flow_limit(rep, problem)
        rows.append({"alpha": a, "argmin": w_star, "flow": w_flow,
                     "distance": float(np.max(np.abs(w_star - w_flow))),
                     "l1": float(np.abs(w_star).sum()), "l2": float(np.linalg.norm(w_star))})
    return rows
