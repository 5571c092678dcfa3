"""The numeric layer: SymPy results → fast NumPy functions, iterates, flows.

This is the only module that calls :func:`sympy.lambdify` (always on trees
ibsym built itself -- never on user text -- and always with ``cse=True``).

* :func:`compile_terms` -- all F_j of a modified equation as one vectorized
  function ``terms(Y) -> array (k+1, d, m)`` evaluating a *batch* of m states
  at once (common subexpressions shared between orders and components);
* :func:`compile_gradient` / :func:`compile_hessian` -- ∇L, ∇²L;
* :func:`iterate` -- the discrete iterates of an optimizer, produced by
  running *the same update rule* that :mod:`ibsym.bea.procedure` traced, on NumPy arrays;
* :func:`integrate_batch` -- one :func:`scipy.integrate.solve_ivp` call for a
  whole stack of modified flows (every step size × order of a sweep), so the
  per-step Python overhead is paid once.

Examples
--------
>>> import numpy as np
>>> from ibsym import modified_equation
>>> from ibsym.core import losses
>>> eq = modified_equation("gd", losses.bilinear(), order=1)
>>> terms = compile_terms(eq)
>>> terms(np.array([[0.5], [1.5]]))[:, :, 0]
array([[0.375   , 0.125   ],
       [0.453125, 0.109375]])
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp
from sympy.polys.domains import QQ

from ibsym.core.errors import DivergenceError, InputError, IntegrationError
from ibsym.core.losses import Loss
from ibsym.bea.optimizers import Optimizer, hyper_symbol

__all__ = ["compile_terms", "compile_gradient", "compile_hessian", "compile_vector",
           "iterate", "integrate_batch", "stability_threshold", "CompiledTerms",
           "NumericGradient", "RingEvaluator", "update_stability_threshold"]


def _numeric_subs(opt: Optimizer) -> dict[sp.Symbol, float]:
    return {hyper_symbol(k): v for k, v in opt.numeric_hyper().items()}


def compile_vector(exprs: Sequence[sp.Expr], params: Sequence[sp.Symbol],
                   doc: str = "") -> Callable[[np.ndarray], np.ndarray]:
    """Compile expressions of ``params`` into ``f(Y) -> array (len(exprs), *Y.shape[1:])``.

    ``Y`` has the parameters along its first axis; any trailing batch shape
    broadcasts.
    """
    exprs = [sp.sympify(e) for e in exprs]
    free = set().union(*[e.free_symbols for e in exprs]) - set(params) if exprs else set()
    if free:
        raise InputError(f"cannot compile: symbol(s) {', '.join(sorted(map(str, free)))} have "
                         "no value; give hyper-parameter values (--hyper NAME=VALUE)")
    try:
        fn = sp.lambdify([list(params)], exprs, modules="numpy", cse=True)
    except RecursionError:
        from ibsym.core.errors import BudgetExceeded
        raise BudgetExceeded("the expanded field is too large to compile to NumPy "
                             f"({sum(len(sp.Add.make_args(e)) for e in exprs)} terms); "
                             "verify at a lower order or on a smaller loss") from None
    n = len(exprs)

    def f(Y: np.ndarray) -> np.ndarray:
        Y = np.asarray(Y, dtype=float)
        vals = fn(Y)
        out = np.empty((n,) + Y.shape[1:])
        for i, v in enumerate(vals):
            out[i] = v
        return out

    f.__doc__ = doc or ("Compiled by ibsym.numeric.kernels.compile_vector. Signature: f(Y) with Y of "
                        f"shape ({len(params)}, ...), rows in the order {tuple(map(str, params))}.")
    f.source_exprs = exprs  # type: ignore[attr-defined]
    return f


@dataclass(frozen=True)
class CompiledTerms:
    """All F_j of a modified equation as one batched NumPy function.

    Call ``terms(Y)`` with ``Y`` of shape (d, m) to get an array (k+1, d, m).
    """

    fn: Callable[[np.ndarray], np.ndarray]
    order: int
    dim: int
    params: tuple[str, ...]

    def __call__(self, Y: np.ndarray) -> np.ndarray:
        Y = np.asarray(Y, dtype=float)
        return self.fn(Y).reshape((self.order + 1, self.dim) + Y.shape[1:])


class RingEvaluator:
    """Batched NumPy evaluation of polynomials of a differential ring (no SymPy printing).

    Every output is Σ_m c_m Π_g x_g^{e_{m,g}} over the generators x (parameters, then the
    atoms, which are computed once per call from their own small compiled
    expressions).  All distinct monomials of all outputs form a trie: a monomial of
    degree D is its parent of degree D − 1 times one generator, so the whole set is
    evaluated level by level with one vectorized gather-multiply per degree, and the
    outputs are one sparse matrix product.  Compiling is a pass over the terms --
    linear in their number -- instead of SymPy's common-subexpression search.
    """

    def __init__(self, ring: Any, outputs: Sequence[Any], subs: dict | None = None):
        from scipy import sparse

        subs = subs or {}
        self.n_params = len(ring.params)
        atom_exprs = [sp.sympify(a).xreplace(subs) for a in ring.atoms]
        self._atoms = compile_vector(atom_exprs, ring.params) if atom_exprs else None
        # the trie over sparse exponent vectors ((generator, exponent), ...), generators
        # increasing: a few words per monomial instead of a len(ring.gens)-entry tuple
        # (496 generators: 4 KB each, 10^5 monomials at d = 100); the parent of a monomial
        # lowers the exponent of its first generator -- the trie of the dense vectors
        index: dict[tuple[tuple[int, int], ...], int] = {(): 0}
        parent: list[int] = [0]
        gen: list[int] = [0]
        degree: list[int] = [0]

        def add(mon: tuple[tuple[int, int], ...]) -> int:
            i = index.get(mon)
            if i is not None:
                return i
            g, e = mon[0]
            p = add(mon[1:] if e == 1 else ((g, e - 1),) + mon[1:])
            i = index[mon] = len(parent)
            parent.append(p)
            gen.append(g)
            degree.append(degree[p] + 1)
            return i

        rows: list[int] = []
        cols: list[int] = []
        vals: list[float] = []
        domain = ring.domain
        rational = domain == QQ
        exact: list[Any] = []      # ℚ: (numerator, denominator); else SymPy numbers
        for r, poly in enumerate(outputs):
            for mon, c in _sparse_terms(poly):
                rows.append(r)
                cols.append(add(mon))
                if rational:
                    num, den = int(c.numerator), int(c.denominator)
                    exact.append((num, den))
                    try:
                        vals.append(num / den)            # correctly rounded, as float(Rational)
                    except OverflowError:
                        vals.append(float(sp.Rational(num, den)))
                else:
                    cv = domain.to_sympy(c)
                    cv = cv.xreplace(subs) if cv.free_symbols else cv
                    exact.append(cv)
                    vals.append(float(cv))
        del index
        deg = np.array(degree)
        order = np.argsort(deg, kind="stable")
        pos = np.empty(len(order), dtype=np.intp)
        pos[order] = np.arange(len(order), dtype=np.intp)
        self.parent = pos[np.array(parent, dtype=np.intp)[order]]
        self.gen = np.array(gen, dtype=np.intp)[order]
        deg = deg[order]
        self.levels = [(int(np.searchsorted(deg, D)), int(np.searchsorted(deg, D, "right")))
                       for D in range(1, int(deg.max()) + 1)] if len(deg) > 1 else []
        self.n_mon = len(order)
        self._steps = [(a, b, self.parent[a:b].copy(), self.gen[a:b].copy())
                       for a, b in self.levels]
        rows_a = np.array(rows, dtype=np.intp)
        cols_a = pos[np.array(cols, dtype=np.intp)] if cols else np.array([], dtype=np.intp)
        self.C = sparse.csr_matrix((vals, (rows_a, cols_a)), shape=(len(outputs), self.n_mon))
        # the exact coefficients for the extended-precision evaluators of
        # ibsym.numeric.extended (:attr:`exact`, built on demand)
        self.n_out = len(outputs)
        self.atom_exprs = atom_exprs
        self._exact = (rows_a, cols_a, exact, rational)
        if self.C.shape[0] * self.C.shape[1] <= 100_000:   # small: a dense product is faster
            self.C = self.C.toarray()

    @property
    def exact(self) -> tuple[np.ndarray, np.ndarray, list[Any]]:
        """(rows, columns, SymPy numbers): entry i is ``exact[i]`` times monomial
        ``columns[i]`` in output ``rows[i]`` (the exact coefficients of :attr:`C`)."""
        rows, cols, exact, rational = self._exact
        if rational:
            exact = [sp.Rational(n, q) for n, q in exact]
        return rows, cols, list(exact)

    def __call__(self, Y: np.ndarray) -> np.ndarray:
        Y = np.asarray(Y, dtype=float)
        batch = Y.shape[1:]
        Y2 = Y.reshape(self.n_params, -1)
        G = Y2 if self._atoms is None else np.vstack([Y2, self._atoms(Y2)])
        M = np.empty((self.n_mon, Y2.shape[1]))
        M[0] = 1.0
        for a, b, par, gen in self._steps:
            np.multiply(M.take(par, axis=0), G.take(gen, axis=0), out=M[a:b])
        out = self.C @ M
        return out.reshape((self.C.shape[0],) + batch)


def _sparse_terms(poly: Any) -> list[tuple[tuple[tuple[int, int], ...], Any]]:
    """``(sparse monomial, coefficient)`` pairs of a ring element: the ring's own sparse
    read-out (:meth:`~ibsym.bea.polyring.FlintPoly.sparse_terms`) or, for SymPy's
    ``PolyElement``, the nonzero entries of its dense exponent tuples."""
    fast = getattr(poly, "sparse_terms", None)
    if fast is not None:
        return fast()
    return [(tuple((g, e) for g, e in enumerate(mon) if e), c) for mon, c in poly.terms()]


def compile_terms(eq: Any) -> CompiledTerms:
    """Compile F_0..F_k of a concrete :class:`~ibsym.bea.equations.ModifiedEquation`.

    Uses :class:`RingEvaluator` on the exact ring elements of the derivation when it
    has them, otherwise SymPy's ``lambdify`` with common-subexpression elimination.
    """
    if eq.is_generic:
        raise InputError("numerical evaluation needs a concrete loss; derive with a loss first")
    subs = _numeric_subs(eq.optimizer) if eq.optimizer.hyper else {}
    doc = (f"F_0..F_{eq.order} of the modified equation of '{eq.optimizer.name}' "
           f"(hyper-parameters {dict(eq.optimizer.values) or 'none'}) for L = {eq.loss.expr}. "
           f"Y has shape ({eq.loss.dim}, m), rows {tuple(map(str, eq.params))}; returns "
           f"({eq.order + 1}, {eq.loss.dim}, m).")
    alg = getattr(eq, "_algebra", None)
    if alg is not None and not alg.generic and len(eq._raw) == eq.order + 1:
        free = set(alg.constants) - set(subs)
        if free:
            raise InputError(f"cannot compile: symbol(s) {', '.join(sorted(map(str, free)))} "
                             "have no value; give hyper-parameter values (--hyper NAME=VALUE)")
        fn = RingEvaluator(alg.ring, [x for F in eq._raw for x in F], subs)
        fn.__doc__ = doc
    else:
        exprs = [x.xreplace(subs) if subs else x for F in eq.terms for x in F]
        fn = compile_vector(exprs, eq.params, doc)
    return CompiledTerms(fn, eq.order, eq.loss.dim, tuple(map(str, eq.params)))


class NumericGradient:
    """∇L (and the mini-batch gradients ∇L̂_k) as NumPy functions, called like the
    gradient oracle of a traced update: ``g(theta)``, ``g(theta, k)``; ``g.batches``."""

    def __init__(self, loss: Loss):
        rows = tuple(map(str, loss.params))
        self.full = compile_vector(list(loss.gradient()), loss.params,
                                   f"∇L for L = {loss.expr}; rows {rows}")
        self.batches = loss.num_batches
        self.parts = [compile_vector(list(loss.batch_gradient(k)), loss.params,
                                     f"∇L̂_{k}; rows {rows}") for k in range(self.batches)]

    def __call__(self, theta: np.ndarray, batch: int | None = None) -> np.ndarray:
        if batch is None:
            return self.full(theta)
        return self.parts[batch](theta)


def compile_gradient(loss: Loss) -> NumericGradient:
    """∇L as ``g(theta) -> array (d, ...)`` (``g(theta, k)`` for mini-batch k)."""
    return NumericGradient(loss)


def compile_hessian(loss: Loss) -> Callable[[np.ndarray], np.ndarray]:
    """∇²L as ``H(theta) -> array (d, d)``."""
    Hm = loss.hessian()
    f = compile_vector(list(Hm), loss.params, f"∇²L for L = {loss.expr}")
    d = loss.dim
    return lambda th: f(np.asarray(th, dtype=float)).reshape(d, d)


def stability_threshold(loss: Loss, theta: np.ndarray) -> float:
    """2/λ_max(∇²L(θ)), the local linear-stability step size of GD (inf if λ_max ≤ 0)."""
    Hm = compile_hessian(loss)(theta)
    lam = float(np.max(np.linalg.eigvalsh(0.5 * (Hm + Hm.T))))
    return 2.0 / lam if lam > 0 else float("inf")


class _QuadraticModel:
    """∇ of the local quadratic model ½(θ − θ_0)ᵀH(θ − θ_0), as a gradient oracle."""

    batches = 0

    def __init__(self, H: np.ndarray, theta0: np.ndarray):
        self.H, self.theta0 = H, theta0

    def __call__(self, x: np.ndarray, batch: int | None = None) -> np.ndarray:
        return self.H @ (np.asarray(x, dtype=float) - self.theta0)


def update_stability_threshold(optimizer: Optimizer, loss: Loss, theta: Sequence[float],
                               *, hmax: float = 1e6) -> float:
    """Largest step h for which the optimizer's own update, linearized at θ on the local
    quadratic model of the loss (state at its fixed point), has spectral radius ≤ 1.

    GD gives 2/λ_max(∇²L); heavy ball (2 + 2β)/λ_max; Nesterov (2 + 2β)/((1 + 2β)λ_max)
    (formulas.md §8) -- all read off the same update rule that is iterated.  Returns inf
    when no step is unstable up to ``hmax`` and nan when the update cannot be linearized.

    Examples
    --------
    >>> from ibsym import get_optimizer
    >>> from ibsym.core import losses
    >>> loss = losses.quadratic([[10, 0], [0, 1]])
    >>> round(update_stability_threshold(get_optimizer("heavy-ball", beta=0.5), loss, [1, 1]), 6)
    0.3
    """
    th0 = np.asarray(theta, dtype=float)
    Hm = compile_hessian(loss)(th0)
    Hm = 0.5 * (Hm + Hm.T)
    lam = float(np.max(np.abs(np.linalg.eigvalsh(Hm))))
    if lam == 0:
        return float("inf")
    q = _QuadraticModel(Hm, th0)
    hp = optimizer.numeric_hyper() if optimizer.hyper else {}
    names = optimizer.state_names
    with np.errstate(all="ignore"):
        state = optimizer.initial_state(th0, q, hp)
        for _ in range(5000):           # the state relaxes to its fixed point (h = 0)
            _, new = optimizer.update(th0, state, q, 0.0, hp)
            done = all(np.allclose(new[f], state[f], rtol=0, atol=1e-14) for f in names)
            state = new
            if done:
                break
    d = len(th0)
    z0 = np.concatenate([th0] + [np.asarray(state[f], dtype=float) for f in names])

    def step(z: np.ndarray, h: float) -> np.ndarray:
        st = {f: z[d * (i + 1): d * (i + 2)] for i, f in enumerate(names)}
        th, new = optimizer.update(z[:d], st, q, h, hp)
        return np.concatenate([np.asarray(th, dtype=float)]
                              + [np.asarray(new[f], dtype=float) for f in names])

    def radius(h: float) -> float:
        n = len(z0)
        J = np.empty((n, n))
        with np.errstate(all="ignore"):
            for k in range(n):
                e = np.zeros(n)
                e[k] = 1e-6 * (1.0 + abs(z0[k]))
                J[:, k] = (step(z0 + e, h) - step(z0 - e, h)) / (2 * e[k])
        if not np.all(np.isfinite(J)):
            return float("nan")
        return float(np.max(np.abs(np.linalg.eigvals(J))))

    lo, h = 0.0, 1e-3 / lam
    while h < hmax:
        r = radius(h)
        if r != r:
            return float("nan")
        if r > 1 + 1e-9:
            break
        lo, h = h, h * 2
    else:
        return float("inf")
    hi = h
    for _ in range(50):
        mid = 0.5 * (lo + hi)
        if radius(mid) > 1 + 1e-9:
            hi = mid
        else:
            lo = mid
    return lo


def iterate(optimizer: Optimizer, loss: Loss, theta0: Sequence[float], h: float, steps: int,
            *, grad: Callable | None = None, blowup: float = 1e8) -> np.ndarray:
    """Run the optimizer's own update rule numerically.

    Returns the iterates θ_0..θ_steps as an array (steps+1, d).  Raises
    :class:`~ibsym.core.errors.DivergenceError` (with the step index and the local
    stability threshold 2/λ_max(∇²L(θ_0))) when they blow up.

    Examples
    --------
    >>> from ibsym import get_optimizer
    >>> from ibsym.core import losses
    >>> iterate(get_optimizer("gd"), losses.bilinear(), [0.5, 1.5], 0.1, 2)[-1]
    array([0.56578848, 1.52255293])
    """
    th = np.array(theta0, dtype=float)
    if th.shape != (loss.dim,):
        raise InputError(f"initial value has {th.size} entries; the loss has {loss.dim} "
                         f"parameters {tuple(map(str, loss.params))}")
    g = grad or compile_gradient(loss)
    hp = optimizer.numeric_hyper() if optimizer.hyper else {}
    state = optimizer.initial_state(th, g, hp)
    out = np.empty((steps + 1, loss.dim))
    out[0] = th
    scale = blowup * (1.0 + np.linalg.norm(th))
    for n in range(steps):
        res = optimizer.update(th, state, g, h, hp)
        th, state = (res if isinstance(res, tuple) else (res, {}))
        th = np.asarray(th, dtype=float)
        if not np.all(np.isfinite(th)) or np.linalg.norm(th) > scale:
            thr = update_stability_threshold(optimizer, loss, out[0])
            if thr != thr:            # the update could not be linearized: GD's bound
                thr = stability_threshold(loss, out[0])
            raise DivergenceError(
                f"{optimizer.name} iterates diverged at h={h:g} (step {n + 1}); local stability "
                f"threshold (where the update linearized at θ0 reaches spectral radius 1; for "
                f"GD 2/λ_max(∇²L(θ0))) ≈ {thr:.4g} -- try h < {thr:.4g}")
        out[n + 1] = th
    return out


def integrate_batch(terms: CompiledTerms, y0: np.ndarray, weights: np.ndarray, T: float,
                    t_eval: np.ndarray, *, rtol: float, atol: float,
                    method: str = "DOP853") -> np.ndarray:
    """Integrate m modified flows at once.

    Column c of ``y0`` (shape (d, m)) follows dθ/dt = Σ_j weights[j, c] F_j(θ);
    weights encode h_c^j for j ≤ order_c and 0 beyond.  Returns the solution at
    ``t_eval`` as an array (len(t_eval), d, m).

    Raises :class:`~ibsym.core.errors.IntegrationError` with the solver's message
    and a suggestion when the integration fails.
    """
    d, m = y0.shape
    W = np.asarray(weights, dtype=float)

    def rhs(t: float, y: np.ndarray) -> np.ndarray:
        Y = y.reshape(d, m)
        Fs = terms(Y)
        return np.einsum("jdm,jm->dm", Fs, W).ravel()

    from scipy.integrate import solve_ivp  # ~0.3-0.6 s: only when a flow is integrated
    sol = solve_ivp(rhs, (0.0, T), y0.ravel(), method=method, t_eval=t_eval, rtol=rtol,
                    atol=atol)
    if not sol.success:
        raise IntegrationError(f"the modified flow could not be integrated: {sol.message}; "
                               "try a shorter horizon T, a smaller step size, or a lower order")
    if not np.all(np.isfinite(sol.y)):
        raise IntegrationError("the modified flow blew up (non-finite values); try a shorter "
                               "horizon T or smaller step sizes")
    return sol.y.T.reshape(len(sol.t), d, m)


def paths(eq: Any, theta0: Sequence[float], h: float, T: float,
          orders: Sequence[int] = (0, 1), *, rtol: float = 1e-11,
          shift: bool = True) -> dict[str, np.ndarray]:
    """Discrete iterates and modified flows (truncated at each of ``orders``) at the
    times of the updates, t_n = n·τ·h (τ = steps per update: 1, or m for an epoch).

    The iterates start from θ_0 and the optimizer's true initial state; the flow of
    order k from the derived initial value θ_0 + Σ_{j≤k} h^j s_j (``shift=False``:
    from θ_0).  Returns ``{"t": (N+1,), "iterates": (N+1, d), "flow_k": (N+1, d)}``
    -- the data of a trajectory figure.
    """
    tau = getattr(eq, "tau", 1)
    n = int(round(T / (tau * h)))
    th0 = np.asarray(theta0, dtype=float)
    out: dict[str, np.ndarray] = {"t": np.arange(n + 1) * (tau * h),
                                  "iterates": iterate(eq.optimizer, eq.loss, th0, h, n)}
    terms = compile_terms(eq)
    W = np.zeros((eq.order + 1, len(orders)))
    for c, k in enumerate(orders):
        W[: k + 1, c] = [h ** j for j in range(k + 1)]
    S = np.zeros((eq.order + 1, len(th0)))
    if shift and getattr(eq, "has_memory", False):
        from ibsym.numeric.jets import initial_shift   # jets builds on this module
        S = initial_shift(eq, th0)
    y0 = np.stack([th0 + sum((h ** j * S[j] for j in range(1, k + 1)), np.zeros(len(th0)))
                   for k in orders], axis=1)
    sol = integrate_batch(terms, y0, W, n * tau * h, out["t"], rtol=rtol, atol=rtol)
    for c, k in enumerate(orders):
        out[f"flow_{k}"] = sol[:, :, c]
    return out
