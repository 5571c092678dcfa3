import json

import numpy as np
import pytest

import ibsym as ib
from ibsym.core.errors import InputError

STEPS = [0.04, 0.02, 0.01, 0.005]
LOSSES = {
    "bilinear": ib.losses.bilinear(),
    "logcosh": ib.losses.log_cosh_regression(),
    "trig-exp": ib.Loss.parse("sin(a)*cos(b) + exp(-a*b)/2 + (a^2 + b^2)/4", "a b"),
}


@pytest.mark.parametrize("name", list(LOSSES))
def test_slopes_of_orders_zero_to_three(name):
    eq = ib.modified_equation("gd", LOSSES[name], order=3)
    rep = ib.verify(eq, {"a": 0.3, "b": 1.7}, T=1.0, steps=STEPS)
    for k, s in zip(rep.orders, rep.slopes):
        assert abs(s - (k + 1)) <= 0.15, (name, k, s)
    assert rep.passed
    # tolerances sit far below the smallest error
    assert rep.rtol <= 2e-3 * min(min(r) for r in rep.errors)
    assert rep.margin >= 500
    assert rep.errors[0][0] > rep.errors[1][0] > rep.errors[2][0] > rep.errors[3][0]


def test_report_json_schema_and_verified_flag():
    eq = ib.modified_equation("gd", LOSSES["bilinear"], order=1)
    rep = ib.verify(eq, [0.3, 1.7], steps=STEPS)
    d = json.loads(rep.to_json())
    assert d["schema"] == "ibsym/verification" and d["step_sizes"] == STEPS
    assert [r["order"] for r in d["results"]] == [0, 1]
    assert all(len(r["errors"]) == 4 for r in d["results"])
    assert d["integrator"]["method"] == "DOP853"
    assert not eq.verified and eq.with_verification(rep).verified
    assert json.loads(eq.with_verification(rep).to_json())["verified"] is True


def test_divergent_step_is_reported_not_tabulated():
    loss = ib.Loss.parse("5*x^2 + y^2/2", "x y")
    eq = ib.modified_equation("gd", loss, order=1)
    rep = ib.verify(eq, {"x": 1.0, "y": 1.0}, T=20.0, steps=[0.25, 0.1, 0.05, 0.025])
    bad = [o for o in rep.outcomes if o["status"] == "diverged"]
    assert len(bad) == 1 and bad[0]["h"] == 0.25
    assert "2/λ_max" in bad[0]["message"] and "0.2" in bad[0]["message"]
    assert np.isnan(rep.errors[0][0])
    assert "diverged" in str(rep)


@pytest.mark.parametrize("kwargs, msg", [
    ({"steps": [0.03, 0.02]}, "does not divide"),
    ({"T": -1.0}, "positive"),
    ({"steps": [0.1]}, "at least two"),
    ({"orders": [5]}, "orders must lie"),
])
def test_bad_verification_input(kwargs, msg):
    eq = ib.modified_equation("gd", LOSSES["bilinear"], order=1)
    with pytest.raises(InputError, match=msg):
        ib.verify(eq, {"a": 0.3, "b": 1.7}, **kwargs)
    with pytest.raises(InputError, match="missing b"):
        ib.verify(eq, {"a": 0.3})


def test_verify_report_repr_latex_is_its_table_with_slopes_and_verdicts():
    """Jupyter shows a report as a LaTeX array: orders x step sizes, fitted and expected slopes."""
    from ibsym.numeric.verify import VerifyReport
    r = VerifyReport("gd", "L", ("x", "y"), (1.0, -0.5), 2.0, (0.1, 0.05, 0.025), (1, 2),
                     ((1e-2, 2.5e-3, 6.25e-4), (1e-3, float("nan"), 1e-4)), (2.0, 1.25), (2, 3),
                     (), 1e-12, 1e-12, 1e-9, 0.0, 0.1)
    tex = r._repr_latex_()
    assert tex.startswith("$\\displaystyle \\begin{array}{c|ccc|cc}") and tex.endswith("\\end{array}$")
    assert "h=0.1 & h=0.05 & h=0.025 & \\text{slope} & \\text{expected}\\\\ \\hline" in tex
    rows = tex.split("\\hline ")[1].removesuffix("\\end{array}$").split("\\\\ ")
    assert rows[0] == "1 & 1.00\\cdot 10^{-2} & 2.50\\cdot 10^{-3} & 6.25\\cdot 10^{-4} & 2.000 & 2\\ \\text{ok}"
    assert rows[1] == "2 & 1.00\\cdot 10^{-3} & - & 1.00\\cdot 10^{-4} & 1.250 & 3\\ \\text{FAIL}"
