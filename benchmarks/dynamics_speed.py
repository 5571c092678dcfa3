"""Training-dynamics speed (issue 13): the digits MLP (64-32-32-10 tanh, MSE, 500 images).

Measured in one run, CPU time (process_time, BLAS limited to one thread), best of a few repeats:

* trainer steps/s: ibsym.dynamics.training.train running the Optimizer's own update ("gd",
  "heavy-ball", "adam") vs a bare NumPy loop ``theta -= h * grad`` (the baseline);
* HVP cost relative to a gradient (goal <= 3x), vs a finite-difference HVP (two gradients,
  inexact) as the baseline;
* sharpness per call: Lanczos cold / warm-started vs power iteration (baseline).

Bad-minima experiment (issue 13 part 3), wall and CPU: the whole CLI path
``ibsym bad-minima --size quick`` in a fresh process (CPU of the child), and one adversarial
phase (R = 4: 800 random-label copies, 150 epochs, MLP 64-512-10) with BLAS held to one thread
-- what the experiment does -- vs two BLAS threads (the baseline, NumPy's default here).

Run: python benchmarks/dynamics_speed.py            (everything)
     python benchmarks/dynamics_speed.py bad-minima (the bad-minima rows only)
"""
from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from ibsym import get_optimizer
from ibsym.dynamics.data import digits
from ibsym.dynamics.networks import MLP
from ibsym.dynamics.sharpness import power_iteration, sharpness
from ibsym.dynamics.training import train


def cpu(fn, repeat=5):
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.process_time()
        out = fn()
        best = min(best, time.process_time() - t)
    return best, out


def main() -> None:
    threadpool_limits(1)
    d = digits(n=500)
    net = MLP((64, 32, 32, 10), activation="tanh")
    th = net.init(seed=0, scale=0.5)
    X, Y = d.X, d.Y
    steps = 300

    def bare():
        t = th.copy()
        for _ in range(steps):
            t -= 0.3 * net.grad(t, X, Y)
        return t

    t_bare, _ = cpu(bare, 3)
    print(f"params {net.dim}, samples {d.n}")
    print(f"bare NumPy GD loop      : {steps / t_bare:8.0f} steps/s (baseline)")
    for name, hp, h in [("gd", {}, 0.3), ("heavy-ball", {"beta": 0.9}, 0.3),
                        ("adam", {"beta": 0.9, "rho": 0.999, "eps": 1e-8}, 0.002)]:
        opt = get_optimizer(name, **hp)
        t, _ = cpu(lambda: train(opt, net, X, Y, th, h=h, steps=steps), 3)
        print(f"train({name:<10})       : {steps / t:8.0f} steps/s ({t / t_bare:.2f}x the bare loop)")

    v = np.random.default_rng(0).normal(size=net.dim)
    k = 50
    t_g, _ = cpu(lambda: [net.grad(th, X, Y) for _ in range(k)])
    t_h, _ = cpu(lambda: [net.hvp(th, v, X, Y) for _ in range(k)])
    e = 1e-5

    def fd():
        return (net.grad(th + e * v, X, Y) - net.grad(th - e * v, X, Y)) / (2 * e)

    t_fd, _ = cpu(lambda: [fd() for _ in range(k)])
    err = np.max(np.abs(fd() - net.hvp(th, v, X, Y))) / np.max(np.abs(net.hvp(th, v, X, Y)))
    print(f"gradient                : {1e3 * t_g / k:8.3f} ms")
    print(f"exact HVP (R-operator)  : {1e3 * t_h / k:8.3f} ms = {t_h / t_g:.2f}x a gradient "
          f"(goal <= 3x)")
    print(f"finite-difference HVP   : {1e3 * t_fd / k:8.3f} ms = {t_fd / t_g:.2f}x "
          f"(baseline, relative error {err:.1e})")

    hv = lambda u: net.hvp(th, u, X, Y)        # noqa: E731
    t_cold, cold = cpu(lambda: sharpness(hv, net.dim, tol=1e-4), 3)
    t_warm, warm = cpu(lambda: sharpness(hv, net.dim, tol=1e-4, v0=cold.vector), 3)
    t_pow, pw = cpu(lambda: power_iteration(hv, net.dim, iters=1000, tol=1e-4), 3)
    print(f"sharpness, Lanczos cold : {1e3 * t_cold:8.1f} ms ({cold.matvecs} HVPs), "
          f"λ = {cold.value:.5f}")
    print(f"sharpness, Lanczos warm : {1e3 * t_warm:8.1f} ms ({warm.matvecs} HVPs)")
    print(f"power iteration         : {1e3 * t_pow:8.1f} ms ({pw.matvecs} HVPs), "
          f"λ = {pw.value:.5f} (baseline)")


def bad_minima() -> None:
    from ibsym.core.budget import Budget
    from ibsym.dynamics.bad_minima import _train_epochs, adversarial_copies
    from ibsym.dynamics.training import NetworkGradient
    ibsym = Path(sys.executable).with_name("ibsym")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    w = time.perf_counter()
    proc = subprocess.run([str(ibsym), "bad-minima", "--size", "quick", "--format", "json"],
                          capture_output=True, text=True, env={**os.environ})
    wall = time.perf_counter() - w
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    child = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(f"ibsym bad-minima --size quick : wall {wall:6.1f} s, CPU {child:6.1f} s "
          f"(exit {proc.returncode}; 8 runs x 400 epochs + 3 adversarial starts)")
    d = digits(n=200)
    net = MLP((64, 512, 10), activation="relu", objective="cross-entropy")
    Xa, Ya = adversarial_copies(d.X, replicas=4, noise=0.1, classes=10, seed=4)
    g = NetworkGradient(net, Xa, Ya, batch_size=50, seed=0)

    def phase():
        return _train_epochs(get_optimizer("gd"), net, g, net.init(seed=0), h=0.5, epochs=150,
                             anneal=0.0, budget=Budget(None), where="")
    for threads, what in ((1, "the experiment's setting"), (2, "baseline")):
        with threadpool_limits(threads, user_api="blas"):
            w = time.perf_counter()
            t, _ = cpu(phase, 1)
            wall = time.perf_counter() - w
        print(f"adversarial phase R=4, {threads} BLAS thread(s): wall {wall:6.2f} s, CPU "
              f"{t:6.2f} s ({what})")


if __name__ == "__main__":
    if sys.argv[1:] != ["bad-minima"]:
        main()
    bad_minima()
