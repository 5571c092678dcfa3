"""The ``ibsym`` command line.

One subcommand per module of this package (``derive``, ``verify``,
``reproduce``, ...).  Each module defines ``register(subparsers)`` which adds its
parser and sets ``handler=run``, and ``run(args) -> int``.  The command line
holds no logic the Python API lacks: it parses, calls the public API, formats.

Every subcommand takes ``--budget SECONDS`` (one :class:`~ibsym.core.budget.Budget` per run,
passed to every phase, with a real-time backstop).

Exit status: 0 success/agreement, 1 verification or oracle failure, 2 bad input
(one line on stderr, nothing written) or time budget exceeded (one line saying what to
try), 130 interrupted, 141 output pipe closed
(``ibsym ... | head``: the command stops quietly).
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
import typing
from collections.abc import Sequence

from ibsym.core.errors import BudgetExceeded, IbsymError, InputError, OracleMismatch

__all__ = ["main", "COMMANDS", "build_parser"]

#: Subcommand modules, in the order ``--help`` lists them.
COMMANDS: tuple[str, ...] = ("derive", "verify", "reproduce", "zeta", "spectral", "limit", "eos", "bad-minima", "card", )

_EPILOG = """examples:
  ibsym derive gd --order 2                         # generic form with nabla L, nabla^2 L ...
  ibsym derive gd --order 3 --loss "(a*b-1)**2/2" --params "a b" --format latex
  ibsym verify gd --loss "(a*b-1)**2/2" --params "a b" --init "a=0.3,b=1.7" --order 3 --json
  ibsym derive heavy-ball --order 2                 # field, slow manifold, initial value
  ibsym derive adam --order 1                       # component-wise form, one-norm regimes
  ibsym derive my_rule.opt --order 2 --loss "(a*b-1)^2/2" --params "a b"   # your optimizer
  ibsym zeta --weight "normal(0, 1)" --bias "normal(0, 1)"
  ibsym spectral --depth 3 --target 1 --sigma0 0.01 --t 3
  ibsym reproduce --out ibsym-out
each command's --help explains it with examples; 'ibsym derive --help' lists the optimizers
"""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage block) and a hint for values that start
    with ``-`` (``--loss "-a*b"`` is read as an option; ``--loss=-a*b`` works).
    Sub-command parsers inherit the class (``add_subparsers`` uses ``type(self)``)."""

    def error(self, message: str) -> typing.NoReturn:
        hint = ""
        if "expected one argument" in message:
            hint = ('; a value that starts with "-" must be attached to its option, '
                    "e.g. --loss=-a*b or --T=-1")
        self.exit(2, f"{self.prog}: error: {_one_line(message)}{hint} "
                     f"(see '{self.prog} --help')\n")

    def _get_values(self, action: argparse.Action, arg_strings: list[str]) -> typing.Any:
        # Python < 3.12 turns "--opt=--" into an empty list instead of an error
        if arg_strings == ["--"] and action.option_strings and action.nargs in (None, "?"):
            self.error(f"argument {'/'.join(action.option_strings)}: expected one argument")
        return super()._get_values(action, arg_strings)


def _one_line(message: object) -> str:
    """An error message on one line (newlines become '; ')."""
    return "; ".join(part.strip() for part in str(message).splitlines() if part.strip())


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The top-level argument parser with every subcommand registered (or only the
    subcommand ``only``: running one command imports only its module)."""
    from ibsym import __version__
    parser = _Parser(
        prog="ibsym",
        description="Derive, verify and export the implicit bias (modified equations, "
                    "implicit regularizers) of optimization algorithms.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"ibsym {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS if only is None else (only,):
        module = importlib.import_module(f"{__name__}.{name.replace('-', '_')}")  # bad-minima: bad_minima.py
        before = set(sub.choices)
        module.register(sub)
        for added in set(sub.choices) - before:   # --budget on every subcommand
            _add_budget(sub.choices[added], module)
    return parser


def _add_budget(p: argparse.ArgumentParser, module: object) -> None:
    """``--budget SECONDS`` (module defaults ``BUDGET_SECONDS``, ``BUDGET_ADVICE``)."""
    from ibsym.cli._budget import add_budget_argument
    if not any("--budget" in a.option_strings for a in p._actions):
        add_budget_argument(p, default=getattr(module, "BUDGET_SECONDS", 120.0))
    p.set_defaults(budget_advice=getattr(module, "BUDGET_ADVICE", "simplify the input"))



def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (tests call it in-process)."""
    words = list(sys.argv[1:] if argv is None else argv)
    bad = next((w for w in words if "\x00" in w), None)
    if bad is not None:  # only possible in-process; the OS never passes NUL in argv
        print(f"ibsym: error: NUL character in argument {bad[:40]!r}", file=sys.stderr)
        return 2
    empty = _empty_value(words)
    if empty is not None:  # every option and operand needs text; an empty one is never meant
        print(f"ibsym: error: {empty} needs a value (got an empty string)", file=sys.stderr)
        return 2
    parser = build_parser(words[0] if words and words[0] in COMMANDS else None) if set(words) & set(COMMANDS) else importlib.import_module(f"{__name__}._help").toplevel_parser()  # no command named: summaries only, nothing heavy imported
    try:
        args = parser.parse_args(words)
    except SystemExit as exc:  # argparse: --help (0) or usage error (2)
        try:
            sys.stdout.flush()
        except BrokenPipeError:  # --help | head
            return _broken_pipe()
        return int(exc.code or 0)
    except BrokenPipeError:  # --help | head
        return _broken_pipe()
    if not getattr(args, "command", None):
        print(f"ibsym: error: give a command ({', '.join(COMMANDS)}); see 'ibsym --help'",
              file=sys.stderr)
        return 2
    try:
        from ibsym.cli._budget import budget_from_args
        budget = budget_from_args(args, getattr(args, "budget_advice", "simplify the input"))
        budget.where = f"running 'ibsym {args.command}'"
        args.budget_obj = budget           # the run's one budget, passed to every phase
        with budget.enforce():
            code = int(args.handler(args))
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        return _broken_pipe()
    except BudgetExceeded as exc:
        print(f"ibsym {args.command}: {_one_line(exc)}", file=sys.stderr)
        return 2
    except InputError as exc:
        print(f"ibsym {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except (RecursionError, MemoryError) as exc:
        print(f"ibsym {args.command}: error: the input is too large or too deeply nested "
              f"({type(exc).__name__}); simplify it", file=sys.stderr)
        return 2
    except OSError as exc:  # a path the system refuses (name too long, permission ...)
        where = f" ({str(exc.filename)[:60]!r})" if exc.filename else ""
        print(f"ibsym {args.command}: error: {exc.strerror or _one_line(exc)}{where}",
              file=sys.stderr)
        return 2
    except OracleMismatch as exc:
        print(f"ibsym {args.command}: oracle mismatch: {exc}", file=sys.stderr)
        return 1
    except IbsymError as exc:
        print(f"ibsym {args.command}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"ibsym {args.command}: interrupted", file=sys.stderr)
        return 130


def _empty_value(words: Sequence[str]) -> str | None:
    """The option (or "an operand") whose value is empty or blank, if any.

    ``--opt=`` and ``--opt ""`` would otherwise reach commands as "not given" (an empty string
    is falsy) and be ignored silently."""
    for i, w in enumerate(words):
        if w.startswith("--") and "=" in w:
            name, value = w.split("=", 1)
            if not value.strip():
                return name
        elif not w.strip():
            prev = words[i - 1] if i else ""
            return prev if prev.startswith("--") else "an operand"
    return None


def _broken_pipe() -> int:
    """The reader of stdout went away (``| head``): stop quietly, status 141 (SIGPIPE)."""
    try:  # further writes, including the interpreter's final flush, go nowhere
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout without a file descriptor
        pass
    return 141


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
