"""The modified flow of GD on w = u∘u predicts the finite-step limit: error O(h^{k+1})."""
import pytest

from ibsym.core.errors import InputError
from ibsym.limits.bridge import limit_orders, reparam_loss
from ibsym.limits.problems import RegressionProblem
from ibsym.limits.reparam import Reparametrization

P3 = RegressionProblem([[1, 1, 1], [1, 2, 0]], [1, 1.2])


def test_reparam_loss_text():
    loss = reparam_loss(Reparametrization.parse("u^2", alpha=0.5), P3)
    assert str(loss.expr) == "(u0**2 + 2*u1**2 - 6/5)**2/2 + (u0**2 + u1**2 + u2**2 - 1)**2/2"


def test_modified_flow_limit_orders():
    r = limit_orders(Reparametrization.parse("u^2", alpha=0.5), P3, [0.04, 0.02, 0.01, 0.005],
                     orders=(0, 1))
    assert abs(r["slopes"][0] - 1) < 0.1          # gradient flow: O(h)
    assert abs(r["slopes"][1] - 2) < 0.1          # order-1 modified flow: O(h²)
    assert all(e1 < e0 / 4 for e0, e1 in zip(r["errors"][0], r["errors"][1]))


def test_non_polynomial_phi_refused():
    with pytest.raises(InputError, match="polynomial"):
        reparam_loss(Reparametrization.parse("exp(u)", alpha=0.5), P3)
