"""``ibsym bad-minima``: bad global minima that SGD reaches from an adversarial start."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ibsym.core.errors import InputError
from ibsym.core.parsing import parse_float

BUDGET_SECONDS = 1800.0
BUDGET_ADVICE = "use --size quick, fewer --replication values, or raise --budget"

EPILOG = """examples:
  ibsym bad-minima --size quick                       # 8 runs, ~20 s CPU
  ibsym bad-minima                                    # every combination, R = 1, 4, 16
  ibsym bad-minima --replication 2 8 32 --noise 20% --seed 3 --format json
  ibsym bad-minima --size quick --out bad-minima      # figure (PNG + PDF), JSON and LaTeX

Liu, Papailiopoulos & Achlioptas (NeurIPS 2020) on scikit-learn's bundled digits (200 training
images, the other 1597 for testing; ReLU MLP 64-512-10, cross-entropy).  Adversarial start: SGD
memorizes R copies of the training images, each with N of its pixels zeroed and a random label.
Then every run trains 400 epochs on the true labels: vanilla SGD, or SGD with momentum, L2
and augmentation (shifts + noise) in all combinations (--size quick: vanilla SGD from every
start and the combinations of two or three regularizers from the largest R).
Acceptance: every run >= 99 % train accuracy; vanilla SGD from the largest R loses >= 10 points
of test accuracy against the random start; two or three regularizers recover to within 3
points; vanilla test accuracy falls, its test loss and complexity grow with R.
Progress goes to stderr.  Exit status 0 when the acceptance is met, 1 when not, 2 for bad
input or an exceeded --budget, 130 when interrupted (nothing is written then).
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bad-minima", help="bad global minima SGD reaches from an adversarial start",
                       description="Train from a random and from adversarial starts (random-"
                                   "label copies memorized first) with vanilla SGD and with "
                                   "momentum, L2 and augmentation (Liu et al., NeurIPS 2020).",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--replication", nargs="+", metavar="R",
                   help="replications R of the adversarial copies (1..64, at least three for "
                        "the effect of R; default 1 4 16; full: 1 2 4 8 16)")
    p.add_argument("--noise", default="0.1", metavar="N",
                   help="fraction (0.1) or percentage (10%%) of pixels zeroed in each copy")
    p.add_argument("--seed", default="0", metavar="S", help="seed of the split, init, batches")
    p.add_argument("--size", choices=("quick", "default", "full"), default="default")
    p.add_argument("--format", choices=("text", "json", "latex"), default="text")
    p.add_argument("--out", metavar="DIR",
                   help="write bad_minima.png (200 dpi), .pdf, .json and .tex into DIR")
    p.set_defaults(handler=run)


def _replication(words: list[str] | None) -> tuple[int, ...] | None:
    if words is None:
        return None
    values = []
    for word in words:
        for text in word.split(","):
            value = parse_float(text.strip(), "--replication")
            if value != int(value) or not 1 <= value <= 64:
                raise InputError(f"--replication: each R must be an integer between 1 and 64, "
                                 f"got {text.strip()}")
            values.append(int(value))
    if len(values) > 8 or len(set(values)) != len(values):
        raise InputError(f"--replication: at most 8 distinct values, got {' '.join(words)}")
    return tuple(values)


def _noise(text: str) -> float:
    percent = text.strip().endswith("%")
    value = parse_float(text.strip().rstrip("%"), "--noise")
    value = value / 100 if percent else value
    if not 0 < value < 1:
        raise InputError(f"--noise must be a fraction strictly between 0 and 1 (0.1) or a "
                         f"percentage (10%), got {text}")
    return value


def _out_dir(text: str | None) -> Path | None:
    if text is None:
        return None
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise InputError(f"--out \"{text[:60]}\": exists and is not a folder")
    if not path.exists() and not path.absolute().parent.is_dir():
        raise InputError(f"--out \"{text[:60]}\": its parent folder does not exist")
    return path


def run(args: argparse.Namespace) -> int:
    from ibsym.cli.eos import _int
    replicas = _replication(args.replication)
    noise = _noise(args.noise)
    seed = _int(args.seed, "--seed", 0, 2 ** 31 - 1)
    out = _out_dir(args.out)
    budget = getattr(args, "budget_obj", None)
    from ibsym.core.progress import Progress
    from ibsym.dynamics.bad_minima import SIZES, bad_minima_experiment
    Rs = SIZES[args.size]["replicas"] if replicas is None else replicas
    n_runs = (8 * (1 + len(Rs)) if SIZES[args.size]["combos"] == "all" else 5 + len(Rs)) + len(Rs)
    meter = Progress("bad-minima", total=n_runs)
    result = bad_minima_experiment(size=args.size, replicas=replicas, noise=noise, seed=seed,
                                   progress=meter.update, budget=budget)
    if budget is not None:
        budget.check("writing the output")
    if out is not None:
        from ibsym.core import export
        from ibsym.plots import save_figure
        from ibsym.plots.bad_minima import bad_minima_figure
        figure = bad_minima_figure(result)
        out.mkdir(exist_ok=True)
        save_figure(figure, out / "bad_minima.png", dpi=200, vector=True)
        export.write(result, out / "bad_minima", ("json", "tex"))
    if args.format == "json":
        sys.stdout.write(result.to_json() + "\n")
    elif args.format == "latex":
        print(result.to_latex())
    else:
        print(result.table())
    return 0 if result.passed else 1
