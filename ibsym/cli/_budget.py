"""``--budget SECONDS`` for every subcommand: one :class:`~ibsym.core.budget.Budget` per run.

``add_budget_argument`` adds the option; ``budget_from_args`` validates it (a positive,
finite number: ``-5``, ``0``, ``nan``, ``inf`` are refused with exit status 2) and makes
the run's single budget object, which the subcommand passes to every phase and enforces
with a real-time backstop (:meth:`Budget.enforce`).  ``ibsym.cli.main`` turns
:class:`~ibsym.core.errors.BudgetExceeded` into a one-line message and exit status 2.
"""
from __future__ import annotations

import argparse

from ibsym.core.budget import DEFAULT_SECONDS, Budget, parse_budget
from ibsym.core.errors import InputError

__all__ = ["add_budget_argument", "budget_from_args"]


def add_budget_argument(p: argparse.ArgumentParser, *, default: float = DEFAULT_SECONDS,
                        what: str = "the whole command") -> None:
    """Add ``--budget SECONDS`` (wall-clock seconds for ``what``)."""
    p.add_argument("--budget", default=None, metavar="SECONDS",
                   help=f"time budget in seconds for {what} (default {default:g}); past it the "
                        "command stops with exit status 2 and says what to try")
    p.set_defaults(budget_default=default)


def budget_from_args(args: argparse.Namespace, advice: str) -> Budget:
    """The run's budget from ``--budget`` (validated), with what to try when it runs out."""
    raw = getattr(args, "budget", None)
    if raw is None:
        seconds = float(getattr(args, "budget_default", DEFAULT_SECONDS))
    else:
        try:
            seconds = parse_budget(raw)
        except InputError:
            raise InputError(f"--budget must be a positive number of seconds, got {raw!r}"
                             ) from None
    return Budget(seconds, advice=f"{advice} or raise --budget")
