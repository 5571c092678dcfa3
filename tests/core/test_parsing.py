import pytest
import sympy as sp

from ibsym.core.errors import ParseError
from ibsym.core.parsing import parse_assignments, parse_expression, parse_names, parse_number


def test_parses_arithmetic_and_whitelisted_functions():
    a, b = sp.symbols("a b", real=True)
    e = parse_expression("(a*b - 1)^2/2 + sin(a)*exp(-b) + sqrt(1 + a**2)", "a b")
    assert sp.simplify(e - ((a * b - 1) ** 2 / 2 + sp.sin(a) * sp.exp(-b) + sp.sqrt(1 + a ** 2))) == 0


def test_decimal_numbers_are_exact():
    assert parse_expression("0.1*a", "a") == sp.Rational(1, 10) * sp.Symbol("a", real=True)


@pytest.mark.parametrize("text, token, column", [
    ("__import__('os')", "__import__", 1),
    ("a.__class__", ".__class__", 1),
    ("(lambda x: x)(a)", "lambda", 2),
    ("a + c", "c", 5),
    ("open('f')", "open", 1),
    ("a[0]", "[", 1),
    ("a if b else 1", "if", 1),
    ("sin(x=a)", "x", 1),
    ("'text'", "'text'", 1),
])
def test_refuses_everything_else_naming_the_token(text, token, column):
    with pytest.raises(ParseError) as info:
        parse_expression(text, "a b")
    assert info.value.token == token
    assert info.value.column == column
    assert token in str(info.value)


def test_nothing_is_executed(tmp_path):
    marker = tmp_path / "pwned"
    with pytest.raises(ParseError):
        parse_expression(f"__import__('pathlib').Path('{marker}').touch()", "a")
    assert not marker.exists()


def test_syntax_errors_and_limits():
    with pytest.raises(ParseError, match="syntax error"):
        parse_expression("a +* b", "a b")
    with pytest.raises(ParseError, match="empty"):
        parse_expression("  ", "a")
    with pytest.raises(ParseError, match="limit"):
        parse_expression("a+" * 6000 + "a", "a")


def test_names_and_assignments():
    assert parse_names("a, b c") == ("a", "b", "c")
    with pytest.raises(ParseError, match="reserved"):
        parse_names("a h")
    with pytest.raises(ParseError, match="twice"):
        parse_names("a a")
    assert parse_assignments("a=0.3, b=1/2") == {"a": sp.Rational(3, 10), "b": sp.Rational(1, 2)}
    with pytest.raises(ParseError, match="unknown initial value name 'c'"):
        parse_assignments("c=1", ["a", "b"], what="initial value")
    with pytest.raises(ParseError, match="expected a number"):
        parse_number("a")
    with pytest.raises(ParseError, match="name=number"):
        parse_assignments("a:1")


def test_free_names_only_when_allowed():
    e = parse_expression("sigma*w", allow_free_names=True)
    assert {str(s) for s in e.free_symbols} == {"sigma", "w"}
    with pytest.raises(ParseError):
        parse_expression("__x", allow_free_names=True)
