"""Gaussian initialization: curvature penalty, trained wide network and its ζ-spline.

Reproduces the Gaussian example of H. Jin & G. Montúfar, "Implicit Bias of Gradient
Descent for Mean Squared Error Regression with Two-Layer Wide Neural Networks",
JMLR 24(137), 2023 (the figure comparing the standard Gaussian initialization
W, B ~ N(0, 1) with a "sharp" one, σ_B² = 0.1, also shown in Montúfar's 2024 lecture):
ζ(x), the trained network, the variational solution g* and their difference.
Oracles: ``../shared/formulas.md`` §6.1 (ζ = 2σ_w³σ_b³/(π(σ_b² + x²σ_w²)²), its values at
0, 1, 2, and ∫ζ = E[W²]); §6.2-6.3 (variational problem, smoothing splines with
λ = 1/(η̄ t)).  ζ is *derived* by SymPy; the formula is only compared against.

Beyond the figure: the width sweep ‖f(·,θ*) − g*‖ = O(n^{-1/2}) (fitted slope in
[-0.75, -0.3]), a Monte Carlo check of ζ and the trajectory-vs-smoothing-spline comparison.
The training data are ours (the paper's exact data points were not available).
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

from ibsym.core import export
from ibsym.wide_relu.densities import independent, normal
from ibsym.plots import zeta as zplots
from ibsym.wide_relu.networks import SLOPE_INTERVAL, train_networks, trajectory_comparison, width_sweep, \
    zeta_monte_carlo
from ibsym.wide_relu.splines import solve_variational, zeta_function
from ibsym.wide_relu.zeta import curvature_penalty
from ibsym.plots import save_figure
from ibsym.core.files import atomic_write_text
from ibsym.reproduce import record_check, raise_on_failures

IBSYM_DERIVATION = True   # marks a derivation script: reproduce runs only marked files
IBSYM_COST = 36   # expected seconds (full run, one core): parallel runs start long ones first
NAME = "jin_montufar_2023_gaussian"
TITLE = "Gaussian vs sharp Gaussian initialization: ζ, trained network and ζ-spline (Jin & Montúfar 2023)"
REFERENCE = ("H. Jin, G. Montúfar, Implicit Bias of Gradient Descent for MSE Regression with "
             "Two-Layer Wide Neural Networks, JMLR 24(137), 2023; formulas.md §6.1-6.3")

X_DATA = [-1.5, -0.8, -0.2, 0.5, 1.1, 1.7]
Y_DATA = [0.6, -0.3, 0.4, 0.9, -0.2, 0.3]



def _rms(values) -> float:
    values = [float(v) for v in values]
    return math.sqrt(sum(v * v for v in values) / len(values))


def main(out: Path, *, quick: bool = False) -> dict:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    checks: list[dict] = []
    files: list[str] = []

    # 1. symbolic ζ for N(0, σ_w²) x N(0, σ_b²)
    general = curvature_penalty(independent(normal(0, "s_w"), normal(0, "s_b")))
    record_check(checks, "ζ derived in closed form", general.closed_form, True, general.closed_form)
    oracle = "2*s_w^3*s_b^3/(pi*(s_b^2 + x^2*s_w^2)^2)"
    record_check(checks, "ζ = 2σ_w³σ_b³/(π(σ_b² + x²σ_w²)²) (simplify(difference) == 0)",
           str(general.expr), oracle, general.equals(oracle))
    mass = general.total_mass()
    record_check(checks, "∫ζ dx = E[W²] = σ_w²", str(mass), "s_w**2", str(mass) == "s_w**2")
    standard = curvature_penalty(independent(normal(0, 1), normal(0, 1)))
    for x0, val in [(0, 2 / math.pi), (1, 1 / (2 * math.pi)), (2, 0.0254648)]:
        got = standard.evaluate(x0)
        tol = 1e-12 if x0 < 2 else 5e-8
        record_check(checks, f"ζ({x0}) for W, B ~ N(0,1) (formulas.md §6.1)", got, val,
               abs(got - val) <= tol, tol)
    sharp = curvature_penalty(independent(normal(0, 1), normal(0, "sqrt(1/10)")))
    for x0 in (0.0, 0.3, 1.0, 2.5):
        q, c = sharp.quadrature(x0), sharp.evaluate(x0)
        record_check(checks, f"sharp Gaussian: closed form = mpmath quadrature at x = {x0}", c, q,
               abs(c - q) <= 1e-12 * max(1.0, abs(q)), 1e-12)
    record_check(checks, "sharp Gaussian ζ = 2·0.1^{3/2}/(π(0.1 + x²)²)", str(sharp.expr),
           "2*(1/10)^(3/2)/(pi*(1/10 + x^2)^2)", sharp.equals("2*(1/10)^(3/2)/(pi*(1/10 + x^2)^2)"))

    # 2. Monte Carlo: W²-weighted breakpoint density
    edges = [-3 + 0.1 * i for i in range(61)]
    nmc = 200_000 if quick else 2_000_000
    for label, pen in (("N(0,1)", standard), ("sharp", sharp)):
        mc = zeta_monte_carlo(pen.init, pen, edges, n_samples=nmc, seed=1)
        record_check(checks, f"Monte Carlo ζ ({label}): max |z| over bins with >= 50 samples", mc.max_abs_z, 0.0,
               mc.max_abs_z < 4.5, 4.5)
        if label == "N(0,1)":
            fig = zplots.monte_carlo(mc.centers, mc.estimate, mc.stderr, mc.centers, mc.exact,
                                     title="ζ by simulation, W, B ~ N(0, 1)")
            save_figure(fig, out / "monte_carlo.png", dpi=110)
            files.append("monte_carlo.png")

    # 3. trained networks vs the ζ-spline, for both initializations
    width = 1024 if quick else 4096
    fig = zplots.penalty_curves([("W,B ~ N(0,1)", zeta_function(standard)[0]),
                                 ("sharp: σ_B² = 0.1", zeta_function(sharp)[0])],
                                title="ζ(x): Gaussian vs sharp Gaussian")
    save_figure(fig, out / "zeta.png", dpi=110)
    files.append("zeta.png")
    fits = {}
    for label, pen, steps in (("gaussian", standard, 6000), ("sharp", sharp, 20000)):
        spline = solve_variational(X_DATA, Y_DATA, pen)
        run = train_networks(X_DATA, Y_DATA, pen.init, [width], [0], steps=steps, progress=False)
        diff = [a - b for a, b in zip(run.outputs[0], spline(run.grid))]
        fits[label] = (_rms(diff), max(abs(d) for d in diff), float(run.train_residual[0]))
        record_check(checks, f"{label}: training residual max |f(x_j) - y_j|", fits[label][2], 0.0,
               fits[label][2] < 1e-4, 1e-4)
        tol = 3.0 / math.sqrt(width)   # ≈ 2× the fitted constant of the width sweep
        record_check(checks, f"{label}: RMS(network − g*) at width {width}", fits[label][0], 0.0,
               fits[label][0] < tol, tol)
        fig = zplots.network_vs_spline(run, spline, index=0,
                                       title=f"{label} init, width {width}: network vs g*")
        save_figure(fig, out / f"network_{label}.png", dpi=110)
        files.append(f"network_{label}.png")

    # 4. width sweep: O(n^{-1/2})
    widths = [64, 128, 256, 512, 1024] if quick else [64, 128, 256, 512, 1024, 2048, 4096]
    seeds = (0, 1, 2, 3)
    sweep = width_sweep(X_DATA, Y_DATA, standard.init, standard, widths, seeds,
                        steps=3000 if quick else 4000, progress=False)
    record_check(checks, f"fitted exponent of ‖f − g*‖ vs width {widths[0]}..{widths[-1]}",
           sweep.slope, -0.5, sweep.ok, list(SLOPE_INTERVAL))
    fig = zplots.width_scaling(sweep, title="‖f(·,θ*) − g*‖ vs width (W, B ~ N(0,1))")
    save_figure(fig, out / "width_scaling.png", dpi=110)
    files.append("width_scaling.png")

    # 5. trajectory vs smoothing splines, λ = 1/(η̄ t)
    traj = trajectory_comparison(X_DATA, Y_DATA, standard.init, standard, width=width,
                                 times=(10, 30, 100, 300, 1000), progress=False)
    floor = fits["gaussian"][0]
    worst = max(float(d) for d in traj.distance) / traj.scale
    record_check(checks, "trajectory: max_t RMS(f_t − s_λ(t)) / RMS(g*)", worst, 0.0, worst < 0.3, 0.3)
    early = [float(d) / float(f) for d, f in zip(traj.distance[:2], traj.to_final[:2])]
    record_check(checks, "early training (t = 10, 30): f_t is closer to s_λ(t) than to g* "
           "(ratio of distances)", early, 0.0, max(early) < 0.5, 0.5)
    fig = zplots.trajectory(traj, sweep.reference.x, sweep.reference.y)
    save_figure(fig, out / "trajectory.png", dpi=110)
    files.append("trajectory.png")

    # 6. exports
    doc = export.latex_document(TITLE, [
        ("Curvature penalty (derived)", general.to_latex()),
        ("Standard and sharp initialization", [standard.to_latex(), sharp.to_latex()]),
        ("Operator of the ReLU", general.operator().to_latex()),
        ("Variational problem", general.variational_problem().to_latex()),
        ("Training trajectory as smoothing splines",
         general.variational_problem(smoothing=True).to_latex()),
        ("Width scaling (fit)", sweep.to_latex()),
    ], notes=[f"Data x = {X_DATA}, y = {Y_DATA}. Fitted exponent {sweep.slope:.3f}; accepted "
              f"interval {SLOPE_INTERVAL}."])
    atomic_write_text(out / "gaussian.tex", doc)
    files.append("gaussian.tex")
    export.write_json({"zeta_general": general.to_dict(), "zeta_standard": standard.to_dict(),
                       "zeta_sharp": sharp.to_dict(), "width_sweep": sweep.to_dict(),
                       "trajectory": traj.to_dict(), "fits": fits}, out / "gaussian.json")
    files.append("gaussian.json")

    summary = (f"SymPy derives ζ(x) = {general.expr} for N(0,σ_w²)×N(0,σ_b²), equal to the "
               f"published form; Monte Carlo agrees within 4.5 standard errors. Trained width-{width} "
               f"networks match the ζ-spline (RMS {fits['gaussian'][0]:.3g} standard, "
               f"{fits['sharp'][0]:.3g} sharp); the error decays like n^{sweep.slope:.2f} over widths "
               f"{widths[0]}-{widths[-1]} (theory −1/2). During training f_t stays within "
               f"{worst:.2f}·RMS(g*) of the smoothing spline with λ = 1/(η̄t).")
    result = {"name": NAME, "title": TITLE, "reference": REFERENCE, "checks": checks,
              "files": files, "summary": summary}
    export.write_json(result, out / "summary.json")
    raise_on_failures(checks, NAME)
    return result


if __name__ == "__main__":
    print(main(Path(sys.argv[1] if len(sys.argv) > 1 else "ibsym-out") / NAME)["summary"])
