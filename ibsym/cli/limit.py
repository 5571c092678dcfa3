"""``ibsym limit``: which interpolant an optimizer selects on an under-determined regression."""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np

from ibsym.core.errors import InputError
from ibsym.core.parsing import parse_assignments, parse_float, parse_number
from ibsym.core.results import jsonable

EPILOG = """examples:
  ibsym limit gd --problem random:3,8,0                       # min-norm interpolant, derived
  ibsym limit heavy-ball --hyper beta=0.9 --problem data.json --w0 "1,-1,2" --json
  ibsym limit adam --problem random:2,5,1 --h 0.01            # no invariant: the measured limit
  ibsym limit mirror-descent --potential "sum(w*log(w) - w)" --problem data.json --w0 "0.5,0.2,0.8"
  ibsym limit steepest --p 4/3 --problem data.json --h 0.01   # l_p steepest descent
  ibsym limit gd --reparam "up^2 - um^2" --alpha 0.1 --problem data.json   # Q_alpha, Woodworth et al.

--problem FILE is a JSON file {"X": [[...], ...], "y": [...]} (rows of X independent, at most
1e6 entries), or random:n,d,seed for a seeded Gaussian instance.  The implicit problem is derived
from the update rule (the affine invariant of its iterates); the iterates are run until
||Xw - y|| < 1e-10 or --max-steps.  With --reparam EXPR (w = phi(u) coordinate-wise in u, or
phi(up) - phi(um)) the potential induced on w by gradient flow on u from u = alpha is derived
and its Bregman projection compared with the gradient-flow limit (and GD on u with --h).
Exit status: 0, 1 (divergence / not converged), 2 bad input.

Classification (issue 12): --problem separable:n,d,seed or a JSON file {"Z": [[...]]} (rows
z_n = y_n x_n) or {"X": [[...]], "labels": [±1, ...]}, optionally with "loss", "reduction",
"weights".  The margin geometry is derived from the update, the max-margin problem solved
(CVXPY) and the optimizer run for --max-steps steps (at most 2,000,000):
  ibsym limit gd --problem separable:20,3,0 --h 0.1 --max-steps 100000
  ibsym limit sign-descent --problem z.json --h 0.1 --decay 0.5 --plot conv.png
  ibsym limit normalized-steepest --p 3 --problem separable:10,3,0 --h 0.05 --json
"""

_RANDOM = re.compile(r"^random:(\d+),(\d+),(\d+)$")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("limit", help="implicit problem and limit on under-determined regression",
                       description="Derive the implicit problem an optimizer solves on "
                                   "L(w) = ½‖Xw − y‖² (from its update rule), solve it and "
                                   "compare it with the limit the iterates reach.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("optimizer", metavar="OPTIMIZER",
                   help="registered optimizer name, mirror-descent (with --potential) or "
                        "steepest (with --p)")
    p.add_argument("--problem", required=True, metavar="FILE|random:n,d,seed")
    p.add_argument("--w0", metavar="V1,V2,...", help="start (default 0; 1 for w > 0 potentials)")
    p.add_argument("--h", metavar="H", help="step size (default 1/λ_max(XᵀX))")
    p.add_argument("--hyper", action="append", default=[], metavar="NAME=VALUE")
    p.add_argument("--potential", metavar="EXPR", help="separable ψ: per-coordinate expression "
                                                       "in w, optionally wrapped in sum(...)")
    p.add_argument("--p", metavar="P", help="steepest: the ℓ_p norm (1 < p < ∞)")
    p.add_argument("--reparam", metavar="EXPR", help="w = φ(u) (in u) or φ(up) − φ(um)")
    p.add_argument("--alpha", metavar="A", help="--reparam: u(0) = α (default 1)")
    p.add_argument("--max-steps", type=int, default=200_000, metavar="K")
    p.add_argument("--json", action="store_true", help="JSON on stdout")
    p.add_argument("--loss", choices=("exponential", "logistic", "square"),
                   help="classification: the loss (default exponential, or the file's)")
    p.add_argument("--reduction", choices=("sum", "mean"), help="classification: Σ_n (default) or mean")
    p.add_argument("--decay", metavar="A", help="classification: steps h·k^(−A), 0 ≤ A ≤ 1")
    p.add_argument("--plot", metavar="FILE.png", help="classification: direction error / margin figure")
    p.set_defaults(handler=run)


_SEPARABLE = re.compile(r"^separable:(\d+),(\d+),(\d+)$")


def _load_classification(text: str, loss: str | None, reduction: str | None):
    """A SeparableProblem for ``separable:n,d,seed`` or a JSON file with "Z" or "labels"; else None."""
    from ibsym.limits.classification import SeparableProblem, separable_problem
    kw = {k: v for k, v in (("loss", loss), ("reduction", reduction)) if v is not None}
    m = _SEPARABLE.match(text.strip())
    if m:
        return separable_problem(*(int(g) for g in m.groups()), **kw)
    if text.startswith("separable"):
        raise InputError(f"--problem \"{text}\": write separable:n,d,seed (three integers)")
    path = Path(text)
    if not path.is_file() or path.stat().st_size > 50_000_000:
        return None
    try:
        data = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(data, dict) or not ("Z" in data or "labels" in data):
        return None
    rows = data.get("Z", data.get("X"))
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows) or \
            sum(len(r) for r in rows) > 1_000_000:
        raise InputError("--problem: Z (or X) must be a list of rows with at most 1e6 entries")
    extra = [data.get("labels", [])] if "labels" in data else []
    extra.append(data.get("weights") or [])
    for v in [x for r in rows for x in r] + [x for e in extra for x in (e if isinstance(e, list) else [e])]:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise InputError(f"--problem: entries must be numbers, got {v!r}")
    for key in ("loss", "reduction"):
        if key in data and key not in kw:
            if not isinstance(data[key], str):
                raise InputError(f"--problem: \"{key}\" must be a string")
            kw[key] = data[key]
    if data.get("weights") is not None:
        kw["weights"] = data["weights"]
    if "labels" in data:
        if "X" not in data:
            raise InputError("--problem: \"labels\" needs \"X\"")
        return SeparableProblem.from_labels(rows, data["labels"], name=path.name, **kw)
    return SeparableProblem(rows, name=path.name, **kw)


def _classify(args, prob) -> int:
    from ibsym.limits.classification import implicit_bias_classification
    from ibsym.limits.geometry import coordinate_descent, normalized_steepest, sign_descent
    from ibsym.limits.steepest import steepest_descent
    if args.potential or args.reparam or args.w0:
        raise InputError("classification problems take no --potential, --reparam or --w0")
    if args.max_steps > 2_000_000:
        raise InputError("--max-steps: a classification run is limited to 2000000 steps (~20 s)")
    hyper = {}
    for item in args.hyper:
        hyper.update({k: float(v) for k, v in parse_assignments(item, what="hyper-parameter").items()})
    needs_p = args.optimizer in ("steepest", "normalized-steepest")
    if needs_p and not args.p:
        raise InputError(f"{args.optimizer} needs --p P (the ℓ_p norm, e.g. 4/3)")
    if args.p and not needs_p:
        raise InputError("--p applies to OPTIMIZER steepest or normalized-steepest")
    opt = {"steepest": lambda: steepest_descent(parse_number(args.p)),
           "normalized-steepest": lambda: normalized_steepest(parse_number(args.p)),
           "sign-descent": sign_descent, "coordinate-descent": coordinate_descent}.get(
        args.optimizer, lambda: args.optimizer)()
    decay = 0.0
    if args.decay is not None:
        decay = float(parse_number(args.decay))
        if not 0 <= decay <= 1:
            raise InputError(f"--decay must lie in [0, 1], got \"{args.decay}\"")
    plot = None
    if args.plot:
        plot = Path(args.plot)
        if plot.is_dir() or not plot.parent.is_dir():
            raise InputError(f"--plot \"{args.plot}\": not a file in an existing folder")
    h = _positive(args.h, "--h") if args.h is not None else None
    res = implicit_bias_classification(opt, prob, h=h, hyper=hyper or None, steps=args.max_steps,
                                       decay=decay)
    if plot is not None and res.margin is not None:
        from ibsym.plots import save_figure
        from ibsym.plots.margins import margin_convergence_figure
        save_figure(margin_convergence_figure([res]), plot, dpi=110)
    if args.json:
        sys.stdout.write(res.to_json() + "\n")
    else:
        print(res)
    return 0


def load_problem(text: str):
    """A RegressionProblem from ``random:n,d,seed`` or a JSON file."""
    from ibsym.limits.problems import RegressionProblem, random_problem
    m = _RANDOM.match(text.strip())
    if m:
        return random_problem(*(int(g) for g in m.groups()))
    if text.startswith("random"):
        raise InputError(f"--problem \"{text}\": write random:n,d,seed (three integers)")
    path = Path(text)
    if not path.is_file():
        raise InputError(f"--problem: no file \"{text}\" (or use random:n,d,seed)")
    if path.stat().st_size > 50_000_000:
        raise InputError(f"--problem: \"{text}\" is larger than 50 MB")
    try:
        data = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"--problem: \"{text}\" is not JSON ({exc})") from None
    if not isinstance(data, dict) or "X" not in data or "y" not in data:
        raise InputError(f"--problem: \"{text}\" must hold a JSON object with \"X\" and \"y\"")
    X = data["X"]
    if not isinstance(X, list) or sum(len(r) if isinstance(r, list) else 1 for r in X) > 1_000_000:
        raise InputError("--problem: X must be a list of rows with at most 1e6 entries")
    for v in [x for r in X for x in (r if isinstance(r, list) else [r])] + list(data["y"]):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise InputError(f"--problem: entries of X and y must be numbers, got {v!r}")
    return RegressionProblem(X, data["y"], name=path.name)


def _vector(text: str, d: int) -> list[float]:
    parts = [s for s in text.split(",") if s.strip()]
    vals = [float(parse_number(s.strip())) for s in parts]
    if len(vals) != d:
        raise InputError(f"--w0 has {len(vals)} entries; the problem has d = {d} unknowns")
    return vals


def _positive(text: str, what: str) -> float:
    v = parse_number(text)
    if not (v.is_real and v > 0):
        raise InputError(f"{what} must be a positive number, got \"{text}\"")
    return float(v)


def _reparam(args, prob) -> int:
    from ibsym.limits.reparam import Reparametrization, flow_limit, gd_limit
    if args.potential or args.p:
        raise InputError("--reparam derives the potential: do not give --potential or --p")
    alpha = parse_float(args.alpha, "--alpha", positive=True) if args.alpha is not None else 1
    rep = Reparametrization.parse(args.reparam, alpha=alpha)
    w_star = rep.implicit_limit(prob)
    w_flow, T = flow_limit(rep, prob)
    out = {"schema": "ibsym/reparam-limit", "reparam": args.reparam, "alpha": float(rep.alpha),
           "metric": str(rep.hess_expr), "potential": str(rep.potential.expr),
           "argmin": w_star, "flow_limit": w_flow, "flow_time": T,
           "distance": float(np.max(np.abs(w_star - w_flow)))}
    if args.h is not None:
        w_gd, k = gd_limit(rep, prob, _positive(args.h, "--h"), max_steps=args.max_steps)
        out.update(gd_limit=w_gd, gd_steps=k, gd_distance=float(np.max(np.abs(w_gd - w_star))))
    if args.json:
        json.dump(jsonable(out), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        print(f"w = {args.reparam}, u(0) = {rep.alpha}: ∇²ψ(w) = {rep.hess_expr}")
        print(f"  ψ = {rep.potential.expr}")
        print(f"  argmin D_ψ(w, w(0)) s.t. Xw = y: {np.round(w_star, 8).tolist()}")
        print(f"  gradient flow on u (t = {T:g}): {np.round(w_flow, 8).tolist()}  "
              f"(max difference {out['distance']:.1e})")
        if "gd_limit" in out:
            print(f"  GD on u, h = {args.h}: {np.round(out['gd_limit'], 8).tolist()} "
                  f"({out['gd_steps']} steps, differs by {out['gd_distance']:.1e})")
    return 0


def run(args: argparse.Namespace) -> int:
    import ibsym as ib
    from ibsym.limits.mirror import mirror_descent
    from ibsym.limits.steepest import steepest_descent
    if args.max_steps < 1 or args.max_steps > 10_000_000:
        raise InputError("--max-steps must be between 1 and 10000000")
    if args.alpha is not None and not args.reparam:
        raise InputError("--alpha (the initialization scale u(0)) applies with --reparam only")
    cls = _load_classification(args.problem, args.loss, args.reduction)
    if cls is not None:
        return _classify(args, cls)
    if args.loss or args.reduction or args.decay or args.plot:
        raise InputError("--loss, --reduction, --decay and --plot apply to classification problems")
    prob = load_problem(args.problem)
    if args.reparam:
        if args.optimizer != "gd":
            raise InputError("--reparam runs gradient flow / GD on u: use OPTIMIZER gd")
        return _reparam(args, prob)
    hyper = {}
    for item in args.hyper:
        hyper.update({k: float(v) for k, v in parse_assignments(item, what="hyper-parameter").items()})
    if args.optimizer == "mirror-descent":
        if not args.potential:
            raise InputError("mirror-descent needs --potential EXPR (e.g. \"sum(w*log(w) - w)\")")
        opt, potential = mirror_descent(args.potential), None
    elif args.optimizer == "steepest":
        if not args.p:
            raise InputError("steepest needs --p P (the ℓ_p norm, e.g. 4/3)")
        opt, potential = steepest_descent(parse_number(args.p)), args.potential
    else:
        if args.p:
            raise InputError("--p applies to OPTIMIZER steepest")
        opt, potential = args.optimizer, args.potential
    w0 = _vector(args.w0, prob.d) if args.w0 else None
    h = _positive(args.h, "--h") if args.h is not None else None
    res = ib.implicit_bias(opt, prob, w0=w0, h=h, hyper=hyper or None, potential=potential,
                           max_steps=args.max_steps)
    if args.json:
        sys.stdout.write(res.to_json() + "\n")
    else:
        print(res)
    return 0 if res.converged else 1
