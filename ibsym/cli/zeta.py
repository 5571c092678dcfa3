"""``ibsym zeta``: the curvature penalty ζ(x) of a wide ReLU network's initialization."""
from __future__ import annotations

import argparse
import json
import sys

from ibsym.wide_relu.densities import independent, parse_distribution, parse_joint
from ibsym.core.errors import InputError
from ibsym.core.export import latex_document
from ibsym.core.parsing import finite_float, parse_assignments, parse_float
from ibsym.wide_relu.zeta import curvature_penalty

EPILOG = """examples:
  ibsym zeta --weight "normal(0, 1)" --bias "normal(0, 1)"
      ζ(x) = 2/(π (x² + 1)²)
  ibsym zeta --weight "normal(0, s_w)" --bias "normal(0, s_b)" --format latex
  ibsym zeta --weight rademacher --bias "uniform(-2, 2)" --at 0.5 --format json
  ibsym zeta --joint "exp(-(w^2 + b^2)/2)/(2*pi)" --degree 2 --at 1
  ibsym zeta --weight "uniform(-a, a)" --bias "uniform(-c, c)" --values "a=1,c=2" --at 1.5

DIST is one of normal(MEAN, STD), uniform(LOW, HIGH), laplace(MEAN, SCALE),
rademacher (±1 weights), cauchy(LOC, SCALE); arguments are numbers or symbols.
JSON always has "closed_form" and "latex"; with --at also "value" (ζ at X).
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("zeta", help="curvature penalty ζ(x) of an initialization (wide ReLU nets)",
                       description="Derive ζ(x) = ∫ |W|^(2k+1) p(W, -Wx) dW from the law of the "
                                   "first-layer weights and biases (Jin & Montúfar 2023); the "
                                   "trained wide network interpolates with penalty ∫ (g'')²/ζ.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weight", metavar="DIST", help='law of the input weights, e.g. "normal(0, 1)"')
    p.add_argument("--bias", metavar="DIST", help='law of the biases, e.g. "uniform(-2, 2)"')
    p.add_argument("--joint", metavar="EXPR",
                   help='joint density p(w, b) as an expression in w and b (instead of '
                        '--weight/--bias)')
    p.add_argument("--degree", type=int, default=1, metavar="K",
                   help="activation max(z, 0)^K (default 1: ReLU)")
    p.add_argument("--at", metavar="X", help="evaluate ζ at this point")
    p.add_argument("--values", metavar="NAME=NUM,...",
                   help="numbers for symbolic distribution parameters (with --at)")
    p.add_argument("--format", choices=("text", "latex", "json"), default="text")
    p.add_argument("--standalone", action="store_true",
                   help="with --format latex: a complete document for pdflatex")
    p.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS",
                   help="time SymPy may integrate before falling back to quadrature (default 60)")
    p.set_defaults(handler=run)


def _initialization(args: argparse.Namespace):
    if args.joint is not None:
        if args.weight or args.bias:
            raise InputError("give either --joint or --weight/--bias, not both")
        return parse_joint(args.joint)
    if not args.weight or not args.bias:
        raise InputError('give --weight DIST and --bias DIST (e.g. --weight "normal(0, 1)" '
                         '--bias "normal(0, 1)") or --joint EXPR')
    return independent(parse_distribution(args.weight), parse_distribution(args.bias))


def run(args: argparse.Namespace) -> int:
    if args.degree < 1 or args.degree > 8:
        raise InputError(f"--degree must be between 1 and 8, got {args.degree}")
    if args.values is not None and args.at is None:
        raise InputError("--values is used with --at")
    timeout = finite_float(args.timeout, "--timeout", positive=True)
    # numbers are checked before the (possibly long) derivation
    x0 = parse_float(args.at, "--at") if args.at is not None else None
    values = parse_assignments(args.values, what="parameter") if args.values is not None else {}
    init = _initialization(args)
    pen = curvature_penalty(init, degree=args.degree, timeout=timeout)
    value = None
    if args.at is not None:
        names = {s.name for s in pen.parameters}
        unknown = sorted(set(values) - names)
        if unknown:
            raise InputError(f"unknown parameter name '{unknown[0]}' in --values; expected one "
                             f"of: {', '.join(sorted(names)) or '(none)'}")
        missing = [s.name for s in pen.parameters if s.name not in values]
        if missing:
            raise InputError(f"ζ({args.at}) needs numbers for {', '.join(missing)}; "
                             f'add --values "{missing[0]}=1"')
        value = pen.evaluate(x0, **{k: v for k, v in values.items()})
    if args.format == "json":
        data = pen.to_dict()
        if value is not None:
            data["at"] = x0
            data["value"] = value
        json.dump(data, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    elif args.format == "latex":
        if args.standalone:
            sys.stdout.write(latex_document(
                "Curvature penalty of " + init.describe(),
                [("Curvature penalty", pen.to_latex()),
                 ("Operator", pen.operator().to_latex()),
                 ("Variational problem", pen.variational_problem().to_latex()),
                 ("Training trajectory", pen.variational_problem(smoothing=True).to_latex())],
                notes=[pen.note]))
        else:
            sys.stdout.write(pen.to_latex() + "\n")
    else:
        print(pen)
        print(f"  initialization: {init.describe()}")
        print(f"  closed form: {'yes' if pen.closed_form else 'no'} ({pen.note})")
        if value is not None:
            print(f"  ζ({args.at}) = {value:.12g}")
    return 0
