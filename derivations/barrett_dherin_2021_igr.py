"""Implicit gradient regularization of gradient descent.

Reproduces D. Barrett & B. Dherin, "Implicit Gradient Regularization",
ICLR 2021, Theorem 3.1 (and Fig. 1's picture on the scalar bilinear model):
GD θ_{n+1} = θ_n − h∇L(θ_n) follows, to O(h²), the gradient flow of the
modified loss L̃ = L + (h/4)‖∇L‖².  Oracles: ``shared/formulas.md`` §2.1
(the modified loss) and §2.2 (the explicit-Euler modified field of
Hairer–Lubich–Wanner, its worked instance on L = (ab − 1)²/2 at (0.5, 1.5),
and the order test).  Everything is *derived* by ``ibsym``; the published
formulas below are only compared against.

Beyond the paper, the script records what happens at h²: the correction F_2
is not a gradient field, so no modified loss exists at second order.
"""
from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import ibsym as ib
from ibsym.core import export
from ibsym.bea import trees
from ibsym.numeric.kernels import paths
from ibsym.plots.orders import error_orders, trajectories
from ibsym.plots import save_figure
from ibsym.reproduce import record_check, raise_on_failures

IBSYM_DERIVATION = True   # marks a derivation script: reproduce runs only marked files
IBSYM_COST = 1   # expected seconds (full run, one core): parallel runs start long ones first
NAME = "barrett_dherin_2021_igr"
TITLE = "Implicit gradient regularization of GD (Barrett & Dherin 2021)"
REFERENCE = "D. Barrett, B. Dherin, Implicit Gradient Regularization, ICLR 2021, Thm 3.1"



def main(out: Path, *, quick: bool = False) -> dict:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    checks: list[dict] = []

    # 1. dimension-free derivation: the modified loss comes out of the BEA
    generic = ib.modified_equation("gd", order=2)
    mloss = generic.modified_loss()
    quarter_grad_norm = trees.Combination({((),): Fraction(1, 4)}, scalar=True)  # (1/4)‖∇L‖²
    record_check(checks, "modified loss, order 1: Φ_1 = ‖∇L‖²/4", str(mloss.potentials[1]),
           str(quarter_grad_norm), mloss.valid_order >= 1 and mloss.potentials[1] == quarter_grad_norm)
    hlw = trees.Combination({((), ()): Fraction(-1, 12), (((),),): Fraction(-1, 3)})
    record_check(checks, "F_2 = f''(f,f)/12 + f'f'f/3 with f = -∇L (Hairer-Lubich-Wanner)",
           str(generic.terms[2]), str(hlw), generic.terms[2] == hlw)
    record_check(checks, "F_2 is not a gradient field (no second-order modified loss)",
           generic.is_gradient_field(2), False, generic.is_gradient_field(2) is False)

    # 2. the bilinear model, explicitly
    loss = ib.losses.bilinear()
    eq = ib.modified_equation("gd", loss, order=3)
    g = loss.gradient()
    oracle_F1 = (g.T * g).jacobian(loss.params).T / -4            # −∇(‖∇L‖²/4)
    diff = (eq.terms[1] - oracle_F1).expand()
    record_check(checks, "bilinear: F_1 = -∇(‖∇L‖²/4) exactly", str(diff.T), "[0, 0]",
           all(x == 0 for x in diff))
    vals = eq.evaluate({"a": 0.5, "b": 1.5}, h=0.1)
    for j, oracle in [(1, [0.453125, 0.109375]), (2, [0.69140625, 0.12630208])]:
        err = max(abs(x - y) for x, y in zip(vals["terms"][j], oracle))
        record_check(checks, f"bilinear: F_{j}(0.5, 1.5) (formulas.md §2.2)", vals["terms"][j], oracle,
               err < 1e-8, 1e-8)

    # 3. proof by numbers: fitted global error orders
    steps = [0.04, 0.02, 0.01, 0.005]
    report = ib.verify(eq, {"a": 0.3, "b": 1.7}, T=1.0, steps=steps)
    for k, s in zip(report.orders, report.slopes):
        record_check(checks, f"bilinear from (0.3, 1.7): slope of the order-{k} flow", s, k + 1,
               s is not None and abs(s - (k + 1)) <= 0.15, 0.15)
    eq = eq.with_verification(report)

    # 4. figures and exports
    files = []
    fig = error_orders(report, title="GD on (ab-1)²/2: global error vs h")
    save_figure(fig, out / "orders.png", dpi=120)
    files.append("orders.png")
    data = paths(eq, [0.3, 1.7], 0.2, 2.0 if quick else 4.0, orders=(0, 1))
    fig = trajectories(data, title="GD (h = 0.2) vs gradient flow vs modified flow",
                       manifold=lambda x: 1.0 / x)
    save_figure(fig, out / "trajectories.png", dpi=120)
    files.append("trajectories.png")
    files += [p.name for p in export.write(eq, out / "gd_bilinear", ("tex", "json", "py"))]
    files += [p.name for p in export.write(generic, out / "gd_generic", ("tex", "json"))]
    export.write_json(mloss, out / "modified_loss.json")
    files.append("modified_loss.json")

    summary = (f"Derived L̃ = {mloss.text[5:]} for GD from its update rule; F_2 is not a gradient "
               f"field. On (ab-1)²/2 the fitted error slopes for orders 0-3 are "
               f"{', '.join(f'{s:.3f}' for s in report.slopes)} (expected 1, 2, 3, 4).")
    result = {"name": NAME, "title": TITLE, "reference": REFERENCE, "checks": checks,
              "files": files, "summary": summary}
    export.write_json(result, out / "summary.json")
    raise_on_failures(checks, NAME)
    return result


if __name__ == "__main__":
    print(main(Path(sys.argv[1] if len(sys.argv) > 1 else "ibsym-out") / NAME)["summary"])
