"""NumPy source for a modified equation: generated so that nothing supplied by a user runs.

The exported ``.py`` module is built from SymPy's code printer plus three rules:

* every name in the generated code is an identifier *made here* (``_p0`` for the
  first parameter, ``_k0`` for the first symbolic hyper-parameter, ``_x0`` for
  common subexpressions); the users' names (which may be anything a SymPy
  ``Symbol`` can be called) appear only inside ``repr()``'d string literals of
  the data tables ``PARAMS``, ``HYPER_NAMES`` and ``SYMBOLS``;
* every text that goes into the file (docstrings, names, the loss) goes through
  :func:`repr`, so no quote, backslash or newline can end a literal;
* the finished source is parsed again and its syntax tree is checked against a
  whitelist (names made here, ``numpy.*``/``scipy.special.*`` attributes, a few
  builtins, only the string literals emitted on purpose).  A source that fails
  the check raises :class:`~ibsym.core.errors.InputError` -- it is never written.

Symbolic hyper-parameters (and any other symbolic constant of the terms) become
*keyword-only* arguments of ``terms`` and ``field``, named after the original when
that is a safe identifier (ASCII, not a keyword, not a builtin, not a name the module
uses such as ``numpy``, ``theta``, ``h`` or ``order``) and ``hyper_0``, ``hyper_1``, …
otherwise; ``HYPER_NAMES`` maps each keyword to the original name.

Examples
--------
>>> import ibsym as ib
>>> src = numpy_module_source(ib.modified_equation("heavy-ball", ib.losses.bilinear(), order=1))
>>> "def field(theta, h, order=ORDER, *, beta):" in src
True
>>> ns = {}; exec(compile(src, "<ibsym>", "exec"), ns)
>>> ns["field"]([0.5, 1.5], 0.1, beta=0.5).round(6)   # = eq with hyper={"beta": 0.5}, evaluated
array([1.29375, 0.38125])
"""
from __future__ import annotations

import ast
import builtins
import keyword
from typing import Any

from ibsym.core.errors import InputError

__all__ = ["numpy_module_source", "jax_module_source", "is_safe_identifier",
           "check_generated_source"]

#: Names the generated module itself defines or uses (never available for keywords).
MODULE_NAMES = frozenset({
    "numpy", "scipy", "theta", "h", "order", "terms", "field", "flat", "F", "j",
    "PARAMS", "ORDER", "HYPER", "HYPER_NAMES", "SYMBOLS",
    "jax", "modified_loss", "implicit_regularizer", "LOSS_ORDER",
})
#: Builtins the generated code may call.
_BUILTINS = frozenset({"sum", "range", "float", "abs"})
#: Modules whose attributes the generated code may use.
_MODULES = {"numpy": "numpy", "scipy.special": "scipy.special"}
#: The same for the JAX export (``jax.numpy`` only: every function must be traceable).
_JAX_MODULES = {"jax": "jax", "jax.numpy": "jax.numpy"}


def is_safe_identifier(name: Any, taken: set[str] | frozenset[str] = frozenset()) -> bool:
    """Whether ``name`` can be a keyword argument of the generated functions.

    ASCII (Python folds Unicode identifiers by NFKC, so ``ｎｕｍｐｙ`` *is* ``numpy``),
    an identifier, not a (soft) keyword, not a builtin, not private, not a name of
    the module, not already taken.

    Examples
    --------
    >>> [is_safe_identifier(n) for n in ("beta", "numpy", "theta", "lambda", "len", "β", "_x")]
    [True, False, False, False, False, False, False]
    """
    return (isinstance(name, str) and name.isascii() and name.isidentifier()
            and not keyword.iskeyword(name) and not keyword.issoftkeyword(name)
            and not hasattr(builtins, name) and not name.startswith("_")
            and name not in MODULE_NAMES and name not in taken)


def _tuple(items: list[str]) -> str:
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


def _fail(why: str) -> InputError:
    return InputError(f"cannot export NumPy code: {why}")


def check_generated_source(source: str, *, strings: set[str], local_names: set[str],
                           modules: dict[str, str] | None = None) -> None:
    """Parse ``source`` and check its tree against the whitelist (see the module docstring).

    Raises
    ------
    InputError
        For any name, attribute, call or string literal the generator did not emit on purpose.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise _fail(f"the generated source does not compile ({exc.msg}, line {exc.lineno})") from None
    modules = _MODULES if modules is None else modules
    allowed = set(MODULE_NAMES) | set(_BUILTINS) | set(local_names)
    inner: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if node.id not in allowed:
                raise _fail(f"unexpected name {node.id!r} in the generated source")
        elif isinstance(node, ast.Attribute) and id(node) not in inner:
            chain = []
            cur: ast.AST = node
            while isinstance(cur, ast.Attribute):
                chain.append(cur.attr)
                cur = cur.value
                inner.add(id(cur))
            dotted = ".".join([getattr(cur, "id", "?")] + chain[::-1])
            mod, _, attr = dotted.rpartition(".")
            if not isinstance(cur, ast.Name) or mod not in modules or attr.startswith("_"):
                raise _fail(f"unexpected attribute {dotted!r} in the generated source")
        elif isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)):
            if node.value not in strings:
                raise _fail("unexpected string literal in the generated source")
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names]
            if isinstance(node, ast.ImportFrom) or any(n not in modules for n in names):
                raise _fail(f"unexpected import {names!r}")
        elif isinstance(node, (ast.Lambda, ast.Global, ast.Nonlocal, ast.With, ast.Try,
                               ast.ClassDef, ast.AsyncFunctionDef, ast.Await, ast.Yield,
                               ast.YieldFrom, ast.NamedExpr, ast.JoinedStr,
                               ast.Delete)):
            raise _fail(f"unexpected {type(node).__name__} in the generated source")


def numpy_module_source(eq: Any, *, module_doc: str | None = None,
                        with_loss: bool = False) -> str:
    """Python source of a module evaluating F_0..F_k of a concrete modified equation.

    The module defines ``PARAMS`` (parameter names), ``ORDER``, ``HYPER`` (keyword
    names of the symbolic hyper-parameters), ``HYPER_NAMES`` and ``SYMBOLS`` (generated
    identifier → original name), ``terms(theta, *, <hyper>)`` returning an array
    (k+1, d, ...) and ``field(theta, h, order=ORDER, *, <hyper>)`` = Σ h^j F_j.
    Common subexpressions are shared across all components and orders.  With
    ``with_loss=True`` it also defines ``LOSS_ORDER``, ``modified_loss(theta, h, *, <hyper>)``
    = Σ_{j ≤ LOSS_ORDER} h^j Φ_j and ``implicit_regularizer(theta, h, *, <hyper>)`` = the same
    without Φ_0 (see :meth:`~ibsym.bea.equations.ModifiedEquation.modified_loss`).

    Parameters
    ----------
    eq : ModifiedEquation
        A result for a concrete loss.
    module_doc : str, optional
        The module docstring (any text; it is written as a ``repr``'d literal).
    with_loss : bool
        Also export the modified loss (when no correction is a gradient field beyond
        order 0, ``LOSS_ORDER`` is 0 and the regularizer is 0).

    Raises
    ------
    InputError
        For a generic result, or when the expressions use something that has no
        NumPy form.
    """
    return _module_source(eq, "numpy", module_doc=module_doc, with_loss=with_loss)


def jax_module_source(eq: Any, *, module_doc: str | None = None, with_loss: bool = True) -> str:
    """Python source of a JAX module (``jax.numpy``, traceable: ``jax.grad``/``jit`` work).

    The same functions as :func:`numpy_module_source` (with the modified loss by default),
    written with SymPy's JAX printer, so that a training loop can add the implicit
    regularizer explicitly (Barrett & Dherin's explicit IGR: ``loss + implicit_regularizer``).
    Arrays keep the dtype JAX gives them: enable ``jax_enable_x64`` for float64.

    Examples
    --------
    >>> import ibsym as ib
    >>> src = jax_module_source(ib.modified_equation("gd", ib.losses.bilinear(), order=1))
    >>> "import jax.numpy" in src and "def implicit_regularizer(theta, h):" in src
    True
    """
    try:
        return _module_source(eq, "jax", module_doc=module_doc, with_loss=with_loss)
    except InputError as exc:
        raise InputError(str(exc).replace("cannot export NumPy code", "cannot export JAX code")
                         ) from None


def _loss_potentials(eq: Any) -> list:
    from ibsym.core.errors import BudgetExceeded
    try:
        ml = eq.modified_loss()
    except (InputError, BudgetExceeded):
        return []
    pots = list(ml.potentials)[: int(ml.valid_order) + 1]
    return pots


def _module_source(eq: Any, backend: str, *, module_doc: str | None,
                   with_loss: bool) -> str:
    import sympy as sp
    from sympy.printing.numpy import JaxPrinter, SciPyPrinter

    if eq.is_generic:
        raise InputError(("NumPy" if backend == "numpy" else "JAX") + " code needs a concrete loss")
    params = tuple(eq.params)
    subs = eq.substitute_hyper()
    exprs = [sp.sympify(x, strict=True).xreplace(subs) for F in eq.terms for x in F]
    pots = ([sp.sympify(x, strict=True).xreplace(subs) for x in _loss_potentials(eq)]
            if with_loss else [])
    free: set = set().union(*[e.free_symbols for e in exprs + pots]) - set(params)
    hyper_order = [s for s in eq.optimizer.symbolic_hyper if s in free]
    hyper_order += sorted(free - set(hyper_order), key=lambda s: (s.name, str(s.assumptions0)))

    # users' symbols -> identifiers made here
    rename: dict[sp.Symbol, sp.Symbol] = {}
    symbols_table: dict[str, str] = {}
    for i, p in enumerate(params):
        rename[p] = sp.Symbol(f"_p{i}")
        symbols_table[f"_p{i}"] = p.name
    kw_names: list[str] = []
    taken: set[str] = set()
    for i, s in enumerate(hyper_order):
        rename[s] = sp.Symbol(f"_k{i}")
        symbols_table[f"_k{i}"] = s.name
        kw = s.name if is_safe_identifier(s.name, taken) else f"hyper_{i}"
        while kw in taken or kw in MODULE_NAMES:
            kw = "hyper_" + kw
        taken.add(kw)
        kw_names.append(kw)
    exprs = [e.xreplace(rename) for e in exprs]
    pots = [e.xreplace(rename) for e in pots]
    leftover = set().union(*[e.free_symbols for e in exprs + pots]) - set(rename.values())
    if leftover:
        raise _fail("symbols remain after renaming")
    repl, reduced = sp.cse(exprs, symbols=sp.numbered_symbols("_x"))
    settings = {"fully_qualified_modules": True, "allow_unknown_functions": False,
                "strict": True}
    pr = SciPyPrinter(settings) if backend == "numpy" else JaxPrinter(settings)
    modules = _MODULES if backend == "numpy" else _JAX_MODULES
    np_ = "numpy" if backend == "numpy" else "jax.numpy"
    try:
        assigns = [(str(sym), pr.doprint(val)) for sym, val in repl]
        flat = ", ".join(pr.doprint(e) for e in reduced)
        lrepl, lreduced = sp.cse(pots, symbols=sp.numbered_symbols("_y")) if pots else ([], [])
        lassigns = [(str(sym), pr.doprint(val)) for sym, val in lrepl]
        lflat = [pr.doprint(e) for e in lreduced]
    except Exception as exc:  # the printer's errors name SymPy classes; keep only that
        raise _fail(f"{type(exc).__name__} while printing the expressions "
                    f"(a function without a {'NumPy/SciPy' if backend == 'numpy' else 'JAX'} "
                    "form?)") from None
    imports = sorted(m for m in pr.module_imports)
    bad = [m for m in imports if m not in modules]
    if bad:
        raise _fail(f"the expressions need module(s) {', '.join(bad)}")

    k, d = int(eq.order), len(params)
    strings: set[str] = set()

    def lit(text: str) -> str:
        strings.add(text)
        return repr(text)

    names = [p.name for p in params]
    doc = module_doc if module_doc is not None else (
        f"Modified equation of {eq.optimizer.name} to order {k} for L = {eq.loss.expr}, "
        "generated by ibsym.")
    kwsig = (", *, " + ", ".join(kw_names)) if kw_names else ""
    kwcall = (", " + ", ".join(f"{kw}={kw}" for kw in kw_names)) if kw_names else ""
    unpack = ", ".join(f"_p{i}" for i in range(d)) + ("," if d == 1 else "")
    lines = [
        lit(str(doc)),
        *(["import numpy"] if backend == "numpy" else ["import jax", "import jax.numpy"]),
        *[f"import {m}" for m in imports if m not in ("numpy", "jax", "jax.numpy")],
        "",
        "PARAMS = " + _tuple([lit(n) for n in names]),
        f"ORDER = {k}",
        "HYPER = " + _tuple([lit(kw) for kw in kw_names]),
        "HYPER_NAMES = {" + ", ".join(f"{lit(kw)}: {lit(s.name)}"
                                      for kw, s in zip(kw_names, hyper_order)) + "}",
        "SYMBOLS = {" + ", ".join(f"{lit(ident)}: {lit(orig)}"
                                  for ident, orig in symbols_table.items()) + "}",
        "", "",
        f"def terms(theta{kwsig}):",
        "    " + lit(f"F_0..F_{k} at theta = ({', '.join(names)}); array ({k + 1}, {d}, ...)."
                     + (f" Keyword arguments: {', '.join(kw_names)} (see HYPER_NAMES)."
                        if kw_names else "")),
        *(["    theta = numpy.asarray(theta, dtype=float)"] if backend == "numpy" else
          ["    theta = jax.numpy.asarray(theta) * 1.0"]),
        f"    {unpack} = theta",
        *[f"    _k{i} = {kw}" for i, kw in enumerate(kw_names)],
        *[f"    {sym} = {val}" for sym, val in assigns],
        *([f"    flat = numpy.broadcast_arrays({flat}, theta[0])[:-1]",
           f"    return numpy.reshape(numpy.array(flat, dtype=float), ({k + 1}, {d}) + numpy.shape(theta)[1:])"]
          if backend == "numpy" else
          [f"    flat = jax.numpy.broadcast_arrays({flat}, theta[0])[:-1]",
           f"    return jax.numpy.reshape(jax.numpy.stack(flat) * 1.0, ({k + 1}, {d}) + jax.numpy.shape(theta)[1:])"]),
        "", "",
        f"def field(theta, h, order=ORDER{kwsig}):",
        "    " + lit("Sum of h**j F_j for j <= order."),
        f"    F = terms(theta{kwcall})",
        "    return sum(h ** j * F[j] for j in range(order + 1))",
        "",
    ]
    if with_loss:
        lo = len(lflat) - 1
        lines[lines.index(f"ORDER = {k}") + 1:lines.index(f"ORDER = {k}") + 1] = [
            f"LOSS_ORDER = {lo}"]
        lines += [
            "",
            f"def modified_loss(theta, h{kwsig}):",
            "    " + lit(f"L~ = sum of h**j Phi_j for j <= LOSS_ORDER = {lo} (the modified loss, "
                         "whose negative gradient is the field to that order)."),
            "    theta = " + np_ + ".asarray(theta" + (", dtype=float)" if backend == "numpy"
                                                      else ") * 1.0"),
            f"    {unpack} = theta",
            *[f"    _k{i} = {kw}" for i, kw in enumerate(kw_names)],
            *[f"    {sym} = {val}" for sym, val in lassigns],
            "    return " + (" + ".join(f"h ** {j} * ({e})" for j, e in enumerate(lflat))
                             if lflat else "0.0 * " + "_p0"),
            "", "",
            f"def implicit_regularizer(theta, h{kwsig}):",
            "    " + lit("The modified loss minus its order-0 term Phi_0 (the loss, or its "
                         "rescaled form): the implicit regularizer, to add to a training loss "
                         "explicitly."),
            "    theta = " + np_ + ".asarray(theta" + (", dtype=float)" if backend == "numpy"
                                                      else ") * 1.0"),
            f"    {unpack} = theta",
            *[f"    _k{i} = {kw}" for i, kw in enumerate(kw_names)],
            *[f"    {sym} = {val}" for sym, val in lassigns],
            "    return " + (" + ".join(f"h ** {j} * ({e})" for j, e in enumerate(lflat)
                                        if j >= 1) if len(lflat) > 1 else "0.0 * _p0"),
            "",
        ]
    source = "\n".join(lines)
    local = ({f"_p{i}" for i in range(d)} | {f"_k{i}" for i in range(len(kw_names))}
             | {str(sym) for sym, _ in repl} | {str(sym) for sym, _ in lrepl} | set(kw_names)
             )
    check_generated_source(source, strings=strings, local_names=local, modules=modules)
    return source
