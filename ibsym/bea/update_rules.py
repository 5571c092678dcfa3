"""Optimizers written as text: a small declarative update-rule language.

A rule file (or string) describes one optimizer step, statement by statement,
in the same whitelist grammar as losses -- nothing is ever ``eval``'d::

    # signSGD with momentum, sign smoothed as m/√(m² + ε)
    name = signum
    hyper = beta eps
    state m = 0
    m = beta*m + (1 - beta)*grad(theta)
    theta = theta - h*m/sqrt(m^2 + eps)

* ``name = …``, ``hyper = …`` (hyper-parameter names), optionally ``rule = …``
  (a one-line description) and ``regime = …`` are metadata;
* ``state NAME = EXPR`` declares an auxiliary state field and its initial
  value (an expression of ``theta`` and ``grad(theta)``, e.g. ``0`` or
  ``grad(theta)``);
* ``NAME = EXPR`` assigns, in order; later statements see earlier values.
  ``theta`` must be assigned (the new parameters); the final value of each
  state field is its new state.

Expressions may use numbers, ``theta``, ``h``, the hyper-parameters, the state
fields and earlier names, ``+ - * / ** ^`` (coordinate-wise for vectors),
``sqrt``, ``grad(x)`` (∇L at the point x) and the reductions ``norm(x)`` (Euclidean),
``dot(x, y)`` and ``sum(x)`` (scalars, broadcast against vectors; concrete losses only).
``theta_next`` on a right-hand side makes the rule *implicit*: the new parameters θ_{n+1}
appear in their own update (proximal point ``theta = theta - h*grad(theta_next)``, implicit
momentum, the trapezoidal rule); each step solves θ_{n+1} = G(θ_n, θ_{n+1}) -- order by order
in h when traced, by Newton's method when run (:mod:`ibsym.bea.implicit`).
The parsed rule is an ordinary :class:`~ibsym.bea.optimizers.Optimizer`: the BEA
traces it, :mod:`ibsym.numeric.kernels` runs it.

Examples
--------
>>> opt = parse_update_rule('''
... name = extragradient
... theta = theta - h*grad(theta - h*grad(theta))
... ''')
>>> opt.name, opt.state_names
('extragradient', ())
"""
from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sympy as sp

from ibsym.core.errors import InputError, ParseError
from ibsym.bea.optimizers import NAME_ALPHABET, Optimizer
from ibsym.core.export import escape_text
from ibsym.core.parsing import _NAME_RE, FUNCTIONS, parse_expression, parse_names

__all__ = ["parse_update_rule", "load_update_rule", "GRAD"]

#: The gradient oracle as it appears in parsed rules.
GRAD = sp.Function("grad")

_RESERVED = {"theta", "theta_next", "h", "grad", "state", "name", "hyper", "rule", "regime",
             "period", "group", "schedule", "repeat"}
_META = {"name", "hyper", "rule", "regime", "period"}
_REPEAT_RE = re.compile(r"^repeat\s+(\S+)\s*:$")


class _Env(dict):
    """Names of a rule while it runs; a parameter group reads as θ restricted to it."""

    groups: dict[str, Any] = {}

    def __missing__(self, key: str) -> Any:
        if key in self.groups:
            from ibsym.bea.optimizers import part
            return part(self["theta"], self.groups[key])
        raise KeyError(key)
_NONSMOOTH = {"abs", "Abs", "sign", "max", "min"}


#: Reductions across coordinates as they appear in parsed rules.
NORM, DOT, VSUM = sp.Function("norm"), sp.Function("dot"), sp.Function("sum")


def _functions() -> dict[str, tuple[Callable[..., sp.Expr], int]]:
    fns = {k: v for k, v in FUNCTIONS.items() if k == "sqrt"}
    fns["grad"] = (GRAD, 1)
    fns["norm"], fns["dot"], fns["sum"] = (NORM, 1), (DOT, 2), (VSUM, 1)
    return fns


def _compile(expr: sp.Expr, where: str) -> Callable[[dict, Any, bool], Any]:
    """Turn a parsed SymPy expression into an evaluator over series or NumPy values."""
    if expr.is_Symbol:
        name = str(expr)
        return lambda env, grad, numeric: env[name]
    if expr.is_Number:
        if not expr.is_Rational:
            raise ParseError(f"{where}: only exact numbers are supported, got {expr}")
        return lambda env, grad, numeric: float(expr) if numeric else expr
    if expr.is_Add or expr.is_Mul:
        parts = [_compile(a, where) for a in expr.args]
        # evaluate numbers and scalars first so that vectors meet scalars, not vice versa
        add = expr.is_Add

        def ev(env, grad, numeric):
            vals = [p(env, grad, numeric) for p in parts]
            acc = vals[0]
            for v in vals[1:]:
                acc = acc + v if add else acc * v
            return acc
        return ev
    if expr.is_Pow:
        base = _compile(expr.base, where)
        e = expr.exp
        if not e.is_Rational:
            raise ParseError(f"{where}: powers need rational exponents, got {e}")

        def ev(env, grad, numeric):
            b = base(env, grad, numeric)
            return b ** (float(e) if numeric else e)
        return ev
    if isinstance(expr, sp.Function) and expr.func == GRAD:
        arg = _compile(expr.args[0], where)
        return lambda env, grad, numeric: grad(arg(env, grad, numeric))
    if isinstance(expr, sp.Function) and expr.func in (NORM, DOT, VSUM):
        from ibsym.bea import optimizers as _o
        fn = {NORM: _o.norm, DOT: _o.dot, VSUM: _o.vsum}[expr.func]
        args = [_compile(a, where) for a in expr.args]
        return lambda env, grad, numeric: fn(*(a(env, grad, numeric) for a in args))
    raise ParseError(f"{where}: '{expr.func}' of a vector is not available in update rules; "
                     "use arithmetic, sqrt, grad(...), norm(x), dot(x, y) and sum(x)")


def _positive_int(text: str, where: str, what: str) -> int:
    t = text.strip()
    if not re.fullmatch(r"[0-9]{1,4}", t) or int(t) < 1:
        raise ParseError(f"{where}: {what} must be a positive integer (at most 9999), got "
                         f"{t[:20]!r}", token=t[:20])
    return int(t)


def parse_update_rule(text: str, *, default_name: str = "custom") -> Optimizer:
    """Parse a rule text (see the module docstring) into an :class:`Optimizer`."""
    meta: dict[str, str] = {}
    states: list[tuple[str, Callable]] = []
    steps: list[Any] = []              # (name, fn) or ("repeat", count, [(name, fn), ...])
    groups: dict[str, tuple[str, ...]] = {}
    schedules: dict[str, list[Callable]] = {}
    block: tuple[int, list[tuple[str, Callable]]] | None = None   # the open repeat block
    names: dict[str, sp.Symbol] = {"theta": sp.Symbol("theta"), "h": sp.Symbol("h"),
                                   "theta_next": sp.Symbol("theta_next")}
    implicit = False
    hyper: tuple[str, ...] = ()
    assigned_theta = False
    fns = _functions()
    margin = None                      # the indentation of the first statement: the left edge
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        where = f"line {lineno}"
        lead = len(raw) - len(raw.lstrip())
        margin = lead if margin is None else margin
        indented = lead > margin
        if block is not None and not indented:
            if not block[1]:
                raise ParseError(f"{where}: the repeat block above has no indented statements")
            block = None
        if block is None and indented and steps:
            raise ParseError(f"{where}: an indented line outside a 'repeat N:' block")
        r = _REPEAT_RE.match(line)
        if r:
            if block is not None:
                raise ParseError(f"{where}: repeat blocks do not nest", token="repeat")
            count = _positive_int(r.group(1), where, "a repeat count")
            block = (count, [])
            steps.append(("repeat", count, block[1]))
            continue
        m = re.match(r"^(state\s+|group\s+|schedule\s+)?([A-Za-z][A-Za-z0-9_]*)\s*=\s*(.+)$",
                     line)
        if not m:
            # the line itself is not echoed: the file may not be a rule file at all
            raise ParseError(f"{where}: expected 'NAME = EXPR', 'state NAME = EXPR', "
                             "'group NAME = PARAMS', 'schedule NAME = V1, V2, ...' or "
                             "'repeat N:'")
        kind = (m.group(1) or "").strip()
        is_state, key, rhs = kind == "state", m.group(2), m.group(3).strip()
        if kind in ("group", "schedule"):
            if steps or states:
                raise ParseError(f"{where}: declare {kind}s before the state fields and "
                                 "statements", token=key)
            if key in _RESERVED or key in names or key in groups or key in schedules:
                raise ParseError(f"{where}: {kind} {key} is declared twice or is a reserved "
                                 "or hyper-parameter name", token=key)
            if kind == "group":
                groups[key] = parse_names(rhs)
            else:
                vals = [v.strip() for v in rhs.split(",")]
                if not all(vals):
                    raise ParseError(f"{where}: schedule {key} has an empty entry; write "
                                     "'schedule c = 1/2, 3/2'", token=key)
                consts = {k: names[k] for k in hyper}
                schedules[key] = [_compile(sp.sympify(parse_expression(v, consts)), where)
                                  for v in vals]
            names[key] = sp.Symbol(key)
            continue
        if block is not None and (is_state or key in _META):
            raise ParseError(f"{where}: only assignments may stand inside a repeat block",
                             token=key)
        if key in _META and not is_state:
            if steps or states:
                raise ParseError(f"{where}: metadata '{key}' must come before the statements",
                                 token=key)
            meta[key] = rhs.strip().strip('"').strip("'")
            if key == "period":
                _positive_int(meta[key], where, "the period (steps of time h per update)")
            if key == "name":
                bad = next((c for c in meta[key] if c not in NAME_ALPHABET), None)
                if bad is not None or not meta[key] or len(meta[key]) > 80:
                    raise ParseError(f"{where}: an optimizer name is at most 80 letters, digits, "
                                     "spaces and - _ . + [ ] ,"
                                     + (f"; found {bad!r}" if bad is not None else ""),
                                     token=bad or "")
            if key == "hyper":
                hyper = parse_names(meta[key]) if meta[key] else ()
                for hname in hyper:
                    if hname in _RESERVED:
                        raise ParseError(f"{where}: '{hname}' cannot be a hyper-parameter name",
                                         token=hname)
                    names[hname] = sp.Symbol(hname)
            continue
        if key == "theta_next":
            raise ParseError(f"{where}: 'theta_next' is the new iterate θ_(n+1), which the rule "
                             "solves for; assign theta (e.g. theta = theta - h*grad(theta_next))",
                             token=key)
        if not _NAME_RE.match(key) or (key in _RESERVED and key != "theta") \
                or key in schedules or (key in groups and is_state):
            raise ParseError(f"{where}: '{key}' cannot be assigned", token=key)
        for bad in _NONSMOOTH:
            if re.search(rf"\b{bad}\s*\(", rhs):
                raise ParseError(f"{where}: '{bad}' is not differentiable; backward error "
                                 "analysis needs a smooth rule -- smooth it, e.g. "
                                 "sign(x) ≈ x/sqrt(x^2 + eps)", token=bad)
        try:
            expr = parse_expression(rhs, names, functions=fns)
        except ParseError as exc:
            # name the offending token and column, not the rest of the line
            msg = str(exc).replace(f' of "{rhs}"', "")
            if rhs in msg and rhs != exc.token:
                msg = msg.replace(rhs, "…")
            raise ParseError(f"{where}: {msg}", token=exc.token, column=exc.column) from None
        used = {str(x) for x in sp.sympify(expr).free_symbols} & set(schedules)
        if used and block is None:
            raise ParseError(f"{where}: schedule {sorted(used)[0]} is used outside a "
                             "'repeat N:' block (it takes one value per repetition)",
                             token=sorted(used)[0])
        for u in used:
            if len(schedules[u]) != block[0]:
                raise ParseError(f"{where}: schedule {u} has {len(schedules[u])} values for "
                                 f"a block repeated {block[0]} times", token=u)
        fn = _compile(sp.sympify(expr), where)
        uses_next = names["theta_next"] in sp.sympify(expr).free_symbols
        if is_state and uses_next:
            raise ParseError(f"{where}: the initial value of state field '{key}' cannot use "
                             "theta_next (there is no new iterate before the first step)",
                             token="theta_next")
        implicit |= uses_next
        if is_state:
            if steps:
                raise ParseError(f"{where}: declare state fields before the update statements",
                                 token=key)
            if key == "theta" or key in dict(states):
                raise ParseError(f"{where}: state field '{key}' declared twice or reserved",
                                 token=key)
            states.append((key, fn))
            names[key] = sp.Symbol(key)
        else:
            (block[1] if block is not None else steps).append((key, fn))
            names.setdefault(key, sp.Symbol(key))
            assigned_theta |= key == "theta" or key in groups
    if not assigned_theta:
        raise ParseError("the rule never assigns theta (the new parameters); "
                         "add a line such as 'theta = theta - h*grad(theta)'")
    if block is not None and not block[1]:
        raise ParseError("the last repeat block has no indented statements")
    if any(len(st) == 3 for st in steps) and "period" not in meta:
        raise ParseError("a rule with a 'repeat N:' block must declare 'period = K' (the steps "
                         "of time h one update advances, e.g. the number of gradient steps)")
    state_names = tuple(k for k, _ in states)
    period = int(meta["period"]) if "period" in meta else 1

    def run(env, key, fn, grad, numeric, hp):
        value = fn(env, grad, numeric)
        if key in groups:            # a group assigned: only its coordinates of θ change
            from ibsym.bea.optimizers import part
            theta = env["theta"]
            value = theta + part(value - theta, hp[key])
            key = "theta"
        env[key] = value

    def update(theta, state, grad, h, hp, theta_next=None):
        numeric = not hasattr(theta, "alg")
        env = _Env({"theta": theta, "h": h, **{k: hp[k] for k in hyper},
                    **{k: state[k] for k in state_names}})
        env.groups = {g: hp[g] for g in groups}
        if implicit:
            env["theta_next"] = theta_next
        for item in steps:
            if len(item) == 3:                       # ("repeat", count, statements)
                for i in range(item[1]):
                    for name, values in schedules.items():
                        env[name] = values[i](env, grad, numeric)
                    for key, fn in item[2]:
                        run(env, key, fn, grad, numeric, hp)
            else:
                run(env, item[0], item[1], grad, numeric, hp)
        return env["theta"], {k: env[k] for k in state_names}

    def init(theta, grad, hp):
        numeric = not hasattr(theta, "alg")
        env = _Env({"theta": theta, "h": 0, **{k: hp[k] for k in hyper}})
        env.groups = {g: hp[g] for g in groups}
        out = {}
        for key, fn in states:
            v = fn(env, grad, numeric)
            out[key] = theta * 0 + v if not hasattr(v, "alg") and not hasattr(v, "shape") else v
        return out

    body = "; ".join(line.split("#", 1)[0].strip() for line in text.splitlines()
                     if line.split("#", 1)[0].strip()
                     and line.split("=", 1)[0].strip() not in _META)
    return Optimizer(meta.get("name", default_name), update, hyper=hyper, state_names=state_names,
                     init=init if states else None, rule=meta.get("rule", body),
                     steps_per_update=period, groups=tuple(groups.items()),
                     rule_latex=r"\text{" + escape_text(meta.get("name", default_name))
                     + r" (user-defined rule)}",
                     regime=meta.get("regime", ""), implicit=implicit)


def load_update_rule(path: str | Path, *, any_extension: bool = False) -> Optimizer:
    """Read and parse a rule file.

    Parameters
    ----------
    path : str or Path
        The file; it must be named ``*.opt`` unless ``any_extension`` is true (the
        CLI's ``--rule-file``), so that no other file is read as a rule by accident.
    any_extension : bool, default False

    Errors name the line, the offending token and its column -- never the content of
    the line.
    """
    p = Path(path)
    if p.suffix != ".opt" and not any_extension:
        raise InputError(f"a rule file must be named NAME.opt, got {p.name}; "
                         "pass --rule-file to read a file with another name as a rule")
    if not p.is_file():
        raise InputError(f"no optimizer rule file at {p}")
    if p.stat().st_size > 100_000:
        raise InputError(f"rule file {p} is larger than 100 kB")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(f"rule file {p} is not UTF-8 text") from None
    stem = p.stem if all(c in NAME_ALPHABET for c in p.stem) and p.stem else "custom"
    return parse_update_rule(text, default_name=stem)
