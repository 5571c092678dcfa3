"""Benchmark: GD on a 100×100 depth-3 matrix factorization, 10⁴ steps (issue target: well under a minute).

Times :func:`ibsym.deep_linear.training.train` on matrix completion (100×100, rank 5, 2000 observed
entries, small balanced initialization) and, in the same run, two baselines:

* a naive per-layer loop that recomputes the products ``W_N⋯W_{j+1}`` and ``W_{j-1}⋯W_1``
  from scratch for every layer at every step (``N² − 1`` products instead of ``3(N − 1)``),
  also single-threaded;
* the same ``train`` with the BLAS library's default thread count (``threads=None``): on small
  matrices OpenBLAS threads mostly synchronize, and on a loaded machine they can be orders of
  magnitude slower.  It is timed on a short run and extrapolated.

Usage: ``python benchmarks/factorization_speed.py [--quick]``

Measured on the development machine (2 cores shared with another job, load ≈ 2.4, NumPy 2.4
with OpenBLAS 0.3.31, 2026-11-26): ``train`` 6.3 s wall / 4.3 s CPU for the 10⁴ steps
(0.63 ms per step, relative error 2.5e-3 at the end); the naive per-layer loop 10.8 s
extrapolated from 2000 steps (1.7× slower); ``train`` with the default BLAS threads 110 s
extrapolated from 200 steps (17.5× slower on the loaded machine).
"""
from __future__ import annotations

import sys
import time

import numpy as np

from ibsym.deep_linear import (balanced_factors, blas_threads, completion, random_low_rank,
                               random_mask, train)


def naive_steps(problem, layers, h: float, steps: int) -> float:
    """Seconds for ``steps`` GD steps with per-layer recomputation of the partial products."""
    layers = [W.copy() for W in layers]
    n = len(layers)
    t0 = time.perf_counter()
    for _ in range(steps):
        W = layers[0]
        for L in layers[1:]:
            W = L @ W
        G = problem.grad(W)
        grads = []
        for j in range(n):
            A = np.eye(layers[-1].shape[0])
            for L in layers[j + 1:]:
                A = L @ A
            B = np.eye(layers[0].shape[1])
            for L in layers[:j]:
                B = L @ B
            grads.append(A.T @ G @ B.T)
        for L, g in zip(layers, grads):
            L -= h * g
    return time.perf_counter() - t0


def main(quick: bool = False) -> dict:
    d, rank, n_obs, depth = 100, 5, 2000, 3
    steps = 2000 if quick else 10_000
    M = random_low_rank((d, d), rank, seed=0)
    problem = completion(M, random_mask((d, d), n_obs, seed=1))
    smax = float(np.linalg.svd(M, compute_uv=False)[0])
    h = 0.5 / (depth * smax ** (2 - 2 / depth))
    w0, c0 = time.perf_counter(), time.process_time()
    run = train(problem, depth, h=h, steps=steps, init="orthogonal", scale=1e-3, seed=0,
                record_every=100)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    err = float(np.linalg.norm(run.W - M) / np.linalg.norm(M))

    layers = balanced_factors(1e-3 * np.eye(d), depth, seed=0)
    short = steps // 5
    with blas_threads(1):
        t_naive = naive_steps(problem, layers, h, short)
    naive_total = t_naive * steps / short

    short_mt = max(50, steps // 50)
    w1 = time.perf_counter()
    train(problem, depth, h=h, steps=short_mt, init="orthogonal", scale=1e-3, seed=0,
          record_every=100, threads=None)
    t_mt = time.perf_counter() - w1
    mt_total = t_mt * steps / short_mt

    res = {"size": d, "depth": depth, "steps": steps, "train_wall_s": wall, "train_cpu_s": cpu,
           "relative_error": err, "naive_measured_s": t_naive, "naive_measured_steps": short,
           "naive_extrapolated_s": naive_total, "default_threads_measured_s": t_mt,
           "default_threads_measured_steps": short_mt, "default_threads_extrapolated_s": mt_total}
    print(f"{d}×{d} depth-{depth} completion ({n_obs} entries, rank {rank}), {steps} GD steps, h = {h:.3g}")
    print(f"  ibsym train (single-threaded BLAS): wall {wall:.2f} s, CPU {cpu:.2f} s "
          f"({wall / steps * 1e3:.3f} ms/step), relative error {err:.2e}")
    print(f"  naive per-layer recomputation: {t_naive:.2f} s for {short} steps -> "
          f"{naive_total:.1f} s extrapolated ({naive_total / wall:.2f}x slower)")
    print(f"  ibsym train with the default BLAS threads: {t_mt:.2f} s for {short_mt} steps -> "
          f"{mt_total:.1f} s extrapolated ({mt_total / wall:.1f}x slower)")
    return res


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
