"""The initial transient of optimizers with memory: where the modified flow starts.

An optimizer with auxiliary state w (momenta, second moments, bias-correction
powers β^n) starts *off* its slow manifold w = M_h(θ): heavy-ball starts with
zero velocity, Adam with zero moments.  The state relaxes to the manifold
geometrically (like β^n), and while it does, θ moves differently from the
modified flow.  After the transient the iterates follow the modified flow
from a *shifted* initial value

    θ̃(0) = θ_0 + h s_1(θ_0) + h² s_2(θ_0) + …,

and without the shift only O(h) accuracy is possible however good the field.

First order, in closed form
---------------------------
At h⁰ the state map is affine, w' = A w + b(θ), so the state at step n is
w_n = M_0 + A^n η_0 with η_0 = w_0 − M_0(θ_0).  The O(h) displacement of one
step is D_1(θ, w) and F_0 = D_1(θ, M_0), hence

    s_1 = Σ_{n≥0} [D_1(θ_0, M_0 + A^n η_0) − F_0(θ_0)].

For diagonal A = diag(λ_f) this module traces the update once with the state
M_0 + Q_f η_f, Q_f standing for λ_f^n: when the bracket is a polynomial in the
Q's, every monomial Π Q_f^{a_f} sums to 1/(1 − Π λ_f^{a_f}) -- a closed form
(heavy-ball: s_1 = β/(1−β)² ∇L); when the Q's cancel, s_1 = 0 (bias-corrected
Adam); otherwise s_1 is returned as an unevaluated exact sum.  Higher
coefficients s_2, … are computed numerically by :mod:`ibsym.numeric.jets` from the same
update rule (the sums they involve, e.g. Lambert-type series for Adam's bias
correction, have no closed form in general).

Examples
--------
>>> from ibsym import modified_equation
>>> eq = modified_equation("heavy-ball", order=1)
>>> print(eq.initial_shift[1])
(β/(1 - β)²) ∇L
"""
from __future__ import annotations

from typing import Any

import sympy as sp

from ibsym.bea.algebras import ConcreteAlgebra, GenericAlgebra, NeedAtoms
from ibsym.bea.diffring import _atoms_of
from ibsym.core.errors import InputError
from ibsym.bea.series import Gradient, SeriesVector
from ibsym.bea.trees import Combination

__all__ = ["symbolic_initial_shift", "initial_state"]


def initial_state(optimizer: Any, alg: Any) -> dict[str, Any]:
    """The true initial state w_0(θ) of an optimizer, as algebra vectors (h⁰ parts)."""
    theta = SeriesVector.point(alg, 0)
    if optimizer.init is None:
        return {f: alg.zero() for f in optimizer.state_names}
    w0 = optimizer.initial_state(theta, Gradient(alg.batches), optimizer.hyper_values)
    out = {}
    for f in optimizer.state_names:
        v = w0[f]
        if isinstance(v, SeriesVector):
            out[f] = v._folded()[0]
        elif v == 0:
            out[f] = alg.zero()
        else:
            out[f] = alg.const(v)
    return out


def _zero_like(eq: Any) -> Any:
    return Combination() if eq.is_generic else sp.zeros(eq.loss.dim, 1)


def symbolic_initial_shift(eq: Any) -> tuple[tuple, str]:
    """(s_0, …, s_k) with closed forms where derived (``None`` where not) and a note."""
    k = eq.order
    zero = _zero_like(eq)
    if not eq.optimizer.state_names:
        return tuple(zero for _ in range(k + 1)), ""
    shifts: list[Any] = [zero] + [None] * k
    if k == 0:
        return tuple(shifts), ""
    structure = eq._structure
    A = structure.A
    if any(A[i, j] != 0 for i in range(A.rows) for j in range(A.cols) if i != j):
        return tuple(shifts), ("the state map couples its fields (non-diagonal A); the initial "
                               "shift is computed numerically (ibsym.numeric.jets)")
    try:
        s1, how = _first_order_shift(eq)
    except InputError as exc:
        return tuple(shifts), f"s_1 not derived in closed form ({exc}); computed numerically"
    shifts[1] = s1
    note = f"s_1: {how}."
    if k >= 2:
        note += (" s_2, … (O(h²) and beyond) are computed numerically from the transient "
                 "(ibsym.numeric.jets) when the flow is verified")
    return tuple(shifts), note


def _convert(alg: ConcreteAlgebra, base: ConcreteAlgebra, x: Any) -> Any:
    """A ring element of ``base`` in the ring of ``alg``; SymPy may merge atoms on the way
    (exp(u)·exp(v) = exp(u + v), from the composition of an O(1) look-ahead): those are
    asked for as new atoms (:class:`NeedAtoms`)."""
    e = base.ring.to_sympy(x)
    try:
        return alg.ring.from_sympy(e)
    except KeyError:
        R = alg.ring
        raise NeedAtoms([a for a in _atoms_of(e, R.params, R.constants, allow_abs=True)
                         if not R.has_atom(a)]) from None


def _first_order_shift(eq: Any) -> tuple[Any, str]:
    opt = eq.optimizer
    names = opt.state_names
    lam_f = [eq._structure.A[i, i] for i in range(len(names))]
    lam = list(dict.fromkeys(lam_f))                  # distinct decay rates
    Q = [sp.Symbol(f"Q{i}", positive=True) for i in range(len(lam))]   # Q_i stands for λ_i^n
    Qf = [Q[lam.index(l)] for l in lam_f]
    from ibsym.bea.procedure import _call_update  # one traced update (same mechanism as the derivation)
    if eq.is_generic:
        alg = GenericAlgebra()
        M0 = {f: ms[0] for f, ms in eq._raw_manifold}
        F0 = eq._raw[0]
    else:
        base = eq._algebra
        alg = ConcreteAlgebra(eq.loss, tuple(base.constants) + tuple(Q), base.extra,
                              jet_order=base.jet_order, max_atoms=base.max_atoms)
    for _ in range(32):
        try:
            if not eq.is_generic:
                M0 = {f: tuple(_convert(alg, base, x) for x in ms[0])
                      for f, ms in eq._raw_manifold}
                F0 = tuple(_convert(alg, base, x) for x in eq._raw[0])
            w0 = initial_state(opt, alg)
            state = {}
            for f, q in zip(names, Qf):
                eta = alg.add(w0[f], alg.scale(-1, M0[f]))
                state[f] = [alg.add(M0[f], alg.scale(q, eta))]
            D, _ = _call_update(opt, alg, state, 1)
            break
        except NeedAtoms as need:
            alg = alg.extended(need.atoms)
    else:  # pragma: no cover
        raise InputError("too many atoms")
    delta = alg.add(D[1], alg.scale(-1, F0))
    n = sp.Symbol("n", integer=True, nonnegative=True)

    def summed(c: sp.Expr) -> tuple[sp.Expr, bool]:
        c = sp.cancel(c)
        if c == 0:
            return sp.Integer(0), True
        try:
            P = sp.Poly(c, *Q)
        except sp.PolynomialError:
            P = None
        if P is not None and all(isinstance(x, sp.Expr) and not x.has(*Q) for x in P.coeffs()):
            total = sp.Integer(0)
            for mon, coeff in P.terms():
                rate = sp.Mul(*[l ** a for l, a in zip(lam, mon)])
                if rate == 1:
                    raise InputError("the transient does not decay (a term independent of the "
                                     "state deviation remains)")
                total += coeff / (1 - rate)
            return sp.factor(sp.cancel(total)), True
        return sp.Sum(c.xreplace({q: l ** n for q, l in zip(Q, lam)}), (n, 0, sp.oo)), False

    if eq.is_generic:
        terms, exact = {}, True
        for t, c in delta.terms.items():
            v, ok = summed(c)
            exact &= ok
            if v != 0:
                terms[t] = v
        if not exact:
            raise InputError("the transient sum has no closed form")
        return Combination(terms), "closed form from the geometric transient Σ_n A^n η_0"
    expr = alg.to_sympy(delta)
    out, exact = [], True
    for x in expr:
        v, ok = summed(x)
        exact &= ok
        out.append(v)
    s1 = sp.Matrix(out)
    if all(x == 0 for x in out):
        return s1, "the transient cancels at first order (s_1 = 0)"
    if exact:
        return s1, "closed form from the geometric transient Σ_n A^n η_0"
    return s1, ("exact infinite sum over the transient Σ_n [D_1(θ_0, M_0 + A^n η_0) − F_0] "
                "(no closed form); evaluated numerically")
