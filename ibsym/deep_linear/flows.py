r"""Deep linear networks: the end-to-end dynamics and the singular-value flow (symbolic).

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
  (:func:`singular_value_flow`).

Its solutions are in :mod:`ibsym.deep_linear.solutions`, the time to learn a mode in
:mod:`ibsym.deep_linear.learning`, the finite-step correction in
:mod:`ibsym.deep_linear.finite_step`.  Published formulas (``../shared/formulas.md`` §5) are
test oracles only.  SymPy only; the numerical experiments live in
:mod:`ibsym.deep_linear.training` and the modules next to it.

Examples
--------
>>> flow = singular_value_flow()
>>> print(flow)
dσ/dt = -N*sigma**(2 - 2/N)*⟨∇L(W), u vᵀ⟩
>>> print(flow.whitened().subs(depth=2))
dσ/dt = 2*sigma*(s - sigma)
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import sympy as sp

from ibsym.core.errors import InputError
from ibsym.core.results import Result
from ibsym.deep_linear.symbols import (LAM, N, PAIRING, REFERENCES, S, SIGMA, SIGMA0, T, _Grq, _i, _j,
                                       _k, _latex, _flow_text, _number, _on_balanced_diagonal,
                                       _resolve_index_range, _sq, _sr, _tidy, _w, _weight_decay,
                                       check_depth)

__all__ = ["EndToEndDynamics", "end_to_end_dynamics", "SingularValueFlow", "singular_value_flow"]


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
        from ibsym.core.values import to_sympy
        other = to_sympy(other, what="other")
        return sp.simplify(sp.powsimp(sp.expand_power_base(self.rhs - other,
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

    def solve(self, sigma0: Any = SIGMA0) -> "FlowSolution":  # noqa: F821 (solutions.py; no circle)
        """Closed-form or implicit solution (whitened regression, no weight decay)."""
        if self.loss != "whitened" or self.weight_decay != 0:
            raise InputError("solutions are derived for whitened regression without weight decay; "
                             "call .whitened(target) first")
        from ibsym.deep_linear.solutions import solve_flow
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

