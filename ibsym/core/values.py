"""Values handed to the public Python API: numbers, SymPy objects or *text*, never code.

Every function of ibsym that accepts a number or an expression from its caller
(hyper-parameter values, points, step sizes, distribution parameters, matrix
entries ...) converts it here.  Text goes through the same whitelist parser as
the command line (:func:`ibsym.core.parsing.parse_number` and
:func:`~ibsym.core.parsing.parse_expression`); it never reaches
:func:`sympy.sympify`, which evaluates strings as Python code -- and does so
even for strings nested in tuples or matrices.  Containers and unknown objects
are refused.

Examples
--------
>>> as_number("1/3"), as_number(0.25, rational=True), as_number(2)
(1/3, 1/4, 2)
>>> as_number("__import__('os').getcwd()", what="beta")
Traceback (most recent call last):
...
ibsym.core.errors.ParseError: beta: expected a number, got "__import__('os').getcwd()" ...
>>> as_expr("s^2", allow_free_names=True)
s**2
"""
from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping
from typing import Any

import sympy as sp

from ibsym.core.errors import InputError, ParseError
from ibsym.core.parsing import parse_expression, parse_number

__all__ = ["as_number", "as_expr", "to_sympy"]


def to_sympy(value: Any, *, what: str = "value", rational: bool = False) -> sp.Basic:
    """A non-text value as a SymPy object: SymPy objects pass, Python/NumPy numbers convert.

    Strings, containers (tuples, lists, arrays) and other objects raise
    :class:`InputError` -- :func:`sympy.sympify` would evaluate strings inside them.

    Parameters
    ----------
    value : sympy.Basic or number
    what : str
        Name used in error messages.
    rational : bool, default False
        Convert Python floats exactly to rationals (``0.1`` → ``1/10``).
    """
    if isinstance(value, sp.Basic):
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Number):
        raise InputError(f"{what}: expected a number, a SymPy expression or text, "
                         f"got {type(value).__name__}")
    if rational and isinstance(value, float):
        return sp.nsimplify(value)
    return sp.sympify(value, strict=True)


def as_number(value: Any, *, what: str = "value", rational: bool = False) -> sp.Expr:
    """A caller's number (text parsed by :func:`~ibsym.core.parsing.parse_number`).

    SymPy expressions are accepted as they are (symbolic values stay symbolic).
    """
    if isinstance(value, str):
        try:
            return parse_number(value)
        except ParseError as exc:
            raise ParseError(f"{what}: {exc}", token=exc.token, column=exc.column) from None
    return to_sympy(value, what=what, rational=rational)


def as_expr(value: Any, *, what: str = "value",
            names: str | Iterable[str] | Mapping[str, sp.Expr] | None = None,
            allow_free_names: bool = False, rational: bool = False) -> sp.Expr:
    """A caller's expression (text parsed by :func:`~ibsym.core.parsing.parse_expression`).

    Parameters
    ----------
    value : str, sympy.Basic or number
    what : str
        Name used in error messages.
    names, allow_free_names
        Passed to :func:`~ibsym.core.parsing.parse_expression` for text.
    rational : bool
        Python floats become exact rationals.
    """
    if isinstance(value, str):
        try:
            return parse_expression(value, names, allow_free_names=allow_free_names)
        except ParseError as exc:
            raise ParseError(f"{what}: {exc}", token=exc.token, column=exc.column) from None
    return to_sympy(value, what=what, rational=rational)
