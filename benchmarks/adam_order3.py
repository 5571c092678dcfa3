"""Adam at order 3 (issue 16 item 3): component-wise generic form and concrete with symbolic
β, ρ, ε -- the current engine against the previous route, in the same run.

The previous route, selectable: SymPy's ``FracField`` for the coefficients ℚ(β, ρ, ε)
(``legacy_coefficients()``: a polynomial gcd after every operation), and for the
component-wise form the old instance (d = order + 2 coordinates, jets of L to order
``order + 3``).  Both sides' results are compared (identical SymPy expressions for the
concrete fields, identical index terms for the component-wise form).

Targets: component-wise generic Adam order 3 < 60 s; concrete Adam with symbolic β, ρ, ε
order 3 < 10 s.

Run: python benchmarks/adam_order3.py [--quick]   (--quick: skip the slow baselines)
     python benchmarks/adam_order3.py --transcendental   (only: Adam order 2 on a 3-parameter
     transcendental loss, β, ρ, ε symbolic, against the previous route; a few minutes)
"""
from __future__ import annotations

import sys
import time

from sympy.core.function import AppliedUndef

import ibsym as ib
import ibsym.bea.componentwise as cw
import ibsym.bea.procedure as procedure
from ibsym.bea.algebras import ConcreteAlgebra, GenericAlgebra
from ibsym.bea.coefficients import legacy_coefficients
from ibsym.core.errors import BudgetExceeded


def timed(fn):
    c, w = time.process_time(), time.perf_counter()
    out = fn()
    return time.process_time() - c, time.perf_counter() - w, out


def old_make_algebra(loss, optimizer, order=8, **kw):
    if loss is None or loss.is_generic:
        return GenericAlgebra()
    jet = order + 3 if isinstance(loss.expr, AppliedUndef) else None
    return ConcreteAlgebra(loss, constants=optimizer.symbolic_hyper, jet_order=jet, **kw)


def old_componentwise(name, order):
    """The previous route: legacy coefficients, d = order + 2, jets to order + 3."""
    saved = procedure.make_algebra
    procedure.make_algebra = old_make_algebra
    try:
        with legacy_coefficients():
            return cw.componentwise_equation(name, order=order, budget_seconds=None,
                                             coordinates=order + 2)
    finally:
        procedure.make_algebra = saved


def same_terms(a, b):
    key = lambda ce: [sorted((str(t.expr), t.indices, str(t.coefficient)) for t in ts)
                      for ts in ce.terms]
    return key(a) == key(b)


def transcendental() -> None:
    """Adam order 2, β, ρ, ε symbolic, on the 3-parameter log cosh(a−b) + (ac−1)²/2 +
    exp(−c)/4 (issue 16 measured 110 s): this tree against legacy_coefficients()."""
    loss = ib.Loss.parse("log(cosh(a-b)) + (a*c-1)**2/2 + exp(-c)/4", "a b c")
    c, w, new = timed(lambda: ib.modified_equation("adam", loss, order=2, budget_seconds=None))
    print(f"concrete Adam order 2 on {loss.expr}, β, ρ, ε symbolic: {c:.2f} / {w:.2f} s",
          flush=True)
    with legacy_coefficients():
        c0, w0, old = timed(lambda: ib.modified_equation("adam", loss, order=2,
                                                         budget_seconds=None))
    same = all(x == y for j in range(3) for x, y in zip(new.terms[j], old.terms[j]))
    print(f"  SymPy FracField (previous route) {c0:.2f} / {w0:.2f} s ({c0 / c:.1f}x), "
          f"identical expressions: {same}", flush=True)


def main() -> None:
    quick = "--quick" in sys.argv
    if "--transcendental" in sys.argv:
        return transcendental()
    print("component-wise generic Adam (β, ρ, ε symbolic), CPU s / wall s:")
    for k in (1, 2, 3):
        c, w, new = timed(lambda: cw.componentwise_equation("adam", order=k,
                                                            budget_seconds=None))
        line = (f"  order {k}: {c:.2f} / {w:.2f} s ({len(new.instance._algebra.ring.atoms)} "
                f"atoms, {len(new.terms[k])} index terms in F_{k})")
        if k < 3 and not (quick and k == 2):
            c0, w0, old = timed(lambda: old_componentwise("adam", k))
            line += (f" | previous route {c0:.2f} / {w0:.2f} s "
                     f"({len(old.instance._algebra.ring.atoms)} atoms), identical: "
                     f"{same_terms(new, old)}")
        elif k == 3:
            try:
                old_componentwise("adam", 3)
                line += " | previous route: not refused?"
            except BudgetExceeded as e:
                line += f" | previous route: refused ({str(e)[:60]}...)"
        print(line, flush=True)
    print("concrete Adam on (a*b-1)^2/2, β, ρ, ε symbolic, CPU s / wall s:")
    loss = ib.losses.bilinear()
    for k in (1, 2, 3):
        c, w, new = timed(lambda: ib.modified_equation("adam", loss, order=k,
                                                       budget_seconds=None))
        line = f"  order {k}: {c:.2f} / {w:.2f} s"
        if not (quick and k == 3):
            with legacy_coefficients():
                c0, w0, old = timed(lambda: ib.modified_equation("adam", loss, order=k,
                                                                 budget_seconds=None))
            same = all(x == y for j in range(k + 1)
                       for x, y in zip(new.terms[j], old.terms[j]))
            line += (f" | SymPy FracField (previous route) {c0:.2f} / {w0:.2f} s "
                     f"({c0 / c:.1f}x), identical expressions: {same}")
        print(line, flush=True)


if __name__ == "__main__":
    main()
