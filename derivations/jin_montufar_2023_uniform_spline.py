"""Uniform initialization gives a constant curvature penalty and the natural cubic spline.

Reproduces the statement (and figure) of H. Jin & G. Montúfar, "Implicit Bias of
Gradient Descent for Mean Squared Error Regression with Two-Layer Wide Neural
Networks", JMLR 24(137), 2023: "asymmetric initialization with a uniform distribution
yields a constant curvature penalty, and thence the solution function is the natural
cubic spline interpolation of the training data".  Oracles: ``../shared/formulas.md``
§6.1 (binary-uniform ζ = 1{|x| < a_b}/(2a_b); uniform-uniform ζ constant on
[-a_b/a_w, a_b/a_w]), §6.2 and convention 7 (with an unpenalized skip connection the
solution is the natural cubic spline), and an independent natural cubic spline written
below with the standard library only (tridiagonal solve for the knot curvatures).
"""
from __future__ import annotations

import math
import sys
from fractions import Fraction
from pathlib import Path

from ibsym.core import export
from ibsym.wide_relu.densities import independent, rademacher, uniform
from ibsym.plots import zeta as zplots
from ibsym.wide_relu.networks import train_networks, zeta_monte_carlo
from ibsym.wide_relu.splines import solve_variational, zeta_function
from ibsym.wide_relu.zeta import curvature_penalty
from ibsym.plots import save_figure
from ibsym.core.files import atomic_write_text
from ibsym.reproduce import record_check, raise_on_failures

IBSYM_DERIVATION = True   # marks a derivation script: reproduce runs only marked files
IBSYM_COST = 18   # expected seconds (full run, one core): parallel runs start long ones first
NAME = "jin_montufar_2023_uniform_spline"
TITLE = "Uniform initialization: constant ζ and the natural cubic spline (Jin & Montúfar 2023)"
REFERENCE = ("H. Jin, G. Montúfar, JMLR 24(137), 2023 (uniform initialization ⇒ natural cubic "
             "spline); formulas.md §6.1-6.2")

X_DATA = [-1.5, -0.8, -0.2, 0.5, 1.1, 1.7]
Y_DATA = [0.6, -0.3, 0.4, 0.9, -0.2, 0.3]



def natural_cubic_spline(xs: list[float], ys: list[float]):
    """Independent oracle: natural cubic spline, extended linearly outside [x_0, x_n]."""
    n = len(xs) - 1
    h = [xs[i + 1] - xs[i] for i in range(n)]
    # tridiagonal system for interior second derivatives M_1..M_{n-1} (M_0 = M_n = 0)
    a = [h[i - 1] for i in range(1, n)]
    b = [2 * (h[i - 1] + h[i]) for i in range(1, n)]
    c = [h[i] for i in range(1, n)]
    d = [6 * ((ys[i + 1] - ys[i]) / h[i] - (ys[i] - ys[i - 1]) / h[i - 1]) for i in range(1, n)]
    for i in range(1, len(b)):           # Thomas algorithm
        m = a[i] / b[i - 1]
        b[i] -= m * c[i - 1]
        d[i] -= m * d[i - 1]
    M = [0.0] * (n + 1)
    for i in range(len(b) - 1, -1, -1):
        M[i + 1] = (d[i] - (c[i] * M[i + 2] if i + 1 < len(b) else 0.0)) / b[i]

    def slope(i: int, t: float) -> float:
        return (-M[i] * (xs[i + 1] - t) ** 2 / (2 * h[i]) + M[i + 1] * (t - xs[i]) ** 2 / (2 * h[i])
                + (ys[i + 1] - ys[i]) / h[i] - (M[i + 1] - M[i]) * h[i] / 6)

    def value(t: float) -> float:
        if t <= xs[0]:
            return ys[0] + slope(0, xs[0]) * (t - xs[0])
        if t >= xs[-1]:
            return ys[-1] + slope(n - 1, xs[-1]) * (t - xs[-1])
        i = max(k for k in range(n) if xs[k] <= t)
        return (M[i] * (xs[i + 1] - t) ** 3 / (6 * h[i]) + M[i + 1] * (t - xs[i]) ** 3 / (6 * h[i])
                + (ys[i] / h[i] - M[i] * h[i] / 6) * (xs[i + 1] - t)
                + (ys[i + 1] / h[i] - M[i + 1] * h[i] / 6) * (t - xs[i]))

    return lambda ts: [value(float(t)) for t in ts]


def _rms(values) -> float:
    values = [float(v) for v in values]
    return math.sqrt(sum(v * v for v in values) / len(values))


def main(out: Path, *, quick: bool = False) -> dict:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    checks: list[dict] = []
    files: list[str] = []

    # 1. symbolic ζ: uniform x uniform (symbolic and numeric), binary x uniform
    general = curvature_penalty(independent(uniform("-a_w", "a_w"), uniform("-a_b", "a_b")))
    record_check(checks, "uniform×uniform: ζ derived in closed form", general.closed_form, True,
           general.closed_form)
    worst = 0.0
    for aw, ab in ((1, 2), (Fraction(1, 2), 3), (2, 1)):
        L = Fraction(ab) / Fraction(aw)
        const = Fraction(aw) ** 3 / (8 * Fraction(ab))
        for k in range(-8, 9):
            x0 = L * Fraction(k, 8)
            worst = max(worst, abs(general.evaluate(x0, a_w=aw, a_b=ab) - float(const)))
    record_check(checks, "uniform×uniform: ζ = a_w³/(8 a_b) on [-a_b/a_w, a_b/a_w] (3 parameter pairs)",
           worst, 0.0, worst < 1e-15, 1e-15)
    pen = curvature_penalty(independent(uniform(-1, 1), uniform(-2, 2)))
    for x0 in (0.5, 2.5, 4.0):
        q, c = pen.quadrature(x0), pen.evaluate(x0)
        record_check(checks, f"uniform×uniform: closed form = mpmath quadrature at x = {x0}", c, q,
               abs(c - q) <= 1e-12, 1e-12)
    binary = curvature_penalty(independent(rademacher(), uniform(-2, 2)))
    vals = [(x0, binary.evaluate(x0)) for x0 in (-2.5, -1.9, 0.0, 1.3, 1.99, 2.1)]
    ok = all(abs(v - (0.25 if abs(x0) < 2 else 0.0)) < 1e-15 for x0, v in vals)
    record_check(checks, "binary×uniform: ζ = 1{|x| < a_b}/(2 a_b), a_b = 2", vals, "1/4 inside, 0 outside", ok)

    nmc = 200_000 if quick else 2_000_000
    edges = [-3 + 0.1 * i for i in range(61)]
    for label, p in (("uniform×uniform", pen), ("binary×uniform", binary)):
        mc = zeta_monte_carlo(p.init, p, edges, n_samples=nmc, seed=2)
        record_check(checks, f"Monte Carlo ζ ({label}): max |z| over bins with >= 50 samples", mc.max_abs_z, 0.0,
               mc.max_abs_z < 4.5, 4.5)

    # 2. the variational solution is the natural cubic spline (exactly)
    oracle = natural_cubic_spline(X_DATA, Y_DATA)
    grid = [-2.0 + 0.01 * i for i in range(401)]
    for label, p in (("uniform×uniform", pen), ("binary×uniform", binary)):
        g = solve_variational(X_DATA, Y_DATA, p)
        err = max(abs(a - b) for a, b in zip(g(grid), oracle(grid)))
        record_check(checks, f"{label}: ζ-spline = natural cubic spline on [-2, 2] (max diff)", err, 0.0,
               err < 1e-9, 1e-9)

    # 3. trained networks
    fig = zplots.penalty_curves([("W ~ U(-1,1), B ~ U(-2,2)", zeta_function(pen)[0]),
                                 ("W = ±1, B ~ U(-2,2)", zeta_function(binary)[0])],
                                xlim=(-4, 4), title="ζ(x) of uniform initializations")
    save_figure(fig, out / "zeta.png", dpi=110)
    files.append("zeta.png")
    width = 2048 if quick else 8192
    fits = {}
    for label, p in (("uniform", pen), ("binary", binary)):
        spline = solve_variational(X_DATA, Y_DATA, p)
        run = train_networks(X_DATA, Y_DATA, p.init, [width], [0], steps=5000, progress=False)
        diff = [a - b for a, b in zip(run.outputs[0], oracle(run.grid))]
        fits[label] = _rms(diff)
        record_check(checks, f"{label} init: training residual", float(run.train_residual[0]), 0.0,
               run.train_residual[0] < 1e-4, 1e-4)
        tol = 4.0 / math.sqrt(width)
        record_check(checks, f"{label} init, width {width}: RMS(network − natural cubic spline)",
               fits[label], 0.0, fits[label] < tol, tol)
        fig = zplots.network_vs_spline(run, spline, index=0,
                                       extra=[("natural cubic spline (oracle)", oracle)],
                                       title=f"{label} init, width {width}: network vs spline")
        save_figure(fig, out / f"network_{label}.png", dpi=110)
        files.append(f"network_{label}.png")

    doc = export.latex_document(TITLE, [
        ("Curvature penalty, uniform weights and biases (derived)", general.to_latex()),
        ("Binary weights, uniform biases", binary.to_latex()),
        ("Variational problem (constant ζ: natural cubic spline)",
         binary.variational_problem().to_latex()),
    ], notes=[f"Data x = {X_DATA}, y = {Y_DATA}. RMS(network - natural cubic spline): "
              f"uniform {fits['uniform']:.3g}, binary {fits['binary']:.3g} at width {width}."])
    atomic_write_text(out / "uniform_spline.tex", doc)
    files.append("uniform_spline.tex")
    export.write_json({"zeta_general": general.to_dict(), "zeta_uniform": pen.to_dict(),
                       "zeta_binary": binary.to_dict(), "fits": fits}, out / "uniform_spline.json")
    files.append("uniform_spline.json")

    summary = (f"SymPy derives ζ = {general.expr} for uniform weights and biases, constant "
               f"a_w³/(8a_b) on |x| ≤ a_b/a_w, and ζ = 1/(2a_b) on |x| < a_b for binary weights; "
               f"the exact ζ-spline equals an independent natural cubic spline to 1e-9, and trained "
               f"width-{width} networks are within RMS {fits['uniform']:.3g} (uniform) / "
               f"{fits['binary']:.3g} (binary) of it.")
    result = {"name": NAME, "title": TITLE, "reference": REFERENCE, "checks": checks,
              "files": files, "summary": summary}
    export.write_json(result, out / "summary.json")
    raise_on_failures(checks, NAME)
    return result


if __name__ == "__main__":
    print(main(Path(sys.argv[1] if len(sys.argv) > 1 else "ibsym-out") / NAME)["summary"])
