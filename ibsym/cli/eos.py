"""``ibsym eos``: the edge-of-stability experiment, with the level derived from the update rule."""
from __future__ import annotations

import argparse
import sys

from ibsym.core.errors import InputError
from ibsym.core.parsing import parse_float

EPILOG = """examples:
  ibsym eos gd --eta 0.3,0.4,0.5                      # digits MLP, 3000 steps each
  ibsym eos heavy-ball --hyper beta=0.9 --eta 0.6 --steps 2000
  ibsym eos adam --hyper beta=0.9 --hyper rho=0.999 --hyper eps=1e-8 --eta 0.002 --steps 2000
  ibsym eos my_rule.opt --hyper beta=0.5 --eta 0.2 --data synthetic --json
  ibsym eos gd --eta 0.5 --steps 1500 --plot eos.png

Full-batch training of a tanh MLP (MSE on one-hot targets; digits: 500 images of scikit-learn's
bundled set, no download; synthetic: a seeded teacher).  Every --every steps the sharpness
λ_max(∇²L) -- or, when the update is not isotropic (Adam, RMSProp), the preconditioned sharpness
λ_max(P⁻¹∇²L) with P⁻¹ read off the update's own linearization at the current state -- is
compared with the level at which the linearized update loses stability (GD 2/η, heavy ball
(2+2β)/η, Adam (2+2β₁)/((1−β₁)η): derived, not typed in).  PASS: the sharpness rose from below
0.8·level to 0.9·level or more, and stayed within ±tol of the level over the last half.
Exit status 0 when every run passes, 1 otherwise, 2 for bad input.
"""


def register(sub: argparse._SubParsersAction) -> None:
    from ibsym.cli._common import optimizer_help
    p = sub.add_parser("eos", help="edge of stability: sharpness vs the derived stability level",
                       description="Train a small network at one or more step sizes and compare "
                                   "its sharpness with the stability level derived from the "
                                   "optimizer's update rule (Cohen et al., ICLR 2021).",
                       epilog=EPILOG + "\n" + optimizer_help(),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("optimizer", metavar="OPTIMIZER",
                   help="optimizer name or a rule file NAME.opt (one step per update)")
    p.add_argument("--eta", required=True, metavar="H[,H...]",
                   help="step size(s), comma-separated")
    p.add_argument("--hyper", action="append", default=[], metavar="NAME=VALUE",
                   help="hyper-parameter value (repeatable; all must be given)")
    p.add_argument("--eps-outside", action="store_true", help="adam/rmsprop: ε outside the root")
    p.add_argument("--no-bias-correction", action="store_true",
                   help="adam/rmsprop: no bias correction")
    p.add_argument("--rule-file", action="store_true",
                   help="read OPTIMIZER as a rule file even if it is not named NAME.opt")
    p.add_argument("--data", choices=("digits", "synthetic"), default="digits")
    p.add_argument("--n", metavar="N", help="number of samples (digits 500, synthetic 200)")
    p.add_argument("--width", metavar="W", default="32", help="hidden width (default 32)")
    p.add_argument("--steps", metavar="N", default="3000", help="training steps (default 3000)")
    p.add_argument("--every", metavar="K", help="measure the sharpness every K steps "
                                                "(default steps/40)")
    p.add_argument("--seed", metavar="S", default="0", help="seed of data subset and init")
    p.add_argument("--tol", metavar="T", default="0.1",
                   help="acceptance band of sharpness/level (default 0.1)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--plot", metavar="FILE", help="write loss and sharpness vs step (PNG/PDF)")
    p.set_defaults(handler=run)


def _int(text: str, what: str, lo: int, hi: int) -> int:
    value = parse_float(text, what)
    if value != int(value) or not lo <= value <= hi:
        raise InputError(f"{what} must be an integer between {lo} and {hi}, got {text}")
    return int(value)


def run(args: argparse.Namespace) -> int:
    from ibsym.cli._common import optimizer_from_args
    from ibsym.cli.verify import _check_plot_path
    etas = [parse_float(t, "--eta", positive=True) for t in args.eta.split(",")]
    if len(etas) > 8:
        raise InputError(f"--eta: at most 8 step sizes, got {len(etas)}")
    steps = _int(args.steps, "--steps", 2, 100_000)
    every = _int(args.every, "--every", 1, steps) if args.every else max(1, steps // 40)
    n = _int(args.n, "--n", 10, 1797) if args.n else None
    width = _int(args.width, "--width", 1, 512)
    seed = _int(args.seed, "--seed", 0, 2 ** 31 - 1)
    tol = parse_float(args.tol, "--tol", positive=True)
    if args.plot:
        _check_plot_path(args.plot)
    opt = optimizer_from_args(args)
    opt.numeric_hyper() if opt.hyper else None          # every hyper-parameter given
    from ibsym.dynamics.eos import eos_experiment
    result = eos_experiment(opt, etas, data=args.data, n=n, width=width, steps=steps,
                            every=every, seed=seed, tol=tol)
    if args.plot:
        from ibsym.plots import save_figure
        from ibsym.plots.dynamics import edge_of_stability
        save_figure(edge_of_stability(result), args.plot, dpi=120)
    if args.json:
        sys.stdout.write(result.to_json() + "\n")
    else:
        print(result.table())
    return 0 if result.passed else 1
