"""The display/export contract every public ibsym result follows.

A result is an immutable record that

* prints as an equation in a terminal (``__str__``),
* renders in Jupyter (``_repr_latex_``),
* exports to LaTeX (``to_latex``: display-math body, no ``$``) and to JSON
  (``to_dict`` / ``to_json``: a versioned envelope ``{"schema": "ibsym/<kind>",
  "schema_version": N, "ibsym_version": ..., ...}``).

Subclasses implement ``to_dict_body``, ``to_latex`` and ``__str__`` and set
``schema``.

Examples
--------
>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class Demo(Result):
...     schema = "demo"
...     x: int = 1
...     def to_dict_body(self): return {"x": self.x}
...     def to_latex(self): return "x = %d" % self.x
...     def __str__(self): return "x = %d" % self.x
>>> Demo().to_dict()["schema"], Demo()._repr_latex_()
('ibsym/demo', '$\\\\displaystyle x = 1$')
"""
from __future__ import annotations

import json
from typing import Any, ClassVar

__all__ = ["Result", "SCHEMA_VERSION", "jsonable"]

SCHEMA_VERSION = 1


def jsonable(obj: Any) -> Any:
    """Convert SymPy numbers, NumPy scalars/arrays and tuples to plain JSON types."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if type(obj).__module__ == "numpy":  # arrays and scalars, without importing NumPy here
        return jsonable(obj.tolist() if hasattr(obj, "tolist") else obj.item())
    if isinstance(obj, float):
        if obj != obj or obj in (float("inf"), float("-inf")):
            return None
        return obj
    if isinstance(obj, (str, int, bool)) or obj is None:
        return obj
    import sympy as sp
    if isinstance(obj, sp.Basic):
        if obj.is_Integer:
            return int(obj)
        if obj.is_number:
            return float(obj)
    return str(obj)


class Result:
    """Mixin giving a result its printing and JSON envelope."""

    schema: ClassVar[str] = "result"

    def to_dict_body(self) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def to_latex(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary with the versioned schema envelope."""
        from ibsym import __version__
        out = {"schema": f"ibsym/{self.schema}", "schema_version": SCHEMA_VERSION,
               "ibsym_version": __version__}
        out.update(jsonable(self.to_dict_body()))
        return out

    def to_json(self, indent: int | None = 2) -> str:
        """The result as a JSON string (see :meth:`to_dict`)."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    def _repr_latex_(self) -> str:
        return "$\\displaystyle " + self.to_latex() + "$"
