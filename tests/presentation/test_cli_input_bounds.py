"""Command-line input bounds (issue 9 item 6 and "Tracebacks where a message belongs",
issue 17 item 8): every bad input is one line on stderr, exit status 2, nothing written."""
from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import ibsym as ib
from ibsym.cli import main
from ibsym.core.errors import InputError

LOSS = ["--loss", "(a*b-1)**2/2", "--params", "a b"]
VERIFY = ["verify", "gd", *LOSS, "--init", "a=0.3,b=1.7", "--order", "1"]


@contextlib.contextmanager
def within(seconds: float):
    def expired(signum, frame):
        raise TimeoutError(f"took longer than {seconds} s")
    old = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def run_bad(argv, capsys, tmp_path, monkeypatch, seconds=10):
    monkeypatch.chdir(tmp_path)
    with within(seconds):
        code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2, (argv, code, err)
    assert err.count("\n") == 1 and err.startswith("ibsym"), err
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []
    return err


@pytest.mark.parametrize("extra, match", [
    (["--steps", "inf"], '--steps: expected a finite number, got "inf"'),
    (["--steps", "0.01,nan"], "finite number"),
    (["--T", "inf"], '--T: expected a finite number, got "inf"'),
    (["--T", "1e999"], "floating-point range"),
    (["--T=-1"], "--T must be positive"),
    (["--T", "0"], "--T must be positive"),
    (["--T", "10**10**10"], "exponent too large"),
    (["--T", "1e6"], "optimizer steps .* the limit is 200,000"),
    (["--steps", "1e-300,2e-300"], "the limit is 200,000"),
    (["--steps", "10**10**10,0.01"], "exponent too large"),
    (["--steps", "0.01,0.01,0.005"], "step size 0.01 is given twice"),
    (["--steps", "0.02,1/50"], "given twice"),
    (["--steps", "0.01,,0.005"], "empty entry"),
    (["--steps", "0.01"], "at least two step sizes"),
    (["--steps", "0.01,-0.005"], "must be positive"),
    (["--plot", "nodir/orders.png"], "folder nodir does not exist"),
    (["--plot", "orders.xyz"], "unknown figure format 'xyz'"),
    (["--plot", "a" * 300 + ".png"], "File name too long"),
])
def test_verify_refuses_bad_numbers_and_outputs_before_running(extra, match, capsys, tmp_path,
                                                               monkeypatch):
    err = run_bad([*VERIFY, *extra], capsys, tmp_path, monkeypatch)
    assert re.search(match, err), err


@pytest.mark.parametrize("init, match", [
    ("a=10**10**10,b=1", "exponent too large"),
    ("a=10**400,b=1", "floating-point range"),
    ("a=1e999999,b=1", "floating-point range"),
    ("a=inf,b=1", "finite number"),
    ("a=sqrt(-1),b=1", "not a finite real number"),
])
def test_verify_refuses_bad_initial_values(init, match, capsys, tmp_path, monkeypatch):
    argv = ["verify", "gd", *LOSS, "--init", init, "--order", "1"]
    assert match in run_bad(argv, capsys, tmp_path, monkeypatch)


def test_plot_into_a_folder_is_refused(capsys, tmp_path, monkeypatch):
    (tmp_path / "figs.png").mkdir()
    monkeypatch.chdir(tmp_path)
    assert main([*VERIFY, "--plot", "figs.png"]) == 2
    assert "is a folder" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["figs.png"]


def test_verify_api_refuses_duplicate_infinite_and_too_long_ladders():
    eq = ib.modified_equation("gd", ib.Loss.parse("(a*b-1)^2/2", "a b"), order=1)
    with pytest.raises(InputError, match="given twice"):
        ib.verify(eq, {"a": 0.3, "b": 1.7}, steps=[0.01, 0.01, 0.005])
    with pytest.raises(InputError, match="positive finite number"):
        ib.verify(eq, {"a": 0.3, "b": 1.7}, T=float("inf"))
    with pytest.raises(InputError, match="positive finite step sizes"):
        ib.verify(eq, {"a": 0.3, "b": 1.7}, steps=[float("inf"), 0.01])
    with within(5), pytest.raises(InputError, match="375,000,000 optimizer steps"):
        ib.verify(eq, {"a": 0.3, "b": 1.7}, T=1e6, steps=[0.04, 0.02, 0.01, 0.005])
    with pytest.raises(InputError, match="6 optimizer steps .*the limit is 5 "):
        ib.verify(eq, {"a": 0.3, "b": 1.7}, T=1.0, steps=[0.5, 0.25], max_iterations=5)


@pytest.mark.parametrize("argv, match", [
    (["derive", "gd", "--loss", "-a*b", "--params", "a b"],
     'argument --loss: expected one argument; a value that starts with "-" must be attached '
     "to its option, e.g. --loss=-a*b"),
    (["derive", "gd", "--order", "two"], "argument --order: invalid int value: 'two'"),
    (["derive", "gd", "--format", "yaml"], "argument --format: invalid choice: 'yaml'"),
    (["derive", "gd", "--bogus"], "unrecognized arguments: --bogus"),
    (["derive"], "the following arguments are required: OPTIMIZER"),
    ([], "give a command"),
    (["nonsense"], "invalid choice: 'nonsense'"),
])
def test_argparse_errors_are_one_line_with_hints(argv, match, capsys, tmp_path, monkeypatch):
    err = run_bad(argv, capsys, tmp_path, monkeypatch)
    assert match in err
    assert "usage:" not in err


def test_attached_negative_loss_works(capsys):
    assert main(["derive", "gd", "--order", "1", "--loss=-a*b", "--params", "a b"]) == 0
    assert "a*b" in capsys.readouterr().out


def _ibsym(*args: str) -> list[str]:
    return [sys.executable, "-c", "import sys; from ibsym.cli import main; sys.exit(main())",
            *args]


def test_broken_pipe_ends_quietly(tmp_path):
    """``ibsym derive ... | head -c 1``: no BrokenPipeError traceback, status 141."""
    argv = _ibsym("derive", "gd", "--order", "6", *LOSS, "--format", "json")
    for _ in range(2):
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
        proc.stdout.read(1)
        proc.stdout.close()        # the reader goes away before the output is written
        err = proc.stderr.read().decode()
        proc.stderr.close()
        code = proc.wait(timeout=60)
        assert "Traceback" not in err and "BrokenPipe" not in err, err
        assert code in (0, 141)
    r = subprocess.run(f"{' '.join(map(repr, _ibsym('derive', '--help')))} | head -c 10",
                       shell=True, capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert "Traceback" not in r.stderr and "BrokenPipe" not in r.stderr


def test_broken_pipe_status_is_141_when_the_pipe_is_closed_first(tmp_path):
    r, w = os.pipe()
    os.close(r)                    # nobody will ever read
    proc = subprocess.run(_ibsym("derive", "gd", "--order", "3"), stdout=w,
                          stderr=subprocess.PIPE, cwd=tmp_path, timeout=60)
    os.close(w)
    assert proc.returncode == 141
    assert proc.stderr == b""


@pytest.mark.parametrize("argv, match", [
    (["derive", "heavy-ball", "--order", "1", *LOSS, "--hyper", "beta=0.1", "--hyper", "beta=0.2"],
     "hyper-parameter 'beta' is given twice"),
    (["derive", "heavy-ball", "--order", "1", *LOSS, "--hyper", "beta=0.1,beta=0.2"],
     "given twice"),
    (["derive", "adam", "--order", "1", *LOSS, "--hyper", "eps=-1"], "must be positive"),
    (["derive", "gd", "--order", "1", "--loss", "10**10**10*a", "--params", "a"],
     "exponent too large"),
    (["derive", "gd", "--order", "1", "--loss", "2**65536*a", "--params", "a"],
     "exponent too large"),
    (["derive", "gd", "--order", "1", "--loss", "1e999999*a", "--params", "a"],
     "floating-point range"),
    (["derive", "gd", "--order", "1", "--loss", "0**-1*a", "--params", "a"],
     "not a finite real number"),
    (["derive", "gd", "--order", "1", "--loss", "+".join(["a"] * 1000) + "+" + "**".join(["a"] * 400),
      "--params", "a"], "nested too deeply"),
    (["derive", "gd", "--order", "1", "--loss", "sin(" * 198 + "a" + ")" * 198, "--params", "a"],
     "nested too deeply"),
    (["derive", "gd", "--order", "1", "--loss", "a^2", "--params", "a", "--at", "a=1",
      "--h", "10**10**10"], "exponent too large"),
    (["derive", "gd", "--order", "1", "--loss", "a^2", "--params", "a", "--at", "a=1",
      "--h", "inf"], "finite number"),
    (["zeta", "--weight", "normal(0, 1)", "--bias", "normal(0, 1)", "--timeout", "nan"],
     "--timeout must be a finite real number"),
    (["zeta", "--weight", "normal(0, 1)", "--bias", "normal(0, 1)", "--timeout", "-1"],
     "--timeout must be positive"),
    (["zeta", "--weight", "normal(0, 1)", "--bias", "normal(0, 1)", "--at", "1e999"],
     "floating-point range"),
    (["spectral", "--depth", "3", "--target", "1", "--sigma0", "0.2", "--t", "1e6", "--h", "0.05"],
     "GD steps; the limit is 1,000,000"),
    (["spectral", "--depth", "3", "--target", "1", "--sigma0", "0.2", "--t", "2", "--h", "1e-300"],
     "GD steps; the limit is 1,000,000"),
])
def test_other_commands_refuse_bad_numbers_quickly(argv, match, capsys, tmp_path, monkeypatch):
    assert match in run_bad(argv, capsys, tmp_path, monkeypatch)


@pytest.mark.parametrize("loss, at, match", [
    ("sqrt(a)", "a=-1", "F_0 (component a) at a=-1 is complex: 0.5*I"),
    ("log(a)", "a=0", "F_0 (component a) at a=0 is zoo, not a finite real number"),
    ("1/a", "a=0", "is zoo"),
    ("sqrt(a) + b^2", "a=-1/4,b=1", "complex"),
])
def test_derive_at_a_singular_or_complex_point_is_refused(loss, at, match, capsys, tmp_path,
                                                          monkeypatch):
    params = "a b" if "b" in at else "a"
    argv = ["derive", "gd", "--order", "1", "--loss", loss, "--params", params, "--at", at]
    assert match in run_bad(argv, capsys, tmp_path, monkeypatch)


def test_evaluate_refuses_complex_values_in_the_api():
    eq = ib.modified_equation("gd", ib.Loss.parse("sqrt(a)", "a"), order=1)
    with pytest.raises(InputError, match="complex"):
        eq.evaluate({"a": -1})
    assert eq.evaluate({"a": 4})["terms"][0] == [-0.25]
