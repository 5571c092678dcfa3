"""A curvature penalty designed by the inverse problem and realized by training.

Reproduces the inverse-problem result of H. Jin & G. Montúfar, "Implicit Bias of
Gradient Descent for Mean Squared Error Regression with Two-Layer Wide Neural
Networks", JMLR 24(137), 2023 (their "Proposition 7": any prescribed penalty can be
realized by a suitable initialization; the exact wording of the proposition could not
be checked): for ϱ(x) we take breakpoints ``C ~ ϱ/∫ϱ`` independent of the weights,
``B = -W C`` and scale the weights so that ``E[W²] = ∫ϱ``; then
``ζ = p_C E[W²] = ϱ`` (``../shared/formulas.md`` §6.1, ζ = p_C E[W² | C]).
Checks: SymPy re-derives ζ from the designed joint law (closed loop), the sampler's
W²-weighted breakpoint histogram matches ϱ, and a wide network trained from the designed
initialization lands on the ϱ-spline -- not on the spline of a Gaussian initialization.
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

from ibsym.core import export
from ibsym.wide_relu.densities import independent, normal
from ibsym.core.parsing import parse_expression
from ibsym.plots import zeta as zplots
from ibsym.wide_relu.networks import train_networks, zeta_monte_carlo
from ibsym.wide_relu.splines import solve_variational, zeta_function
from ibsym.wide_relu.design import design_initialization
from ibsym.wide_relu.zeta import X, curvature_penalty
from ibsym.plots import save_figure
from ibsym.core.files import atomic_write_text
from ibsym.reproduce import record_check, raise_on_failures

IBSYM_DERIVATION = True   # marks a derivation script: reproduce runs only marked files
IBSYM_COST = 15   # expected seconds (full run, one core): parallel runs start long ones first
NAME = "jin_montufar_2023_designed_penalty"
TITLE = "Designing the curvature penalty through the initialization (Jin & Montúfar 2023)"
REFERENCE = ("H. Jin, G. Montúfar, JMLR 24(137), 2023 (inverse problem, 'Proposition 7'); "
             "formulas.md §6.1")

X_DATA = [-1.5, -0.8, -0.2, 0.5, 1.1, 1.7]
Y_DATA = [0.6, -0.3, 0.4, 0.9, -0.2, 0.3]
TARGET = "exp(-4*(x - 1)^2) + exp(-4*(x + 1)^2)"



def _rms(values) -> float:
    values = [float(v) for v in values]
    return math.sqrt(sum(v * v for v in values) / len(values))


def main(out: Path, *, quick: bool = False) -> dict:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    checks: list[dict] = []
    files: list[str] = []
    target = parse_expression(TARGET, names={"x": X})

    # 1. design with binary weights and with Gaussian weights; SymPy re-derives ζ
    design = design_initialization(target)
    record_check(checks, "binary weights: ζ derived from the designed law equals ϱ (simplify)",
           str(design.penalty.expr), TARGET, design.realizes_target())
    design_n = design_initialization(target, weight=normal(0, 1))
    record_check(checks, "Gaussian weights: ζ derived from the designed law equals ϱ (simplify)",
           str(design_n.penalty.expr), TARGET, design_n.realizes_target())
    mass = float(design.mass)
    record_check(checks, "∫ϱ = √π (normalizer of the breakpoint density)", mass, math.sqrt(math.pi),
           abs(mass - math.sqrt(math.pi)) < 1e-14, 1e-14)

    # 2. the sampler realizes ϱ (Monte Carlo)
    nmc = 200_000 if quick else 2_000_000
    edges = [-3 + 0.1 * i for i in range(61)]
    for label, d in (("binary", design), ("Gaussian", design_n)):
        mc = zeta_monte_carlo(d, d.penalty, edges, n_samples=nmc, seed=3)
        record_check(checks, f"{label} weights: Monte Carlo ζ vs ϱ, max |z| over bins with >= 50 samples", mc.max_abs_z,
               0.0, mc.max_abs_z < 4.5, 4.5)
        if label == "binary":
            fig = zplots.monte_carlo(mc.centers, mc.estimate, mc.stderr, mc.centers, mc.exact,
                                     title="designed ζ = ϱ: simulation of the sampler")
            save_figure(fig, out / "monte_carlo.png", dpi=110)
            files.append("monte_carlo.png")

    # 3. training from the designed initialization realizes the ϱ-spline
    gauss = curvature_penalty(independent(normal(0, 1), normal(0, 1)))
    fig = zplots.penalty_curves([("designed ϱ", zeta_function(design.penalty)[0]),
                                 ("W, B ~ N(0,1)", zeta_function(gauss)[0])],
                                title="designed penalty vs Gaussian initialization")
    save_figure(fig, out / "zeta.png", dpi=110)
    files.append("zeta.png")
    spline = solve_variational(X_DATA, Y_DATA, design.penalty)
    other = solve_variational(X_DATA, Y_DATA, gauss)
    width = 2048 if quick else 8192
    run = train_networks(X_DATA, Y_DATA, design, [width], [0], steps=8000, progress=False)
    record_check(checks, "training residual", float(run.train_residual[0]), 0.0,
           run.train_residual[0] < 1e-4, 1e-4)
    to_design = _rms([a - b for a, b in zip(run.outputs[0], spline(run.grid))])
    to_gauss = _rms([a - b for a, b in zip(run.outputs[0], other(run.grid))])
    tol = 4.0 / math.sqrt(width)
    record_check(checks, f"width {width}: RMS(network − ϱ-spline)", to_design, 0.0, to_design < tol, tol)
    record_check(checks, "network is much closer to the ϱ-spline than to the Gaussian-init spline "
           "(ratio of RMS distances)", to_design / to_gauss, 0.0, to_design / to_gauss < 0.3, 0.3)
    fig = zplots.network_vs_spline(run, spline, index=0,
                                   extra=[("spline of N(0,1) init", other)],
                                   title=f"designed init, width {width}: network vs ϱ-spline")
    save_figure(fig, out / "network_designed.png", dpi=110)
    files.append("network_designed.png")

    doc = export.latex_document(TITLE, [
        ("Target penalty and breakpoint density", design.to_latex()),
        ("Gaussian weights", design_n.to_latex()),
        ("Variational problem", design.penalty.variational_problem().to_latex()),
    ], notes=[f"Data x = {X_DATA}, y = {Y_DATA}; width {width}: RMS to the designed spline "
              f"{to_design:.3g}, to the Gaussian-init spline {to_gauss:.3g}."])
    atomic_write_text(out / "designed_penalty.tex", doc)
    files.append("designed_penalty.tex")
    export.write_json({"design_binary": design.to_dict(), "design_gaussian": design_n.to_dict(),
                       "rms_to_design": to_design, "rms_to_gaussian": to_gauss},
                      out / "designed_penalty.json")
    files.append("designed_penalty.json")

    summary = (f"For the target ϱ(x) = {TARGET} the inverse construction gives p_C = "
               f"{design.breakpoint_density} and binary weights ±{design.scale}; SymPy re-derives "
               f"ζ = ϱ from the designed law (also with Gaussian weights), the sampler matches ϱ by "
               f"Monte Carlo, and a width-{width} network trained from it is at RMS {to_design:.3g} "
               f"from the ϱ-spline vs {to_gauss:.3g} from the Gaussian-init spline.")
    result = {"name": NAME, "title": TITLE, "reference": REFERENCE, "checks": checks,
              "files": files, "summary": summary}
    export.write_json(result, out / "summary.json")
    raise_on_failures(checks, NAME)
    return result


if __name__ == "__main__":
    print(main(Path(sys.argv[1] if len(sys.argv) > 1 else "ibsym-out") / NAME)["summary"])
