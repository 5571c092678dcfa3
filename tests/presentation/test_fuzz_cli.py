"""Fuzz test of the command line (issue 9, "Tracebacks where a message belongs"; issue 17).

A seeded corpus of hostile and malformed strings -- huge numbers, power towers, deep
nesting, long sums, inf/nan, unicode, dunders, ``__import__``, lambdas, attribute access,
LaTeX, empty and blank strings, binary junk, plus generated mutants -- is fed to *every*
option of ``derive``, ``verify``, ``zeta``, ``spectral`` and ``reproduce`` (the option list
is read from the argument parser, so a new option without a fuzz context fails the test)
and to every field of a rule file (name, hyper, state name and initial value, update
targets and expressions).  Each input must give exit status 2 with a one-line message on
stderr, no traceback, no file in the working folder, and finish within a few seconds.

The counts (inputs tried / clear exit-2 errors / tracebacks / hangs) are printed.
"""
from __future__ import annotations

import argparse
import functools
import io
import os
import random
import re
import signal
import subprocess
import sys
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

import ibsym.cli as cli
from ibsym.bea.optimizers import NAME_ALPHABET

SEED = 20261201
SECONDS = 5.0                    # per-input guard: CPU seconds (SIGPROF, so that the
WALL_SECONDS = 15.0              # budget's own SIGALRM backstop cannot cancel it), wall time
FUZZED_COMMANDS = ("derive", "verify", "zeta", "spectral", "reproduce", "limit", "eos", "card")

# --------------------------------------------------------------------------------------
# The corpus: every string here must be refused by every option it is given to.
HOSTILE = [
    # huge numbers and towers
    "10**10**10", "10^10^10", "2**65536", "9" * 5000, "1e999999", "-1e999", "1e309",
    "2**2**2**2**2", "(10**99)**10**3", "0**-1", "log(0)", "sqrt(-1)", "(-8)**(1/3)",
    "exp(1000)", "tan(pi/2)", "1/0", "sin(exp(exp(100)))",
    "**".join(["a"] * 400), "**".join(["2"] * 50),
    # nesting and size
    "(" * 300 + "1" + ")" * 300, "sin(" * 198 + "a" + ")" * 198, "-" * 5000 + "1",
    "+".join(["a"] * 6000), "a+(" * 150 + "a" + ")" * 150, "[" * 100, "a" * 20000,
    # non-finite words
    "inf", "-inf", "nan", "NaN", "Infinity", "oo", "zoo",
    # code
    "__import__('os').system('touch CANARY')", "__import__", "__class__",
    "().__class__.__bases__[0].__subclasses__()", "(lambda: 0)()", "lambda x: x",
    "a.real", "np.exp(a)", "os.system('touch CANARY')", "open('CANARY', 'w')",
    "exec('1')", "eval('1')", "globals()", "[x for x in (1,)]", "{'a': 1}", "a[0]",
    "a if 1 else 0", "a < b", "f'{a}'", "b'abc'", "'text'", "...", "*a", "a; b",
    "a := 1", "await a", "yield a", "import os", "Symbol('x')", "sympify('1')",
    # LaTeX and shell
    "\\frac{a}{b}", "\\input{/etc/passwd}", "$a^2$", "}\\input{x}\\text{", "a \\\\ b",
    "$(touch CANARY)", "`touch CANARY`", "; rm -rf /", "| cat /etc/passwd", "%s%n%x",
    "{0}", "${HOME}",
    # unicode
    "α*β", "😀", "a\u200bb", "\u202ea", "ℵ", "a\u0301", "\ufeff1", "\u2028",
    # empty, blank, junk
    "", " ", "\t\n", "\x00", "a\x00b", "\x7f\x80\xff", "\x1b[31m", "\r", "#", "=", ",",
    "==", "a==b", "=1", ",,,", "()", ")", "(", "+", "**", "^", "/", "--", "-",
]

#: Appended to generated expressions; each makes any text invalid.
_POISON = [")", "[0]", ".__class__", "(lambda:0)", " if 1 else 0", "\x00", "**10**10**10",
           " and 1", "!", "@a", "'", "\\", "$", " lambda", "#)"]
_ATOMS = ["a", "b", "1", "0.5", "2", "pi", "E", "x", "h", "theta", "beta", "sin(a)", "exp(b)"]
_OPS = ["+", "-", "*", "/", "**", "^"]


def generated(rng: random.Random, count: int) -> list[str]:
    """Random well-formed-looking expressions, each spoiled by a poison."""
    out = []
    for _ in range(count):
        parts = [rng.choice(_ATOMS)]
        for _ in range(rng.randint(0, 6)):
            parts += [rng.choice(_OPS), rng.choice(_ATOMS)]
        text = "".join(parts)
        if rng.random() < 0.3:
            text = f"({text})"
        pos = rng.randint(0, len(text))
        poison = rng.choice(_POISON)
        out.append(text[:pos] + poison + text[pos:] if rng.random() < 0.5 else text + poison)
    return out


@functools.lru_cache(maxsize=1)
def corpus() -> tuple[str, ...]:
    rng = random.Random(SEED)
    return tuple(HOSTILE + generated(rng, 30))


def paths(setup: Path) -> list[str]:
    """Output paths that must be refused (folders under a file, missing folders ...)."""
    return ["", " ", "\x00", "a\x00b", str(setup / "afile"), str(setup / "afile" / "sub"),
            "/dev/null", "/proc/ibsym-fuzz", "x" * 300,
            str(setup / ("y" * 300) / "z")]


def figures(setup: Path) -> list[str]:
    return ["", "\x00", "x.xyz", "x.", "noext", ".png", str(setup / "nodir" / "x.png"),
            str(setup / "afile" / "x.png"), str(setup / "adir.png"), "z" * 300 + ".png"]


# --------------------------------------------------------------------------------------
# Where each option's value goes: a valid, fast command line with the fuzzed value in it.
LOSS = ["--loss", "(a*b-1)^2/2", "--params", "a b"]
BASE = {
    "derive": ["derive", "gd", "--order", "1", *LOSS],
    "verify": ["verify", "gd", *LOSS, "--init", "a=0.3,b=1.7", "--order", "1", "--T", "0.2",
               "--steps", "0.02,0.01"],
    "zeta": ["zeta", "--weight", "normal(0, 1)", "--bias", "normal(0, 1)"],
    "spectral": ["spectral", "--depth", "2", "--target", "1", "--sigma0", "0.01", "--t", "1"],
    "reproduce": ["reproduce", "barrett_dherin_2021_igr", "--quick", "--out", "out"],
    "limit": ["limit", "gd", "--problem", "random:3,6,0"],
    "eos": ["eos", "gd", "--eta", "0.5", "--data", "synthetic", "--n", "20", "--width", "4",
            "--steps", "20"],
    "card": ["card", "gd", "--problem", "random:2,3,0", "--max-steps", "2000"],
}


def _replace(argv: list[str], option: str, value: str) -> list[str]:
    """``argv`` with ``option``'s value set to ``value`` (appended if absent)."""
    argv = list(argv)
    if option in argv:
        i = argv.index(option)
        del argv[i:i + 2]
    return argv + [f"{option}={value}"]


def contexts(command: str, option: str, setup: Path) -> list[tuple[list[str], list[str]]]:
    """(argv template with ``{}`` for the value, values) for one option."""
    base = BASE[command]
    hostile = list(corpus())
    if option == "optimizer":
        return [(base[:1] + ["{}"] + base[2:], hostile + ["x.opt", str(setup / "afile")])]
    if option == "names":
        return [(["reproduce", "{}", "--quick", "--out", "out"], hostile)]
    if (command, option) == ("reproduce", "--out"):
        return [(["reproduce", "barrett_dherin_2021_igr", "--quick", "--out={}"], paths(setup))]
    if (command, option) == ("reproduce", "--derivations"):
        return [(["reproduce", "--list", "--derivations={}"],
                 [s for s in hostile if s.strip()] + [str(setup / "nodir")])]
    if option == "--plot":
        return [(_replace(base, "--plot", "{}"), hostile + figures(setup))]
    if option == "--batch":
        return [([command, "sgd", "--order", "1", "--params", "a b", "--batch", "(a*b-1)^2/2",
                  *(["--init", "a=0.3,b=1.7", "--T", "0.24", "--steps", "0.04,0.02"]
                    if command == "verify" else []), "--batch={}"], hostile)]
    if option == "--hyper":
        argv = [command, "heavy-ball", *base[2:], "--hyper", "beta=0.5"]
        return [(argv + ["--hyper={}"], hostile)]
    if (command, option) == ("derive", "--h"):
        return [(base + ["--at", "a=0.5,b=1.5", "--h={}"], hostile)]
    if (command, option) == ("zeta", "--values"):
        return [(["zeta", "--weight", "normal(0, s)", "--bias", "normal(0, 1)", "--at", "1",
                  "--values={}"], hostile)]
    if (command, option) == ("zeta", "--joint"):
        return [(["zeta", "--joint={}"], hostile)]
    if (command, option) == ("spectral", "--h"):
        return [(base + ["--h={}"], hostile)]
    return [(_replace(base, option, "{}"), hostile)]


def fuzzed_options(parser: argparse.ArgumentParser) -> dict[str, list[argparse.Action]]:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    out = {}
    for name in FUZZED_COMMANDS:
        out[name] = [a for a in sub.choices[name]._actions
                     if not isinstance(a, argparse._HelpAction)]
    return out


# --------------------------------------------------------------------------------------
class _Hang(BaseException):
    """Raised by the alarm; a BaseException so that no ``except Exception`` swallows it."""


def _alarm(signum, frame):
    raise _Hang


@pytest.fixture
def fuzz_env(tmp_path, monkeypatch):
    setup = tmp_path / "setup"
    setup.mkdir()
    (setup / "afile").write_text("not a folder\n")
    (setup / "adir.png").mkdir()
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    parser = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda only=None: parser)  # built once
    import ibsym.reproduce as rep   # the scripts do not change during the test: read them once
    monkeypatch.setattr(rep, "is_derivation_script",
                        functools.lru_cache(maxsize=None)(rep.is_derivation_script))
    old = signal.signal(signal.SIGPROF, _alarm)
    yield setup, work, parser
    signal.setitimer(signal.ITIMER_PROF, 0)
    signal.signal(signal.SIGPROF, old)


class Tally:
    def __init__(self) -> None:
        self.tried = self.clear = self.tracebacks = self.hangs = 0
        self.failures: list[str] = []
        self.slowest = (0.0, "")

    def run(self, argv: list[str], work: Path) -> None:
        self.tried += 1
        out, err = io.StringIO(), io.StringIO()
        t0 = time.perf_counter()
        signal.setitimer(signal.ITIMER_PROF, SECONDS)
        problem = ""
        try:
            with redirect_stdout(out), redirect_stderr(err):
                code = cli.main(argv)
        except _Hang:
            self.hangs += 1
            problem = f"hang (> {SECONDS} CPU s)"
        except BaseException as exc:  # noqa: BLE001 -- anything escaping main is a traceback
            self.tracebacks += 1
            problem = f"traceback {type(exc).__name__}: {str(exc)[:120]}"
        else:
            text = err.getvalue()
            if "Traceback" in text:
                self.tracebacks += 1
                problem = "traceback on stderr"
            elif code != 2:
                problem = f"exit {code}"
            elif text.count("\n") != 1 or not text.startswith("ibsym"):
                problem = f"not one line: {text[:160]!r}"
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
        dt = time.perf_counter() - t0
        if dt > WALL_SECONDS and not problem:
            self.hangs += 1
            problem = f"slow ({dt:.1f} s wall)"
        if dt > self.slowest[0]:
            self.slowest = (dt, " ".join(argv)[:120])
        left = sorted(p.name for p in work.iterdir())
        if left:
            problem = problem or f"wrote {left[:3]}"
            for p in work.iterdir():
                _remove(p)
        if problem:
            self.failures.append(f"{problem}: {_show(argv)}")
        else:
            self.clear += 1

    def report(self, what: str) -> str:
        return (f"fuzz {what}: {self.tried} inputs tried / {self.clear} clear exit-2 errors / "
                f"{self.tracebacks} tracebacks / {self.hangs} hangs; slowest "
                f"{self.slowest[0]:.2f} s ({self.slowest[1]})")


def _remove(p: Path) -> None:
    if p.is_dir() and not p.is_symlink():
        for q in p.iterdir():
            _remove(q)
        p.rmdir()
    else:
        p.unlink()


def _show(argv: list[str]) -> str:
    return " ".join(repr(a[:60]) if not re.fullmatch(r"[\w.,=*/^()+ -]*", a) else a[:60]
                    for a in argv)


def _fill(template: list[str], value: str) -> list[str]:
    return [a.replace("{}", value) if "{}" in a else a for a in template]


def test_every_option_of_every_command_refuses_hostile_input(fuzz_env, capsys):
    setup, work, parser = fuzz_env
    tally = Tally()
    covered = []
    for command, actions in fuzzed_options(parser).items():
        for action in actions:
            if action.nargs == 0:  # a flag: a value attached to it is an error
                flag = action.option_strings[0]
                for value in corpus()[:12]:
                    tally.run(BASE[command] + [f"{flag}={value}"], work)
                covered.append(f"{command} {flag}")
                continue
            name = action.option_strings[0] if action.option_strings else action.dest
            for template, values in contexts(command, name, setup):
                for value in values:
                    tally.run(_fill(template, value), work)
            covered.append(f"{command} {name}")
    with capsys.disabled():
        print("\n" + tally.report(f"CLI options ({len(covered)} options)"))
    if os.environ.get("IBSYM_FUZZ_DUMP"):           # every failure, for debugging
        Path(os.environ["IBSYM_FUZZ_DUMP"]).write_text("\n".join(tally.failures))
    assert tally.failures == [], "\n".join(tally.failures[:40])
    assert tally.clear == tally.tried and tally.tracebacks == 0 and tally.hangs == 0
    assert {"derive --loss", "verify --steps", "zeta --weight", "spectral --depth",
            "reproduce --out", "reproduce names"} <= set(covered)


RULE = {
    "name": "name = {}\ntheta = theta - h*grad(theta)\n",
    "hyper": "name = r\nhyper = {}\ntheta = theta - h*grad(theta)\n",
    "state name": "name = r\nstate {} = 0\n{} = {}/2 + grad(theta)\ntheta = theta - h*grad(theta)\n",
    "state value": "name = r\nstate m = {}\nm = m/2 + grad(theta)\ntheta = theta - h*m\n",
    "update target": "name = r\n{} = theta - h*grad(theta)\ntheta = theta - h*grad(theta)\n",
    "update expression": "name = r\nhyper = beta\nstate m = 0\nm = {}\ntheta = theta - h*m\n",
    "theta expression": "name = r\ntheta = theta - h*({})\n",
}


def _must_refuse(field: str, value: str) -> bool:
    """Whether the documented rule-file grammar refuses ``value`` in ``field``.

    Names made of the documented alphabet (``nan``, ``a b`` ...) and identifier lists are
    legitimate names, metadata may be quoted and text after ``#`` is a comment: those
    inputs are not hostile for that field and are left out of its count."""
    line = value.split("#", 1)[0]
    if field == "name":
        v = line.strip().strip('"').strip("'")
        return not (v and len(v) <= 80 and all(c in NAME_ALPHABET for c in v)) \
            or "\n" in value or "\r" in value or "\u2028" in value
    if field == "update target" and not line.strip():
        return False                       # the whole line is a comment
    if field == "hyper":
        line = line.strip().strip('"').strip("'")   # metadata values may be quoted
    if field in ("hyper", "state name", "update target"):
        ident = r"[A-Za-z][A-Za-z0-9_]*"
        pattern = rf"\s*{ident}(\s*[ ,]\s*{ident})*\s*" if field == "hyper" else rf"\s*{ident}\s*"
        return not re.fullmatch(pattern, line) or any(c in value for c in "\n\r\u2028")
    return "#" not in value                # an expression cut short by a comment may be valid


def test_every_rule_file_field_refuses_hostile_input(fuzz_env, capsys):
    setup, work, parser = fuzz_env
    tally = Tally()
    skipped = 0
    for field, template in RULE.items():
        for i, value in enumerate(corpus()):
            if not _must_refuse(field, value):
                skipped += 1
                continue
            path = setup / f"fuzz_{i}.opt"
            path.write_text(template.replace("{}", value), encoding="utf-8",
                            errors="surrogateescape")
            tally.run(["derive", str(path), "--order", "1", "--loss", "a^2", "--params", "a"],
                      work)
            path.unlink()
    with capsys.disabled():
        print("\n" + tally.report(f"rule-file fields ({len(RULE)} fields, {skipped} legitimate "
                                  "values left out)"))
    assert tally.failures == [], "\n".join(tally.failures[:40])
    assert tally.clear == tally.tried and tally.tracebacks == 0 and tally.hangs == 0


@pytest.mark.parametrize("argv", [
    ["derive", "gd", "--loss", "10**10**10", "--params", "a"],
    ["derive", "gd", "--loss", "+".join(["a"] * 1000) + "+" + "**".join(["a"] * 400),
     "--params", "a"],
    ["verify", "gd", *LOSS, "--init", "a=0.3,b=1.7", "--steps", "inf"],
    ["derive", "gd", "--loss", "-a*b", "--params", "a b"],
    ["zeta", "--weight", "__import__('os').system('touch CANARY')", "--bias", "normal(0, 1)"],
    ["reproduce", "--out", "/dev/null"],
])
def test_no_traceback_reaches_the_terminal(argv, tmp_path):
    """A few real processes: stderr is one line, no traceback, exit 2, nothing written."""
    proc = subprocess.run([sys.executable, "-c",
                           "import sys; from ibsym.cli import main; sys.exit(main())", *argv],
                          capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("ibsym")
    assert list(tmp_path.iterdir()) == []


BENIGN = {"name": "ok", "hyper": "beta", "state name": "q", "state value": "0",
          "update target": "q", "update expression": "beta*m + grad(theta)",
          "theta expression": "grad(theta)"}


@pytest.mark.parametrize("field", list(RULE))
def test_the_rule_templates_are_valid_with_a_benign_value(field, tmp_path, capsys):
    """The fuzz counts mean something only if the same template with a benign value runs."""
    path = tmp_path / "ok.opt"
    path.write_text(RULE[field].replace("{}", BENIGN[field]))
    assert cli.main(["derive", str(path), "--order", "1", "--loss", "a^2", "--params", "a"]) == 0
    capsys.readouterr()


@pytest.mark.parametrize("command", ["derive", "verify", "spectral"])
def test_the_base_command_lines_are_valid(command, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(BASE[command]) in (0, 1)      # 1: a verification may fail, input is fine
    capsys.readouterr()
