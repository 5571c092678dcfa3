"""Rooted trees and elementary differentials of a generic loss.

Dimension-free results live in the span of the *elementary differentials of
∇L*: a rooted tree τ stands for the vector field E(τ) built by contracting
derivative tensors of L along the tree -- a node with c children is
``∇^{c+1}L`` applied to the fields of its children:

======================  ========================
tree                    E(τ)
======================  ========================
``•``                   ``∇L``
``[•]``                 ``∇²L ∇L``
``[•, •]``              ``∇³L(∇L, ∇L)``
``[[•]]``               ``(∇²L)² ∇L``
======================  ========================

Trees are canonical nested tuples (a node is the sorted tuple of its children;
the leaf is ``()``).  The derivative of E(τ) in the direction E(σ) grafts σ onto
every node of τ -- the pre-Lie product that makes backward error analysis a
computation over trees with exact rational coefficients (cf. B-series, Hairer,
Lubich & Wanner, *Geometric Numerical Integration*, Ch. III and IX).

Scalars (potentials, modified losses) are *free* (unrooted) trees: a node of
degree d is ``∇^d L`` and edges are contractions, so the 2-node tree is ‖∇L‖²
and the 3-node path is ∇Lᵀ∇²L∇L.  The gradient of the scalar of a free tree T
is the sum of T rooted at each of its nodes.

Examples
--------
>>> leaf = ()
>>> tree_text(((),))
'∇²L∇L'
>>> sorted(graft(((),), leaf))
[((), ()), (((),),)]
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

import sympy as sp
from sympy.core.mul import _keep_coeff
from sympy.polys.domains import QQ
from sympy.polys.fields import FracField
from sympy.polys.orderings import lex

from ibsym.core.notation import coefficient_latex, coefficient_text

__all__ = [
    "Tree", "LEAF", "canonical", "num_nodes", "graft", "rooted_trees", "free_trees",
    "reroot_all", "free_key", "tree_text", "tree_latex", "scalar_text", "scalar_latex",
    "Combination", "exact_coefficients", "from_exact", "instantiate_tree", "instantiate_scalar",
]

Tree = tuple  # nested tuple of children; the leaf is ()
LEAF: Tree = ()


def canonical(children: Iterable[Tree]) -> Tree:
    """The canonical tree with the given children (sorted)."""
    return tuple(sorted(children))


def num_nodes(t: Tree) -> int:
    """Number of nodes |τ|."""
    return 1 + sum(num_nodes(c) for c in t)


def graft(t: Tree, s: Tree) -> list[Tree]:
    """All trees obtained by attaching ``s`` as a new child of each node of ``t``
    (one entry per node, so equal results repeat)."""
    out = [canonical(t + (s,))]
    for i, c in enumerate(t):
        rest = t[:i] + t[i + 1:]
        for g in graft(c, s):
            out.append(canonical(rest + (g,)))
    return out


def rooted_trees(n: int) -> list[Tree]:
    """All rooted trees with ``n`` nodes (canonical, sorted)."""
    if n == 1:
        return [LEAF]
    out: set[Tree] = set()
    for t in rooted_trees(n - 1):
        out.update(graft(t, LEAF))
    return sorted(out)


def _edges(t: Tree) -> tuple[int, list[tuple[int, int]]]:
    edges: list[tuple[int, int]] = []
    counter = [0]

    def walk(node: Tree) -> int:
        me = counter[0]
        counter[0] += 1
        for c in node:
            k = walk(c)
            edges.append((me, k))
        return me

    walk(t)
    return counter[0], edges


def _rooted_at(n: int, adj: Mapping[int, list[int]], root: int) -> Tree:
    def build(v: int, parent: int) -> Tree:
        return canonical(build(w, v) for w in adj[v] if w != parent)
    return build(root, -1)


def reroot_all(t: Tree) -> list[Tree]:
    """The tree re-rooted at each of its nodes (one entry per node)."""
    n, edges = _edges(t)
    adj: dict[int, list[int]] = defaultdict(list)
    for a, b in edges:
        adj[a].append(b)
        adj[b].append(a)
    return [_rooted_at(n, adj, v) for v in range(n)]


def free_key(t: Tree) -> Tree:
    """Canonical key of the free (unrooted) tree underlying ``t``."""
    return min(reroot_all(t))


def free_trees(n: int) -> list[Tree]:
    """Free trees with ``n`` nodes, each as its canonical rooted representative."""
    return sorted({free_key(t) for t in rooted_trees(n)})


# ---------------------------------------------------------------------------------------
# printing
def _chain(t: Tree) -> tuple[int, Tree]:
    k = 0
    while len(t) == 1:
        k += 1
        t = t[0]
    return k, t


def tree_text(t: Tree) -> str:
    """E(τ) in plain text, e.g. ``∇³L(∇L, ∇L)``."""
    k, base = _chain(t)
    if base == LEAF:
        inner = "∇L"
    else:
        sup = _sup(len(base) + 1)
        inner = f"∇{sup}L(" + ", ".join(tree_text(c) for c in base) + ")"
    if k == 0:
        return inner
    return ("∇²L" if k == 1 else f"(∇²L){_sup(k)}") + inner


def tree_latex(t: Tree) -> str:
    r"""E(τ) in LaTeX, e.g. ``\nabla^{3}L(\nabla L, \nabla L)``."""
    k, base = _chain(t)
    if base == LEAF:
        inner = r"\nabla L"
    else:
        inner = rf"\nabla^{{{len(base) + 1}}}L\left(" + ", ".join(tree_latex(c) for c in base) + r"\right)"
    if k == 0:
        return inner
    return (r"\nabla^{2}L\," if k == 1 else rf"\left(\nabla^{{2}}L\right)^{{{k}}}") + inner


_SUP = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def _sup(n: int) -> str:
    return str(n).translate(_SUP)


def _degrees(t: Tree) -> list[int]:
    n, edges = _edges(t)
    deg = [0] * n
    for a, b in edges:
        deg[a] += 1
        deg[b] += 1
    return deg


def _center_rooted(t: Tree) -> Tree:
    """Free tree rooted at a node of maximal degree (for printing)."""
    deg = _degrees(t)
    options = reroot_all(t)
    best = max(range(len(options)), key=lambda v: (deg[v], options[v]))
    return options[best]


def scalar_text(t: Tree) -> str:
    """The scalar functional of a free tree in plain text (``L``, ``‖∇L‖²``, ...)."""
    n = num_nodes(t)
    if n == 1:
        return "L"
    if max(_degrees(t)) <= 2:  # a path ∇Lᵀ(∇²L)^{n-2}∇L
        k = n - 2
        if k == 0:
            return "‖∇L‖²"
        if k % 2 == 0:
            m = k // 2
            return "‖" + ("∇²L" if m == 1 else f"(∇²L){_sup(m)}") + "∇L‖²"
        return "∇Lᵀ" + ("∇²L" if k == 1 else f"(∇²L){_sup(k)}") + "∇L"
    r = _center_rooted(t)
    return f"∇{_sup(len(r))}L(" + ", ".join(tree_text(c) for c in r) + ")"


def scalar_latex(t: Tree) -> str:
    """The scalar functional of a free tree in LaTeX."""
    n = num_nodes(t)
    if n == 1:
        return "L"
    if max(_degrees(t)) <= 2:
        k = n - 2
        if k == 0:
            return r"\|\nabla L\|^{2}"
        if k % 2 == 0:
            m = k // 2
            hp = r"\nabla^{2}L\," if m == 1 else rf"\left(\nabla^{{2}}L\right)^{{{m}}}"
            return r"\left\|" + hp + r"\nabla L\right\|^{2}"
        hp = r"\nabla^{2}L\," if k == 1 else rf"\left(\nabla^{{2}}L\right)^{{{k}}}"
        return r"\nabla L^{\top}" + hp + r"\nabla L"
    r = _center_rooted(t)
    return rf"\nabla^{{{len(r)}}}L\left(" + ", ".join(tree_latex(c) for c in r) + r"\right)"


# ---------------------------------------------------------------------------------------
class Combination:
    """A finite linear combination Σ c_τ E(τ) with exact coefficients.

    Used both for vector fields (rooted trees) and, with ``scalar=True``, for
    scalar functionals (free trees).  Immutable by convention.

    The coefficients are kept as elements of the exact coefficient field
    ℚ(β, h, …) of SymPy's polys (:class:`~sympy.polys.fields.FracField` over the
    symbols that occur): sums, multiples and Lie products are exact field arithmetic
    (sums over the lcm of the denominators, without a gcd of the numerators), and the
    SymPy form -- ``factor`` of the reduced
    fraction, as before -- is built once, on first access of :attr:`terms` or when
    printed.  A coefficient that is not a rational function of its symbols (a root,
    a float, a function) keeps the combination on plain SymPy expressions with
    ``factor(cancel(·))`` after every operation.

    Examples
    --------
    >>> g = Combination({LEAF: 1})
    >>> str(g.lie(g))           # derivative of ∇L along ∇L
    '∇²L∇L'
    >>> b = sp.Symbol("beta")
    >>> g.scale(1 / (1 - b)).lie(g).scale(1 - b).terms
    {((),): 1}
    """

    __slots__ = ("_c", "_K", "_sym", "scalar")

    def __init__(self, terms: Mapping[Tree, Any] | None = None, *, scalar: bool = False):
        raw = {t: sp.sympify(c, strict=True) for t, c in (terms or {}).items()}
        K = _field_for(raw.values())
        self._K = K
        if K is None:
            self._c = {t: c for t, c in raw.items() if c != 0}
        else:
            conv = {t: _to_field(K, c) for t, c in raw.items()}
            self._c = {t: c for t, c in conv.items() if c}
        self._sym: dict[Tree, sp.Expr] | None = None
        self.scalar = scalar

    @classmethod
    def _make(cls, K: Any, coeffs: dict, scalar: bool) -> "Combination":
        out = object.__new__(cls)
        out._K = K
        out._c = coeffs
        out._sym = None
        out.scalar = scalar
        return out

    def __reduce__(self):
        return (_rebuild, (dict(self.terms.items()), self.scalar))

    @property
    def terms(self) -> Mapping[Tree, sp.Expr]:
        """``{tree: coefficient}`` with SymPy coefficients (``factor`` of the reduced
        fraction): a read-only mapping that converts each coefficient on first access
        (its keys and length cost nothing)."""
        if self._sym is None:
            self._sym = _Terms(self._c, self._K is not None)
        return self._sym

    def _lift(self, K: Any) -> dict:
        """The coefficients as elements of the (larger) field ``K``, or as SymPy
        expressions when ``K`` is None."""
        if K is self._K:
            return self._c
        if K is None:
            return dict(self.terms.items())
        if not self._K.symbols:  # ℚ: every coefficient is a number
            return {t: K.ground_new(c.numer.LC / c.denom.LC) for t, c in self._c.items()}
        return {t: c.set_field(K) for t, c in self._c.items()}

    def _unify(self, other: "Combination") -> tuple[Any, dict, dict]:
        if self._K is other._K:
            return self._K, self._c, other._c
        K = _join(self._K, other._K)
        return K, self._lift(K), other._lift(K)

    # vector-space operations
    def __add__(self, other: "Combination") -> "Combination":
        K, a, b = self._unify(other)
        out = dict(a)
        if K is None:
            for t, c in b.items():
                out[t] = _simp(out[t] + c) if t in out else c
            out = {t: c for t, c in out.items() if c != 0}
        else:
            for t, c in b.items():
                if t in out:
                    v = _fadd(out[t], c)
                    if v:
                        out[t] = v
                    else:
                        del out[t]
                else:
                    out[t] = c
        return Combination._make(K, out, self.scalar)

    def __sub__(self, other: "Combination") -> "Combination":
        return self + other.scale(-1)

    def __neg__(self) -> "Combination":
        return self.scale(-1)

    def scale(self, c: Any) -> "Combination":
        c = sp.sympify(c)
        if c == 0 or not self._c:
            return Combination(scalar=self.scalar)
        K = _join(self._K, _field_for([c]))
        if K is None:
            return Combination._make(None, {t: _simp(v * c) for t, v in self._lift(None).items()},
                                     self.scalar)
        cf = _to_field(K, c)
        if not K.symbols:                          # ℚ: multiply in the ground domain
            q = cf.numer.LC / cf.denom.LC
            return Combination._make(K, {t: _ground(K, v.numer.LC / v.denom.LC * q)
                                         for t, v in self._lift(K).items()}, self.scalar)
        return Combination._make(K, {t: v * cf for t, v in self._lift(K).items()}, self.scalar)

    def __bool__(self) -> bool:
        return bool(self._c)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Combination):
            return NotImplemented
        K, a, b = self._unify(other)
        if K is not None:
            return a.keys() == b.keys() and all(
                v.numer * b[t].denom == b[t].numer * v.denom for t, v in a.items())
        keys = set(a) | set(b)
        return all(sp.simplify(a.get(k, 0) - b.get(k, 0)) == 0 for k in keys)

    def __hash__(self) -> int:  # pragma: no cover - not used as key
        return hash(tuple(sorted(self._c)))

    def lie(self, direction: "Combination") -> "Combination":
        """Derivative of this field along ``direction`` (grafting)."""
        K, a, b = self._unify(direction)
        if K is None:
            out: dict[Tree, Any] = {}
            for t, c in a.items():
                for s, d in b.items():
                    cd = c * d
                    for g in _graft(t, s):
                        out[g] = out[g] + cd if g in out else cd
            return Combination({t: _simp(v) for t, v in out.items()})
        if not K.symbols:
            # ℚ (no hyper-parameter symbols, e.g. GD): rationals of the ground domain,
            # without the polynomial ring of zero variables
            qa = [(t, c.numer.LC / c.denom.LC) for t, c in a.items()]
            qb = [(s, d.numer.LC / d.denom.LC) for s, d in b.items()]
            qacc: dict[Tree, Any] = {}
            for t, c in qa:
                for s, d in qb:
                    cd = c * d
                    for g in _graft(t, s):
                        qacc[g] = qacc[g] + cd if g in qacc else cd
            return Combination._make(K, {g: _ground(K, v) for g, v in qacc.items() if v},
                                     False)
        # numerators summed per (output tree, denominator) in the polynomial ring; no
        # gcd of numerators here (the fraction is reduced once, when read)
        acc: dict[Tree, dict[Any, Any]] = {}
        for t, c in a.items():
            for s, d in b.items():
                num, den = c.numer * d.numer, c.denom * d.denom
                for g in _graft(t, s):
                    groups = acc.setdefault(g, {})
                    groups[den] = groups[den] + num if den in groups else num
        out = {}
        for g, groups in acc.items():
            v = None
            for den, num in groups.items():
                if num:
                    f = K.raw_new(num, den)
                    v = f if v is None else _fadd(v, f)
            if v:
                out[g] = v
        return Combination._make(K, out, False)

    def items(self) -> list[tuple[Tree, sp.Expr]]:
        """Terms ordered by (size, tree)."""
        return sorted(self.terms.items(), key=lambda kv: (num_nodes(kv[0]), kv[0]))

    def coefficient(self, t: Tree) -> sp.Expr:
        """The coefficient of tree ``t`` (0 if absent)."""
        return self.terms.get(t, sp.Integer(0))

    def __str__(self) -> str:
        return _format(self.items(), scalar_text if self.scalar else tree_text, text=True)

    def to_latex(self) -> str:
        """LaTeX of the combination."""
        return _format(self.items(), scalar_latex if self.scalar else tree_latex, text=False)

    def __repr__(self) -> str:
        return f"Combination({str(self)})"

    def to_dict(self) -> list[dict[str, Any]]:
        """JSON-ready list of ``{"tree", "coefficient", "text", "latex"}``."""
        fmt_t, fmt_l = (scalar_text, scalar_latex) if self.scalar else (tree_text, tree_latex)
        return [{"tree": _bracket(t), "coefficient": str(c), "text": fmt_t(t),
                 "latex": fmt_l(t)} for t, c in self.items()]


def exact_coefficients(combs: Sequence[Combination]) -> tuple[Any, list[dict[Tree, Any]]]:
    """The coefficients of ``combs`` in one common exact field.

    Returns ``(K, dicts)``: ``K`` is the :class:`~sympy.polys.fields.FracField` (or None
    when the coefficients are plain SymPy expressions) and ``dicts[i]`` maps the trees of
    ``combs[i]`` to their coefficients in ``K``; :func:`from_exact` builds a
    combination back from such a dict.
    """
    K = _field(())
    for c in combs:
        K = _join(K, c._K) if c._c else K
    return K, [c._lift(K) for c in combs]


def from_exact(K: Any, coeffs: Mapping[Tree, Any], *, scalar: bool = False) -> Combination:
    """The combination with coefficients ``coeffs`` in the field ``K`` of
    :func:`exact_coefficients` (zeros dropped)."""
    if K is None:
        return Combination({t: _simp(c) for t, c in coeffs.items()}, scalar=scalar)
    return Combination._make(K, {t: c for t, c in coeffs.items() if c}, scalar)


class _Terms(Mapping):
    """Read-only view ``{tree: SymPy coefficient}`` of a combination's exact
    coefficients, converted (and cached) one at a time on access."""

    __slots__ = ("_c", "_exact", "_cache")

    def __init__(self, coeffs: dict, exact: bool):
        self._c, self._exact, self._cache = coeffs, exact, {}

    def __getitem__(self, t: Tree) -> sp.Expr:
        if not self._exact:
            return self._c[t]
        v = self._cache.get(t)
        if v is None:
            v = self._cache[t] = _to_sympy(self._c[t])
        return v

    def __iter__(self):
        return iter(self._c)

    def __len__(self) -> int:
        return len(self._c)

    def __contains__(self, t: object) -> bool:
        return t in self._c

    def __repr__(self) -> str:
        return repr(dict(self.items()))


def _rebuild(terms: Mapping[Tree, Any], scalar: bool) -> Combination:
    return Combination(terms, scalar=scalar)


@lru_cache(maxsize=65536)
def _graft(t: Tree, s: Tree) -> tuple[Tree, ...]:
    return tuple(graft(t, s))


# the exact coefficient field: one FracField per (sorted) tuple of symbols
_FIELDS: dict[tuple[sp.Symbol, ...], Any] = {}


def _field(gens: tuple[sp.Symbol, ...]) -> Any:
    K = _FIELDS.get(gens)
    if K is None:
        K = _FIELDS[gens] = FracField(gens, QQ, lex)
    return K


def _field_for(coeffs: Iterable[sp.Expr]) -> Any:
    """The field ℚ(symbols of ``coeffs``), or None when some coefficient is not a
    rational function of symbols (roots, floats, functions, I): those stay SymPy."""
    syms: set[sp.Symbol] = set()
    for c in coeffs:
        if c.is_Rational:
            continue
        if not _is_rational_function(c):
            return None
        syms |= c.free_symbols
    return _field(tuple(sorted(syms, key=sp.default_sort_key)))


def _is_rational_function(c: sp.Expr) -> bool:
    """``c`` is built from symbols and rationals by +, × and integer powers only."""
    if c.is_Symbol or c.is_Rational:
        return True
    if c.is_Add or c.is_Mul:
        return all(_is_rational_function(a) for a in c.args)
    if c.is_Pow:
        return c.exp.is_Integer and _is_rational_function(c.base)
    return False


def _join(K1: Any, K2: Any) -> Any:
    """The field containing both (None -- plain SymPy -- absorbs everything)."""
    if K1 is None or K2 is None:
        return None
    if K1 is K2:
        return K1
    gens = set(K1.symbols) | set(K2.symbols)
    return _field(tuple(sorted(gens, key=sp.default_sort_key)))


def _to_field(K: Any, c: sp.Expr) -> Any:
    if c.is_Rational:
        q = QQ(int(c.p), int(c.q))
        return K.ground_new(q) if K.symbols else _ground(K, q)
    return K.from_expr(c)


def _to_sympy(c: Any) -> sp.Expr:
    """``sp.factor`` of the fraction, built from the factorizations of its numerator and
    denominator in the polynomial ring (the same expression ``sp.factor(c.as_expr())``
    gives, without re-parsing the expanded form)."""
    c = c.field.new(c.numer, c.denom)      # the one reduction (gcd) of this coefficient
    if c.numer.is_ground and c.denom.is_ground:
        return c.as_expr()
    cn, fn = c.numer.factor_list()
    cd, fd = c.denom.factor_list()
    dom = c.field.domain
    num = sp.Mul(*[f.as_expr() ** k for f, k in fn])
    den = sp.Mul(*[f.as_expr() ** k for f, k in fd])
    return _keep_coeff(dom.to_sympy(cn) / dom.to_sympy(cd), num / den)


def _ground(K: Any, q: Any) -> Any:
    """The rational ``q`` (a ground-domain element) in the field ``K`` of no symbols, in the
    reduced form ``K.ground_new`` gives (numerator and denominator as constants), without
    its polynomial ``cancel``."""
    R, D = K.ring, K.domain
    return K.raw_new(R.ground_new(D.convert(D.numer(q))), R.ground_new(D.convert(D.denom(q))))


def _fadd(a: Any, b: Any) -> Any:
    """a + b in the fraction field over the lcm of the denominators, without the gcd of
    the numerators (exact, not necessarily reduced: :func:`_to_sympy` reduces once)."""
    if not a.field.symbols:                   # ℚ: add in the ground domain
        return _ground(a.field, a.numer.LC / a.denom.LC + b.numer.LC / b.denom.LC)
    da, db = a.denom, b.denom
    if da == db:
        return a.raw_new(a.numer + b.numer, da)
    lcm = da.lcm(db)
    return a.raw_new(a.numer * lcm.exquo(da) + b.numer * lcm.exquo(db), lcm)


def _simp(c: sp.Expr) -> sp.Expr:
    if c.is_Rational:
        return c
    return sp.factor(sp.cancel(c))


def _bracket(t: Tree) -> str:
    if t == LEAF:
        return "•"
    return "[" + ", ".join(_bracket(c) for c in t) + "]"


def _format(items: Sequence[tuple[Tree, sp.Expr]], fmt, *, text: bool) -> str:
    if not items:
        return "0"
    parts: list[str] = []
    for i, (t, c) in enumerate(items):
        coef = coefficient_text(c) if text else coefficient_latex(c)
        neg = coef.startswith("-")
        mag = coef[1:].strip() if neg else coef
        sign = ("-" if neg else "+") if i else ("-" if neg else "")
        if mag == "1":
            body = fmt(t)
        elif text:
            plain = mag.replace("/", "").replace(".", "").isdigit() or c.is_Rational
            body = f"{mag} {fmt(t)}" if plain else f"({mag}) {fmt(t)}" \
                if not (mag.startswith("(") and mag.endswith(")")) else f"{mag} {fmt(t)}"
        else:
            m = sp.sympify(c)
            wrap = m.is_Add and not m.free_symbols
            body = (r"\left(" + mag + r"\right)\," if wrap else mag + r"\,") + fmt(t)
        parts.append(f" {sign} {body}" if i else f"{sign}{body}")
    return "".join(parts)


# ---------------------------------------------------------------------------------------
# instantiation on a concrete loss (independent route used by tests and potentials)
def _deriv_tensor(grad: Sequence[sp.Expr], params: Sequence[sp.Symbol], idx: tuple[int, ...],
                  cache: dict) -> list[sp.Expr]:
    key = tuple(sorted(idx))
    if key not in cache:
        if not key:
            cache[key] = list(grad)
        else:
            prev = _deriv_tensor(grad, params, key[:-1], cache)
            cache[key] = [sp.diff(g, params[key[-1]]) for g in prev]
    return cache[key]


def instantiate_tree(t: Tree, grad: Sequence[sp.Expr], params: Sequence[sp.Symbol],
                     cache: dict | None = None) -> list[sp.Expr]:
    """E(τ) for a concrete loss, from its gradient (SymPy, by explicit tensors)."""
    import itertools
    cache = {} if cache is None else cache
    kids = [instantiate_tree(c, grad, params, cache) for c in t]
    d = len(params)
    out = [sp.Integer(0)] * d
    for idx in itertools.product(range(d), repeat=len(kids)):
        w = sp.Integer(1)
        for r, i in enumerate(idx):
            w *= kids[r][i]
            if w == 0:
                break
        if w == 0:
            continue
        T = _deriv_tensor(grad, params, idx, cache)
        out = [o + w * x for o, x in zip(out, T)]
    return out


def instantiate_scalar(t: Tree, loss_expr: sp.Expr, grad: Sequence[sp.Expr],
                       params: Sequence[sp.Symbol]) -> sp.Expr:
    """The scalar of a free tree for a concrete loss."""
    if num_nodes(t) == 1:
        return loss_expr
    # root at a leaf's neighbour: scalar = <∇L, E(rest)>
    for r in reroot_all(t):
        if len(r) == 1:  # rooted at a leaf: single child subtree
            v = instantiate_tree(r[0], grad, params)
            return sum((gi * vi for gi, vi in zip(grad, v)), sp.Integer(0))
    raise AssertionError("a tree with ≥ 2 nodes has a leaf")  # pragma: no cover
