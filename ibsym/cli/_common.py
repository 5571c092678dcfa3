"""Argument helpers shared by the ``derive`` and ``verify`` subcommands."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ibsym.core.errors import InputError
from ibsym.core.losses import Loss
from ibsym.bea.optimizers import OPTIMIZERS, get_optimizer
from ibsym.core.parsing import parse_assignments, parse_number


def optimizer_help() -> str:
    """One paragraph per registered optimizer: its name and the update it means."""
    lines = ["optimizers (OPTIMIZER is one of these names, or a rule file NAME.opt):"]
    for name in sorted(OPTIMIZERS):
        opt = OPTIMIZERS[name]
        hyp = f" [hyper: {', '.join(opt.hyper)}]" if opt.hyper else ""
        lines.append(f"  {name}{hyp}\n      {opt.rule}")
    lines.append("  adam/rmsprop variants: --eps-outside (m̂/(√ν̂ + ε), PyTorch/Keras), "
                 "--no-bias-correction")
    lines.append("  rule file: 'name = ...', 'hyper = beta eps', 'state m = 0', then statements "
                 "such as 'm = beta*m + (1-beta)*grad(theta)' and 'theta = theta - h*m/sqrt(m^2 + eps)'")
    return "\n".join(lines)


def add_problem_arguments(p: argparse.ArgumentParser, *, loss_required: bool) -> None:
    """OPTIMIZER, --loss/--batch, --params, --hyper, --order, variant flags."""
    p.add_argument("optimizer", metavar="OPTIMIZER",
                   help=f"optimizer name ({', '.join(sorted(OPTIMIZERS))}) or a rule file "
                        "NAME.opt (see below)")
    p.add_argument("--loss", metavar="EXPR",
                   help='loss expression, e.g. "(a*b-1)**2/2" (numbers, parameter names, '
                        "+ - * / ** and sin cos exp log sqrt tanh ...)"
                        + (" (or --batch)" if loss_required else ""))
    p.add_argument("--batch", action="append", default=[], metavar="EXPR",
                   help="a mini-batch loss (repeat for each batch; the loss is their mean); "
                        "for sgd and minibatch-adam")
    p.add_argument("--eps-outside", action="store_true",
                   help="adam/rmsprop: ε outside the root, m̂/(√ν̂ + ε) (PyTorch); default "
                        "inside, m̂/√(ν̂ + ε) (Cattaneo et al.)")
    p.add_argument("--no-bias-correction", action="store_true",
                   help="adam/rmsprop: no bias correction (default: on)")
    p.add_argument("--params", metavar="NAMES", help='parameter names, e.g. "a b"')
    p.add_argument("--hyper", action="append", default=[], metavar="NAME=VALUE",
                   help="hyper-parameter value (repeatable); unset ones stay symbolic")
    p.add_argument("--rule-file", action="store_true",
                   help="read OPTIMIZER as a rule file even if it is not named NAME.opt")
    p.add_argument("--order", type=int, default=2, metavar="K",
                   help="highest power of h in the modified field (default 2)")


def loss_from_args(args: argparse.Namespace, *, required: bool = False) -> Loss | None:
    """The loss given on the command line (None for the generic result)."""
    if args.loss is not None and args.batch:
        raise InputError("give either --loss or --batch (mini-batch losses), not both")
    if args.loss is None and not args.batch:
        if args.params:
            raise InputError("--params given without --loss")
        if required:
            raise InputError('give the loss: --loss EXPR --params "a b" (or --batch EXPR '
                             "for each mini-batch)")
        return None
    if not args.params:
        raise InputError('--loss needs --params with the parameter names, e.g. --params "a b"')
    if args.batch:
        return Loss.from_batches(args.batch, args.params)
    return Loss.parse(args.loss, args.params)


def optimizer_from_args(args: argparse.Namespace) -> Any:
    """The optimizer (a registered name or a rule file) with the --hyper values fixed."""
    values: dict[str, Any] = {}
    for item in args.hyper:
        for key, value in parse_assignments(item, what="hyper-parameter").items():
            if key in values:
                raise InputError(f"hyper-parameter '{key}' is given twice (--hyper {key}=...); "
                                 "give each one once")
            values[key] = value
    name = args.optimizer
    rule_file = getattr(args, "rule_file", False)
    if name.endswith(".opt") or rule_file:
        from ibsym.bea.update_rules import load_update_rule
        if args.eps_outside or args.no_bias_correction:
            raise InputError("--eps-outside / --no-bias-correction apply to adam and rmsprop")
        opt = load_update_rule(name, any_extension=rule_file)
        return opt.with_hyper(**values) if values else opt
    if name.strip().lower() not in OPTIMIZERS and Path(name).is_file():
        # only NAME.opt (or --rule-file) is read: any other file is never opened
        raise InputError(f"unknown optimizer '{name}'; rule files are named NAME.opt "
                         "(or pass --rule-file to read this file as a rule)")
    options: dict[str, Any] = {}
    if args.eps_outside:
        options["eps_outside"] = True
    if args.no_bias_correction:
        options["bias_correction"] = False
    return get_optimizer(name, **options, **values)


#: Largest ``--max-atoms`` accepted (a ring with more generators is not practical).
MAX_ATOMS_LIMIT = 10_000


def add_max_atoms_argument(p: argparse.ArgumentParser) -> None:
    """``--max-atoms N``: the atom budget of the exact ring of a concrete loss."""
    from ibsym.bea.diffring import DEFAULT_MAX_ATOMS
    p.add_argument("--max-atoms", default=None, metavar="N",
                   help="atom budget of the exact ring of a concrete loss (default "
                        f"{DEFAULT_MAX_ATOMS}, at most {MAX_ATOMS_LIMIT}): how many "
                        "transcendental atoms (sin, exp, 1/cosh, roots, ...) the closure of "
                        "its derivatives may need; a loss needing more is refused, naming it")


def whole_number_option(raw: str, option: str, lo: int, hi: int, shown_hi: str | None = None
                        ) -> int:
    """The value of a whole-number option ``option`` in ``lo..hi``, parsed without eval
    (``shown_hi``: how the upper bound is printed in the message, e.g. ``10**8``)."""
    problem = (f"{option} must be a whole number from {lo} to {shown_hi or hi}, "
               f"got {raw[:40]!r}")
    try:
        n = parse_number(raw)
    except InputError:
        raise InputError(problem) from None
    if not n.is_Integer or not lo <= n <= hi:
        raise InputError(problem)
    return int(n)


def max_atoms_from_args(args: argparse.Namespace) -> int:
    """The ``--max-atoms`` value: a whole number in 1..MAX_ATOMS_LIMIT (default 200)."""
    from ibsym.bea.diffring import DEFAULT_MAX_ATOMS
    raw = getattr(args, "max_atoms", None)
    if raw is None:
        return DEFAULT_MAX_ATOMS
    return whole_number_option(raw, "--max-atoms", 1, MAX_ATOMS_LIMIT)


def check_order(k: int) -> int:
    if k < 0 or k > 12:
        raise InputError(f"--order must be between 0 and 12, got {k}")
    return k
