"""Implicit regularization of mini-batch SGD with random reshuffling (and of mini-batch Adam).

Reproduces S. L. Smith, B. Dherin, D. G. T. Barrett & S. De, "On the Origin of Implicit
Regularization in Stochastic Gradient Descent", ICLR 2021: with m mini-batches visited in
a uniformly random order each epoch, the mean iterate follows to O(h²) the gradient flow of

    C̃_SGD = C + (h/(4m)) Σ_k ‖∇Ĉ_k‖² = C + (h/4)‖∇C‖² + (h/(4m)) Σ_k ‖∇Ĉ_k − ∇C‖²,

i.e. GD's implicit regularizer plus a penalty on the variance of the mini-batch gradients.
Oracles: ``shared/formulas.md`` §3 (the modified loss, the worked instance
C_i = ½(w_0 w_1 x_i − y_i)² with three batches of two examples at w = (0.7, −0.4):
∇C = (0.286667, −0.501667), (1/2m) Σ_k H_k g_k = (0.404458, −0.484880), and the one-epoch
error table 1.37e-4 … 3.49e-7 with slopes ≈ 3 / 2.07 / 1.96 against the SGD-modified, the
GD-modified and the plain flow).  The field is *derived* by ``ibsym`` from the epoch map
(the mean over all m! visiting orders); the published formula is only compared against.

Beyond the symbolic result: a seeded Monte-Carlo over genuinely random shuffles shows the
mean iterate following the SGD-modified flow, and not the GD-modified flow that lacks the
variance term.  Mini-batch Adam (cyclic batches, Cattaneo et al. 2024 Thm 3.1) is derived
and verified the same way (no published closed form to compare with), and checked to reduce
to full-batch Adam when all batches are equal.
"""
from __future__ import annotations

import math
import sys
import time
from fractions import Fraction
from pathlib import Path

import ibsym as ib
from ibsym.core import export
from ibsym.numeric.jets import initial_shift
from ibsym.numeric.kernels import compile_gradient, compile_terms, integrate_batch, iterate
from ibsym.plots.orders import error_orders
from ibsym.plots.flows import sgd_drift_figure
from ibsym.core.progress import Progress
from ibsym.plots import save_figure
from ibsym.reproduce import record_check, check_close, raise_on_failures

IBSYM_DERIVATION = True   # marks a derivation script: reproduce runs only marked files
IBSYM_COST = 37   # expected seconds (full run, one core): parallel runs start long ones first
NAME = "smith_2021_sgd"
TITLE = "Implicit regularization of SGD with random reshuffling (Smith, Dherin, Barrett & De 2021)"
REFERENCE = ("S. L. Smith, B. Dherin, D. G. T. Barrett, S. De, On the Origin of Implicit "
             "Regularization in Stochastic Gradient Descent, ICLR 2021; formulas.md §3")

X_DATA = ("1", "2", "-1", "0.5", "1.5", "-2")
Y_DATA = ("1", "-0.5", "0.3", "2", "1", "0.7")
BATCHES = ((0, 1), (2, 3), (4, 5))
W0 = (0.7, -0.4)
SEED = 20210503
ADAM_HYPER = {"beta": 0.5, "rho": 0.6, "eps": 0.2}
SLOPE_TOL = 0.15

#: formulas.md §3 worked instance and one-epoch error table (max-norm)
INSTANCE = {"grad_C": [0.286667, -0.501667], "half_mean_Hg": [0.404458, -0.484880]}
ONE_EPOCH = {"steps": [0.04, 0.02, 0.01, 0.005], "errors": [1.37e-4, 1.99e-5, 2.68e-6, 3.49e-7],
             "gd_slope": 2.07, "plain_slope": 1.96}



def _max_abs_diff(x, y) -> float:
    return max(abs(float(a) - float(b)) for a, b in zip(x, y))



def _slope(steps, errors) -> float:
    """Least-squares slope of log(error) against log(h)."""
    x = [math.log(s) for s in steps]
    y = [math.log(e) for e in errors]
    mx, my = sum(x) / len(x), sum(y) / len(y)
    return sum((a - mx) * (b - my) for a, b in zip(x, y)) / sum((a - mx) ** 2 for a in x)




def smith_loss() -> ib.Loss:
    """C = mean of C_i = ½(w0 w1 x_i − y_i)², as the mean of the three batch losses Ĉ_k."""
    ex = [f"(w0*w1*({Fraction(x)}) - ({Fraction(y)}))^2/2" for x, y in zip(X_DATA, Y_DATA)]
    return ib.Loss.from_batches(["(" + " + ".join(ex[i] for i in bt) + f")/{len(bt)}"
                                 for bt in BATCHES], "w0 w1", name="C")


class SplitMix64:
    """A tiny seeded generator (SplitMix64) for the shuffles: reproducible, dependency-free."""

    MASK = (1 << 64) - 1

    def __init__(self, seed: int):
        self.state = seed & self.MASK

    def next(self) -> int:
        self.state = (self.state + 0x9E3779B97F4A7C15) & self.MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & self.MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & self.MASK
        return z ^ (z >> 31)

    def permutation(self, m: int) -> list[int]:
        """Uniform random permutation of range(m) (Fisher–Yates; modulo bias < 2^-60)."""
        p = list(range(m))
        for i in range(m - 1, 0, -1):
            j = self.next() % (i + 1)
            p[i], p[j] = p[j], p[i]
        return p


def flows_at(eq, y0, weights, times):
    """Integrate dθ/dt = Σ_j w_j F_j for each column of ``weights`` from ``y0`` (an array
    (d,)), returning an array (len(times), d, columns).  (``ibsym.numeric.kernels.paths`` uses
    t = n h even for epoch optimizers, so epoch times are handled here.)"""
    m = len(weights[0])
    start = y0.reshape(len(y0), 1).repeat(m, axis=1)
    return integrate_batch(compile_terms(eq), start, weights, times[-1], times, rtol=1e-12,
                           atol=1e-12)


def monte_carlo(loss, h: float, T: float, runs: int, rng: SplitMix64) -> dict:
    """Mean and standard error of R random-reshuffling SGD runs (vectorized over runs)."""
    G = compile_gradient(loss)
    m = loss.num_batches
    init = [[W0[0]] * runs, [W0[1]] * runs]
    th = G(init, 0) * 0.0 + init                      # (d, R) array of θ_0
    zero = th[0] * 0.0
    epochs = int(round(T / (m * h)))
    means, ses, some = [th.mean(axis=1)], [th[0] * 0.0], []
    for _ in range(epochs):
        perms = [rng.permutation(m) for _ in range(runs)]
        for pos in range(m):
            grads = [G(th, k) for k in range(m)]
            step = grads[0] * 0.0
            for k in range(m):
                step = step + grads[k] * (zero + [1.0 if p[pos] == k else 0.0 for p in perms])
            th = th - h * step
        means.append(th.mean(axis=1))
        ses.append(th.std(axis=1) / runs ** 0.5)
        some.append(th[:, :12])
    return {"epochs": epochs, "times": [m * h * n for n in range(epochs + 1)],
            "mean": means, "se": ses, "some": some}


def check_instance(checks: list, eq) -> None:
    """formulas.md §3 instance at w = (0.7, −0.4), against ``INSTANCE``."""
    vals = eq.evaluate({"w0": W0[0], "w1": W0[1]})["terms"]
    check_close(checks, "instance w=(0.7,−0.4): F_0 = −∇C (formulas.md §3)",
                  [-v for v in vals[0]], INSTANCE["grad_C"], 1e-6)
    check_close(checks, "instance: F_1 = −(1/2m) Σ_k H_k g_k (formulas.md §3)",
                  [-v for v in vals[1]], INSTANCE["half_mean_Hg"], 1e-6)


def main(out: Path, *, quick: bool = False) -> dict:
    """Derive SGD (and mini-batch Adam), check against Smith et al., verify, Monte-Carlo."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    checks: list[dict] = []
    files: list[str] = []
    prog = Progress(NAME, total=7)
    loss = smith_loss()
    m = loss.num_batches
    full = ib.Loss(loss.expr, loss.params, name="C")          # the same C, without batches

    # 1. derivation and the modified loss ------------------------------------------------
    eq = ib.modified_equation("sgd", loss, order=2)
    record_check(checks, "one update of 'sgd' is an epoch: time m·h per update", eq.tau, m, eq.tau == m)
    check_instance(checks, eq)
    norms = [(gk.T * gk)[0] for gk in (loss.batch_gradient(k) for k in range(m))]
    penalty = sum(norms) / (4 * m)                              # (1/4m) Σ_k ‖∇Ĉ_k‖²
    diff = [(eq.terms[1][i] + penalty.diff(p)).expand() for i, p in enumerate(loss.params)]
    record_check(checks, "F_1 = −∇[(1/(4m)) Σ_k ‖∇Ĉ_k‖²] exactly (Smith et al.)", [str(x) for x in diff],
           ["0", "0"], all(x == 0 for x in diff))
    ml = eq.modified_loss()
    gap1 = [(ml.potentials[1] - penalty).diff(p).expand() for p in loss.params]
    gap0 = [(ml.potentials[0] - loss.expr).diff(p).expand() for p in loss.params]
    record_check(checks, "derived modified loss C̃ = C + h (1/(4m)) Σ_k ‖∇Ĉ_k‖² (up to constants)",
           ml.text[:160], "C + (h/(4m)) Σ_k ‖∇Ĉ_k‖²",
           ml.valid_order >= 1 and all(x == 0 for x in gap1 + gap0))
    gC = loss.gradient()
    var = sum(((gk - gC).T * (gk - gC))[0] for gk in (loss.batch_gradient(k) for k in range(m)))
    ident = (penalty - (gC.T * gC)[0] / 4 - var / (4 * m)).expand()
    record_check(checks, "= C + (h/4)‖∇C‖² + (h/(4m)) Σ_k ‖∇Ĉ_k − ∇C‖² (formulas.md §3, second form)",
           str(ident), "0", ident == 0)
    gd = ib.modified_equation("gd", full, order=2)
    dvar = [(eq.terms[1][i] - gd.terms[1][i] + (var / (4 * m)).diff(p)).expand()
            for i, p in enumerate(loss.params)]
    record_check(checks, "SGD − GD (same C, same h): F_1 differs exactly by −∇ of the variance term",
           [str(x) for x in dvar], ["0", "0"], all(x == 0 for x in dvar))
    record_check(checks, "new: F_2 of the mean epoch map is not a gradient field",
           eq.is_gradient_field(2), False, eq.is_gradient_field(2) is False)
    prog.update("derivation")

    # 2. formulas.md §3 one-epoch table (exact mean over the 3! orders) ---------------------
    sgd_opt = eq.optimizer
    st = ONE_EPOCH["steps"]
    e_sgd, e_gd, e_plain = [], [], []
    for h in st:
        mean = iterate(sgd_opt, loss, W0, h, 1)               # θ_0 and the mean after one epoch
        w = [[1.0, 1.0], [h, 0.0], [0.0, 0.0]]
        fs = flows_at(eq, mean[0], w, [0.0, m * h])[-1]
        fg = flows_at(gd, mean[0], [[1.0], [h], [0.0]], [0.0, m * h])[-1]
        e_sgd.append(float(abs(fs[:, 0] - mean[1]).max()))
        e_plain.append(float(abs(fs[:, 1] - mean[1]).max()))
        e_gd.append(float(abs(fg[:, 0] - mean[1]).max()))
    worst = max(abs(x / y - 1) for x, y in zip(e_sgd, ONE_EPOCH["errors"]))
    record_check(checks, "one epoch, mean over orders vs C̃_SGD flow: errors (max-norm, §3 table)",
           [float(f"{x:.4g}") for x in e_sgd], ONE_EPOCH["errors"], worst <= 0.02, "2% relative")

    def last(e: list[float]) -> float:
        return math.log(e[-2] / e[-1]) / math.log(st[-2] / st[-1])

    record_check(checks, "one epoch: slope vs the GD-modified flow (no variance term) ≈ 2.07",
           round(last(e_gd), 3), ONE_EPOCH["gd_slope"], abs(last(e_gd) - ONE_EPOCH["gd_slope"]) <= 0.02,
           0.02)
    record_check(checks, "one epoch: slope vs the plain gradient flow ≈ 1.96", round(last(e_plain), 3),
           ONE_EPOCH["plain_slope"], abs(last(e_plain) - ONE_EPOCH["plain_slope"]) <= 0.02, 0.02)
    record_check(checks, "one epoch: local error vs C̃_SGD flow is O(h³)", round(last(e_sgd), 3), 3,
           abs(last(e_sgd) - 3) <= 0.1, 0.1)
    prog.update("one-epoch table")

    # 3. global verification (orders 0..2; order 2 new) -----------------------------------
    rep = ib.verify(eq, {"w0": W0[0], "w1": W0[1]}, T=0.96 if not quick else 0.48,
                    steps=[0.04, 0.02, 0.01, 0.005])
    for k, s in zip(rep.orders, rep.slopes):
        record_check(checks, f"sgd from (0.7,−0.4): slope of the order-{k} flow"
               + (" (order 2 is new)" if k == 2 else ""), s, k + 1,
               s is not None and abs(s - (k + 1)) <= SLOPE_TOL, SLOPE_TOL)
    prog.update("verification")

    # 4. Monte-Carlo over genuinely random shuffles ----------------------------------------
    rng = SplitMix64(SEED)
    runs = 1000 if quick else 4000
    steps_mc = [0.04, 0.02] if quick else [0.04, 0.02, 0.01]
    T_mc = 2.4
    mc_rows = []
    mc_data = {}
    for h in steps_mc:
        mc = monte_carlo(loss, h, T_mc, runs, rng)
        times = mc["times"]
        # columns: order 2, order 1, gradient flow (h⁰)
        w = [[1.0, 1.0, 1.0], [h, h, 0.0], [h * h, 0.0, 0.0]]
        fs = flows_at(eq, mc["mean"][0], w, times)
        fg = flows_at(gd, mc["mean"][0], w, times)

        def dist(flow, c):
            return [float(abs(flow[n, :, c] - mc["mean"][n]).max()) for n in range(len(times))]

        d = {"sgd2": dist(fs, 0), "sgd1": dist(fs, 1), "flow": dist(fs, 2),
             "gd2": dist(fg, 0), "gd1": dist(fg, 1)}
        se = max(float(x.max()) for x in mc["se"])
        row = {"h": h, "epochs": mc["epochs"], "runs": runs, "max_se": se,
               **{f"err_{k}": max(v) for k, v in d.items()}}
        mc_rows.append(row)
        mc_data[h] = (mc, d, fs, fg)
        record_check(checks, f"Monte-Carlo h={h:g} ({runs} seeded shuffles, {mc['epochs']} epochs): the "
               "mean iterate stays within 5 standard errors of the SGD-modified flow (order 2)",
               float(f"{row['err_sgd2']:.3g}"), f"≤ 5 s.e. = {5 * se:.2g}", row["err_sgd2"] <= 5 * se)
        record_check(checks, f"Monte-Carlo h={h:g}: it is ≥ 5× farther from the GD-modified flow (order 2, "
               "no variance term)", [float(f"{row['err_gd2']:.3g}"), float(f"{row['err_sgd2']:.3g}")],
               "ratio ≥ 5", row["err_gd2"] >= 5 * row["err_sgd2"])
    if len(steps_mc) >= 3:
        s_sgd = _slope(steps_mc, [r["err_sgd1"] for r in mc_rows])
        s_gd = _slope(steps_mc, [r["err_gd1"] for r in mc_rows])
        record_check(checks, "Monte-Carlo: distance to the order-1 SGD-modified flow shrinks like h² "
               "(fitted slope)", round(s_sgd, 3), 2, abs(s_sgd - 2) <= 0.4, 0.4)
        record_check(checks, "Monte-Carlo: distance to the order-1 GD-modified flow shrinks like h only",
               round(s_gd, 3), 1, abs(s_gd - 1) <= 0.3, 0.3)
    prog.update("Monte-Carlo")

    # 5. mini-batch Adam (cyclic batches) --------------------------------------------------
    mb_order = 1 if quick else 2
    mba = ib.modified_equation("minibatch-adam", loss, order=mb_order, hyper=ADAM_HYPER)
    mb_steps = [0.02, 0.01, 0.005, 0.0025] if quick else [0.01, 0.005, 0.0025, 0.00125]
    rep_mba = ib.verify(mba, {"w0": W0[0], "w1": W0[1]}, T=0.48, steps=mb_steps)
    for k, s in zip(rep_mba.orders, rep_mba.slopes):
        record_check(checks, f"minibatch-adam {ADAM_HYPER} from (0.7,−0.4): slope of the order-{k} "
               "flow (no published oracle)", s, k + 1,
               s is not None and abs(s - (k + 1)) <= SLOPE_TOL, SLOPE_TOL)
    s_mba = initial_shift(mba, list(W0))
    full_adam = ib.modified_equation("adam", full, order=1, hyper=ADAM_HYPER)
    v_mb = mba.evaluate({"w0": W0[0], "w1": W0[1]})["terms"]
    v_fb = full_adam.evaluate({"w0": W0[0], "w1": W0[1]})["terms"]
    E = "(a*b - 1)^2/2"
    same = ib.Loss.from_batches([E, E, E], "a b")
    mb_same = ib.modified_equation("minibatch-adam", same, order=1, hyper=ADAM_HYPER)
    adam = ib.modified_equation("adam", ib.losses.bilinear(), order=1, hyper=ADAM_HYPER)
    eq_terms = all((x - y).cancel() == 0 for F, G in zip(mb_same.terms, adam.terms)
                   for x, y in zip(F, G))
    record_check(checks, "minibatch-adam with three equal batches = full-batch Adam (F_0, F_1 identical)",
           eq_terms, True, eq_terms)
    s_same = initial_shift(mb_same, [0.5, 1.5])[1]
    record_check(checks, "minibatch-adam with equal batches: s_1 = 0 at (0.5, 1.5), as bias-corrected "
           "Adam (numeric, from the transient)", [float(x) for x in s_same], [0, 0],
           float(abs(s_same).max()) < 1e-9, 1e-9)
    record_check(checks, "new: distinct batches (cyclic order) need an O(h) initial shift: s_1 ≠ 0",
           [round(float(x), 6) for x in s_mba[1]], "≠ 0", float(abs(s_mba[1]).max()) > 1e-3)
    record_check(checks, "new: mini-batch Adam's F_0 differs from full-batch Adam on C "
           "(batch-wise normalization)", [round(x, 6) for x in v_mb[0]],
           [round(x, 6) for x in v_fb[0]], _max_abs_diff(v_mb[0], v_fb[0]) > 1e-3)
    prog.update("mini-batch Adam")

    # 6. figures -------------------------------------------------------------------------
    fig = error_orders(rep, title="SGD, mean over random reshuffling, Smith et al. instance\n"
                              "from (0.7, −0.4): global error vs h (order 2 is new)")
    save_figure(fig, out / "orders_sgd.png")
    files.append("orders_sgd.png")
    fig = error_orders(rep_mba, title="mini-batch Adam (β=0.5, ρ=0.6, ε=0.2), cyclic batches\n"
                                  "global error vs h (no published oracle)")
    save_figure(fig, out / "orders_minibatch_adam.png")
    files.append("orders_minibatch_adam.png")
    drift, distances = [], []
    for h in steps_mc[:2]:
        mc, d, fs, fg = mc_data[h]
        t = mc["times"]
        drift.append({"h": h, "t": t,
                      "predicted": [[float(fs[n, j, 0] - fg[n, j, 0]) for j in range(2)]
                                    for n in range(len(t))],
                      "measured": [[float(mc["mean"][n][j] - fg[n, j, 0]) for j in range(2)]
                                   for n in range(len(t))],
                      "stderr": [[float(mc["se"][n][j]) for j in range(2)] for n in range(len(t))]})
    for h in steps_mc:
        mc, d, _, _ = mc_data[h]
        distances.append({"h": h, "t": mc["times"], "sgd": d["sgd2"], "gd": d["gd2"],
                          "stderr": [2 * float(s.max()) for s in mc["se"]]})
    canvas = sgd_drift_figure(drift, distances, runs=runs)
    save_figure(canvas, out / "monte_carlo.png")
    files.append("monte_carlo.png")
    prog.update("figures")

    # 7. exports --------------------------------------------------------------------------
    files += [p.name for p in export.write(eq.with_verification(rep), out / "sgd_smith_instance",
                                           ("tex", "json", "py"))]
    export.write_json(ml, out / "modified_loss.json")
    files.append("modified_loss.json")
    files += [p.name for p in export.write(gd, out / "gd_full_batch", ("tex", "json"))]
    files += [p.name for p in export.write(mba.with_verification(rep_mba), out / "minibatch_adam",
                                           ("json", "py"))]
    export.write_json({"seed": SEED, "runs": runs, "T": T_mc, "rows": mc_rows,
                       "one_epoch": {"steps": st, "sgd_flow": e_sgd, "gd_flow": e_gd,
                                     "gradient_flow": e_plain}}, out / "monte_carlo.json")
    files.append("monte_carlo.json")
    prog.update("exports")

    summary = (f"Derived from the epoch map (mean over the {m}! orders): SGD follows −∇C̃ with "
               f"C̃ = C + (h/(4m)) Σ_k ‖∇Ĉ_k‖² (Smith et al.), checked symbolically; the instance "
               f"and the one-epoch table of formulas.md §3 are reproduced (errors "
               f"{', '.join(f'{x:.3g}' for x in e_sgd)}). Global slopes (orders 0-2): "
               f"{', '.join(f'{s:.3f}' for s in rep.slopes)}. Monte-Carlo ({runs} seeded "
               f"shuffles): the mean iterate is within "
               f"{', '.join(format(r['err_sgd2'], '.2g') for r in mc_rows)} of the "
               f"SGD-modified flow vs {', '.join(format(r['err_gd2'], '.2g') for r in mc_rows)} "
               f"of the GD-modified flow (both to order h²) "
               f"(h = {', '.join(f'{h:g}' for h in steps_mc)}). Mini-batch Adam: slopes "
               f"{', '.join(f'{s:.3f}' for s in rep_mba.slopes)}; equal batches give full-batch "
               f"Adam.")
    result = {"name": NAME, "title": TITLE, "reference": REFERENCE, "checks": checks,
              "files": files + ["summary.json"], "summary": summary,
              "derived": {"modified_loss": ml.text, "F_1": [str(x) for x in eq.terms[1]],
                          "slopes": list(rep.slopes), "monte_carlo": mc_rows,
                          "minibatch_adam_slopes": list(rep_mba.slopes),
                          "minibatch_adam_s1_at_w0": [float(x) for x in s_mba[1]],
                          "minibatch_adam_F_at_w0": v_mb, "full_batch_adam_F_at_w0": v_fb},
              "seconds": round(time.perf_counter() - t_start, 2), "quick": quick}
    export.write_json(result, out / "summary.json")
    raise_on_failures(checks, NAME)
    return result


if __name__ == "__main__":
    print(main(Path(sys.argv[1] if len(sys.argv) > 1 else "ibsym-out") / NAME,
               quick="--quick" in sys.argv)["summary"])
