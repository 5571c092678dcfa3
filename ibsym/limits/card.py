"""``bias_card``: every face ibsym knows of one optimizer on one problem, as one record.

The faces are gathered from the existing machinery, never re-derived here:

(a) geometry -- the implicit problem and the measured limit (:func:`~ibsym.limits.implicit.
    implicit_bias`, regression or separable classification);
(b) the finite-step correction of the flow -- :func:`~ibsym.bea.procedure.modified_equation` at
    order 1 on the problem's loss (½‖Xw − y‖², or the classification loss for d ≤ 4), F_1 at w0,
    and its verification (:func:`~ibsym.numeric.verify.verify`, automatic ladder, short T);
(c) the stability threshold of the update rule at w0 (:func:`~ibsym.numeric.kernels.
    update_stability_threshold`);
(d) the verification status of each face.

A face that cannot be computed is an explicit "not available" entry naming why.

Examples
--------
>>> import ibsym as ib
>>> card = ib.bias_card("gd", ([[1, 1, 1], [1, 2, 0]], [1, 10]), w0=[1, -1, 2], h=0.1)
>>> card.geometry.solution_exact.T
Matrix([[2/3, 14/3, -13/3]])
>>> [f["status"] for f in card.faces]
['verified', 'verified', 'computed']
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import sympy as sp

from ibsym.bea.optimizers import Optimizer, get_optimizer
from ibsym.bea.procedure import modified_equation
from ibsym.core.errors import IbsymError, InputError
from ibsym.core.export import escape_text, latex_document
from ibsym.core.losses import Loss
from ibsym.core.results import Result
from ibsym.limits.implicit import DEFAULT_HYPER, implicit_bias
from ibsym.limits.problems import RegressionProblem, as_problem
from ibsym.numeric.kernels import compile_terms, update_stability_threshold
from ibsym.numeric.verify import verify

__all__ = ["BiasCard", "bias_card", "problem_loss"]

#: Largest dimension for which the classification loss is built symbolically.
MAX_CLASSIFICATION_DIM = 4
#: Largest number of samples for which the classification loss is built symbolically.
MAX_CLASSIFICATION_SAMPLES = 50
#: Horizons tried (in order) for the modified-flow verification.
VERIFY_HORIZONS = (0.5, 0.1, 0.02)


def _num(v: float) -> str:
    v = float(v)
    if v == int(v):
        return str(int(v))
    return str(sp.Rational(v))  # exact binary value, parseable by the whitelist parser


def _resolve(optimizer: str | Optimizer, hyper: dict | None) -> Optimizer:
    """The optimizer with open hyper-parameters filled as :func:`implicit_bias` fills them."""
    if isinstance(optimizer, Optimizer):
        opt = optimizer.with_hyper(**hyper) if hyper else optimizer
    else:
        opt = get_optimizer(optimizer, **(hyper or {}))
    fill = {k: DEFAULT_HYPER[k] for k in opt.hyper if k not in dict(opt.values) and k in DEFAULT_HYPER}
    return opt.with_hyper(**fill) if fill else opt


def problem_loss(problem: Any) -> Loss:
    """The problem's loss as an ibsym :class:`~ibsym.core.losses.Loss` in w0..w{d-1}.

    L(w) = ½‖Xw − y‖² for a regression problem; Σ_n ℓ(z_n·w) (exponential or logistic,
    optionally weighted / mean-reduced) for a separable problem with d ≤ 4 and at most
    :data:`MAX_CLASSIFICATION_SAMPLES` samples.

    Examples
    --------
    >>> problem_loss(([[1, 2]], [3])).expr
    (w0 + 2*w1 - 3)**2/2
    """
    from ibsym.limits.classification import SeparableProblem
    if isinstance(problem, SeparableProblem):
        Z = np.asarray(problem.Z, dtype=float)
        N, d = Z.shape
        if d > MAX_CLASSIFICATION_DIM or N > MAX_CLASSIFICATION_SAMPLES:
            raise InputError(f"the {problem.loss} loss is built symbolically only for d ≤ "
                             f"{MAX_CLASSIFICATION_DIM} and N ≤ {MAX_CLASSIFICATION_SAMPLES} "
                             f"(this problem: d = {d}, N = {N})")
        if problem.loss not in ("exponential", "logistic"):
            raise InputError(f"no symbolic loss for the classification loss '{problem.loss}'")
        weights = (np.ones(N) if problem.weights is None
                   else np.asarray(problem.weights, dtype=float).reshape(-1))
        terms = []
        for n in range(N):
            m = " + ".join(f"{_num(Z[n, i])}*w{i}" for i in range(d) if Z[n, i] != 0) or "0"
            ell = f"exp(-({m}))" if problem.loss == "exponential" else f"log(1 + exp(-({m})))"
            terms.append(f"{_num(weights[n])}*{ell}")
        text = " + ".join(terms)
        if problem.reduction == "mean":
            text = f"({text})/{N}"
        return Loss.parse(text, " ".join(f"w{i}" for i in range(d)))
    prob = as_problem(problem)
    rows = []
    for r in range(prob.n):
        terms = [f"{_num(prob.X[r, i])}*w{i}" for i in range(prob.d) if prob.X[r, i] != 0]
        rows.append(f"({' + '.join(terms) or '0'} - {_num(prob.y[r])})^2")
    return Loss.parse("(" + " + ".join(rows) + ")/2", " ".join(f"w{i}" for i in range(prob.d)))


@dataclass(frozen=True, eq=False)
class BiasCard(Result):
    """Every face ibsym knows of one optimizer on one problem (see :func:`bias_card`)."""

    schema = "bias-card"
    optimizer: str
    kind: str
    problem: Any
    w0: np.ndarray
    geometry: Result
    equation: Any
    F1_at_w0: np.ndarray | None
    flow_verification: Any
    threshold: float | None
    faces: tuple

    def face(self, name: str) -> dict:
        """The entry of face ``name`` ("geometry", "modified flow", "stability")."""
        for f in self.faces:
            if f["face"] == name:
                return f
        raise InputError(f"no face '{name}' (faces: {', '.join(f['face'] for f in self.faces)})")

    def __str__(self) -> str:
        lines = [f"bias card: {self.optimizer} on {self.problem} ({self.kind}), "
                 f"w0 = {np.round(self.w0, 6).tolist()}"]
        for f in self.faces:
            lines.append(f"  [{f['face']}] {f['status']}: {f['summary']}")
        return "\n".join(lines)

    def _flow_latex(self) -> str:
        if self.equation is None:
            return r"\text{not available}"
        if self.F1_at_w0 is None:
            return r"F_1 = -\tfrac{1}{2}\nabla^2 L\,\nabla L"
        return (r"F_1(w_0) = " + sp.latex(sp.Matrix(np.round(self.F1_at_w0, 8)).T)
                .replace(r"\left[\begin{matrix}", r"\left[\begin{matrix}"))

    def to_latex(self) -> str:
        parts = [self.geometry.to_latex(), self._flow_latex()]
        if self.threshold is not None:
            parts.append(r"h_{\mathrm{stab}}(w_0) = " + f"{self.threshold:.6g}")
        return r",\qquad ".join(parts)

    def latex(self) -> str:
        """One page of LaTeX (``pdflatex``-compilable) holding every face and its status."""
        status = {f["face"]: f["status"] for f in self.faces}
        sections = [(f"Geometry: implicit problem and limit ({status['geometry']})",
                     self.geometry.to_latex())]
        flow = f"Finite-step correction of the flow, order 1 ({status['modified flow']})"
        if self.equation is not None:
            rows = [self.equation.latex()]
            if self.F1_at_w0 is not None:
                rows.append(self._flow_latex())
            sections.append((flow, rows))
        if self.threshold is not None:
            sections.append((f"Stability threshold of the update at the start ({status['stability']})",
                             r"h_{\mathrm{stab}}(w_0) = " + f"{self.threshold:.6g}"))
        notes = [f"{f['face']}: {f['status']} -- {f['summary']}" for f in self.faces
                 if f["face"] != "geometry" and (f["status"] == "not available"
                                                 or f["face"] in ("modified flow", "corrected limit"))]
        if self.kind == "regression" and self.geometry.distance is not None:
            notes.insert(0, f"geometry: {status['geometry']} -- measured limit after "
                            f"{self.geometry.steps} steps at distance {self.geometry.distance:.1e}")
        return latex_document(f"Bias card: {self.optimizer} on {self.problem}", sections, notes=notes)

    def to_dict_body(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer, "kind": self.kind, "w0": self.w0,
                "geometry": self.geometry.to_dict_body(),
                "modified_flow": None if self.equation is None else
                [[str(x) for x in F] for F in self.equation.terms],
                "F1_at_w0": self.F1_at_w0,
                "flow_verification": (None if self.flow_verification is None
                                      else self.flow_verification.to_dict_body()),
                "threshold": self.threshold, "faces": list(self.faces),
                "latex": self.to_latex()}


def _verify(eq: Any, w0: np.ndarray, T: float | None) -> tuple[Any, float]:
    """verify() at the first horizon whose automatic ladder is within the iteration limit."""
    horizons = VERIFY_HORIZONS if T is None else (T,)
    for i, t in enumerate(horizons):
        try:
            return verify(eq, list(w0), T=t), t
        except InputError:
            if i == len(horizons) - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _corrected_limit(opt: Optimizer, prob: Any, reparam: Any, alpha: float,
                     h: float | None) -> dict:
    """The corrected-limit face: GD on w = φ(u) vs its order-0/1 modified-flow limits."""
    from ibsym.limits.bridge import limit_orders
    from ibsym.limits.reparam import Reparametrization
    if opt.name != "gd" or not isinstance(prob, RegressionProblem):
        raise InputError("reparam: the corrected limit is derived for GD on a regression problem "
                         f"(got {opt.name} on a {type(prob).__name__})")
    rep = Reparametrization.parse(reparam, alpha=alpha) if isinstance(reparam, str) else reparam
    h = 0.02 if h is None else float(h)
    r = limit_orders(rep, prob, [h, h / 2], orders=(0, 1))
    e0, e1 = r["errors"][0], r["errors"][1]
    ok = all(b < a for a, b in zip(e0, e1)) and abs(r["slopes"][1] - 2) < 0.3
    status = "verified" if ok else "NOT verified"
    if max(e0) < 1e-8:      # the limit does not move with h above the convergence floor
        status = "not measurable (errors at the convergence floor)"
    return {"face": "corrected limit", "status": status,
            "summary": f"GD on w = {rep.phi}, u(0) = {float(rep.alpha):g}: limit at h = {h:g} "
                       f"{np.round(r['gd_limits'][0], 8).tolist()}; error of the gradient-flow "
                       f"limit {e0[0]:.2e} (slope {r['slopes'][0]:.2f}), of the order-1 modified "
                       f"flow {e1[0]:.2e} (slope {r['slopes'][1]:.2f})",
            "h": h, "errors": {"0": e0, "1": e1}, "slopes": {"0": r["slopes"][0], "1": r["slopes"][1]},
            "gd_limit": r["gd_limits"][0]}


def _geometry_face(geo: Result, kind: str) -> dict:
    if kind == "regression":
        if geo.distance is None:
            return {"face": "geometry", "status": "measured only",
                    "summary": f"no affine invariant; limit ≈ {np.round(geo.measured, 6).tolist()} "
                               f"after {geo.steps} steps"}
        ok = geo.converged and geo.distance < 1e-6
        sol = (str(list(geo.solution_exact)) if geo.solution_exact is not None
               else str(np.round(geo.solution, 8).tolist()))
        return {"face": "geometry", "status": "verified" if ok else "NOT verified",
                "summary": f"{geo._objective_text()}; w∞ = {sol}; measured limit at distance "
                           f"{geo.distance:.1e}{'' if geo.converged else ' (not converged)'}",
                "distance": geo.distance}
    err = geo.final_direction_error
    return {"face": "geometry", "status": "measured",
            "summary": f"{geo.outcome}; direction error {'n/a' if err is None else f'{err:.2e}'} "
                       f"after {geo.run.steps} steps", "direction_error": err}


def bias_card(optimizer: str | Optimizer, problem: Any, w0: Sequence[float] | None = None, *,
              h: float | None = None, hyper: dict | None = None, max_steps: int = 200_000,
              verify_T: float | None = None, verify_flow: bool = True,
              reparam: Any = None, alpha: float = 1.0) -> BiasCard:
    """Gather the geometry, the modified flow, the stability threshold and their checks.

    Parameters
    ----------
    optimizer : str or Optimizer
        A registered name or an :class:`~ibsym.bea.optimizers.Optimizer`.
    problem : RegressionProblem, (X, y) or SeparableProblem
    w0 : sequence of float, optional
        Start (default 0).
    h : float, optional
        Step size of the geometry run (default: :func:`implicit_bias`'s).
    hyper : dict, optional
        Hyper-parameter values; open ones take :data:`~ibsym.limits.implicit.DEFAULT_HYPER`.
    max_steps : int
        Iterations of the geometry run.
    verify_T : float, optional
        Horizon of the modified-flow verification (automatic ladder); default: the first of
        :data:`VERIFY_HORIZONS` whose ladder fits the verification's iteration limit.
    verify_flow : bool
        Run the verification of the modified flow (default True).
    reparam : str or Reparametrization, optional
        GD only: also the finite-step correction of the *limit* of GD on w = φ(u) from u = α
        (:func:`~ibsym.limits.bridge.limit_orders` at h and h/2, default h = 0.02): the
        order-0 and order-1 modified-flow predictions and their errors.
    alpha : float
        Initialization scale u(0) = α for ``reparam``.

    Returns
    -------
    BiasCard
    """
    from ibsym.limits.classification import SeparableProblem
    opt = _resolve(optimizer, hyper)
    kind = "classification" if isinstance(problem, SeparableProblem) else "regression"
    prob = problem if kind == "classification" else as_problem(problem)
    d = prob.d
    w0 = np.zeros(d) if w0 is None else np.array(w0, dtype=float).reshape(-1)
    if w0.shape != (d,) or not np.all(np.isfinite(w0)):
        raise InputError(f"w0 must be {d} finite numbers, got {w0.size}")
    geo = implicit_bias(opt, prob, w0=w0, h=h, max_steps=max_steps)
    faces = [_geometry_face(geo, kind)]

    eq = F1 = report = None
    try:
        loss = problem_loss(prob)
    except InputError as exc:
        loss = None
        faces.append({"face": "modified flow", "status": "not available", "summary": str(exc)})
    if loss is not None:
        try:
            eq = modified_equation(opt, loss, order=1)
            F1 = np.asarray(compile_terms(eq)(w0.reshape(-1, 1)), dtype=float)[1, :, 0]
        except IbsymError as exc:
            eq = F1 = None
            faces.append({"face": "modified flow", "status": "not available",
                          "summary": f"{opt.name}: {exc}"})
    if eq is not None:
        summary = f"F_1(w0) = {np.round(F1, 8).tolist()}"
        status = "derived"
        if verify_flow:
            try:
                report, T = _verify(eq, w0, verify_T)
                slopes = ", ".join("n/a" if s is None else f"{s:.2f}" for s in report.slopes)
                status = "verified" if report.passed else "NOT verified"
                summary += (f"; error slopes of orders {list(report.orders)}: {slopes} "
                            f"(expected {list(report.expected)}, T = {T:g})")
            except IbsymError as exc:
                status = "derived, not verified"
                summary += f"; verification not available: {exc}"
        faces.append({"face": "modified flow", "status": status, "summary": summary})

    thr = None
    if loss is None:
        faces.append({"face": "stability", "status": "not available",
                      "summary": "needs the symbolic loss (see the modified-flow face)"})
    else:
        thr = float(update_stability_threshold(opt, loss, w0))
        if np.isnan(thr):
            faces.append({"face": "stability", "status": "not available",
                          "summary": f"{opt.name}: the update cannot be linearized at w0"})
            thr = None
        else:
            faces.append({"face": "stability", "status": "computed",
                          "summary": f"largest stable step at w0 (local quadratic model): "
                                     f"h_stab = {thr:.6g}"})
    corrected = None
    if reparam is not None:
        corrected = _corrected_limit(opt, prob, reparam, alpha, h)
        faces.append(corrected)
    return BiasCard(optimizer=opt.name, kind=kind, problem=prob, w0=w0, geometry=geo,
                    equation=eq, F1_at_w0=F1, flow_verification=report, threshold=thr,
                    faces=tuple(faces))
