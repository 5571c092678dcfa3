"""Safe parsing of user text into SymPy expressions.

User text (command line, files) never reaches :func:`eval`, :func:`sympy.sympify`
or :func:`sympy.parsing.sympy_parser.parse_expr`.  It is parsed by Python's
:mod:`ast` *only* (which executes nothing) and the tree is walked against a
whitelist: numbers, declared names, the operators ``+ - * / ** ^`` (``^`` means
power), parentheses, and calls of whitelisted mathematical functions.  Anything
else -- attribute access, subscripts, ``lambda``, keyword arguments, strings,
comparisons, unknown names, dunder names -- is refused with a :class:`ParseError`
naming the offending token and its column.

Examples
--------
>>> from ibsym.core.parsing import parse_expression
>>> parse_expression("(a*b - 1)^2/2", names="a b")
(a*b - 1)**2/2
>>> parse_expression("__import__('os')", names="a b")
Traceback (most recent call last):
...
ibsym.core.errors.ParseError: unknown function '__import__' at column 1 of "__import__('os')"; ...
"""
from __future__ import annotations

import ast
import keyword
import re
from collections.abc import Callable, Iterable, Mapping

import sympy as sp

from ibsym.core.errors import ParseError

__all__ = [
    "FUNCTIONS",
    "parse_expression",
    "parse_names",
    "parse_assignments",
    "parse_number",
]

#: Whitelisted functions: name -> (SymPy callable, number of arguments).
FUNCTIONS: dict[str, tuple[Callable[..., sp.Expr], int]] = {
    "sin": (sp.sin, 1),
    "cos": (sp.cos, 1),
    "tan": (sp.tan, 1),
    "exp": (sp.exp, 1),
    "log": (sp.log, 1),
    "sqrt": (sp.sqrt, 1),
    "tanh": (sp.tanh, 1),
    "sinh": (sp.sinh, 1),
    "cosh": (sp.cosh, 1),
    "atan": (sp.atan, 1),
    "asinh": (sp.asinh, 1),
    "arcsinh": (sp.asinh, 1),
    "arctan": (sp.atan, 1),
    "abs": (sp.Abs, 1),
    "Abs": (sp.Abs, 1),
    "sign": (sp.sign, 1),
    "sigmoid": (lambda x: 1 / (1 + sp.exp(-x)), 1),
    "softplus": (lambda x: sp.log(1 + sp.exp(x)), 1),
    "erf": (sp.erf, 1),
    "max": (sp.Max, 2),
    "min": (sp.Min, 2),
}

#: Whitelisted constants.
CONSTANTS: dict[str, sp.Expr] = {"pi": sp.pi, "E": sp.E}

_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def _fail(kind: str, token: str, node: ast.AST | None, text: str, hint: str) -> ParseError:
    col = getattr(node, "col_offset", -1) + 1 if node is not None else 0
    where = f" at column {col}" if col > 0 else ""
    return ParseError(f"{kind} '{token}'{where} of \"{text}\"; {hint}", token=token, column=col)


def parse_names(names: str | Iterable[str]) -> tuple[str, ...]:
    """Split and validate a list of parameter names.

    Parameters
    ----------
    names : str or iterable of str
        ``"a b"``, ``"a,b"`` or ``["a", "b"]``.

    Returns
    -------
    tuple of str

    Examples
    --------
    >>> parse_names("a, b  c")
    ('a', 'b', 'c')
    """
    if isinstance(names, str):
        items = [s for s in re.split(r"[\s,]+", names.strip()) if s]
    else:
        items = [str(s) for s in names]
    if not items:
        raise ParseError("no parameter names given; give them as e.g. --params \"a b\"")
    seen: set[str] = set()
    for n in items:
        if not _NAME_RE.match(n) or keyword.iskeyword(n) or n.startswith("_"):
            raise ParseError(
                f"invalid parameter name '{n}'; names are letters, digits and '_' "
                "starting with a letter", token=n)
        if n in FUNCTIONS or n in CONSTANTS or n == "h":
            raise ParseError(
                f"parameter name '{n}' is reserved (a function, a constant or the step size h); "
                "choose another name", token=n)
        if n in seen:
            raise ParseError(f"parameter name '{n}' is given twice", token=n)
        seen.add(n)
    return tuple(items)


def parse_expression(
    text: str,
    names: str | Iterable[str] | Mapping[str, sp.Expr] | None = None,
    *,
    allow_free_names: bool = False,
    functions: Mapping[str, tuple[Callable[..., sp.Expr], int]] | None = None,
    max_length: int = 10_000,
) -> sp.Expr:
    """Parse ``text`` into a SymPy expression without evaluating any code.

    Parameters
    ----------
    text : str
        The expression, e.g. ``"(a*b - 1)**2/2"``; ``^`` is accepted for powers.
    names : str, iterable of str or mapping, optional
        Declared names.  Strings/iterables become real SymPy symbols; a mapping
        gives the object each name stands for.
    allow_free_names : bool, default False
        Accept undeclared identifiers as (real) symbols -- used for symbolic
        hyper-parameters of distributions.  Dunder names are refused anyway.
    functions : mapping, optional
        Function whitelist; default :data:`FUNCTIONS`.
    max_length : int, default 10000
        Longer texts are refused.

    Returns
    -------
    sympy.Expr

    Raises
    ------
    ParseError
        Naming the offending token and its column.

    Examples
    --------
    >>> parse_expression("exp(-x^2)*sin(pi*y)", names="x y")
    exp(-x**2)*sin(pi*y)
    """
    if not isinstance(text, str):
        raise ParseError(f"expected a text expression, got {type(text).__name__}")
    if len(text) > max_length:
        raise ParseError(f"expression is {len(text)} characters long; the limit is {max_length}")
    if not text.strip():
        raise ParseError("empty expression")
    fns = dict(FUNCTIONS if functions is None else functions)
    table: dict[str, sp.Expr] = {}
    if isinstance(names, Mapping):
        table.update({str(k): v for k, v in names.items()})
    elif names is not None and (names.strip() if isinstance(names, str) else list(names)):
        table.update({n: sp.Symbol(n, real=True) for n in parse_names(names)})
    source = text.replace("^", "**")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        col = exc.offset or 0
        raise ParseError(f"syntax error at column {col} of \"{text}\": {exc.msg}",
                         token=(exc.text or "").strip()[:20], column=col) from None

    allowed = ", ".join(sorted(table)) or "(none)"
    fn_list = ", ".join(sorted(fns))

    def visit(node: ast.AST) -> sp.Expr:
        if isinstance(node, ast.Expression):
            return visit(node.body)
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
                raise _fail("unsupported constant", repr(node.value), node, text,
                            "only numbers are allowed")
            if isinstance(node.value, float):
                return sp.Rational(repr(node.value)) if abs(node.value) < 1e15 else sp.Float(node.value)
            return sp.Integer(node.value)
        if isinstance(node, ast.Name):
            n = node.id
            if n.startswith("__") or n.startswith("_"):
                raise _fail("unknown name", n, node, text,
                            f"allowed names: {allowed}; allowed functions: {fn_list}")
            if n in table:
                return table[n]
            if n in CONSTANTS:
                return CONSTANTS[n]
            if allow_free_names and _NAME_RE.match(n) and n not in fns:
                sym = sp.Symbol(n, real=True)
                table[n] = sym
                return sym
            raise _fail("unknown name", n, node, text,
                        f"allowed names: {allowed}; allowed functions: {fn_list}")
        if isinstance(node, ast.BinOp):
            left, right = visit(node.left), visit(node.right)
            op = node.op
            if isinstance(op, ast.Add):
                return left + right
            if isinstance(op, ast.Sub):
                return left - right
            if isinstance(op, ast.Mult):
                return left * right
            if isinstance(op, ast.Div):
                if right == 0:
                    raise _fail("division by zero", "/", node, text, "check the expression")
                return left / right
            if isinstance(op, ast.Pow):
                return left ** right
            raise _fail("unsupported operator", type(op).__name__, node, text,
                        "allowed operators: + - * / ** ^")
        if isinstance(node, ast.UnaryOp):
            operand = visit(node.operand)
            if isinstance(node.op, ast.USub):
                return -operand
            if isinstance(node.op, ast.UAdd):
                return operand
            raise _fail("unsupported operator", type(node.op).__name__, node, text,
                        "allowed operators: + - * / ** ^")
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name):
                visit(node.func)  # raises for lambda, attribute access, ...
                raise _fail("unsupported call", "(", node, text,
                            f"only whitelisted functions may be called: {fn_list}")
            fname = node.func.id
            if fname not in fns:
                raise _fail("unknown function", fname, node, text,
                            f"allowed functions: {fn_list}")
            if node.keywords:
                raise _fail("keyword argument", node.keywords[0].arg or "**", node, text,
                            "functions take positional arguments only")
            fn, nargs = fns[fname]
            if len(node.args) != nargs:
                raise _fail("wrong number of arguments to", fname, node, text,
                            f"{fname} takes {nargs} argument(s)")
            return fn(*[visit(a) for a in node.args])
        token = {
            ast.Attribute: ".", ast.Subscript: "[", ast.Lambda: "lambda",
            ast.Compare: "comparison", ast.BoolOp: "and/or", ast.IfExp: "if",
            ast.List: "[", ast.Tuple: ",", ast.Dict: "{", ast.Set: "{",
            ast.JoinedStr: "f-string", ast.Starred: "*",
        }.get(type(node), type(node).__name__)
        if isinstance(node, ast.Attribute):
            token = "." + node.attr
        raise _fail("unsupported construct", token, node, text,
                    "only numbers, declared names, + - * / ** and whitelisted functions are allowed")

    return visit(tree)


def parse_number(text: str) -> sp.Expr:
    """Parse a number (``0.5``, ``1/3``, ``1e-8``, ``-2``) exactly.

    Examples
    --------
    >>> parse_number("1/3"), parse_number("0.25"), parse_number("1e-8")
    (1/3, 1/4, 1/100000000)
    """
    try:
        expr = parse_expression(text, names=())
    except ParseError as exc:
        raise ParseError(f"expected a number, got \"{text}\" ({exc})", token=exc.token,
                         column=exc.column) from None
    if not expr.is_number:
        raise ParseError(f"expected a number, got \"{text}\"", token=text)
    return sp.nsimplify(expr) if isinstance(expr, sp.Float) else expr


def parse_assignments(
    text: str, names: Iterable[str] | None = None, *, what: str = "value"
) -> dict[str, sp.Expr]:
    """Parse ``"a=0.5, b=2"`` into ``{"a": 1/2, "b": 2}`` (exact numbers).

    Parameters
    ----------
    text : str
        Comma-separated ``name=number`` pairs.
    names : iterable of str, optional
        If given, every name must be one of them.
    what : str
        Word used in error messages (``"initial value"``, ``"hyper-parameter"``).

    Examples
    --------
    >>> parse_assignments("a=0.3, b=1.7")
    {'a': 3/10, 'b': 17/10}
    """
    out: dict[str, sp.Expr] = {}
    allowed = set(names) if names is not None else None
    for part in [p for p in re.split(r"[,;]", text) if p.strip()]:
        if "=" not in part:
            raise ParseError(f"expected name=number in \"{part.strip()}\" of \"{text}\"",
                             token=part.strip())
        key, val = (s.strip() for s in part.split("=", 1))
        if not _NAME_RE.match(key):
            raise ParseError(f"invalid name '{key}' in \"{text}\"", token=key)
        if allowed is not None and key not in allowed:
            raise ParseError(f"unknown {what} name '{key}'; expected one of: "
                             f"{', '.join(sorted(allowed))}", token=key)
        if key in out:
            raise ParseError(f"{what} '{key}' is given twice in \"{text}\"", token=key)
        out[key] = parse_number(val)
    if not out:
        raise ParseError(f"no {what}s found in \"{text}\"; write e.g. \"a=0.5,b=2\"")
    return out
