"""Extended precision for the verifier: mpmath iterates, fixed-point flows.

When the float64 floor (~1e-13 absolute) leaves too few error points above it for
the highest orders, :func:`ibsym.numeric.verify.verify` measures those orders here:

* the iterates: the optimizer's *own* update rule (the one the derivation traced) run on
  NumPy object arrays of :class:`mpmath.mpf` at ``dps`` digits, with ∇L compiled to
  mpmath (:func:`mp_iterate`);
* the modified flows: F_0..F_k evaluated from the exact ring elements of the derivation
  in fixed-point integer arithmetic (value · 2^P, Python integers: about 12x cheaper
  than ``mpf`` per operation, measured) through the monomial trie of
  :class:`~ibsym.numeric.kernels.RingEvaluator` (:class:`FixedPointTerms`), the atoms
  (exp(ab), cosh(a − b), …) in mpmath, integrated by Gragg–Bulirsch–Stoer
  extrapolation of the modified midpoint rule (step numbers 2, 4, 6, …; order 2j after
  j columns, no coefficient tables) with its own error control, landing on every
  iterate time of the error window (:func:`integrate_fixed`).

Examples
--------
>>> import numpy as np
>>> from ibsym import modified_equation
>>> from ibsym.core import losses
>>> eq = modified_equation("gd", losses.bilinear(), order=1)
>>> F = FixedPointTerms(eq, bits=100)
>>> Y = F.to_fixed(np.array([[0.5], [1.5]]))
>>> [[float(F.to_mpf(x)) for x in row[:, 0]] for row in F(Y)]
[[0.375, 0.125], [0.453125, 0.109375]]
"""
from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import mpmath
import numpy as np
import sympy as sp

from ibsym.core.errors import DivergenceError, InputError, IntegrationError
from ibsym.numeric.kernels import RingEvaluator

__all__ = ["FixedPointTerms", "mp_iterate", "integrate_fixed", "bits_for", "mp_hyper",
           "extend_report"]


def bits_for(dps: int) -> int:
    """Fixed-point fraction bits for ``dps`` decimal digits (plus 16 guard bits)."""
    return int(math.ceil(dps * math.log2(10))) + 16


def mp_hyper(eq: Any, dps: int) -> dict[str, Any]:
    """The optimizer's hyper-parameters as mpf (from their exact values)."""
    with mpmath.workdps(dps):
        return {k: _to_mpf(sp.sympify(v), dps) for k, v in eq.optimizer.values}


def _to_mpf(x: sp.Expr, dps: int) -> Any:
    if isinstance(x, sp.Float):
        x = sp.Rational(x)                 # its exact binary value, as in the ring
    if isinstance(x, sp.Rational):
        return mpmath.mpf(int(x.p)) / int(x.q)
    return mpmath.mpmathify(str(sp.N(x, dps + 5)))


class FixedPointTerms:
    """F_0..F_K of a concrete modified equation in fixed-point integer arithmetic.

    A value x is the Python integer round(x · 2^bits).  ``terms(Y)`` takes Y, an object
    array (d, m) of such integers, and returns (K+1, d, m).  The coefficients are the
    exact ones of the derivation (rounded once to 2^-bits); products of monomials are
    shifted back after each multiplication; sums are exact.
    """

    def __init__(self, eq: Any, bits: int, order: int | None = None):
        alg = getattr(eq, "_algebra", None)
        if alg is None or alg.generic or len(eq._raw) != eq.order + 1:
            raise InputError("extended precision needs the exact ring elements of a "
                             "concrete derivation")
        K = eq.order if order is None else order
        self.order, self.dim, self.bits = K, eq.loss.dim, bits
        self.params = tuple(alg.ring.params)
        subs = eq.substitute_hyper()
        ev = RingEvaluator(alg.ring, [x for F in eq._raw[:K + 1] for x in F], subs)
        self._steps = [(a, b, par, gen) for a, b, par, gen in ev._steps]
        self.n_mon = ev.n_mon
        rows, cols, exact = ev.exact
        one = 1 << bits
        coef = np.array([int(round(Fraction(int(sp.Rational(c).p), int(sp.Rational(c).q))
                                   * one)) for c in exact], dtype=object)
        order_ = np.argsort(rows, kind="stable")
        self._rows, self._cols, self._coef = rows[order_], cols[order_], coef[order_]
        self._present, self._starts = np.unique(self._rows, return_index=True)
        self.n_out = ev.n_out
        self._atoms = (sp.lambdify([list(self.params)], ev.atom_exprs, modules="mpmath")
                       if ev.atom_exprs else None)
        self.n_atoms = len(ev.atom_exprs)

    # conversions ---------------------------------------------------------------------
    def to_fixed(self, X: Any) -> np.ndarray:
        """An array of floats or mpf to fixed-point integers (same shape, object)."""
        X = np.asarray(X, dtype=object)
        out = np.empty(X.shape, dtype=object)
        with mpmath.workprec(self.bits + 16):
            for idx, x in np.ndenumerate(X):
                out[idx] = int(mpmath.nint(mpmath.ldexp(mpmath.mpf(x), self.bits)))
        return out

    def to_mpf(self, v: int) -> Any:
        """One fixed-point integer to an exact mpf."""
        return mpmath.mpf((int(v), -self.bits)) if v else mpmath.mpf(0)

    def to_float(self, V: np.ndarray) -> np.ndarray:
        """Fixed-point integers to floats (for error magnitudes)."""
        return np.array([math.ldexp(float(v), -self.bits) if abs(v) < 1 << 1000
                         else math.inf for v in np.ravel(V)]).reshape(np.shape(V))

    # evaluation ----------------------------------------------------------------------
    def _atom_values(self, Y: np.ndarray) -> np.ndarray:
        m = Y.shape[1]
        out = np.empty((self.n_atoms, m), dtype=object)
        with mpmath.workprec(self.bits + 16):
            self._atoms_into(Y, out)
        return out

    def _atoms_into(self, Y: np.ndarray, out: np.ndarray) -> None:
        for c in range(Y.shape[1]):
            x = [self.to_mpf(v) for v in Y[:, c]]
            vals = self._atoms(x)
            for i, a in enumerate(vals):
                a = mpmath.mpf(a) if not isinstance(a, mpmath.mpc) else a
                if isinstance(a, mpmath.mpc) or not mpmath.isfinite(a):
                    raise IntegrationError("the modified flow left the domain of the loss "
                                           f"(an atom is {a}); try a shorter horizon T")
                out[i, c] = int(mpmath.nint(mpmath.ldexp(a, self.bits)))

    def __call__(self, Y: np.ndarray) -> np.ndarray:
        m = Y.shape[1]
        G = Y if self._atoms is None else np.vstack([Y, self._atom_values(Y)])
        M = np.empty((self.n_mon, m), dtype=object)
        M[0] = 1 << self.bits
        b_ = self.bits
        for a, b, par, gen in self._steps:
            M[a:b] = (M[par] * G[gen]) >> b_
        prods = self._coef[:, None] * M[self._cols]
        sums = np.add.reduceat(prods, self._starts, axis=0) >> b_
        out = np.zeros((self.n_out, m), dtype=object)
        out[self._present] = sums
        return out.reshape((self.order + 1, self.dim, m))


def mp_gradient(loss: Any) -> Any:
    """∇L (and the batch gradients) on object arrays of mpf, called like the numeric
    gradient oracle: ``g(theta)``, ``g(theta, k)``."""
    params = list(loss.params)
    full = sp.lambdify([params], list(loss.gradient()), modules="mpmath")
    parts = [sp.lambdify([params], list(loss.batch_gradient(k)), modules="mpmath")
             for k in range(loss.num_batches)]

    def g(theta: Any, batch: int | None = None) -> np.ndarray:
        fn = full if batch is None else parts[batch]
        return np.array(fn(list(theta)), dtype=object)

    g.batches = loss.num_batches  # type: ignore[attr-defined]
    return g


def mp_iterate(eq: Any, theta0: Sequence[Any], h: Any, steps: int, dps: int, *,
               blowup: float = 1e8) -> np.ndarray:
    """The optimizer's own update rule on mpf numbers: θ_0..θ_steps, (steps+1, d) object.

    ``h`` is taken exactly (a float is its binary value).  Raises InputError when the
    rule uses a NumPy function that does not run on mpmath numbers."""
    opt, loss = eq.optimizer, eq.loss
    with mpmath.workdps(dps):
        g = mp_gradient(loss)
        hp = mp_hyper(eq, dps)
        th = np.array([mpmath.mpf(x) for x in theta0], dtype=object)
        hh = mpmath.mpf(h)
        out = np.empty((steps + 1, loss.dim), dtype=object)
        out[0] = th
        scale = blowup * (1.0 + float(mpmath.norm(list(th))))
        try:
            state = opt.initial_state(th, g, hp)
            for n in range(steps):
                res = opt.update(th, state, g, hh, hp)
                th, state = (res if isinstance(res, tuple) else (res, {}))
                th = np.asarray(th, dtype=object).reshape(loss.dim)
                if not all(mpmath.isfinite(x) for x in th) or \
                        float(mpmath.norm(list(th))) > scale:
                    raise DivergenceError(f"{opt.name} iterates diverged at h={float(h):g} "
                                          f"(step {n + 1}, extended precision)")
                out[n + 1] = th
        except (TypeError, AttributeError) as exc:
            raise InputError(f"extended precision: the update rule of '{opt.name}' does not "
                             f"run on mpmath numbers ({exc}); write it with arithmetic and "
                             "ibsym.bea.optimizers.sqrt/norm/dot, or verify in float64 "
                             "(precision='float64')") from None
    return out


def integrate_fixed(F: FixedPointTerms, y0: np.ndarray, weights: np.ndarray, H: Any,
                    n_steps: int, *, tol: float, kmax: int = 14,
                    max_evals: int = 2_000_000) -> np.ndarray:
    """Integrate m flows dθ/dt = Σ_j weights[j, c] F_j(θ) at once, in fixed point.

    ``y0`` (d, m) and ``weights`` (K+1, m) are fixed-point integers; ``H`` is the
    output spacing (a float taken exactly, or a Fraction).  Returns the states at
    t = 0, H, 2H, …, n_steps·H as an object array (n_steps + 1, d, m).  Each output
    interval is one Gragg–Bulirsch–Stoer step (modified midpoint with 2, 4, 6, … sub-steps,
    polynomial extrapolation in the squared sub-step), accepted when two successive
    diagonal entries of the tableau agree to ``tol`` (absolute); otherwise it is split
    in halves.
    """
    bits = F.bits
    one = 1 << bits
    W = weights
    tol_fx = max(1, int(tol * one))
    evals = [0]

    def rhs(Y: np.ndarray) -> np.ndarray:
        evals[0] += 1
        if evals[0] > max_evals:
            raise IntegrationError("the extended-precision flow needs more than "
                                   f"{max_evals} field evaluations; lower the order or "
                                   "use larger steps")
        Fs = F(Y)
        return (Fs * W[:, None, :]).sum(axis=0) >> bits

    def mul(fv: np.ndarray, Hf: Fraction, n: int) -> np.ndarray:
        # fv · H / n, H = Hf exactly
        num, den = Hf.numerator, Hf.denominator * n
        return (fv * num) // den

    def step(y: np.ndarray, Hf: Fraction, depth: int = 0) -> np.ndarray:
        f0 = rhs(y)
        rows: list[list[np.ndarray]] = []
        ns: list[int] = []
        for j in range(1, kmax + 1):
            n = 2 * j
            z0 = y
            z1 = y + mul(f0, Hf, n)
            for _ in range(n - 1):
                z0, z1 = z1, z0 + mul(2 * rhs(z1), Hf, n)
            Tj = [(z1 + z0 + mul(rhs(z1), Hf, n)) // 2]
            ns.append(n)
            for k in range(1, j):
                r = ns[j - 1 - k]
                num, den = r * r, n * n - r * r
                Tj.append(Tj[k - 1] + ((Tj[k - 1] - rows[-1][k - 1]) * num) // den)
            rows.append(Tj)
            if j >= 3:
                diff = np.abs(Tj[-1] - Tj[-2]).max()
                if diff <= tol_fx:
                    return Tj[-1]
        if depth > 12:
            raise IntegrationError("the extended-precision flow did not reach its tolerance "
                                   f"{tol:.0e}; try a shorter horizon T or a lower order")
        half = Hf / 2
        return step(step(y, half, depth + 1), half, depth + 1)

    Hf = Fraction(H)
    out = np.empty((n_steps + 1,) + y0.shape, dtype=object)
    out[0] = y0
    y = y0
    for i in range(n_steps):
        y = step(y, Hf)
        if max(abs(int(v)) for v in y.ravel()) > (one << 40):
            raise IntegrationError("the modified flow blew up (extended precision); try a "
                                   "shorter horizon T or smaller step sizes")
        out[i + 1] = y
    return out


#: Gragg-Bulirsch-Stoer steps of the extended-precision flows before the error window
#: (inside it, one per iterate)
EXTENDED_PRE_STEPS = 16


def extend_report(eq: Any, theta0: Any, base: Any, *, window: float, shift: bool,
                  budget: Any, reason: str) -> Any:
    """Re-measure, in extended precision, the orders of ``base`` whose errors come within
    1e4 of its float64 floor (the others keep their float64 errors)."""
    import time
    from dataclasses import replace

    from ibsym.core.budget import Budget
    from ibsym.numeric.verify import EXTENDED_DIGITS, _fit_row, _theta0_vector
    X = sys.modules[__name__]

    t0 = time.perf_counter()
    budget = Budget.coerce(budget, advice="lower the order, use fewer or larger steps or a "
                                          "shorter horizon")
    steps, T = base.step_sizes, base.T
    good = [s for s, o in enumerate(base.outcomes) if o["status"] == "ok"]
    ext = [k for k, errs in zip(base.orders, base.errors)
           if any(np.isfinite(errs[s]) and errs[s] < 1e4 * base.floor for s in good)]
    if not ext or not good:
        return replace(base, notes=base.notes + (
            "extended precision was not needed: every error lies far above the float64 "
            f"floor {base.floor:.1e}",))
    dps = EXTENDED_DIGITS
    th0 = _theta0_vector(eq, theta0)
    # predicted smallest error of each extended order: from its error at the largest step
    pred = []
    h_min = min(steps[s] for s in good)
    for k in ext:
        errs = base.errors[base.orders.index(k)]
        h, e = max((steps[s], errs[s]) for s in good)
        if np.isfinite(e) and e > 0:
            pred.append(e * (h_min / h) ** (k + 1))
    tol = float(np.clip(1e-3 * min(pred), 10.0 ** (4 - dps), 1e-15)) if pred else 1e-22
    bits = X.bits_for(dps)
    budget.check("compiling the modified field in extended precision")
    F = X.FixedPointTerms(eq, bits, order=max(ext))
    one = 1 << bits
    shift_coeffs = np.array(base.initial_shift, dtype=float) if shift and base.initial_shift \
        else np.zeros((eq.order + 1, eq.loss.dim))
    tau = eq.tau
    errors = [list(r) for r in base.errors]
    for s in good:
        h = steps[s]
        n = int(round(T / (tau * h)))
        budget.check(f"running the optimizer in extended precision at h={h:g}")
        it = F.to_fixed(X.mp_iterate(eq, th0, h, n, dps))
        hf = Fraction(h)
        y0 = np.empty((eq.loss.dim, len(ext)), dtype=object)
        W = np.zeros((max(ext) + 1, len(ext)), dtype=object)
        for c, k in enumerate(ext):
            start = th0 + sum((h ** j * shift_coeffs[j] for j in range(1, k + 1)),
                              np.zeros(eq.loss.dim))
            if eq.has_memory and shift:      # the shift in exact binary arithmetic
                start = [sum((Fraction(float(shift_coeffs[j][i])) * hf ** j
                              for j in range(1, k + 1)), Fraction(float(th0[i])))
                         for i in range(eq.loss.dim)]
                y0[:, c] = [int(round(v * one)) for v in start]
            else:
                y0[:, c] = F.to_fixed(start)
            for j in range(k + 1):
                W[j, c] = int(round(hf ** j * one))
        budget.check(f"integrating the modified flows in extended precision at h={h:g}")
        # before the window [window·T, T] the flows need not land on the iterate times:
        # at most EXTENDED_PRE_STEPS GBS steps there; inside it, one per iterate
        i0 = min(n, max(0, int(math.ceil(window * T / (tau * h) - 1e-9))))
        stride = max(1, i0 // EXTENDED_PRE_STEPS)
        y = y0
        if i0 // stride:
            y = X.integrate_fixed(F, y, W, Fraction(tau) * hf * stride, i0 // stride,
                                  tol=tol)[-1]
        if i0 % stride:
            y = X.integrate_fixed(F, y, W, Fraction(tau) * hf * (i0 % stride), 1,
                                  tol=tol)[-1]
        sol = X.integrate_fixed(F, y, W, Fraction(tau) * hf, n - i0, tol=tol)
        for c, k in enumerate(ext):
            e = max(float(np.linalg.norm(F.to_float(it[i0 + r] - yr[:, c])))
                    for r, yr in enumerate(sol))
            errors[base.orders.index(k)][s] = e
    floor = 50 * tol
    slopes = [(_fit_row(steps, errors[i], floor) if k in ext else sl)
              for i, (k, sl) in enumerate(zip(base.orders, base.slopes))]
    warnings = tuple(w for w in base.warnings
                     if not any(w.startswith(f"order {k}: only ") for k in ext))
    for i, k in enumerate(base.orders):
        if k in ext and slopes[i] is None:
            warnings += (f"order {k}: fewer than 3 errors above the extended-precision floor "
                         f"{floor:.1e}: the slope is not measurable on this ladder",)
    what = (f"extended precision (mpmath iterates, {dps} digits; fixed-point flows, "
            f"2^-{bits}, Gragg-Bulirsch-Stoer to {tol:.0e}) for orders "
            f"{', '.join(map(str, ext))} because {reason}")
    if eq.has_memory and shift:
        what += "; the initial value of the flow comes from the float64 jets (~1e-16)"
    notes = tuple(nt for nt in base.notes if not any(nt.startswith(f"order {k}:")
                                                     for k in ext)) + (what,)
    return replace(base, errors=tuple(tuple(r) for r in errors), slopes=tuple(slopes),
                   floor=floor, warnings=warnings, notes=notes, precision="extended",
                   seconds=base.seconds + time.perf_counter() - t0)
