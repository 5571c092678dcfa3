"""``ibsym verify``: fitted error orders of the modified equation against the iterates."""
from __future__ import annotations

import argparse
import json
import sys

from ibsym.bea.procedure import modified_equation
from ibsym.core.errors import InputError
from ibsym.core.parsing import finite_float, parse_assignments, parse_float
from ibsym.cli._common import (add_max_atoms_argument, add_problem_arguments, check_order,
                               loss_from_args, max_atoms_from_args, optimizer_from_args,
                               optimizer_help)

EPILOG = """examples:
  ibsym verify gd --loss "(a*b-1)**2/2" --params "a b" --init "a=0.3,b=1.7" --order 3
  ibsym verify heavy-ball --hyper beta=0.5 --loss "(a*b-1)**2/2" --params "a b" \\
        --init "a=0.3,b=1.7" --order 2 --steps "0.02,0.01,0.005,0.0025"
  ibsym verify adam --hyper beta=0.5 --hyper rho=0.6 --hyper eps=0.2 --loss "(a*b-1)**2/2" \\
        --params "a b" --init "a=0.3,b=1.7" --order 2 --T 0.5 --steps "0.01,0.005,0.0025,0.00125"
  ibsym verify sgd --batch "(a*b-1)^2/2" --batch "(2*a*b+1)^2/2" --params "a b" \\
        --init "a=0.3,b=1.7" --order 1 --T 0.96
      optimizers with memory start from the true initial state; the flow starts from the
      derived initial value θ_0 + h s_1 + h² s_2 + … ("initial_shift" in the JSON)
      Adam/RMSProp: the expansion needs h ≪ 1 − ρ, h ≪ 1 − β and h‖∇²L‖/√ε ≪ 1;
      verify warns (stderr, "warnings" in the JSON) when the steps are outside it
  ibsym verify gd --loss "log(cosh(a*b-1))" --params "a b" --init "a=0.3,b=1.7" \\
        --steps "0.04,0.02,0.01,0.005" --plot orders.png --json
exit status: 0 all slopes within 0.15 of k+1, 1 otherwise (or divergence), 2 bad input
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("verify", help="verify a modified equation numerically (error orders)",
                       description="Run the optimizer for a ladder of step sizes, integrate the "
                                   "modified flows truncated at orders 0..K from the right initial "
                                   "value, and fit the log-log slope of the global error over "
                                   "[T/2, T] per order (expected K+1).",
                       epilog=EPILOG + "\n" + optimizer_help(), formatter_class=argparse.RawDescriptionHelpFormatter)
    add_problem_arguments(p, loss_required=True)
    p.add_argument("--init", required=True, metavar="POINT", help='θ_0, e.g. "a=0.3,b=1.7"')
    p.add_argument("--T", type=str, default="1.0", help="horizon (default 1.0)")
    p.add_argument("--steps", default=None, help="step-size ladder, e.g. 0.04,0.02,0.01,0.005 (default: chosen from the predicted error constants: each order gets >= 3 errors above the float64 floor)")
    p.add_argument("--precision", choices=("auto", "float64", "extended"), default="auto",
                   help="auto (default): extended precision (mpmath iterates, fixed-point "
                        "flows) for the orders the float64 floor leaves unmeasured on the "
                        "automatic ladder; extended: also on a given --steps ladder")
    p.add_argument("--plot", metavar="FILE", help="write a log-log error plot (PNG/PDF)")
    p.add_argument("--json", action="store_true", help="JSON on stdout")
    add_max_atoms_argument(p)
    p.set_defaults(handler=run)


#: ``--budget`` default (seconds) and what to try when it runs out (see ``ibsym.cli``).
BUDGET_SECONDS = 120.0
BUDGET_ADVICE = "lower --order, use fewer or larger --steps or a shorter --T"


def run(args: argparse.Namespace) -> int:
    order = check_order(args.order)
    max_atoms = max_atoms_from_args(args)
    loss = loss_from_args(args, required=True)
    opt = optimizer_from_args(args)
    theta0 = {k: finite_float(v, f"initial value {k}") for k, v in
              parse_assignments(args.init, [str(p) for p in loss.params], what="initial value").items()}
    steps = None if args.steps is None else _steps(args.steps)
    T = parse_float(args.T, "--T", positive=True)
    if args.plot is not None:
        _check_plot_path(args.plot)
    from ibsym.numeric.verify import verify
    budget = args.budget_obj
    eq = modified_equation(opt, loss, order, budget=budget, max_atoms=max_atoms)
    rep = verify(eq, theta0, T=T, steps=steps, progress=not args.json, budget=budget,
                 precision=args.precision)
    budget.check("writing the report")
    if rep.warnings:
        for w in rep.warnings:
            print(f"ibsym verify: warning: {w}", file=sys.stderr)
    if args.plot is not None:
        from ibsym.plots import save_figure
        from ibsym.plots.orders import error_orders
        save_figure(error_orders(rep), args.plot, dpi=120)       # atomic: never a truncated file
    if args.json:
        json.dump(rep.to_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(rep)
    return 0 if rep.passed else 1


def _check_plot_path(path: str) -> None:
    """Refuse an unwritable --plot before the (long) verification runs."""
    from pathlib import Path

    from matplotlib.backend_bases import FigureCanvasBase

    if not path.strip() or "\x00" in path:
        raise InputError(f"--plot {path!r}: not a file name")
    p = Path(path)
    ext = p.suffix.lstrip(".").lower()
    kinds = FigureCanvasBase.get_supported_filetypes()
    if ext not in kinds:
        raise InputError(f"--plot {path}: unknown figure format '{ext}'; choose one of "
                         f"{', '.join(sorted(kinds))}")
    try:
        if p.is_dir():
            raise InputError(f"--plot {path}: is a folder; give a file name such as orders.png")
        if not (p.parent if str(p.parent) else Path(".")).is_dir():
            raise InputError(f"--plot {path}: folder {p.parent} does not exist")
    except OSError as exc:  # e.g. a name longer than the file system allows
        raise InputError(f"--plot: cannot write {path[:60]!r}: {exc.strerror or exc}") from None


def _steps(text: str) -> list[float]:
    """The --steps ladder: distinct positive finite numbers, comma-separated."""
    items = [t.strip() for t in text.split(",")]
    if not any(items):
        raise InputError('--steps: give the step sizes, e.g. --steps "0.04,0.02,0.01,0.005"')
    if not all(items):
        raise InputError(f'--steps: empty entry in "{text[:60]}"; write e.g. "0.04,0.02,0.01"')
    steps = [parse_float(t, "--steps", positive=True) for t in items]
    for i, h in enumerate(steps):
        if h in steps[:i]:
            raise InputError(f"--steps: step size {items[i]} is given twice; the fitted slopes "
                             "need distinct step sizes")
    if len(steps) < 2:
        raise InputError("--steps: give at least two step sizes to fit an order")
    return steps
