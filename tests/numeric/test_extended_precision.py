"""Extended precision in the verifier (issue 16, item 4): when float64 cannot give three
points above its floor, verify measures those orders with mpmath iterates and fixed-point
flows and says so; a given ladder on the floor is named in a warning, never fitted."""
from __future__ import annotations

import json

import numpy as np
import pytest

import ibsym as ib
from ibsym.core.errors import InputError
from ibsym.numeric.extended import FixedPointTerms, bits_for, mp_iterate
from ibsym.numeric.kernels import compile_terms, iterate

START = [0.3, 1.7]


@pytest.fixture(scope="module")
def gd8():
    return ib.modified_equation("gd", ib.Loss.parse("(a*b - 1)**2/2", "a b"), order=8)


def test_fixed_point_terms_and_mp_iterates_agree_with_float64():
    eq = ib.modified_equation("gd", ib.Loss.parse("exp(a*b)/4 + (a - b)**2/2", "a b"), order=4)
    F = FixedPointTerms(eq, bits_for(30))
    pts = np.array([[0.3, -0.7], [1.7, 0.4]])                 # mixed-sign point included
    got = F.to_float(F(F.to_fixed(pts)))
    ref = compile_terms(eq)(pts)
    assert np.max(np.abs(got - ref)) < 1e-12 * np.max(np.abs(ref))
    it = mp_iterate(eq, START, 0.05, 20, 30)
    assert np.max(np.abs(np.array(it, float) - iterate(eq.optimizer, eq.loss, START, 0.05, 20))) \
        < 1e-14


def test_no_float64_ladder_uses_extended_precision_and_says_so(gd8):
    with pytest.raises(InputError, match="no float64 step ladder measures order 8"):
        ib.verify(gd8, START, T=0.2, precision="float64")
    rep = ib.verify(gd8, START, T=0.2)
    assert rep.passed, rep
    assert all(abs(s - (k + 1)) <= 0.15 for k, s in enumerate(rep.slopes)), rep.slopes
    assert rep.precision == "extended"
    note = [n for n in rep.notes if n.startswith("extended precision (mpmath")]
    assert len(note) == 1 and "32 digits" in note[0] and "float64 floor" in note[0]
    assert "8" in note[0].split("for orders")[1].split("because")[0]
    for errs in rep.errors:                          # >= 3 points above the floor it used
        assert sum(e > rep.floor for e in errs) >= 3
    assert min(rep.errors[8]) < 1e-15                # below anything float64 can resolve
    assert json.loads(rep.to_json())["precision"] == "extended"


def test_a_given_ladder_on_the_floor_is_named_in_one_warning(gd8):
    rep = ib.verify(gd8, START, steps=[0.04, 0.02, 0.01, 0.005])
    lost = [k for k, s in zip(rep.orders, rep.slopes) if s is None]
    assert 7 in lost and 8 in lost
    w = [w for w in rep.warnings if "hit the float64 floor" in w]
    assert len(w) == 1
    assert f"orders {', '.join(map(str, lost))} hit" in w[0]
    assert "--precision extended" in w[0] and "never one fitted to round-off" in w[0]
    assert rep.precision == "float64"


@pytest.mark.slow                   # ~70 s: orders 3-8 in extended precision, 375 steps
def test_extended_precision_on_a_given_ladder_measures_the_orders_on_the_floor(gd8):
    rep = ib.verify(gd8, START, steps=[0.04, 0.02, 0.01, 0.005], precision="extended")
    assert rep.step_sizes == (0.04, 0.02, 0.01, 0.005)
    assert all(s is not None for s in rep.slopes)
    assert abs(rep.slopes[7] - 8) <= 0.15 and abs(rep.slopes[8] - 9) <= 0.15, rep.slopes
    assert not any("not measurable" in w for w in rep.warnings)
    assert "precision='extended'" in rep.notes[-1]


def test_bad_precision_is_refused(gd8):
    with pytest.raises(InputError, match="precision must be"):
        ib.verify(gd8, START, precision="quad")


@pytest.mark.slow
def test_heavy_ball_order_6_verifies_by_default_with_extended_precision():
    # float64: the ladder sits on the floor and orders 5-6 fit 6.16, 7.17 (fail)
    eq = ib.modified_equation("heavy-ball", ib.Loss.parse("(a*b - 1)**2/2", "a b"), order=6,
                              hyper={"beta": 0.5})
    rep = ib.verify(eq, START)
    assert rep.passed and rep.precision == "extended"
    assert all(abs(s - (k + 1)) <= 0.1 for k, s in enumerate(rep.slopes)), rep.slopes
    assert any("float64 jets" in n for n in rep.notes)


BILINEAR, TRANSCENDENTAL = "(a*b - 1)**2/2", "exp(a*b)/4 + (a - b)**2/2"


def _memory_eq(opt, loss, order):
    return ib.modified_equation(opt, ib.Loss.parse(loss, "a b"), order=order,
                                hyper={"beta": 0.5})


def test_extended_flows_take_long_steps_before_the_window_and_measure_the_same_errors(
        monkeypatch):
    # before [T/2, T] the flows need not stop at every iterate time: the errors in the
    # window are the same up to the integrator's tolerance
    from ibsym.numeric import extended
    calls = []
    real = extended.integrate_fixed

    def counted(F, y0, W, H, n_steps, **kw):
        calls.append(n_steps)
        return real(F, y0, W, H, n_steps, **kw)

    monkeypatch.setattr(extended, "integrate_fixed", counted)
    eq = _memory_eq("heavy-ball", TRANSCENDENTAL, 3)
    steps = [0.02, 0.01, 0.005]
    reps, work = [], []
    for pre in (10 ** 9, 4):
        monkeypatch.setattr(extended, "EXTENDED_PRE_STEPS", pre)
        calls.clear()
        reps.append(ib.verify(eq, [-0.4, 0.6], T=0.5, steps=steps, precision="extended"))
        work.append(sum(calls))
    every, few = (np.array(r.errors) for r in reps)
    assert reps[1].precision == "extended"
    assert np.allclose(few, every, rtol=1e-6, atol=0), few / every
    assert reps[0].slopes == pytest.approx(reps[1].slopes, abs=1e-6)
    # output intervals: n = 25, 50, 100 iterates (50 + 25 in the window, …) -> the part
    # before T/2 in at most 4 (+1) steps
    assert work[0] == 25 + 50 + 100
    assert work[1] <= (13 + 26 + 51) + 3 * 5, work


def test_nesterov_order_7_verifies_by_default_with_extended_precision():
    eq = _memory_eq("nesterov", BILINEAR, 7)
    rep = ib.verify(eq, START)
    assert rep.passed and rep.precision == "extended", rep.table()
    assert all(abs(s - (k + 1)) <= 0.15 for k, s in enumerate(rep.slopes)), rep.slopes


@pytest.mark.slow                   # 10-60 s CPU each (derivation, jets, mpmath iterates)
@pytest.mark.parametrize("opt", ["heavy-ball", "nesterov"])
@pytest.mark.parametrize("loss", [BILINEAR, TRANSCENDENTAL])
def test_memory_optimizers_verify_order_8_by_default(opt, loss):
    eq = _memory_eq(opt, loss, 8)
    rep = ib.verify(eq, START)
    assert rep.passed, rep.table()
    assert all(abs(s - (k + 1)) <= 0.15 for k, s in enumerate(rep.slopes)), rep.slopes
