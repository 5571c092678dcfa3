"""The ``ibsym`` command line.

One subcommand per module of this package (``derive``, ``verify``,
``reproduce``, ...).  Each module defines ``register(subparsers)`` which adds its
parser and sets ``handler=run``, and ``run(args) -> int``.  The command line
holds no logic the Python API lacks: it parses, calls the public API, formats.

Exit status: 0 success/agreement, 1 verification or oracle failure, 2 bad input,
130 interrupted.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from ibsym.core.errors import IbsymError, InputError, OracleMismatch

__all__ = ["main", "COMMANDS", "build_parser"]

#: Subcommand modules, in the order ``--help`` lists them.
COMMANDS: tuple[str, ...] = ("derive", "verify", "reproduce", "zeta", "spectral", )

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


def build_parser() -> argparse.ArgumentParser:
    """The top-level argument parser with every subcommand registered."""
    from ibsym import __version__
    parser = argparse.ArgumentParser(
        prog="ibsym",
        description="Derive, verify and export the implicit bias (modified equations, "
                    "implicit regularizers) of optimization algorithms.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"ibsym {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(f"{__name__}.{name}")
        module.register(sub)
    return parser



def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (tests call it in-process)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or usage error (2)
        return int(exc.code or 0)
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.handler(args))
    except InputError as exc:
        print(f"ibsym {args.command}: error: {exc}", file=sys.stderr)
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
