"""The top-level parser without importing the subcommands (``ibsym --help`` in ~0.1 s).

When no word of the command line names a subcommand (``ibsym --help``, ``ibsym``,
``ibsym --version``, ``ibsym nosuch``) argparse only needs each subcommand's *name and
one-line help* -- no subcommand can run.  :func:`toplevel_parser` builds the very same
parser as :func:`ibsym.cli.build_parser` (its own code, run with a loader that hands it
stand-in modules) whose ``register`` adds just that line, read from the module's
source with :mod:`ast` instead of importing it (and SymPy, NumPy, SciPy with it).  If a
module's ``add_parser`` call cannot be read that way, the real module is imported.
"""
from __future__ import annotations

import argparse
import ast
import importlib
import importlib.util
import types
from typing import Any

__all__ = ["toplevel_parser", "summary"]


def summary(module: str, command: str) -> str | None:
    """The ``help=`` string of ``sub.add_parser(command, help=...)`` in ``module``'s source
    (None if it is not a plain string literal there)."""
    spec = importlib.util.find_spec(module.replace("-", "_"))   # command bad-minima: bad_minima.py
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None
    with open(spec.origin, encoding="utf-8") as fh:
        tree = ast.parse(fh.read(), spec.origin)
    found = None
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "add_parser" and node.args
                and isinstance(node.args[0], ast.Constant) and node.args[0].value == command):
            if found is not None or any(k.arg not in ("help", "description", "epilog",
                                                      "formatter_class") for k in node.keywords):
                return None            # two calls, aliases, ...: not a plain summary
            helps = [k.value for k in node.keywords if k.arg == "help"]
            if len(helps) != 1 or not isinstance(helps[0], ast.Constant) \
                    or not isinstance(helps[0].value, str):
                return None
            found = helps[0].value
    return found


class _Summary(types.ModuleType):
    """Stand-in for a subcommand module: registers its name and help line only."""

    def __init__(self, name: str, command: str, help_text: str):
        super().__init__(name)
        self._command, self._help = command, help_text

    def register(self, sub: argparse._SubParsersAction) -> None:
        sub.add_parser(self._command, help=self._help)


class _Loader:
    """``importlib`` as seen by ``build_parser``: subcommand modules become summaries."""

    def __init__(self, package: str):
        self.package = package

    def import_module(self, name: str, package: str | None = None) -> Any:
        prefix = self.package + "."
        if name.startswith(prefix):
            command = name[len(prefix):].replace("_", "-")   # module bad_minima: command bad-minima
            text = summary(name, command)
            if text is not None:
                return _Summary(name, command, text)
        return importlib.import_module(name, package)


def toplevel_parser() -> argparse.ArgumentParser:
    """:func:`ibsym.cli.build_parser` with every subcommand reduced to its help line.

    Only for command lines that name no subcommand: the subcommands' own options are
    absent.
    """
    from ibsym import cli
    build = types.FunctionType(cli.build_parser.__code__,
                               {**vars(cli), "importlib": _Loader(cli.__name__)},
                               cli.build_parser.__name__, cli.build_parser.__defaults__,
                               cli.build_parser.__closure__)
    return build()
