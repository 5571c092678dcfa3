"""``--budget`` on every subcommand: validated, one budget passed through every phase,
exit status 2 with one line saying what to try; the order-8 output paths are cheap."""
import json
import time

import pytest

from ibsym.cli import COMMANDS, main
from ibsym.core.budget import Budget, parse_budget
from ibsym.core.errors import BudgetExceeded, InputError

UV = ["--loss", "(u*v-1)**2/2", "--params", "u v"]
ADAM = ["--hyper", "beta=0.5", "--hyper", "rho=0.6", "--hyper", "eps=0.2"]


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("command", COMMANDS)
def test_every_subcommand_has_budget(capsys, command):
    code, out, _ = run(capsys, command, "--help")
    assert code == 0 and "--budget SECONDS" in out


MINIMAL = {
    "derive": ["derive", "gd", "--order", "1"],
    "verify": ["verify", "gd", "--loss", "x^2/2", "--params", "x", "--init", "x=1"],
    "zeta": ["zeta", "--weight", "normal(0, 1)", "--bias", "normal(0, 1)"],
    "spectral": ["spectral", "--depth", "2", "--target", "1", "--sigma0", "0.1", "--t", "1"],
    "reproduce": ["reproduce", "--list"],
}


@pytest.mark.parametrize("command", sorted(MINIMAL))
@pytest.mark.parametrize("bad", ["-5", "0", "nan", "inf", "-inf", "soon", ""])
def test_bad_budget_is_refused_before_any_work(capsys, tmp_path, monkeypatch, command, bad):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, *MINIMAL[command], f"--budget={bad}")
    assert code == 2 and out == ""
    expected = ("--budget needs a value" if not bad else
                "--budget must be a positive number of seconds")   # empty: refused for any option
    assert err.count("\n") == 1 and expected in err
    assert "Traceback" not in err and not list(tmp_path.iterdir())


def test_tiny_budget_stops_adam_with_what_to_try(capsys):
    code, out, err = run(capsys, "derive", "adam", "--order", "6", *UV, "--budget", "0.5")
    assert code == 2 and out == ""
    assert err.count("\n") == 1
    assert err.startswith("ibsym derive: exceeded the time budget of 0.5 s while ")
    assert "lower --order" in err and "raise --budget" in err


def test_tiny_budget_stops_verify(capsys):
    code, out, err = run(capsys, "verify", "adam", "--order", "6", *UV, *ADAM,
                         "--init", "u=0.3,v=1.7", "--T", "0.5",
                         "--steps", "0.01,0.005,0.0025,0.00125", "--budget", "0.5")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "exceeded the time budget of 0.5 s" in err and "raise --budget" in err


def test_order_eight_json_carries_the_gradient_answers(capsys):
    code, out, err = run(capsys, "derive", "gd", "--order", "8", *UV, "--at", "u=0.5,v=1.5",
                         "--h", "0.01", "--format", "json", "--budget", "60")
    assert code == 0, err
    d = json.loads(out)
    assert [g["is_gradient"] for g in d["gradient_analysis"]] == [True, True] + [False] * 7
    assert all(g["within_budget"] for g in d["gradient_analysis"])
    assert d["modified_loss"]["valid_order"] == 1
    assert d["terms"][8] == pytest.approx([15.280103383745466, 1.5932658271184044])


@pytest.mark.parametrize("fmt", ["text", "latex"])
def test_order_eight_text_and_latex_finish(capsys, fmt):
    code, out, err = run(capsys, "derive", "gd", "--order", "8", *UV, "--at", "u=0.5,v=1.5",
                         "--h", "0.01", "--format", fmt, "--budget", "60")
    assert code == 0, err
    if fmt == "text":
        assert "order 8: NOT a gradient field" in out and "L̃ = " in out
    else:
        assert r"\tilde L = " in out and "F_{8} = " in out


def test_parse_budget():
    assert parse_budget("0.25") == 0.25 and parse_budget(3) == 3.0
    for bad in ("-1", "0", "nan", "inf", "x", None):
        with pytest.raises(InputError, match="positive number of seconds"):
            parse_budget(bad)


def test_share_never_outlives_its_parent():
    b = Budget(10.0)
    assert b.share(0.5).deadline <= b.start + 5.0 + 1.0
    assert b.share(seconds=100).deadline == b.deadline
    assert b.share(0.5).total == 10.0            # messages quote the user's figure


def test_enforce_interrupts_code_that_never_checks():
    # a loop that never calls check(): the real-time backstop stops it at the deadline
    b = Budget(0.2, advice="try less")
    t0 = time.monotonic()
    with pytest.raises(BudgetExceeded, match="time budget of 0.2 s while spinning; try less"):
        with b.enforce(grace=0.0):
            b.where = "spinning"
            while time.monotonic() - t0 < 60:     # bounded: fails instead of hanging
                pass
            pytest.fail("the backstop did not fire")


def test_enforce_restores_an_outer_alarm():
    import signal
    outer = Budget(30.0)
    with outer.enforce():
        before = signal.getitimer(signal.ITIMER_REAL)[0]
        with Budget(5.0).enforce():
            pass
        after = signal.getitimer(signal.ITIMER_REAL)[0]
        assert 0 < after <= before                # the outer backstop is still armed
    assert signal.getitimer(signal.ITIMER_REAL)[0] == 0
