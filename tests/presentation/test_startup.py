"""Start-up cost (issue 16, item 5): ``import ibsym`` and ``ibsym --help`` import no
heavy library; every public name still works, loaded on first access."""
from __future__ import annotations

import ast
import os
import subprocess
import sys

import pytest

HEAVY = ("sympy", "numpy", "scipy", "matplotlib", "mpmath")


def _run(code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "100"}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env=env)


def _loaded(expr: str) -> list[str]:
    out = _run(f"{expr}\nimport sys\nprint(sorted(m for m in {HEAVY!r} if m in sys.modules), "
               "file=sys.stderr)")
    assert out.returncode == 0, out.stderr
    return ast.literal_eval(out.stderr.strip().splitlines()[-1])


def test_import_ibsym_loads_no_heavy_library():
    assert _loaded("import ibsym") == []


def test_public_names_load_on_first_access():
    import ibsym as ib
    assert set(ib.__all__) <= set(dir(ib))
    eq = ib.modified_equation("gd", order=1)
    assert str(eq.terms[1]) == "-1/2 ∇²L∇L"
    assert ib.Loss is ib.losses.Loss
    from ibsym import ModifiedEquation, get_optimizer, verify
    assert isinstance(eq, ModifiedEquation) and callable(verify)
    assert get_optimizer("gd").name == "gd"
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        ib.nope  # noqa: B018


def test_help_imports_nothing_heavy_and_matches_the_full_parser():
    from ibsym.cli import build_parser
    out = _run("from ibsym.cli import main\nimport sys\ntry:\n    main(['--help'])\n"
               "except SystemExit:\n    pass\n"
               f"print(sorted(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)")
    assert out.returncode == 0, out.stderr
    assert out.stderr.strip() == "[]"
    os.environ["COLUMNS"] = "100"
    try:
        full = build_parser().format_help()
    finally:
        del os.environ["COLUMNS"]
    assert out.stdout == full
    assert "derive the modified equation" in out.stdout


@pytest.mark.parametrize("words,code,stream,text", [
    ([], 2, "err", "give a command (derive, verify"),
    (["nosuch"], 2, "err", "invalid choice: 'nosuch' (choose from 'derive', 'verify'"),
    (["--version"], 0, "out", "ibsym 0.1.0"),
])
def test_no_command_paths(capsys, words, code, stream, text):
    from ibsym.cli import main
    assert main(words) == code
    got = capsys.readouterr()
    assert text in (got.err if stream == "err" else got.out)


def test_summaries_are_the_real_help_lines():
    import argparse

    from ibsym.cli import COMMANDS, build_parser
    from ibsym.cli._help import summary, toplevel_parser

    def lines(parser):
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        return {c.dest: c.help for c in sub._choices_actions}

    real = lines(build_parser())
    assert set(real) == set(COMMANDS)
    assert lines(toplevel_parser()) == real
    assert all(summary(f"ibsym.cli.{c}", c) == real[c] for c in COMMANDS)


def test_scipy_loads_only_when_a_flow_is_integrated():
    assert "scipy" not in _loaded("import ibsym.numeric.verify, ibsym.numeric.kernels")
    assert "scipy" in _loaded(
        "import ibsym as ib\n"
        "eq = ib.modified_equation('gd', ib.Loss.parse('(a*b-1)**2/2', 'a b'), order=1)\n"
        "ib.verify(eq, [0.3, 1.7], steps=[0.04, 0.02, 0.01])")
