"""Numerical verification of modified equations: fitted error orders.

:func:`verify` runs the discrete iterates for a ladder of step sizes,
integrates the modified flows truncated after h^0, h^1, …, h^k from the right
initial value, measures the global error over the second half of [0, T], fits
the log-log slope per order and compares it with the declared order k + 1.

The iterates start from the true θ_0 and the optimizer's true initial state
(zero momentum, zero moments …); the flow truncated after h^k starts from the
derived initial value truncated alike, θ_0 + Σ_{j≤k} h^j s_j (:mod:`ibsym.numeric.jets`;
s_j = 0 for memoryless optimizers such as GD).

How the integrator tolerances are chosen
----------------------------------------
The errors to be measured span many decades (O(h) for order 0 down to
O(h^{k+1}) for the smallest step).  A pilot pass integrates every flow at
``rtol = atol = 1e-10``; the final pass then uses
``tol = clamp(1e-3 · (smallest pilot error), 1e-13, 1e-8)`` with DOP853, so the
integration error sits at least ~three decades below the smallest error being
fitted (never beneath the 1e-13 round-off floor of double precision).  The report
records both tolerances and the *margin* (smallest error / tol).  Errors below
``floor = 50 · tol`` are excluded from the fit and flagged, as is any step size
whose iterates diverge (with its stability threshold).

Examples
--------
>>> from ibsym import modified_equation
>>> from ibsym.core import losses
>>> eq = modified_equation("gd", losses.bilinear(), order=1)
>>> rep = verify(eq, theta0={"a": 0.3, "b": 1.7}, T=1.0, steps=[0.04, 0.02, 0.01, 0.005])
>>> [round(s, 1) for s in rep.slopes]
[1.0, 2.0]
>>> rep.passed
True
"""
from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ibsym.core.errors import DivergenceError, InputError
from ibsym.core.export import latex_document
from ibsym.numeric.jets import initial_shift
from ibsym.numeric.kernels import compile_gradient, compile_terms, integrate_batch, iterate
from ibsym.core.progress import Progress
from ibsym.core.results import Result

__all__ = ["verify", "VerifyReport", "fit_order", "auto_steps", "AUTO_ERROR_FLOOR",
           "AUTO_REGIME_FRACTION"]

SLOPE_TOLERANCE = 0.15
#: Most optimizer steps (T/h summed over the ladder) one verification may run: about ten
#: seconds; ``T = 1e6`` with the default ladder (375 million steps) is refused up front.
MAX_ITERATIONS = 200_000


def fit_order(steps: Sequence[float], errors: Sequence[float]) -> float:
    """Least-squares slope of log(error) against log(h).

    Examples
    --------
    >>> fit_order([0.1, 0.05, 0.025], [1e-2, 2.5e-3, 6.25e-4])
    2.0
    """
    x, y = np.log(np.asarray(steps, float)), np.log(np.asarray(errors, float))
    if len(x) < 2:
        raise InputError("at least two step sizes with usable errors are needed to fit an order")
    return float(np.polyfit(x, y, 1)[0])


@dataclass(frozen=True)
class VerifyReport(Result):
    """Errors and fitted orders of a verification sweep.

    Attributes
    ----------
    step_sizes : tuple of float
    orders : tuple of int
    errors : tuple of tuples
        ``errors[i][s]``: max error of the order-``orders[i]`` flow for step
        ``step_sizes[s]`` over t ∈ [T/2, T] (NaN if the step diverged).
    slopes : tuple
        Fitted log-log slope per order (None if fewer than two usable points).
    expected : tuple of int
        k + 1 per order.
    outcomes : tuple of dict
        Per step size: ``{"h", "status", "message"}``.
    rtol, atol, pilot_tol : float
        Tolerances used (see module docstring).
    """

    schema = "verification"

    optimizer: str
    loss: str
    params: tuple[str, ...]
    theta0: tuple[float, ...]
    T: float
    step_sizes: tuple[float, ...]
    orders: tuple[int, ...]
    errors: tuple[tuple[float, ...], ...]
    slopes: tuple[float | None, ...]
    expected: tuple[int, ...]
    outcomes: tuple[dict, ...]
    rtol: float
    atol: float
    pilot_tol: float
    floor: float
    seconds: float
    window: str = "max over t_n in [T/2, T]"
    tolerance: float = SLOPE_TOLERANCE
    notes: tuple[str, ...] = field(default=())
    warnings: tuple[str, ...] = field(default=())
    initial_shift: tuple = field(default=())
    precision: str = "float64"

    @property
    def ok(self) -> tuple[bool, ...]:
        """Per order: slope within ``tolerance`` of the expected order."""
        return tuple(s is not None and abs(s - e) <= self.tolerance
                     for s, e in zip(self.slopes, self.expected))

    @property
    def passed(self) -> bool:
        """All orders have their expected slope."""
        return all(self.ok)

    @property
    def margin(self) -> float:
        """Smallest fitted error divided by the integrator tolerance."""
        errs = [e for row in self.errors for e in row if np.isfinite(e) and e > self.floor]
        return float(min(errs) / self.rtol) if errs else float("nan")

    def summary(self) -> str:
        """One sentence for reports."""
        sl = ", ".join(f"order {k}: {s:.3f}" if s is not None else f"order {k}: n/a"
                       for k, s in zip(self.orders, self.slopes))
        verdict = "PASSED" if self.passed else "FAILED"
        return (f"Verification {verdict} ({self.optimizer} on {self.loss}, T={self.T:g}, "
                f"h in {list(self.step_sizes)}): fitted slopes {sl} (expected k+1 within "
                f"{self.tolerance}); integrator DOP853 rtol=atol={self.rtol:.1e}, margin "
                f"{self.margin:.1e}" + ("; some orders in extended precision (see notes)."
                                        if self.precision == "extended" else "."))

    def table(self) -> str:
        """Plain-text table of errors and slopes."""
        head = "order | " + " | ".join(f"h={h:<9g}" for h in self.step_sizes) + " | slope  | expected"
        rows = [head, "-" * len(head)]
        for k, errs, s, e, ok in zip(self.orders, self.errors, self.slopes, self.expected, self.ok):
            cells = " | ".join(f"{x:<11.3e}" if np.isfinite(x) else f"{'n/a':<11}" for x in errs)
            sl = f"{s:6.3f}" if s is not None else "  n/a "
            rows.append(f"{k:>5} | {cells} | {sl} | {e} {'ok' if ok else 'FAIL'}")
        return "\n".join(rows)

    def __str__(self) -> str:
        lines = [self.table(), self.summary()]
        for o in self.outcomes:
            if o["status"] != "ok":
                lines.append(f"h={o['h']:g}: {o['message']}")
        lines.extend(self.notes)
        lines.extend("warning: " + w for w in self.warnings)
        return "\n".join(lines)

    def to_latex(self) -> str:
        cols = "c" * len(self.step_sizes)
        head = " & ".join(f"h={h:g}" for h in self.step_sizes)
        rows = []
        for k, errs, s in zip(self.orders, self.errors, self.slopes):
            cells = " & ".join(_latex_num(x) for x in errs)
            rows.append(f"{k} & {cells} & {s:.3f}" if s is not None else f"{k} & {cells} & -")
        return (r"\begin{array}{c|" + cols + "|c}" + r"\text{order} & " + head
                + r" & \text{slope}\\ \hline " + r"\\ ".join(rows) + r"\end{array}")

    def _repr_latex_(self) -> str:
        """Jupyter: the table of errors (orders × step sizes), fitted and expected slopes.

        Examples
        --------
        >>> r = VerifyReport("gd", "L", ("x",), (1.0,), 1.0, (0.1, 0.05), (1,),
        ...                  ((1e-2, 2.5e-3),), (2.0,), (2,), (), 1e-12, 1e-12, 1e-9, 0.0, 0.1)
        >>> print(r._repr_latex_())  # doctest: +NORMALIZE_WHITESPACE
        $\\displaystyle \\begin{array}{c|cc|cc}\\text{order} & h=0.1 & h=0.05 &
        \\text{slope} & \\text{expected}\\\\ \\hline 1 & 1.00\\cdot 10^{-2} &
        2.50\\cdot 10^{-3} & 2.000 & 2\\ \\text{ok}\\end{array}$
        """
        cols = "c" * len(self.step_sizes)
        head = " & ".join(f"h={h:g}" for h in self.step_sizes)
        rows = []
        for k, errs, s, e, ok in zip(self.orders, self.errors, self.slopes, self.expected, self.ok):
            cells = " & ".join(_latex_num(x) for x in errs)
            sl = f"{s:.3f}" if s is not None else "-"
            rows.append(f"{k} & {cells} & {sl} & {e}" + (r"\ \text{ok}" if ok else r"\ \text{FAIL}"))
        return ("$\\displaystyle " + r"\begin{array}{c|" + cols + "|cc}" + r"\text{order} & " + head
                + r" & \text{slope} & \text{expected}\\ \hline " + r"\\ ".join(rows)
                + r"\end{array}$")

    def latex_document(self, title: str | None = None) -> str:
        return latex_document(title or "Verification of the modified equation",
                              [("Errors and fitted orders", self.to_latex())],
                              notes=[self.summary()])

    def to_dict_body(self) -> dict[str, Any]:
        return {
            "optimizer": self.optimizer, "loss": self.loss, "params": list(self.params),
            "theta0": list(self.theta0), "T": self.T, "window": self.window,
            "step_sizes": list(self.step_sizes),
            "results": [{"order": k, "slope": s, "expected": e, "ok": ok,
                         "errors": [None if not np.isfinite(x) else x for x in errs]}
                        for k, s, e, ok, errs in zip(self.orders, self.slopes, self.expected,
                                                     self.ok, self.errors)],
            "passed": self.passed, "outcomes": list(self.outcomes),
            "integrator": {"method": "DOP853", "rtol": self.rtol, "atol": self.atol,
                           "pilot_tol": self.pilot_tol, "fit_floor": self.floor,
                           "margin": self.margin},
            "slope_tolerance": self.tolerance, "seconds": self.seconds,
            "notes": list(self.notes), "warnings": list(self.warnings),
            "initial_shift": [list(r) for r in self.initial_shift],
            "precision": self.precision,
        }


def _latex_num(x: float) -> str:
    if not np.isfinite(x):
        return "-"
    m, e = f"{x:.2e}".split("e")
    return rf"{m}\cdot 10^{{{int(e)}}}"


def _theta0_vector(eq: Any, theta0: Mapping[str, Any] | Sequence[float]) -> np.ndarray:
    names = [str(p) for p in eq.params]
    if isinstance(theta0, Mapping):
        missing = [n for n in names if n not in theta0]
        extra = [n for n in theta0 if n not in names]
        if missing or extra:
            raise InputError(f"initial value must give each of {', '.join(names)}"
                             + (f"; missing {', '.join(missing)}" if missing else "")
                             + (f"; unknown {', '.join(extra)}" if extra else ""))
        return np.array([float(theta0[n]) for n in names])
    v = np.asarray(theta0, dtype=float)
    if v.shape != (len(names),):
        raise InputError(f"initial value needs {len(names)} entries ({', '.join(names)})")
    return v


def _check_real_at(eq: Any, terms: Any, th0: np.ndarray) -> None:
    """Refuse a start where a derived F_j is not a finite real number (a root of a negative
    quantity, |u| or 1/u with u(θ_0) = 0): the expansion does not hold there."""
    with np.errstate(all="ignore"):
        vals = terms(th0[:, None])[:, :, 0]
    bad = [j for j in range(vals.shape[0]) if not np.all(np.isfinite(vals[j]))]
    if bad:
        at = ", ".join(f"{p}={v:g}" for p, v in zip(eq.params, th0))
        raise InputError(f"the derived F_{bad[0]} is not a finite real number at θ0 = ({at}): "
                         "the loss or the update takes a root of a negative quantity there, "
                         "or is not smooth there (e.g. |u| or 1/u with u(θ0) = 0); the "
                         "expansion in h holds only where both are real and smooth -- start "
                         "elsewhere")


def verify(eq: Any, theta0: Mapping[str, Any] | Sequence[float], T: float = 1.0,
           steps: Sequence[float] | None = None, orders: Sequence[int] | None = None,
           *, progress: bool = False, window: float = 0.5, shift: bool = True,
           max_iterations: int = MAX_ITERATIONS, budget: Any = None,
           precision: str = "auto") -> VerifyReport:
    """Fit the global error order of each truncation of a modified equation.

    Without ``steps`` the ladder is chosen (:func:`auto_steps`): from the predicted error
    constants and the float64 floor, every requested order gets at least three step sizes
    whose errors lie above the floor, all inside the asymptotic regime; when the constants
    measured in that run choose a different ladder (the prediction is an estimate), a
    second run uses it.  The
    report's notes say which ladder was used and why.  A given ladder on which an order
    has fewer than three errors above the floor (fewer than ``len(steps)`` when only two
    steps are given) reports that order's slope as not measurable (``None``, a warning)
    rather than fitting the round-off.

    Parameters
    ----------
    eq : ModifiedEquation
        Concrete, with numeric hyper-parameters.
    theta0 : mapping or sequence
        The true initial value θ_0 (the flow starts from θ_0 plus the derived
        initial shift).
    T : float
        Horizon; step sizes must divide it (T/h an integer up to 1e-9).
    steps : sequence of float, optional
        Step-size ladder (default: chosen automatically, see above).
    orders : sequence of int, optional
        Truncation orders to test (default 0..eq.order).
    progress : bool
        Print progress on stderr.
    window : float
        Errors are measured for t ≥ window·T (default: the second half).
    shift : bool
        Start the flows from the derived initial value θ_0 + Σ h^j s_j (default).  With
        ``False`` they start from θ_0 itself -- for optimizers with memory this shows
        the O(h) error the shift removes.
    max_iterations : int
        Refuse (before any work) a ladder whose optimizer steps, T/h summed over the
        step sizes, exceed this (default :data:`MAX_ITERATIONS`).
    budget : Budget or float, optional
        Time budget (a :class:`~ibsym.core.budget.Budget` shared with the derivation, or
        seconds), checked between the phases: compilation, each run of the optimizer,
        the pilot and the final integration; :class:`~ibsym.core.errors.BudgetExceeded`
        past it.  Default unbounded.
    precision : {"auto", "float64", "extended"}
        ``"auto"`` (default): float64; when no float64 ladder measures every order, or
        the orders that fail sit on the float64 floor, the automatic ladder is chosen
        again for an error floor of :data:`EXTENDED_ERROR_FLOOR` and those orders are
        measured in extended precision (:mod:`ibsym.numeric.extended`: mpmath iterates,
        fixed-point flows, :data:`EXTENDED_DIGITS` digits) -- the report's notes say so
        and why.  A given ``steps`` ladder is run as given, in float64 (orders on the
        floor: not measurable, with a warning naming them).  ``"extended"``: the orders
        near the float64 floor in extended precision, also on a given ladder (a
        tighter proof: the automatic ladder lies deeper in the asymptotic regime).
        ``"float64"``: never extended.

    Returns
    -------
    VerifyReport
    """
    if precision not in ("auto", "float64", "extended"):
        raise InputError(f"precision must be 'auto', 'float64' or 'extended', got {precision!r}")
    kw = dict(progress=progress, window=window, shift=shift, max_iterations=max_iterations,
              budget=budget)
    if steps is not None:
        rep = _verify_ladder(eq, theta0, T, steps, orders, **kw)
        if precision == "extended":
            from ibsym.numeric.extended import extend_report
            return extend_report(eq, theta0, rep, window=window, shift=shift, budget=budget,
                                 reason="extended precision was asked for "
                                        "(precision='extended')")
        return _floor_summary(rep)
    if eq.is_generic:
        raise InputError("verification needs a concrete loss (give --loss and --params)")
    if precision == "extended":
        return _verify_extended_auto(eq, theta0, T, orders, kw, "extended precision was "
                                     "asked for (precision='extended')")
    try:
        ladder, why = auto_steps(eq, theta0, T, orders, max_iterations=max_iterations)
    except InputError as exc:
        if precision == "float64" or "no float64 step ladder" not in str(exc):
            raise
        return _verify_extended_auto(eq, theta0, T, orders, kw, f"the float64 floor "
                                     f"({AUTO_ERROR_FLOOR:.0e}) leaves fewer than 3 points: "
                                     + str(exc).split(";")[0])
    rep = _verify_ladder(eq, theta0, T, ladder, orders, **kw)
    # the predicted constants are estimates: when the measured ones choose a ladder that
    # differs (a missing slope, or a top step off by more than 15 %), run that one
    measured = _measured_constants(rep)
    if measured:
        again, why2 = auto_steps(eq, theta0, T, orders, max_iterations=max_iterations,
                                 constants=measured)
        if any(sl is None for sl in rep.slopes) or abs(again[0] / ladder[0] - 1) > 0.15:
            rep = _verify_ladder(eq, theta0, T, again, orders, **kw)
            why = why2 + " (second run: the constants measured on the first ladder " \
                f"{[float(f'{h:.4g}') for h in ladder]})"
    rep = replace(rep, notes=(f"step ladder chosen automatically: {why}",) + rep.notes)
    if precision == "float64" or rep.passed:
        return rep
    bad = [(k, s, errs) for k, s, ok, errs in zip(rep.orders, rep.slopes, rep.ok, rep.errors)
           if not ok]
    on_floor = [k for k, s, errs in bad
                if s is None or np.nanmin(np.asarray(errs, float)) < 1e4 * rep.floor]
    if not bad or len(on_floor) < len(bad) or not all(np.isfinite(rep.errors[0])):
        return rep            # a failure away from the floor: extended precision cannot help
    sl = ", ".join(f"order {k}: " + (f"{s:.2f}" if s is not None else "n/a")
                   for k, s, _ in bad)
    return _verify_extended_auto(eq, theta0, T, orders, kw, "on the float64 ladder the orders "
                                 f"that fail ({sl}) sit on the float64 floor {rep.floor:.0e}")


#: the extended path's error floor (relative, as :data:`AUTO_ERROR_FLOOR`); optimizers with
#: memory start their flows from the float64 initial value of :mod:`ibsym.numeric.jets`
#: (~1e-16 relative), so their floor is :data:`EXTENDED_ERROR_FLOOR_MEMORY`
EXTENDED_ERROR_FLOOR = 1e-18
EXTENDED_ERROR_FLOOR_MEMORY = 1e-14
#: digits of the extended-precision iterates and flows
EXTENDED_DIGITS = 32


def _floor_summary(rep: "VerifyReport") -> "VerifyReport":
    """A given ladder on the float64 floor: one warning naming every order it leaves
    unmeasured, and what to do."""
    lost = [k for k, s, errs in zip(rep.orders, rep.slopes, rep.errors)
            if s is None and sum(np.isfinite(errs)) >= min(3, len(rep.step_sizes))]
    if not lost:
        return rep
    w = (f"orders {', '.join(map(str, lost))} hit the float64 floor {rep.floor:.1e} on the "
         "given step ladder: no slope is reported for them (never one fitted to round-off) "
         "-- verify in extended precision (--precision extended; Python: "
         "precision='extended'), or let verify choose the steps (no --steps)")
    return replace(rep, warnings=rep.warnings + (w,))


def _verify_extended_auto(eq: Any, theta0: Any, T: float, orders: Any, kw: dict,
                          reason: str) -> "VerifyReport":
    """The automatic ladder for the extended floor, float64 where it suffices, extended
    precision for the orders near the float64 floor."""
    floor = EXTENDED_ERROR_FLOOR_MEMORY if eq.has_memory else EXTENDED_ERROR_FLOOR
    ladder, why = auto_steps(eq, theta0, T, orders, max_iterations=kw["max_iterations"],
                             floor=floor)
    base = _verify_ladder(eq, theta0, T, ladder, orders, **kw)
    from ibsym.numeric.extended import extend_report
    rep = extend_report(eq, theta0, base, window=kw["window"], shift=kw["shift"],
                        budget=kw["budget"], reason=reason)
    return replace(rep, notes=(f"step ladder chosen automatically for extended precision: "
                               f"{why}",) + rep.notes)


def _fit_row(steps: Sequence[float], errs: Sequence[float], floor: float) -> float | None:
    pts = [(h, e) for h, e in zip(steps, errs) if np.isfinite(e) and e > floor]
    return fit_order(*zip(*pts)) if len(pts) >= min(3, len(steps)) else None


#: the smallest error the automatic ladder relies on (relative to max(1, ‖θ_0‖)): ~100x
#: above the float64 round-off of the iterates and flows (~1e-12) and the fit floor
AUTO_ERROR_FLOOR = 1e-10
#: the automatic ladder's largest step, as a fraction of the edge of the asymptotic regime
AUTO_REGIME_FRACTION = 0.6


def auto_steps(eq: Any, theta0: Mapping[str, Any] | Sequence[float], T: float = 1.0,
               orders: Sequence[int] | None = None, *, max_iterations: int = MAX_ITERATIONS,
               constants: Mapping[int, float] | None = None,
               floor: float | None = None) -> tuple[list[float], str]:
    """A step ladder on which every requested order's error slope is measurable.

    The error of the flow truncated after h^k is predicted as C_k h^(k+1) with
    C_k ≈ T ‖F_{k+1}(θ_0)‖ (the top order's F_{k+1}, not derived, extrapolated
    geometrically from the last two), or taken from ``constants``.  No step exceeds
    :data:`AUTO_REGIME_FRACTION` times the edge of the asymptotic regime (the bounds of
    :func:`regime_warnings`: (h^j ‖F_j‖/‖F_0‖)^(1/j) < 0.4 and h < (1 − r)/2 for a state
    map with decay rate r), nor T/4; the smallest is where the most demanding order's
    error reaches :data:`AUTO_ERROR_FLOOR` · max(1, ‖θ_0‖) (or 1/8 of the largest).
    Between them: four geometric steps with ratio ≤ 2 (three if the room is short), as
    fine as the floor allows, each dividing T.

    ``floor`` replaces :data:`AUTO_ERROR_FLOOR` (the extended-precision path passes
    :data:`EXTENDED_ERROR_FLOOR`).

    Returns
    -------
    (steps, explanation)

    Raises
    ------
    InputError
        When no float64 ladder exists: the error of an order stays under the floor for
        every step inside the asymptotic regime.
    """
    T = float(T)
    if not math.isfinite(T) or T <= 0:
        raise InputError(f"the horizon T must be a positive finite number, got {T}")
    th0 = _theta0_vector(eq, theta0)
    orders = tuple(range(eq.order + 1)) if orders is None else tuple(int(k) for k in orders)
    if not orders or any(k < 0 or k > eq.order for k in orders):
        raise InputError(f"orders must lie in 0..{eq.order} (the derived order)")
    terms = compile_terms(eq)
    norms = np.linalg.norm(terms(th0[:, None])[:, :, 0], axis=1)
    K = eq.order
    h_hi, edge = _regime_limit(eq, norms)
    h_hi = min(AUTO_REGIME_FRACTION * h_hi, T / 4)
    nxt = norms[K] * (norms[K] / norms[K - 1]) if K >= 1 and norms[K - 1] > 0 else norms[K]
    ext = list(norms[1:]) + [nxt]              # ext[k] ≈ ‖F_{k+1}‖
    floor_rel = AUTO_ERROR_FLOOR if floor is None else float(floor)
    arith = "float64" if floor is None else "extended-precision"
    floor = floor_rel * max(1.0, float(np.linalg.norm(th0)))
    lows: dict[int, float] = {}
    consts: dict[int, float] = {}
    for k in orders:
        C = float((constants or {}).get(k, T * ext[k]))
        if np.isfinite(C) and C > 0:
            consts[k] = C
            lows[k] = (floor / C) ** (1.0 / (k + 1))
    k_hard = max(lows, key=lows.get) if lows else orders[-1]
    h_lo = lows.get(k_hard, h_hi / 8)
    room = h_hi / h_lo
    if room < 1.25 ** 2:
        big = consts.get(k_hard, 0.0) * h_hi ** (k_hard + 1)
        raise InputError(
            f"no {arith} step ladder measures order {k_hard}: at the largest step inside the "
            f"asymptotic regime, h = {h_hi:.3g} ({edge}), its error is predicted at {big:.1e}, "
            f"too close to the floor {floor:.0e} for three points above it; verify lower "
            "orders, or over a longer horizon T")
    # as fine as the floor allows (closest to the asymptotic regime), ratio <= 2
    npts = 4 if room >= 1.4 ** 3 else 3
    q = min(2.0, room ** (1.0 / (npts - 1)))
    h_top = min(h_hi, h_lo * q ** (npts - 1))
    tau = eq.tau
    ladder: list[float] = []
    m_prev = 0
    for i in range(npts):
        m = max(int(math.ceil(T / (tau * h_top * q ** -i) - 1e-9)), m_prev + 1)
        ladder.append(T / (tau * m))
        m_prev = m
    work = sum(T / h for h in ladder)
    if work > max_iterations:
        raise InputError(f"verify would run {work:,.0f} optimizer steps (T/h summed over the "
                         f"{len(ladder)} step sizes of the automatic ladder "
                         f"{[float(f'{h:.3g}') for h in ladder]}); the limit is "
                         f"{max_iterations:,} -- choose a shorter horizon --T "
                         "(Python: max_iterations=...)")
    why = (f"h from {ladder[0]:.4g} (at most {AUTO_REGIME_FRACTION:g} x the edge of the "
           f"asymptotic regime, {edge}) down to {ladder[-1]:.4g}, ratio {q:.3g}, so that order "
           f"{k_hard} keeps its error above "
           f"{floor:.0e} (predicted {('measured' if constants else 'from ‖F_j(θ_0)‖')} "
           "constants)")
    return ladder, why


def _regime_limit(eq: Any, norms: np.ndarray) -> tuple[float, str]:
    """The largest h the bounds of :func:`regime_warnings` allow, and which bound it is."""
    lim, why = math.inf, "no bound"
    if eq.order >= 1 and norms[0] > 0:
        for j in range(1, eq.order + 1):
            if norms[j] > 0:
                hj = 0.4 * (norms[0] / norms[j]) ** (1.0 / j)
                if hj < lim:
                    lim, why = hj, f"(h^{j}‖F_{j}‖/‖F_0‖)^(1/{j}) = 0.4"
    if eq.has_memory and eq._structure is not None:
        A = eq._structure.A.xreplace(eq.substitute_hyper())
        try:
            r = max(abs(complex(v)) for v in A.evalf().eigenvals())
        except (TypeError, ValueError):
            r = None
        if r is not None and 0.5 * (1 - r) < lim:
            lim, why = 0.5 * (1 - r), f"h = (1 − r)/2, r = {r:.4g}"
    if not math.isfinite(lim):
        lim = 0.1
    return lim, why


def _measured_constants(rep: "VerifyReport") -> dict[int, float]:
    """C_k = error / h^(k+1) from a report, at the smallest step whose error is still 100
    times above the floor (round-off free, closest to the asymptotic regime); for an
    order without one, the bound its largest error gives."""
    out: dict[int, float] = {}
    for k, errs in zip(rep.orders, rep.errors):
        vals = [(h, e) for h, e in zip(rep.step_sizes, errs) if np.isfinite(e)]
        clean = [(h, e) for h, e in vals if e > 100 * rep.floor]
        if clean:
            h, e = min(clean)
        elif vals:
            h, e = max(vals)
        else:
            continue
        out[k] = float(e / h ** (k + 1))
    return out


def _verify_ladder(eq: Any, theta0: Mapping[str, Any] | Sequence[float], T: float,
                   steps: Sequence[float], orders: Sequence[int] | None, *,
                   progress: bool, window: float, shift: bool, max_iterations: int,
                   budget: Any) -> VerifyReport:
    """:func:`verify` on a given ladder."""
    t_start = time.perf_counter()
    if eq.is_generic:
        raise InputError("verification needs a concrete loss (give --loss and --params)")
    T = float(T)
    if not math.isfinite(T) or T <= 0:
        raise InputError(f"the horizon T must be a positive finite number, got {T}")
    steps = tuple(float(h) for h in steps)
    if len(steps) < 2 or any(not (math.isfinite(h) and h > 0) for h in steps):
        raise InputError("give at least two positive finite step sizes")
    if len(set(steps)) < len(steps):
        twice = sorted({h for h in steps if steps.count(h) > 1})
        raise InputError(f"step size {twice[0]:g} is given twice; the fitted slopes need "
                         "distinct step sizes")
    work = sum(T / h for h in steps)
    if work > max_iterations:
        raise InputError(f"verify would run {work:,.0f} optimizer steps (T/h summed over the "
                         f"{len(steps)} step sizes); the limit is {max_iterations:,} -- choose a "
                         "shorter horizon --T or larger --steps (Python: max_iterations=...)")
    orders = tuple(range(eq.order + 1)) if orders is None else tuple(int(k) for k in orders)
    if any(k < 0 or k > eq.order for k in orders):
        raise InputError(f"orders must lie in 0..{eq.order} (the derived order)")
    nsteps = []
    tau = eq.tau          # one update advances time tau*h (an epoch of tau mini-batch steps)
    for h in steps:
        n = T / (tau * h)
        if abs(n - round(n)) > 1e-9 * max(1.0, n):
            raise InputError(f"step size {h:g} does not divide the horizon T={T:g}"
                             + (f" into epochs of {tau} steps" if tau > 1 else "")
                             + "; choose steps with T/h an integer"
                             + (f" multiple of {tau}" if tau > 1 else ""))
        nsteps.append(int(round(n)))
    from ibsym.core.budget import Budget
    budget = Budget.coerce(budget, advice="lower the order, use fewer or larger steps or a "
                                          "shorter horizon")
    th0 = _theta0_vector(eq, theta0)
    opt = eq.optimizer
    budget.check("compiling the modified field")
    d = eq.loss.dim
    grad = compile_gradient(eq.loss)
    terms = compile_terms(eq)
    _check_real_at(eq, terms, th0)
    # where the modified flow starts: θ_0 + Σ_j h^j s_j (s_j from the transient; 0 for GD)
    shift_coeffs = initial_shift(eq, th0) if shift else np.zeros((eq.order + 1, d))
    warnings = regime_warnings(eq, th0, steps, terms)
    budget.check("computing the initial value of the modified flow")

    outcomes: list[dict] = []
    iterates: dict[int, np.ndarray] = {}
    with Progress("verify", total=len(steps) + 2, enabled=progress) as prog:
        for s, (h, n) in enumerate(zip(steps, nsteps)):
            budget.check(f"running the optimizer at h={h:g} ({n} steps)")
            try:
                iterates[s] = iterate(opt, eq.loss, th0, h, n, grad=grad)
                outcomes.append({"h": h, "status": "ok", "message": ""})
            except DivergenceError as exc:
                outcomes.append({"h": h, "status": "diverged", "message": str(exc)})
            prog.update(f"iterates h={h:g}")
        good = sorted(iterates)
        cols = [(s, k) for s in good for k in orders]
        errors = np.full((len(orders), len(steps)), np.nan)
        notes: list[str] = []
        pilot, rtol = 1e-10, float("nan")
        if cols:
            y0 = np.empty((d, len(cols)))
            W = np.zeros((eq.order + 1, len(cols)))
            for c, (s, k) in enumerate(cols):
                h = steps[s]
                y0[:, c] = th0 + sum((h ** j * shift_coeffs[j] for j in range(1, k + 1)),
                                     np.zeros(d))
                for j in range(k + 1):
                    W[j, c] = h ** j
            t_eval = np.unique(np.concatenate(
                [np.arange(nsteps[s] + 1) * (tau * steps[s]) for s in good]))
            t_eval = t_eval[t_eval <= T * (1 + 1e-12)]
            t_eval[-1] = min(t_eval[-1], T)

            def run(tol: float) -> np.ndarray:
                sol = integrate_batch(terms, y0, W, T, t_eval, rtol=tol, atol=tol)
                err = np.full((len(orders), len(steps)), np.nan)
                for c, (s, k) in enumerate(cols):
                    h, n = tau * steps[s], nsteps[s]
                    idx = np.searchsorted(t_eval, np.arange(n + 1) * h - 1e-12)
                    traj = sol[idx, :, c]
                    ns = np.arange(n + 1)
                    mask = ns * h >= window * T - 1e-12
                    e = np.linalg.norm(iterates[s][mask] - traj[mask], axis=1)
                    err[orders.index(k), s] = float(np.max(e))
                return err

            budget.check("integrating the modified flows (pilot)")
            pilot_err = run(pilot)
            prog.update("pilot flows")
            budget.check("integrating the modified flows")
            finite = pilot_err[np.isfinite(pilot_err)]
            smallest = float(np.min(finite)) if finite.size else 1e-6
            rtol = float(np.clip(1e-3 * smallest, 1e-13, 1e-8))
            errors = run(rtol)
            prog.update(f"flows rtol={rtol:.1e}")
        floor = 50 * rtol if np.isfinite(rtol) else 0.0
        slopes: list[float | None] = []
        need = min(3, len(steps))
        for i, k in enumerate(orders):
            pts = [(steps[s], errors[i, s]) for s in range(len(steps))
                   if np.isfinite(errors[i, s]) and errors[i, s] > floor]
            nfin = len([s for s in range(len(steps)) if np.isfinite(errors[i, s])])
            if len(pts) < nfin:
                notes.append(f"order {k}: errors below the round-off/tolerance floor {floor:.1e} "
                             "were left out of the fit")
            if len(pts) >= need:
                slopes.append(fit_order(*zip(*pts)))
                continue
            slopes.append(None)
            if nfin >= need:
                warnings.append(
                    f"order {k}: only {len(pts)} of the {nfin} step sizes give errors above the "
                    f"floor {floor:.1e} (float64 round-off and integrator tolerance): the slope "
                    f"is not measurable on this ladder -- use larger steps, or let verify "
                    "choose them (no --steps; Python: steps=None)")
    return VerifyReport(
        optimizer=opt.name, loss=str(eq.loss.expr), params=tuple(map(str, eq.params)),
        theta0=tuple(map(float, th0)), T=float(T), step_sizes=steps, orders=orders,
        errors=tuple(tuple(map(float, row)) for row in errors),
        slopes=tuple(slopes), expected=tuple(k + 1 for k in orders),
        outcomes=tuple(outcomes), rtol=rtol, atol=rtol, pilot_tol=pilot, floor=floor,
        seconds=time.perf_counter() - t_start, window=f"max over t_n in [{window:g}T, T]",
        notes=tuple(notes), warnings=tuple(warnings),
        initial_shift=tuple(tuple(map(float, r)) for r in shift_coeffs))


def regime_warnings(eq: Any, theta0: np.ndarray, steps: Sequence[float],
                    terms: Any = None) -> list[str]:
    """Say when step sizes lie outside the regime where the expansion in h holds.

    Two checks, both read off the derivation: the corrections must be small against
    the leading field at θ_0 ((h^j ‖F_j‖/‖F_0‖)^(1/j) < 0.4), and the step must be small
    against the state's relaxation time (h < (1 − r)/2, r the largest decay rate of
    the state map: 1 − β, 1 − ρ for momentum and Adam).
    """
    out: list[str] = []
    hmax = max(steps)
    if eq.order >= 1:
        terms = terms or compile_terms(eq)
        norms = np.linalg.norm(terms(theta0[:, None])[:, :, 0], axis=1)
        ratios = [(hmax ** j * norms[j] / norms[0]) ** (1 / j) for j in range(1, eq.order + 1)
                  ] if norms[0] > 0 else []
        if ratios and max(ratios) > 0.4:
            j = int(np.argmax(ratios)) + 1
            out.append(f"h = {hmax:g} is outside the asymptotic regime at θ_0: (h^{j}‖F_{j}‖/"
                       f"‖F_0‖)^(1/{j}) = {max(ratios):.3g} (should be ≪ 1); the expansion holds "
                       f"for {eq.optimizer.regime or 'small h'} -- use smaller steps")
    if eq.has_memory and eq._structure is not None:
        A = eq._structure.A.xreplace(eq.substitute_hyper())
        try:
            r = max(abs(complex(v)) for v in A.evalf().eigenvals())
        except (TypeError, ValueError):
            r = None
        if r is not None and hmax > 0.5 * (1 - r):
            out.append(f"h = {hmax:g} is not small against the state's relaxation scale "
                       f"1 − r = {1 - r:.3g} (r = {r:.4g}, the slowest decay rate of the state "
                       f"map); the expansion needs h ≪ 1 − r")
    return out
