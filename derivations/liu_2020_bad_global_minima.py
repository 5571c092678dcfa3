"""Bad global minima exist and SGD reaches them (Liu, Papailiopoulos & Achlioptas 2020).

Reproduces S. Liu, D. Papailiopoulos & D. Achlioptas, "Bad Global Minima Exist and SGD Can
Reach Them", NeurIPS 2020 (adversarial initialization, Algorithm 1; Table 1 / Fig. 1-3 in
spirit), on scikit-learn's bundled digits (no download): 200 training images, the other 1597
for testing, a ReLU MLP 64-512-10 with cross-entropy.  The adversarial start memorizes R
copies of the training set, each with 10 % of its pixels zeroed and random labels; then every
run trains 400 epochs on the true labels -- vanilla SGD, or SGD with momentum (heavy ball),
L2 and augmentation (±1-pixel shifts + pixel noise) -- all ibsym Optimizer objects run by
ibsym.dynamics.training.train; no run is stopped early or treated apart.

Acceptance (issue 13 part 3), each a check: every run ≥ 99 % train accuracy; vanilla SGD from
the R = 16 start loses ≥ 10 points of test accuracy against the random start; every pair of
regularizers and all three recover to within 3 points; over R = 1, 4, 16 the vanilla test
accuracy decreases strictly while its test loss and its complexity Σ_l‖W_l‖_F² grow.
``quick`` runs the 8 runs those figures need (~20 s CPU on one core); the full run every
combination from every start (32 runs, ~75 s).
"""
from __future__ import annotations

import sys
from pathlib import Path

from ibsym.core import export
from ibsym.dynamics.bad_minima import DROP_MIN, RECOVER_MAX, TRAIN_MIN, bad_minima_experiment
from ibsym.plots import save_figure
from ibsym.plots.bad_minima import bad_minima_figure
from ibsym.reproduce import raise_on_failures, record_check

IBSYM_DERIVATION = True   # marks a derivation script: reproduce runs only marked files
IBSYM_COST = 80   # expected seconds (full run, one core): parallel runs start long ones first
NAME = "liu_2020_bad_global_minima"
TITLE = "Bad global minima that SGD reaches from an adversarial start (Liu et al. 2020)"
REFERENCE = ("S. Liu, D. Papailiopoulos, D. Achlioptas, Bad Global Minima Exist and SGD Can "
             "Reach Them, NeurIPS 2020")

QUICK = {"size": "quick"}
FULL = {"size": "default"}


def _checks(result) -> list[dict]:
    checks: list[dict] = []
    f = result.figures()
    low = min(result.runs, key=lambda r: r.train_accuracy)
    record_check(checks, f"every run reaches >= {TRAIN_MIN:.0%} train accuracy "
                 f"(lowest: {low.start}, {low.label})", round(f["min_train_accuracy"], 4),
                 TRAIN_MIN, f["min_train_accuracy"] >= TRAIN_MIN)
    R = f["largest_R"]
    record_check(checks, f"vanilla SGD from the adversarial start R={R} loses >= {DROP_MIN:g} "
                 "points of test accuracy against the random start",
                 round(f["drop_points"], 2), DROP_MIN, f["drop_points"] >= DROP_MIN)
    gaps = f["regularized_gap_points"]
    record_check(checks, "every combination of two or three regularizers was run",
                 sorted(gaps), 4, len(gaps) == 4)
    for name, gap in gaps.items():
        record_check(checks, f"{name} from R={R} recovers to within {RECOVER_MAX:g} points of "
                     "the random start", round(gap, 2), RECOVER_MAX, gap <= RECOVER_MAX)
    by_r = f["vanilla_test_by_R"]
    record_check(checks, f"vanilla SGD: test accuracy decreases strictly over R = "
                 f"{', '.join(map(str, by_r))}", [round(v, 4) for v in by_r.values()],
                 "decreasing", f["monotone_in_R"] and len(by_r) >= 3)
    record_check(checks, "vanilla SGD: test loss grows strictly with R",
                 [round(v, 4) for v in f["vanilla_test_loss_by_R"].values()], "increasing",
                 f["loss_grows_with_R"])
    record_check(checks, "vanilla SGD: complexity sum_l ||W_l||_F^2 grows strictly with R",
                 [round(v, 1) for v in f["vanilla_complexity_by_R"].values()], "increasing",
                 f["complexity_grows_with_R"])
    van, reg = result.run(f"adversarial R={R}"), result.run(f"adversarial R={R}",
                                                              ("momentum", "l2"))
    record_check(checks, "vanilla SGD stays near the bad start: its distance from it is < 1/4 "
                 "of momentum+l2's", [round(van.distance, 2), round(reg.distance, 2)], 0.25,
                 van.distance < 0.25 * reg.distance)
    return checks


def main(out: Path, *, quick: bool = False) -> dict:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    result_record = bad_minima_experiment(**(QUICK if quick else FULL))
    checks = _checks(result_record)
    files = []
    save_figure(bad_minima_figure(result_record), out / "bad_minima.png", dpi=200)
    files.append("bad_minima.png")
    files += [p.name for p in export.write(result_record, out / "bad_minima", ("tex", "json"))]
    f = result_record.figures()
    summary = (f"Digits, ReLU MLP 64-512-10, {result_record.settings['n_train']} training "
               f"images: random start {f['random_test']:.3f} test accuracy; vanilla SGD from "
               "the adversarial starts R = "
               + ", ".join(f"{k}: {v:.3f}" for k, v in f["vanilla_test_by_R"].items())
               + f" (drop {f['drop_points']:.1f} points at R={f['largest_R']}); gap with "
               "regularizers: " + ", ".join(f"{k} {v:.1f}" for k, v in
                                            f["regularized_gap_points"].items())
               + f" points; lowest train accuracy {f['min_train_accuracy']:.3f}.")
    result = {"name": NAME, "title": TITLE, "reference": REFERENCE, "checks": checks,
              "files": files, "summary": summary}
    export.write_json(result, out / "summary.json")
    raise_on_failures(checks, NAME)
    return result


if __name__ == "__main__":
    where = [a for a in sys.argv[1:] if not a.startswith("--")]
    print(main(Path(where[0] if where else "ibsym-out") / NAME,
               quick="--quick" in sys.argv)["summary"])
