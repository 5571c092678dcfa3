"""One time budget for a whole command: a deadline passed through every phase.

A :class:`Budget` is created once (by the command line from ``--budget SECONDS``, or
by an API call from ``budget_seconds=``) and handed down to the derivation, the
gradient analysis, compilation, integration and printing.  Each phase calls
:meth:`Budget.check` at its natural checkpoints; past the deadline that raises
:class:`~ibsym.core.errors.BudgetExceeded` with *where* it stopped and *what to try*.
Optional work (the gradient analysis of a printed result) runs under a
:meth:`Budget.share` of what is left and reports "undecided within budget" instead
of failing the command.  :meth:`Budget.enforce` adds a backstop for code that cannot
check (one long SymPy call): a real-time alarm shortly after the deadline.

The clock is wall time (``time.monotonic``): a budget bounds how long a user waits.

Examples
--------
>>> b = Budget(10.0, advice="lower --order")
>>> b.check("F_3")            # well within the budget: nothing happens
>>> 0 < b.remaining() <= 10
True
>>> Budget(None).remaining()
inf
>>> Budget.coerce(None).bounded, Budget.coerce(2.0).seconds
(False, 2.0)
>>> Budget(-1)
Traceback (most recent call last):
...
ibsym.core.errors.InputError: the budget must be a positive number of seconds, got -1
"""
from __future__ import annotations

import math
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ibsym.core.errors import BudgetExceeded, InputError

__all__ = ["Budget", "parse_budget", "DEFAULT_SECONDS"]

#: Default budget of a command-line run, in seconds.
DEFAULT_SECONDS = 120.0


def parse_budget(text: str | float | int) -> float:
    """Validate a budget in seconds: a positive, finite number.

    Examples
    --------
    >>> parse_budget("2.5")
    2.5
    >>> parse_budget("nan")
    Traceback (most recent call last):
    ...
    ibsym.core.errors.InputError: the budget must be a positive number of seconds, got nan
    """
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise InputError(f"the budget must be a positive number of seconds, got {text!r}"
                         ) from None
    if not math.isfinite(value) or value <= 0:
        shown = text if isinstance(text, str) else f"{value:g}"
        raise InputError(f"the budget must be a positive number of seconds, got {shown}")
    return value


class Budget:
    """A deadline shared by every phase of one computation.

    Parameters
    ----------
    seconds : float or None
        Positive, finite; ``None`` means unbounded.
    advice : str
        What to try when it is exceeded (ends the message).
    clock : callable
        Time source (seconds); default ``time.monotonic``.

    Attributes
    ----------
    seconds : float or None
        The whole budget.
    deadline : float
        Clock value past which :meth:`check` raises (``inf`` when unbounded).
    where : str
        The last checkpoint passed (used by the :meth:`enforce` backstop).
    """

    def __init__(self, seconds: float | None, *, advice: str = "raise --budget",
                 clock: Callable[[], float] = time.monotonic, _deadline: float | None = None,
                 _total: float | None = None):
        if seconds is not None:
            seconds = parse_budget(seconds)
        self.seconds = seconds
        self.advice = advice
        self.clock = clock
        self.start = clock()
        if _deadline is not None:
            self.deadline = _deadline
        else:
            self.deadline = math.inf if seconds is None else self.start + seconds
        self.total = seconds if _total is None else _total   # the user's figure, for messages
        self.where = "starting"

    @classmethod
    def coerce(cls, budget: "Budget | float | int | None", *,
               advice: str = "raise --budget") -> "Budget":
        """A :class:`Budget` from a Budget (returned as is), a number of seconds, or None."""
        if isinstance(budget, Budget):
            return budget
        return cls(budget, advice=advice)

    # -- queries --------------------------------------------------------------------------
    @property
    def bounded(self) -> bool:
        """False for an unbounded budget."""
        return math.isfinite(self.deadline)

    def elapsed(self) -> float:
        """Seconds since the budget started."""
        return self.clock() - self.start

    def remaining(self) -> float:
        """Seconds left (``inf`` when unbounded; negative once exceeded)."""
        return self.deadline - self.clock()

    def expired(self) -> bool:
        """True once the deadline has passed."""
        return self.clock() > self.deadline

    # -- checkpoints ----------------------------------------------------------------------
    def message(self, where: str) -> str:
        """The one-line message of an exceeded budget."""
        total = "" if self.total is None else f" of {self.total:g} s"
        return f"exceeded the time budget{total} while {where}; {self.advice}"

    def check(self, where: str) -> None:
        """Record the checkpoint ``where``; raise BudgetExceeded if the deadline has passed."""
        self.where = where
        if self.clock() > self.deadline:
            raise BudgetExceeded(self.message(where))

    def share(self, fraction: float = 1.0, *, seconds: float | None = None) -> "Budget":
        """A child budget ending no later than this one.

        Its deadline is ``now + fraction·remaining`` (or ``now + seconds``), capped by the
        parent's.  Messages still quote the parent's whole budget.
        """
        now = self.clock()
        left = self.deadline - now
        span = left * fraction if seconds is None else min(seconds, left)
        return Budget(None, advice=self.advice, clock=self.clock,
                      _deadline=min(self.deadline, now + max(span, 0.0)), _total=self.total)

    # -- backstop -------------------------------------------------------------------------
    @contextmanager
    def enforce(self, grace: float = 0.25) -> Iterator["Budget"]:
        """Raise BudgetExceeded by a real-time alarm ``grace`` seconds after the deadline.

        For code that cannot check the budget itself (a single long SymPy call).  Only in
        the main thread of a POSIX process; elsewhere (and for an unbounded budget) it
        does nothing.  The previous alarm handler, and an enclosing alarm's remaining
        time, are restored on exit.
        """
        usable = (self.bounded and hasattr(signal, "setitimer")
                  and threading.current_thread() is threading.main_thread())
        if not usable:
            yield self
            return

        def on_alarm(signum: int, frame: Any) -> None:
            raise BudgetExceeded(self.message(self.where))

        previous = signal.signal(signal.SIGALRM, on_alarm)
        started = time.monotonic()
        outer = (0.0, 0.0)
        try:
            outer = signal.setitimer(signal.ITIMER_REAL, max(self.remaining(), 0.0) + grace)
            yield self
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
            if outer[0] > 0:   # an enclosing alarm (an outer enforce): re-arm what is left of it
                left = outer[0] - (time.monotonic() - started)
                signal.setitimer(signal.ITIMER_REAL, max(left, 1e-3), outer[1])

    def __repr__(self) -> str:
        left = "unbounded" if not self.bounded else f"{self.remaining():.3g} s left"
        return f"Budget({self.total}, {left})"
