"""Named initialization laws and safe parsing of DIST / joint-density strings."""
import pytest
import sympy as sp

from ibsym.wide_relu.densities import (B, W, independent, laplace, normal, parse_distribution, parse_joint,
                             rademacher, uniform)
from ibsym.core.errors import InputError, ParseError


@pytest.mark.parametrize("text, k, expected", [
    ("normal(0, 2)", 2, 4),                      # variance STD²
    ("normal(1, 1)", 1, 1),                      # mean
    ("uniform(-1, 3)", 2, sp.Rational(7, 3)),    # (a² + ab + b²)/3
    ("laplace(0, 3)", 2, 18),                    # 2 b²
    ("rademacher", 2, 1),
    ("binary", 3, 0),
])
def test_named_distributions_have_the_textbook_moments(text, k, expected):
    assert sp.simplify(parse_distribution(text).moment(k) - expected) == 0


@pytest.mark.parametrize("text", ["normal(0, 1)", "uniform(-2, 2)", "laplace(1, 2)"])
def test_densities_integrate_to_one(text):
    d = parse_distribution(text)
    t = sp.Symbol("t", real=True)
    assert sp.simplify(sp.integrate(d.pdf(t), (t, -sp.oo, sp.oo)) - 1) == 0


def test_symbolic_parameters_become_positive_scale_symbols():
    d = parse_distribution("normal(m, s)")
    s = [p for p in d.free_symbols if p.name == "s"][0]
    assert s.is_positive and sp.simplify(d.moment(2) - (d.params[0] ** 2 + s ** 2)) == 0
    u = parse_distribution("uniform(-a, a)")
    assert sp.simplify(u.moment(2) - u.params[1] ** 2 / 3) == 0


@pytest.mark.parametrize("text, match", [
    ("student(3)", "unknown distribution 'student'.*choose one of"),
    ("normal(0)", "normal takes 2 argument"),
    ("normal(0, __import__('os'))", "__import__"),
    ("normal(0, s.real)", "unsupported construct"),
    ("normal(0, w)", "may not use the names"),
    ("", "empty distribution"),
    ("uniform(2, 1)", "LOW < HIGH"),
    ("normal(0, -1)", "STD must be positive"),
])
def test_bad_distributions_are_refused_with_a_useful_message(text, match):
    with pytest.raises(InputError, match=match):
        parse_distribution(text)


def test_joint_density_is_parsed_in_w_and_b():
    init = parse_joint("exp(-(w^2 + b^2)/2)/(2*pi)")
    assert sp.simplify(init.joint_density() - sp.exp(-(W ** 2 + B ** 2) / 2) / (2 * sp.pi)) == 0
    with pytest.raises(ParseError, match="neither w nor b"):
        parse_joint("exp(-x^2)")
    with pytest.raises(ParseError, match="__class__"):
        parse_joint("w.__class__")


def test_independent_product_and_discrete_weights():
    init = independent(normal(0, 1), laplace(0, 1))
    assert sp.simplify(init.joint_density()
                       - sp.exp(-W ** 2 / 2) / sp.sqrt(2 * sp.pi) * sp.exp(-sp.Abs(B)) / 2) == 0
    assert independent(rademacher(), uniform(-1, 1)).weight_atoms()
    with pytest.raises(InputError, match="discrete"):
        independent(rademacher(), uniform(-1, 1)).joint_density()
    with pytest.raises(InputError, match="bias law must have a density"):
        independent(normal(0, 1), rademacher())
