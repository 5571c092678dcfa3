"""The modified equation: the result of a backward error analysis.

A :class:`ModifiedEquation` is a complete, immutable record:

* ``terms`` -- F_0, …, F_k (SymPy column matrices for a concrete loss,
  :class:`~ibsym.bea.trees.Combination` s of elementary differentials for a generic one);
* ``initial_shift`` -- the series θ̃(0) − θ_0 = Σ_j h^j s_j (all zero for
  memoryless optimizers such as GD);
* ``slow_manifold`` -- for optimizers with memory, each state field as a series
  on the slow manifold (empty for GD);
* metadata (optimizer, loss, order, derivation time), and, once
  :func:`ibsym.numeric.verify.verify` has been attached with :meth:`with_verification`,
  the numerical evidence (``verified`` is True only then).

It prints as an equation (``str``), renders in Jupyter, and exports to LaTeX
and JSON; the gradient structure and the modified loss are computed on demand
(:meth:`gradient_analysis`, :meth:`modified_loss`).

Examples
--------
>>> from ibsym import modified_equation
>>> eq = modified_equation("gd", order=1)
>>> eq.modified_loss().text
'L̃ = L + h·(1/4 ‖∇L‖²) + O(h²)'
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import sympy as sp

from ibsym.core.errors import BudgetExceeded, InputError
from ibsym.core.export import latex_document
from ibsym.core.losses import Loss
from ibsym.core.values import as_number, to_sympy
from ibsym.bea.optimizers import Optimizer
from ibsym.core.results import Result
from ibsym.bea.trees import Combination

__all__ = ["ModifiedEquation", "LazyTerms", "H"]

#: The step-size symbol used in every result.
H = sp.Symbol("h", positive=True)

_SUP = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def h_power_text(j: int) -> str:
    """``h``, ``h²``, ... in plain text."""
    return "h" if j == 1 else "h" + str(j).translate(_SUP)


@dataclass(frozen=True)
class ModifiedEquation(Result):
    """dθ/dt = F_0 + h F_1 + … + h^k F_k, with initial value and state manifold.

    Attributes
    ----------
    optimizer : Optimizer
    loss : Loss
        Concrete or generic.
    order : int
        k, the highest power of h.
    terms : tuple
        F_0..F_k.
    initial_shift : tuple
        s_0..s_k with θ̃(0) = θ_0 + Σ_j h^j s_j (s_0 = 0).
    slow_manifold : dict
        state name → tuple of series coefficients (empty without memory).
    seconds : float
        CPU time of the derivation.
    verification : object or None
        A :class:`ibsym.numeric.verify.VerifyReport` once attached.
    """

    schema = "modified-equation"

    optimizer: Optimizer
    loss: Loss
    order: int
    terms: tuple
    initial_shift: tuple = ()
    slow_manifold: tuple = ()
    seconds: float = 0.0
    verification: Any = None
    shift_note: str = ""
    tau: int = 1
    _algebra: Any = field(default=None, compare=False, repr=False)
    _raw: tuple = field(default=(), compare=False, repr=False)
    _raw_manifold: tuple = field(default=(), compare=False, repr=False)
    _structure: Any = field(default=None, compare=False, repr=False)

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def from_algebra(cls, optimizer: Optimizer, loss: Loss, order: int, alg: Any,
                     raw_terms: list[Any], seconds: float, *,
                     manifold: dict[str, list[Any]] | None = None,
                     structure: Any = None, lazy: bool = True) -> "ModifiedEquation":
        """Wrap the raw algebra output of :mod:`ibsym.bea.procedure`.

        For a concrete loss the terms and the slow manifold stay ring elements and each
        F_j becomes a SymPy matrix on first access (:class:`LazyTerms`); ``lazy=False``
        converts every one now (the route before lazy conversion; same values)."""
        manifold = manifold or {}
        if alg.generic:
            terms = tuple(raw_terms)
            slow = tuple((f, tuple(ms)) for f, ms in manifold.items())
        else:
            terms = LazyTerms(raw_terms, alg.to_sympy)
            slow = tuple((f, LazyTerms(ms, alg.to_sympy)) for f, ms in manifold.items())
            if not lazy:
                terms = tuple(terms)
                slow = tuple((f, tuple(ms)) for f, ms in slow)
        eq = cls(optimizer, loss, order, terms, slow_manifold=slow, seconds=seconds,
                 tau=optimizer.tau(getattr(alg, "batches", 0)),
                 _algebra=alg, _raw=tuple(raw_terms),
                 _raw_manifold=tuple((f, tuple(ms)) for f, ms in manifold.items()),
                 _structure=structure)
        from ibsym.bea.transient import symbolic_initial_shift
        shift, note = symbolic_initial_shift(eq)
        return replace(eq, initial_shift=shift, shift_note=note)

    @property
    def has_memory(self) -> bool:
        """True for optimizers with auxiliary state (momenta, moments)."""
        return bool(self.optimizer.state_names)

    @property
    def shift_is_exact(self) -> bool:
        """True when every initial-value coefficient s_1..s_k is known in closed form."""
        return all(s is not None for s in self.initial_shift)

    # -- basic properties -----------------------------------------------------------------
    @property
    def h(self) -> sp.Symbol:
        """The step-size symbol."""
        return H

    @property
    def is_generic(self) -> bool:
        """True for a dimension-free (∇L-notation) result."""
        return self.loss.is_generic

    @property
    def params(self) -> tuple[sp.Symbol, ...]:
        return self.loss.params

    @property
    def verification_status(self) -> str:
        """``"none"`` (no verification attached), ``"failed"`` (a fitted slope is off),
        ``"partial"`` (passed, but not every truncation 0..order was tested) or ``"passed"``."""
        rep = self.verification
        if rep is None:
            return "none"
        if not rep.passed:
            return "failed"
        if set(range(self.order + 1)) - set(rep.orders):
            return "partial"
        return "passed"

    @property
    def verified(self) -> bool:
        """True only when an attached verification passed for every order 0..order."""
        return self.verification_status == "passed"

    def with_verification(self, report: Any) -> "ModifiedEquation":
        """A copy carrying the numerical evidence of :func:`ibsym.numeric.verify.verify`.

        A failed report is kept as evidence: ``verified`` stays False and the JSON
        (``"verified": false``, ``"verification_status"``) and LaTeX exports say so.

        Raises
        ------
        InputError
            When the report is about another problem (optimizer, loss, parameters) or
            tests an order this result does not have.
        """
        mine = {"optimizer": self.optimizer.name, "params": tuple(str(p) for p in self.params),
                "loss": None if self.is_generic else str(self.loss.expr)}
        theirs = {"optimizer": getattr(report, "optimizer", None),
                  "params": tuple(getattr(report, "params", ()) or ()),
                  "loss": getattr(report, "loss", None)}
        wrong = [k for k in mine if mine[k] != theirs[k]]
        if wrong:
            k = wrong[0]
            raise InputError(f"this verification is of another problem: its {k} is "
                             f"{theirs[k]!r}, this result's is {mine[k]!r}")
        if any(int(k) > self.order for k in report.orders):
            raise InputError(f"this verification tests order {max(report.orders)}, beyond this "
                             f"result's order {self.order}")
        return replace(self, verification=report)

    def truncate(self, order: int) -> "ModifiedEquation":
        """The same result with terms up to h^order only."""
        if order > self.order or order < 0:
            raise InputError(f"cannot truncate an order-{self.order} result to order {order}")
        return replace(self, order=order, terms=self.terms[: order + 1],
                       initial_shift=self.initial_shift[: order + 1],
                       slow_manifold=tuple((f, ms[: order + 1]) for f, ms in self.slow_manifold),
                       _raw_manifold=tuple((f, ms[: order + 1])
                                           for f, ms in self._raw_manifold),
                       _raw=self._raw[: order + 1], verification=None)

    def field(self, order: int | None = None) -> Any:
        """Σ_{j≤order} h^j F_j (a Matrix, or a Combination with h in the coefficients)."""
        k = self.order if order is None else order
        if self.is_generic:
            out = Combination()
            for j in range(k + 1):
                out = out + self.terms[j].scale(H ** j)
            return out
        return sum((self.terms[j] * H ** j for j in range(k + 1)), sp.zeros(self.loss.dim, 1))

    def substitute_hyper(self) -> dict[sp.Symbol, sp.Expr]:
        """Substitution dict of the fixed hyper-parameters."""
        from ibsym.bea.optimizers import hyper_symbol
        return {hyper_symbol(k): to_sympy(v, what=f"hyper-parameter {k}")
                for k, v in self.optimizer.values}

    def evaluate(self, at: dict[str, Any], h: Any | None = None) -> dict[str, Any]:
        """Exact values of each F_j (and of the truncated field if ``h`` is given) at a point.

        Parameters
        ----------
        at : dict
            Parameter name → value.
        h : number, optional
            Step size for the summed field.

        Returns
        -------
        dict with ``"terms"`` (list of lists of floats, one vector per order) and,
        if ``h`` is given, ``"field"``.
        """
        if self.is_generic:
            raise InputError("evaluation at a point needs a concrete loss (--loss)")
        names = {str(p): p for p in self.params}
        missing = [n for n in names if n not in at]
        if missing:
            raise InputError(f"give a value for parameter(s) {', '.join(missing)} in --at")
        unknown = [n for n in at if n not in names]
        if unknown:
            raise InputError(f"unknown parameter(s) {', '.join(unknown)} in --at; "
                             f"the loss has {', '.join(names)}")
        sub = {names[n]: as_number(v, what=f"value of {n}", rational=True)
               for n, v in at.items()}
        vals = [[sp.N(x.xreplace(sub), 17) for x in F] for F in self.terms]
        free = set().union(*[set().union(*[x.free_symbols for x in F]) for F in vals])
        if free:
            raise InputError(f"symbolic hyper-parameter(s) {', '.join(sorted(map(str, free)))} "
                             "remain; give their values with --hyper NAME=VALUE")
        point = ", ".join(f"{n}={sub[names[n]]}" for n in names)
        for j, F in enumerate(vals):
            for i, x in enumerate(F):
                _check_real(x, f"F_{j} (component {self.params[i]}) at {point}")
        out: dict[str, Any] = {"point": {str(p): float(sub[p]) for p in self.params},
                               "terms": [[float(x) for x in F] for F in vals]}
        if h is not None:
            hv = as_number(h, what="h", rational=True)
            total = [sum((vals[j][i] * hv ** j for j in range(len(vals))), sp.Integer(0))
                     for i in range(len(self.params))]
            for i, x in enumerate(total):
                _check_real(x, f"the field (component {self.params[i]}) at {point}, h={hv}")
            out["h"] = float(hv)
            out["field"] = [float(x) for x in total]
        return out

    # -- gradient structure ---------------------------------------------------------------
    def gradient_analysis(self, *, budget: Any = None, potentials: bool = False,
                          strict: bool = False) -> tuple:
        """Per order j: is F_j a gradient field (see :mod:`ibsym.bea.potentials`).

        The test is exact and cheap (Jacobian symmetry in the ring of the terms; tree
        potentials for generic results); potentials of concrete fields only with
        ``potentials=True`` (or through :meth:`modified_loss`).  ``budget`` (a
        :class:`~ibsym.core.budget.Budget` or seconds) bounds it: orders not decided in
        time come back as "undecided within budget" (``strict=True``: raise).
        Decided orders are cached.
        """
        from ibsym.bea.potentials import analyse_gradient_structure
        return analyse_gradient_structure(self, budget=budget, potentials=potentials,
                                          strict=strict)

    def is_gradient_field(self, j: int) -> bool | None:
        """Whether F_j = −∇Φ_j for some scalar Φ_j (None if undecided)."""
        from ibsym.bea.potentials import analyse_gradient_structure
        return analyse_gradient_structure(self, orders=[j])[0].is_gradient

    def modified_loss(self, *, budget: Any = None, strict: bool = False) -> Any:
        """L̃ = L + h Φ_1 + … as far as the corrections are gradient fields (see
        :func:`ibsym.bea.potentials.modified_loss`)."""
        from ibsym.bea.potentials import modified_loss
        return modified_loss(self, budget=budget, strict=strict)

    # -- printing -------------------------------------------------------------------------
    def readable_terms(self) -> tuple:
        """Terms factored for reading (computed once)."""
        return self._readable_terms

    @cached_property
    def _readable_terms(self) -> tuple:
        if self.is_generic:
            return self.terms
        R = getattr(self._algebra, "ring", None)
        if (R is not None and R.is_polynomial and R.ring.domain.is_QQ
                and len(self._raw) == len(self.terms)):
            known = _known_factors(self._raw[0])
            return tuple(sp.Matrix([_readable_polynomial(R, p, known) for p in F])
                         for F in self._raw)
        return tuple(sp.Matrix([_readable(x) for x in F]) for F in self.terms)

    def __repr__(self) -> str:
        ps = ", ".join(map(str, self.params)) if not self.is_generic else "generic"
        return (f"ModifiedEquation(optimizer={self.optimizer!r}, loss={self.loss.name}, "
                f"order={self.order}, params=({ps}))")

    def _series_text(self, seq: Sequence[Any], *, skip_zero: bool = False) -> str:
        parts = []
        for j, F in enumerate(seq):
            if F is None:
                parts.append(f"{h_power_text(j)}·s_{j}[numeric]")
                continue
            if self.is_generic:
                txt = str(F)
                zero = not F
            else:
                txt = "[" + ", ".join(sp.sstr(x) for x in F) + "]"
                zero = all(x == 0 for x in F)
            if skip_zero and zero:
                continue
            parts.append(txt if j == 0 else f"{h_power_text(j)}·({txt})")
        return " + ".join(parts) if parts else "0"

    def memory_lines(self) -> list[str]:
        """Text lines for the initial value and the slow manifold (optimizers with memory)."""
        if not self.has_memory:
            return []
        big_o = f" + O({h_power_text(self.order + 1)})"
        shift = self._series_text(self.initial_shift, skip_zero=True)
        lines = ["θ̃(0) = θ_0" + ("" if shift == "0" else " + " + shift) + big_o
                 + "   (initial value of the modified flow; the state starts off its manifold)"]
        if self.shift_note:
            lines.append("  " + self.shift_note)
        for f, ms in self.slow_manifold:
            lines.append(f"slow manifold: {f} = " + self._series_text(ms) + big_o)
        return lines

    def _generic_text(self) -> str:
        return ("dθ/dt = " + self._series_text(self.terms)
                + f" + O({h_power_text(self.order + 1)})")

    def __str__(self) -> str:
        if self.is_generic:
            return "\n".join([self._generic_text()] + self.memory_lines())
        theta = "(" + ", ".join(map(str, self.params)) + ")"
        fields = " + ".join(("" if j == 0 else h_power_text(j) + " ") + f"F_{j}"
                           for j in range(min(self.order, 2) + 1))
        if self.order > 2:
            fields += f" + … + {h_power_text(self.order)} F_{self.order}"
        lines = [f"dθ/dt = {fields} + O({h_power_text(self.order + 1)}),  θ = {theta},  "
                 f"{self.optimizer.rule},  L = {self.loss.expr}"]
        for j, F in enumerate(self.readable_terms()):
            lines.append(f"  F_{j} = [" + ", ".join(sp.sstr(x) for x in F) + "]")
        lines.extend("  " + x for x in self.memory_lines())
        return "\n".join(lines)

    def to_latex(self) -> str:
        """The equation as a display-math body (no ``$``)."""
        if self.is_generic:
            parts = []
            for j, F in enumerate(self.terms):
                body = F.to_latex()
                if j == 0:
                    parts.append(body)
                else:
                    hp = "h" if j == 1 else f"h^{{{j}}}"
                    parts.append(f"{hp}\\left({body}\\right)")
            return r"\dot\theta = " + " + ".join(parts) + f" + O(h^{{{self.order + 1}}})"
        fields = " + ".join(
            ("" if j == 0 else ("h" if j == 1 else f"h^{{{j}}}")) + f"F_{{{j}}}"
            for j in range(self.order + 1))
        return (r"\dot\theta = " + fields + rf" + O(h^{{{self.order + 1}}}),\quad "
                + r"\theta = " + sp.latex(sp.Matrix(self.params)))

    def term_latex(self, j: int) -> str:
        """LaTeX of F_j alone (``F_j = ...``)."""
        if self.is_generic:
            return f"F_{{{j}}} = " + self.terms[j].to_latex()
        return f"F_{{{j}}} = " + sp.latex(self.readable_terms()[j])

    #: Jupyter display: at most this many summands per component of an F_j (then "…").
    REPR_TERMS: int = 6

    def latex(self, *, max_terms: int | None = None) -> str:
        r"""The equation and every F_j (and θ̃(0), slow manifold) as one ``aligned`` display.

        ``max_terms`` cuts each component of a concrete F_j after that many summands
        with ``+ \dots`` (the Jupyter display uses :attr:`REPR_TERMS`); None: in full.
        """
        rows = [self.to_latex()]
        for j in range(self.order + 1):
            if self.is_generic:
                break
            comps = []
            for x in self.readable_terms()[j]:
                args = sp.expand(x).as_ordered_terms() if max_terms is not None else (x,)
                if max_terms is not None and len(args) > max_terms:
                    comps.append(sp.latex(sp.Add(*args[:max_terms], evaluate=False))
                                 + r" + \dots")
                else:
                    comps.append(sp.latex(x))
            rows.append(f"F_{{{j}}} = " + r"\left[\begin{matrix}" + r"\\".join(comps)
                        + r"\end{matrix}\right]")
        if self.has_memory and not (max_terms is not None and not self.is_generic):
            rows.append(self.shift_latex())
            rows += [self.manifold_latex(f) for f, _ in self.slow_manifold]
        if len(rows) == 1:
            return rows[0]
        return r"\begin{aligned}" + r" \\ ".join("& " + r for r in rows) + r"\end{aligned}"

    def _repr_latex_(self) -> str:
        """Jupyter: the equation with its F_j, long components cut with … (see :meth:`latex`)."""
        return "$\\displaystyle " + self.latex(max_terms=self.REPR_TERMS) + "$"

    def latex_document(self, title: str | None = None, *, budget: Any = None,
                       max_display_chars: int | None = None) -> str:
        """A standalone LaTeX document (compiles with pdflatex).

        ``budget`` bounds the gradient analysis and the modified loss it reports (see
        :meth:`gradient_analysis`). An F_j, θ̃(0) or slow manifold whose LaTeX is longer
        than ``max_display_chars`` characters (default
        :data:`ibsym.core.latexfit.MAX_DISPLAY_CHARS`, about three pages) is listed as a
        coefficient table or summarized instead, and the document says so
        (:func:`ibsym.core.latexfit.oversized_block`)."""
        from ibsym.core.latexfit import MAX_DISPLAY_CHARS, oversized_block
        limit = MAX_DISPLAY_CHARS if max_display_chars is None else int(max_display_chars)

        def shown(name: str, tex: str, comps: Any = None, key: str = "expressions") -> str:
            if len(tex) <= limit:
                return tex
            return oversized_block(name, comps, list(self.params), chars=len(tex), limit=limit,
                                   json_key=key)

        title = title or f"Modified equation of {self.optimizer.name} to order {self.order}"
        sections: list[tuple[str, Any]] = [
            ("Update rule", self.optimizer.rule_latex or r"\text{(see documentation)}"),
        ]
        if not self.is_generic:
            sections.append(("Loss", "L = " + sp.latex(self.loss.expr)))
        sections.append(("Modified equation", self.to_latex()))
        if not self.is_generic:
            sections.append(("Terms", [shown(f"F_{{{j}}}", self.term_latex(j),
                                             list(self.readable_terms()[j]))
                                       for j in range(self.order + 1)]))
        if self.has_memory:
            sections.append(("Initial value of the modified flow",
                             [shown(r"\tilde\theta(0)", self.shift_latex(),
                                    key="initial_shift")]))
            sections.append(("Slow manifold of the optimizer state",
                             [shown(rf"\mathrm{{{f}}}", self.manifold_latex(f), key="slow_manifold")
                              for f, _ in self.slow_manifold]))
        try:
            ml = self.modified_loss(budget=budget)
            sections.append(("Modified loss", ml.to_latex()))
        except (InputError, BudgetExceeded):
            pass
        notes = ([a.text for a in self.gradient_analysis(budget=budget)]
                 if self.order >= 1 else [])
        if self.shift_note:
            notes.append(self.shift_note)
        if self.verification is not None:
            status = self.verification_status
            if status != "passed":
                notes.insert(0, "NOT VERIFIED: the attached numerical verification "
                             + ("FAILED." if status == "failed" else
                                "did not test every order up to " + str(self.order) + "."))
            notes.append(self.verification.summary())
        return latex_document(title, sections, notes=notes)

    def _vec_latex(self, v: Any) -> str:
        if v is None:
            return r"s_{\mathrm{num}}"
        return v.to_latex() if self.is_generic else sp.latex(v)

    def _series_latex(self, seq: Sequence[Any], lead: str, *, skip_zero: bool = False) -> str:
        parts = [lead] if lead else []
        for j, v in enumerate(seq):
            if v is not None and skip_zero and (not v if self.is_generic else all(x == 0 for x in v)):
                continue
            hp = "" if j == 0 else ("h" if j == 1 else f"h^{{{j}}}")
            body = (rf"s_{{{j}}}\ (\text{{numeric}})" if v is None else self._vec_latex(v))
            parts.append(rf"{hp}\left({body}\right)" if hp else body)
        return " + ".join(parts) + f" + O(h^{{{self.order + 1}}})"

    def shift_latex(self) -> str:
        """θ̃(0) = θ_0 + h s_1 + … in LaTeX."""
        return r"\tilde\theta(0) = " + self._series_latex(self.initial_shift, r"\theta_0",
                                                           skip_zero=True)

    def manifold_latex(self, name: str) -> str:
        """The slow manifold of state field ``name`` in LaTeX."""
        ms = dict(self.slow_manifold)[name]
        return rf"\mathrm{{{name}}} = " + self._series_latex(ms, "")

    def _vec_json(self, v: Any) -> Any:
        if v is None:
            return None
        return v.to_dict() if self.is_generic else [str(x) for x in v]

    def to_dict(self, *, budget: Any = None) -> dict[str, Any]:
        """JSON-ready dictionary (see :class:`~ibsym.core.results.Result`); ``budget``
        bounds the gradient analysis it includes (see :meth:`gradient_analysis`)."""
        self.__dict__["_dict_budget"] = budget
        try:
            return super().to_dict()
        finally:
            self.__dict__.pop("_dict_budget", None)

    def to_dict_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "optimizer": self.optimizer.name,
            "update_rule": self.optimizer.rule,
            "hyper": {k: str(v) for k, v in self.optimizer.hyper_values.items()},
            "generic": self.is_generic,
            "order": self.order,
            "params": [str(p) for p in self.params],
            "loss": None if self.is_generic else str(self.loss.expr),
            "time_variable": "t = n h" if self.tau == 1 else
                             f"t = n h (one update = {self.tau} steps = time {self.tau} h)",
            "derivation_seconds": self.seconds,
            "latex": self.to_latex(),
        }
        if self.is_generic:
            body["expressions"] = [F.to_dict() for F in self.terms]
            body["expressions_latex"] = [F.to_latex() for F in self.terms]
        else:
            body["expressions"] = [[str(x) for x in F] for F in self.terms]
            body["expressions_latex"] = [sp.latex(F) for F in self.readable_terms()]
        # θ̃(0) = θ_0 + Σ h^j s_j; null where s_j is computed numerically (ibsym.numeric.jets)
        body["initial_shift"] = [self._vec_json(v) for v in self.initial_shift]
        body["initial_shift_note"] = self.shift_note
        body["state"] = list(self.optimizer.state_names)
        body["steps_per_update"] = self.tau
        body["slow_manifold"] = {f: [self._vec_json(m) for m in ms] for f, ms in self.slow_manifold}
        body["gradient_analysis"] = [
            a.to_dict() for a in self.gradient_analysis(budget=self.__dict__.get("_dict_budget"))]
        body["verified"] = self.verified
        body["verification_status"] = self.verification_status
        body["verification"] = None if self.verification is None else self.verification.to_dict()
        return body


class LazyTerms(Sequence):
    """F_0, …, F_k of a concrete result: ring vectors, each converted to a SymPy column
    matrix on first access and cached.

    Numerics (:mod:`ibsym.numeric.kernels`, :mod:`ibsym.numeric.jets`, the gradient
    analysis) work on the ring elements (``ModifiedEquation._raw``) and never pay for the
    conversion, which dominates the derivation in many dimensions.  Indexing, iteration,
    ``len``, slicing and ``==`` behave as on the tuple of matrices it stands for.

    Examples
    --------
    >>> from ibsym import modified_equation
    >>> from ibsym.core.losses import bilinear
    >>> eq = modified_equation("gd", bilinear(), order=1)
    >>> eq.terms.converted
    (False, False)
    >>> eq.terms[0].T
    Matrix([[-a*b**2 + b, -a**2*b + a]])
    >>> eq.terms.converted
    (True, False)
    """

    __slots__ = ("_raw", "_convert", "_cache")
    __hash__ = None  # like the tuple of (mutable) matrices it stands for

    def __init__(self, raw: Sequence[Any], convert: Any,
                 cache: list[Any] | None = None):
        self._raw = tuple(raw)
        self._convert = convert
        self._cache = [None] * len(self._raw) if cache is None else cache

    def __len__(self) -> int:
        return len(self._raw)

    def __getitem__(self, j: Any) -> Any:
        if isinstance(j, slice):
            idx = range(len(self._raw))[j]
            return LazyTerms([self._raw[i] for i in idx], self._convert,
                             [self._cache[i] for i in idx])
        if self._cache[j] is None:
            self._cache[j] = self._convert(self._raw[j])
        return self._cache[j]

    def __iter__(self):
        return (self[j] for j in range(len(self._raw)))

    @property
    def converted(self) -> tuple[bool, ...]:
        """Which F_j have been converted to SymPy so far."""
        return tuple(c is not None for c in self._cache)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (LazyTerms, tuple, list)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    def __repr__(self) -> str:
        return repr(tuple(self))


def _known_factors(F0: Sequence[Any]) -> list[Any]:
    """Irreducible factors of the leading field's components (ring elements): they recur
    in every correction (F_j vanishes where ∇L does)."""
    out: list[Any] = []
    for p in F0:
        if p:
            for f, _ in p.factor_list()[1]:
                if not f.is_ground and f not in out:
                    out.append(f)
    return out


def _readable_polynomial(R: Any, p: Any, known: Sequence[Any], full: int = 16) -> sp.Expr:
    """A polynomial term factored for reading, computed in its ring (no SymPy round trip).

    The known factors are divided out exactly; the cofactor is factored completely when
    it has at most ``full`` terms (or one variable) and otherwise kept expanded and
    primitive -- multivariate factorization of large cofactors costs seconds per term
    at order 8 and rarely splits them further."""
    from sympy.core.mul import _keep_coeff
    if not p:
        return sp.Integer(0)
    parts = []
    for f in known:
        k = 0
        while True:
            quo, rem = p.div(f)
            if rem:
                break
            p, k = quo, k + 1
        if k:
            parts.append((f, k))
    if len(p) <= full or R.ring.ngens == 1:
        content, facs = p.factor_list()
        parts.extend(facs)
    else:
        content, p = p.primitive()
        if p.LC < 0:
            content, p = -content, -p
        parts.append((p, 1))
    return _keep_coeff(R.ring.domain.to_sympy(content),
                       sp.Mul(*[R.to_sympy(f) ** k for f, k in parts]))


def _readable(x: sp.Expr) -> sp.Expr:
    """Factor (cheap and canonical, also with function atoms as generators); no simplify().

    Large sums over roots or transcendental atoms are left expanded: factoring them
    costs minutes (Adam at order 2) and rarely shortens them."""
    if x == 0:
        return x
    n = len(sp.Add.make_args(x))
    if n > 400 or (n > 12 and any(not (a.is_Pow and a.exp.is_Integer) for a in
                                   x.atoms(sp.Pow, sp.Function))):
        return x
    return sp.factor(x)


def _check_real(x: sp.Expr, where: str) -> None:
    """Refuse a value that is not a finite real number (a singular or complex point)."""
    try:
        c = complex(x)
    except (TypeError, ValueError, OverflowError):
        c = complex("nan")
    finite = abs(c.real) < float("inf") and abs(c.imag) < float("inf")
    if c.imag != 0 or not finite:
        raise InputError(f"{where} is {'complex: ' if finite else ''}{x}, not a "
                         "finite real number: the loss or its derivatives are singular or "
                         "complex there (e.g. sqrt or log of a negative number); choose a "
                         "point inside the loss's domain")
