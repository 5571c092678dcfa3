r"""Deep linear networks: end-to-end dynamics, singular-value flows, learning curves (symbolic).

A depth-``N`` linear network (or deep matrix factorization) computes
``W_e = W_N W_{N-1} ⋯ W_1`` and is trained by gradient flow on ``ℓ(W_1, …, W_N) = L(W_e)``:

.. math:: \dot W_j = -\partial\ell/\partial W_j
          = -(W_N\cdots W_{j+1})^\top\,\nabla L(W_e)\,(W_{j-1}\cdots W_1)^\top .

This module *derives* with SymPy, for a symbolic depth ``N``:

* the dynamics of one aligned mode (scalar layers ``w_1..w_N``, product
  ``σ = w_N⋯w_1``) by the chain and product rules over an unevaluated ``Sum`` over the
  layers, balancedness being conserved (:func:`end_to_end_dynamics`);
* the end-to-end dynamics of ``W_e`` in the frame of its singular vectors for balanced
  factors ``W_j = O_j S^{1/N} O_{j-1}^T`` (telescoping ``Product`` of the layers, then a
  ``Sum`` over ``j``), its matrix form with fractional powers, and the singular-value flow
  ``dσ_r/dt = -N (σ_r²)^{1-1/N} ⟨∇L(W_e), u_r v_r^T⟩`` as its diagonal
  (:func:`singular_value_flow`);
* closed-form (depth 1: exponential, depth 2: logistic) and implicit (``t(σ)`` by SymPy
  integration; general ``N`` through Lerch's transcendent) solutions of the scalar flow of
  whitened regression toward a target singular value ``s`` (:func:`solve_flow`), and the time
  to learn a mode with its small-initialization asymptotics (:func:`time_to_learn`);
* the first-order modified equation of GD on the factorized parameters from the
  backward-error-analysis engine (:func:`ibsym.modified_equation`), reduced to the
  singular-value flow: what a finite step size adds (:func:`finite_step_flow`).

Published formulas (``../shared/formulas.md`` §5) are test oracles only.  SymPy and mpmath
only (layer 2); the numerical experiments live in :mod:`ibsym.deep_linear.factorization`.

Examples
--------
>>> flow = singular_value_flow()
>>> print(flow)
dσ/dt = -N*sigma**(2 - 2/N)*⟨∇L(W), u vᵀ⟩
>>> print(flow.whitened().subs(depth=2))
dσ/dt = 2*sigma*(s - sigma)
>>> sol = solve_flow(2)
>>> print(sol)
σ(t) = s*sigma_0*exp(2*s*t)/(s + sigma_0*exp(2*s*t) - sigma_0)   [closed form, depth 2]
>>> round(sol.sigma_at(1, target=3, sigma0=0.001), 10)
0.3557124789
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import mpmath
import sympy as sp

from ibsym.core.errors import InputError
from ibsym.core.results import Result

__all__ = [
    "N", "SIGMA", "SIGMA0", "S", "T", "LAM", "PAIRING",
    "EndToEndDynamics", "end_to_end_dynamics",
    "SingularValueFlow", "singular_value_flow",
    "FlowSolution", "solve_flow",
    "TimeToLearn", "time_to_learn",
    "FiniteStepFlow", "finite_step_flow",
    "singular_value_at", "check_depth", "ModeSolution", "mode_solution",
]

#: Depth (number of weight matrices), symbolic.
N = sp.Symbol("N", positive=True, integer=True)
#: A singular value of the end-to-end matrix, its initial value, the target singular value.
SIGMA = sp.Symbol("sigma", positive=True)
SIGMA0 = sp.Symbol("sigma_0", positive=True)
S = sp.Symbol("s", positive=True)
#: Time and weight decay.
T = sp.Symbol("t", nonnegative=True)
LAM = sp.Symbol("lambda", nonnegative=True)
#: ⟨∇L(W_e), u_r v_r^T⟩ -- the gradient of L along the mode (its "force").
PAIRING = sp.Symbol("g")
#: The step size (same symbol as in :mod:`ibsym.bea.equations`).
H = sp.Symbol("h", positive=True)

REFERENCES = (
    "S. Arora, N. Cohen, E. Hazan, On the Optimization of Deep Networks: Implicit Acceleration "
    "by Overparameterization, ICML 2018, Thm 1 (end-to-end dynamics)",
    "S. Arora, N. Cohen, W. Hu, Y. Luo, Implicit Regularization in Deep Matrix Factorization, "
    "NeurIPS 2019, Thm 3 (singular-value dynamics)",
    "A. Saxe, J. McClelland, S. Ganguli, Exact solutions to the nonlinear dynamics of learning "
    "in deep linear neural networks, ICLR 2014 (closed-form learning curves)",
)

_PAIR_TEXT = "⟨∇L(W), u vᵀ⟩"
_PAIR_LATEX = r"\left\langle \nabla L(W_e),\, u_r v_r^{\top}\right\rangle"
_LATEX_NAMES = {PAIRING: _PAIR_LATEX, SIGMA: r"\sigma_r", SIGMA0: r"\sigma_0"}

# dummy indices and layer weights of the symbolic-depth derivations
_i, _j, _k, _l = sp.symbols("i j k l", integer=True, positive=True)
_m = sp.Symbol("m", integer=True, nonnegative=True)
_w = sp.IndexedBase("w", positive=True)
_sr, _sq = sp.symbols("sigma_r sigma_q", positive=True)
_Grq = sp.Symbol("G_rq")


def check_depth(depth: Any, *, symbolic: bool = True) -> Any:
    """Validate a depth: the symbol :data:`N` (if ``symbolic``) or an integer in 1..64.

    Examples
    --------
    >>> check_depth(3), check_depth(N)
    (3, N)
    >>> check_depth(0)
    Traceback (most recent call last):
    ...
    ibsym.core.errors.InputError: depth must be an integer between 1 and 64 (number of weight matrices), got 0
    """
    if symbolic and depth is N:
        return N
    if isinstance(depth, sp.Integer):
        depth = int(depth)
    if isinstance(depth, bool) or not isinstance(depth, int) or not 1 <= depth <= 64:
        raise InputError("depth must be an integer between 1 and 64 (number of weight matrices), "
                         f"got {depth!r}")
    return depth


def _flow_text(e: sp.Expr) -> str:
    return sp.sstr(e.xreplace({PAIRING: sp.Symbol(_PAIR_TEXT)}))


def _latex(e: Any) -> str:
    return sp.latex(e, symbol_names=_LATEX_NAMES)


def _resolve_index_range(expr: sp.Expr, index: sp.Symbol) -> sp.Expr:
    """Choose the branch of every Piecewise whose condition holds for 1 ≤ index ≤ N.

    ``Sum(... KroneckerDelta(i, k) ..., (i, 1, N)).doit()`` returns
    ``Piecewise((value, k <= N), (0, True))``; a layer index always lies in range, which is
    decided by writing ``N = index + m`` with ``m ≥ 0``.
    """
    def pick(*args: Any) -> sp.Expr:
        for e, c in args:
            cond = sp.simplify(sp.sympify(c).xreplace({N: index + _m}))
            if cond == sp.true:
                return e
        raise InputError(f"could not decide the layer-index range in {args}")  # pragma: no cover
    return expr.replace(sp.Piecewise, pick)


def _on_balanced_diagonal(expr: sp.Expr, value: sp.Expr) -> sp.Expr:
    """Replace every layer weight ``w[i]`` by the balanced value."""
    return expr.replace(lambda e: isinstance(e, sp.Indexed) and e.base == _w, lambda e: value)


def _weight_decay(value: Any) -> sp.Expr:
    """0, a non-negative number, or the symbol λ (``"lambda"``)."""
    if isinstance(value, str) and value.strip() in ("lambda", "lam", "λ"):
        return LAM
    if value is LAM:
        return LAM
    lam = _number(value, "weight decay")
    if lam < 0:
        raise InputError(f"weight decay must be non-negative, got {value}")
    return lam


def _tidy(e: sp.Expr) -> sp.Expr:
    """Expand exponents (σ^(2(N−1)/N) → σ^(2 − 2/N)) for reading."""
    return e.replace(lambda x: x.is_Pow and not x.exp.is_number,
                     lambda x: sp.Pow(x.base, sp.expand(x.exp)))


# ============================================================================ end-to-end
@dataclass(frozen=True)
class EndToEndDynamics(Result):
    r"""The dynamics of the end-to-end matrix ``W_e`` of a balanced deep linear network.

    Attributes
    ----------
    depth : sympy.Symbol or int
        ``N``.
    weight_decay : sympy.Expr
        ``λ`` (0 without weight decay) of the penalty ``λ/2 Σ_j ‖W_j‖²``.
    layer_rate : sympy.Expr
        ``ẇ_k`` of one aligned mode (scalar layers ``w[k]``, ``g = ∂L/∂σ``).
    balancedness_rate : sympy.Expr
        ``d/dt (w_{k+1}² − w_k²)`` expressed through ``D = w_{k+1}² − w_k²`` (derived: ``−2λD``).
    mode_rate : sympy.Expr
        ``σ̇`` of an aligned mode on the balanced manifold ``w_k = σ^{1/N}``.
    left_exponent, right_exponent : sympy.Expr
        Exponents ``a_j, b_j`` of ``A_jA_j^T = (W_eW_e^T)^{a_j}`` and
        ``B_j^TB_j = (W_e^TW_e)^{b_j}`` (``A_j = W_N⋯W_{j+1}``, ``B_j = W_{j-1}⋯W_1``).
    frame_sum : sympy.Expr
        ``(U^T Ẇ_e V)_{rq}`` as an unevaluated sum over ``j`` (``G_rq = (U^T∇LV)_{rq}``).
    frame_diagonal : sympy.Expr
        Its ``r = q`` value: the singular-value flow.
    frame_offdiagonal : sympy.Expr
        Its closed form for ``σ_r ≠ σ_q``.
    """

    schema = "end-to-end-dynamics"
    depth: Any = N
    weight_decay: Any = sp.Integer(0)
    layer_rate: Any = None
    balancedness_rate: Any = None
    mode_rate: Any = None
    left_exponent: Any = None
    right_exponent: Any = None
    frame_sum: Any = None
    frame_diagonal: Any = None
    frame_offdiagonal: Any = None

    def __repr__(self) -> str:
        return f"EndToEndDynamics(depth={self.depth}, weight_decay={self.weight_decay})"

    def subs(self, *, depth: int) -> "EndToEndDynamics":
        """The dynamics at a concrete depth."""
        n = check_depth(depth, symbolic=False)
        rep = {N: sp.Integer(n)}
        vals = {f: (getattr(self, f).xreplace(rep) if isinstance(getattr(self, f), sp.Basic)
                    else getattr(self, f))
                for f in ("layer_rate", "balancedness_rate", "mode_rate", "left_exponent",
                          "right_exponent", "frame_sum", "frame_diagonal", "frame_offdiagonal")}
        vals["mode_rate"] = sp.simplify(vals["mode_rate"])
        vals["frame_offdiagonal"] = sp.simplify(vals["frame_offdiagonal"])
        return EndToEndDynamics(n, self.weight_decay, **vals)

    # the matrix form, assembled from the derived exponents
    def matrix_expr(self) -> sp.Expr:
        """``Ẇ_e`` as a sum of noncommuting factors (for printing)."""
        A = sp.Symbol(r"W_{e}W_{e}^{\top}", commutative=False)
        B = sp.Symbol(r"W_{e}^{\top}W_{e}", commutative=False)
        G = sp.Symbol(r"\nabla L(W_{e})", commutative=False)
        W = sp.Symbol("W_{e}", commutative=False)
        body = -sp.Sum(A ** self.left_exponent * G * B ** self.right_exponent, (_j, 1, self.depth))
        if self.weight_decay != 0:
            body = body - self.depth * self.weight_decay * W
        return body

    def matrix_text(self) -> str:
        a, b = sp.sstr(self.left_exponent), sp.sstr(self.right_exponent)
        wd = f" − {sp.sstr(self.depth * self.weight_decay)}·W_e" if self.weight_decay != 0 else ""
        return (f"dW_e/dt = −Σ_{{j=1}}^{{{self.depth}}} (W_e W_eᵀ)^({a}) ∇L(W_e) "
                f"(W_eᵀ W_e)^({b}){wd}")

    def kronecker_latex(self) -> str:
        r"""``vec(Ẇ_e) = −P_{W_e} vec(∇L)`` with ``vec(AXB) = (B^T ⊗ A) vec(X)``."""
        a, b = sp.latex(self.left_exponent), sp.latex(self.right_exponent)
        return (r"\operatorname{vec}(\dot W_e) = -P_{W_e}\operatorname{vec}(\nabla L(W_e)),\quad "
                r"P_{W_e} = \sum_{j=1}^{" + sp.latex(self.depth) + r"} (W_e^{\top}W_e)^{" + b
                + r"} \otimes (W_eW_e^{\top})^{" + a + "}")

    def to_latex(self) -> str:
        return r"\dot W_e = " + sp.latex(self.matrix_expr())

    def steps_latex(self) -> list[str]:
        """The derivation, one display line per step (for documents)."""
        D = sp.Symbol("D_k")
        wk = _w[_k]
        return [
            r"\sigma = \prod_{i=1}^{N} w_i,\quad \frac{\partial\sigma}{\partial w_k} = "
            r"\sigma\,\frac{\partial}{\partial w_k}\sum_{i=1}^{N}\log w_i = \frac{\sigma}{w_k}",
            r"\dot w_k = " + _latex(self.layer_rate.xreplace({wk: sp.Symbol("w_k")})),
            r"\frac{d}{dt}\left(w_{k+1}^2 - w_k^2\right) = " + _latex(self.balancedness_rate)
            + r",\quad " + sp.latex(D) + r" = w_{k+1}^2 - w_k^2",
            r"\dot\sigma = \sum_{k=1}^{N}\frac{\partial\sigma}{\partial w_k}\dot w_k"
            r"\Big|_{w_k=\sigma^{1/N}} = " + _latex(self.mode_rate),
            r"A_jA_j^{\top} = (W_eW_e^{\top})^{" + sp.latex(self.left_exponent)
            + r"},\quad B_j^{\top}B_j = (W_e^{\top}W_e)^{" + sp.latex(self.right_exponent) + "}",
            r"(U^{\top}\dot W_eV)_{rq} = " + sp.latex(self.frame_sum),
            r"(U^{\top}\dot W_eV)_{rr} = " + sp.latex(self.frame_diagonal.xreplace({_sr: SIGMA}),
                                                       symbol_names={SIGMA: r"\sigma_r"}),
            r"(U^{\top}\dot W_eV)_{rq} = " + sp.latex(self.frame_offdiagonal)
            + r"\quad (\sigma_r \neq \sigma_q)",
            self.to_latex(),
            self.kronecker_latex(),
        ]

    def __str__(self) -> str:
        return self.matrix_text()

    def to_dict_body(self) -> dict[str, Any]:
        return {"depth": sp.sstr(self.depth), "weight_decay": sp.sstr(self.weight_decay),
                "text": str(self), "latex": self.to_latex(), "kronecker_latex": self.kronecker_latex(),
                "layer_rate": sp.sstr(self.layer_rate),
                "balancedness_rate": sp.sstr(self.balancedness_rate),
                "mode_rate": sp.sstr(self.mode_rate),
                "left_exponent": sp.sstr(self.left_exponent),
                "right_exponent": sp.sstr(self.right_exponent),
                "frame_diagonal": sp.sstr(self.frame_diagonal),
                "frame_offdiagonal": sp.sstr(self.frame_offdiagonal),
                "steps_latex": self.steps_latex(), "references": list(REFERENCES[:2])}


@functools.lru_cache(maxsize=8)
def _derive_end_to_end(weight_decay: sp.Expr) -> EndToEndDynamics:
    lam = weight_decay
    g = PAIRING                      # ∂L/∂σ for one aligned mode
    # 1. ∂σ/∂w_k for σ = Π_i w_i, through log σ = Σ_i log w_i (positive factors)
    dlog = sp.Sum(sp.log(_w[_i]), (_i, 1, N)).diff(_w[_k]).doit()
    dsig = sp.simplify(SIGMA * _resolve_index_range(dlog, _k))
    # 2. layerwise gradient flow of ℓ = L(σ) + λ/2 Σ_i w_i²
    rate = -g * dsig - lam * _w[_k]
    # 3. balancedness: d/dt (w_{k+1}² − w_k²)
    rate_next = rate.xreplace({_k: _k + 1})
    dD = sp.expand(2 * _w[_k + 1] * rate_next - 2 * _w[_k] * rate)
    D = sp.Symbol("D_k")
    bal = sp.factor(dD.subs(_w[_k + 1] ** 2, D + _w[_k] ** 2))
    # 4. product rule, then the balanced manifold w_i = σ^{1/N}
    sdot = sp.Sum(dsig * rate, (_k, 1, N))
    on = _on_balanced_diagonal(sdot, SIGMA ** (1 / N)).doit()
    mode = _tidy(sp.simplify(sp.powsimp(sp.expand(on), force=True)))
    # 5. matrix case in the SVD frame of balanced factors W_j = O_j S^{1/N} O_{j-1}^T:
    #    A_j = W_N..W_{j+1} = U S^{(N-j)/N} O_j^T (telescoping), B_j = O_{j-1} S^{(j-1)/N} V^T
    a_j = sp.Product(_sr ** (1 / N), (_i, _j + 1, N)).doit()
    b_j = sp.Product(_sq ** (1 / N), (_i, 1, _j - 1)).doit()
    left = sp.simplify(sp.powsimp(a_j ** 2, force=True))          # eigenvalue of A_jA_j^T on u_r
    right = sp.simplify(sp.powsimp(b_j ** 2, force=True))         # eigenvalue of B_j^TB_j on v_q
    left_exp = sp.simplify(sp.expand_log(sp.log(left), force=True) / sp.log(_sr ** 2))
    right_exp = sp.simplify(sp.expand_log(sp.log(right), force=True) / sp.log(_sq ** 2))
    frame_sum = -_Grq * sp.Sum(left * right, (_j, 1, N))
    diag_sum = frame_sum.xreplace({_sq: _sr})
    diag = _tidy(sp.simplify(sp.powsimp(diag_sum.doit(), force=True)))
    off = frame_sum.doit()
    if isinstance(off, sp.Mul):
        off = sp.Mul(*[a.args[-1][0] if isinstance(a, sp.Piecewise) else a for a in off.args])
    elif isinstance(off, sp.Piecewise):  # pragma: no cover - SymPy's form differs by version
        off = off.args[-1][0]
    off = sp.simplify(off)
    if lam != 0:
        diag = diag - N * lam * _sr
    return EndToEndDynamics(N, lam, rate, bal, mode, left_exp, right_exp, frame_sum, diag, off)


def end_to_end_dynamics(depth: Any = N, *, weight_decay: Any = 0) -> EndToEndDynamics:
    r"""Derive the end-to-end dynamics of a balanced depth-``N`` linear network.

    Parameters
    ----------
    depth : int or sympy.Symbol, default :data:`N`
        Symbolic depth, or an integer (the symbolic result is specialized).
    weight_decay : number, str or sympy.Expr, default 0
        ``λ`` of the penalty ``λ/2 Σ_j ‖W_j‖²`` (``"lambda"`` keeps it symbolic).

    Returns
    -------
    EndToEndDynamics

    Notes
    -----
    One aligned mode: scalar layers with ``σ = Π w_i``; ``∂σ/∂w_k = σ/w_k`` from
    ``∂/∂w_k Σ_i log w_i`` (SymPy's ``Sum`` with a Kronecker delta), the layerwise flow
    ``ẇ_k = −g σ/w_k − λ w_k``, and the product rule ``σ̇ = Σ_k (∂σ/∂w_k) ẇ_k`` evaluated on
    the balanced manifold ``w_k = σ^{1/N}``; ``d/dt(w_{k+1}² − w_k²) = −2λ(w_{k+1}² − w_k²)``
    shows the manifold is invariant.  Matrix case: with ``W_j = O_j S^{1/N} O_{j-1}^T``
    (``O_0 = V``, ``O_N = U``) the partial products telescope to ``S^{(N-j)/N}`` and
    ``S^{(j-1)/N}`` (SymPy ``Product``); the product rule then gives, in the singular frame,

    .. math:: (U^\top\dot W_eV)_{rq} = -G_{rq}\sum_{j=1}^N\sigma_r^{2(N-j)/N}\sigma_q^{2(j-1)/N},
              \qquad G = U^\top\nabla L(W_e) V,

    summed by SymPy in closed form.

    References
    ----------
    .. [1] Arora, Cohen, Hazan, ICML 2018, Thm 1 (``formulas.md`` §5.1–5.2).

    Examples
    --------
    >>> e = end_to_end_dynamics()
    >>> e.mode_rate
    -N*g*sigma**(2 - 2/N)
    >>> e.left_exponent, e.right_exponent
    ((N - j)/N, (j - 1)/N)
    >>> end_to_end_dynamics(weight_decay="lambda").balancedness_rate
    -2*D_k*lambda
    """
    lam = _weight_decay(weight_decay)
    res = _derive_end_to_end(lam)
    if depth is N:
        return res
    return res.subs(depth=check_depth(depth))


# ============================================================================ σ-flow
@dataclass(frozen=True)
class SingularValueFlow(Result):
    r"""``dσ_r/dt`` of a singular value of the end-to-end matrix.

    Attributes
    ----------
    depth : sympy.Symbol or int
    rhs : sympy.Expr
        The right-hand side in :data:`SIGMA` and :data:`PAIRING` (generic loss) or
        :data:`S` (whitened regression, ``g = σ − s``).
    loss : str
        ``"generic"`` or ``"whitened"`` (``L = ½‖W − Φ‖²``, target singular value ``s``).
    weight_decay : sympy.Expr
    """

    schema = "singular-value-flow"
    depth: Any = N
    rhs: Any = None
    loss: str = "generic"
    weight_decay: Any = sp.Integer(0)

    def __repr__(self) -> str:
        return f"SingularValueFlow(depth={self.depth}, loss={self.loss!r})"

    def whitened(self, target: Any = S) -> "SingularValueFlow":
        """Whitened regression ``L = ½‖W − Φ‖²``: an aligned mode has ``g = σ − s``.

        Examples
        --------
        >>> print(singular_value_flow(3).whitened(2))
        dσ/dt = -3*sigma**(4/3)*(sigma - 2)
        """
        tgt = _number(target, "target") if not isinstance(target, sp.Symbol) else target
        rhs = _tidy(sp.factor(self.rhs.xreplace({PAIRING: SIGMA - tgt})))
        return SingularValueFlow(self.depth, rhs, "whitened", self.weight_decay)

    def subs(self, *, depth: int) -> "SingularValueFlow":
        """The flow at a concrete depth."""
        n = check_depth(depth, symbolic=False)
        return SingularValueFlow(n, sp.factor(sp.simplify(self.rhs.xreplace({N: n}))), self.loss,
                                 self.weight_decay)

    def equals(self, other: Any) -> bool:
        """Whether ``simplify(rhs − other) == 0``; ``other`` may be text in ``sigma``, ``N``, ``g``,
        ``s`` and ``lam`` (the weight decay λ), parsed safely.

        Examples
        --------
        >>> singular_value_flow().equals("-N*(sigma^2)^(1 - 1/N)*g")
        True
        """
        if isinstance(other, str):
            from ibsym.core.parsing import parse_expression
            other = parse_expression(other, {"sigma": SIGMA, "N": N, "g": PAIRING, "s": S,
                                             "lam": LAM})
        return sp.simplify(sp.powsimp(sp.expand_power_base(self.rhs - sp.sympify(other),
                                                             force=True), force=True)) == 0

    def evaluate(self, sigma: float, **values: Any) -> float:
        """The rate at a point (``g``, ``s``, ``lambda``, depth ``N`` given by name)."""
        names = {"g": PAIRING, "s": S, "lambda": LAM, "N": N}
        unknown = set(values) - set(names)
        if unknown:
            raise InputError(f"unknown name(s) {', '.join(sorted(unknown))}; use g, s, lambda, N")
        rep = {names[k]: _number(v, k) for k, v in values.items()}
        rep[SIGMA] = _number(sigma, "sigma")
        v = self.rhs.xreplace(rep)
        if v.free_symbols:
            raise InputError("give values for " + ", ".join(sorted(map(str, v.free_symbols))))
        return float(sp.N(v, 20))

    def solve(self, sigma0: Any = SIGMA0) -> "FlowSolution":
        """Closed-form or implicit solution (whitened regression, no weight decay)."""
        if self.loss != "whitened" or self.weight_decay != 0:
            raise InputError("solutions are derived for whitened regression without weight decay; "
                             "call .whitened(target) first")
        return solve_flow(self.depth)

    def equation(self) -> sp.Eq:
        return sp.Eq(sp.Derivative(sp.Function("sigma_r")(T), T), self.rhs, evaluate=False)

    def to_latex(self) -> str:
        return r"\frac{d\sigma_r}{dt} = " + _latex(self.rhs)

    def __str__(self) -> str:
        return "dσ/dt = " + _flow_text(self.rhs)

    def to_dict_body(self) -> dict[str, Any]:
        return {"depth": sp.sstr(self.depth), "loss": self.loss, "rhs": sp.sstr(self.rhs),
                "text": str(self), "latex": self.to_latex(),
                "weight_decay": sp.sstr(self.weight_decay),
                "pairing": "g = <grad L(W_e), u_r v_r^T>", "references": list(REFERENCES[1:2])}


def singular_value_flow(depth: Any = N, *, weight_decay: Any = 0) -> SingularValueFlow:
    r"""The singular-value flow of a balanced depth-``N`` factorization (derived).

    It is the diagonal of the end-to-end dynamics in the singular frame
    (:func:`end_to_end_dynamics`): ``dσ_r/dt = u_r^T Ẇ_e v_r`` because ``u_r^T u̇_r = 0 =
    v_r^T v̇_r`` for unit singular vectors (analytic SVD, distinct singular values).

    Parameters
    ----------
    depth : int or sympy.Symbol, default :data:`N`
    weight_decay : number or str, default 0

    Returns
    -------
    SingularValueFlow

    References
    ----------
    .. [1] Arora, Cohen, Hu, Luo, NeurIPS 2019, Thm 3 (``formulas.md`` §5.3).

    Examples
    --------
    >>> print(singular_value_flow(1))
    dσ/dt = -⟨∇L(W), u vᵀ⟩
    >>> print(singular_value_flow(weight_decay="lambda"))
    dσ/dt = -N*lambda*sigma - N*sigma**(2 - 2/N)*⟨∇L(W), u vᵀ⟩
    """
    e = end_to_end_dynamics(weight_decay=weight_decay)
    rhs = e.frame_diagonal.xreplace({_sr: SIGMA, _Grq: PAIRING})
    rhs = _tidy(sp.factor(rhs) if e.weight_decay == 0 else sp.powsimp(sp.expand(rhs), force=True))
    flow = SingularValueFlow(N, rhs, "generic", e.weight_decay)
    return flow if depth is N else flow.subs(depth=check_depth(depth))


# ============================================================================ solutions
def _number(v: Any, what: str) -> sp.Expr:
    if isinstance(v, str):
        from ibsym.core.parsing import parse_number
        return parse_number(v)
    if isinstance(v, float):
        return sp.nsimplify(v, rational=True) if v == v and abs(v) != float("inf") else sp.Float(v)
    try:
        e = sp.sympify(v)
    except (sp.SympifyError, TypeError):
        raise InputError(f"{what} must be a number, got {v!r}") from None
    if not e.is_number:
        raise InputError(f"{what} must be a number, got {v!r}")
    return e


def _mp(x: Any) -> mpmath.mpf:
    """A SymPy number as an mpmath float (45 digits)."""
    return mpmath.mpf(str(sp.N(x, 45)))


def _realify(F: sp.Expr) -> sp.Expr:
    """log(u) → log|u| (same derivative, real on both sides of the singularity)."""
    return F.replace(lambda e: isinstance(e, sp.log), lambda e: sp.log(sp.Abs(e.args[0])))


_X, _W = sp.symbols("x w", positive=True)


@functools.lru_cache(maxsize=64)
def _antiderivative(n: int) -> sp.Expr:
    """Φ_n(w) = ∫ dw / (w^{n-1} (1 − w^n)), checked by differentiation."""
    integrand = 1 / (_W ** (n - 1) * (1 - _W ** n))
    F = sp.integrate(integrand, _W)
    if F.has(sp.Integral) or sp.simplify(sp.diff(F, _W) - integrand) != 0:
        raise InputError(f"SymPy found no verified antiderivative for depth {n}")  # pragma: no cover
    return _realify(F)


@functools.lru_cache(maxsize=1)
def _general_antiderivative() -> sp.Expr:
    """∫ x^{p-1}/(1 − x) dx for symbolic p (p = 2/N − 1), by SymPy: x^p Φ(x, 1, p)."""
    p = sp.Symbol("p", nonzero=True)
    F = sp.integrate(_X ** (p - 1) / (1 - _X), _X)
    F = sp.gammasimp(F).replace(sp.exp_polar, lambda a: sp.exp(a))
    return F.xreplace({p: 2 / N - 1})


@functools.lru_cache(maxsize=8)
def _closed_form(n: int) -> sp.Expr:
    sig = sp.Function("sigma")
    rhs = singular_value_flow(n).whitened().rhs
    ode = sp.Eq(sig(T).diff(T), rhs.xreplace({SIGMA: sig(T)}))
    sol = sp.dsolve(ode, sig(T), ics={sig(0): SIGMA0})
    if n == 1:
        return sp.collect(sp.expand(sol.rhs), sp.exp(-T))
    return sp.simplify(sp.expand_log(sol.rhs, force=True))


@dataclass(frozen=True)
class FlowSolution(Result):
    r"""Solution of ``σ̇ = N σ^{2−2/N}(s − σ)``, ``σ(0) = σ_0`` (whitened regression, one mode).

    Attributes
    ----------
    depth : int or sympy.Symbol
    kind : str
        ``"closed form"`` (σ(t) explicit: depths 1, 2) or ``"implicit"`` (t(σ)).
    sigma_expr : sympy.Expr or None
        σ(t) in :data:`T`, :data:`S`, :data:`SIGMA0` (closed form only).
    time_expr : sympy.Expr
        t(σ): the time at which the mode reaches σ (both kinds).
    antiderivative : sympy.Expr
        Φ(w) with ``t = s^{-(2-2/N)}[Φ((σ/s)^{1/N}) − Φ((σ_0/s)^{1/N})]`` (integer depth), or
        the general-``N`` form in ``x = σ/s`` (Lerch transcendent).
    """

    schema = "singular-value-flow-solution"
    depth: Any = N
    kind: str = "implicit"
    sigma_expr: Any = None
    time_expr: Any = None
    antiderivative: Any = None
    flow: SingularValueFlow = None

    def __repr__(self) -> str:
        return f"FlowSolution(depth={self.depth}, kind={self.kind!r})"

    @property
    def is_closed_form(self) -> bool:
        return self.sigma_expr is not None

    def equals(self, other: Any) -> bool:
        """Whether the closed form σ(t) equals ``other`` (an expression, or text in ``t``, ``s``,
        ``sigma_0`` parsed safely); False for implicit solutions.

        Examples
        --------
        >>> solve_flow(2).equals("s*exp(2*s*t)/(exp(2*s*t) - 1 + s/sigma_0)")
        True
        """
        if not self.is_closed_form:
            return False
        if isinstance(other, str):
            from ibsym.core.parsing import parse_expression
            other = parse_expression(other, {"t": T, "s": S, "sigma_0": SIGMA0, "N": N})
        return sp.simplify(self.sigma_expr - sp.sympify(other)) == 0

    def _check(self, target: Any, sigma0: Any) -> tuple[sp.Expr, sp.Expr]:
        if self.depth is N:
            raise InputError("numbers need a concrete depth: use solve_flow(depth) with an integer")
        s, s0 = _number(target, "target"), _number(sigma0, "sigma0")
        if not s > 0:
            raise InputError(f"the target singular value must be positive, got {target}")
        if s0 < 0:
            raise InputError(f"sigma0 is a singular value and must be >= 0, got {sigma0}")
        return s, s0

    def time(self, sigma: Any, *, target: Any, sigma0: Any, depth: int | None = None) -> float:
        """t(σ): when the mode started at σ_0 reaches σ (``inf`` if it never does).

        For the symbolic-depth solution give ``depth``: the general (Lerch) form is evaluated at
        it (``σ_0 ≤ σ < s``).

        Examples
        --------
        >>> round(solve_flow(3).time(0.5, target=1, sigma0=0.01), 11)
        3.76803678108
        >>> round(solve_flow().time(0.5, target=1, sigma0=0.01, depth=3), 11)
        3.76803678108
        """
        if self.depth is N:
            if depth is None:
                raise InputError("the symbolic-depth solution needs depth=... to give numbers")
            n = check_depth(depth, symbolic=False)
            s, s0, x = _number(target, "target"), _number(sigma0, "sigma0"), _number(sigma, "sigma")
            if n == 2 or not (0 < s0 <= x < s):
                raise InputError("the general form holds for depth != 2 and 0 < sigma0 <= sigma "
                                 "< target; use solve_flow(depth) otherwise")
            v = self.time_expr.xreplace({N: n, S: s, SIGMA0: s0, SIGMA: x})
            return float(sp.re(sp.N(v, 30)))
        s, s0 = self._check(target, sigma0)
        x = _number(sigma, "sigma")
        if s0 == 0 and self.depth >= 2:
            return 0.0 if x == 0 else float("inf")
        if (x - s) * (s0 - s) <= 0 and x != s0:
            return float("inf") if (x == s or (x - s) * (s0 - s) < 0 or s0 == s) else 0.0
        if x == s0:
            return 0.0
        return float(self._time_fn()(x, s, s0))

    @property
    def uses_quadrature(self) -> bool:
        """True when SymPy's antiderivative is a ``RootSum`` (e.g. depth 7): t(σ) is then
        evaluated by mpmath quadrature of the integrand instead."""
        return self.time_expr.has(sp.RootSum)

    @functools.cached_property
    def _time_lambda(self) -> Any:
        if not self.uses_quadrature:
            return sp.lambdify((SIGMA, S, SIGMA0), self.time_expr, modules="mpmath")
        n = self.depth

        def by_quadrature(x: Any, s: Any, s0: Any) -> Any:
            return mpmath.quad(lambda v: 1 / (n * v ** (2 - mpmath.mpf(2) / n) * (s - v)), [s0, x])
        return by_quadrature

    def _time_fn(self) -> Any:
        f = self._time_lambda

        def fn(x: Any, s: Any, s0: Any) -> Any:
            with mpmath.workdps(40):
                return mpmath.re(f(_mp(x), _mp(s), _mp(s0)))
        return fn

    def sigma_at(self, t: Any, *, target: Any, sigma0: Any) -> float:
        """σ(t): the closed form, or the implicit solution inverted by bisection (mpmath).

        Examples
        --------
        >>> round(solve_flow(2).sigma_at(2, target=3, sigma0=0.001), 10)
        2.9457206986
        """
        s, s0 = self._check(target, sigma0)
        tv = _number(t, "t")
        if tv < 0:
            raise InputError(f"the time must be non-negative, got {t}")
        if s0 == s or tv == 0 or (s0 == 0 and self.depth >= 2):
            return float(s0)
        if self.is_closed_form:
            with mpmath.workdps(40):
                v = self.sigma_expr.xreplace({T: tv, S: s, SIGMA0: s0})
                return float(sp.N(v, 30))
        return float(self._invert(float(tv), s, s0))

    def _invert(self, tv: float, s: sp.Expr, s0: sp.Expr) -> mpmath.mpf:
        """Bisection on q = −log|1 − σ/s| ∈ [q0, ∞), where t is increasing in q."""
        f = self._time_lambda
        with mpmath.workdps(40):
            sm, s0m = _mp(s), _mp(s0)
            sign = 1 if s0m < sm else -1
            q0 = -mpmath.log(abs(1 - s0m / sm))

            def sig(q: Any) -> Any:
                return sm * (1 - sign * mpmath.exp(-q))

            def tt(q: Any) -> Any:
                return mpmath.re(f(sig(q), sm, s0m))

            lo, hi = q0, q0 + 1
            while tt(hi) < tv:
                lo, hi = hi, q0 + 2 * (hi - q0)
                if hi - q0 > 1e6:  # pragma: no cover - t beyond any representable approach
                    return sm
            for _ in range(200):
                mid = (lo + hi) / 2
                if tt(mid) < tv:
                    lo = mid
                else:
                    hi = mid
                if hi - lo < mpmath.mpf(10) ** -30 * max(1, abs(hi)):
                    break
            return sig((lo + hi) / 2)

    def to_latex(self) -> str:
        flow = r"\dot\sigma = " + _latex(self.flow.rhs) if self.flow is not None else ""
        if self.is_closed_form:
            body = r"\sigma(t) = " + _latex(self.sigma_expr)
        else:
            body = r"t(\sigma) = " + _latex(self.time_expr)
        return flow + r",\qquad " + body + r",\quad \sigma(0) = \sigma_0" if flow else body

    def __str__(self) -> str:
        if self.is_closed_form:
            return f"σ(t) = {sp.sstr(self.sigma_expr)}   [closed form, depth {self.depth}]"
        return f"t(σ) = {sp.sstr(self.time_expr)}   [implicit, depth {self.depth}]"

    def to_dict_body(self) -> dict[str, Any]:
        return {"depth": sp.sstr(self.depth), "kind": self.kind,
                "flow": None if self.flow is None else self.flow.to_dict_body(),
                "sigma": None if self.sigma_expr is None else sp.sstr(self.sigma_expr),
                "time": sp.sstr(self.time_expr), "antiderivative": sp.sstr(self.antiderivative),
                "latex": self.to_latex(), "references": list(REFERENCES[2:])}


def solve_flow(depth: Any = N) -> FlowSolution:
    r"""Solve the scalar flow of whitened regression ``σ̇ = N σ^{2−2/N}(s − σ)``, ``σ(0) = σ_0``.

    Depth 1 and 2: ``dsolve`` gives σ(t) (exponential relaxation; Saxe's logistic curve).
    Every depth: the implicit solution

    .. math:: t(\sigma) = \int_{\sigma_0}^{\sigma}\frac{dv}{N v^{2-2/N}(s-v)}
              = s^{-(2-2/N)}\Big[\Phi_N\big((\sigma/s)^{1/N}\big)\Big]_{\sigma_0}^{\sigma},
              \qquad \Phi_N(w) = \int\frac{dw}{w^{N-1}(1-w^N)},

    by SymPy's rational-function integration (checked by differentiation; logarithms taken of
    absolute values so that it holds for σ_0 > s too).  For symbolic ``N`` SymPy integrates
    ``x^{p-1}/(1−x)`` to ``x^p Φ(x, 1, p)`` (Lerch), ``p = 2/N − 1`` (``N ≠ 2``, ``x = σ/s < 1``).

    Parameters
    ----------
    depth : int or :data:`N`

    Returns
    -------
    FlowSolution

    References
    ----------
    .. [1] Saxe, McClelland, Ganguli, ICLR 2014 (``formulas.md`` §5.4).

    Examples
    --------
    >>> print(solve_flow(1))
    σ(t) = s + (-s + sigma_0)*exp(-t)   [closed form, depth 1]
    >>> solve_flow(3).kind
    'implicit'
    """
    return _solve_flow(depth if depth is N else check_depth(depth, symbolic=False))


@functools.lru_cache(maxsize=32)
def _solve_flow(depth: Any) -> FlowSolution:
    if depth is N:
        F = _general_antiderivative()
        x, x0 = SIGMA / S, SIGMA0 / S
        texpr = S ** (-(2 - 2 / N)) / N * (F.xreplace({_X: x}) - F.xreplace({_X: x0}))
        return FlowSolution(N, "implicit", None, texpr, F, singular_value_flow().whitened())
    n = depth
    F = _antiderivative(n)
    w, w0 = (SIGMA / S) ** sp.Rational(1, n), (SIGMA0 / S) ** sp.Rational(1, n)
    texpr = S ** (-(2 - sp.Rational(2, n))) * (F.xreplace({_W: w}) - F.xreplace({_W: w0}))
    closed = _closed_form(n) if n <= 2 else None
    return FlowSolution(n, "closed form" if closed is not None else "implicit", closed,
                        texpr, F, singular_value_flow(n).whitened())


def singular_value_at(depth: int, target: Any, sigma0: Any, t: Any) -> float:
    """σ(t) of one mode of whitened regression (closed form or implicit solution).

    Examples
    --------
    >>> round(singular_value_at(1, 2, 0, 1.0), 12)      # 2 (1 - e^{-1})
    1.264241117657
    """
    return solve_flow(check_depth(depth, symbolic=False)).sigma_at(t, target=target, sigma0=sigma0)


# ============================================================================ time to learn
@dataclass(frozen=True)
class TimeToLearn(Result):
    r"""Time for a mode to go from ``σ_0`` to ``f·s`` and its small-initialization asymptotics.

    Attributes
    ----------
    depth : int or sympy.Symbol
    fraction : sympy.Rational
    expr : sympy.Expr
        ``t(σ_0)`` exactly (integer depth) or through the general-``N`` antiderivative.
    leading : sympy.Expr
        The leading term as ``σ_0 → 0``: ``ln(1/(1−f))`` (N = 1),
        ``ln(1/σ_0)/(2s)`` (N = 2), ``σ_0^{−(N−2)/N}/((N−2)s)`` (N ≥ 3).
    exponent : sympy.Expr
        d log t / d log σ_0 of the leading term (0 for N ≤ 2, ``−(N−2)/N`` for N ≥ 3).
    """

    schema = "time-to-learn"
    depth: Any = N
    fraction: Any = sp.Rational(1, 2)
    expr: Any = None
    leading: Any = None
    exponent: Any = None

    def __repr__(self) -> str:
        return f"TimeToLearn(depth={self.depth}, fraction={self.fraction})"

    def evaluate(self, *, target: Any, sigma0: Any) -> float:
        """The exact time (integer depth).

        Examples
        --------
        >>> round(time_to_learn(2).evaluate(target=1, sigma0=0.01), 11)
        2.29755992507
        """
        if self.depth is N:
            raise InputError("evaluate needs an integer depth")
        sol = solve_flow(self.depth)
        return sol.time(self.fraction * _number(target, "target"), target=target, sigma0=sigma0)

    def asymptotic(self, *, target: Any, sigma0: Any) -> float:
        """The leading term at given values."""
        v = self.leading.xreplace({S: _number(target, "target"), SIGMA0: _number(sigma0, "sigma0"),
                                   **({N: self.depth} if self.depth is not N else {})})
        return float(sp.N(v, 20))

    def transition_width(self, *, target: Any, lo: Any = sp.Rational(1, 10),
                         hi: Any = sp.Rational(9, 10)) -> float:
        """Time from ``lo·s`` to ``hi·s``: independent of σ_0 (autonomous flow)."""
        s = _number(target, "target")
        return solve_flow(self.depth).time(_number(hi, "hi") * s, target=s,
                                           sigma0=_number(lo, "lo") * s)

    def to_latex(self) -> str:
        f = sp.latex(self.fraction)
        return (r"t_{" + f + r"}(\sigma_0) \sim " + _latex(self.leading)
                + r"\quad (\sigma_0 \to 0)")

    def __str__(self) -> str:
        return (f"t(σ0 → {self.fraction}·s) ~ {sp.sstr(self.leading)}  as σ0 → 0  "
                f"[depth {self.depth}; d log t/d log σ0 → {sp.sstr(self.exponent)}]")

    def to_dict_body(self) -> dict[str, Any]:
        return {"depth": sp.sstr(self.depth), "fraction": sp.sstr(self.fraction),
                "expr": sp.sstr(self.expr), "leading": sp.sstr(self.leading),
                "exponent": sp.sstr(self.exponent), "latex": self.to_latex(), "text": str(self)}


def _leading_general(depth: Any, f: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    """Leading σ_0 → 0 behaviour of t(σ_0 → f s) from the integrand's behaviour at 0."""
    v = sp.Symbol("v", positive=True)
    integrand = 1 / (depth * v ** (2 - sp.Integer(2) / depth) * (S - v))
    c0 = sp.limit(integrand * v ** (2 - sp.Integer(2) / depth), v, 0)   # = 1/(N s)
    if depth is N:
        # ∫_{σ0} c0 v^{-(2-2/N)} dv: the σ0-dependent part for N > 2
        lead = sp.simplify(-sp.integrate(c0 * v ** (sp.Integer(2) / depth - 2), v).xreplace({v: SIGMA0}))
        if isinstance(lead, sp.Piecewise):       # branches N ≠ 2 and N = 2: keep N ≥ 3
            lead = next(e for e, c in lead.args if c.xreplace({N: 3}) == sp.true)
        return _tidy(lead), sp.simplify(sp.Integer(2) / depth - 1)
    if depth == 1:
        lead = sp.limit(solve_flow(1).time_expr.xreplace({SIGMA: f * S}), SIGMA0, 0)
        return sp.simplify(lead), sp.Integer(0)
    if depth == 2:
        lead = sp.simplify(sp.integrate(c0 / v, (v, SIGMA0, 1)))   # ∫ dv/(2 s v) → log(1/σ0)/(2s)
        lead = sp.simplify(-sp.log(SIGMA0) / (2 * S)) if lead.has(sp.log) else lead
        return lead, sp.Integer(0)
    lead = sp.simplify(-sp.integrate(c0 * v ** (sp.Rational(2, depth) - 2), v).xreplace({v: SIGMA0}))
    return lead, sp.Rational(2, depth) - 1


def time_to_learn(depth: Any = N, *, fraction: Any = sp.Rational(1, 2)) -> TimeToLearn:
    r"""Time for a mode of whitened regression to learn ``fraction`` of its target.

    The leading behaviour as ``σ_0 → 0`` (derived from the integrand ``1/(N v^{2−2/N}(s−v))``
    near 0, whose coefficient ``1/(Ns)`` SymPy finds as a limit) is the mechanism of
    incremental learning: the time is inversely proportional to ``s``, so modes are learned
    in the order of their singular values, and for ``N ≥ 3`` it grows like
    ``σ_0^{−(N−2)/N}`` while the transition itself (``0.1 s → 0.9 s``) takes a time independent
    of ``σ_0``: the deeper the network and the smaller the initialization, the sharper the
    separation between modes.

    Parameters
    ----------
    depth : int or :data:`N`
    fraction : number, default 1/2

    Returns
    -------
    TimeToLearn

    Examples
    --------
    >>> time_to_learn(3).leading
    1/(s*sigma_0**(1/3))
    >>> time_to_learn().exponent
    (2 - N)/N
    >>> time_to_learn(2).leading
    -log(sigma_0)/(2*s)
    """
    f = _number(fraction, "fraction")
    if not 0 < f < 1:
        raise InputError(f"fraction must lie strictly between 0 and 1, got {fraction}")
    if depth is N:
        sol = solve_flow(N)
        lead, ex = _leading_general(N, f)
        return TimeToLearn(N, f, sol.time_expr.xreplace({SIGMA: f * S}), lead, ex)
    n = check_depth(depth, symbolic=False)
    sol = solve_flow(n)
    lead, ex = _leading_general(n, f)
    return TimeToLearn(n, f, sp.simplify(sol.time_expr.xreplace({SIGMA: f * S})), lead, ex)


# ============================================================================ BEA bridge
def _factorized_loss(n: int, target: sp.Expr) -> Any:
    from ibsym.core.losses import Loss
    ws = sp.symbols(" ".join(f"w{k}" for k in range(1, n + 1)), real=True)
    ws = ws if isinstance(ws, tuple) else (ws,)
    return Loss((target - sp.Mul(*ws)) ** 2 / 2, tuple(ws), name=f"depth{n}",
                text=f"(s - w_{n}⋯w_1)^2/2 with s = {target}")


def _tree_component(tree: tuple, index: sp.Symbol, depth: Any, fprime: sp.Expr,
                    counter: list[int]) -> sp.Expr:
    """Component ``index`` of the elementary differential E(tree) for ℓ = f(σ), σ = Π_i w_i,
    with symbolic depth: nested Sums over fresh layer indices."""
    def D(expr: sp.Expr, i: sp.Symbol) -> sp.Expr:
        # ∂/∂w_i with σ depending on every w: ∂σ/∂w_i = σ/w_i
        return sp.diff(expr, _w[i]) + sp.diff(expr, SIGMA) * SIGMA / _w[i]

    base = fprime * SIGMA / _w[index]          # ∂ℓ/∂w_index
    out = base
    kids = []
    for child in tree:
        counter[0] += 1
        i = sp.Symbol(f"i{counter[0]}", integer=True, positive=True)
        out = D(out, i)
        kids.append((i, _tree_component(child, i, depth, fprime, counter)))
    for i, comp in kids:
        out = out * comp
    for i, _ in reversed(kids):
        out = sp.Sum(out, (i, 1, depth))
    return out


def _field_on_diagonal(combination: Any, depth: Any, fprime: sp.Expr) -> sp.Expr:
    """σ-rate Σ_k (σ/w_k) F_k of a generic-tree field on the balanced diagonal w_k = σ^{1/N}."""
    total = sp.Integer(0)
    c = SIGMA ** (sp.Integer(1) / depth)
    for tree, coef in combination.terms.items():
        comp = _tree_component(tree, _k, depth, fprime, [0])
        comp = _resolve_index_range(_on_balanced_diagonal(comp, c).doit(), _k)
        total += coef * comp
    # the component is the same for every k (symmetry); Σ_k σ/w_k · F_k = N σ^{1-1/N} F_k
    return sp.factor(sp.simplify(sp.powsimp(sp.expand(depth * SIGMA / c * total), force=True)))


@dataclass(frozen=True)
class FiniteStepFlow(Result):
    r"""First-order modified singular-value flow of GD on a depth-``n`` factorization.

    ``dσ/dt = F_0(σ) + h F_1(σ) + O(h²)`` on the balanced diagonal ``w_k = σ^{1/n}``, for
    ``L = (s − w_n⋯w_1)²/2``.

    Attributes
    ----------
    depth : int
    target : sympy.Expr
    equation : ModifiedEquation
        The BEA engine's result on the layer parameters (``modified_equation("gd", loss, 1)``).
    flow0, flow1 : sympy.Expr
        F_0 and F_1 reduced to σ from the concrete BEA terms.
    general0, general1 : sympy.Expr
        The same for symbolic depth ``N`` and symbolic ``s``: the generic GD field
        (``modified_equation("gd", order=1)``, elementary differentials of ∇L) instantiated on
        the depth-``N`` factorization with symbolic sums over the layers.
    invariant : bool
        Whether the BEA field is the same in every layer on the diagonal (then the balanced
        diagonal is invariant under the modified flow and the reduction is exact).
    """

    schema = "finite-step-singular-value-flow"
    depth: int = 2
    target: Any = sp.Integer(1)
    equation: Any = None
    flow0: Any = None
    flow1: Any = None
    general0: Any = None
    general1: Any = None
    invariant: bool = True

    def __repr__(self) -> str:
        return f"FiniteStepFlow(depth={self.depth}, target={self.target})"

    @property
    def agrees(self) -> bool:
        """Whether the concrete BEA reduction equals the symbolic-depth instantiation."""
        rep = {N: self.depth, S: self.target}
        return all(sp.simplify(sp.powsimp(g.xreplace(rep) - c, force=True)) == 0
                   for g, c in ((self.general0, self.flow0), (self.general1, self.flow1)))

    def rate(self, sigma: float, h: float = 0.0) -> float:
        """F_0(σ) + h F_1(σ)."""
        v = (self.flow0 + _number(h, "h") * self.flow1).xreplace({SIGMA: _number(sigma, "sigma")})
        return float(sp.N(v, 20))

    def to_latex(self) -> str:
        return (r"\frac{d\sigma}{dt} = " + _latex(self.general0) + r" + h\left("
                + _latex(self.general1) + r"\right) + O(h^{2})")

    def concrete_latex(self) -> str:
        return (r"\frac{d\sigma}{dt} = " + _latex(self.flow0) + r" + h\left(" + _latex(self.flow1)
                + r"\right) + O(h^{2}),\quad N = " + str(self.depth) + r",\ s = "
                + sp.latex(self.target))

    def __str__(self) -> str:
        return (f"dσ/dt = {sp.sstr(self.flow0)} + h·({sp.sstr(self.flow1)}) + O(h²)   "
                f"[GD, depth {self.depth}, s = {self.target}; general N: "
                f"{sp.sstr(self.general0)} + h·({sp.sstr(self.general1)})]")

    def to_dict_body(self) -> dict[str, Any]:
        return {"depth": self.depth, "target": sp.sstr(self.target),
                "flow0": sp.sstr(self.flow0), "flow1": sp.sstr(self.flow1),
                "general0": sp.sstr(self.general0), "general1": sp.sstr(self.general1),
                "agrees": self.agrees, "invariant": self.invariant, "latex": self.to_latex(),
                "concrete_latex": self.concrete_latex(),
                "loss": str(self.equation.loss.expr) if self.equation is not None else None,
                "time_variable": "t = n h"}


@functools.lru_cache(maxsize=4)
def _general_finite_step(order: int) -> tuple[sp.Expr, ...]:
    from ibsym.bea.procedure import modified_equation
    generic = modified_equation("gd", order=order)
    fprime = SIGMA - S
    return tuple(_field_on_diagonal(F, N, fprime) for F in generic.terms)


def finite_step_flow(depth: int, target: Any = 1) -> FiniteStepFlow:
    r"""What a finite step size adds to the singular-value flow (GD, first order in h).

    GD on the factorized parameters of ``L = (s − w_n⋯w_1)²/2`` has, by backward error
    analysis (:func:`ibsym.modified_equation`), the modified field ``F_0 + h F_1`` on the
    layers.  Because L is symmetric in the layers, the balanced diagonal ``w_k = σ^{1/n}`` is
    invariant (checked: every component of F_1 is the same there), and the product rule
    ``σ̇ = Σ_k (σ/w_k) θ̇_k`` reduces the field to ``σ``.  The same reduction is done for a
    symbolic depth ``N`` by instantiating the engine's generic result (``−∇L − h/2 ∇²L∇L``) with
    symbolic sums over the layers; the two must agree (:attr:`FiniteStepFlow.agrees`).

    Parameters
    ----------
    depth : int
        Number of layers (1..6: the concrete derivation expands the product).
    target : number, default 1

    Returns
    -------
    FiniteStepFlow

    Examples
    --------
    >>> fs = finite_step_flow(2)
    >>> fs.flow1
    -sigma*(sigma - 1)*(3*sigma - 1)
    >>> fs.general1
    -N*sigma**(3 - 4/N)*(s - sigma)*(N*s - 2*N*sigma - s + sigma)/2
    >>> fs.agrees
    True
    """
    from ibsym.bea.procedure import modified_equation
    n = check_depth(depth, symbolic=False)
    if n > 6:
        raise InputError(f"the concrete BEA derivation is limited to depth <= 6, got {n}")
    s = _number(target, "target")
    if not s > 0:
        raise InputError(f"the target singular value must be positive, got {target}")
    loss = _factorized_loss(n, s)
    eq = modified_equation("gd", loss, order=1)
    c = SIGMA ** sp.Rational(1, n)
    diag = {p: c for p in loss.params}
    rates = []
    invariant = True
    for F in eq.terms:
        comps = [sp.simplify(sp.powsimp(x.xreplace(diag), force=True)) for x in F]
        invariant = invariant and all(sp.simplify(ci - comps[0]) == 0 for ci in comps)
        dsig = [sp.diff(sp.Mul(*loss.params), p).xreplace(diag) for p in loss.params]
        rates.append(sp.factor(sp.simplify(sp.powsimp(sum(a * b for a, b in zip(dsig, comps)),
                                                      force=True))))
    g0, g1 = _general_finite_step(1)[:2]
    return FiniteStepFlow(n, s, eq, rates[0], rates[1], g0, g1, invariant)


# ============================================================================ one mode
@dataclass(frozen=True)
class ModeSolution(Result):
    r"""One mode of whitened regression ``L = ½‖W − Φ‖²`` (target singular value ``s``) from a
    balanced initialization with end-to-end singular value ``σ_0``: flow, solution, ``σ(t)``
    and the time to learn ``fraction·s``.

    Attributes
    ----------
    depth : int
    target, sigma0 : sympy.Expr
    t : sympy.Expr or None
    sigma : float or None
        ``σ(t)``.
    method : str
        How ``σ(t)`` was obtained.
    solution : FlowSolution
    learn : TimeToLearn
    time_to_learn : float
        Time to reach ``fraction·s`` from ``σ_0`` (``inf`` if never).
    """

    schema = "spectral"
    depth: int = 1
    target: Any = sp.Integer(1)
    sigma0: Any = sp.Integer(0)
    t: Any = None
    sigma: float | None = None
    method: str = ""
    solution: FlowSolution = None
    learn: TimeToLearn = None
    time_to_learn: float = 0.0

    def __repr__(self) -> str:
        return (f"ModeSolution(depth={self.depth}, target={self.target}, sigma0={self.sigma0}, "
                f"t={self.t})")

    def flow(self) -> SingularValueFlow:
        """The flow with the target substituted."""
        f = self.solution.flow
        return SingularValueFlow(f.depth, f.rhs.xreplace({S: self.target}), "whitened")

    def flow_text(self) -> str:
        return str(self.flow())

    def _solution_expr(self) -> sp.Expr:
        sol = self.solution
        rep = {S: self.target, SIGMA0: self.sigma0}
        if sol.is_closed_form:
            return sp.simplify(sol.sigma_expr.xreplace(rep))
        return sol.time_expr.xreplace(rep)

    def to_latex(self) -> str:
        parts = [self.flow().to_latex()]
        if self.solution.is_closed_form:
            parts.append(r"\sigma(t) = " + _latex(self._solution_expr()))
        else:
            parts.append(r"t(\sigma) = " + _latex(self._solution_expr()))
        if self.sigma is not None:
            parts.append(r"\sigma(" + sp.latex(self.t) + r") = " + f"{self.sigma:.12g}")
        return r",\qquad ".join(parts)

    def __str__(self) -> str:
        lines = [f"{self.flow_text()},  σ(0) = {self.sigma0}   [depth {self.depth}, "
                 f"target s = {self.target}]"]
        if self.solution.is_closed_form:
            lines.append(f"σ(t) = {sp.sstr(self._solution_expr())}   [closed form]")
        else:
            lines.append(f"t(σ) = {sp.sstr(self._solution_expr())}   [implicit]")
        if self.sigma is not None:
            lines.append(f"σ({self.t}) = {self.sigma:.12g}   ({self.method})")
        lines.append(f"time to reach {self.learn.fraction}·s: {self.time_to_learn:.12g}; "
                     f"as σ0 → 0: {sp.sstr(self.learn.leading)}")
        return "\n".join(lines)

    def to_dict_body(self) -> dict[str, Any]:
        flow = self.flow()
        return {"depth": self.depth, "target": float(self.target), "sigma0": float(self.sigma0),
                "t": None if self.t is None else float(self.t), "sigma": self.sigma,
                "method": self.method, "flow": flow.to_dict_body()["rhs"],
                "flow_latex": flow.to_latex(), "solution_kind": self.solution.kind,
                "solution_latex": self.to_latex(), "fraction": float(self.learn.fraction),
                "time_to_learn": self.time_to_learn,
                "time_to_learn_leading": sp.sstr(self.learn.leading),
                "time_to_learn_exponent": sp.sstr(self.learn.exponent),
                "references": list(REFERENCES)}


def mode_solution(depth: int, target: Any, sigma0: Any, t: Any = None, *,
                  fraction: Any = sp.Rational(1, 2)) -> ModeSolution:
    """σ(t) of a mode of whitened regression, with its flow, solution and time to learn.

    Parameters
    ----------
    depth : int
    target : number or str
        Target singular value ``s > 0``.
    sigma0 : number or str
        Initial end-to-end singular value ``σ_0 ≥ 0`` (balanced initialization).
    t : number or str, optional
    fraction : number, default 1/2

    Examples
    --------
    >>> m = mode_solution(3, 1, "0.01", 3)
    >>> m.solution.kind, round(m.sigma, 8)
    ('implicit', 0.17518460)
    >>> round(m.time_to_learn, 8)
    3.76803678
    """
    n = check_depth(depth, symbolic=False)
    s, s0 = _number(target, "target"), _number(sigma0, "sigma0")
    sol = solve_flow(n)
    sol._check(s, s0)
    learn = time_to_learn(n, fraction=fraction)
    ttl = sol.time(learn.fraction * s, target=s, sigma0=s0)
    sigma, method, tv = None, "", None
    if t is not None:
        tv = _number(t, "t")
        sigma = sol.sigma_at(tv, target=s, sigma0=s0)
        if s0 == 0 and n >= 2:
            method = "σ0 = 0 is a fixed point for depth >= 2 (the origin is a saddle)"
        elif s0 == s:
            method = "σ0 = s is the fixed point"
        elif sol.is_closed_form:
            method = "closed form (SymPy dsolve)"
        elif sol.uses_quadrature:
            method = ("implicit solution t(σ) by mpmath quadrature (SymPy's antiderivative is a "
                      "RootSum), inverted by bisection")
        else:
            method = "implicit solution t(σ) (SymPy integration), inverted by bisection (mpmath)"
    return ModeSolution(n, s, s0, tv, sigma, method, sol, learn, ttl)
