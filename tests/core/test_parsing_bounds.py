"""Bounds of the whitelist parser: no input hangs it, overflows it or recurses too deeply.

Issue 9 (item 6, "Tracebacks where a message belongs") and issue 17 item 8: numbers such
as ``10**10**10`` hung the parser, ``2**65536`` ended in a traceback (int -> str digit
limit), ``1e999999`` and ``0**-1`` became ``oo``/``zoo`` losses, and a sum of 1,000 terms,
a power tower of 400 names or 198 nested calls raised RecursionError.
"""
from __future__ import annotations

import contextlib
import signal

import pytest
import sympy as sp

from ibsym.core.errors import InputError, ParseError
from ibsym.core.losses import Loss
from ibsym.core.parsing import (MAX_DEPTH, finite_float, parse_assignments, parse_expression,
                                parse_float, parse_number)


@contextlib.contextmanager
def within(seconds: float):
    """Fail (instead of hanging) when the block runs longer than ``seconds``."""
    def expired(signum, frame):
        raise TimeoutError(f"took longer than {seconds} s")
    old = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@pytest.mark.parametrize("text, match", [
    ("10**10**10", "exponent too large: '10\\*\\*10'"),
    ("10^10^10*a", "exponent too large"),
    ("2**65536", "exponent too large: '65536'"),
    ("2**2**2**2**2", "exponent too large"),
    ("a**(10**10)", "exponent too large"),
    ("((10**99)**10)**10", "floating-point range"),
    ("(1/10**300)**4", "number too large"),
    ("1" * 150 + "*a", "integer literal too long"),
    ("1e999999*a", "number out of floating-point range: '1e999999'"),
    ("2**1000*2**1000*a", "floating-point range: '2\\*\\*1000\\*2\\*\\*1000'"),
    ("0**-1*a", "not a finite real number: '0\\*\\*-1'"),
    ("(a - a)**-1", "not a finite real number"),
    ("log(0)*a", "not a finite real number: 'log\\(0\\)'"),
    ("sqrt(-1)*a", "not a finite real number"),
    ("(-8)**(1/3)*a", "not a finite real number"),
    ("exp(1000)*a", "floating-point range: 'exp\\(1000\\)'"),
    ("sin(exp(exp(100)))*a", "'exp\\(exp\\(100\\)\\)'"),
    ("tan(pi/2)*a", "not a finite number: 'tan\\(pi/2\\)'.*zoo"),
    ("(7**999 + 1)**(1/999)", "floating-point range: '7\\*\\*999'"),
])
def test_huge_or_non_finite_numbers_are_refused_quickly(text, match):
    with within(5), pytest.raises(ParseError, match=match):
        parse_expression(text, "a")


@pytest.mark.parametrize("text", ["10**10**10", "2**65536", "1e999999", "0**-1"])
def test_loss_parse_refuses_them_too(text):
    with within(5), pytest.raises(InputError):
        Loss.parse(f"{text}*a + a**2", "a")


def test_bounded_numbers_still_parse_exactly():
    a, x = sp.symbols("a x", real=True)
    assert parse_expression("2**1000*a", "a") == sp.Integer(2) ** 1000 * a
    assert parse_expression("x**1000 + x**-3 + x**0.25", "x") == x ** 1000 + x ** -3 + x ** sp.Rational(1, 4)
    assert parse_expression("1e300*a", "a") == sp.Float(1e300) * a
    assert parse_expression("1e-99999*a + a", "a") == a
    assert parse_expression("exp(700)*a", "a") == sp.exp(700) * a
    assert parse_expression("sigmoid(-1000)", "a") == 1 / (1 + sp.exp(1000))
    assert parse_expression("0**0 + 2**0.5", "a") == 1 + sp.sqrt(2)


def test_long_sums_and_products_parse_without_recursion():
    a = sp.Symbol("a", real=True)
    with within(10):
        assert parse_expression("+".join(["a"] * 1000), "a") == 1000 * a
        assert parse_expression(" + ".join(f"{i}*a" for i in range(1000)), "a") == 499500 * a
        assert parse_expression("-".join(["a"] * 1001), "a") == -999 * a
        assert parse_expression("*".join(["a"] * 900), "a") == a ** 900
        assert parse_expression("a" + "/a" * 999, "a") == a ** -998
    names = " ".join(f"p{i}" for i in range(300))
    e = parse_expression(" + ".join(f"(p{i} - 1)^2" for i in range(300)), names)
    assert len(e.args) == 300


def test_chains_keep_the_meaning_of_left_to_right_evaluation():
    a, b, c = sp.symbols("a b c", real=True)
    assert parse_expression("a - b - c", "a b c") == a - b - c
    assert parse_expression("a/b/c", "a b c") == a / (b * c)
    assert parse_expression("a/b*c", "a b c") == a * c / b
    assert parse_expression("2*(a + b)*c", "a b c") == 2 * (a + b) * c
    assert parse_expression("a - (b - c)", "a b c") == a - b + c
    assert parse_expression("(a*b - 1)^2/2", "a b") == (a * b - 1) ** 2 / 2
    assert parse_expression("-a^2", "a") == -(a ** 2)


@pytest.mark.parametrize("text, what", [
    ("**".join(["a"] * 400), "power tower of 400 names"),
    ("sin(" * 198 + "a" + ")" * 198, "198 nested calls"),
    ("-" * 2000 + "a", "2000 signs"),
    ("a+(" * 150 + "a" + ")" * 150, "150 nested parentheses"),
    ("exp(-" * 60 + "a" + ")" * 60, "60 nested calls and signs"),
])
def test_deep_nesting_is_refused_with_a_message(text, what):
    with within(5), pytest.raises(ParseError, match="nested too deeply|syntax error"):
        parse_expression(text, "a")


def test_redundant_parentheses_are_no_nesting():
    assert parse_expression("(" * 150 + "a" + ")" * 150, "a") == sp.Symbol("a", real=True)


def test_depth_limit_is_the_documented_one():
    ok = "sin(" * (MAX_DEPTH - 2) + "a" + ")" * (MAX_DEPTH - 2)
    parse_expression(ok, "a")
    with pytest.raises(ParseError, match=f"more than {MAX_DEPTH} levels"):
        parse_expression("sin(" * (MAX_DEPTH + 1) + "a" + ")" * (MAX_DEPTH + 1), "a")


def test_messages_are_one_short_line():
    text = "+".join(["a"] * 3000) + "+" + "**".join(["a"] * 400)
    with pytest.raises(ParseError) as info:
        parse_expression(text, "a")
    msg = str(info.value)
    assert "\n" not in msg and len(msg) < 400


@pytest.mark.parametrize("text", ["inf", "-inf", "nan", "oo", "zoo", "Infinity", "1e999",
                                  "sqrt(-2)", "log(-1)", "10**10**10", "2**65536"])
def test_numbers_are_finite_and_real(text):
    with within(5), pytest.raises(ParseError):
        parse_number(text)
    with within(5), pytest.raises(ParseError):
        parse_assignments(f"a={text}")


def test_parse_float_and_finite_float():
    assert parse_float("1/8", "--h", positive=True) == 0.125
    assert parse_float("0", "--t", nonnegative=True) == 0.0
    with pytest.raises(InputError, match="--T must be positive, got -1"):
        parse_float("-1", "--T", positive=True)
    with pytest.raises(InputError, match="--h must be non-negative"):
        parse_float("-1/2", "--h", nonnegative=True)
    with pytest.raises(ParseError, match="--T: expected a finite number"):
        parse_float("inf", "--T")
    with pytest.raises(InputError, match="finite real number"):
        finite_float(sp.Integer(10) ** 400, "--init")
    with pytest.raises(InputError, match="finite real number"):
        finite_float(sp.I, "--at")
    with pytest.raises(InputError, match="finite real number"):
        finite_float(float("nan"), "--T")


def test_a_hash_is_refused_not_read_as_a_comment():
    """Python's tokenizer drops everything after '#': "(1-0.5)#)" parsed as 1/2."""
    with pytest.raises(ParseError, match="unsupported character '#' at column 8"):
        parse_expression("(1-0.5)#)", "a")
    with pytest.raises(ParseError, match="'#'"):
        parse_number("0.5 # half")


def test_assignment_errors_name_the_key():
    with pytest.raises(ParseError, match="initial value b: expected a number"):
        parse_assignments("a=1, b=10**10**10", what="initial value")
