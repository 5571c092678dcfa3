"""Mirror descent (entropy / KL), reparametrization potentials (u², u₊² − u₋², u³ + u), α-sweep."""
import numpy as np
import pytest
import sympy as sp
from scipy.integrate import solve_ivp

import ibsym as ib
from ibsym.core.errors import InputError
from ibsym.limits.mirror import Potential, W, bregman_projection, mirror_descent, mirror_flow_limit
from ibsym.limits.problems import RegressionProblem
from ibsym.limits.reparam import Reparametrization, alpha_sweep, flow_limit, gd_limit

P3 = RegressionProblem([[1, 1, 1], [1, 2, 0]], [1, 1.2])          # has positive interpolants
P5 = RegressionProblem([[1, 2, -1, 0.5, 0], [0, 1, 1, 2, -1]], [1, -0.5])   # formulas.md §7.4


def _kl_cvxpy(problem, w0):
    import cvxpy as cp
    w = cp.Variable(problem.d)
    cp.Problem(cp.Minimize(cp.sum(cp.kl_div(w, w0))), [problem.X @ w == problem.y]).solve(
        solver=cp.CLARABEL, tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)
    return w.value


def test_entropy_mirror_descent_selects_the_kl_projection():
    w0 = np.array([0.5, 0.2, 0.8])
    r = ib.implicit_bias(mirror_descent("sum(w*log(w) - w)"), P3, w0=w0, h=0.1)
    assert r.invariant.exists and r.invariant.symbolic == "proved"
    assert r.invariant.quantity == "∇ψ(w) − ∇ψ(w0)"
    assert r.converged and r.distance < 1e-9
    # independent conic solver (exponential cone; Clarabel reaches ~1e-6 here)
    assert np.max(np.abs(r.solution - _kl_cvxpy(P3, w0))) < 2e-5
    # KKT: log w − log w0 ∈ range(Xᵀ)
    N = P3.null_basis()
    assert np.abs((np.log(r.solution) - np.log(w0)) @ N).max() < 1e-10
    flow = mirror_flow_limit(r.invariant.potential, P3, w0)
    assert np.max(np.abs(flow - r.solution)) < 1e-8
    assert "log" in str(r.objective)


def test_gd_is_not_entropy_mirror_descent():
    # the Euclidean invariant is found for GD even when ψ = entropy is offered first
    inv = ib.implicit_bias("gd", P3, w0=[0.5, 0.2, 0.8], potential="w*log(w) - w").invariant
    assert inv.exists and inv.quantity == "w − w0"


def test_bad_potentials_are_refused():
    with pytest.raises(InputError, match="not strictly convex"):
        Potential.parse("w^3")
    with pytest.raises(InputError, match="unknown name"):
        Potential.parse("sum(v^2)")
    with pytest.raises(InputError, match="free symbols"):
        Potential(W ** 2 * sp.Symbol("p"))
    with pytest.raises(InputError, match="no w interpolates|not found"):
        bregman_projection(Potential.parse("w*log(w) - w"), RegressionProblem([[1, 1, 1], [1, 2, 0]],
                                                                              [1, 10]), np.ones(3))


def test_lp_potential_numeric_inverse_is_branch_correct():
    psi = Potential.parse("sum(abs(w)^3)/3")
    z = np.array([-4.0, -0.25, 0.0, 1.0, 9.0])
    assert np.max(np.abs(psi.grad_inverse(z) - np.sign(z) * np.sqrt(np.abs(z)))) < 1e-12


def test_u_squared_gives_quarter_entropy_and_the_kl_limit():
    a = sp.Rational(1, 2)
    rep = Reparametrization.parse("u^2", alpha=a)
    assert sp.simplify(rep.hess_expr - 1 / (4 * W)) == 0                       # formulas.md §7.3
    oracle = (W * sp.log(W / a ** 2) - W + a ** 2) / 4
    assert sp.simplify(rep.potential.expr - oracle) == 0
    w_star = rep.implicit_limit(P3)
    assert np.max(np.abs(w_star - _kl_cvxpy(P3, np.full(3, 0.25)))) < 2e-5
    w_flow, _ = flow_limit(rep, P3)
    assert np.max(np.abs(w_flow - w_star)) < 1e-8


def test_woodworth_two_branch_potential_is_q_alpha():
    a = sp.Rational(3, 10)
    rep = Reparametrization.parse("up^2 - um^2", alpha=a)
    z = W / a ** 2
    q_alpha = a ** 2 * (2 - sp.sqrt(4 + z ** 2) + z * sp.asinh(z / 2))          # §7.4
    assert all(abs(sp.N((rep.potential.expr - q_alpha / 4).subs(W, t))) < 1e-25
               for t in (-3, -sp.Rational(1, 7), sp.Rational(2, 5), 4))
    w = rep.implicit_limit(P5)
    oracle = [0.179015, 0.262793, -0.366696, -0.142592, 0.110912]
    assert np.max(np.abs(w - oracle)) < 1e-6
    w_flow, _ = flow_limit(rep, P5)
    assert np.max(np.abs(w_flow - w)) < 1e-8


def test_alpha_sweep_moves_from_min_l1_to_min_l2():
    rows = alpha_sweep("up^2 - um^2", P5, alphas=(1e-3, 10.0))
    assert all(r["distance"] < 1e-7 for r in rows)                 # flow = derived argmin
    assert np.max(np.abs(rows[0]["argmin"] - [0.00479, 0.16535, -0.66465, -0.00028, 0.00014])) < 1e-5
    assert np.max(np.abs(rows[1]["argmin"] - np.linalg.pinv(P5.X) @ P5.y)) < 1e-6
    assert rows[0]["l1"] < rows[1]["l1"] and rows[0]["l2"] > rows[1]["l2"]


def test_user_reparam_u3_plus_u_mirror_flow_matches_u_flow():
    rep = Reparametrization.parse("u^3 + u", alpha=0.5)
    assert rep.inverse is None and sp.simplify(rep.hess_expr - 1 / (3 * sp.Symbol("u", real=True) ** 2 + 1) ** 2) == 0
    psi = rep.potential
    ts = np.linspace(0, 3, 13)
    u_path = solve_ivp(lambda t, u: -rep.u_gradient(u, P3), (0, 3), rep.u_start(3), t_eval=ts,
                       method="DOP853", rtol=1e-13, atol=1e-14).y.T
    w_path = solve_ivp(lambda t, w: rep.mirror_velocity(w, P3), (0, 3), rep.w_of(rep.u_start(3)),
                       t_eval=ts, method="DOP853", rtol=1e-13, atol=1e-14).y.T
    assert np.max(np.abs(rep.w_of(u_path) - w_path)) < 1e-8
    # the mirror coordinate moves in range(Xᵀ) and the limit is the Bregman projection
    N = P3.null_basis()
    assert np.abs((psi.grad(w_path) - psi.grad(w_path[0])) @ N).max() < 1e-9
    w_flow, _ = flow_limit(rep, P3)
    assert np.max(np.abs(w_flow - rep.implicit_limit(P3))) < 1e-8


def test_discrete_gd_on_u_moves_with_h():
    rep = Reparametrization.parse("u^2", alpha=0.5)
    w_star = rep.implicit_limit(P3)
    gaps = [np.max(np.abs(gd_limit(rep, P3, h)[0] - w_star)) for h in (0.1, 0.05)]
    assert gaps[0] > gaps[1] > 1e-6                                 # O(h), not 0


def test_bad_reparametrizations():
    with pytest.raises(InputError, match="unknown name .v."):
        Reparametrization.parse("v^2")
    with pytest.raises(InputError, match="alpha must be a positive"):
        Reparametrization.parse("u^2", alpha=-1)
    with pytest.raises(InputError, match="not strictly monotone"):
        Reparametrization.parse("u^3 - u", alpha=2)


def test_depth_three_one_branch_potential_and_limit():
    rep = Reparametrization.parse("u^3", alpha=0.5)
    assert sp.simplify(rep.hess_expr - 1 / (9 * W ** sp.Rational(4, 3))) == 0   # 1/φ′(φ⁻¹(w))²
    assert np.max(np.abs(flow_limit(rep, P3)[0] - rep.implicit_limit(P3))) < 1e-8


def test_two_branch_without_closed_form_is_refused_by_name():
    with pytest.raises(InputError, match=r"could not solve w = φ\(u₊\) − φ\(u₋\).*u\*\*3"):
        Reparametrization.parse("up^3 - um^3", alpha=0.5)


def test_sgd_row_batches_keep_the_span():
    r = ib.implicit_bias("sgd", P3, h=0.1)
    assert r.invariant.exists and r.invariant.symbolic == "proved" and r.distance < 1e-9
