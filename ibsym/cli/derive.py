"""``ibsym derive``: the modified equation of an optimizer, generic or on a loss."""
from __future__ import annotations

import argparse
import json
import sys

from ibsym.bea.procedure import modified_equation
from ibsym.cli._budget import budget_from_args
from ibsym.core.errors import BudgetExceeded, InputError
from ibsym.core.latexfit import MAX_DISPLAY_CHARS
from ibsym.core.parsing import parse_assignments, parse_number
from ibsym.cli._common import (add_max_atoms_argument, add_problem_arguments, check_order,
                               loss_from_args, max_atoms_from_args, optimizer_from_args,
                               optimizer_help, whole_number_option)

EPILOG = """examples:
  ibsym derive gd --order 3
      dimension-free result in ∇L, ∇²L, ∇³L notation, with the modified loss
  ibsym derive gd --order 2 --loss "(a*b-1)**2/2" --params "a b" --format latex
  ibsym derive gd --order 2 --loss "(a*b-1)**2/2" --params "a b" --at "a=0.5,b=1.5" --h 0.1 --format json
      JSON: "expressions" (symbolic F_j), "terms" (F_j at the point, one vector per order,
      in parameter order) and "field" (the truncated field at h)
  ibsym derive heavy-ball --order 2        # field, slow manifold, initial value; β symbolic
  ibsym derive adam --order 1              # component-wise (index notation), one-norm form,
                                           # small/large-ε regimes (Cattaneo et al. Table 1)
  ibsym derive adam --order 1 --loss "(a*b-1)**2/2" --params "a b" --hyper eps=0.1
  ibsym derive adam --eps-outside --no-bias-correction --order 1 --loss "x^4/4" --params x
  ibsym derive sgd --batch "(a*b-1)^2/2" --batch "(2*a*b+1)^2/2" --params "a b" --order 1
  ibsym derive signum.opt --order 2 --loss "(a*b-1)**2/2" --params "a b"   # a rule file
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("derive", help="derive the modified equation (backward error analysis)",
                       description="Derive dθ/dt = F_0 + h F_1 + … + h^K F_K for an optimizer: "
                                   "without --loss in ∇L notation, with --loss explicitly.",
                       epilog=EPILOG + "\n" + optimizer_help(), formatter_class=argparse.RawDescriptionHelpFormatter)
    add_problem_arguments(p, loss_required=False)
    p.add_argument("--format", choices=("text", "latex", "json"), default="text")
    p.add_argument("--standalone", action="store_true",
                   help="with --format latex: a complete document for pdflatex")
    p.add_argument("--at", metavar="POINT", help='evaluate the terms at a point, e.g. "a=0.5,b=2"')
    p.add_argument("--h", metavar="H", help="step size for the summed field (with --at)")
    add_max_atoms_argument(p)
    p.add_argument("--max-display-chars", metavar="N", default=None,
                   help="with --format latex --standalone: an F_j (θ̃(0), slow manifold) whose "
                        f"LaTeX is longer than N characters (default {MAX_DISPLAY_CHARS}, about "
                        "three pages) "
                        "is listed as a coefficient table or summarized, and the document "
                        "says so; the JSON export always holds it in full")
    p.set_defaults(handler=run)


def _max_display_chars(args: argparse.Namespace) -> int | None:
    """``--max-display-chars``: a whole number from 100 to 10**8 (None: the default)."""
    raw = getattr(args, "max_display_chars", None)
    if raw is None:
        return None
    return whole_number_option(raw, "--max-display-chars", 100, 10**8, "10**8")


#: ``--budget`` default (seconds) and what to try when it runs out (see ``ibsym.cli``).
BUDGET_SECONDS = 120.0
BUDGET_ADVICE = "lower --order or simplify the loss"


def run(args: argparse.Namespace) -> int:
    budget = getattr(args, "budget_obj", None) or budget_from_args(args, BUDGET_ADVICE)
    order = check_order(args.order)
    max_atoms = max_atoms_from_args(args)
    max_chars = _max_display_chars(args)
    loss = loss_from_args(args)
    opt = optimizer_from_args(args)
    if args.h is not None and args.at is None:
        raise InputError("--h is used with --at (the point where the field is evaluated)")
    at = None
    if args.at is not None:
        if loss is None:
            raise InputError("--at needs a concrete loss (--loss and --params)")
        at = parse_assignments(args.at, [str(p) for p in loss.params], what="parameter")
    h = parse_number(args.h) if args.h is not None else None
    if loss is None and _needs_coordinates(opt, budget):
        return _run_componentwise(args, opt, order, budget, max_atoms)
    eq = modified_equation(opt, loss, order, budget=budget, max_atoms=max_atoms)
    values = None
    if at is not None:
        budget.check("evaluating the terms at --at")
        values = eq.evaluate(at, h)
    # optional analysis: the exact gradient test per order, and the modified loss, each
    # under a share of what is left; orders not decided in time say so
    checks = eq.gradient_analysis(budget=budget.share(0.5))
    ml, ml_note = _modified_loss(eq, budget.share(0.5))
    budget.check("formatting the output")
    if args.format == "json":
        data = eq.to_dict(budget=budget.share(0.0))
        if values is not None:
            data.update(values)
        data["modified_loss"] = None if ml is None else ml.to_dict()
        if ml_note:
            data["modified_loss_note"] = ml_note
        out = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    elif args.format == "latex":
        if args.standalone:
            out = eq.latex_document(budget=budget.share(0.0), max_display_chars=max_chars)
        else:
            lines = [eq.to_latex()]
            if not eq.is_generic:
                lines += [eq.term_latex(j) for j in range(eq.order + 1)]
            if ml is not None:
                lines.append(ml.to_latex())
            out = "\n".join(lines) + "\n"
    else:
        lines = [str(eq)]
        if ml is not None:
            lines.append(str(ml))
        elif ml_note:
            lines.append(ml_note)
        lines += ["  " + a.text for a in checks]
        if values is not None:
            lines += [f"  F_{j}({args.at}) = {v}" for j, v in enumerate(values["terms"])]
            if "field" in values:
                lines.append(f"  field(h={values['h']:g}) = {values['field']}")
        out = "\n".join(lines) + "\n"
    budget.check("writing the output")
    sys.stdout.write(out)
    return 0


def _needs_coordinates(opt, budget) -> bool:
    """True when the update uses coordinate-wise operations (Adam, RMSProp, ...)."""
    try:
        modified_equation(opt, None, 0, budget=budget)
    except InputError as exc:
        return "needs coordinates" in str(exc)
    return False


def _run_componentwise(args: argparse.Namespace, opt, order: int, budget,
                       max_atoms: int) -> int:
    """Generic result of a coordinate-wise optimizer: index notation (component j)."""
    from ibsym.bea.componentwise import componentwise_equation
    if args.at is not None:
        raise InputError("--at needs a concrete loss (--loss and --params)")
    ce = componentwise_equation(opt, order, budget=budget, max_atoms=max_atoms)
    budget.check("formatting the output")
    if args.format == "json":
        out = json.dumps(ce.to_dict(), indent=2, ensure_ascii=False) + "\n"
    elif args.format == "latex":
        out = (ce.latex_document() if args.standalone else ce.to_latex()) + "\n"
    else:
        out = str(ce) + "\n"
    budget.check("writing the output")
    sys.stdout.write(out)
    return 0


def _modified_loss(eq, budget) -> tuple:
    """(ModifiedLoss or None, note): None when there is none or it is not found in time."""
    try:
        return eq.modified_loss(budget=budget), ""
    except InputError:
        return None, ""
    except BudgetExceeded as exc:
        return None, f"modified loss: not computed within the budget ({exc})"
