"""A result whose verification fails, is partial or belongs to another problem is never exported
as verified (issue 9 item 3)."""
import dataclasses
import json

import pytest

import ibsym as ib
from ibsym.core import export
from ibsym.core.errors import InputError


@pytest.fixture(scope="module")
def eq_rep():
    eq = ib.modified_equation("gd", ib.losses.bilinear(), order=2)
    rep = ib.verify(eq, {"a": 0.3, "b": 1.7}, T=1.0, steps=[0.04, 0.02, 0.01])
    assert rep.passed
    return eq, rep


def _exported(eq, tmp_path):
    paths = export.write(eq, tmp_path / "eq", formats=("json", "tex"))
    return json.loads(paths[0].read_text()), paths[1].read_text()


def test_a_passed_verification_is_exported_as_verified(eq_rep, tmp_path):
    eq, rep = eq_rep
    d, tex = _exported(eq.with_verification(rep), tmp_path)
    assert d["verified"] is True and d["verification_status"] == "passed"
    assert "Verification PASSED" in tex and "NOT VERIFIED" not in tex


def test_a_failed_verification_is_kept_but_never_called_verified(eq_rep, tmp_path):
    eq, rep = eq_rep
    failed = dataclasses.replace(rep, slopes=(1.0, 1.2, 3.0))      # order 1 off by 0.8
    v = eq.with_verification(failed)
    assert not v.verified and v.verification_status == "failed"
    d, tex = _exported(v, tmp_path)
    assert d["verified"] is False and d["verification_status"] == "failed"
    assert d["verification"]["passed"] is False
    assert "NOT VERIFIED" in tex and "Verification FAILED" in tex


def test_a_verification_of_fewer_orders_is_partial_not_verified(eq_rep, tmp_path):
    eq, _ = eq_rep
    rep01 = ib.verify(eq, {"a": 0.3, "b": 1.7}, T=1.0, steps=[0.04, 0.02, 0.01], orders=(0, 1))
    v = eq.with_verification(rep01)
    assert rep01.passed and not v.verified and v.verification_status == "partial"
    d, tex = _exported(v, tmp_path)
    assert d["verified"] is False and "did not test every order up to 2" in tex
    assert eq.truncate(1).with_verification(rep01).verified


def test_a_verification_of_another_problem_is_refused(eq_rep):
    eq, rep = eq_rep
    other = ib.modified_equation("gd", ib.Loss.parse("(a*b - 2)**2/2", params="a b"), order=2)
    with pytest.raises(InputError, match="another problem: its loss"):
        other.with_verification(rep)
    with pytest.raises(InputError, match="another problem: its optimizer"):
        eq.with_verification(dataclasses.replace(rep, optimizer="heavy-ball"))
    with pytest.raises(InputError, match="beyond this result's order 1"):
        eq.truncate(1).with_verification(rep)
    assert eq.verification_status == "none" and not eq.verified
