"""``ibsym card``: every face ibsym knows of one optimizer on one problem, as one record."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ibsym.core.errors import InputError
from ibsym.core.parsing import parse_assignments

EPILOG = """examples:
  ibsym card gd --problem data.json --w0 "1,-1,2" --h 0.1
  ibsym card heavy-ball --hyper beta=0.9 --problem random:2,4,0 --latex card.tex --plot card.png
  ibsym card gd --problem data.json --reparam "u^2" --alpha 0.5 --h 0.04   # corrected limit
  ibsym card gd --problem separable:6,2,0 --h 0.1 --max-steps 20000 --json

--problem as for 'ibsym limit' (regression JSON {"X", "y"}, random:n,d,seed, classification
JSON {"Z"} or separable:n,d,seed).  The card holds: the implicit problem and the measured limit,
the order-1 modified flow on the problem's loss with F_1 at w0 and its verified error slopes,
and the stability threshold of the update at w0 -- each with its status ("not available" and why
when a face cannot be computed).  Exit status: 0, 2 bad input.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("card", help="bias card: geometry, modified flow, stability, checks",
                       description="Gather every face of an optimizer's implicit bias on one "
                                   "problem into one record (text, JSON, LaTeX, figure).",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("optimizer", metavar="OPTIMIZER", help="registered optimizer name")
    p.add_argument("--problem", required=True, metavar="FILE|random:n,d,seed|separable:n,d,seed")
    p.add_argument("--w0", metavar="V1,V2,...", help="start (default 0)")
    p.add_argument("--h", metavar="H", help="step size of the geometry run")
    p.add_argument("--hyper", action="append", default=[], metavar="NAME=VALUE")
    p.add_argument("--reparam", metavar="EXPR", help="GD: also the corrected limit of GD on "
                                                     "w = φ(u) (in u) or φ(up) − φ(um)")
    p.add_argument("--alpha", metavar="A", help="--reparam: u(0) = α (default 1)")
    p.add_argument("--max-steps", type=int, default=200_000, metavar="K")
    p.add_argument("--json", action="store_true", help="JSON on stdout")
    p.add_argument("--latex", metavar="FILE.tex", help="write the one-page LaTeX document")
    p.add_argument("--plot", metavar="FILE.png", help="write the figure")
    p.set_defaults(handler=run)


def _output(text: str | None, what: str, suffixes: tuple[str, ...]) -> Path | None:
    if text is None:
        return None
    path = Path(text)
    if "\x00" in text or path.suffix.lower() not in suffixes or not path.stem.strip() \
            or len(path.name) > 200:
        raise InputError(f"{what} \"{text[:60]}\": give a file name ending in "
                         f"{' or '.join(suffixes)}")
    if path.is_dir() or not path.parent.is_dir():
        raise InputError(f"{what} \"{text[:60]}\": not a file in an existing folder")
    return path


def run(args: argparse.Namespace) -> int:
    from ibsym.cli.limit import _load_classification, _positive, _vector, load_problem
    if args.max_steps < 1 or args.max_steps > 2_000_000:
        raise InputError("--max-steps must be between 1 and 2000000")
    if args.alpha is not None and not args.reparam:
        raise InputError("--alpha (the initialization scale u(0)) applies with --reparam only")
    if args.reparam and args.optimizer != "gd":
        raise InputError("--reparam: the corrected limit is derived for OPTIMIZER gd")
    latex = _output(args.latex, "--latex", (".tex",))
    plot = _output(args.plot, "--plot", (".png", ".pdf", ".svg"))
    hyper = {}
    for item in args.hyper:
        hyper.update({k: float(v) for k, v in parse_assignments(item, what="hyper-parameter").items()})
    from ibsym.bea.optimizers import get_optimizer
    get_optimizer(args.optimizer, **hyper)      # unknown names / hyper-parameters: refused first
    prob = _load_classification(args.problem, None, None)
    if prob is None:
        prob = load_problem(args.problem)
    w0 = _vector(args.w0, prob.d) if args.w0 else None
    h = _positive(args.h, "--h") if args.h is not None else None
    rep = None
    if args.reparam:
        from ibsym.core.parsing import parse_float
        from ibsym.limits.problems import RegressionProblem
        from ibsym.limits.reparam import Reparametrization
        if not isinstance(prob, RegressionProblem):
            raise InputError("--reparam applies to regression problems")
        alpha = parse_float(args.alpha, "--alpha", positive=True) if args.alpha is not None else 1
        rep = Reparametrization.parse(args.reparam, alpha=alpha)
    from ibsym.limits.card import bias_card
    card = bias_card(args.optimizer, prob, w0=w0, h=h, hyper=hyper or None,
                     max_steps=args.max_steps, reparam=rep)
    if latex is not None:
        from ibsym.core.files import atomic_write_text
        atomic_write_text(latex, card.latex())
    if plot is not None:
        from ibsym.plots import save_figure
        from ibsym.plots.card import card_figure
        save_figure(card_figure(card), plot)
    if args.json:
        sys.stdout.write(card.to_json() + "\n")
    else:
        print(card)
    return 0
