"""Parameter groups and periods of update rules.

* A *group* names loss parameters (alternating GDA: ``{"x": ("a",), "y": ("b",)}``);
  :func:`bind_groups` resolves the names against a loss, and the bound update finds each
  group as ``hp[name]`` -- a :class:`Group`, used with :func:`part` (θ restricted to it).
  The generic (∇L-notation) algebra has no coordinates and refuses groups.
* A *period* is the number of inner steps one update makes (Lookahead's k, a cyclic
  schedule's length): :func:`period_value` checks it is a positive integer.
"""
from __future__ import annotations

import keyword
import re
from dataclasses import dataclass, replace
from typing import Any

import sympy as sp

from ibsym.core.errors import InputError

__all__ = ["Group", "part", "bind_groups", "check_groups", "period_value", "check_period_spec"]

_IDENT_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def period_value(name: str, key: str, value: Any) -> int:
    """A period (inner steps per update) as a positive integer, or an InputError."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)                 # numeric runs hand hyper-parameters as floats
    v = sp.Integer(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(v, sp.Basic) or not v.is_number or not v.is_integer or v < 1:
        raise InputError(f"the period {key}={value} of '{name}' must be a positive integer (the "
                         f"number of inner steps per update), e.g. {key}=5")
    return int(v)


def check_period_spec(opt: Any) -> None:
    spu = opt.steps_per_update
    if spu == "batches":
        return
    if isinstance(spu, str):
        if spu not in opt.hyper:
            raise InputError(f"optimizer '{opt.name}': steps_per_update={spu!r} is neither "
                             "'batches' nor one of its hyper-parameters "
                             f"({', '.join(opt.hyper) or 'none'})")
        return
    if isinstance(spu, bool) or not isinstance(spu, int) or spu < 1:
        raise InputError(f"optimizer '{opt.name}': steps_per_update={spu!r} must be a positive "
                         "integer (inner steps per update), 'batches' or the name of an integer "
                         "hyper-parameter")


@dataclass(frozen=True)
class Group:
    """A group of parameters, resolved against a loss: its name and coordinate indices
    (what a bound update finds as ``hp[name]``; used with :func:`part`)."""

    name: str
    indices: tuple[int, ...]


def check_groups(opt: Any) -> None:
    """Normalize ``groups`` and guard the update of an unbound optimizer with groups."""
    g = opt.groups
    pairs = tuple((k, tuple(v)) for k, v in (g.items() if isinstance(g, dict) else g))
    seen: dict[str, str] = {}
    names: set[str] = set()
    for k, ps in pairs:
        if not isinstance(k, str) or not _IDENT_RE.match(k) or keyword.iskeyword(k):
            raise InputError(f"optimizer '{opt.name}': invalid group name {k!r}")
        if k in names:
            raise InputError(f"optimizer '{opt.name}': group {k} is declared twice")
        if k in opt.hyper or k in opt.state_names or k in ("theta", "h", "grad"):
            raise InputError(f"optimizer '{opt.name}': group name {k} is already a "
                             "hyper-parameter, a state field or reserved")
        names.add(k)
        if not ps:
            raise InputError(f"optimizer '{opt.name}': group {k} names no parameter")
        for p in ps:
            if not isinstance(p, str) or not _IDENT_RE.match(p):
                raise InputError(f"optimizer '{opt.name}': group {k} names {p!r}, which is not "
                                 "a parameter name")
            if p in seen:
                raise InputError(f"optimizer '{opt.name}': parameter {p} is in two groups "
                                 f"({seen[p]} and {k}); every parameter must be in exactly one")
            seen[p] = k
    object.__setattr__(opt, "groups", pairs)
    if pairs and not hasattr(opt.update, "_ibsym_raw_update"):
        raw = opt.update
        listing = ", ".join(k for k, _ in pairs)

        def unbound(theta, state, grad, h, hp):
            raise InputError(f"optimizer '{opt.name}' updates parameter groups ({listing}): "
                             "bind it to a loss first, opt.bind(loss) (modified_equation does; "
                             "verify uses the bound optimizer of the equation)")

        unbound._ibsym_raw_update = raw                  # type: ignore[attr-defined]
        object.__setattr__(opt, "update", unbound)
        if opt.init is not None:
            raw_init = opt.init

            def init(theta, grad, hp):
                return unbound(theta, None, grad, 0, hp)

            init._ibsym_raw_init = raw_init              # type: ignore[attr-defined]
            object.__setattr__(opt, "init", init)


def part(x: Any, group: Group | Any) -> Any:
    """x with the coordinates outside a parameter group set to zero, for NumPy vectors and
    traced series (``group`` is ``hp[name]`` of a bound update, or a :class:`Group`)."""
    if not isinstance(group, Group):
        raise InputError(f"part(x, group) takes a parameter group (hp['x'] in the update of "
                         f"an optimizer with groups), got {type(group).__name__}")
    if hasattr(x, "part"):
        return x.part(group.indices, f"the part of a vector in group {group.name}")
    if not hasattr(x, "shape"):
        raise InputError(f"part(x, {group.name}) takes a vector, got {type(x).__name__}")
    out = x * 0.0
    idx = list(group.indices)
    out[idx] = x[idx]
    return out


def bind_groups(opt: Any, loss: Any) -> Any:
    """:meth:`Optimizer.bind <ibsym.bea.optimizers.Optimizer.bind>`: the optimizer with its
    groups resolved against a loss's parameters (each group reaches the update as
    ``hp[name]``)."""
    if not opt.groups:
        return opt
    if loss is None or getattr(loss, "is_generic", False):
        raise InputError(f"optimizer '{opt.name}' updates parameter groups "
                         f"({', '.join(g for g, _ in opt.groups)}): the dimension-free "
                         "(∇L-notation) algebra has no split of θ into groups; derive on "
                         "a concrete loss whose parameters the groups name "
                         "(ib.modified_equation(optimizer, loss, order); CLI: --loss ... "
                         "--params ...)")
    params = tuple(str(p) for p in loss.params)
    if params == opt.bound_params:
        return opt
    where = {p: i for i, p in enumerate(params)}
    listing = "; ".join(f"{g} = {' '.join(ps)}" for g, ps in opt.groups)
    found: dict[str, Group] = {}
    for g, ps in opt.groups:
        unknown = [p for p in ps if p not in where]
        if unknown:
            raise InputError(f"optimizer '{opt.name}': group {g} names {', '.join(unknown)}"
                             f", not a parameter of the loss ({' '.join(params)})")
        found[g] = Group(g, tuple(sorted(where[p] for p in ps)))
    covered = {p for _, ps in opt.groups for p in ps}
    free = [p for p in params if p not in covered]
    if free:
        raise InputError(f"optimizer '{opt.name}': parameter {', '.join(free)} is in no "
                         f"group (groups: {listing}); every parameter must be in exactly one")
    raw = getattr(opt.update, "_ibsym_raw_update")
    raw_init = opt.init if opt.init is None else getattr(opt.init, "_ibsym_raw_init",
                                                            opt.init)

    def update(theta, state, grad, h, hp):
        return raw(theta, state, grad, h, {**hp, **found})

    def init(theta, grad, hp):
        return raw_init(theta, grad, {**hp, **found})

    update._ibsym_raw_update = raw                       # type: ignore[attr-defined]
    update._ibsym_bound = True                           # type: ignore[attr-defined]
    if raw_init is not None:
        init._ibsym_raw_init = raw_init                  # type: ignore[attr-defined]
    return replace(opt, update=update, init=None if raw_init is None else init,
                   bound_params=params)
