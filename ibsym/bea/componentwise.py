"""Component-wise generic modified equations (index notation), and the perturbed one-norm.

Coordinate-wise optimizers (RMSProp, Adam, sign-like methods) have no
dimension-free form in ∇L, ∇²L … alone: their fields mix coordinates only
through sums such as Σ_i ∂_{ji}L ∂_iL / N_i.  This module derives them *in
index notation* for a generic loss, by the same BEA procedure:

1. the loss is an undefined function L(θ_0, …, θ_{d−1}) of d = k + 1
   coordinates; its partial derivatives up to order k + 1 (all that F_0..F_k
   contain, :func:`~ibsym.bea.procedure.make_algebra`) are the generators of a jet
   ring (:class:`~ibsym.bea.diffring.DiffRing` with ``jet_order``), so the
   derivation is exact and dimension-generic up to relabelling;
2. coordinate j = 0 of each F_k is read back as a combination of *unrestricted*
   index sums Σ_{i,k,…} T(j, i, k, …): the monomial with most distinct free
   indices fixes a term T; its full sum over all index values (including
   coincidences with j and with each other) is subtracted; repeat until nothing
   is left.  With more coordinates than free indices this inversion is exact: a
   summed index comes with one derivative (weight), F_k has weight k, so its terms
   have at most k free indices besides j -- d = k + 1 coordinates suffice.

For Adam-type fields the result is also written in the paper's notation with
the perturbed one-norm ‖∇L‖_{1,ε} = Σ_i √((∂_iL)² + ε) (Cattaneo, Klusowski &
Shigida, ICML 2024): F_1 is matched to
−(1/N_j)[c ∂_j‖∇L‖_{1,ε} + d ε ∂_j‖∇L‖_{1,ε}/N_j²], N_j = √((∂_jL)² + ε),
and the two extreme regimes are analysed automatically (their Table 1):
√ε ≪ |∂_jL| -- the one-norm is penalized if c > 0, its decrease hindered if
c < 0; √ε ≫ |∂_jL| -- the field is preconditioned gradient descent on
L + h(c + d)/(2√ε)·‖∇L‖².

Examples
--------
>>> ce = componentwise_equation("rmsprop", order=1)
>>> print(ce.one_norm.coefficient)
rho/(rho - 1)
"""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

from ibsym.bea.diffring import DEFAULT_MAX_ATOMS
from ibsym.bea.procedure import modified_equation
from ibsym.core.errors import InputError
from ibsym.core.export import latex_document
from ibsym.core.losses import Loss
from ibsym.core.notation import coefficient_latex, coefficient_text, greek
from ibsym.bea.optimizers import Optimizer, get_optimizer, hyper_symbol
from ibsym.core.results import Result

__all__ = ["componentwise_equation", "ComponentwiseEquation", "IndexTerm", "OneNormForm",
           "coordinate_loss"]

_DUMMIES = "iklmnpqrs"


def coordinate_loss(d: int) -> Loss:
    """A generic loss L(θ_0, …, θ_{d−1}) (an undefined function of d coordinates)."""
    th = tuple(sp.Symbol(f"t{i}", real=True) for i in range(d))
    return Loss(sp.Function("L")(*th), th, name=f"L(θ_0..θ_{d - 1})")


# ---------------------------------------------------------------------------------------
class _Relabel:
    """Generators of the jet ring and how coordinate relabellings act on them."""

    def __init__(self, ring: Any, d: int):
        self.ring, self.d = ring, d
        self.L = None
        self.exprs = [sp.Symbol(f"__p{i}") for i in range(d)] + list(ring.atoms)
        for a in ring.atoms:
            for f in a.atoms(sp.core.function.AppliedUndef):
                self.L = f
        self.params = ring.params
        self._index = {e: i for i, e in enumerate(self.exprs)}
        self._cache: dict[tuple, list[tuple[int, int]]] = {}
        self._labels: dict[int, frozenset[int]] = {}
        self._mlabels: dict[tuple[int, ...], frozenset[int]] = {}

    def labels(self, gen: int) -> frozenset[int]:
        """The coordinates generator ``gen`` involves (cached: read once per generator)."""
        out = self._labels.get(gen)
        if out is None:
            if gen < self.d:
                out = frozenset((gen,))
            else:
                found: set[int] = set()
                for der in self.exprs[gen].atoms(sp.Derivative):
                    found.update(self.params.index(v) for v in der.variables)
                out = frozenset(found)
            self._labels[gen] = out
        return out

    def image(self, gen: int, phi: tuple[int, ...]) -> int:
        """Generator index of ``gen`` with coordinate i renamed phi[i]."""
        key = (gen, phi)
        if key not in self._cache:
            if gen < self.d:
                self._cache[key] = phi[gen]
            else:
                e = self.exprs[gen]
                new = e.replace(lambda x: isinstance(x, sp.Derivative),
                                lambda x: sp.diff(self.L, *[self.params[phi[self.params.index(v)]]
                                                            for v in x.variables]))
                if new not in self._index:
                    raise InputError(f"relabelled atom {new} is not in the jet ring")
                self._cache[key] = self._index[new]
        return self._cache[key]

    def apply(self, monom: tuple[int, ...], phi: tuple[int, ...]) -> tuple[int, ...]:
        out = [0] * len(monom)
        for g, e in enumerate(monom):
            if e:
                out[self.image(g, phi)] += e
        return tuple(out)

    def monom_labels(self, monom: tuple[int, ...]) -> frozenset[int]:
        out = self._mlabels.get(monom)
        if out is None:
            found: set[int] = set()
            for g, e in enumerate(monom):
                if e:
                    found |= self.labels(g)
            out = self._mlabels[monom] = frozenset(found)
        return out


@dataclass(frozen=True)
class IndexTerm:
    """c · Σ_{free indices} T(j, i, k, …): one term of a component-wise field.

    ``expr`` is T as a SymPy expression in index symbols (``g_i``, ``H_ji``,
    ``N_i`` …), ``indices`` the summed index names (empty: a local term).
    """

    coefficient: sp.Expr
    expr: sp.Expr
    indices: tuple[str, ...]

    def text(self) -> str:
        body = greek(_abs_bars(sp.sstr(self.expr)))
        s = f"Σ_{''.join(self.indices)} " if self.indices else ""
        c = coefficient_text(self.coefficient)
        if c in ("1", "-1"):
            return f"{c[:-1]}{s}{body}"
        return f"({c})·{s}{body}"

    def latex(self) -> str:
        s = (r"\sum_{" + ",".join(self.indices) + "} ") if self.indices else ""
        c = coefficient_latex(self.coefficient)
        # coordinates θ_j (weight decay) are Symbols named θ_j: LaTeX \theta_{j}, not a raw θ
        return (r"\left(" + c + r"\right)" if c.startswith("-") else c) + r"\," + s \
            + sp.latex(self.expr).replace("θ", r"\theta")


def _abs_bars(text: str) -> str:
    """``Abs(g_j)`` → ``|g_j|`` in plain text (arguments that are single names)."""
    return re.sub(r"Abs\(([A-Za-z][A-Za-z0-9_]*)\)", r"|\1|", text)


def _fold_abs(e: sp.Expr) -> sp.Expr:
    """Use |s|² = s² in a monomial: s^n·|s|^m → s^(n+m−k)·|s|^k with k ∈ {0, ±1}, so that
    equal summands written differently by the ring (|g_j| and g_j²/|g_j|) coincide."""
    if not e.has(sp.Abs):
        return e
    powers = e.as_powers_dict() if e.is_Mul or e.is_Pow or isinstance(e, sp.Abs) else {e: 1}
    out: dict[sp.Expr, sp.Expr] = {}
    for b, x in powers.items():
        out[b] = out.get(b, 0) + x
    for b in [b for b in out if isinstance(b, sp.Abs) and out[b].is_Integer]:
        s_, m = b.args[0], int(out[b])
        total = int(out.get(s_, 0)) + m if (out.get(s_, 0) == 0 or out[s_].is_Integer) else None
        if total is None:
            continue
        k = 0 if m % 2 == 0 else (1 if total > 0 else -1)
        out[b] = k
        out[s_] = total - k
    return sp.Mul(*[b ** x for b, x in out.items()])


def _index_symbols(exprs: list[sp.Expr], d: int, params: tuple, names: dict[int, str]
                   ) -> dict[sp.Expr, sp.Expr]:
    """Readable symbols: ∂_iL → g_i, ∂_{ij}L → H_{ij}, higher → D_{ijk}L, √(g_i²+ε) → N_i."""
    table: dict[sp.Expr, sp.Expr] = {}
    for e in exprs:
        for der in e.atoms(sp.Derivative):
            idx = "".join(names[params.index(v)] for v in der.variables)
            n = der.derivative_count
            nm = {1: "g", 2: "H"}.get(n, f"D{n}")
            table[der] = sp.Symbol(f"{nm}_{idx}", real=True)
    return table


def _recover(p: Any, relabel: _Relabel, d: int) -> list[IndexTerm]:
    """Coordinate 0 of a field as unrestricted index sums (see module docstring)."""
    R = relabel.ring
    P = dict(p.terms())
    terms: list[IndexTerm] = []
    guard = 0
    while P:
        guard += 1
        if guard > 10_000:  # pragma: no cover
            raise InputError("index recovery did not terminate")
        # the monomial with most distinct free (non-root) labels
        m = max(P, key=lambda mon: (len(relabel.monom_labels(mon) - {0}), mon))
        free = sorted(relabel.monom_labels(m) - {0})
        k = len(free)
        if k >= d:  # pragma: no cover - d is chosen larger than any term's free indices
            raise InputError("too few coordinates to read back the index notation")
        c = P[m]
        # all maps of the free labels to {0..d−1}; count those fixing m (automorphisms)
        instance: dict[tuple[int, ...], Any] = {}
        autos = 0
        for values in itertools.product(range(d), repeat=k):
            phi = list(range(d))
            for lab, v in zip(free, values):
                phi[lab] = v
            img = relabel.apply(m, tuple(phi))
            instance[img] = instance.get(img, 0) + 1
            if img == m:
                autos += 1
        lam = R.domain.convert(c) / autos
        for mon, mult in instance.items():
            new = P.get(mon, R.domain.zero) - lam * mult
            if new:
                P[mon] = new
            else:
                P.pop(mon, None)
        # printable T: root 0 → j, free labels → i, k, …
        names = {0: "j"}
        names.update({lab: _DUMMIES[n] for n, lab in enumerate(free)})
        mono_expr = sp.Integer(1)
        used = [relabel.exprs[g] for g, e in enumerate(m) if e]
        table = _index_symbols(used, d, relabel.params, names)
        for g, e in enumerate(m):
            if not e:
                continue
            # a coordinate θ_g itself (weight decay) is θ_j, θ_i, …; atoms are ∂-symbols
            ex = (sp.Symbol(f"θ_{names[g]}", real=True) if g < d
                  else relabel.exprs[g].xreplace(table))
            mono_expr *= ex ** e
        mono_expr = _fold_abs(_name_roots(mono_expr))
        terms.append(IndexTerm(sp.factor(R.domain.to_sympy(lam)), mono_expr,
                               tuple(names[lab] for lab in free)))
    # equal summands (the ring does not apply N·N⁻¹ = 1 and the like): merge
    merged: dict[tuple, sp.Expr] = {}
    for t in terms:
        key = (t.expr, t.indices)
        merged[key] = merged.get(key, 0) + t.coefficient
    return [IndexTerm(sp.factor(c), e, ix) for (e, ix), c in merged.items() if sp.cancel(c) != 0]


def _name_roots(e: sp.Expr) -> sp.Expr:
    """√(g_i² + ε) → N_i (the paper's notation)."""
    eps = hyper_symbol("eps")

    def rep(x: sp.Expr) -> sp.Expr:
        if x.is_Pow and x.exp.is_Rational and not x.exp.is_Integer and x.base.is_Add:
            args = set(x.base.args)
            if eps in args and len(args) == 2:
                other = (args - {eps}).pop()
                if other.is_Pow and other.exp == 2 and other.base.is_Symbol \
                        and str(other.base).startswith("g_"):
                    N = sp.Symbol("N_" + str(other.base)[2:], positive=True)
                    return N ** (2 * x.exp)
        return x

    return e.replace(lambda x: x.is_Pow, rep)


# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OneNormForm:
    """F_1,j = −(1/N_j)[c ∂_j‖∇L‖_{1,ε} + d ε ∂_j‖∇L‖_{1,ε}/N_j²] and its two regimes."""

    coefficient: sp.Expr          # c
    eps_coefficient: sp.Expr      # d
    regimes: tuple[dict, ...]

    def text(self) -> str:
        c, d = coefficient_text(self.coefficient), coefficient_text(self.eps_coefficient)
        lines = [f"dθ_j/dt = −(1/N_j)·[∂_jL + h·({c})·∂_j‖∇L‖_{{1,ε}} + h·({d})·ε·∂_j‖∇L‖_{{1,ε}}/N_j²]"
                 " + O(h²),   ‖∇L‖_{1,ε} = Σ_i √((∂_iL)² + ε),  N_j = √((∂_jL)² + ε)"]
        for r in self.regimes:
            lines.append(f"  {r['regime']}: {r['flow']}; {r['verdict']}")
        return "\n".join(lines)

    def latex(self) -> str:
        c, d = coefficient_latex(self.coefficient), coefficient_latex(self.eps_coefficient)
        return (r"\dot\theta_j = -\frac{1}{N_j}\Big[\partial_j L + h\left(" + c + r"\right)"
                r"\partial_j\|\nabla L\|_{1,\varepsilon} + h\left(" + d + r"\right)\frac{\varepsilon\,"
                r"\partial_j\|\nabla L\|_{1,\varepsilon}}{N_j^{2}}\Big] + O(h^2)")

    def to_dict(self) -> dict:
        return {"coefficient": str(self.coefficient),
                "eps_coefficient": str(self.eps_coefficient),
                "regimes": [dict(r) for r in self.regimes]}


def _sign_condition(expr: sp.Expr, positive: bool) -> str:
    """When is expr > 0 (``positive``) or < 0, for hyper-parameters in (0, 1)?"""
    num, den = sp.fraction(sp.factor(expr))
    const, flist = sp.factor_list(sp.expand(num * den))
    sign = 1 if const > 0 else -1
    keep = []
    for f, m in flist:
        if m % 2 == 0:
            continue
        vals = {bool(f.subs({x: v for x, v in zip(sorted(f.free_symbols, key=str), pt)}) > 0)
                for pt in ((0.13, 0.71, 0.37), (0.87, 0.29, 0.61), (0.51, 0.05, 0.93),
                           (0.02, 0.98, 0.5))}
        if len(vals) == 1:               # fixed sign on (0, 1)^k: β, 1 + ρ, β − 1 …
            sign *= 1 if vals.pop() else -1
        else:
            keep.append(f)
    want = 1 if positive else -1
    if not keep:
        return "always" if sign == want else "never"
    cond = sp.Mul(*keep)
    rel = (cond > 0) if sign * want > 0 else (cond < 0)
    syms = sorted(cond.free_symbols, key=str)
    try:
        sol = sp.solve(rel, syms[0])
        text = sp.sstr(sol)
    except (NotImplementedError, ValueError, TypeError):
        text = sp.sstr(rel)
    return greek(text.replace("&", "and"))


def _verdict(c: sp.Expr, what: str) -> str:
    if sp.cancel(sp.sympify(c)) == 0:        # β = ρ (signSGD-like): no h-term at all
        return (f"{what} is neither penalized nor hindered at this order "
                "(its coefficient is exactly 0)")
    pos, neg = _sign_condition(c, True), _sign_condition(c, False)
    if pos == "always":
        return f"{what} is always penalized (implicit regularization)"
    if pos == "never" and neg == "always":
        return f"{what} is never penalized: its decrease is always hindered (anti-penalized)"
    return f"{what} is penalized when {pos}; its decrease is hindered (anti-penalized) when {neg}"


def _one_norm_form(terms: list[IndexTerm]) -> OneNormForm | None:
    """Match F_1 against the perturbed-one-norm form (None if it does not fit)."""
    eps = hyper_symbol("eps")
    g, N = sp.Symbol("g_j", real=True), sp.Symbol("N_j", positive=True)
    S_pattern = sp.Symbol("H_ji", real=True) * sp.Symbol("g_i", real=True) \
        / sp.Symbol("N_i", positive=True)
    R = sp.Integer(0)
    for t in terms:
        if t.indices != ("i",):
            return None
        ratio = sp.simplify(t.expr / S_pattern)
        if ratio.free_symbols - {g, N, eps}:
            return None
        R += t.coefficient * ratio
    if R == 0:
        return None
    # R(g, N) with g² = N² − ε:  −N·R = c + d ε/N²
    Rn = sp.expand(sp.cancel(-N * R)).subs(g ** 2, N ** 2 - eps)
    x = sp.Symbol("x", positive=True)           # x = 1/N²
    num, den = sp.fraction(sp.cancel(sp.together(Rn.subs(N, 1 / sp.sqrt(x)))))
    if den.has(x) or num.has(g) or num.has(N):
        return None
    try:
        P = sp.Poly(num, x)
    except sp.PolynomialError:
        return None
    if P.degree() > 1:
        return None
    c = sp.factor(P.coeff_monomial(1) / den)
    d = sp.factor(P.coeff_monomial(x) / den / eps)
    if d.has(eps) or c.has(eps):
        return None
    large = sp.factor(c + d)
    regimes = (
        {"regime": "√ε ≪ |∂_jL| (small ε)",
         "flow": f"dθ_j/dt ≈ −(1/N_j)·∂_j[L + h·({coefficient_text(c)})·‖∇L‖_{{1,ε}}]",
         "coefficient": str(c),
         "verdict": _verdict(c, "the perturbed one-norm")},
        {"regime": "√ε ≫ |∂_jL| (large ε)",
         "flow": (f"dθ_j/dt ≈ −(1/√ε)·∂_j[L + h·({coefficient_text(large)})/(2√ε)·‖∇L‖²]"),
         "coefficient": str(large),
         "verdict": "as GD with step h/√ε: " + _verdict(large, "the two-norm ‖∇L‖²")},
    )
    return OneNormForm(c, d, regimes)


# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ComponentwiseEquation(Result):
    """dθ_j/dt = F_0,j + h F_1,j + …, each F_k,j a sum of index terms."""

    schema = "componentwise-equation"

    optimizer: Optimizer
    order: int
    dim: int
    terms: tuple[tuple[IndexTerm, ...], ...]
    one_norm: OneNormForm | None
    seconds: float
    instance: Any = field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        lines = [f"dθ_j/dt = F_0,j + h F_1,j + … + O(h^{self.order + 1})   "
                 f"({self.optimizer.name}, generic loss, component j; g_i = ∂_iL, "
                 "H_ij = ∂_ijL, N_i = √(g_i² + ε); sums run over all coordinates)"]
        for k, ts in enumerate(self.terms):
            lines.append(f"  F_{k},j = " + (" + ".join(t.text() for t in ts) or "0"))
        if self.one_norm is not None:
            lines.append("perturbed one-norm form (Cattaneo, Klusowski & Shigida 2024):")
            lines.extend("  " + x for x in self.one_norm.text().splitlines())
        return "\n".join(lines)

    def to_latex(self) -> str:
        parts = []
        for k, ts in enumerate(self.terms):
            body = " + ".join(t.latex() for t in ts) or "0"
            hp = "" if k == 0 else ("h" if k == 1 else f"h^{{{k}}}")
            parts.append(f"{hp}\\left({body}\\right)" if hp else body)
        return r"\dot\theta_j = " + " + ".join(parts) + f" + O(h^{{{self.order + 1}}})"

    def latex_document(self, title: str | None = None) -> str:
        sections: list[tuple[str, Any]] = [
            ("Update rule", self.optimizer.rule_latex),
            ("Modified equation (component j, index notation)",
             [f"F_{{{k},j}} = " + (" + ".join(t.latex() for t in ts) or "0")
              for k, ts in enumerate(self.terms)]),
        ]
        sections.append(("Notation", r"g_i = \partial_i L,\quad H_{ij} = \partial_{ij} L,\quad "
                                     r"N_i = \sqrt{g_i^2 + \varepsilon}"))
        notes: list[str] = []
        if self.one_norm is not None:
            sections.append(("Perturbed one-norm form", self.one_norm.latex()))
            notes += [f"{r['regime']}: {r['verdict']}" for r in self.one_norm.regimes]
        return latex_document(title or f"Component-wise modified equation of "
                              f"{self.optimizer.name}", sections, notes=notes)

    def to_dict_body(self) -> dict[str, Any]:
        return {
            "optimizer": self.optimizer.name, "order": self.order, "update_rule": self.optimizer.rule,
            "notation": {"g_i": "∂_i L", "H_ij": "∂_ij L", "N_i": "sqrt(g_i^2 + eps)",
                         "sums": "over all coordinates (unrestricted)"},
            "terms": [[{"coefficient": str(t.coefficient), "summand": str(t.expr),
                        "indices": list(t.indices), "latex": t.latex()} for t in ts]
                      for ts in self.terms],
            "one_norm_form": None if self.one_norm is None else self.one_norm.to_dict(),
            "latex": self.to_latex(), "derivation_seconds": self.seconds,
            "instance_dimension": self.dim,
        }


def componentwise_equation(optimizer: str | Optimizer, order: int = 1, *,
                           hyper: dict[str, Any] | None = None,
                           budget_seconds: float | None = 300.0,
                           budget: Any = None,
                           max_atoms: int = DEFAULT_MAX_ATOMS,
                           coordinates: int | None = None) -> ComponentwiseEquation:
    """The modified equation of a coordinate-wise optimizer for a generic loss, in index
    notation (see the module docstring).

    Parameters
    ----------
    optimizer : str or Optimizer
    order : int
        Highest power of h.
    hyper : dict, optional
        Hyper-parameter values (others symbolic).
    budget_seconds : float, optional
        Time budget of the derivation (None: unbounded).
    budget : Budget, optional
        A :class:`~ibsym.core.budget.Budget` shared with the rest of a computation
        (overrides ``budget_seconds``).
    max_atoms : int, default 200
        Atom budget of the jet ring (the partial derivatives ∂^α L and the coordinate-wise
        roots are its atoms; see :func:`~ibsym.bea.procedure.modified_equation`).
    coordinates : int, optional
        Dimension d of the generic instance L(θ_0, …, θ_{d−1}); default ``order + 1``,
        the fewest that read every term back (more give the same terms, at more cost).

    Examples
    --------
    >>> ce = componentwise_equation("adam", order=1)
    >>> print(ce.terms[0][0].text())
    -g_j/N_j
    """
    opt = get_optimizer(optimizer, **(hyper or {}))
    d = order + 1 if coordinates is None else coordinates
    if isinstance(d, bool) or not isinstance(d, int) or d < order + 1:
        raise InputError(f"coordinates must be an integer ≥ order + 1 = {order + 1} (the "
                         f"terms of F_{order} have up to {order} summed indices besides j), "
                         f"got {coordinates!r}")
    loss = coordinate_loss(d)
    eq = modified_equation(opt, loss, order, budget_seconds=budget_seconds, budget=budget,
                           max_atoms=max_atoms)
    relabel = _Relabel(eq._algebra.ring, d)
    terms = tuple(tuple(_recover(F[0], relabel, d)) for F in eq._raw)
    one = _one_norm_form(list(terms[1])) if order >= 1 and "eps" in opt.hyper else None
    return ComponentwiseEquation(opt, order, d, terms, one, eq.seconds, instance=eq)
