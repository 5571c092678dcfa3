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
import math
import re
from collections.abc import Callable, Iterable, Mapping

import sympy as sp

from ibsym.core.errors import InputError, ParseError

__all__ = [
    "FUNCTIONS",
    "parse_expression",
    "parse_names",
    "parse_assignments",
    "parse_number",
    "parse_float",
    "finite_float",
    "MAX_DEPTH",
    "MAX_DIGITS",
    "MAX_EXPONENT",
    "MAX_LITERAL_DIGITS",
]

#: Nesting limit of an expression (calls, powers, signs, parentheses); chains of
#: ``+ -`` and of ``* /`` count as one level, so a long sum is fine.
MAX_DEPTH = 50
#: Digits of an integer literal.
MAX_LITERAL_DIGITS = 100
#: Digits of the numerator or denominator of an exact number computed while parsing.
MAX_DIGITS = 1000
#: Largest magnitude of a numeric exponent (``x**1000`` yes, ``10**10**10`` no).
MAX_EXPONENT = 1000

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


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))


def _softplus(x: float) -> float:
    return x + math.log1p(math.exp(-x)) if x > 0 else math.log1p(math.exp(x))


#: Floating-point shadows of the whitelisted functions: every *constant* sub-expression
#: is also evaluated in double precision (O(1), never hangs, unlike SymPy's evalf), and a
#: constant that is not a finite real double (``log(0)``, ``sqrt(-1)``, ``exp(1000)``,
#: ``(-8)**(1/3)``) is refused.  Functions missing here (e.g. ``grad`` of update rules)
#: are not checked.
_FLOAT_FUNCTIONS: dict[str, Callable[..., float]] = {
    "sin": math.sin, "cos": math.cos, "tan": math.tan, "exp": math.exp, "log": math.log,
    "sqrt": math.sqrt, "tanh": math.tanh, "sinh": math.sinh, "cosh": math.cosh,
    "atan": math.atan, "asinh": math.asinh, "arcsinh": math.asinh, "arctan": math.atan,
    "abs": abs, "Abs": abs, "sign": lambda x: float((x > 0) - (x < 0)),
    "sigmoid": _sigmoid, "softplus": _softplus, "erf": math.erf, "max": max, "min": min,
}
_CONSTANT_FLOATS: dict[str, float] = {"pi": math.pi, "E": math.e}
#: SymPy results that are never a loss value.
_NOT_FINITE = (sp.S.Infinity, sp.S.NegativeInfinity, sp.S.ComplexInfinity, sp.S.NaN)
#: Operator groups flattened into one chain (left-associative).
_CHAINS = {ast.Add: "add", ast.Sub: "add", ast.Mult: "mul", ast.Div: "mul"}

_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def _fail(kind: str, token: object, node: ast.AST | None, text: str, hint: str) -> ParseError:
    token = str(token)
    col = getattr(node, "col_offset", -1) + 1 if node is not None else 0
    where = f" at column {col}" if col > 0 else ""
    return ParseError(f"{kind} '{token}'{where} of \"{_short(text, 80)}\"; {hint}", token=token,
                      column=col)


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
    max_depth: int = MAX_DEPTH,
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
    max_depth : int, default :data:`MAX_DEPTH`
        Deeper nesting (calls, powers, signs, parentheses) is refused.

    Notes
    -----
    Numbers are bounded while parsing, so that no input can hang the parser or the
    work after it: integer literals up to :data:`MAX_LITERAL_DIGITS` digits, exact
    results up to :data:`MAX_DIGITS` digits, numeric exponents up to
    ±:data:`MAX_EXPONENT`.  Every constant sub-expression must be a finite real
    number in double precision: ``1e999``, ``0**-1``, ``log(0)``, ``sqrt(-1)`` or
    ``exp(1000)`` are refused instead of becoming ``oo``/``zoo``/complex losses.

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
    if "#" in text:  # Python would read the rest as a comment: "(1-0.5)#)" is not 1/2
        raise ParseError(f"unsupported character '#' at column {text.index('#') + 1} of "
                         f"\"{_short(text, 80)}\"", token="#", column=text.index("#") + 1)
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
        raise ParseError(f"syntax error at column {col} of \"{_short(text, 80)}\": {exc.msg}",
                         token=(exc.text or "").strip()[:20], column=col) from None
    except (RecursionError, MemoryError):
        raise ParseError(f"expression \"{_short(text)}\" is nested too deeply to parse; the "
                         f"limit is {max_depth} levels", token="(") from None
    _check_depth(tree, text, max_depth)

    allowed = ", ".join(sorted(table)) or "(none)"
    fn_list = ", ".join(sorted(fns))

    def number(value: sp.Expr, node: ast.AST) -> float | None:
        """Refuse non-finite or oversized numbers; the float value of a constant."""
        token = _Lazy(node, text)
        if any(value is bad for bad in _NOT_FINITE):
            raise _fail("not a finite number:", token, node, text,
                        f"the value is {value} (division by zero, 0**-1, log(0) ...)")
        if value.is_Rational:
            digits = max(abs(value.p).bit_length(), value.q.bit_length()) * 0.30103
            if digits > MAX_DIGITS:
                raise _fail("number too large:", token, node, text,
                            f"exact numbers are limited to {MAX_DIGITS} digits")
        if value.is_Number:
            try:
                f = float(value)
            except (OverflowError, ValueError, TypeError):
                f = math.inf
            if not math.isfinite(f):
                raise _fail("number out of floating-point range:", token, node, text,
                            "numbers must be finite doubles (|x| < 1.8e308)")
            return f
        return None

    def shadow(f: Callable[..., float], args: list[float], node: ast.AST) -> float:
        """The double-precision value of a constant; refuse if it is not finite and real."""
        token = _Lazy(node, text)
        try:
            value = float(f(*args))
        except OverflowError:
            value = math.inf
        except (ValueError, ZeroDivisionError, TypeError):
            value = math.nan
        if math.isinf(value):
            raise _fail("constant out of floating-point range:", token, node, text,
                        "constants must be finite doubles (|x| < 1.8e308)")
        if math.isnan(value):
            raise _fail("constant is not a finite real number:", token, node, text,
                        "check the arguments (log(0), sqrt(-1), 0**-1, (-8)**(1/3) ...)")
        return value

    def build(make: Callable[[], sp.Expr], node: ast.AST, token: str) -> sp.Expr:
        try:
            return make()
        except (ArithmeticError, ValueError, RecursionError, MemoryError) as exc:
            raise _fail("cannot evaluate", token, node, text,
                        f"{type(exc).__name__} while building it") from None

    def visit(node: ast.AST) -> tuple[sp.Expr, float | None]:
        """SymPy value and, for constants, its double value (None otherwise)."""
        if isinstance(node, ast.Expression):
            return visit(node.body)
        if isinstance(node, ast.Constant):
            v = node.value
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise _fail("unsupported constant", repr(v), node, text,
                            "only numbers are allowed")
            if isinstance(v, float):
                if not math.isfinite(v):
                    raise _fail("number out of floating-point range:", _segment(node, text),
                                node, text, "numbers must be finite doubles (|x| < 1.8e308)")
                value = sp.Rational(repr(v)) if abs(v) < 1e15 else sp.Float(v)
            else:
                if v.bit_length() * 0.30103 > MAX_LITERAL_DIGITS:
                    raise _fail("integer literal too long:", _segment(node, text)[:20] + "...",
                                node, text, f"integers are limited to {MAX_LITERAL_DIGITS} digits")
                value = sp.Integer(v)
            return value, number(value, node)
        if isinstance(node, ast.Name):
            n = node.id
            if n.startswith("__") or n.startswith("_"):
                raise _fail("unknown name", n, node, text,
                            f"allowed names: {allowed}; allowed functions: {fn_list}")
            if n in table:
                return table[n], None
            if n in CONSTANTS:
                return CONSTANTS[n], _CONSTANT_FLOATS.get(n)
            if allow_free_names and _NAME_RE.match(n) and n not in fns:
                sym = sp.Symbol(n, real=True)
                table[n] = sym
                return sym, None
            raise _fail("unknown name", n, node, text,
                        f"allowed names: {allowed}; allowed functions: {fn_list}")
        if isinstance(node, ast.BinOp) and type(node.op) in _CHAINS:
            return chain(node)
        if isinstance(node, ast.BinOp):
            if not isinstance(node.op, ast.Pow):
                raise _fail("unsupported operator", type(node.op).__name__, node, text,
                            "allowed operators: + - * / ** ^")
            (base, fb), (expo, fe) = visit(node.left), visit(node.right)
            if fe is not None:
                if abs(fe) > MAX_EXPONENT:
                    raise _fail("exponent too large:", _segment(node.right, text)[:40], node,
                                text, f"numeric exponents are limited to ±{MAX_EXPONENT}")
                if base.is_Rational and expo.is_Number:
                    digits = abs(fe) * max(abs(base.p).bit_length(), base.q.bit_length()) * 0.30103
                    if digits > MAX_DIGITS:
                        raise _fail("number too large:", _segment(node, text)[:40], node, text,
                                    f"exact numbers are limited to {MAX_DIGITS} digits")
            fv = shadow(math.pow, [fb, fe], node) \
                if fb is not None and fe is not None else None
            value = build(lambda: base ** expo, node, "**")
            f = number(value, node)
            return value, (f if f is not None else fv)
        if isinstance(node, ast.UnaryOp):
            operand, f = visit(node.operand)
            if isinstance(node.op, ast.USub):
                return -operand, (None if f is None else -f)
            if isinstance(node.op, ast.UAdd):
                return operand, f
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
            args = [visit(a) for a in node.args]
            fv = None
            if all(f is not None for _, f in args) and fns[fname] is FUNCTIONS.get(fname):
                fv = shadow(_FLOAT_FUNCTIONS[fname], [f for _, f in args], node)
            value = build(lambda: fn(*[a for a, _ in args]), node, fname)
            f = number(value, node)
            return value, (f if f is not None else fv)
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

    def chain(node: ast.BinOp) -> tuple[sp.Expr, float | None]:
        """A left-associative chain ``x0 op1 x1 op2 x2 ...`` of + - or of * /, iteratively
        (a sum of thousands of terms needs no recursion)."""
        group = _CHAINS[type(node.op)]
        links: list[ast.BinOp] = []
        while isinstance(node, ast.BinOp) and _CHAINS.get(type(node.op)) == group:
            links.append(node)
            node = node.left
        links.reverse()
        acc, f = visit(node)
        if group == "add":
            terms, fsum = [acc], f
            for link in links:
                term, ft = visit(link.right)
                neg = isinstance(link.op, ast.Sub)
                terms.append(-term if neg else term)
                fsum = None if fsum is None or ft is None else fsum + (-ft if neg else ft)
            value = build(lambda: sp.Add(*terms), links[-1], "+")
            fv = number(value, links[-1])
            if fv is None and fsum is not None and not math.isfinite(fsum):
                number(sp.oo, links[-1])
            return value, (fv if fv is not None else fsum)
        for link in links:
            right, fr = visit(link.right)
            if isinstance(link.op, ast.Div):
                if right == 0:
                    raise _fail("division by zero", "/", link, text, "check the expression")
                acc = build(lambda: acc / right, link, "/")
                f = None if f is None or fr is None else shadow(
                    lambda x, y: x / y, [f, fr], link)
            else:
                acc = build(lambda: acc * right, link, "*")
                f = None if f is None or fr is None else shadow(
                    lambda x, y: x * y, [f, fr], link)
            fa = number(acc, link)
            f = fa if fa is not None else f
        return acc, f

    return visit(tree)[0]


def _short(text: str, n: int = 40) -> str:
    return text if len(text) <= n else text[:n] + "..."


class _Lazy:
    """The source text of a node, computed only when a message needs it."""

    def __init__(self, node: ast.AST, text: str):
        self.node, self.text = node, text

    def __str__(self) -> str:
        return _short(_segment(self.node, self.text))


def _segment(node: ast.AST, text: str) -> str:
    """The source text of a node (for messages; ``^`` was read as ``**``)."""
    try:
        seg = ast.get_source_segment(text.replace("^", "**").strip(), node)
    except Exception:  # noqa: BLE001 -- positions only serve the message
        seg = None
    return seg if seg else type(node).__name__


def _check_depth(tree: ast.AST, text: str, limit: int) -> None:
    """Refuse trees nested deeper than ``limit`` (iterative; + - and * / chains are flat)."""
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            raise _fail("expression nested too deeply:", _short(_segment(node, text), 20), node,
                        text, f"more than {limit} levels of calls, powers, signs or "
                              "parentheses; simplify it")
        group = _CHAINS.get(type(node.op)) if isinstance(node, ast.BinOp) else None
        for child in ast.iter_child_nodes(node):
            flat = (group is not None and child is node.left  # type: ignore[attr-defined]
                    and isinstance(child, ast.BinOp) and _CHAINS.get(type(child.op)) == group)
            stack.append((child, depth if flat else depth + 1))


def parse_number(text: str) -> sp.Expr:
    """Parse a number (``0.5``, ``1/3``, ``1e-8``, ``-2``) exactly.

    The number must be finite and real (``inf``, ``nan``, ``1e999``, ``sqrt(-1)`` are
    refused) and within the bounds of :func:`parse_expression`.

    Examples
    --------
    >>> parse_number("1/3"), parse_number("0.25"), parse_number("1e-8")
    (1/3, 1/4, 1/100000000)
    >>> parse_number("inf")
    Traceback (most recent call last):
    ...
    ibsym.core.errors.ParseError: expected a finite number, got "inf"
    """
    if not isinstance(text, str):
        raise ParseError(f"expected a text number, got {type(text).__name__}")
    if text.strip().lstrip("+-").strip().lower() in _NON_FINITE_WORDS:
        raise ParseError(f"expected a finite number, got \"{text.strip()}\"", token=text.strip())
    try:
        expr = parse_expression(text, names=())
    except ParseError as exc:
        raise ParseError(f"expected a number, got \"{_short(text)}\" ({exc})", token=exc.token,
                         column=exc.column) from None
    if not expr.is_number:
        raise ParseError(f"expected a number, got \"{_short(text)}\"", token=text)
    return sp.nsimplify(expr) if isinstance(expr, sp.Float) else expr


_NON_FINITE_WORDS = {"inf", "infinity", "nan", "oo", "zoo"}


def finite_float(value: object, what: str = "value", *, positive: bool = False,
                 nonnegative: bool = False) -> float:
    """A number as a finite Python float, or an :class:`InputError` naming ``what``.

    Parameters
    ----------
    value : number or SymPy number
    what : str
        Name used in the message (``"--T"``, ``"step size"``).
    positive, nonnegative : bool
        Also require ``value > 0`` (``>= 0``).

    Examples
    --------
    >>> finite_float(parse_number("1/4"), "--h", positive=True)
    0.25
    >>> finite_float(-1, "--T", positive=True)
    Traceback (most recent call last):
    ...
    ibsym.core.errors.InputError: --T must be positive, got -1
    """
    try:
        f = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        raise InputError(f"{what} must be a finite real number, got {_short(str(value))}") from None
    if not math.isfinite(f):
        raise InputError(f"{what} must be a finite real number, got {_short(str(value))}")
    if positive and not f > 0:
        raise InputError(f"{what} must be positive, got {_short(str(value))}")
    if nonnegative and not f >= 0:
        raise InputError(f"{what} must be non-negative, got {_short(str(value))}")
    return f


def parse_float(text: str, what: str = "value", *, positive: bool = False,
                nonnegative: bool = False) -> float:
    """Parse a number (:func:`parse_number`) into a finite float (:func:`finite_float`).

    Examples
    --------
    >>> parse_float("1/8", "--h", positive=True)
    0.125
    """
    try:
        value = parse_number(text)
    except ParseError as exc:
        raise ParseError(f"{what}: {exc}", token=exc.token, column=exc.column) from None
    return finite_float(value, what, positive=positive, nonnegative=nonnegative)


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
        try:
            out[key] = parse_number(val)
        except ParseError as exc:
            raise ParseError(f"{what} {key}: {exc}", token=exc.token, column=exc.column) from None
    if not out:
        raise ParseError(f"no {what}s found in \"{text}\"; write e.g. \"a=0.5,b=2\"")
    return out
