"""Exception hierarchy of ibsym.

Every error says *what happened*, *where*, and *what to try*.  The command
line maps :class:`InputError` (and its subclasses) to exit status 2 and
:class:`OracleMismatch` / verification failures to exit status 1.

Examples
--------
>>> from ibsym.core.errors import ParseError, InputError
>>> issubclass(ParseError, InputError)
True
"""
from __future__ import annotations

__all__ = [
    "IbsymError",
    "InputError",
    "ParseError",
    "DivergenceError",
    "BudgetExceeded",
    "IntegrationError",
    "NotDifferentiableError",
    "OracleMismatch",
]


class IbsymError(Exception):
    """Base class of all errors raised on purpose by ibsym."""


class InputError(IbsymError, ValueError):
    """The user gave input that cannot be used (bad name, value, option)."""


class ParseError(InputError):
    """A text expression was refused by the whitelist parser.

    Attributes
    ----------
    token : str
        The offending token (name, operator or construct).
    column : int
        1-based column in the text where it starts (0 if unknown).
    """

    def __init__(self, message: str, token: str = "", column: int = 0):
        super().__init__(message)
        self.token = token
        self.column = column


class NotDifferentiableError(InputError):
    """The loss is not smooth enough for the requested derivation."""


class DivergenceError(IbsymError):
    """Discrete iterates blew up (overflow / NaN) for a given step size."""


class BudgetExceeded(IbsymError):
    """A symbolic derivation exceeded its time or size budget."""


class IntegrationError(IbsymError):
    """The ODE integrator failed (stiffness, blow-up, step-size underflow)."""


class OracleMismatch(IbsymError):
    """A derived result disagrees with its published or independent oracle."""
