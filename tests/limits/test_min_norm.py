"""Min-norm selection by GD, heavy ball, Nesterov (derived invariant) and Adam leaving the span."""
import numpy as np
import pytest
import sympy as sp

import ibsym as ib
from ibsym.core.errors import DivergenceError, InputError
from ibsym.limits.invariants import derive_invariant, run_optimizer
from ibsym.limits.problems import RegressionProblem, random_problem

X = [[1, 1, 1], [1, 2, 0]]
Y = [1, 10]
W0 = [1, -1, 2]
EXACT = sp.Matrix([sp.Rational(2, 3), sp.Rational(14, 3), sp.Rational(-13, 3)])


@pytest.mark.parametrize("name,hyper", [("gd", {}), ("heavy-ball", {"beta": 0.5}),
                                        ("nesterov", {"beta": 0.5}),
                                        ("nesterov-pytorch", {"beta": 0.3})])
def test_issue_instance_exact_min_norm(name, hyper):
    r = ib.implicit_bias(name, (X, Y), w0=W0, h=0.1, hyper=hyper)
    assert r.solution_exact == EXACT                       # exactly (2/3, 14/3, −13/3)
    assert r.invariant.exists and r.invariant.symbolic == "proved"
    assert r.invariant.numeric_defect < 1e-13
    assert r.converged and r.residual < 1e-10
    assert r.distance < 1e-9                               # ≥ 9 digits
    assert "argmin_w" in str(r) and r"\operatorname*{argmin}" in r.to_latex()
    assert r.to_dict()["solution_exact"] == ["2/3", "14/3", "-13/3"]
    # KKT conditions hold at the exact solution with some λ
    lam = sp.symbols("lambda_1:3", real=True)
    sub = dict(zip(r.w, EXACT))
    sol = sp.solve([e.lhs.subs(sub) - e.rhs.subs(sub) for e in r.kkt], lam, dict=True)
    assert len(sol) == 1


@pytest.mark.parametrize("name,hyper", [("gd", {}), ("heavy-ball", {"beta": 0.5})])
def test_closed_form_iterates_equal_the_loop(name, hyper):
    r = ib.implicit_bias(name, (X, Y), w0=W0, h=0.1, hyper=hyper)
    opt = ib.get_optimizer(name, **hyper)
    _, _, rec = run_optimizer(opt, r.problem, np.array(W0, float), 0.1, max_steps=60, record=60,
                              tol=-1.0)
    for k in (0, 1, 7, 60):
        assert np.max(np.abs(r.closed_form_iterate(k) - rec[k])) < 1e-12


def test_gd_linear_part_is_traced_from_the_rule():
    inv = derive_invariant(ib.get_optimizer("gd"), RegressionProblem(X, Y), W0, 0.1)
    h = sp.Symbol("h", positive=True)
    Xe = sp.Matrix(X)
    assert inv.affine and sp.simplify(inv.linear_part - (sp.eye(3) - h * Xe.T * Xe)) == sp.zeros(3)


def test_adam_has_no_invariant_and_leaves_the_span():
    r = ib.implicit_bias("adam", (X, Y), w0=[0, 0, 0], h=0.01,
                         hyper={"beta": 0.9, "rho": 0.99, "eps": 1e-8})
    assert not r.invariant.exists and r.invariant.symbolic == "fails"
    assert r.invariant.numeric_defect > 0.05
    assert r.objective is None and r.solution is None and not r.invariant.affine
    assert r.converged                                    # it interpolates …
    mn, _ = ib.limits.implicit.min_norm_solution(r.problem, [0, 0, 0])
    assert np.linalg.norm(r.measured - mn) > 0.5          # … but not at the min-norm point
    with pytest.raises(InputError, match="not affine"):
        r.closed_form_iterate(3)


def test_two_algorithms_same_point_from_zero_random_instance():
    p = random_problem(3, 7, seed=4)
    a = ib.implicit_bias("gd", p)
    b = ib.implicit_bias("nesterov", p, hyper={"beta": 0.7}, h=0.3 / p.lambda_max)
    assert np.linalg.norm(a.measured - b.measured) < 1e-9
    assert np.linalg.norm(a.measured - np.linalg.pinv(p.X) @ p.y) < 1e-9
    assert a.solution_exact is None                      # float data: no exact form claimed


def test_bad_problems_are_refused():
    with pytest.raises(InputError, match="dependent rows"):
        RegressionProblem([[1, 2, 3], [2, 4, 6]], [1, 2])
    with pytest.raises(InputError, match="not in the range"):
        RegressionProblem([[1, 2, 3], [2, 4, 6]], [1, 3])
    with pytest.raises(InputError, match="y has 3 entries"):
        RegressionProblem(X, [1, 2, 3])
    with pytest.raises(InputError, match="under-determined"):
        random_problem(5, 3)


def test_divergent_step_is_a_clear_error():
    p = RegressionProblem(X, Y)
    with pytest.raises(DivergenceError, match=r"diverged at h=0.5 .*2/λ_max\(XᵀX\) = 0.279"):
        ib.implicit_bias("gd", p, h=0.5)
