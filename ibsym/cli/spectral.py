"""``ibsym spectral``: one singular value of a deep linear network trained on whitened regression."""
from __future__ import annotations

import argparse
import json
import sys

from ibsym.core.errors import InputError
from ibsym.core.export import latex_document
from ibsym.core.parsing import parse_number
from ibsym.deep_linear import end_to_end_dynamics, finite_step_flow, mode_solution, singular_value_flow
from ibsym.deep_linear.symbols import N

EPILOG = """examples:
  ibsym spectral --depth 2 --target 3 --sigma0 0.001 --t 1
      dσ/dt = 2σ(3 − σ), σ(t) = 3e^{6t}/(e^{6t} + 2999), σ(1) = 0.355712478919
  ibsym spectral --depth 3 --target 1 --sigma0 0.01 --t 3 --format json     # "sigma" in the JSON
  ibsym spectral --depth 4 --target 2 --sigma0 1e-4 --fraction 0.9           # time to learn 90 %
  ibsym spectral --depth 3 --target 1 --sigma0 0.2 --t 2 --h 0.05            # + finite-step correction
  ibsym spectral --depth N --format latex --standalone                       # the derivation, symbolic N

The mode of whitened regression L = ½‖W − Φ‖² with target singular value S starts from a
balanced initialization with end-to-end singular value S0 and follows the derived flow
dσ/dt = N σ^(2−2/N) (S − σ): closed form for depths 1 and 2, implicit solution t(σ) from SymPy
integration (inverted by bisection) for depth >= 3.  With --h the first-order modified flow of
GD (backward error analysis on the layers) is added: dσ/dt = F_0 + h F_1.
JSON: "sigma" (σ(T)), "time_to_learn", "flow_latex", "solution_latex", and with --h
"finite_step" {"flow1", "sigma_modified", "sigma_gd"}.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("spectral", help="singular-value dynamics of deep linear networks",
                       description="Singular value σ(T) of a mode of a depth-N linear network "
                                   "(deep matrix factorization) trained by gradient flow on "
                                   "whitened regression, from the derived singular-value flow.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--depth", required=True, metavar="N",
                   help="number of weight matrices (1..64), or N for the symbolic derivation")
    p.add_argument("--target", metavar="S", help="target singular value S > 0")
    p.add_argument("--sigma0", metavar="S0", help="initial end-to-end singular value S0 >= 0")
    p.add_argument("--t", metavar="T", help="time at which σ is reported")
    p.add_argument("--fraction", metavar="F", default="1/2",
                   help="report the time to reach F·S (default 1/2)")
    p.add_argument("--h", metavar="H", help="GD step size: add the first-order finite-step "
                                             "correction of the singular-value flow")
    p.add_argument("--format", choices=("text", "latex", "json"), default="text")
    p.add_argument("--standalone", action="store_true",
                   help="with --format latex: a complete document for pdflatex")
    p.set_defaults(handler=run)


def _depth(text: str):
    if text.strip() == "N":
        return N
    try:
        value = parse_number(text)
    except InputError:
        raise InputError(f"--depth must be a positive integer or N, got \"{text}\"") from None
    if not value.is_Integer or not 1 <= int(value) <= 64:
        raise InputError(f"--depth must be an integer between 1 and 64 (or N), got \"{text}\"")
    return int(value)


def _symbolic(args: argparse.Namespace) -> int:
    given = [o for o in ("target", "sigma0", "t", "h") if getattr(args, o) is not None]
    if given:
        raise InputError(f"--{given[0]} needs an integer --depth (numbers cannot be computed for "
                         "a symbolic depth)")
    e2e = end_to_end_dynamics()
    flow = singular_value_flow()
    if args.format == "json":
        data = {"schema": "ibsym/spectral-symbolic", "end_to_end": e2e.to_dict(),
                "singular_value_flow": flow.to_dict()}
        json.dump(data, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    elif args.format == "latex":
        if args.standalone:
            sys.stdout.write(latex_document(
                "End-to-end and singular-value dynamics of a depth-N linear network",
                [("Derivation", e2e.steps_latex()), ("Singular-value flow", flow.to_latex()),
                 ("Whitened regression", flow.whitened().to_latex())]))
        else:
            sys.stdout.write(e2e.to_latex() + "\n" + flow.to_latex() + "\n")
    else:
        print(e2e)
        print(flow)
        print("whitened regression:", flow.whitened())
    return 0


def run(args: argparse.Namespace) -> int:
    depth = _depth(args.depth)
    if depth is N:
        return _symbolic(args)
    if args.target is None or args.sigma0 is None:
        raise InputError("give --target S and --sigma0 S0 (e.g. --target 1 --sigma0 0.01)")
    target, sigma0 = parse_number(args.target), parse_number(args.sigma0)
    t = parse_number(args.t) if args.t is not None else None
    if t is not None and t < 0:
        raise InputError(f"--t must be non-negative, got {args.t}")
    fraction = parse_number(args.fraction)
    h = parse_number(args.h) if args.h is not None else None   # every number before the work
    mode = mode_solution(depth, target, sigma0, t, fraction=fraction)
    finite = None
    if h is not None:
        if not h > 0:
            raise InputError(f"--h must be positive, got {args.h}")
        if depth > 6:
            raise InputError("--h: the finite-step correction is derived for depth <= 6")
        if t is None:
            raise InputError("--h needs --t (the time at which the flows are compared)")
        from ibsym.deep_linear.predictions import modified_singular_value_at
        fs = finite_step_flow(depth, target)
        values = modified_singular_value_at(depth, float(target), float(sigma0), float(t), float(h))
        finite = {"h": float(h), "flow0": str(fs.flow0), "flow1": str(fs.flow1),
                  "latex": fs.concrete_latex(), "general_latex": fs.to_latex(),
                  "sigma_flow": values["flow"], "sigma_modified": values["modified"],
                  "sigma_gd": values["gd"], "gd_steps": values["gd_steps"]}
    if args.format == "json":
        data = mode.to_dict()
        if finite is not None:
            data["finite_step"] = finite
        json.dump(data, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    elif args.format == "latex":
        rows = [mode.to_latex()] + ([finite["latex"]] if finite else [])
        if args.standalone:
            sys.stdout.write(latex_document(
                f"Singular value of a depth-{depth} linear network (whitened regression)",
                [("Flow and solution", rows)],
                notes=[f"Target singular value {target}, initial value {sigma0}. {mode.method}."]))
        else:
            sys.stdout.write("\n".join(rows) + "\n")
    else:
        print(mode)
        if finite is not None:
            print(f"finite step h = {finite['h']:g}: dσ/dt = {finite['flow0']} + h·({finite['flow1']})")
            print(f"  σ({t}): flow {finite['sigma_flow']:.10g}, modified flow "
                  f"{finite['sigma_modified']:.10g}, GD ({finite['gd_steps']} steps) "
                  f"{finite['sigma_gd']:.10g}")
    return 0
