"""Edge of stability: the sharpness rises to the level derived from the update rule, then hovers.

Reproduces J. Cohen, S. Kaur, Y. Li, J. Z. Kolter & A. Talwalkar, "Gradient Descent on Neural
Networks Typically Occurs at the Edge of Stability", ICLR 2021 (Figs. 1-2 and §5 / App. for
momentum and Adam's preconditioned sharpness), on a small tanh MLP trained full-batch with MSE
on scikit-learn's bundled digits (no download).  The level is *derived*: the optimizer's own
update, linearized on the local quadratic model with its state held (a frozen preconditioner
for Adam), loses stability there (ibsym.dynamics.stability).  Oracles (formulas.md §8 and the
paper): GD 2/η, heavy ball (2 + 2β)/η, Adam (2 + 2β₁)/((1 − β₁)η) = 38/η at β₁ = 0.9 -- they
are only compared against.

Acceptance (issue 13): progressive sharpening, then sharpness/level within ±10 % over the last
half of training for GD at three step sizes and heavy ball at one β; Adam's preconditioned
sharpness within ±15 %.  ``quick`` uses 200 images and 1500 steps.
"""
from __future__ import annotations

import sys
from pathlib import Path

from ibsym import get_optimizer
from ibsym.core import export
from ibsym.dynamics.eos import EdgeOfStability, edge_of_stability
from ibsym.plots import save_figure
from ibsym.plots.dynamics import edge_of_stability as eos_figure
from ibsym.reproduce import check_close, raise_on_failures, record_check

IBSYM_DERIVATION = True   # marks a derivation script: reproduce runs only marked files
NAME = "cohen_2021_edge_of_stability"
TITLE = "Edge of stability: sharpness at the level derived from the update rule (Cohen et al. 2021)"
REFERENCE = ("J. Cohen, S. Kaur, Y. Li, J. Z. Kolter, A. Talwalkar, Gradient Descent on Neural "
             "Networks Typically Occurs at the Edge of Stability, ICLR 2021")

BETA_HB = 0.5
ADAM = {"beta": 0.9, "rho": 0.999, "eps": 1e-8}
QUICK = {"n": 200, "steps": 1500, "every": 50}      # digits images, GD steps, measurement interval
FULL = {"n": 500, "steps": 3000, "every": 75}


def _oracle(name: str, eta: float) -> float:
    """The published levels (test oracles only -- the runs derive their own)."""
    if name == "gd":
        return 2 / eta
    if name == "heavy-ball":
        return (2 + 2 * BETA_HB) / eta
    return (2 + 2 * ADAM["beta"]) / ((1 - ADAM["beta"]) * eta)


def main(out: Path, *, quick: bool = False) -> dict:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    checks: list[dict] = []
    size = dict(QUICK if quick else FULL)
    gd_etas = (0.4, 0.5, 0.6) if quick else (0.3, 0.4, 0.5)
    plan = [("gd", get_optimizer("gd"), eta, 0.10) for eta in gd_etas]
    plan.append(("heavy-ball", get_optimizer("heavy-ball", beta=BETA_HB), 0.5, 0.10))
    plan.append(("adam", get_optimizer("adam", **ADAM), 0.003 if quick else 0.002, 0.15))
    runs = []
    for key, opt, eta, tol in plan:
        run = edge_of_stability(opt, eta, tol=tol, **size)
        runs.append(run)
        label = f"{run.optimizer} η={eta:g}"
        check_close(checks, f"{label}: derived level vs the published one", run.level,
                    _oracle(key, eta), 1e-4 * _oracle(key, eta))
        record_check(checks, f"{label}: progressive sharpening (S(0) < 0.8·level, max ≥ 0.9·level)",
                     f"S(0)/level = {run.ratios[0]:.3f}, max = {max(run.ratios):.3f}", "sharpens",
                     run.sharpened)
        record_check(checks, f"{label}: {run.quantity}/level over the last half within ±{tol:.0%}",
                     [round(run.ratio_min, 4), round(run.ratio_max, 4)], [1 - tol, 1 + tol],
                     run.within, tol)
    result_record = EdgeOfStability(tuple(runs))

    files = []
    save_figure(eos_figure(result_record), out / "edge_of_stability.png", dpi=120)
    files.append("edge_of_stability.png")
    files += [p.name for p in export.write(result_record, out / "edge_of_stability",
                                           ("tex", "json"))]
    ratios = "; ".join(f"{r.optimizer} η={r.eta:g}: {r.ratio_mean:.3f} [{r.ratio_min:.3f}, "
                       f"{r.ratio_max:.3f}]" for r in runs)
    summary = (f"Levels derived from the update rules (GD 2/η, heavy ball (2+2β)/η, Adam "
               f"(2+2β₁)/((1−β₁)η) on the preconditioned sharpness) on {runs[0].data}; "
               f"sharpness/level over the last half, mean [min, max]: {ratios}.")
    result = {"name": NAME, "title": TITLE, "reference": REFERENCE, "checks": checks,
              "files": files, "summary": summary}
    export.write_json(result, out / "summary.json")
    raise_on_failures(checks, NAME)
    return result


if __name__ == "__main__":
    where = [a for a in sys.argv[1:] if not a.startswith("--")]
    print(main(Path(where[0] if where else "ibsym-out") / NAME,
               quick="--quick" in sys.argv)["summary"])
