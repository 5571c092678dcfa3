"""Argument helpers shared by the ``derive`` and ``verify`` subcommands."""
from __future__ import annotations

import argparse
from typing import Any

from ..errors import InputError
from ..losses import Loss
from ..optimizers import OPTIMIZERS, get_optimizer
from ..parsing import parse_assignments


def add_problem_arguments(p: argparse.ArgumentParser, *, loss_required: bool) -> None:
    """OPTIMIZER, --loss, --params, --hyper, --order."""
    p.add_argument("optimizer", metavar="OPTIMIZER",
                   help=f"optimizer name; one of: {', '.join(sorted(OPTIMIZERS))}")
    p.add_argument("--loss", required=loss_required, metavar="EXPR",
                   help='loss expression, e.g. "(a*b-1)**2/2" (numbers, parameter names, '
                        "+ - * / ** and sin cos exp log sqrt tanh ...)")
    p.add_argument("--params", metavar="NAMES", help='parameter names, e.g. "a b"')
    p.add_argument("--hyper", action="append", default=[], metavar="NAME=VALUE",
                   help="hyper-parameter value (repeatable); unset ones stay symbolic")
    p.add_argument("--order", type=int, default=2, metavar="K",
                   help="highest power of h in the modified field (default 2)")


def loss_from_args(args: argparse.Namespace) -> Loss | None:
    """The loss given on the command line (None for the generic result)."""
    if args.loss is None:
        if args.params:
            raise InputError("--params given without --loss")
        return None
    if not args.params:
        raise InputError('--loss needs --params with the parameter names, e.g. --params "a b"')
    return Loss.parse(args.loss, args.params)


def optimizer_from_args(args: argparse.Namespace) -> Any:
    """The optimizer with the --hyper values fixed."""
    values: dict[str, Any] = {}
    for item in args.hyper:
        values.update(parse_assignments(item, what="hyper-parameter"))
    return get_optimizer(args.optimizer, **values)


def check_order(k: int) -> int:
    if k < 0 or k > 12:
        raise InputError(f"--order must be between 0 and 12, got {k}")
    return k
